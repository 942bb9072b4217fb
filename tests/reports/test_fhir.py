"""FHIR R4 MeasureReport: valid resources, faithful counts, and no suppressed value ever leaks."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterator
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
import pytest

import kadindicators as kad
from kadindicators.errors import InputError
from kadindicators.reports import measure_report
from kadindicators.reports.fhir import DATA_ABSENT_REASON
from kadindicators.spec.export import FHIR_BASE_URL, measure

fhir_report = pytest.importorskip("fhir.resources.R4B.measurereport", reason="fhir.resources (test extra)")


@pytest.fixture(scope="module")
def region() -> Any:
    return kad.synth.generate(years=(2024,), seed=3, scale=0.15)


@pytest.fixture(scope="module")
def by_unit(region: Any) -> pa.Table:
    return kad.compute(stays=region.stays, units=region.units, population=region.population,
                       indicators=["KAD-Q01", "KAD-U04", "KAD-U03"], by=("unit_id",), period="quarter")


@pytest.fixture(scope="module")
def stratified(region: Any) -> pa.Table:
    return kad.compute(stays=region.stays, units=region.units, population=region.population,
                       indicators=["KAD-Q01", "KAD-U01"], by=("municipality",), strata=("sex",))


@pytest.fixture(scope="module")
def region_two_strata(region: Any) -> pa.Table:
    return kad.compute(stays=region.stays, units=region.units, indicators=["KAD-Q01"], by=(),
                       strata=("sex", "age_band"))


def _cells(rep: dict[str, Any]) -> Iterator[dict[str, Any]]:
    """Every group or stratum of a report (the things that hold populations and a score)."""
    for g in rep["group"]:
        if "population" in g:
            yield g
        for s in g.get("stratifier", []):
            yield from s["stratum"]


def _reason(cell: dict[str, Any]) -> str | None:
    for e in cell.get("extension", []):
        if e["url"].endswith("/result-reason"):
            return str(e["valueCoding"]["code"])
    return None


@pytest.mark.parametrize("table", ["by_unit", "stratified", "region_two_strata"])
def test_reports_validate_against_fhir_r4(table: str, request: pytest.FixtureRequest) -> None:
    """Every report validates against the FHIR MeasureReport model and serialises back unchanged."""
    reports = measure_report(request.getfixturevalue(table))
    assert reports
    for rep in reports:
        model = fhir_report.MeasureReport.model_validate(rep)
        assert model.model_dump(mode="json", exclude_none=True) == json.loads(json.dumps(rep))
        assert (rep["status"], rep["type"]) == ("complete", "summary")


def test_one_report_per_indicator_period_and_group(by_unit: pa.Table) -> None:
    """Reports follow the rows: canonical with version, half-open period, the unit as subject."""
    reports = measure_report(by_unit)
    assert len(reports) == by_unit.num_rows  # no strata: one report per row
    rows = by_unit.sort_by([("indicator_id", "ascending"), ("indicator_version", "ascending"),
                            ("period_start", "ascending"), ("unit_id", "ascending")]).to_pylist()
    for rep, row in zip(reports, rows, strict=True):
        assert rep["measure"] == f"{FHIR_BASE_URL}/Measure/{row['indicator_id']}|{row['indicator_version']}"
        assert rep["period"] == {"start": row["period_start"].isoformat(),
                                 "end": (row["period_end"] - dt.timedelta(days=1)).isoformat()}
        assert rep["subject"]["type"] == "Location" and rep["subject"]["identifier"]["value"] == row["unit_id"]
        grouping = rep["extension"][0]["extension"]
        assert grouping == [{"url": "by", "valueCode": "unit_id"}, {"url": "value", "valueString": row["unit_id"]}]
        (cell,) = _cells(rep)
        pops = {p["code"]["coding"][0]["code"]: p for p in cell["population"]}
        if row["suppressed"]:
            assert all("count" not in p and "extension" not in p for p in pops.values())
            assert _reason(cell) == row["reason"] == "low_n"
            continue
        if row["indicator_id"] == "KAD-Q01":
            assert pops["numerator"]["count"] == row["numerator"] and pops["denominator"]["count"] == row["denominator"]
        if row["indicator_id"] in ("KAD-U04", "KAD-U03") and row["numerator"] % 1:
            key = "measure-observation" if row["indicator_id"] == "KAD-U04" else "numerator"
            assert "count" not in pops[key]
            assert pops[key]["extension"][0]["valueDecimal"] == pytest.approx(row["numerator"])
        if row["value"] is not None:
            assert cell["measureScore"]["value"] == pytest.approx(row["value"])
        else:
            assert cell["measureScore"]["extension"][0]["valueCode"] == "not-applicable"


def test_median_has_no_numerator_population() -> None:
    """A median (continuous variable) reports its measure population and score, never a numerator."""
    day = dt.date
    table = pa.table({
        "indicator_id": ["KAD-U04M"] * 3, "indicator_version": ["1.0.0"] * 3, "period": ["2024"] * 3,
        "period_start": pa.array([day(2024, 1, 1)] * 3, pa.date32()),
        "period_end": pa.array([day(2025, 1, 1)] * 3, pa.date32()),
        "unit_id": ["U1", "U2", "U3"],
        "numerator": pa.array([None, None, None], pa.float64()),
        "denominator": pa.array([12.0, None, 0.0]), "value": pa.array([2.5, None, None]),
        "ci_lower": pa.array([None, None, None], pa.float64()), "ci_upper": pa.array([None, None, None], pa.float64()),
        "suppressed": [False, True, False], "status": ["ok", "suppressed", "not_applicable"],
        "reason": [None, "low_n", "no_data"],
    })
    ok, hidden, empty = (next(_cells(r)) for r in measure_report(table))
    for cell in (ok, hidden, empty):
        codes = [p["code"]["coding"][0]["code"] for p in cell["population"]]
        assert codes == ["measure-population"]
        fhir_report.MeasureReportGroup.model_validate(cell)
    assert ok["population"][0]["count"] == 12 and ok["measureScore"] == {"value": 2.5}
    assert "count" not in hidden["population"][0] and _reason(hidden) == "low_n"
    assert empty["population"][0]["count"] == 0 and _reason(empty) == "no_data"
    assert empty["measureScore"]["extension"][0]["valueCode"] == "not-applicable"


def test_report_points_at_its_measure(by_unit: pa.Table) -> None:
    """measure, group code and improvement notation agree with the exported Measure."""
    for rep in measure_report(by_unit)[:20]:
        iid = rep["group"][0]["code"]["coding"][0]["code"]
        m = measure(kad.get_indicator(iid))
        assert rep["measure"] == f"{m['url']}|{m['version']}"
        assert rep["group"][0]["code"] == m["group"][0]["code"]
        assert rep.get("improvementNotation") == m.get("improvementNotation")


def test_strata_become_stratifiers(stratified: pa.Table, region_two_strata: pa.Table) -> None:
    """One stratum per result row: value for one stratum column, components for several."""
    reports = measure_report(stratified)
    n = sum(len(s["stratum"]) for r in reports for g in r["group"] for s in g["stratifier"])
    assert n == stratified.num_rows
    for rep in reports:
        group = rep["group"][0]
        assert "population" not in group and "measureScore" not in group  # no totals in a stratified result
        assert [c["coding"][0]["code"] for c in group["stratifier"][0]["code"]] == ["sex"]
        for stratum in group["stratifier"][0]["stratum"]:
            assert stratum["value"]["coding"][0]["system"] == "urn:oid:2.16.578.1.12.4.1.1.3101"
        assert rep["subject"]["type"] == "Group"
    two = measure_report(region_two_strata)
    periods = pc.count_distinct(region_two_strata["period"]).as_py()
    assert len(two) == periods
    for rep in two:
        assert "subject" not in rep
        assert rep["extension"][0]["extension"] == [{"url": "by", "valueCode": "region"}]
        for stratum in rep["group"][0]["stratifier"][0]["stratum"]:
            assert [c["code"]["coding"][0]["code"] for c in stratum["component"]] == ["sex", "age_band"]


def _leak_check(reports: list[dict[str, Any]], secrets: set[float]) -> int:
    """Count masked cells; assert none shows a count, a score or any of ``secrets``."""
    masked = 0
    text = json.dumps(reports)
    for s in secrets:
        assert json.dumps(s) not in text, s
    for rep in reports:
        for cell in _cells(rep):
            if _reason(cell) in ("low_n", "secondary", "suppressed"):
                masked += 1
                for p in cell["population"]:
                    assert "count" not in p and "extension" not in p
                    assert p["_count"]["extension"] == [{"url": DATA_ABSENT_REASON, "valueCode": "masked"}]
                assert cell["measureScore"] == {"extension": [{"url": DATA_ABSENT_REASON, "valueCode": "masked"}]}
    return masked


def _tamper(table: pa.Table) -> pa.Table:
    """Put distinctive numbers into the hidden cells of suppressed rows, as a careless producer might."""
    sup = table["suppressed"]
    out = table
    for col, secret in (("numerator", 3.0), ("denominator", 4.0), ("value", 0.7654321),
                        ("ci_lower", 0.1234567), ("ci_upper", 0.9876543)):
        i = out.column_names.index(col)
        out = out.set_column(i, col, pc.if_else(sup, pa.scalar(secret), out[col]))
    return out


@pytest.mark.parametrize("table", ["by_unit", "stratified", "region_two_strata"])
def test_suppressed_cells_never_leak(table: str, request: pytest.FixtureRequest) -> None:
    """A suppressed cell has no count and no score, even when the table carries values there."""
    results = request.getfixturevalue(table)
    n_suppressed = pc.sum(pc.cast(results["suppressed"], pa.int64())).as_py()
    assert n_suppressed > 0  # the fixture exercises suppression
    assert _leak_check(measure_report(results), set()) == n_suppressed
    tampered = _tamper(results)
    assert _leak_check(measure_report(tampered), {0.7654321, 0.1234567, 0.9876543}) == n_suppressed


def test_missing_flag_counts_as_suppressed(by_unit: pa.Table) -> None:
    """A null 'suppressed' is treated as suppressed (fail safe)."""
    i = by_unit.column_names.index("suppressed")
    nulls = by_unit.set_column(i, "suppressed", pa.nulls(by_unit.num_rows, pa.bool_()))
    reports = measure_report(nulls)
    assert all("count" not in p for r in reports for c in _cells(r) for p in c["population"])


def test_a_table_showing_small_counts_is_refused(by_unit: pa.Table) -> None:
    """Unsuppressed counts under the threshold mean the table was not suppressed: refused."""
    q01 = by_unit.filter(pc.equal(by_unit["indicator_id"], "KAD-Q01"))
    i = q01.column_names.index("numerator")
    fake = q01.set_column(i, "numerator", pc.if_else(pc.invert(q01["suppressed"]), pa.scalar(2.0), q01["numerator"]))
    with pytest.raises(InputError, match="not suppressed"):
        measure_report(fake)
    # without metadata the spec's threshold (5) applies
    with pytest.raises(InputError, match="from 1 to 4"):
        measure_report(fake.replace_schema_metadata(None))
    # a run with suppression=1 (none) is published as it was computed
    meta = dict(fake.schema.metadata or {})
    meta[b"kadindicators.suppression"] = b"1"
    assert measure_report(fake.replace_schema_metadata(meta))


def test_columns_are_checked() -> None:
    """A table that is not an indicator result is refused with a bilingual message."""
    with pytest.raises(InputError) as err:
        measure_report(pa.table({"indicator_id": ["KAD-Q01"]}))
    assert "mangler" in err.value.message("nb") and "missing" in err.value.message("en")


def test_base_url_is_used_everywhere(by_unit: pa.Table) -> None:
    """measure_base_url sets the canonical and every code system and extension of ours."""
    base = "https://fhir.example.no/kad"
    text = json.dumps(measure_report(by_unit.slice(0, 5), measure_base_url=base + "/"))
    assert "kadindicators.example" not in text and f"{base}/Measure/" in text
