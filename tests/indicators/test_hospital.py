"""KAD-H01 and KAD-H02 (effect on hospital use): oracle, partitions, coverage, disclosure.

The generic property tests of ``test_common.py`` run these indicators without a
``hospital_admissions`` table, where they pass trivially; the tests here draw hospital
tables (complete, partial and ambiguous figures, whole-year and month rows, a municipality
without population and a number that is no longer valid) together with stays and
populations.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import random
from collections import defaultdict
from typing import Any
from zoneinfo import ZoneInfo

import pyarrow as pa
import pyarrow.compute as pc
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import kadindicators as kad
from kadindicators.schema import arrow_schema
from kadindicators.spec.loader import load_schema
from kadindicators.testing import strategies as st_kad

OSLO = ZoneInfo("Europe/Oslo")
H01, H02 = "KAD-H01", "KAD-H02"
IDS = [H01, H02]
MUNS = st_kad.DEFAULT_MUNICIPALITIES  # in the population table
EXTRA = ("3303", "3005")  # 3303: hospital figures but no population; 3005: not valid from 2024
YEARS = (2024, 2025)
BANDS = load_schema().age_bands
ADULT = {b.code for b in BANDS if b.min >= 18}
SINCE = dt.date(2024, 1, 1)
AS_OFS = [dt.datetime(2024, 7, 1, tzinfo=OSLO), dt.datetime(2025, 3, 15, 12, tzinfo=OSLO),
          dt.datetime(2026, 1, 1, tzinfo=OSLO)]


# -- strategies -----------------------------------------------------------------------------

@st.composite
def hospital_tables(draw: Any) -> pa.Table:
    """Figures per municipality and year: none, whole year, all or some months, or ambiguous."""
    adm = st.sampled_from([0, 1, 3, 7, 40, 250])
    rows: list[dict[str, Any]] = []
    for m in MUNS + EXTRA:
        for y in YEARS:
            kind = draw(st.sampled_from(["none", "whole", "all-months", "all-months", "some-months",
                                         "mixed", "duplicate-month", "two-whole"]))
            months: list[int | None] = []
            if kind == "whole":
                months = [None]
            elif kind == "all-months":
                months = list(range(1, 13))
            elif kind == "some-months":
                months = sorted(draw(st.sets(st.integers(1, 12), min_size=1, max_size=11)))
            elif kind == "mixed":  # a whole-year row and month rows: validation rejects them all
                months = [None, *range(1, 13)]
            elif kind == "duplicate-month":  # two rows for one month: validation rejects both
                months = [*range(1, 13), draw(st.integers(1, 12))]
            elif kind == "two-whole":
                months = [None, None]
            rows += [{"municipality": m, "year": y, "month": mo, "admissions": draw(adm), "source": "test"}
                     for mo in months]
    return pa.Table.from_pylist(rows, schema=arrow_schema("hospital_admissions"))


@st.composite
def populations(draw: Any) -> pa.Table:
    """The default municipalities × 2024-2025, scaled by 0 (no adults), 1 or 3 per municipality-year."""
    rows = []
    for m in MUNS:
        for y in YEARS:
            f = draw(st.sampled_from([0, 1, 1, 3]))
            for s in ("1", "2"):
                for k, b in enumerate(BANDS):
                    size = (1000 + 100 * k) * (f if b.code in ADULT else 1)
                    rows.append({"municipality": m, "year": y, "sex": s, "age_band": b.code, "population": size})
    return pa.Table.from_pylist(rows, schema=arrow_schema("population"))


@st.composite
def stays_tables(draw: Any) -> pa.Table:
    """Valid stays with ages under 18, both care tracks and municipalities with and without figures."""
    t = draw(st_kad.stays(max_rows=25, patients=8, start=dt.date(2024, 1, 1), end=dt.date(2025, 12, 31)))
    n = t.num_rows
    ages = draw(st.lists(st.sampled_from([12, 17, 18, 45, 80, 95]), min_size=n, max_size=n))
    tracks = draw(st.lists(st.sampled_from(["somatic", "somatic", "mental_health_substance"]),
                           min_size=n, max_size=n))
    muns = draw(st.lists(st.sampled_from([*MUNS, *EXTRA, None]), min_size=n, max_size=n))
    for name, values in (("age", ages), ("care_track", tracks), ("municipality", muns)):
        i = t.schema.get_field_index(name)
        t = t.set_column(i, t.schema.field(i), pa.array(values, t.schema.field(i).type))
    return t


# -- the plain-Python oracle (row by row, from the spec prose) ------------------------------

def _label(d: dt.date, period: str) -> str:
    if period == "year":
        return str(d.year)
    if period == "quarter":
        return f"{d.year}-Q{(d.month - 1) // 3 + 1}"
    return f"{d.year}-{d.month:02d}"


def _periods(year: int, period: str) -> list[tuple[str, dt.date, list[int]]]:
    """(label, first day, months) of every period of the year."""
    step = {"year": 12, "quarter": 3, "month": 1}[period]
    return [(_label(dt.date(year, m, 1), period), dt.date(year, m, 1), list(range(m, m + step)))
            for m in range(1, 13, step)]


def _valid(code: str | None, day: dt.date) -> bool:
    if code is None:
        return False
    far = dt.date(9999, 1, 1)
    return any(c.code == code and (c.valid_from or dt.date(1, 1, 1)) <= day < (c.valid_to or far)
               for c in load_schema().codelists["municipality"].codes)


def _cells(hosp: list[dict[str, Any]], pop: list[dict[str, Any]], period: str, as_of: dt.datetime,
           ) -> dict[tuple[str, str], dict[str, Any]]:
    """(period, municipality) -> valid, covered, admissions, population: the spec's municipality-periods."""
    slots: dict[tuple[str, int, int | None], list[int]] = defaultdict(list)
    for r in hosp:
        slots[(r["municipality"], r["year"], r["month"])].append(r["admissions"])
    clean = {k: v[0] for k, v in slots.items() if len(v) == 1}
    for m, y in {(m, y) for m, y, _ in slots}:
        if (m, y, None) in slots and any((m, y, k) in slots for k in range(1, 13)):
            for k in [None, *range(1, 13)]:  # both kinds for one municipality-year: all left out
                clean.pop((m, y, k), None)
    adults: dict[tuple[str, int], int] = defaultdict(int)
    for r in pop:
        if r["age_band"] in ADULT:
            adults[(r["municipality"], r["year"])] += r["population"]
    years = {r["year"] for r in hosp}
    out = {}
    for y in years:
        muns = {r["municipality"] for r in hosp if r["year"] == y}
        muns |= {m for (m, yy), n in adults.items() if yy == y and n > 0}
        for label, start, months in _periods(y, period):
            if start >= as_of.date():
                continue
            for m in muns:
                if period == "year" and (m, y, None) in clean:
                    covered, n_adm = True, clean[(m, y, None)]
                else:
                    covered = all((m, y, k) in clean for k in months)
                    n_adm = sum(clean[(m, y, k)] for k in months) if covered else 0
                out[(label, m)] = {"valid": _valid(m, start), "covered": covered, "admissions": n_adm,
                                   "population": adults.get((m, y), 0)}
    return out


