"""``kadindicators demo``: the whole chain on the built-in synthetic region."""

from __future__ import annotations

import argparse
import datetime as dt
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from ._common import merged_metadata, progress, t, write_safe_csv


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
    progress(t(lang, f"[2/{steps}] Validerer {no_csv} (norsk Excel-CSV) med enheter, befolkning, "
                     "erfaringer og sykehusinnleggelser …",
               f"[2/{steps}] Validating {no_csv} (Norwegian Excel CSV) with units, population, "
               "experience and hospital admissions …"))
    as_of = dt.date(max(region.years) + 1, 1, 1)
    report = validate(stays=no_csv, units=paths["units.csv"], population=paths["population.csv"],
                      experience=paths["experience.csv"],
                      hospital_admissions=paths["hospital_admissions.csv"], as_of=as_of)
    progress(t(lang, f"[3/{steps}] Skriver valideringsrapport …", f"[3/{steps}] Writing the validation report …"))
    reports = out / "reports"
    reports.mkdir(parents=True, exist_ok=True)
    (reports / "validation.json").write_text(report.to_json(max_issues=1000), encoding="utf-8")
    (reports / f"validation_{lang}.txt").write_text(report.summary_text(lang=lang), encoding="utf-8")
    write_safe_csv(report.issues, reports / "validation_issues.csv")
    import pyarrow.parquet as pq

    pq.write_table(report.valid, reports / "stays_valid.parquet")
    progress(t(lang, f"[4/{steps}] Beregner indikatorene (vedtatte, og foreslåtte for seg) …",
               f"[4/{steps}] Computing the indicators (adopted, and proposed apart) …"))
    import pyarrow.compute as pc

    tables = {"stays": report.valid, "units": report.tables["units"],
              "population": report.tables["population"]}
    optional = {name: report.tables[name] for name in ("experience", "hospital_admissions")
                if name in report.tables}
    results = _by_unit_and_municipality(tables, None, as_of)
    pq.write_table(results, reports / "indicators.parquet")
    write_safe_csv(results, reports / "indicators.csv")
    # proposed indicators (not adopted: for trial and review) in files of their own, protected the same way
    proposed = _by_unit_and_municipality({**tables, **optional}, _proposed_ids(), as_of)
    proposed_files = {}
    if proposed is not None:
        for name in ("indicators_proposed.parquet", "indicators_proposed.csv"):
            proposed_files[name] = reports / name
        pq.write_table(proposed, proposed_files["indicators_proposed.parquet"])
        write_safe_csv(proposed, proposed_files["indicators_proposed.csv"])
    progress(t(lang, f"[5/{steps}] Lager nasjonalt årsskjema …", f"[5/{steps}] Making the national annual form …"))
    form_files = _national_form(tables, max(region.years), reports, lang)
    progress(t(lang, f"[6/{steps}] Lager tilbakemeldingsrapporter (HTML) for regionen og hver enhet …",
               f"[6/{steps}] Making the feedback reports (HTML) for the region and each unit …"))
    from ..reports import feedback_reports

    html = feedback_reports(**tables, **optional, lang=lang, as_of=as_of)
    from ..io import safe_filename

    report_files = {}
    for key, rep in html.items():
        name = "feedback_region.html" if key == "region" else "units/" + safe_filename(key, suffix=".html")
        report_files[name] = rep.write(reports / name)
    print(report.summary_text(lang=lang, max_issues=10))
    print()
    # from the protected files, so that no value printed here was masked there
    print(_headline(results.filter(pc.is_valid(results["unit_id"])), lang))
    print()
    if proposed is not None:
        print(_headline(proposed, lang, proposed=True))
        print()
    print(t(lang, "Filer:", "Files:"))
    for name, path in {**paths, "opphold_norsk.csv": no_csv,
                       "validation.json": reports / "validation.json",
                       f"validation_{lang}.txt": reports / f"validation_{lang}.txt",
                       "validation_issues.csv": reports / "validation_issues.csv",
                       "stays_valid.parquet": reports / "stays_valid.parquet",
                       "indicators.parquet": reports / "indicators.parquet",
                       "indicators.csv": reports / "indicators.csv", **proposed_files, **form_files,
                       "feedback_region.html": report_files["feedback_region.html"]}.items():
        print(f"  {name:<27} {path}")
    print(t(lang, f"  {'units/*.html':<27} {reports / 'units'} ({len(report_files) - 1} enheter)",
            f"  {'units/*.html':<27} {reports / 'units'} ({len(report_files) - 1} units)"))
    return 0


