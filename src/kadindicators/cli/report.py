"""``kadindicators report``: the clinical feedback report as one self-contained HTML file."""

from __future__ import annotations

import argparse
from pathlib import Path

from ._common import add_optional_tables, progress, t, warn_if_low_threshold


def add_parser(sub: argparse._SubParsersAction, lang: str,  # type: ignore[type-arg]
               parents: list[argparse.ArgumentParser]) -> None:
    p = sub.add_parser(
        "report",
        help=t(lang, "lag tilbakemeldingsrapport (HTML) for regionen eller en enhet",
               "make the feedback report (HTML) for the region or one unit"),
        description=t(lang,
                      "Validerer dataene, beregner indikatorene og skriver én selvstendig HTML-fil med "
                      "datakvalitet, hovedindikatorer, traktplott, utvikling over tid, hvor pasientene "
                      "kom fra og dro til, og variasjon mellom kommuner; med --experience også "
                      "pasienters og fagfolks erfaringer, med --hospital-admissions (regionens rapport) "
                      "bruk av sykehus per kommune, begge som foreslåtte indikatorer. Små tall vises aldri.",
                      "Validates the data, computes the indicators and writes one self-contained HTML "
                      "file: data quality, headline indicators, funnel plots, trends, where patients "
                      "came from and went to, and variation between municipalities; with --experience "
                      "also patient and professional experience, with --hospital-admissions (the region's "
                      "report) hospital use by municipality, both as proposed indicators. Small counts are "
                      "never shown."),
        epilog=t(lang, "Eksempler:", "Examples:") + """
  kadindicators report --stays opphold.csv --units enheter.csv --population befolkning.csv -o rapport.html
  kadindicators report --stays s.parquet --units u.parquet --population p.parquet \\
      --unit VV-ASKER-LV --lang en -o asker.html
  kadindicators report --stays opphold.csv --units enheter.csv --population befolkning.csv \\
      --experience erfaringer.csv --hospital-admissions sykehusinnleggelser.csv -o rapport.html""",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        parents=parents,
    )
    p.add_argument("--stays", required=True, metavar="FILE")
    p.add_argument("--units", metavar="FILE")
    p.add_argument("--population", metavar="FILE")
    add_optional_tables(p, lang)
    p.add_argument("--unit", metavar="UNIT_ID",
                   help=t(lang, "rapport for én enhet (standard: hele regionen)",
                          "report for one unit (default: the whole region)"))
    p.add_argument("--year", type=int, metavar="YYYY",
                   help=t(lang, "år for traktplott og hovedtall (standard: siste år med data)",
                          "year of the funnel plots and headline figures (default: the latest year)"))
    p.add_argument("--period", choices=("quarter", "month", "year"), default="quarter",
                   help=t(lang, "oppløsning for utvikling over tid", "resolution of the trends"))
    p.add_argument("--as-of", metavar="DATE")
    p.add_argument("--suppression", type=int, default=5, metavar="N")
    p.add_argument("--no-overdispersion", action="store_true",
                   help=t(lang, "ikke juster traktgrensene for overspredning",
                          "do not widen funnel limits for over-dispersion"))
    p.add_argument("-o", "--out", required=True, type=Path, metavar="FILE.html")
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from ..reports import feedback_report

    lang = args.lang
    warn_if_low_threshold(lang, args.suppression)
    rep = feedback_report(stays=args.stays, units=args.units, population=args.population,
                          experience=args.experience, hospital_admissions=args.hospital_admissions,
                          unit=args.unit, year=args.year, period=args.period, lang=lang, as_of=args.as_of,
                          suppression=args.suppression, overdispersion=not args.no_overdispersion)
    path = rep.write(args.out)
    progress(t(lang, f"Rapport ({len(rep.figures)} figurer) skrevet til {path}",
               f"Report ({len(rep.figures)} figures) written to {path}"))
    return 0
