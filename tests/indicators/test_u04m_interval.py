"""KAD-U04M's order-statistic confidence interval (statistics.interval: order_statistic).

The engine computes the interval whenever the spec's policy asks for it. Until the spec's
1.1.0 (which names the interval) is in place, these tests give the loaded spec that policy;
once it is, the patch below changes nothing.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import math
from collections import defaultdict
from collections.abc import Iterator
from typing import Any
from zoneinfo import ZoneInfo

import attrs
import pyarrow as pa
import pyarrow.compute as pc
import pytest
from hypothesis import given

import kadindicators as kad
from kadindicators.spec.indicators import load_indicators
from kadindicators.testing import strategies as st_kad

OSLO = ZoneInfo("Europe/Oslo")
AS_OF = dt.datetime(2026, 1, 1, tzinfo=OSLO)
IID = "KAD-U04M"


@pytest.fixture(autouse=True)
def order_statistic_policy(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    specs = load_indicators()
    spec = specs[IID]
    evolved = attrs.evolve(spec, statistics=attrs.evolve(spec.statistics, interval="order_statistic"))
    monkeypatch.setitem(specs, IID, evolved)  # type: ignore[index]
    yield


def _ranks(n: int) -> tuple[int, int] | None:
    """Exact 95 % ranks, from the spec's prose: largest l with P(B <= l-1) <= 0.025."""
    best, tail = 0, 0
    for k in range(n):
        tail += math.comb(n, k)
        if 40 * tail <= 2**n:
            best = k + 1
        else:
            break
    return (best, n + 1 - best) if best else None


def _label(d: dt.date) -> str:
    return f"{d.year}-Q{(d.month - 1) // 3 + 1}"


def _oracle(stays: list[dict[str, Any]]) -> dict[tuple[str, str], tuple[float | None, float | None, float | None]]:
    los: dict[tuple[str, str], list[float]] = defaultdict(list)
    for s in stays:
        key = (_label(s["admitted_at"].astimezone(OSLO).date()), s["unit_id"])
        los.setdefault(key, [])
        if s["discharged_at"] is not None and s["discharged_at"] <= AS_OF:
            los[key].append((s["discharged_at"] - s["admitted_at"]).total_seconds() / 86400)
    out: dict[tuple[str, str], tuple[float | None, float | None, float | None]] = {}
    for key, xs in los.items():
        xs.sort()
        if not xs:
            out[key] = (None, None, None)
            continue
        median = (xs[(len(xs) - 1) // 2] + xs[len(xs) // 2]) / 2
        r = _ranks(len(xs))
        out[key] = (median, xs[r[0] - 1], xs[r[1] - 1]) if r else (median, None, None)
    return out


TABLES = st_kad.stays(max_rows=40, patients=12, start=dt.date(2024, 1, 1), end=dt.date(2024, 12, 31))


@given(stays=TABLES)
def test_agrees_with_sorting_each_cell(stays: pa.Table) -> None:
    """Median and limits equal the order statistics of each cell, sorted in plain Python."""
    res = kad.compute(stays=stays, units=st_kad.default_units(), indicators=[IID], by=("unit_id",),
                      period="quarter", as_of=AS_OF, suppression=1)
    got = {(r["period"], r["unit_id"]): r for r in res.to_pylist()}
    want = _oracle(stays.to_pylist())
    assert set(got) == set(want)
    for key, (median, lo, hi) in want.items():
        row = got[key]
        for col, x in (("value", median), ("ci_lower", lo), ("ci_upper", hi)):
            assert (row[col] is None) == (x is None), (col, row)
            if x is not None:
                assert row[col] == pytest.approx(x, rel=1e-12, abs=1e-12)


def test_interval_merges_exactly_and_follows_the_confidence_level() -> None:
    region = kad.synth.generate(years=(2024,), seed=5, scale=0.1)
    part = [hashlib.sha256(p.encode()).digest()[0] % 2 for p in region.stays["patient_id"].to_pylist()]
    mask = pa.array([x == 0 for x in part])
    kw: dict[str, Any] = {"units": region.units, "indicators": [IID], "as_of": dt.date(2025, 1, 1),
                          "since": dt.date(2024, 1, 1)}
    a = kad.compute_partials(stays=region.stays.filter(mask), **kw)
    b = kad.compute_partials(stays=region.stays.filter(pc.invert(mask)), reference_denominators=False, **kw)
    whole = kad.compute(stays=region.stays, **kw)
    assert kad.merge([a, b]).equals(whole)
    assert whole["ci_lower"].null_count < whole.num_rows
    wide = kad.compute(stays=region.stays, confidence=0.99, **kw)
    for r95, r99 in zip(whole.to_pylist(), wide.to_pylist(), strict=True):
        if r99["ci_lower"] is not None:
            assert r99["ci_lower"] <= r95["ci_lower"] <= r95["value"] <= r95["ci_upper"] <= r99["ci_upper"]
