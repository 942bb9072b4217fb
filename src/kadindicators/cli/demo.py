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
    steps = 6
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
    progress(t(lang, f"[3/{steps}] Skriver valideringsrapport …", f"[3/{steps}] Writing the validation report …"))
    reports = out / "reports"
    reports.mkdir(parents=True, exist_ok=True)
    (reports / "validation.json").write_text(report.to_json(max_issues=1000), encoding="utf-8")
    (reports / f"validation_{lang}.txt").write_text(report.summary_text(lang=lang), encoding="utf-8")
    write_safe_csv(report.issues, reports / "validation_issues.csv")
    import pyarrow.parquet as pq

    pq.write_table(report.valid, reports / "stays_valid.parquet")
    progress(t(lang, f"[4/{steps}] Beregner indikatorene …", f"[4/{steps}] Computing the indicators …"))
    import pyarrow as pa
    import pyarrow.compute as pc

    from .. import compute

    tables = {"stays": report.valid, "units": report.tables["units"],
              "population": report.tables["population"]}
    by_unit = compute(**tables, by=("unit_id",), period="year", as_of=as_of)
    by_mun = compute(**tables, by=("municipality",), period="year", as_of=as_of)
    results = pa.concat_tables([by_unit.append_column("municipality", pa.nulls(by_unit.num_rows, pa.string())),
                                by_mun.add_column(5, "unit_id", pa.nulls(by_mun.num_rows, pa.string()))
                                .select(by_unit.column_names + ["municipality"])])
    from ..disclosure import protect_results

    # unit rows and municipality rows in one file add up to the same regional totals:
    # protect them together so that no masked count can be recovered by subtraction
    results = protect_results(results.replace_schema_metadata(by_unit.schema.metadata))
    pq.write_table(results, reports / "indicators.parquet")
    write_safe_csv(results, reports / "indicators.csv")
    progress(t(lang, f"[5/{steps}] Lager nasjonalt årsskjema …", f"[5/{steps}] Making the national annual form …"))
    form_files = _national_form(tables, max(region.years), reports, lang)
    progress(t(lang, f"[6/{steps}] Lager tilbakemeldingsrapporter (HTML) for regionen og hver enhet …",
               f"[6/{steps}] Making the feedback reports (HTML) for the region and each unit …"))
    from ..reports import feedback_reports

    html = feedback_reports(**tables, lang=lang, as_of=as_of)
    from ..io import safe_filename

    report_files = {}
    for key, rep in html.items():
        name = "feedback_region.html" if key == "region" else "units/" + safe_filename(key, suffix=".html")
        report_files[name] = rep.write(reports / name)
    print(report.summary_text(lang=lang, max_issues=10))
    print()
    # from the protected file, so that no value printed here was masked there
    print(_headline(results.filter(pc.is_valid(results["unit_id"])), lang))
    print()
    print(t(lang, "Filer:", "Files:"))
    for name, path in {**paths, "opphold_norsk.csv": no_csv,
                       "validation.json": reports / "validation.json",
                       f"validation_{lang}.txt": reports / f"validation_{lang}.txt",
                       "validation_issues.csv": reports / "validation_issues.csv",
                       "stays_valid.parquet": reports / "stays_valid.parquet",
                       "indicators.parquet": reports / "indicators.parquet",
                       "indicators.csv": reports / "indicators.csv", **form_files,
                       "feedback_region.html": report_files["feedback_region.html"]}.items():
        print(f"  {name:<24} {path}")
    print(t(lang, f"  {'units/*.html':<24} {reports / 'units'} ({len(report_files) - 1} enheter)",
            f"  {'units/*.html':<24} {reports / 'units'} ({len(report_files) - 1} units)"))
    return 0


def _national_form(tables: dict[str, object], year: int, out: Path, lang: str) -> dict[str, Path]:
    """The national annual form for the region's latest year, as xlsx and csv."""
    from ..reports import national_form, write_national_form

    form = national_form(stays=tables["stays"], units=tables["units"], year=year, lang=lang)
    files = {}
    for suffix in ("xlsx", "csv"):
        name = f"national_form_{year}.{suffix}"
        files[name] = write_national_form(form, out / name, lang=lang)
    return files


def _headline(results: object, lang: str) -> str:
    """The region's latest year, per indicator, as a small text table (suppressed cells shown as such)."""
    import pyarrow as pa
    import pyarrow.compute as pc

    from .. import get_indicator

    t_ = results if isinstance(results, pa.Table) else pa.table({})
    last = max(t_["period"].to_pylist())
    rows = t_.filter(pc.equal(t_["period"], last))
    lines = [t(lang, f"Indikatorer {last} (median og spredning mellom enheter):",
               f"Indicators {last} (median and range across units):")]
    for iid in sorted(set(rows["indicator_id"].to_pylist())):
        r = rows.filter(pc.equal(rows["indicator_id"], iid))
        vals = sorted(v for v in r["value"].to_pylist() if v is not None)
        spec = get_indicator(iid)
        title = spec.title.get(lang)
        if not vals:
            lines.append(f"  {iid:<9} {title[:60]:<60}  –")
            continue
        mid = vals[len(vals) // 2]
        lines.append(f"  {iid:<9} {title[:60]:<60}  {mid:8.3f}  [{vals[0]:.3f}–{vals[-1]:.3f}]")
    return "\n".join(lines)