def _proposed_ids() -> list[str]:
    """The proposed indicators that have an implementation in this installation, in catalogue order.

    A proposed spec may be ahead of its implementation (or the other way round while
    an indicator is being written): the demo computes those it can.
    """
    from .. import catalogue
    from ..indicators import REGISTRY

    return [s.id for s in catalogue(status="proposed") if s.id in REGISTRY]


def _by_unit_and_municipality(tables: Mapping[str, Any], ids: list[str] | None,
                              as_of: dt.date) -> Any:
    """Indicators by unit and by municipality in one table, protected together.

    ``ids`` None: the adopted catalogue. Otherwise those of ``ids`` that can be
    grouped that way (an indicator of hospital admissions has no units); None when
    there is nothing to compute. Unit rows and municipality rows add up to the same
    regional totals, so they are protected together (complementary suppression):
    no masked count can be recovered by subtraction.
    """
    import pyarrow as pa

    from .. import compute, get_indicator
    from ..disclosure import protect_results

    parts = []
    for by in ("unit_id", "municipality"):
        wanted = None if ids is None else [i for i in ids if by in get_indicator(i).groupings]
        if wanted == []:
            continue
        part = compute(**tables, indicators=wanted, by=(by,), period="year", as_of=as_of)
        if part.num_rows:
            parts.append(part)
    if not parts:
        return None
    # a unit row has municipality null and the other way round (null: "all", for protect_results)
    combined = pa.concat_tables(parts, promote_options="default")
    if "municipality" not in combined.column_names:
        combined = combined.append_column("municipality", pa.nulls(combined.num_rows, pa.string()))
    return protect_results(combined.replace_schema_metadata(merged_metadata(parts)))


def _national_form(tables: dict[str, object], year: int, out: Path, lang: str) -> dict[str, Path]:
    """The national annual form for the region's latest year, as xlsx and csv."""
    from ..reports import national_form, write_national_form

    form = national_form(stays=tables["stays"], units=tables["units"], year=year, lang=lang)
    files = {}
    for suffix in ("xlsx", "csv"):
        name = f"national_form_{year}.{suffix}"
        files[name] = write_national_form(form, out / name, lang=lang)
    return files


def _headline(results: object, lang: str, *, proposed: bool = False) -> str:
    """The region's latest year, per indicator, as a small text table (suppressed cells shown as such).

    With ``proposed``, the table holds unit and municipality rows: an indicator is
    summarised across units, or across municipalities (marked ``*``) when it has no unit rows.
    """
    import pyarrow as pa
    import pyarrow.compute as pc

    from .. import get_indicator

    t_ = results if isinstance(results, pa.Table) else pa.table({})
    last = max(t_["period"].to_pylist())
    rows = t_.filter(pc.equal(t_["period"], last))
    if proposed:
        lines = [t(lang, f"Foreslåtte indikatorer {last} (median og spredning mellom enheter; "
                         "* mellom kommuner):",
                   f"Proposed indicators {last} (median and range across units; * across municipalities):")]
    else:
        lines = [t(lang, f"Indikatorer {last} (median og spredning mellom enheter):",
                   f"Indicators {last} (median and range across units):")]
    for iid in sorted(set(rows["indicator_id"].to_pylist())):
        r = rows.filter(pc.equal(rows["indicator_id"], iid))
        mark = " "
        if proposed:
            units = r.filter(pc.is_valid(r["unit_id"])) if "unit_id" in r.column_names else r.slice(0, 0)
            r, mark = (units, " ") if units.num_rows else (r.filter(pc.is_valid(r["municipality"])), "*")
        vals = sorted(v for v in r["value"].to_pylist() if v is not None)
        spec = get_indicator(iid)
        title = spec.title.get(lang)
        if not vals:
            lines.append(f"  {iid:<9} {title[:60]:<60}  –")
            continue
        mid = vals[len(vals) // 2]
        lines.append(f"  {iid:<9} {title[:60]:<60}{mark} {mid:8.3f}  [{vals[0]:.3f}–{vals[-1]:.3f}]")
    return "\n".join(lines)