def oracle(iid: str, stays: list[dict[str, Any]], hosp: list[dict[str, Any]], pop: list[dict[str, Any]], *,
           period: str, as_of: dt.datetime, region: bool,
           ) -> tuple[dict[tuple[str, ...], tuple[float, float]], dict[str, int]]:
    """{(period[, municipality]): (numerator, denominator)} and the exclusion counts."""
    cells = _cells(hosp, pop, period, as_of)
    res: dict[tuple[str, ...], list[float]] = defaultdict(lambda: [0.0, 0.0])
    excluded: dict[str, int] = defaultdict(int)

    def key(label: str, m: str) -> tuple[str, ...]:
        return (label,) if region else (label, m)

    if iid == H01:
        for (label, m), c in cells.items():
            if not c["valid"]:
                excluded["no-municipality"] += 1
                continue
            cell = res[key(label, m)]
            if not c["covered"]:
                excluded["no-hospital-data"] += 1
            elif c["population"] <= 0:
                excluded["no-population"] += 1
            else:
                cell[0] += c["admissions"]
                cell[1] += c["population"]
        return {k: (v[0], v[1]) for k, v in res.items()}, dict(excluded)
    for (label, m), c in cells.items():
        if c["valid"] and c["covered"]:
            res[key(label, m)][1] += c["admissions"]
    for s in stays:
        day = s["admitted_at"].astimezone(OSLO).date()
        label, m = _label(day, period), s["municipality"]
        c = cells.get((label, m))
        if s["age"] < 18:
            excluded["under-18"] += 1
        elif not _valid(m, day):
            excluded["no-municipality"] += 1
        elif s["care_track"] != "somatic":
            excluded["not-somatic"] += 1
        elif c is None or not (c["valid"] and c["covered"]):
            excluded["no-hospital-data"] += 1
            _ = res[key(label, m)]  # the cell gets a (no_data) row
        else:
            res[key(label, m)][0] += 1
            res[key(label, m)][1] += 1
    return {k: (v[0], v[1]) for k, v in res.items()}, dict(excluded)


