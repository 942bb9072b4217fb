"""Disclosure control: no suppressed count can be recovered from totals, margins or strata.

The attackers here are written independently of ``kadindicators.disclosure``: a
dense linear-programming interval attack (``linprog`` min and max per cell), an
integer attack (``milp``) and an exhaustive integer search on tiny tables.
"""

from __future__ import annotations

import itertools
import json
from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.optimize import Bounds, LinearConstraint, linprog, milp

import kadindicators as kad
from kadindicators.disclosure import (
    DisclosureError,
    Protection,
    intervals,
    margin,
    protect,
    protect_results,
    recoverable,
)
from kadindicators.indicators._engine import result_schema

# ----------------------------------------------------------------------------- independent attackers


def mark_bounds(counts: Sequence[float], suppressed: np.ndarray, hidden: np.ndarray | None = None,
                primary: np.ndarray | None = None, threshold: int = 5) -> tuple[np.ndarray, np.ndarray]:
    """What the published marks tell an attacker about each unknown cell.

    "<t" (a primary cell with a count from 1 to t-1): [1, t-1]. "x" (any other
    suppressed cell) is not a small count: [t, inf) when it is at least t, else
    (a zero complement) [0, inf). A hidden cell: [0, inf).
    """
    counts = np.asarray(counts, dtype=float)
    n = len(counts)
    hidden = np.zeros(n, bool) if hidden is None else hidden
    if primary is None:
        primary = suppressed & (counts >= 1) & (counts < threshold)
    lo, hi = np.zeros(n), np.full(n, np.inf)
    for i in range(n):  # cell by cell, written independently of the library
        if hidden[i] or not suppressed[i]:
            continue
        if primary[i]:
            if 1 <= counts[i] <= threshold - 1:
                lo[i], hi[i] = 1.0, threshold - 1.0
        elif counts[i] >= threshold:
            lo[i] = float(threshold)
    return lo, hi


def lp_bounds(counts: Sequence[float], equations: Sequence[Mapping[int, int]],
              unknown: np.ndarray, *, integer: bool = False,
              known: tuple[np.ndarray, np.ndarray] | None = None) -> dict[int, tuple[float, float]]:
    """Min and max of every unknown cell over solutions within the known bounds (dense LP or MILP).

    ``known`` gives a lower and upper bound per cell; without it every unknown cell
    is only known to be non-negative.
    """
    counts = np.asarray(counts, dtype=float)
    n = len(counts)
    a = np.zeros((len(equations), n))
    for i, eq in enumerate(equations):
        for cell, coef in eq.items():
            a[i, cell] = coef
    cols = np.flatnonzero(unknown)
    au = a[:, cols]
    b = -a[:, ~unknown] @ counts[~unknown]
    lo, hi = known if known is not None else (np.zeros(n), np.full(n, np.inf))
    assert ((lo[cols] <= counts[cols]) & (counts[cols] <= hi[cols])).all()  # the truth is within the bounds
    out = {}
    for j, cell in enumerate(cols):
        c = np.zeros(len(cols))
        c[j] = 1.0
        ends = []
        for sign in (1.0, -1.0):
            if integer:  # HiGHS cannot tell an unbounded MILP from an infeasible one: cap far above the data
                cap = np.minimum(hi[cols], 10.0 * (counts.sum() + 10.0))
                res = milp(sign * c, constraints=LinearConstraint(au, b, b), integrality=np.ones(len(cols)),
                           bounds=Bounds(lo[cols], cap))
            else:
                res = linprog(sign * c, A_eq=au, b_eq=b, method="highs",
                              bounds=[(lw, None if np.isinf(up) else up) for lw, up in zip(lo[cols], hi[cols])])
            assert res.status in (0, 3), res.message  # feasible: the true counts are a solution
            ends.append(sign * res.fun if res.status == 0 else np.inf)
        out[int(cell)] = (ends[0], ends[1])
    return out


def lp_recovered(counts: Sequence[float], equations: Sequence[Mapping[int, int]], suppressed: np.ndarray,
                 hidden: np.ndarray | None = None, *, integer: bool = False, primary: np.ndarray | None = None,
                 threshold: int = 5, marks: bool = True,
                 known: tuple[np.ndarray, np.ndarray] | None = None) -> list[int]:
    """The suppressed cells whose feasible interval is a single point.

    With ``marks`` (the default) the attacker knows what the marks tell
    (:func:`mark_bounds`); ``known`` gives the bounds directly.
    """
    hidden = np.zeros(len(counts), bool) if hidden is None else hidden
    if known is None and marks:
        known = mark_bounds(counts, suppressed, hidden, primary, threshold)
    bounds = lp_bounds(counts, equations, suppressed | hidden, integer=integer, known=known)
    return [c for c, (lo, hi) in bounds.items() if suppressed[c] and hi - lo < 1e-6]


def exhaustive_recovered(inner: np.ndarray, suppressed: np.ndarray, bound: int, threshold: int) -> list[int]:
    """Integer search over a two-way table with all margins: which suppressed cells have one value.

    Cells are numbered as in :func:`table2d`. Every unknown inner cell runs over
    ``0..bound``; margins are sums of the inner cells and must equal what is published,
    and every suppressed cell must fit its mark (from 1 to ``threshold - 1`` for a
    small count, at least ``threshold`` for a complement that is not 0).
    """
    r, c = inner.shape
    counts, _ = table2d(inner)
    k = r * c
    unknown_inner = np.flatnonzero(suppressed[:k])
    grid = np.array(list(itertools.product(range(bound + 1), repeat=len(unknown_inner))), dtype=np.int64)
    cand = np.tile(inner.reshape(-1), (len(grid), 1))
    cand[:, unknown_inner] = grid
    t = cand.reshape(-1, r, c)
    full = np.concatenate([cand, t.sum(axis=2), t.sum(axis=1), t.sum(axis=(1, 2))[:, None]], axis=1)
    ok = (full[:, ~suppressed] == np.asarray(counts)[~suppressed]).all(axis=1)
    truth = np.asarray(counts)
    small = suppressed & (truth >= 1) & (truth < threshold)
    large = suppressed & (truth >= threshold)
    ok &= ((full[:, small] >= 1) & (full[:, small] <= threshold - 1)).all(axis=1)
    ok &= (full[:, large] >= threshold).all(axis=1)
    sols = full[ok]
    assert len(sols) >= 1  # the truth is a solution
    return [int(j) for j in np.flatnonzero(suppressed) if len(np.unique(sols[:, j])) == 1]


# ----------------------------------------------------------------------------- table builders


