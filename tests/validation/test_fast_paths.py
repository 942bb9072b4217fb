"""The fast paths of validation give exactly what the general paths give.

Validation parses a column's distinct values once when the column repeats itself
(codes, yes/no, ages, dates), reads fixed-width timestamps straight from the bytes,
keeps typed integers as they are, and finds units and municipality periods by
binary search. Each test here runs both ways on the same data and compares.
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import kadindicators as kad
import kadindicators.validation as kv
from kadindicators.spec.loader import load_schema
from kadindicators.testing import strategies as st_kad
from kadindicators.validation import _checks, _parse

AS_OF = dt.date(2026, 6, 1)


def _same_report(a: kad.ValidationReport, b: kad.ValidationReport) -> None:
    assert a.issues.equals(b.issues), "issues differ"
    for name in a.tables:
        assert a.tables[name].equals(b.tables[name]), f"accepted {name} differ"
    assert a.summaries == b.summaries


def _both_ways(monkeypatch: pytest.MonkeyPatch, **tables: object) -> kad.ValidationReport:
    """Validate with the distinct-value path and without it; assert the reports are equal."""
    fast = kad.validate(**tables, as_of=AS_OF)  # type: ignore[arg-type]
    with monkeypatch.context() as m:
        m.setattr(kv, "MIN_ROWS_FOR_DISTINCT", 10**12)
        slow = kad.validate(**tables, as_of=AS_OF)  # type: ignore[arg-type]
    _same_report(fast, slow)
    return fast


@settings(max_examples=25, deadline=None)
@given(st_kad.raw_stays(max_rows=8), st.integers(130, 300))
def test_distinct_values_path_equals_row_path_on_arbitrary_text(
        t: pa.Table, copies: int) -> None:
    """Arbitrary text, repeated past the threshold: parsing distinct values changes nothing."""
    if t.num_rows == 0:
        return
    big = pa.concat_tables([t] * copies)
    with pytest.MonkeyPatch.context() as mp:
        _both_ways(mp, stays=big)


def test_distinct_values_path_on_a_messy_norwegian_export(monkeypatch: pytest.MonkeyPatch) -> None:
    """Norwegian labels, blanks, formulas, bad codes and dates in a large file: same report."""
    r = kad.synth.generate(years=(2025,), seed=4, n_stays=3000)
    s = r.stays.to_pydict()
    rng = np.random.default_rng(1)
    junk = {"sex": ["Kvinne", " mann ", "9", "", "=1+1"], "discharged_to": ["Hjem", "død", "x", "@a", ""],
            "diagnosis_icpc2": ["r 81", "Q99", "", "r81"], "municipality": ["301", "3005", "abcd", ""],
            "age": ["1 234", "80,0", "-5", "+45", "abc", "130", "16", ""], "died_at": ["2025-02-30", "45600", ""],
            "examined_before_admission": ["Ja", "nei", "maybe", ""], "news2_at_admission": ["3", "x", "", "99"]}
    text = {k: [None if v is None else str(v) for v in vals] for k, vals in s.items()}
    for col, vals in junk.items():
        hit = rng.random(len(text[col])) < 0.1
        for i in np.flatnonzero(hit):
            text[col][i] = vals[rng.integers(len(vals))]
    table = pa.table({k: pa.array(v, pa.string()) for k, v in text.items()})
    report = _both_ways(monkeypatch, stays=table, units=r.units)
    rules = set(report.issues["rule"].to_pylist())
    assert {"label-mapped", "formula-like", "code-unknown", "type-invalid", "range-out-of-bounds"} <= rules


@given(st.lists(st.one_of(st.none(), st.integers(-(10**18), 10**18 + 5),
                          st.sampled_from([10**18 - 1, 10**18, -(10**17 - 1), -(10**17), 0]))))
def test_typed_integers_parse_as_their_text(values: list[int | None]) -> None:
    """An integer column is read as the text of its numbers would be."""
    field = load_schema().tables["stays"].field("age")
    typed = _parse.parse_column(pa.array(values, pa.int64()), field, {})
    text = _parse.parse_column(pa.array([None if v is None else str(v) for v in values], pa.string()), field, {})
    assert typed.values.equals(text.values)
    assert typed.invalid.equals(text.invalid)
    assert typed.missing.equals(text.missing)


def test_a_leading_plus_sign_is_a_number() -> None:
    """'+45' matches the integer pattern and parses as 45 (Arrow itself refuses it)."""
    values, ok = _parse.parse_integer(pa.array(["+45", "-5", "1 234", "12,0"]))
    assert values.to_pylist() == [45, -5, 1234, 12] and ok.all()


def _random_layouts(rng: np.random.Generator, k: int) -> list[str]:
    """Strings shaped like the fixed-width layouts, with random digits and separators."""
    shapes = ["dddd-dd-ddsdd:dd:dd", "dddd-dd-ddsdd:dd", "dddd-dd-dd", "dd.dd.dddd dd:dd", "dd.dd.ddddsdd.dd",
              "dd.dd.dddd dd:dd:dd", "dd.dd.dddd", "dddd/dd/dd", "dd-dd-dddd"]
    seps = list("T .:x-")
    out = []
    for _ in range(k):
        shape = shapes[rng.integers(len(shapes))]
        chars = []
        for ch in shape:
            if ch == "d":
                chars.append(str(rng.integers(10)) if rng.random() > 0.01 else "a")
            elif ch == "s":
                chars.append(seps[rng.integers(len(seps))])
            else:
                chars.append(ch if rng.random() > 0.02 else seps[rng.integers(len(seps))])
        out.append("".join(chars))
    return out


def test_fixed_width_timestamps_equal_the_regular_expressions() -> None:
    """Every value read from the bytes gets the fields, validity and time the regexes give."""
    rng = np.random.default_rng(7)
    special = ["2024-03-01T14:05:00", "2024-03-01 14:05", "2024-03-01", "01.03.2024 14:05", "01.03.2024 14.05",
               "01.03.2024T14:05", "01.03.2024 14:05:07", "01.03.2024", None, "2024-13-01T00:00:00", "2024-02-29",
               "2023-02-29", "2024-3-1", "45678,5", "2025-01-05T10:00:00+01:00", "2024-03-01T24:00:00",
               "1899-12-31", "2101-01-01", "2024-03-01T14:05:00.5", "é" * 10, "2024-03-0\uff11", "0000-00-00"]
    values = pa.array(special + _random_layouts(rng, 5000), pa.string()).slice(1)  # a sliced array too
    fast, slow = _parse._parse_instants(values), _parse._parse_instants_regex(values)
    assert _parse._fixed_width(values) is not None and _parse._fixed_width(values)[0].sum() > 2000
    assert np.array_equal(fast.ok, slow.ok)
    assert np.array_equal(np.where(fast.ok, fast.ms, 0), np.where(slow.ok, slow.ms, 0))
    for name in ("zoned", "serial", "has_time"):
        assert np.array_equal(getattr(fast, name), getattr(slow, name)), name


def _units(rows: list[tuple[str, dt.date, dt.date | None]]) -> pa.Table:
    return pa.table({"unit_id": pa.array([r[0] for r in rows], pa.string()), "valid_from": pa.array([r[1] for r in rows], pa.date32()),
                     "valid_to": pa.array([r[2] for r in rows], pa.date32())})


@given(st.lists(st.tuples(st.sampled_from(["A", "B", "C"]), st.integers(0, 40), st.integers(1, 20),
                          st.booleans()), max_size=8),
       st.lists(st.tuples(st.sampled_from(["A", "B", "C", "D", None]), st.one_of(st.none(), st.integers(-5, 80))),
                max_size=30))
def test_unit_rows_by_search_equal_the_join(periods: list[tuple[str, int, int, bool]],
                                            stays: list[tuple[str | None, int | None]]) -> None:
    """Binary search over unit periods finds the join's row, or declines (overlapping periods)."""
    d0 = dt.date(2024, 1, 1)
    units = _units([(u, d0 + dt.timedelta(days=a), None if open_ else d0 + dt.timedelta(days=a + b))
                    for u, a, b, open_ in periods])
    uid = pa.array([s[0] for s in stays], pa.string())
    adm = pa.array([None if s[1] is None else d0 + dt.timedelta(days=s[1]) for s in stays], pa.date32())
    joined = _checks._unit_rows_by_join(uid, adm, units)
    searched = _checks._unit_rows_by_search(uid, adm, units)
    if searched is None:  # only when a unit's periods overlap
        df = units.to_pylist()
        assert any(x is not y and x["unit_id"] == y["unit_id"]
                   and x["valid_from"] < (y["valid_to"] or dt.date.max) and y["valid_from"] < (x["valid_to"] or dt.date.max)
                   for x in df for y in df)
    else:
        assert searched.tolist() == joined.tolist()