# -- helpers --------------------------------------------------------------------------------

def _compute(stays: pa.Table, hosp: pa.Table | None, pop: pa.Table, *, by: tuple[str, ...] = ("municipality",),
             period: str = "quarter", as_of: dt.datetime = AS_OFS[-1], ids: list[str] | None = None,
             suppression: int = 1) -> pa.Table:
    return kad.compute(stays=stays, population=pop, hospital_admissions=hosp, indicators=ids or IDS, by=by,
                       period=period, as_of=as_of, suppression=suppression, since=SINCE)


def _result(res: pa.Table, iid: str) -> dict[tuple[str, ...], dict[str, Any]]:
    keys = [c for c in ("period", "municipality") if c in res.column_names]
    return {tuple(r[k] for k in keys): r for r in res.to_pylist() if r["indicator_id"] == iid}


def _split(stays: pa.Table, k: int) -> list[pa.Table]:
    """Patient partitions: every patient's stays stay together."""
    part = [hashlib.sha256(p.encode()).digest()[0] % k for p in stays["patient_id"].to_pylist()]
    return [stays.filter(pa.array([x == i for x in part], pa.bool_())) for i in range(k)]


def _zeros(names: tuple[str, ...]) -> dict[str, int]:
    return dict.fromkeys(names, 0)


H01_EXCLUSIONS = ("no-municipality", "no-hospital-data", "no-population")
H02_EXCLUSIONS = ("under-18", "no-municipality", "not-somatic", "no-hospital-data")
PERIODS = st.sampled_from(["year", "quarter", "month"])


# -- properties ------------------------------------------------------------------------------

@given(stays=stays_tables(), hosp=hospital_tables(), pop=populations(), period=PERIODS,
       as_of=st.sampled_from(AS_OFS), region=st.booleans())
def test_agrees_with_row_by_row_oracle(stays: pa.Table, hosp: pa.Table, pop: pa.Table, period: str,
                                       as_of: dt.datetime, region: bool) -> None:
    """Every cell (and no other), its numerator and denominator, the value and the exclusions match the oracle."""
    res = _compute(stays, hosp, pop, by=() if region else ("municipality",), period=period, as_of=as_of)
    meta = kad.result_metadata(res)["excluded_by_reason"]
    for iid, names, mult in ((H01, H01_EXCLUSIONS, 1000.0), (H02, H02_EXCLUSIONS, 1.0)):
        want, excluded = oracle(iid, stays.to_pylist(), hosp.to_pylist(), pop.to_pylist(), period=period,
                                as_of=as_of, region=region)
        got = _result(res, iid)
        assert set(got) == set(want), iid
        for k, (num, den) in want.items():
            row = got[k]
            assert (row["numerator"], row["denominator"]) == (num, den), (iid, k)
            if den > 0:
                assert row["value"] == pytest.approx(num / den * mult) and row["status"] == "ok"
            else:
                assert row["value"] is None and row["reason"] == "no_data"
        assert meta[iid] == {**_zeros(names), **excluded}, iid


