"""``kadindicators compute``: the indicator catalogue over an extract."""

from __future__ import annotations

import argparse
from itertools import combinations
from pathlib import Path
from typing import Any

from ._common import add_optional_tables, merged_metadata, progress, t, warn_if_low_threshold, write_safe_csv


def add_parser(sub: argparse._SubParsersAction, lang: str,  # type: ignore[type-arg]
               parents: list[argparse.ArgumentParser]) -> None:
    p = sub.add_parser(
        "compute",
        help=t(lang, "beregn kvalitetsindikatorer", "compute quality indicators"),
        description=t(lang,
                      "Validerer dataene og beregner indikatorene; én rad per indikator × periode × "
                      "gruppe × stratum. Små tall undertrykkes (standard: under 5).",
                      "Validates the data and computes the indicators; one row per indicator × "
                      "period × group × stratum. Small counts are suppressed (default: below 5)."),
        epilog=t(lang, "Eksempler:", "Examples:") + """
  kadindicators compute --stays opphold.csv --units enheter.csv -o resultater.parquet
  kadindicators compute --stays s.parquet --units u.parquet --population p.parquet \\
      --by municipality --period quarter --format csv -o results.csv
  kadindicators compute --stays opphold.csv --units enheter.csv --experience erfaringer.csv \\
      --indicators KAD-E01 --strata respondent -o erfaringer-resultater.csv
  kadindicators compute --stays opphold.csv --units enheter.csv --strata sex --protect -o publiser.csv""",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        parents=parents,
    )
    p.add_argument("--stays", required=True, metavar="FILE")
    p.add_argument("--units", metavar="FILE")
    p.add_argument("--population", metavar="FILE")
    add_optional_tables(p, lang)
    p.add_argument("--indicators", metavar="ID,...",
                   help=t(lang, "kommaseparerte indikator-id-er (standard: alle vedtatte)",
                          "comma-separated indicator ids (default: every adopted one)"))
    p.add_argument("--by", default="unit_id",
                   help="unit_id | municipality | host_municipality | region (comma-separated)")
    p.add_argument("--strata", default="",
                   help="sex,age_band,care_track,admitted_from | respondent,item (KAD-E*) | field (KAD-D02)")
    p.add_argument("--period", choices=("year", "quarter", "month"), default="year")
    p.add_argument("--as-of", metavar="DATE")
    p.add_argument("--suppression", type=int, default=5, metavar="N")
    p.add_argument("--confidence", type=float, default=0.95)
    p.add_argument("--standard-population", metavar="ID|FILE",
                   help=t(lang, "standardbefolkning for standardiserte rater (KAD-U01S): id (esp2013) eller en "
                                "befolkningsfil", "standard population for standardised rates (KAD-U01S): an id "
                                "(esp2013) or a population file"))
    p.add_argument("--protect", action="store_true",
                   help=t(lang, "til publisering: regn også ut alle summene radene inngår i (hver by/strata-"
                                "kolonne utelatt, ned til regionen; tom = alle), og prikk komplementært slik at "
                                "ingen prikket verdi kan regnes ut av tabellen",
                          "for publication: also compute every total the rows add up to (each by/strata "
                          "column left out, down to the region; empty = all), and suppress complements so "
                          "that no suppressed count can be worked out from the table"))
    p.add_argument("--format", choices=("parquet", "csv"), default=None)
    p.add_argument("-o", "--out", required=True, type=Path, metavar="OUT")
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    import json

    import pyarrow.parquet as pq

    from .. import compute, validate

    lang = args.lang
    warn_if_low_threshold(lang, args.suppression)
    report = validate(stays=args.stays, units=args.units, population=args.population,
                      experience=args.experience, hospital_admissions=args.hospital_admissions)
    for s in report.summaries.values():
        progress(t(lang, f"{s.table}: {s.rows_valid} av {s.rows_read} rader brukt ({s.rows_rejected} avvist)",
                   f"{s.table}: {s.rows_valid} of {s.rows_read} rows used ({s.rows_rejected} rejected)"))
    split = [x.strip() for x in (args.indicators or "").split(",") if x.strip()]
    kw: dict[str, Any] = {
        "stays": report.valid, "units": report.tables.get("units"),
        "population": report.tables.get("population"), "experience": report.tables.get("experience"),
        "hospital_admissions": report.tables.get("hospital_admissions"), "indicators": split or None,
        "period": args.period, "as_of": args.as_of, "suppression": args.suppression,
        "confidence": args.confidence, "standard_population": args.standard_population}
    by = tuple(x for x in args.by.split(",") if x and x != "region")
    strata = tuple(x for x in args.strata.split(",") if x)
    if args.protect:
        result = with_totals_protected(kw, by, strata, args.suppression)
        info = json.loads(result.schema.metadata[b"kadindicators.disclosure"])
        progress(t(lang, f"beskyttet: {info['secondary']} rader prikket i tillegg (komplementært)",
                   f"protected: {info['secondary']} more rows suppressed (complements)"))
    else:
        result = compute(**kw, by=by, strata=strata)
    fmt = args.format or ("csv" if args.out.suffix.lower() == ".csv" else "parquet")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    if fmt == "csv":
        write_safe_csv(result, args.out)
    else:
        pq.write_table(result, args.out)
    progress(t(lang, f"{result.num_rows} resultatrader skrevet til {args.out}",
               f"{result.num_rows} result rows written to {args.out}"))
    return 0


def with_totals_protected(kw: dict[str, Any], by: tuple[str, ...], strata: tuple[str, ...],
                          threshold: int) -> Any:
    """The results with every coarser total, protected together (``--protect``).

    One :func:`kadindicators.compute` per subset of the ``by`` and ``strata`` columns
    (from all of them down to the region), concatenated with null meaning "all", then
    :func:`kadindicators.disclosure.protect_results`: the totals are published with
    the rows, so the protection counts on an attacker who knows them.
    """
    import pyarrow as pa

    from .. import compute
    from ..disclosure import protect_results

    dims = (*by, *strata)
    parts = []
    for k in range(len(dims), -1, -1):
        for keep in combinations(dims, k):
            part = compute(**kw, by=tuple(d for d in by if d in keep), strata=tuple(d for d in strata if d in keep))
            if part.num_rows:
                parts.append(part)
    if not parts:
        return compute(**kw, by=by, strata=strata)
    combined = pa.concat_tables(parts, promote_options="default")
    return protect_results(combined.replace_schema_metadata(merged_metadata(parts)), threshold=threshold)
