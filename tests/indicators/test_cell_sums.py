"""The engine's fast path (sums by the stays' cell ids) gives exactly what grouping the rows gives.

``StayContext.per_stay`` numbers each stay's cell (admission period x by x strata) once
per call, and ``partial`` sums the rows it made with ``np.bincount``/``np.add.at``
instead of a string ``group_by``. Rows built any other way, or changed after
``per_stay``, take the general path. Each test runs both ways and compares.
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pytest

import kadindicators as kad
from kadindicators.indicators import REGISTRY, get_indicator
from kadindicators.indicators._context import (
    Contributions,
    StayContext,
    fast_rows,
    label_periods,
    period_codes,
)
from kadindicators.indicators._engine import partial

REGION = kad.synth.generate(years=(2024, 2025), seed=4, scale=0.15)
AS_OF = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)


def _stays(kind: str) -> pa.Table:
    stays = REGION.stays
    if kind == "shuffled":
        return stays.take(pa.array(np.random.default_rng(2).permutation(stays.num_rows)))
    if kind == "nulls":  # null group values are cells too
        mun = stays["municipality"].to_numpy(zero_copy_only=False).copy()
        mun[::7] = None
        i = stays.schema.get_field_index("municipality")
        return stays.set_column(i, stays.schema.field(i), pa.array(mun, pa.string()))
    return stays


def _ctx(stays: pa.Table, by: tuple[str, ...], strata: tuple[str, ...], period: str) -> StayContext:
    return StayContext(stays=stays, units=REGION.units, population=REGION.population, as_of=AS_OF,
                       period=period, by=by, strata=strata)


def _general(contrib: Contributions) -> Contributions:
    """The same contributions with a copy of the rows table (so the fast path does not know it)."""
    rows = contrib.rows
    return Contributions(rows=pa.table(rows.columns, names=rows.column_names), excluded=contrib.excluded,
                         numerator_scale=contrib.numerator_scale, sumsq_scale=contrib.sumsq_scale)


@pytest.mark.parametrize("kind", ["plain", "shuffled", "nulls"])
@pytest.mark.parametrize(("by", "strata", "period"), [
    (("unit_id",), (), "year"),
    (("municipality",), ("age_band", "sex"), "quarter"),
    ((), ("care_track", "admitted_from"), "month"),
    (("host_municipality",), (), "year"),
])
def test_fast_path_equals_group_by(kind: str, by: tuple[str, ...], strata: tuple[str, ...], period: str) -> None:
    ctx = _ctx(_stays(kind), by, strata, period)
    used = 0
    for iid in ("KAD-Q01", "KAD-Q05", "KAD-U04", "KAD-U04M", "KAD-U05", "KAD-U01", "KAD-P02"):
        spec = get_indicator(iid)
        if any(s not in spec.stratifications for s in strata) or any(
                b not in {*spec.groupings, "region"} for b in by):
            continue
        contrib = REGISTRY[iid][1](ctx)
        used += fast_rows(contrib.rows) is not None
        fast = partial(spec, contrib, ctx.dims)
        general = partial(spec, _general(contrib), ctx.dims)
        assert fast_rows(_general(contrib).rows) is None
        assert fast.equals(general), iid
    assert used  # the fast path was taken


def test_keep_and_values() -> None:
    """Rows limited by ``keep``, with float numerators and median items (nulls outside the denominator)."""
    ctx = _ctx(REGION.stays, ("unit_id",), ("sex",), "quarter")
    rng = np.random.default_rng(5)
    den = rng.random(ctx.n) < 0.8
    value = np.round(rng.exponential(3.0, ctx.n), 3)
    contrib = ctx.per_stay(denominator=den, numerator=np.where(den, value, 0.0), value=value,
                           sumsq=(value * 1000).astype(np.int64) ** 2, keep=rng.random(ctx.n) < 0.6)
    assert fast_rows(contrib.rows) is not None
    spec = get_indicator("KAD-U04M")
    assert partial(spec, contrib, ctx.dims).equals(partial(spec, _general(contrib), ctx.dims))


def test_changed_rows_take_the_general_path() -> None:
    """An indicator that adds to the rows of per_stay makes a new table: the general path sums it."""
    ctx = _ctx(REGION.stays, ("municipality",), (), "year")
    contrib = REGISTRY["KAD-U01"][1](ctx)  # per_stay rows plus population rows
    assert fast_rows(contrib.rows) is None
    rows = ctx.per_stay(denominator=np.ones(ctx.n, bool), numerator=np.zeros(ctx.n, bool)).rows
    assert fast_rows(rows) is not None
    assert fast_rows(rows.slice(0)) is None
    assert fast_rows(rows.filter(pc.is_valid(rows["row"]))) is None


def test_period_codes_match_labels() -> None:
    days = pa.array(np.r_[np.arange(-800, 800, 13), [19000, 20000]].astype(np.int32), pa.int32())
    dates = pa.concat_arrays([pc.cast(days, pa.date32()), pa.nulls(3, pa.date32())])
    for period in ("year", "quarter", "month"):
        code, labels = period_codes(dates, period)
        got = pc.take(labels, pa.array(np.maximum(code, 0), mask=code < 0))
        assert got.equals(label_periods(dates, period))
        assert labels.to_pylist() == sorted(labels.to_pylist())