@given(stays=stays_tables(), hosp=hospital_tables(), pop=populations(), period=PERIODS)
def test_bounds(stays: pa.Table, hosp: pa.Table, pop: pa.Table, period: str) -> None:
    """Counts are never negative, a share lies in [0, 1] with 0 <= numerator <= denominator, a rate is >= 0
    inside its interval, and a cell without denominator has no value."""
    res = _compute(stays, hosp, pop, period=period)
    for r in res.to_pylist():
        assert r["numerator"] >= 0 and r["denominator"] >= 0
        if r["denominator"] == 0:
            assert r["value"] is None and r["ci_lower"] is None and r["reason"] == "no_data"
            continue
        assert r["ci_lower"] <= r["value"] <= r["ci_upper"]
        if r["indicator_id"] == H02:
            assert r["numerator"] <= r["denominator"] and 0 <= r["value"] <= 1
        else:
            assert r["value"] >= 0


@settings(max_examples=30)  # two compute calls per example
@given(stays=stays_tables(), hosp=hospital_tables(), pop=populations(), period=PERIODS,
       seed=st.integers(0, 10**6))
def test_row_order_does_not_matter(stays: pa.Table, hosp: pa.Table, pop: pa.Table, period: str,
                                   seed: int) -> None:
    """Shuffling the stays, the hospital rows and the population rows gives the same result rows."""
    rng = random.Random(seed)

    def shuffled(t: pa.Table) -> pa.Table:
        idx = list(range(t.num_rows))
        rng.shuffle(idx)
        return t.take(pa.array(idx, pa.int64()))

    assert _compute(stays, hosp, pop, period=period).equals(
        _compute(shuffled(stays), shuffled(hosp), shuffled(pop), period=period))


@settings(max_examples=30)  # three compute calls per example
@given(stays=stays_tables(), hosp=hospital_tables(), pop=populations(), period=PERIODS)
def test_additive_over_patient_partitions(stays: pa.Table, hosp: pa.Table, pop: pa.Table, period: str) -> None:
    """Partial sums of patient partitions (hospital rows given to all, reference rows counted in one) add up
    cell by cell to those of all the stays."""
    kw: dict[str, Any] = {"population": pop, "hospital_admissions": hosp, "indicators": IDS,
                          "by": ("municipality",), "period": period, "as_of": AS_OFS[-1], "since": SINCE}
    whole = kad.compute_partials(stays=stays, **kw)
    sums: dict[tuple[Any, ...], list[float]] = defaultdict(lambda: [0.0, 0.0])
    for i, part in enumerate(_split(stays, 2)):
        for r in kad.compute_partials(stays=part, reference_denominators=i == 0, **kw).to_pylist():
            cell = sums[(r["indicator_id"], r["period"], r["municipality"])]
            cell[0] += r["numerator"]
            cell[1] += r["denominator"]
    want = {(r["indicator_id"], r["period"], r["municipality"]): [r["numerator"], r["denominator"]]
            for r in whole.to_pylist()}
    assert dict(sums) == want


@settings(max_examples=30)  # four compute calls per example
@given(stays=stays_tables(), hosp=hospital_tables(), pop=populations(), period=PERIODS, region=st.booleans())
def test_merged_partials_equal_one_run(stays: pa.Table, hosp: pa.Table, pop: pa.Table, period: str,
                                       region: bool) -> None:
    """compute_partials on three patient partitions, then merge, gives exactly compute's rows and exclusions."""
    by = () if region else ("municipality",)
    kw: dict[str, Any] = {"population": pop, "hospital_admissions": hosp, "indicators": IDS, "by": by,
                          "period": period, "as_of": AS_OFS[-1], "since": SINCE}
    partials = [kad.compute_partials(stays=part, reference_denominators=i == 0, **kw)
                for i, part in enumerate(_split(stays, 3))]
    merged = kad.merge(partials, suppression=1)
    whole = _compute(stays, hosp, pop, by=by, period=period)
    assert merged.equals(whole)
    got, want = kad.result_metadata(merged), kad.result_metadata(whole)
    for key in ("excluded_by_reason", "stays_counted"):
        assert {i: got[key][i] for i in IDS} == {i: want[key][i] for i in IDS}, key


