"""Order-statistic (distribution-free) confidence intervals for medians."""

from __future__ import annotations

import math
from fractions import Fraction

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from kadindicators.stats import median_ci, median_ranks

# Exact 95 % ranks (l, u) and their coverage 1 - 2 P(B <= l - 1), B ~ Bin(n, 1/2), as tabulated
# for the distribution-free median interval (e.g. Campbell & Gardner, BMJ 1988;296:1454, and the
# standard tables of nonparametric texts: n = 6 -> x(1)..x(6) at 96.9 %, n = 9 -> x(2)..x(8) at
# 96.1 %, n = 12 -> x(3)..x(10) at 96.1 %, n = 17 -> x(5)..x(13) at 95.1 %, n = 20 -> x(6)..x(15)
# at 95.9 %).
TABLE = [(6, 1, 6, 0.969), (7, 1, 7, 0.984), (8, 1, 8, 0.992), (9, 2, 8, 0.961), (10, 2, 9, 0.979),
         (11, 2, 10, 0.988), (12, 3, 10, 0.961), (13, 3, 11, 0.978), (14, 3, 12, 0.987),
         (15, 4, 12, 0.965), (16, 4, 13, 0.979), (17, 5, 13, 0.951), (18, 5, 14, 0.969),
         (19, 5, 15, 0.981), (20, 6, 15, 0.959)]


def _coverage(n: int, lower: int) -> float:
    return 1 - 2 * sum(math.comb(n, k) for k in range(lower)) / 2**n


@pytest.mark.parametrize(("n", "lower", "upper", "level"), TABLE)
def test_ranks_match_the_published_table(n: int, lower: int, upper: int, level: float) -> None:
    lo, hi = median_ranks([n])
    assert (lo[0], hi[0]) == (lower, upper)
    assert round(_coverage(n, lower), 3) == level


def test_no_interval_for_five_or_fewer_at_95() -> None:
    lo, hi = median_ranks([0, 1, 2, 3, 4, 5])
    assert np.isnan(lo).all() and np.isnan(hi).all()
    # at 90 % five observations are enough: P(B <= 0) = 1/32 <= 0.05
    assert tuple(x[0] for x in median_ranks([5], confidence=0.9)) == (1.0, 5.0)


@given(n=st.integers(1, 3000), confidence=st.sampled_from([0.5, 0.8, 0.9, 0.95, 0.99, 0.998]))
def test_ranks_are_the_exact_binomial_ranks(n: int, confidence: float) -> None:
    """l is the largest rank with P(B <= l-1) <= alpha/2 (exact integer arithmetic)."""
    lo, hi = median_ranks([n], confidence)
    half = Fraction(str(round((1 - confidence) / 2, 12)))  # e.g. exactly 1/40 at 95 %
    tail = 0
    best = 0
    for k in range(n):  # P(B <= k) = tail / 2**n, compared exactly
        tail += math.comb(n, k)
        if tail * half.denominator <= half.numerator * 2**n:
            best = k + 1
        else:
            break
    if best == 0:
        assert np.isnan(lo[0]) and np.isnan(hi[0])
    else:
        assert (lo[0], hi[0]) == (best, n + 1 - best)


def test_large_n_is_near_the_normal_approximation() -> None:
    n = 10_000
    lo, _ = median_ranks([n])
    assert abs(lo[0] - (n / 2 - 1.959964 * math.sqrt(n) / 2)) <= 2


def test_median_ci_worked_example() -> None:
    # ten lengths of stay: median 2.75, ranks 2 and 9
    los = [7.0, 0.5, 12.5, 1.2, 3.1, 1.9, 2.0, 2.4, 3.3, 4.8]
    median, lower, upper = median_ci(los, groups=[0] * 10)
    assert (median[0], lower[0], upper[0]) == (2.75, 1.2, 7.0)


@given(st.lists(st.tuples(st.integers(0, 3), st.floats(0, 50, allow_nan=False)), max_size=60))
def test_median_ci_per_group_equals_sorting_each_group(rows: list[tuple[int, float]]) -> None:
    groups = np.array([g for g, _ in rows], dtype=np.int64)
    values = np.array([v for _, v in rows])
    median, lower, upper = median_ci(values, groups=groups, n_groups=4)
    for g in range(4):
        x = np.sort(values[groups == g])
        if x.size == 0:
            assert np.isnan(median[g]) and np.isnan(lower[g])
            continue
        assert median[g] == np.median(x)
        lo, hi = median_ranks([x.size])
        if np.isnan(lo[0]):
            assert np.isnan(lower[g]) and np.isnan(upper[g])
        else:
            assert (lower[g], upper[g]) == (x[int(lo[0]) - 1], x[int(hi[0]) - 1])
            assert lower[g] <= median[g] <= upper[g]


def test_median_ci_ignores_nan_and_checks_groups() -> None:
    median, lower, _ = median_ci([1.0, np.nan, 3.0], groups=[0, 0, 0])
    assert median[0] == 2.0 and np.isnan(lower[0])
    with pytest.raises(ValueError):
        median_ci([1.0], groups=[-1])
    with pytest.raises(ValueError):
        median_ci([1.0, 2.0], groups=[0])
    with pytest.raises(ValueError):
        median_ranks([10], confidence=1.0)
