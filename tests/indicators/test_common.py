"""Properties every registered indicator must have, parametrised over the registry."""

from __future__ import annotations

import datetime as dt
import hashlib
import random
from collections import Counter
from zoneinfo import ZoneInfo

import pyarrow as pa
import pyarrow.compute as pc
import pytest
from hypothesis import given
from hypothesis import strategies as st

import kadindicators as kad
from kadindicators.indicators import REGISTRY
from kadindicators.spec.indicators import load_indicators
from kadindicators.testing import strategies as st_kad

from .oracle import ORACLE_IDS, oracle

AS_OF = dt.datetime(2026, 1, 1, tzinfo=ZoneInfo("Europe/Oslo"))
# Indicators that need a table these tests do not generate (experience, hospital_admissions)
# would pass them vacuously with no rows: their own files (test_experience.py,
# test_hospital.py) test the same properties with generated tables of their kind.
IDS = sorted(i for i in REGISTRY
             if set(load_indicators()[i].raw["data_requirements"]["tables"]) <= {"stays", "units", "population"})
UNITS = st_kad.default_units()
POP = st_kad.default_population()
TABLES = st_kad.stays(max_rows=25, patients=8, start=dt.date(2024, 1, 1), end=dt.date(2025, 12, 31))


def _run(stays: pa.Table, iid: str, **kw: object) -> pa.Table:
    spec = load_indicators()[iid]
    by = ("municipality",) if "unit_id" not in spec.groupings else ("unit_id",)
    params = {"by": by, "period": "quarter", "as_of": AS_OF, "suppression": 1, **kw}
    return kad.compute(stays=stays, units=UNITS, population=POP, indicators=[iid], **params)  # type: ignore[arg-type]


def _cells(t: pa.Table) -> dict[tuple[object, ...], tuple[float, float]]:
    keys = [c for c in t.column_names if c in ("period", "unit_id", "municipality")]
    return {tuple(r[k] for k in keys): (r["numerator"], r["denominator"]) for r in t.to_pylist()}


def test_bad_dimensions_are_refused() -> None:
    """A string, an unknown or a repeated name in by/strata is a ValueError, not an empty result."""
    stays = st_kad.default_units()  # any table: the check comes first
    for kw in ({"by": "unit_id"}, {"by": ("ward",)}, {"strata": ("sex", "sex")}, {"by": ("sex",)}):
        with pytest.raises(ValueError):
            kad.compute(stays=stays, **kw)  # type: ignore[arg-type]


def test_registry_matches_specs() -> None:
    """Every adopted spec has an implementation of the same version; every implementation has an
    adopted or proposed spec (under review, computed only when asked for) of its version."""
    specs = load_indicators()
    adopted = {i: s.version for i, s in specs.items() if s.status == "adopted"}
    assert {i: REGISTRY[i][0] for i in adopted if i in REGISTRY} == adopted
    for iid, (version, _) in REGISTRY.items():
        assert iid in specs and specs[iid].status in ("adopted", "proposed"), iid
        assert specs[iid].version == version, iid


def test_default_catalogue_is_the_adopted_indicators() -> None:
    """compute() without indicators= runs adopted indicators only, never proposed ones."""
    res = kad.compute(stays=_empty_stays(), units=UNITS, population=POP, by=("municipality",), as_of=AS_OF,
                      suppression=1)
    ran = set(kad.result_metadata(res)["indicator_versions"])
    proposed = {i for i, s in load_indicators().items() if s.status == "proposed"}
    assert ran and not ran & proposed


def _empty_stays() -> pa.Table:
    from kadindicators.schema import arrow_schema

    return arrow_schema("stays").empty_table()


@pytest.mark.parametrize("iid", IDS)
@given(stays=TABLES)
def test_bounds(iid: str, stays: pa.Table) -> None:
    """0 <= numerator, 0 <= denominator, and numerator <= denominator for proportions."""
    res = _run(stays, iid)
    num = [x for x in res["numerator"].to_pylist() if x is not None]
    den = [x for x in res["denominator"].to_pylist() if x is not None]
    assert all(x >= 0 for x in num + den)
    if load_indicators()[iid].unit == "proportion":
        pairs = zip(res["numerator"].to_pylist(), res["denominator"].to_pylist(), strict=True)
        assert all(n <= d for n, d in pairs if n is not None and d is not None)
        vals = [v for v in res["value"].to_pylist() if v is not None]
        assert all(0 <= v <= 1 for v in vals)
    nodata = res.filter(pc.equal(res["denominator"], 0))
    assert nodata["value"].null_count == nodata.num_rows
    assert set(nodata["reason"].to_pylist()) <= {"no_data"}


@pytest.mark.parametrize("iid", IDS)
@given(stays=TABLES, seed=st.integers(0, 10**6))
def test_row_order_does_not_matter(iid: str, stays: pa.Table, seed: int) -> None:
    """Shuffling the stays gives the same result rows."""
    idx = list(range(stays.num_rows))
    random.Random(seed).shuffle(idx)
    assert _run(stays, iid).equals(_run(stays.take(pa.array(idx, pa.int64())), iid))


