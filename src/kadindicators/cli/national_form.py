"""``kadindicators national-form``: the national annual ØHD form from stay-level data."""

from __future__ import annotations

import argparse
import datetime as dt
import json
from pathlib import Path

from ._common import progress, t, warn_if_low_threshold


def add_parser(sub: argparse._SubParsersAction, lang: str,  # type: ignore[type-arg]
               parents: list[argparse.ArgumentParser]) -> None:
    p = sub.add_parser(
        "national-form",
        help=t(lang, "lag Helsedirektoratets årlige ØHD-skjema", "make the Directorate of Health's annual ØHD form"),
        description=t(lang,
                      "Validerer oppholdene og enhetene og lager aggregatene i det årlige nasjonale "
                      "ØHD-skjemaet per vertskommune og per enhet, som Excel (skjemaets oppsett, "
                      "avstemming og proveniens) eller CSV. Små tall skjules (standard: under 5). "
                      "Exit-koder: 0 ok, 1 rader avvist (skjemaet skrives likevel, uten dem), "
                      "2 feil bruk, 3 en fil kan ikke brukes, 70 intern feil.",
                      "Validates the stays and units and makes the aggregates of the annual national ØHD "
                      "form per host municipality and per unit, as Excel (the form's layout, "
                      "reconciliation and provenance) or CSV. Small counts are hidden (default: below 5). "
                      "Exit codes: 0 ok, 1 rows rejected (the form is still written, without them), "
                      "2 usage error, 3 a file cannot be used, 70 internal error."),
        epilog=t(lang, "Eksempler:", "Examples:") + """
  kadindicators national-form --year 2024 --stays opphold.csv --units enheter.csv -o skjema-2024.xlsx
  kadindicators national-form --year 2024 --stays s.parquet --units u.parquet --lang en -o form.csv""",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        parents=parents,
    )
    p.add_argument("--year", required=True, type=int, metavar="YYYY",
                   help=t(lang, "rapporteringsåret", "the reporting year"))
    p.add_argument("--stays", required=True, metavar="FILE", help=t(lang, "oppholdsfil", "stays file"))
    p.add_argument("--units", required=True, metavar="FILE", help=t(lang, "enhetsfil", "units file"))
    p.add_argument("--level", default="municipality,unit", metavar="LEVEL,...",
                   help=t(lang, "nivåer: region, municipality, unit (standard: municipality,unit)",
                          "levels: region, municipality, unit (default: municipality,unit)"))
    p.add_argument("--suppression", type=int, default=5, metavar="N",
                   help=t(lang, "terskel for små tall (standard 5; 1 slår av skjuling)",
                          "small-count threshold (default 5; 1 turns hiding off)"))
    p.add_argument("--as-of", metavar="DATE", type=dt.date.fromisoformat,
                   help=t(lang, "uttrekksdato (ÅÅÅÅ-MM-DD); standard: midnatt etter siste tidspunkt i dataene",
                          "extract date (YYYY-MM-DD); default: midnight after the last time in the data"))
    p.add_argument("-o", "--out", required=True, type=Path, metavar="OUT.xlsx|OUT.csv",
                   help=t(lang, "skjemafilen (.xlsx eller .csv)", "the form file (.xlsx or .csv)"))
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    lang = args.lang
    if args.out.suffix.lower() not in (".xlsx", ".csv"):
        raise ValueError(t(lang, f"-o må slutte på .xlsx eller .csv, ikke {args.out.name!r}",
                           f"-o must end in .xlsx or .csv, not {args.out.name!r}"))
    from ..reports._national_form import LEVELS

    levels = tuple(x.strip() for x in args.level.split(",") if x.strip())
    if not levels or any(lv not in LEVELS for lv in levels):
        raise ValueError(t(lang, f"--level må være en eller flere av {', '.join(LEVELS)}",
                           f"--level must be one or more of {', '.join(LEVELS)}"))
    if args.suppression < 1:
        raise ValueError(t(lang, "--suppression må være minst 1", "--suppression must be at least 1"))
    warn_if_low_threshold(lang, args.suppression)
    from .. import validate
    from ..reports._national_form import national_form, write_national_form

    report = validate(stays=args.stays, units=args.units, as_of=args.as_of)
    rejected = 0
    for s in report.summaries.values():
        rejected += s.rows_rejected
        progress(t(lang, f"{s.table}: {s.rows_valid} av {s.rows_read} rader brukt ({s.rows_rejected} avvist)",
                   f"{s.table}: {s.rows_valid} of {s.rows_read} rows used ({s.rows_rejected} rejected)"))
    form = national_form(stays=report.valid, units=report.tables["units"], year=args.year, level=levels,
                         suppression=args.suppression, lang=lang, as_of=args.as_of)
    meta = {k.decode(): v.decode() for k, v in (form.schema.metadata or {}).items()}
    meta["kadindicators.rows_rejected"] = json.dumps(
        {k: int(s.rows_rejected) for k, s in report.summaries.items()}, sort_keys=True)
    form = form.replace_schema_metadata(meta)
    out = write_national_form(form, args.out, lang=lang)
    progress(t(lang, f"Skjemaet for {args.year} er skrevet til {out}", f"The {args.year} form is written to {out}"))
    if rejected:
        progress(t(lang,
                   f"ADVARSEL: {rejected} rader ble avvist og er ikke med i skjemaet; kjør "
                   "«kadindicators validate» for detaljer, rett feilene og lag skjemaet på nytt.",
                   f"WARNING: {rejected} rows were rejected and are not in the form; run "
                   "'kadindicators validate' for details, fix them and make the form again."))
        return 1
    return 0
