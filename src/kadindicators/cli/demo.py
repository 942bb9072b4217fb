"""``kadindicators demo``: the whole chain on the built-in synthetic region."""

from __future__ import annotations

import argparse
from pathlib import Path

from ._common import progress, t, write_safe_csv


def add_parser(sub: argparse._SubParsersAction, lang: str,  # type: ignore[type-arg]
               parents: list[argparse.ArgumentParser]) -> None:
    p = sub.add_parser(
        "demo",
        help=t(lang, "kjør hele kjeden på en syntetisk region", "run the whole chain on a synthetic region"),
        epilog=t(lang, "Eksempel:", "Example:") + "\n  kadindicators demo --out kad-demo",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        parents=parents,
    )
    p.add_argument("--out", type=Path, default=Path("kad-demo"), metavar="DIR")
    p.add_argument("--years", default="2024-2025", metavar="YYYY[-YYYY]")
    p.add_argument("--seed", type=int, default=1)
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    import datetime as dt

    from .. import synth, validate
    from .synth import parse_years

    lang = args.lang
    out: Path = args.out
    steps = 3
    progress(t(lang, f"[1/{steps}] Lager syntetisk region (Vestre Viken) …",
               f"[1/{steps}] Making the synthetic region (Vestre Viken) …"))
    region = synth.generate(years=parse_years(args.years), seed=args.seed)
    data = out / "data"
    paths = synth.write(region, data)
    no_csv = synth.write_norwegian_csv(region.stays, data / "opphold_norsk.csv", table_name="stays")
    progress(t(lang, f"[2/{steps}] Validerer {no_csv} (norsk Excel-CSV) …",
               f"[2/{steps}] Validating {no_csv} (Norwegian Excel CSV) …"))
    as_of = dt.date(max(region.years) + 1, 1, 1)
    report = validate(stays=no_csv, units=paths["units.csv"], population=paths["population.csv"],
                      as_of=as_of)
    progress(t(lang, f"[3/{steps}] Skriver rapporter …", f"[3/{steps}] Writing reports …"))
    reports = out / "reports"
    reports.mkdir(parents=True, exist_ok=True)
    (reports / "validation.json").write_text(report.to_json(max_issues=1000), encoding="utf-8")
    (reports / f"validation_{lang}.txt").write_text(report.summary_text(lang=lang), encoding="utf-8")
    write_safe_csv(report.issues, reports / "validation_issues.csv")
    import pyarrow.parquet as pq

    pq.write_table(report.valid, reports / "stays_valid.parquet")
    print(report.summary_text(lang=lang, max_issues=10))
    print()
    print(t(lang, "Filer:", "Files:"))
    for name, path in {**paths, "opphold_norsk.csv": no_csv,
                       "validation.json": reports / "validation.json",
                       f"validation_{lang}.txt": reports / f"validation_{lang}.txt",
                       "validation_issues.csv": reports / "validation_issues.csv",
                       "stays_valid.parquet": reports / "stays_valid.parquet"}.items():
        print(f"  {name:<24} {path}")
    print(t(lang, "Indikatorer, nasjonalt skjema og tilbakemeldingsrapport kommer i senere versjoner.",
            "Indicators, the national form and the feedback report come in later versions."))
    return 0