@pytest.mark.parametrize("iid", IDS)
@given(stays=TABLES)
def test_additive_over_patient_partitions(iid: str, stays: pa.Table) -> None:
    """Numerators (and stay-based denominators) of patient partitions add up to the whole."""
    whole = _cells(_run(stays, iid))
    part = [hashlib.sha256(p.encode()).digest()[0] % 2 for p in stays["patient_id"].to_pylist()]
    mask = pa.array([x == 0 for x in part], pa.bool_())
    halves = [_cells(_run(stays.filter(mask), iid)), _cells(_run(stays.filter(pc.invert(mask)), iid))]
    stay_based = load_indicators()[iid].raw["data_requirements"]["tables"] == ["stays"]
    median = load_indicators()[iid].unit == "median"  # a median shows no numerator
    for key, (num, den) in whole.items():
        got = [h[key] for h in halves if key in h]
        if not median:
            assert sum(n for n, _ in got) == pytest.approx(num)
        if stay_based:
            assert sum(d for _, d in got) == pytest.approx(den)


@pytest.mark.parametrize("iid", [i for i in ORACLE_IDS if i in REGISTRY])
@given(stays=TABLES)
def test_agrees_with_row_by_row_oracle(iid: str, stays: pa.Table) -> None:
    """The vectorised result equals a plain row-by-row implementation written from the prose."""
    want = oracle(iid, stays.to_pylist(), as_of=AS_OF, period="quarter")
    got = _cells(_run(stays, iid))
    assert set(got) == set(want)
    median = load_indicators()[iid].unit == "median"
    for key, (num, den) in want.items():
        if not median:
            assert got[key][0] == pytest.approx(num)
        assert got[key][1] == pytest.approx(den)


@given(stays=TABLES, pick=st.integers(0, 10**6))
def test_adding_a_transfer_never_lowers_the_transfer_share(stays: pa.Table, pick: int) -> None:
    """KAD-Q01 is monotone: turning one completed stay into a hospital transfer cannot lower its cell."""
    done = [i for i, r in enumerate(stays.to_pylist())
            if r["discharged_at"] is not None and r["discharged_to"] not in ("hospital", "died")]
    if not done:
        return
    i = done[pick % len(done)]
    dest = stays["discharged_to"].to_pylist()
    dest[i] = "hospital"
    changed = stays.set_column(stays.schema.get_field_index("discharged_to"), "discharged_to",
                               pa.array(dest, pa.string()))
    before, after = _run(stays, "KAD-Q01"), _run(changed, "KAD-Q01")
    for (k, (n0, d0)), (_, (n1, d1)) in zip(sorted(_cells(before).items()), sorted(_cells(after).items()),
                                            strict=True):
        assert d0 == d1 and n1 >= n0


@pytest.mark.parametrize("iid", [i for i in IDS if load_indicators()[i].raw["data_requirements"]["tables"] == ["stays"]])
@given(stays=TABLES)
def test_explain_accounts_for_the_cell(iid: str, stays: pa.Table) -> None:
    """explain lists exactly the stays counted in each cell's numerator and denominator."""
    res = _run(stays, iid)
    for row in res.to_pylist():
        cell = {"period": row["period"], "unit_id": row["unit_id"]}
        listed = kad.explain(iid, stays=stays, units=UNITS, population=POP, cell=cell, period="quarter",
                             as_of=AS_OF)
        roles = listed["role"].to_pylist()
        if iid == "KAD-D02":  # a row per stay × field in scope: each stay adds its share of recorded fields
            ids = listed["stay_id"].to_pylist()
            fields, hits = Counter(ids), Counter(s for s, r in zip(ids, roles, strict=True) if r == "numerator")
            assert len(fields) == row["denominator"]
            assert sum(hits[s] / n for s, n in fields.items()) == pytest.approx(row["numerator"])
        elif load_indicators()[iid].unit == "proportion":
            assert roles.count("numerator") == row["numerator"]
            assert roles.count("numerator") + roles.count("denominator") == row["denominator"]


@pytest.mark.parametrize("iid", IDS)
@given(stays=TABLES)
def test_merged_partials_equal_one_run(iid: str, stays: pa.Table) -> None:
    """compute_partials on patient partitions, then merge, gives exactly the result of compute."""
    spec = load_indicators()[iid]
    by = ("municipality",) if "unit_id" not in spec.groupings else ("unit_id",)
    part = [hashlib.sha256(p.encode()).digest()[0] % 3 for p in stays["patient_id"].to_pylist()]
    partials = []
    for k in range(3):
        sub = stays.filter(pa.array([x == k for x in part], pa.bool_()))
        partials.append(kad.compute_partials(stays=sub, units=UNITS, population=POP, indicators=[iid], by=by,
                                             period="quarter", as_of=AS_OF, since=dt.date(2024, 1, 1),
                                             reference_denominators=k == 0))
    merged = kad.merge(partials, suppression=1)
    whole = _run(stays, iid, since=dt.date(2024, 1, 1))
    cols = [c for c in whole.column_names if c not in ("period_start", "period_end")]
    got = {tuple(r[c] for c in ("period", *by)): r for r in merged.select(cols).to_pylist()}
    want = {tuple(r[c] for c in ("period", *by)): r for r in whole.select(cols).to_pylist()}
    assert set(got) == set(want)
    for key, row in got.items():
        assert row == want[key]