def test_municipality_validity_by_search_equals_the_code_list() -> None:
    """Binary search over the code list's periods agrees with the join in municipalities.valid_on."""
    from kadindicators import municipalities

    codes = municipalities.validity_table()["code"].to_pylist()
    rng = np.random.default_rng(3)
    mun = pa.array([codes[i] for i in rng.integers(len(codes), size=4000)] + [None, "9999", "301"], pa.string())
    days = rng.integers(16000, 21000, size=len(mun))
    dates = pa.array([dt.date(1970, 1, 1) + dt.timedelta(days=int(d)) for d in days], pa.date32())
    got = _checks._municipality_valid_on(None, mun, dates)  # type: ignore[arg-type]
    assert got.tolist() == municipalities.valid_on(mun, dates).tolist()
    assert 0 < got.sum() < len(mun)


def test_overlap_ties_are_broken_by_stay_id_not_row_order() -> None:
    """Stays of one patient with the same admission and discharge: the same report in any row order."""
    rows = {"stay_id": ["S3", "S1", "S2", "S4"], "patient_id": ["p", "p", "p", "q"],
            "unit_id": ["U"] * 4, "admitted_at": ["2025-01-05 10:00"] * 4,
            "discharged_at": ["2025-01-06 10:00"] * 4, "age": ["80"] * 4, "sex": ["2"] * 4,
            "care_track": ["somatic"] * 4, "discharged_to": ["home"] * 4}
    t = pa.table(rows)
    a = kad.validate(stays=t, as_of=AS_OF)
    b = kad.validate(stays=t.take(pa.array([2, 0, 3, 1])), as_of=AS_OF)
    def pick(r: kad.ValidationReport) -> list[tuple[str, str]]:
        return sorted((x["stay_id"], x["value"]) for x in r.issues.to_pylist() if x["rule"] == "overlapping-stays")

    assert pick(a) == pick(b) == [("S2", "S1"), ("S3", "S2")]