def table2d(inner: np.ndarray) -> tuple[list[int], list[dict[int, int]]]:
    """Cells: inner (row-major), row totals, column totals, grand total; with their equations."""
    r, c = inner.shape
    k = r * c
    rows = list(range(k, k + r))
    cols = list(range(k + r, k + r + c))
    grand = k + r + c
    counts = [*inner.reshape(-1).tolist(), *inner.sum(axis=1).tolist(), *inner.sum(axis=0).tolist(),
              int(inner.sum())]
    eqs = [margin(rows[i], [i * c + j for j in range(c)]) for i in range(r)]
    eqs += [margin(cols[j], [i * c + j for i in range(r)]) for j in range(c)]
    eqs += [margin(grand, rows), margin(grand, cols)]
    return [int(x) for x in counts], eqs


def hierarchy(tree: list[list[int]]) -> tuple[list[int], list[dict[int, int]]]:
    """Region (cell 0) > municipalities > units, each level the sum of the next."""
    counts = [0]
    eqs = []
    muni_cells = []
    for units in tree:
        m = len(counts)
        muni_cells.append(m)
        counts.append(sum(units))
        first = len(counts)
        counts.extend(units)
        eqs.append(margin(m, list(range(first, first + len(units)))))
    counts[0] = sum(sum(u) for u in tree)
    eqs.append(margin(0, muni_cells))
    return counts, eqs


def check_protection(counts: Sequence[int], eqs: Sequence[Mapping[int, int]], p: Protection,
                     primary: np.ndarray, hidden: np.ndarray | None = None, *, threshold: int = 5,
                     marks: bool = True) -> None:
    """The common promises of :func:`protect` (``marks``: the attacker knows what the marks tell)."""
    hidden = np.zeros(len(counts), bool) if hidden is None else hidden
    assert (p.suppressed[primary]).all()
    assert not (p.suppressed & hidden).any()
    assert [r for r in p.reason[primary]] == ["low_n"] * int(primary.sum())
    assert set(p.reason[p.suppressed & ~primary]) <= {"secondary"}
    assert all(r is None for r in p.reason[~p.suppressed])
    # nothing is recovered but what the marks give away whatever is suppressed (and only then)
    # (with exposed cells, a complement added for the one-mark attacker may be recovered from them:
    # it is not a small count)
    exposed = np.flatnonzero(p.exposed).tolist()
    given_away = lp_recovered(counts, eqs, p.suppressed, hidden, primary=primary, threshold=threshold,
                              marks=marks)
    assert given_away == np.flatnonzero(recoverable(counts, eqs, p.suppressed, hidden=hidden, primary=primary,
                                                    threshold=threshold, known_bounds=marks)).tolist()
    assert [c for c in given_away if primary[c]] == exposed
    assert set(given_away) <= set(exposed) | set(np.flatnonzero(p.secondary)) and (exposed or not given_away)
    if exposed:
        # published with one mark, nothing is given away but zeros
        assert all(counts[c] == 0 for c in lp_recovered(counts, eqs, p.suppressed, hidden, marks=False))
        everything = ~hidden
        known = mark_bounds(counts, everything, hidden, primary, threshold) if marks else None
        assert set(exposed) <= set(lp_recovered(counts, eqs, everything, hidden, known=known, marks=marks))


# ----------------------------------------------------------------------------- hand cases


def test_margin() -> None:
    """A margin is the total with -1 and each part with +1; cells must be distinct."""
    assert {3: -1, 0: 1, 1: 1} == margin(3, [0, 1])
    with pytest.raises(DisclosureError):
        margin(0, [0, 1])
    with pytest.raises(ValueError, match="distinct"):
        margin(1, [2, 2])


def test_one_margin_takes_the_smallest_positive_part() -> None:
    """One small count in a margin gets exactly one complement: the smallest non-zero part."""
    counts = [30, 3, 0, 9, 7, 11]
    eqs = [margin(0, [1, 2, 3, 4, 5])]
    p = protect(counts, eqs)
    assert [1, 4] == np.flatnonzero(p.suppressed).tolist()
    assert [None, "low_n", None, None, "secondary", None] == p.reason.tolist()
    check_protection(counts, eqs, p, np.array(counts) == 3)


def test_two_small_counts_protect_each_other() -> None:
    """Two primary cells in the only margin need no complement."""
    counts = [25, 3, 2, 20]
    p = protect(counts, [margin(0, [1, 2, 3])])
    assert 0 == int(p.secondary.sum())
    assert [1, 2] == np.flatnonzero(p.suppressed).tolist()


def test_zero_is_a_last_resort() -> None:
    """A zero cell is used as complement only when no non-zero cell is left in the equation."""
    counts = [3, 3, 0, 0]  # the total equals the small part
    p = protect(counts, [margin(0, [1, 2, 3])])
    assert [0, 1] == np.flatnonzero(p.suppressed).tolist()  # the total, not a zero
    counts = [3, 2, 1, 0]
    eqs = [margin(0, [1, 2, 3])]
    p = protect(counts, eqs, primary=np.array([False, True, False, False]))
    assert [1, 2] == np.flatnonzero(p.suppressed).tolist()
    check_protection(counts, eqs, p, np.array([False, True, False, False]))