# -- edge cases ------------------------------------------------------------------------------

def _stay(sid: str, mun: str | None, when: dt.datetime, *, age: int = 80, track: str = "somatic",
          to: str = "home") -> dict[str, Any]:
    return {"stay_id": sid, "patient_id": f"P{sid}", "unit_id": st_kad.DEFAULT_UNIT, "municipality": mun,
            "admitted_at": when, "discharged_at": when + dt.timedelta(days=2), "age": age, "sex": "2",
            "care_track": track, "discharged_to": to}


def _stays(*rows: dict[str, Any]) -> pa.Table:
    return pa.Table.from_pylist(list(rows), schema=arrow_schema("stays"))


def _hosp(*rows: tuple[str, int, int | None, int]) -> pa.Table:
    return pa.Table.from_pylist([{"municipality": m, "year": y, "month": mo, "admissions": a}
                                 for m, y, mo, a in rows], schema=arrow_schema("hospital_admissions"))


T0 = dt.datetime(2024, 3, 5, 10, tzinfo=OSLO)
POP = st_kad.default_population()  # 3301, 3312, 3314: 13,000 adults each in 2024 and 2025


@pytest.mark.parametrize("rows", [
    [("3301", 2024, None, 900), ("3301", 2024, None, 900)],                       # two whole-year rows
    [("3301", 2024, None, 900), *[("3301", 2024, m, 70) for m in range(1, 13)]],  # whole year and months
    [*[("3301", 2024, m, 70) for m in range(1, 13)], ("3301", 2024, 5, 70)],      # one month twice
])
def test_ambiguous_figures_cover_nothing(rows: list[tuple[str, int, int | None, int]]) -> None:
    """Ambiguous figures in a table used without validation are left out as validation leaves them out:
    the year is not covered (no_data, counted), never a sum of both readings."""
    stays = _stays(_stay("1", "3301", T0))
    res = _compute(stays, _hosp(*rows, ("3312", 2024, None, 500)), POP, period="year",
                   as_of=dt.datetime(2025, 1, 1, tzinfo=OSLO))
    h01, h02 = _result(res, H01), _result(res, H02)
    assert (h01[("2024", "3301")]["denominator"], h01[("2024", "3301")]["reason"]) == (0, "no_data")
    assert h01[("2024", "3312")]["numerator"] == 500
    assert (h02[("2024", "3301")]["denominator"], h02[("2024", "3301")]["reason"]) == (0, "no_data")
    meta = kad.result_metadata(res)["excluded_by_reason"]
    assert meta[H01]["no-hospital-data"] == 2  # 3301 and 3314 (population, no figures)
    assert meta[H02]["no-hospital-data"] == 1
    # as text, the same rows go through validation, which rejects them (or, for two whole-year rows,
    # keeps both, which stays ambiguous): the same result
    cols = ("municipality", "year", "month", "admissions")
    text = pa.Table.from_pylist([{c: None if v is None else str(v) for c, v in zip(cols, r, strict=True)}
                                 for r in [*rows, ("3312", 2024, None, 500)]],
                                schema=pa.schema([(c, pa.string()) for c in cols]))
    assert _compute(stays, text, POP, period="year", as_of=dt.datetime(2025, 1, 1, tzinfo=OSLO)).equals(res)


def test_without_hospital_table() -> None:
    """Without hospital figures KAD-H01 has no rows, and every eligible stay of KAD-H02 is excluded."""
    stays = _stays(_stay("1", "3301", T0), _stay("2", "3312", T0), _stay("3", "3301", T0, age=12))
    res = _compute(stays, None, POP, period="year")
    assert _result(res, H01) == {}
    h02 = _result(res, H02)
    assert {k: (r["denominator"], r["reason"]) for k, r in h02.items()} == {
        ("2024", "3301"): (0, "no_data"), ("2024", "3312"): (0, "no_data")}
    meta = kad.result_metadata(res)["excluded_by_reason"]
    assert meta[H01] == _zeros(H01_EXCLUSIONS)
    assert meta[H02] == {**_zeros(H02_EXCLUSIONS), "under-18": 1, "no-hospital-data": 2}