def test_rows_with_warnings_count_the_rows_of_warning_issues() -> None:
    """rows_with_warnings is the number of accepted rows with at least one warning issue."""
    r = kad.synth.generate(years=(2025,), seed=8, n_stays=2000)
    report = kad.validate(stays=r.stays, units=r.units, as_of=AS_OF)
    iss = report.issues
    err = set(iss.filter(pc.equal(iss["severity"], "error"))["row"].to_pylist())
    warn = set(iss.filter(pc.equal(iss["severity"], "warning"))["row"].to_pylist()) - {None}
    assert report.summaries["stays"].rows_with_warnings == len(warn - err) > 0


@pytest.mark.parametrize("text_type", [pa.string_view(), pa.large_string()])
def test_distinct_path_accepts_every_arrow_text_type(text_type: pa.DataType) -> None:
    """Text columns as polars (string_view) or large_string give the same report as plain strings."""
    region = kad.synth.generate(years=(2024,), seed=5, scale=0.5)
    stays = region.stays.slice(0, 2 * kv.MIN_ROWS_FOR_DISTINCT)
    text = pa.table({c: pc.cast(stays[c], pa.string()) for c in stays.column_names})
    other = pa.table({c: pc.cast(text[c], text_type) for c in text.column_names})
    _same_report(kad.validate(stays=text, units=region.units, as_of=dt.date(2025, 1, 1)),
                 kad.validate(stays=other, units=region.units, as_of=dt.date(2025, 1, 1)))