def test_two_way_table_single_primary_is_a_rectangle() -> None:
    """One small count in a 3x3 table needs three complements that close a rectangle (the minimum)."""
    inner = np.array([[2, 9, 12], [8, 10, 15], [20, 7, 11]])
    counts, eqs = table2d(inner)
    p = protect(counts, eqs)
    sup = np.flatnonzero(p.suppressed)
    assert 3 == int(p.secondary.sum())
    assert (sup < 9).all()  # inner cells only, no totals
    rows, cols = {int(s) // 3 for s in sup}, {int(s) % 3 for s in sup}
    assert len(rows) == 2 and len(cols) == 2  # four corners of a rectangle
    check_protection(counts, eqs, p, np.array(counts) == 2)
    # minimal: no pair of published cells would do
    primary = np.array(counts) == 2
    for pair in itertools.combinations(np.flatnonzero(~primary), 2):
        trial = primary.copy()
        trial[list(pair)] = True
        assert lp_recovered(counts, eqs, trial) != [], pair


def test_two_primaries_in_one_row_need_two_complements() -> None:
    """Two small counts side by side in a row are covered by two cells of another row.

    The second complement, (1,1), is not the smallest in its row but closes both
    open lines at once.
    """
    inner = np.array([[1, 2, 30], [8, 16, 15], [20, 17, 11]])
    counts, eqs = table2d(inner)
    p = protect(counts, eqs)
    assert [3, 4] == np.flatnonzero(p.secondary).tolist()  # (1,0) and (1,1)
    check_protection(counts, eqs, p, (np.array(counts) >= 1) & (np.array(counts) < 5))


def test_bridge_between_two_rectangles_is_recovered_and_repaired() -> None:
    """Every line has two suppressed cells, yet the bridge between two cycles is recoverable."""
    inner = np.array([[6, 7, 8, 9], [6, 7, 8, 9], [10, 11, 12, 13], [10, 11, 12, 13]])
    counts, eqs = table2d(inner)
    primary = np.zeros(len(counts), bool)
    for i, j in [(0, 0), (0, 1), (1, 0), (1, 1), (2, 2), (2, 3), (3, 2), (3, 3), (1, 2)]:
        primary[i * 4 + j] = True
    # the heuristic's rule holds: 0 or >= 2 suppressed cells in every equation
    for eq in eqs:
        assert sum(primary[c] for c in eq) != 1
    assert [6] == np.flatnonzero(recoverable(counts, eqs, primary)).tolist()  # cell (1, 2)
    assert [6] == lp_recovered(counts, eqs, primary)
    p = protect(counts, eqs, primary=primary)
    assert 1 == int(p.secondary.sum())  # the minimum: primaries alone are not enough
    check_protection(counts, eqs, p, primary)


def test_two_partitions_of_a_hidden_total() -> None:
    """Units and municipalities both add up to an unpublished region total."""
    counts = [25, 10, 12, 3, 8, 17]  # hidden total; three units; two municipalities
    eqs = [margin(0, [1, 2, 3]), margin(0, [4, 5])]
    hidden = np.array([True, False, False, False, False, False])
    # without protection the municipalities give the total and the units give the small one away
    assert [3] == lp_recovered(counts, eqs, np.array(counts) == 3, hidden)
    p = protect(counts, eqs, hidden=hidden)
    assert [1, 3] == np.flatnonzero(p.suppressed).tolist()  # the small unit and the smallest other unit
    check_protection(counts, eqs, p, np.array(counts) == 3, hidden)


def test_three_level_hierarchy() -> None:
    """A small unit is hidden by its sibling; a municipality with one unit pulls in the levels above."""
    counts, eqs = hierarchy([[2, 9], [12, 7], [15]])
    p = protect(counts, eqs)
    assert 1 == int(p.secondary.sum())
    check_protection(counts, eqs, p, (np.array(counts) >= 1) & (np.array(counts) < 5))
    counts, eqs = hierarchy([[6, 9], [12, 7], [3]])  # the lone unit equals its municipality
    p = protect(counts, eqs)
    check_protection(counts, eqs, p, (np.array(counts) >= 1) & (np.array(counts) < 5))
    assert p.suppressed[counts.index(3)]


def test_non_negativity_attack() -> None:
    """A cell that linear algebra leaves open is pinned by non-negativity: both attacks agree."""
    counts = [5, 5, 0, 0, 0]  # T = a + b, U = b + c, with U = 0 published
    eqs = [margin(0, [1, 2]), margin(3, [2, 4])]
    sup = np.array([False, True, True, False, True])
    assert [1, 2, 4] == np.flatnonzero(recoverable(counts, eqs, sup)).tolist()
    assert [1, 2, 4] == lp_recovered(counts, eqs, sup)
    lo, hi = intervals(counts, eqs, sup)
    assert [lo[1], lo[2], lo[4]] == pytest.approx([5.0, 0.0, 0.0])
    assert [hi[1], hi[2], hi[4]] == pytest.approx([5.0, 0.0, 0.0])
    p = protect(counts, eqs, primary=np.array([False, True, False, False, False]))
    check_protection(counts, eqs, p, np.array([False, True, False, False, False]))


def test_intervals_match_the_independent_attacker() -> None:
    """The interval helper gives the LP bounds; published cells are their own interval."""
    inner = np.array([[2, 9, 12], [8, 10, 15], [20, 7, 11]])
    counts, eqs = table2d(inner)
    sup = protect(counts, eqs).suppressed
    for marks in (True, False):
        lo, hi = intervals(counts, eqs, sup, known_bounds=marks)
        expected = lp_bounds(counts, eqs, sup, known=mark_bounds(counts, sup) if marks else None)
        for cell, (elo, ehi) in expected.items():
            assert elo == pytest.approx(lo[cell]) and ehi == pytest.approx(hi[cell])
        assert (lo[~sup] == np.array(counts)[~sup]).all() and (hi[~sup] == lo[~sup]).all()
    # the marks narrow the intervals: the small count stays within [1, 4], every complement at 5 or more
    lo, hi = intervals(counts, eqs, sup)
    assert lo[0] == pytest.approx(1.0) and hi[0] == pytest.approx(4.0)
    assert (lo[sup & (np.array(counts) >= 5)] >= 5 - 1e-9).all()


def test_misuse_is_refused() -> None:
    """Equations that do not hold, bad cell numbers, negative counts, primary hidden cells."""
    with pytest.raises(DisclosureError, match="does not hold"):
        protect([10, 3, 3], [margin(0, [1, 2])])
    with pytest.raises(ValueError, match="cell 7"):
        recoverable([10, 3, 7], [margin(0, [1, 7])], np.zeros(3, bool))
    with pytest.raises(ValueError, match="non-negative"):
        protect([1, -1, 2], [margin(0, [1, 2])])
    with pytest.raises(ValueError, match="both primary and hidden"):
        protect([10, 3, 7], [margin(0, [1, 2])], primary=[False, True, False], hidden=[False, True, False])
    with pytest.raises(ValueError, match="3 booleans"):
        protect([10, 3, 7], [margin(0, [1, 2])], hidden=[True])


def test_a_complement_must_be_large_enough() -> None:
    """Regression: "<5" plus a complement of 5 that add up to 6 make the complement 5 and the small count 1.

    The published reasons tell that much: a small count is from 1 to 4 and a
    complement is not a small count. The complement must leave a real interval.
    """
    counts = [20, 1, 5, 14]
    eqs = [margin(0, [1, 2, 3])]
    old_pattern = np.array([False, True, True, False])  # the smallest other part
    assert [1, 2] == lp_recovered(counts, eqs, old_pattern)
    assert [] == lp_recovered(counts, eqs, old_pattern, marks=False)  # an attacker blind to the marks learns nothing
    p = protect(counts, eqs)
    assert [1, 3] == np.flatnonzero(p.suppressed).tolist()  # 14 leaves the small count all of [1, 4]
    check_protection(counts, eqs, p, np.array(counts) == 1)
    lo, hi = intervals(counts, eqs, p.suppressed)
    assert (lo[1], hi[1]) == pytest.approx((1.0, 4.0))
    # the same in the other direction: a total as the only complement
    counts = [6, 1, 5]
    p = protect(counts, [margin(0, [1, 2])])
    check_protection(counts, [margin(0, [1, 2])], p, np.array(counts) == 1)


def test_two_small_counts_at_the_end_of_their_range() -> None:
    """Regression: two "<5" whose sum is 2 are 1 each, and two whose sum is 8 are 4 each."""
    for counts in ([22, 1, 1, 20], [28, 4, 4, 20]):
        eqs = [margin(0, [1, 2, 3])]
        primary = (np.array(counts) >= 1) & (np.array(counts) < 5)
        assert [1, 2] == lp_recovered(counts, eqs, primary)  # the primaries alone give both away
        p = protect(counts, eqs)
        assert [1, 2, 3] == np.flatnonzero(p.suppressed).tolist()
        check_protection(counts, eqs, p, primary)
    p = protect([25, 3, 2, 20], [margin(0, [1, 2, 3])])  # a sum of 5 leaves both open
    assert 0 == int(p.secondary.sum())


def test_known_bounds_false_is_the_attacker_blind_to_the_marks() -> None:
    """``known_bounds=False``: every unknown cell is only known to be non-negative, as before."""
    counts = [20, 1, 5, 14]
    eqs = [margin(0, [1, 2, 3])]
    p = protect(counts, eqs, known_bounds=False)
    assert [1, 2] == np.flatnonzero(p.suppressed).tolist()
    check_protection(counts, eqs, p, np.array(counts) == 1, marks=False)
    lo, hi = intervals(counts, eqs, p.suppressed, known_bounds=False)
    assert (lo[1], hi[1]) == pytest.approx((0.0, 6.0))
    # explicit bounds instead of the marks
    sup = p.suppressed
    known = (np.array([0.0, 1.0, 0.0, 0.0]), np.array([np.inf, 1.0, np.inf, np.inf]))
    assert [1, 2] == np.flatnonzero(recoverable(counts, eqs, sup, known_bounds=known)).tolist()
    assert [1, 2] == lp_recovered(counts, eqs, sup, known=known)
    with pytest.raises(DisclosureError, match="do not contain"):
        recoverable(counts, eqs, sup, known_bounds=(np.zeros(4), np.full(4, 0.5)))
    with pytest.raises(DisclosureError, match="two arrays of 4"):
        intervals(counts, eqs, sup, known_bounds=(np.zeros(3), np.ones(3)))


def test_marks_alone_give_cells_away() -> None:
    """Four "<5" that add up to a total "<5" are 1 each: no complement helps; they are reported as exposed."""
    counts = [4, 1, 1, 1, 1, 0, 0]
    eqs = [margin(0, [1, 2, 3, 4, 5, 6])]
    p = protect(counts, eqs)
    assert [0, 1, 2, 3, 4] == np.flatnonzero(p.suppressed).tolist() == np.flatnonzero(p.exposed).tolist()
    assert 0 == int(p.secondary.sum())
    everything = np.ones(7, bool)  # even with the zeros suppressed as well (they are given away too)
    assert [0, 1, 2, 3, 4, 5, 6] == lp_recovered(counts, eqs, everything)
    check_protection(counts, eqs, p, np.array(counts) >= 1)
    # an attacker who cannot tell "<5" from a complement learns nothing
    p = protect(counts, eqs, known_bounds=False)
    assert not p.exposed.any()
    check_protection(counts, eqs, p, np.array(counts) >= 1, marks=False)
    # with threshold 2 every small count is 1: given away by its mark
    counts = [9, 1, 8]
    p = protect(counts, [margin(0, [1, 2])], threshold=2)
    assert [1] == np.flatnonzero(p.exposed).tolist()
    # ... and it still gets the complement that protects it when every cell has one mark
    assert [2] == np.flatnonzero(p.secondary).tolist()
    assert not recoverable(counts, [margin(0, [1, 2])], p.suppressed, known_bounds=False).any()
    # exposure is per cell: the other cells of the table are protected as usual
    counts = [4, 1, 1, 1, 1, 0, 0] + [30, 2, 9, 19]
    eqs = [margin(0, [1, 2, 3, 4, 5, 6]), margin(7, [8, 9, 10])]
    p = protect(counts, eqs)
    assert [0, 1, 2, 3, 4] == np.flatnonzero(p.exposed).tolist() and [9] == np.flatnonzero(p.secondary).tolist()


def section_table(units_by_municipality: list[list[tuple[list[int], list[int]]]]) -> tuple[
        list[int], list[dict[int, int]], list[str]]:
    """Like the national form: per unit, municipality and region a total, two sexes and three age bands.

    The total is the sum of each section; a municipality is the sum of its units
    and the region of its municipalities, cell by cell.
    """
    counts: list[int] = []
    eqs: list[dict[int, int]] = []
    names: list[str] = []

    def group(name: str, cells: list[int]) -> int:
        base = len(counts)
        counts.extend(cells)
        names.extend(f"{name}:{c}" for c in ("tot", "s1", "s2", "a1", "a2", "a3"))
        eqs.append(margin(base, [base + 1, base + 2]))
        eqs.append(margin(base, [base + 3, base + 4, base + 5]))
        return base

    def add_up(parent: int, children: list[int]) -> None:
        for j in range(6):
            eqs.append(margin(parent + j, [c + j for c in children]))

    munis = []
    for m, units in enumerate(units_by_municipality):
        kids = [group(f"u{m}{u}", [sum(sex), *sex, *age]) for u, (sex, age) in enumerate(units)]
        munis.append(group(f"m{m}", np.sum([counts[k:k + 6] for k in kids], axis=0).tolist()))
        add_up(munis[-1], kids)
    add_up(group("region", np.sum([counts[k:k + 6] for k in munis], axis=0).tolist()), munis)
    return counts, eqs, names


def test_a_single_unit_municipality_keeps_its_total() -> None:
    """The tie-break prefers cells that are the total of few equations: no municipality or region total goes.

    Municipality 0 has a single unit. The earlier tie-break hid the unit's total
    and the municipality's (10 complements); now both keep them and mirror the
    unit's hidden sex cells instead (8).
    """
    units = [[([7, 7], [3, 9, 2])], [([2, 4], [1, 2, 3]), ([2, 12], [2, 5, 7])]]
    counts, eqs, names = section_table(units)
    primary = (np.array(counts) >= 1) & (np.array(counts) < 5)
    for marks in (True, False):
        p = protect(counts, eqs, known_bounds=marks)
        check_protection(counts, eqs, p, primary, marks=marks)
        hidden_totals = [names[i] for i in np.flatnonzero(p.secondary) if names[i].endswith(":tot")]
        assert not [t for t in hidden_totals if not t.startswith("u")], hidden_totals
        assert int(p.secondary.sum()) <= 8
        # the lone unit and its municipality hide the same cells
        sup = {names[i] for i in np.flatnonzero(p.suppressed)}
        assert {n.split(":")[1] for n in sup if n.startswith("u00")} == {n.split(":")[1] for n in sup
                                                                        if n.startswith("m0")}


def test_null_space_by_elimination_matches_a_dense_one() -> None:
    """The sparse elimination before the QR decomposition gives the dense answer, on random systems."""
    from scipy import sparse
    from scipy.linalg import null_space

    from kadindicators.disclosure import _no_freedom

    rng = np.random.default_rng(11)
    for _ in range(300):
        m, k = int(rng.integers(1, 10)), int(rng.integers(1, 12))
        a = (rng.random((m, k)) < rng.uniform(0.15, 0.5)) * rng.choice([-1.0, 1.0, 2.0, -6.0, 0.5], size=(m, k))
        if m > 1:
            a = np.vstack([a, a[0] + a[1]])  # a dependent row
        basis = null_space(a)
        expected = np.linalg.norm(basis, axis=1) < 1e-7 if basis.size else np.ones(k, bool)
        assert expected.tolist() == _no_freedom(sparse.csr_matrix(a)).tolist(), a


def test_deterministic() -> None:
    """The same input gives the same pattern (ties go to the lowest index)."""
    counts = [40, 3, 9, 9, 9, 10]
    eqs = [margin(0, [1, 2, 3, 4, 5])]
    a, b = protect(counts, eqs), protect(counts, eqs)
    assert a.suppressed.tolist() == b.suppressed.tolist() == [False, True, True, False, False, False]


def test_exhaustive_integer_search_on_tiny_tables() -> None:
    """Random 2x2 tables with counts in 0..4: an exhaustive integer search recovers nothing."""
    rng = np.random.default_rng(7)
    protected = exposed = 0
    for _ in range(40):
        inner = rng.integers(0, 5, size=(2, 2))
        counts, eqs = table2d(inner)
        p = protect(counts, eqs, threshold=3)
        # a bound above every total: a cell with more than one feasible value keeps two below it
        bound = int(inner.sum()) + 3
        # only what the marks give away whatever is suppressed ("<3" + "<3" = "<3" is 1 + 1 = 2)
        found = exhaustive_recovered(inner, p.suppressed, bound, 3)
        small = (np.asarray(counts) >= 1) & (np.asarray(counts) < 3)
        assert np.flatnonzero(p.exposed).tolist() == [c for c in found if small[c]], inner
        assert set(found) <= set(np.flatnonzero(p.exposed | p.secondary)), inner  # complements: not small
        protected += bool(p.suppressed.any())
        exposed += bool(p.exposed.any())
    assert protected >= 20 and exposed < protected // 2
    # the search itself finds what subtraction gives away
    inner = np.array([[2, 3], [4, 4]])
    sup = np.zeros(9, bool)
    sup[0] = True
    assert [0] == exhaustive_recovered(inner, sup, 16, 3)
    # and what the marks give away: "<3" and a complement of 3 in a row that adds up to 5 ...
    inner = np.array([[2, 3], [4, 4]])
    sup[[1]] = True
    assert [0, 1] == exhaustive_recovered(inner, sup, 16, 3)  # ... are 2 and 3 (the complement is >= 3)
    sup[[2, 3]] = True  # a rectangle: (0, 0) is 1 or 2
    assert [] == exhaustive_recovered(inner, sup, 16, 3)


# ----------------------------------------------------------------------------- properties

small = st.integers(0, 25)


@given(st.lists(small, min_size=1, max_size=8))
def test_random_one_dimensional_margins(parts: list[int]) -> None:
    """One margin: nothing recoverable; one complement exactly when the primaries alone give something away.

    That is always so for one primary, and for several whose sum is forced to the
    ends of their intervals (all 1 or all 4).
    """
    counts = [sum(parts), *parts]
    eqs = [margin(0, list(range(1, len(counts))))]
    p = protect(counts, eqs)
    primary = (np.array(counts) >= 1) & (np.array(counts) < 5)
    check_protection(counts, eqs, p, primary)
    given_away = set(lp_recovered(counts, eqs, primary)) - set(np.flatnonzero(p.exposed).tolist())
    assert int(p.secondary.sum()) == (1 if given_away else 0)
    assert given_away or primary.sum() != 1 or p.exposed.any()


@given(st.integers(2, 4), st.integers(2, 5), st.data(), st.booleans(), st.booleans())
def test_random_two_way_tables(r: int, c: int, data: st.DataObject, hide_grand: bool, marks: bool) -> None:
    """Two-way tables with margins (grand total published or not): nothing recoverable.

    With ``known_bounds=False`` only against the attacker who does not see the marks.
    """
    inner = np.array(data.draw(st.lists(small, min_size=r * c, max_size=r * c))).reshape(r, c)
    counts, eqs = table2d(inner)
    hidden = np.zeros(len(counts), bool)
    hidden[-1] = hide_grand
    primary = (np.array(counts) >= 1) & (np.array(counts) < 5) & ~hidden
    p = protect(counts, eqs, hidden=hidden, known_bounds=marks)
    check_protection(counts, eqs, p, primary, hidden, marks=marks)


@settings(max_examples=25)
@given(st.integers(2, 3), st.integers(2, 3), st.data())
def test_random_two_way_tables_integer_attack(r: int, c: int, data: st.DataObject) -> None:
    """The integer attacker (MILP) recovers nothing either."""
    inner = np.array(data.draw(st.lists(st.integers(0, 9), min_size=r * c, max_size=r * c))).reshape(r, c)
    counts, eqs = table2d(inner)
    p = protect(counts, eqs)
    assert [] == lp_recovered(counts, eqs, p.suppressed, integer=True)


@given(st.lists(st.lists(small, min_size=1, max_size=4), min_size=1, max_size=4), st.booleans())
def test_random_three_level_hierarchies(tree: list[list[int]], hide_region: bool) -> None:
    """Region > municipalities > units: nothing recoverable."""
    counts, eqs = hierarchy(tree)
    hidden = np.zeros(len(counts), bool)
    hidden[0] = hide_region
    primary = (np.array(counts) >= 1) & (np.array(counts) < 5) & ~hidden
    p = protect(counts, eqs, hidden=hidden)
    check_protection(counts, eqs, p, primary, hidden)


@given(st.integers(2, 6), st.integers(2, 5), st.data(), st.booleans())
def test_random_two_partitions(n_units: int, n_munis: int, data: st.DataObject, hide_total: bool) -> None:
    """Units and municipalities as two partitions of one total (their cross table unpublished)."""
    cross = np.array(data.draw(st.lists(st.integers(0, 6), min_size=n_units * n_munis,
                                        max_size=n_units * n_munis))).reshape(n_units, n_munis)
    units, munis = cross.sum(axis=1), cross.sum(axis=0)
    counts = [int(cross.sum()), *units.tolist(), *munis.tolist()]
    eqs = [margin(0, list(range(1, 1 + n_units))), margin(0, list(range(1 + n_units, 1 + n_units + n_munis)))]
    hidden = np.zeros(len(counts), bool)
    hidden[0] = hide_total
    primary = (np.array(counts) >= 1) & (np.array(counts) < 5) & ~hidden
    p = protect(counts, eqs, hidden=hidden)
    check_protection(counts, eqs, p, primary, hidden)


# ----------------------------------------------------------------------------- result tables


def result_table(rows: list[dict[str, object]], dims: Sequence[str] = ("unit_id",)) -> pa.Table:
    """A hand-made result table with the library's result schema."""
    schema = result_schema(list(dims))
    full = []
    for row in rows:
        num, den = row.get("numerator"), row.get("denominator")
        sup = bool(row.get("suppressed", False))
        value = None if sup or not den or num is None else num / den
        full.append({"indicator_version": "1.0.0", "period": "2024", "period_start": None, "period_end": None,
                     "value": value, "ci_lower": None if value is None else value / 2,
                     "ci_upper": None if value is None else min(1.0, value * 2),
                     "status": "suppressed" if sup else "ok", "reason": "low_n" if sup else None,
                     **{d: None for d in dims}, **row, "suppressed": sup})
    return pa.Table.from_pylist(full, schema=schema)


def test_results_numerator_complement() -> None:
    """A small numerator among units gets the smallest other numerator as complement; denominators stay."""
    t = result_table([
        {"indicator_id": "KAD-Q01", "unit_id": "A", "numerator": None, "denominator": 20.0, "suppressed": True},
        {"indicator_id": "KAD-Q01", "unit_id": "B", "numerator": 10.0, "denominator": 30.0},
        {"indicator_id": "KAD-Q01", "unit_id": "C", "numerator": 12.0, "denominator": 40.0},
        {"indicator_id": "KAD-Q01", "numerator": 25.0, "denominator": 90.0},
    ])
    out = protect_results(t)
    assert [True, True, False, False] == out["suppressed"].to_pylist()
    assert ["low_n", "secondary", None, None] == out["reason"].to_pylist()
    assert ["suppressed", "suppressed", "ok", "ok"] == out["status"].to_pylist()
    assert [None, None, 12.0, 25.0] == out["numerator"].to_pylist()
    assert [20.0, 30.0, 40.0, 90.0] == out["denominator"].to_pylist()
    assert out["value"][1].as_py() is None and out["ci_lower"][1].as_py() is None
    assert out.slice(2).equals(t.slice(2))
    assert out.schema.equals(t.schema.with_metadata(out.schema.metadata))
    info = json.loads(out.schema.metadata[b"kadindicators.disclosure"])
    assert {"threshold": 5, "secondary": 1, "secondary_cells": {"numerator": 1, "denominator": 0},
            "low_n_added": 0, "exposed": {"numerator": 0, "denominator": 0}, "uniform_marks": False} == info


def test_exposed_cells_get_one_uniform_mark() -> None:
    """Four "<5" numerators adding up to a "<5" total are 1 each whatever is hidden: the marks go."""
    rows = [{"indicator_id": "KAD-Q01", "unit_id": u, "numerator": None, "denominator": 20.0,
             "suppressed": True} for u in "ABCD"]
    rows.append({"indicator_id": "KAD-Q01", "numerator": None, "denominator": 80.0, "suppressed": True})
    out = protect_results(result_table(rows))
    info = json.loads(out.schema.metadata[b"kadindicators.disclosure"])
    assert info["exposed"]["numerator"] > 0 and info["uniform_marks"] is True
    assert set(out["reason"].to_pylist()) == {"masked"}


def test_exposed_cells_are_protected_under_the_uniform_mark() -> None:
    """Regression: a cell the marks give away still gets the complement that one mark needs.

    Four "<5" numerators of municipality M1 by sex add up to M1's "<5" total, so the
    marks give all five away; the uniform mark hides that, but M1 = region - M2 (24 -
    20) would still give M1's 4 away unless M2 or the region is suppressed as well.
    """
    def rows(hide: bool) -> list[dict[str, object]]:
        small = {"numerator": None, "suppressed": True} if hide else {}
        out: list[dict[str, object]] = [
            {"indicator_id": "KAD-Q01", "municipality": "M1", "sex": s, "numerator": 1.0, "denominator": 20.0,
             **small} for s in "abcd"]
        out += [{"indicator_id": "KAD-Q01", "municipality": "M1", "numerator": 4.0, "denominator": 80.0, **small},
                {"indicator_id": "KAD-Q01", "municipality": "M2", "numerator": 20.0, "denominator": 100.0},
                *({"indicator_id": "KAD-Q01", "municipality": "M2", "sex": s, "numerator": 5.0,
                   "denominator": 25.0} for s in "abcd"),
                {"indicator_id": "KAD-Q01", "numerator": 24.0, "denominator": 180.0}]
        return out

    dims = ("municipality", "sex")
    given, truth = result_table(rows(True), dims), result_table(rows(False), dims)
    out = protect_results(given)
    info = json.loads(out.schema.metadata[b"kadindicators.disclosure"])
    assert info["uniform_marks"] is True and info["exposed"]["numerator"] == 5
    assert info["secondary"] >= 1 and out["suppressed"].to_pylist()[:5] == [True] * 5
    assert set(out["reason"].to_pylist()) == {"masked", None}
    assert [] == attack_results(out, given, truth)
    # the same cells with the library's one-table protection
    eqs = [margin(4, [0, 1, 2, 3]), margin(6, [4, 5])]
    p = protect([1, 1, 1, 1, 4, 20, 24], eqs)
    assert p.exposed.tolist() == [True] * 5 + [False, False] and p.secondary.tolist() == [False] * 5 + [True, False]
    assert not recoverable([1, 1, 1, 1, 4, 20, 24], eqs, p.suppressed, known_bounds=False).any()


def test_results_denominator_complement_and_median() -> None:
    """A small denominator gets a denominator complement (the whole row goes); a median too."""
    rows = []
    for iid in ("KAD-Q01", "KAD-U04M"):
        median = iid == "KAD-U04M"
        rows += [
            {"indicator_id": iid, "unit_id": "A", "numerator": None, "denominator": None, "suppressed": True},
            {"indicator_id": iid, "unit_id": "B", "numerator": None if median else 10.0, "denominator": 30.0},
            {"indicator_id": iid, "unit_id": "C", "numerator": None if median else 12.0, "denominator": 40.0},
            {"indicator_id": iid, "numerator": None if median else 24.0, "denominator": 73.0},
        ]
    out = protect_results(result_table(rows))
    assert [True, True, False, False] * 2 == out["suppressed"].to_pylist()
    assert ["low_n", "secondary", None, None] * 2 == out["reason"].to_pylist()
    assert [None, None, 40.0, 73.0] * 2 == out["denominator"].to_pylist()
    assert [None, None, 12.0, 24.0] + [None] * 4 == out["numerator"].to_pylist()
    info = json.loads(out.schema.metadata[b"kadindicators.disclosure"])
    assert 2 == info["secondary"] and 2 == info["secondary_cells"]["denominator"]


def test_results_higher_threshold_adds_primary() -> None:
    """A higher threshold suppresses more counts as low_n, and they protect each other here."""
    t = result_table([
        {"indicator_id": "KAD-Q01", "unit_id": "A", "numerator": None, "denominator": 20.0, "suppressed": True},
        {"indicator_id": "KAD-Q01", "unit_id": "B", "numerator": 10.0, "denominator": 30.0},
        {"indicator_id": "KAD-Q01", "unit_id": "C", "numerator": 12.0, "denominator": 40.0},
        {"indicator_id": "KAD-Q01", "numerator": 25.0, "denominator": 90.0},
    ])
    out = protect_results(t, threshold=11)
    assert ["low_n", "low_n", None, None] == out["reason"].to_pylist()
    info = json.loads(out.schema.metadata[b"kadindicators.disclosure"])
    assert (11, 0, 1) == (info["threshold"], info["secondary"], info["low_n_added"])


def test_results_complement_large_enough_and_exposure() -> None:
    """Regression for result tables: the complement of a numerator "<5" is large enough.

    And four units with one event each under a region "<5" are given away by the
    marks alone: counted as exposed in the metadata.
    """
    t = result_table([
        {"indicator_id": "KAD-Q01", "unit_id": "A", "numerator": None, "denominator": 20.0, "suppressed": True},
        {"indicator_id": "KAD-Q01", "unit_id": "B", "numerator": 5.0, "denominator": 30.0},
        {"indicator_id": "KAD-Q01", "unit_id": "C", "numerator": 14.0, "denominator": 40.0},
        {"indicator_id": "KAD-Q01", "numerator": 20.0, "denominator": 90.0},
    ])
    out = protect_results(t)
    assert ["low_n", None, "secondary", None] == out["reason"].to_pylist()  # C, not B (1 + 5 = 6 gives A away)
    rows = [{"indicator_id": "KAD-Q01", "unit_id": u, "numerator": None, "denominator": 20.0, "suppressed": True}
            for u in "ABCD"]
    rows.append({"indicator_id": "KAD-Q01", "numerator": None, "denominator": 80.0, "suppressed": True})
    info = json.loads(protect_results(result_table(rows)).schema.metadata[b"kadindicators.disclosure"])
    assert {"numerator": 5, "denominator": 0} == info["exposed"] and 0 == info["secondary"]


def test_results_misuse() -> None:
    """Missing columns, a key twice (a null group next to a region row), non-additive rows."""
    with pytest.raises(DisclosureError, match="missing columns"):
        protect_results(pa.table({"indicator_id": ["KAD-Q01"]}))
    dup = result_table([
        {"indicator_id": "KAD-Q01", "numerator": 5.0, "denominator": 20.0},
        {"indicator_id": "KAD-Q01", "numerator": 5.0, "denominator": 20.0},
    ])
    with pytest.raises(DisclosureError, match="same key"):
        protect_results(dup)
    bad = result_table([
        {"indicator_id": "KAD-Q01", "unit_id": "A", "numerator": 10.0, "denominator": 20.0},
        {"indicator_id": "KAD-Q01", "unit_id": "B", "numerator": 10.0, "denominator": 30.0},
        {"indicator_id": "KAD-Q01", "numerator": 25.0, "denominator": 50.0},
    ])
    with pytest.raises(ValueError, match="contradict"):
        protect_results(bad)
    empty = protect_results(bad.slice(0, 0))
    assert 0 == empty.num_rows and b"kadindicators.disclosure" in empty.schema.metadata


def equations_from(frame: pd.DataFrame, col: str, dims: Sequence[str]) -> tuple[list[float], np.ndarray,
                                                                             list[dict[int, int]]]:
    """Cells (rows plus a region total if missing) and the additivity equations, built by hand.

    For every row and every dimension it sets, the row belongs to the sum for the
    same key with that dimension left out.
    """
    frame = frame.reset_index(drop=True)
    keys = [tuple(None if pd.isna(v) else v for v in r) for r in frame[list(dims)].itertuples(index=False)]
    index = {k: i for i, k in enumerate(keys)}
    values = [float(v) if not pd.isna(v) else np.nan for v in frame[col]]
    hidden = [False] * len(keys)
    sums: dict[tuple[object, ...], list[int]] = {}
    todo = list(keys)
    while todo:
        key = todo.pop()
        for j, v in enumerate(key):
            if v is None:
                continue
            parent = key[:j] + (None,) + key[j + 1:]
            if parent not in index:
                index[parent] = len(values)
                values.append(np.nan)
                hidden.append(True)
                todo.append(parent)
            level = tuple(x is not None for x in key)
            sums.setdefault((level, j, parent), [])
            if index[key] not in sums[(level, j, parent)]:
                sums[(level, j, parent)].append(index[key])
    eqs = [margin(index[parent], members) for (_, _, parent), members in sums.items()]
    return values, np.array(hidden), eqs


def attack_results(out: pa.Table, given: pa.Table, truth: pa.Table, threshold: int = 5,
                   suppression: int = 5) -> list[tuple[str, str, int, float]]:
    """Every suppressed count recovered with a value other than 0, per indicator and count.

    A numerator that was published before and is hidden now only because its
    denominator became a complement is not sensitive (it is not a small count).
    The attacker knows what the reasons tell (below ``t``, the larger of the
    threshold and compute's ``suppression``): in a ``low_n`` row the numerator is
    from 1 to t - 1 when the denominator is shown (or is itself large), else the
    denominator is, and the numerator of a proportion is below t as well; a
    ``secondary`` count is at least t unless it is 0.
    """
    t = max(threshold, suppression)
    dims = [c for c in out.column_names if c in ("unit_id", "municipality", "sex")]
    o, tr, gv = out.to_pandas(), truth.to_pandas(), given.to_pandas()
    found = []
    for iid, g in o.groupby("indicator_id"):
        spec = kad.get_indicator(str(iid))
        true_g = tr[tr.indicator_id == iid]
        given_g = gv[gv.indicator_id == iid]
        den_complement = ((g["reason"] == "secondary").to_numpy() & g["denominator"].isna().to_numpy()
                          & given_g["denominator"].notna().to_numpy())
        reason = g["reason"].to_numpy(object)
        den_shown = g["denominator"].notna().to_numpy()
        true_num = true_g["numerator"].to_numpy(float)
        true_den = true_g["denominator"].to_numpy(float)
        for col in ("numerator", "denominator"):
            if col not in spec.statistics.applies_to or (col == "numerator" and spec.unit == "median"):
                continue
            values, hidden, eqs = equations_from(g, col, dims)
            true_vals, _, _ = equations_from(true_g, col, dims)
            rows = len(g)
            sup = np.zeros(len(values), bool)
            sup[:rows] = g["suppressed"].to_numpy(bool) & np.isnan(values[:rows])
            if col == "numerator":
                sup[:rows] &= ~den_complement
            unknown_rows = np.isnan(values[:rows]) & ~sup[:rows]
            hidden[:rows] |= unknown_rows
            lo, hi = np.zeros(len(values)), np.full(len(values), np.inf)
            for i in range(rows):  # what the reason of each hidden row tells
                if not (sup[i] or unknown_rows[i]):
                    continue
                own = true_num[i] if col == "numerator" else true_den[i]
                if reason[i] == "low_n":
                    if col == "denominator" or den_shown[i] or true_den[i] >= t:
                        if 1 <= own <= t - 1:
                            lo[i], hi[i] = 1.0, t - 1.0
                        elif own >= t:  # a small numerator's denominator became a complement
                            lo[i] = float(t)
                    elif spec.unit == "proportion":
                        hi[i] = t - 1.0
                elif reason[i] == "secondary" and own >= t:
                    lo[i] = float(t)
            counts = np.where(np.isnan(values), np.nan_to_num(np.array(true_vals)), values)
            for cell in lp_recovered(counts, eqs, sup, hidden, known=(lo, hi)):
                if true_vals[cell] != 0:
                    found.append((str(iid), col, cell, true_vals[cell]))
    return found


@pytest.fixture(scope="module")
def synth_results() -> dict[str, pa.Table]:
    region = kad.synth.generate(years=(2024,), seed=2, scale=0.2)
    kw = {"stays": region.stays, "units": region.units, "population": region.population}
    out = {}
    for name, combos in {
        "unit+muni+region": [{"by": ("unit_id",)}, {"by": ("municipality",)}, {"by": ()}],
        "unit+muni": [{"by": ("unit_id",)}, {"by": ("municipality",)}],
        "unit x sex": [{"by": ("unit_id",), "strata": ("sex",)}, {"by": ("unit_id",)}, {"by": ()}],
        "unit x sex, no region": [{"by": ("unit_id",), "strata": ("sex",)}, {"by": ("unit_id",)}],
    }.items():
        for suppression in (5, 1):
            tabs = [kad.compute(**kw, **c, suppression=suppression) for c in combos]  # type: ignore[arg-type]
            out[f"{name}/{suppression}"] = pa.concat_tables(tabs, promote_options="default")
    return out


@pytest.mark.parametrize(("name", "threshold"),
                         [("unit+muni+region", 5), ("unit+muni", 5), ("unit+muni", 10), ("unit x sex", 5),
                          ("unit x sex, no region", 5)])
def test_results_from_compute_recover_nothing(synth_results: dict[str, pa.Table], name: str,
                                              threshold: int) -> None:
    """Indicator results of the synthetic region: nothing recoverable after protection, the rest untouched."""
    given_t, truth = synth_results[f"{name}/5"], synth_results[f"{name}/1"]
    out = protect_results(given_t, threshold=threshold)
    assert out.schema.equals(given_t.schema.with_metadata(out.schema.metadata))
    assert {k: v for k, v in out.schema.metadata.items() if k != b"kadindicators.disclosure"} == \
        dict(given_t.schema.metadata)
    assert [] == attack_results(out, given_t, truth, threshold)
    was = np.array(given_t["suppressed"].to_pylist())
    now = np.array(out["suppressed"].to_pylist())
    assert now[was].all()  # every primary stays suppressed
    new = now & ~was
    info = json.loads(out.schema.metadata[b"kadindicators.disclosure"])
    assert int(new.sum()) == info["secondary"] + info["low_n_added"]
    assert info["secondary"] > 0 or name == "unit+muni"  # the others are not vacuous
    assert info["low_n_added"] > 0 or threshold == 5
    reasons = np.array(out["reason"].to_pylist(), dtype=object)
    assert set(reasons[new]) <= {"secondary", "low_n"}
    assert int((reasons[new] == "secondary").sum()) == info["secondary"]
    for c in ("numerator", "value", "ci_lower", "ci_upper"):
        assert all(v is None for v in np.array(out[c].to_pylist(), dtype=object)[new])
    # rows still published are untouched, suppressed ones keep their reason and nulls
    keep = np.flatnonzero(~now)
    assert out.take(keep).equals(given_t.take(keep))
    for c in ("numerator", "value", "reason", "status"):
        assert out[c].take(np.flatnonzero(was)).equals(given_t[c].take(np.flatnonzero(was)))


def test_results_from_compute_needed_protection(synth_results: dict[str, pa.Table]) -> None:
    """The synthetic case is not vacuous: primary suppression alone leaves counts recoverable."""
    given_t, truth = synth_results["unit+muni+region/5"], synth_results["unit+muni+region/1"]
    assert attack_results(given_t, given_t, truth) != []
    info = json.loads(protect_results(given_t).schema.metadata[b"kadindicators.disclosure"])
    assert info["secondary"] > 0