def test_suppressed_share_hides_its_denominator() -> None:
    """A suppressed KAD-H02 numerator takes the denominator with it: denominator minus the published
    hospital admissions would give the KAD stays away. KAD-H01 shows its population."""
    stays = _stays(*[_stay(str(i), "3301", T0 + dt.timedelta(days=i)) for i in range(3)])
    res = _compute(stays, _hosp(("3301", 2024, None, 997)), POP, period="year", suppression=5,
                   as_of=dt.datetime(2025, 1, 1, tzinfo=OSLO))
    row = _result(res, H02)[("2024", "3301")]
    assert (row["suppressed"], row["reason"], row["numerator"], row["denominator"], row["value"]) == \
        (True, "low_n", None, None, None)
    assert _result(res, H01)[("2024", "3301")]["denominator"] == 13000


def test_region_is_the_sum_of_its_covered_municipalities() -> None:
    """The region's rate uses the population of the municipalities with figures only (not all of them)."""
    hosp = _hosp(*[("3301", 2024, m, 10) for m in range(1, 13)], ("3312", 2024, None, 260))
    stays = _stays(_stay("1", "3301", T0))
    res = _compute(stays, hosp, POP, by=(), period="year", as_of=dt.datetime(2025, 1, 1, tzinfo=OSLO))
    row = _result(res, H01)[("2024",)]
    assert (row["numerator"], row["denominator"], row["value"]) == (380, 26000, pytest.approx(380 / 26))
    assert _result(res, H02)[("2024",)]["denominator"] == 381


def test_explain_lists_the_stays_of_a_share() -> None:
    """explain names the stays behind a KAD-H02 cell (the hospital part has none) and none for KAD-H01."""
    stays = _stays(_stay("1", "3301", T0), _stay("2", "3301", T0, track="mental_health_substance"),
                   _stay("3", "3312", T0))
    hosp = _hosp(("3301", 2024, None, 100))
    kw: dict[str, Any] = {"stays": stays, "population": POP, "hospital_admissions": hosp, "by": ("municipality",),
                          "as_of": dt.date(2025, 1, 1)}
    rows = kad.explain(H02, cell={"period": "2024", "municipality": "3301"}, **kw)
    assert sorted(zip(rows["stay_id"].to_pylist(), rows["criterion"].to_pylist(), strict=True)) == [
        ("1", "numerator"), ("2", "not-somatic")]
    lier = kad.explain(H02, cell={"municipality": "3312"}, **kw)
    assert lier["criterion"].to_pylist() == ["no-hospital-data"]
    assert kad.explain(H01, **kw).num_rows == 0


def test_month_rows_validated_from_text() -> None:
    """Figures as a CSV export gives them (text, Norwegian headers) are validated and give the typed result."""
    typed = _hosp(*[("3301", 2024, m, 10 + m) for m in range(1, 13)])
    text = pa.table({"kommune": ["3301"] * 12, "år": ["2024"] * 12, "måned": [str(m) for m in range(1, 13)],
                     "innleggelser": [str(10 + m) for m in range(1, 13)]})
    stays = _stays(_stay("1", "3301", T0))
    a = _compute(stays, typed, POP, period="quarter", as_of=dt.datetime(2025, 1, 1, tzinfo=OSLO))
    b = _compute(stays, text, POP, period="quarter", as_of=dt.datetime(2025, 1, 1, tzinfo=OSLO))
    assert a.equals(b)
    assert [r["numerator"] for r in _result(a, H01).values() if r["municipality"] == "3301"] == [
        11 + 12 + 13, 14 + 15 + 16, 17 + 18 + 19, 20 + 21 + 22]
    assert pc.sum(a["numerator"]).as_py() > 0
