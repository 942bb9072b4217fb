"""median_ci finds its order statistics by partitioning each group, or by one sort when groups are many.

Both give what sorting every group by value gives (the reference here is a lexsort).
"""

from __future__ import annotations

import numpy as np
import pytest

from kadindicators.stats import intervals


def _reference(values: np.ndarray, groups: np.ndarray, n_groups: int) -> tuple[np.ndarray, ...]:
    median, lower, upper = (np.full(n_groups, np.nan) for _ in range(3))
    order = np.lexsort((values, groups))
    gs, vs = groups[order], values[order]
    starts = np.flatnonzero(np.r_[True, gs[1:] != gs[:-1]])
    counts = np.diff(np.r_[starts, gs.size])
    group = gs[starts]
    median[group] = (vs[starts + (counts - 1) // 2] + vs[starts + counts // 2]) / 2
    lo, hi = intervals.median_ranks(counts)
    has = ~np.isnan(lo)
    lower[group[has]] = vs[starts[has] + lo[has].astype(int) - 1]
    upper[group[has]] = vs[starts[has] + hi[has].astype(int) - 1]
    return median, lower, upper


@pytest.mark.parametrize(("n", "n_groups"), [(60_000, 1), (60_000, 7), (60_000, 40_000), (3_000, 2_500),
                                             (5, 3)])
def test_order_statistics_match_a_full_sort(n: int, n_groups: int) -> None:
    rng = np.random.default_rng(n_groups)
    groups = rng.integers(0, n_groups, n)
    values = np.round(rng.exponential(2.0, n), 1)  # many ties
    values[rng.random(n) < 0.01] = np.nan  # ignored
    got = intervals.median_ci(values, groups=groups, n_groups=n_groups + 3)  # 3 groups without values
    present = ~np.isnan(values)
    want = _reference(values[present], groups[present], n_groups + 3)
    for a, b in zip(got, want, strict=True):
        assert np.array_equal(a, b, equal_nan=True)


def test_group_then_value_order_is_a_lexsort() -> None:
    rng = np.random.default_rng(3)
    for n_groups in (5, 40_000):
        groups = rng.integers(0, n_groups, 50_000)
        values = np.round(rng.exponential(2.0, 50_000), 1)
        order = intervals._by_group_then_value(groups.astype(np.intp), values, n_groups)
        ref = np.lexsort((values, groups))
        assert np.array_equal(groups[order], groups[ref])
        assert np.array_equal(values[order], values[ref])
