"""Disclosure control: small-cell and complementary (secondary) suppression.

A published table of counts together with its totals, margins and other
stratifications is a system of linear equations: a total is the sum of its parts.
Suppressing the small counts (*primary* suppression) is not enough when a hidden
count can be recovered by subtraction from what is still shown. This module adds
*complementary* (secondary) suppressions until no suppressed count can be
recovered exactly, and it contains the attacker that checks this.

The model
---------
Cells are numbered ``0 .. n-1``; ``counts[i]`` is the value of cell ``i``. An
*equation* is a mapping ``{cell: coefficient}`` that holds exactly:
``sum(coef * counts[cell]) == 0``; :func:`margin` builds the usual one,
``-total + part_1 + ... + part_k == 0``. A cell is *published*, *suppressed*
(published as "suppressed") or *hidden* (not in the output at all, e.g. a region
total of a table that shows only units; unknown to an attacker but never reported
as suppressed).

The attacker (:func:`recoverable`) knows the published cells, the equations, that
counts are non-negative and, by default (``known_bounds=True``), what the published
reason of a suppressed cell tells: a small count (``low_n``, shown as "<5") lies
in ``[1, threshold - 1]``; a complementary suppression (``secondary``) is not a
small count, so one whose count is at least the threshold lies in
``[threshold, inf)``; a zero complement and a hidden cell lie in ``[0, inf)``. A
suppressed cell is *recovered* when its feasible interval ``[min, max]`` over all
solutions within these bounds, with the published cells fixed, is a single point
(the linear-programming interval attack, which includes every recovery by linear
algebra alone). :func:`intervals` gives the intervals themselves, one pair of
linear programs per cell. :func:`recoverable` decides the same question with at
most one linear program and one null space per connected group of unknown cells:
the linear program finds the cells that sit at one of their bounds in every
solution (skipped when the true counts are known and none sits at a bound), and a
cell with some freedom is not determined exactly when the null space of the
equations over the free cells has a non-zero component in it. The null space
comes from an exact sparse elimination (equations with one or two free cells,
cells in one equation) followed by a QR decomposition with column pivoting of
what is left.

The protection (:func:`protect`)
--------------------------------
1. Primary cells (by default counts ``1 <= count < threshold``; 0 is shown) are
   suppressed.
2. Heuristic, to a fixed point: no equation may give its unknown cells away. An
   equation gives them away when it has exactly one unknown cell, or when its
   published cells force the unknown ones to their bounds (two small counts whose
   sum is 2 are both 1; a small count plus a complement of 5 that add up to 6 make
   the complement 5 and the small count 1). Revealed hidden cells become *known*
   (and may reveal cells in other equations); for a revealed suppressed cell a
   complement is suppressed in the same equation: a published cell that is
   non-zero, leaves the equation a real interval (a complement that is large
   enough), is the total of the fewest equations, closes the most other such
   equations at once, and is smallest, in that order; ties go to the lowest index.
   Zeros are a last resort.
3. Verification: the attacker runs. For the first recovered cell a linear program
   looks for a way to let it move: a direction ``d`` with ``A d = 0``, ``d = 1``
   (or -1) in the cell, within the bounds, that moves as few published cells as
   possible (weighted: a cell that is the total of many equations costs more, a
   large one a little more, a zero much more). The published cells it moves are
   suppressed; they free the cell (e.g. the bridge between two suppressed
   rectangles of a two-way table, which step 2 cannot see). Back to step 2 until
   nothing is recovered.

Some cells cannot be protected by any pattern when the reasons are published:
four cells "<5" that add up to a total "<5" are 1 each. Such *exposed* cells
(fixed even when every cell is unknown) are found first and left as they are;
:class:`Protection` lists them. Publishing every suppressed cell with one mark
(``known_bounds=False``) protects them.

The result is deterministic and every primary cell stays suppressed. It is not
guaranteed to be the smallest possible pattern (that is an integer program); it
is on the usual small cases.

:func:`protect_results` applies this to the result tables of
:func:`kadindicators.compute`; there a suppressed count that can be worked out
only as 0 is accepted, since zero counts are shown anyway.

Limits: the attacker treats counts as real numbers (the linear-programming
relaxation). For the structures produced by :func:`protect_results` (hierarchies,
two-way tables, several partitions of one total) the extreme points are integer,
so this is the integer attack as well. A complement is known to be 0 *or* at
least the threshold; the attack uses the interval ``[0, inf)`` for a zero
complement, which is weaker than that. Relations *between* indicators (two
indicators with the same denominator) or between periods (quarters and their
year in one output) are not modelled: publish them from one protected table or
check them together with :func:`protect` and your own equations.

.. versionadded:: 0.2.0
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

import attrs
import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.compute as pc

from .errors import KadError

__all__ = [
    "DisclosureError",
    "Protection",
    "intervals",
    "margin",
    "protect",
    "protect_results",
    "recoverable",
]

BoolArray = npt.NDArray[np.bool_]
FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]
KnownBounds = bool | tuple[npt.ArrayLike, npt.ArrayLike]

_ID_COLUMNS = ("indicator_id", "indicator_version", "period")
_FIXED_COLUMNS = frozenset({"indicator_id", "indicator_version", "period", "period_start", "period_end",
                            "numerator", "denominator", "value", "ci_lower", "ci_upper", "suppressed",
                            "status", "reason"})
_REQUIRED_COLUMNS = ("indicator_id", "indicator_version", "period", "numerator", "denominator", "value",
                     "ci_lower", "ci_upper", "suppressed", "status", "reason")
_DET_TOL = 1e-7  # a null-space row shorter than this means the cell is determined
_REPAIR_TRIALS = 8  # candidate complements tried with the attacker before taking the best ranked


class DisclosureError(KadError, ValueError):
    """Disclosure control was misused: equations that contradict the counts, bad arguments.

    Examples
    --------
    >>> from kadindicators.disclosure import DisclosureError, margin, protect
    >>> try:
    ...     protect([10, 3, 3], [margin(0, [1, 2])])
    ... except DisclosureError as err:
    ...     print(err.message("en"))
    equation 0 does not hold for the counts (residual -4)

    .. versionadded:: 0.2.0
    """


# ----------------------------------------------------------------------------- public API


def margin(total: int, parts: Sequence[int]) -> dict[int, int]:
    """The equation *total = sum of parts* as ``{total: -1, part: +1, ...}``.

    Parameters
    ----------
    total : int
        The cell holding the total.
    parts : sequence of int
        The cells that add up to it (distinct, not the total).

    Returns
    -------
    dict of int to int
        Coefficients such that ``sum(coef * counts[cell]) == 0``.

    Examples
    --------
    >>> from kadindicators.disclosure import margin
    >>> margin(0, [1, 2, 3])
    {0: -1, 1: 1, 2: 1, 3: 1}

    .. versionadded:: 0.2.0
    """
    cells = [int(total), *(int(p) for p in parts)]
    if len(set(cells)) != len(cells):
        raise DisclosureError(f"margin: the total and the parts must be distinct cells, got {cells}",
                              f"margin: totalen og delene må være ulike celler, fikk {cells}")
    if min(cells) < 0:
        raise DisclosureError(f"margin: cells are numbered from 0, got {cells}",
                              f"margin: celler nummereres fra 0, fikk {cells}")
    return {cells[0]: -1, **{c: 1 for c in cells[1:]}}


@attrs.frozen(eq=False)
class Protection:
    """The outcome of :func:`protect`: which cells to suppress, and why.

    NumPy arrays with one entry per cell:

    ``suppressed`` (bool)
        Publish the cell as "suppressed". Hidden cells are never marked.
    ``reason`` (object)
        ``"low_n"`` for primary cells, ``"secondary"`` for complementary ones,
        ``None`` for cells that are published (or hidden).
    ``exposed`` (bool)
        Suppressed cells that the marks give away whatever else is suppressed:
        every cell of some equation is suppressed, and the bounds the marks tell
        fix them (four cells "<5" that add up to a total "<5" are 1 each). Only
        publishing every suppressed cell of the output with one and the same mark
        protects them. Always false with ``known_bounds=False``, except for cells
        that are 0.

    Examples
    --------
    >>> from kadindicators.disclosure import margin, protect
    >>> p = protect([20, 3, 7, 10], [margin(0, [1, 2, 3])])
    >>> int(p.secondary.sum())
    1
    >>> p = protect([4, 1, 1, 1, 1, 0], [margin(0, [1, 2, 3, 4, 5])])
    >>> p.exposed.tolist()
    [True, True, True, True, True, False]

    .. versionadded:: 0.2.0
    """

    suppressed: BoolArray
    reason: npt.NDArray[np.object_]
    exposed: BoolArray = attrs.field(default=attrs.Factory(lambda self: np.zeros(len(self.suppressed), bool),
                                                           takes_self=True))

    @property
    def secondary(self) -> BoolArray:
        """The complementary (secondary) suppressions."""
        return np.asarray(self.reason == "secondary", dtype=bool)


def protect(counts: npt.ArrayLike, equations: Sequence[Mapping[int, int]], *, threshold: int = 5,
            primary: npt.ArrayLike | None = None, hidden: npt.ArrayLike | None = None,
            known_bounds: bool = True) -> Protection:
    """Suppress small cells and enough complements that none can be recovered.

    Parameters
    ----------
    counts : array_like of int
        The value of every cell (non-negative), including cells to be suppressed
        and hidden cells.
    equations : sequence of mapping
        The relations an attacker knows, each ``{cell: coefficient}`` with
        ``sum(coef * counts[cell]) == 0`` (see :func:`margin`).
    threshold : int, default 5
        Counts from 1 to ``threshold - 1`` are primary suppressions (0 is shown).
    primary : array_like of bool, optional
        The primary suppressions instead of the threshold rule.
    hidden : array_like of bool, optional
        Cells that are not published at all (an attacker does not know them);
        they are never reported as suppressed. They may not be primary.
    known_bounds : bool, default True
        Protect against an attacker who knows what the published reasons tell
        (see :func:`recoverable`): a primary cell lies in ``[1, threshold - 1]``,
        a complement whose count is at least ``threshold`` in ``[threshold, inf)``.
        A primary cell whose count is not from 1 to ``threshold - 1`` (possible
        with ``primary``) and a zero complement lie in ``[0, inf)``. ``False``
        protects only against an attacker who knows that counts are
        non-negative, which is enough when every suppressed cell is published
        with the same mark.

        .. versionadded:: 0.2.0

    Returns
    -------
    Protection
        ``suppressed`` and ``reason`` per cell.

    Raises
    ------
    DisclosureError
        If an equation does not hold for ``counts``, a cell number is out of
        range, a count is negative, or a primary cell is hidden.

    Notes
    -----
    Some cells are given away by the marks alone, whatever else is suppressed:
    with ``threshold=2`` every small count is 1, and four cells "<5" that add up
    to a total "<5" are 1 each. No complement can help against the marks; they are
    listed in ``Protection.exposed``, and the complements that protect every
    suppressed cell from an attacker who sees one mark for all of them are added.
    Where that matters, publish every suppressed cell with one mark (or protect with
    ``known_bounds=False`` and publish no reasons).

    >>> eqs = [margin(4, [0, 1, 2, 3]), margin(6, [4, 5])]  # 4 = 0+1+2+3, 6 = 4+5
    >>> p = protect([1, 1, 1, 1, 4, 20, 24], eqs)
    >>> p.exposed.tolist()
    [True, True, True, True, True, False, False]
    >>> p.reason.tolist()  # without the complement, 24 - 20 would give cell 4 away
    ['low_n', 'low_n', 'low_n', 'low_n', 'low_n', 'secondary', None]
    >>> bool(recoverable([1, 1, 1, 1, 4, 20, 24], eqs, p.suppressed, known_bounds=False).any())
    False

    Examples
    --------
    One margin: the small count needs one complement, the smallest other part.

    >>> from kadindicators.disclosure import margin, protect, recoverable
    >>> counts = [20, 3, 7, 10]                       # a total and its three parts
    >>> p = protect(counts, [margin(0, [1, 2, 3])])
    >>> p.suppressed.tolist()
    [False, True, True, False]
    >>> p.reason.tolist()
    [None, 'low_n', 'secondary', None]
    >>> bool(recoverable(counts, [margin(0, [1, 2, 3])], p.suppressed).any())
    False

    A complement must be large enough: "<5" and a complement that add up to 6
    would give both away (the complement is at least 5, so the small count is 1).

    >>> counts = [20, 1, 5, 14]
    >>> p = protect(counts, [margin(0, [1, 2, 3])])
    >>> p.suppressed.tolist()
    [False, True, False, True]

    .. versionadded:: 0.2.0
    """
    values = _counts(counts)
    n = len(values)
    system = _System.from_equations(n, equations)
    system.check(values)
    hid = _mask(hidden, n, "hidden")
    if primary is None:
        prim = (values >= 1) & (values < threshold) & ~hid
    else:
        prim = _mask(primary, n, "primary")
        if (prim & hid).any():
            bad = np.flatnonzero(prim & hid)[:5].tolist()
            raise DisclosureError(f"cells {bad} are both primary and hidden",
                                  f"cellene {bad} er både primærprikket og skjult")
    lo, hi = _reason_bounds(values, prim, hid, threshold, bool(known_bounds))
    suppressed, exposed = _protect(system, values, prim, hid, lo, hi, values_known=True)
    if exposed.any():
        # the marks give these away; published with one mark they must still be protected
        # against an attacker who knows only that counts are non-negative
        suppressed = _protect_unmarked(system, values, suppressed, hid, threshold)
    reason = np.full(n, None, dtype=object)
    reason[suppressed] = "secondary"
    reason[prim] = "low_n"
    return Protection(suppressed=suppressed, reason=reason, exposed=exposed)


def recoverable(counts: npt.ArrayLike, equations: Sequence[Mapping[int, int]], suppressed: npt.ArrayLike,
                *, hidden: npt.ArrayLike | None = None, known_bounds: KnownBounds = True,
                threshold: int = 5, primary: npt.ArrayLike | None = None) -> BoolArray:
    """The suppressed cells whose exact value follows from what is published.

    The attacker knows the published cells (neither suppressed nor hidden), the
    equations, that every count is non-negative and, with ``known_bounds``, what
    the published reason of each suppressed cell tells. A suppressed cell is
    recovered when its feasible interval (see :func:`intervals`) is one point.

    Parameters
    ----------
    counts : array_like
        The value of every cell; only published cells are used by the attack
        (the others are only used to check that the equations hold and, with
        ``known_bounds=True``, to tell small counts from complements).
    equations : sequence of mapping
        ``{cell: coefficient}`` with ``sum(coef * counts[cell]) == 0``.
    suppressed : array_like of bool
        The suppressed cells.
    hidden : array_like of bool, optional
        Cells not published at all (unknown to the attacker, never reported).
        They lie in ``[0, inf)``.
    known_bounds : bool or (array_like, array_like), default True
        ``True``: a primary cell (shown as a small count, reason ``low_n``) lies
        in ``[1, threshold - 1]``; another suppressed cell (``secondary``) is not
        a small count, so one whose count is at least ``threshold`` lies in
        ``[threshold, inf)`` and a zero one in ``[0, inf)``. ``False``: every
        unknown cell lies in ``[0, inf)``. A pair ``(lower, upper)`` of arrays
        (one entry per cell, ``inf`` for no upper bound) gives the bounds of the
        suppressed and hidden cells directly.

        .. versionadded:: 0.2.0
    threshold : int, default 5
        The small-count threshold behind the ``low_n`` mark.

        .. versionadded:: 0.2.0
    primary : array_like of bool, optional
        The suppressed cells published as small counts; by default those whose
        count is from 1 to ``threshold - 1``. A primary cell with another count
        lies in ``[0, inf)``.

        .. versionadded:: 0.2.0

    Returns
    -------
    numpy.ndarray of bool
        True for each suppressed cell that is recovered.

    Raises
    ------
    DisclosureError
        If an equation does not hold for ``counts``, a cell number is out of
        range, or explicit bounds do not contain the counts.

    Examples
    --------
    A two-way table with one suppressed cell in row 0 and column 0 only:
    subtraction recovers it.

    >>> import numpy as np
    >>> from kadindicators.disclosure import margin, recoverable
    >>> counts = [2, 8, 6, 9]                          # cells (0,0) (0,1) (1,0) (1,1)
    >>> counts += [10, 15, 8, 17, 25]                  # row totals, column totals, grand total
    >>> eqs = [margin(4, [0, 1]), margin(5, [2, 3]), margin(6, [0, 2]), margin(7, [1, 3]),
    ...        margin(8, [4, 5]), margin(8, [6, 7])]
    >>> sup = np.zeros(9, bool); sup[0] = True
    >>> np.flatnonzero(recoverable(counts, eqs, sup)).tolist()
    [0]
    >>> sup[[1, 2, 3]] = True                          # a rectangle: nothing is recovered
    >>> bool(recoverable(counts, eqs, sup).any())
    False

    What the marks tell matters: "<5" plus a complement that add up to 6.

    >>> eqs = [margin(0, [1, 2, 3])]
    >>> sup = np.array([False, True, True, False])
    >>> np.flatnonzero(recoverable([20, 1, 5, 14], eqs, sup)).tolist()
    [1, 2]
    >>> np.flatnonzero(recoverable([20, 1, 5, 14], eqs, sup, known_bounds=False)).tolist()
    []

    .. versionadded:: 0.2.0
    """
    values, system, sup, hid = _attack_inputs(counts, equations, suppressed, hidden)
    lo, hi = _attacker_bounds(values, sup, hid, known_bounds, threshold, primary)
    rec, _, _ = _attack(system, values, sup | hid, lo, hi, values_known=True, cache={})
    return rec & sup


def intervals(counts: npt.ArrayLike, equations: Sequence[Mapping[int, int]], suppressed: npt.ArrayLike,
              *, hidden: npt.ArrayLike | None = None, known_bounds: KnownBounds = True,
              threshold: int = 5, primary: npt.ArrayLike | None = None) -> tuple[FloatArray, FloatArray]:
    """The feasible interval of every cell as an attacker sees it.

    For a published cell both ends are its count. For a suppressed or hidden cell
    they are the minimum and maximum of the cell over all solutions of the
    equations within the known bounds (see :func:`recoverable`) with the
    published cells fixed (``inf`` when unbounded); two linear programs per cell.

    Parameters
    ----------
    counts, equations, suppressed, hidden, known_bounds, threshold, primary
        As for :func:`recoverable`.

    Returns
    -------
    (numpy.ndarray, numpy.ndarray)
        The lower and upper ends, one per cell.

    Examples
    --------
    The small count stays in ``[1, 4]``; the complement of 7 is somewhere from 6 to 9.

    >>> import numpy as np
    >>> from kadindicators.disclosure import intervals, margin
    >>> lo, hi = intervals([20, 3, 7, 10], [margin(0, [1, 2, 3])], np.array([0, 1, 1, 0], bool))
    >>> lo.tolist(), hi.tolist()
    ([20.0, 1.0, 6.0, 10.0], [20.0, 4.0, 9.0, 10.0])
    >>> lo, hi = intervals([20, 3, 7, 10], [margin(0, [1, 2, 3])], np.array([0, 1, 1, 0], bool),
    ...                    known_bounds=False)
    >>> lo.tolist(), hi.tolist()
    ([20.0, 0.0, 0.0, 10.0], [20.0, 10.0, 10.0, 10.0])

    .. versionadded:: 0.2.0
    """
    from scipy.optimize import linprog

    values, system, sup, hid = _attack_inputs(counts, equations, suppressed, hidden)
    unknown = sup | hid
    b_lo, b_hi = _attacker_bounds(values, sup, hid, known_bounds, threshold, primary)
    lo = np.where(unknown, b_lo, values)
    hi = np.where(unknown, b_hi, values)
    resid = system.residual(values, unknown)
    for cells, eqs in _components(system, unknown):
        a = system.A[eqs][:, cells]
        b = -resid[eqs]
        bounds = [(float(lw), None if np.isinf(up) else float(up)) for lw, up in zip(b_lo[cells], b_hi[cells],
                                                                                      strict=True)]
        for j, cell in enumerate(cells):
            c = np.zeros(len(cells))
            c[j] = 1.0
            for sign in (1.0, -1.0):
                res = linprog(sign * c, A_eq=a, b_eq=b, bounds=bounds, method="highs")
                if res.status == 3:
                    continue  # unbounded: the upper end stays inf
                if res.status != 0:
                    raise _inconsistent()
                if sign > 0:
                    lo[cell] = max(float(res.fun), float(b_lo[cell]))
                else:
                    hi[cell] = -float(res.fun)
    return lo, hi


def _reason_bounds(values: FloatArray, primary: BoolArray, hidden: BoolArray, threshold: int,
                   enabled: bool) -> tuple[FloatArray, FloatArray]:
    """The interval an attacker knows for each cell, were it unknown.

    A primary cell with a count from 1 to ``threshold - 1``: ``[1, threshold - 1]``
    (``[1, threshold]`` for a count that is not whole). Any other cell whose count
    is at least ``threshold`` (a complement is not a small count):
    ``[threshold, inf)``. Everything else, hidden cells and all cells when
    ``enabled`` is false: ``[0, inf)``. NaN counts give ``[0, inf)``.
    """
    n = len(values)
    lo = np.zeros(n)
    hi = np.full(n, np.inf)
    if not enabled:
        return lo, hi
    t = float(threshold)
    with np.errstate(invalid="ignore"):
        lo[values >= t] = t
        small = primary & (values >= 1) & (values < t)
    lo[primary] = 0.0
    lo[small] = 1.0
    hi[small] = np.where(values[small] <= t - 1, t - 1, t)
    lo[hidden] = 0.0
    hi[hidden] = np.inf
    return lo, hi


def _attacker_bounds(values: FloatArray, suppressed: BoolArray, hidden: BoolArray, known_bounds: KnownBounds,
                     threshold: int, primary: npt.ArrayLike | None) -> tuple[FloatArray, FloatArray]:
    """The bounds of :func:`recoverable` and :func:`intervals`, checked against the counts."""
    n = len(values)
    if isinstance(known_bounds, bool | np.bool_):
        if primary is None:
            prim = suppressed & (values >= 1) & (values < threshold)
        else:
            prim = _mask(primary, n, "primary") & suppressed
        return _reason_bounds(values, prim, hidden, threshold, bool(known_bounds))
    try:
        lo_in, hi_in = known_bounds
        lo = np.asarray(lo_in, dtype=np.float64)
        hi = np.asarray(hi_in, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise DisclosureError("known_bounds must be True, False or a pair (lower, upper) of arrays",
                              "known_bounds må være True, False eller et par (nedre, øvre) av tabeller") from exc
    if lo.shape != (n,) or hi.shape != (n,) or np.isnan(lo).any() or np.isnan(hi).any():
        raise DisclosureError(f"known_bounds must be two arrays of {n} numbers, one per cell",
                              f"known_bounds må være to tabeller med {n} tall, ett per celle")
    lo = np.maximum(lo, 0.0)
    unknown = suppressed | hidden
    scale = 1e-9 * (1.0 + np.abs(values))
    bad = unknown & ((values < lo - scale) | (values > hi + scale))
    if bad.any():
        cells = np.flatnonzero(bad)[:5].tolist()
        raise DisclosureError(f"known_bounds do not contain the counts of cells {cells}",
                              f"known_bounds inneholder ikke tallene i cellene {cells}")
    return lo, hi


def protect_results(results: pa.Table, *, threshold: int = 5) -> pa.Table:
    """Complementary suppression of indicator results, so no suppressed count can be recovered.

    ``results`` are result tables of :func:`kadindicators.compute` (or
    :func:`kadindicators.merge`), possibly several concatenated
    (``pa.concat_tables(..., promote_options="default")``) with different ``by``
    and ``strata`` columns: a null in a dimension column means "all" (a unit row
    has ``unit_id`` set and ``municipality`` null, a municipality row the other way
    round, a region row has every dimension null); every column that is not part of
    the result table contract is a dimension. Label a group of missing values
    (stays without a municipality) before concatenating, e.g. with
    ``pc.fill_null(col, "ukjent")``; a key that occurs twice is refused.

    For each indicator × version × period, numerators and denominators are additive
    over every grouping and stratum, so a cell equals the sum of the rows that fix
    one more dimension; a coarser cell that is not in the table is a hidden cell (so
    the sum over units equals the sum over municipalities, both equal to an
    unpublished region total). Numerators and denominators are protected
    separately, each where the indicator's ``statistics.suppression.applies_to``
    names it (a median indicator has no numerator to protect).

    The attacker knows what the published ``reason`` tells (see
    :func:`recoverable`): the count that made a row ``low_n`` is from 1 to
    ``threshold - 1`` (or to the ``suppression`` of :func:`kadindicators.compute`
    recorded in the metadata, if that is higher). That is the numerator when the
    denominator is shown, else the denominator; then the numerator of a
    proportion is below the threshold too. A ``secondary`` count is not a small
    one.

    Primary suppression is that of :func:`kadindicators.compute`, applied again
    with ``threshold`` (so a higher threshold adds primary suppressions with
    reason ``low_n``). Rows suppressed in addition get ``suppressed`` true,
    ``status`` ``"suppressed"``, ``reason`` ``"secondary"``, and a null numerator,
    value and interval; their denominator is null when the denominator itself is a
    complementary suppression. Every other cell is left as it is. A suppressed
    count that can be worked out only as 0 (a unit with no deaths has no deaths in
    any subgroup) is not protected further: zero counts are shown anyway.

    Parameters
    ----------
    results : pyarrow.Table
        Indicator results (the result table contract of :func:`kadindicators.compute`).
    threshold : int, default 5
        Counts from 1 to ``threshold - 1`` are suppressed.

    Returns
    -------
    pyarrow.Table
        The same schema and metadata, plus the metadata key
        ``kadindicators.disclosure`` (JSON: ``threshold``, ``secondary`` rows,
        ``secondary_cells`` per numerator and denominator, ``low_n_added`` rows,
        and ``exposed`` cells per numerator and denominator: counts that the
        ``low_n`` marks give away whatever is suppressed, see
        :class:`Protection`). When any cell is exposed, every suppressed row's
        ``reason`` becomes ``masked`` (``uniform_marks: true``), so the marks tell
        nothing beyond "hidden".

    Raises
    ------
    DisclosureError
        If a required column is missing, a key occurs twice, or the rows are not
        additive (e.g. a null meaning a missing group rather than "all").
    KeyError
        If an ``indicator_id`` is not in the catalogue, whose suppression policy
        is needed (``UnknownIndicatorError``).

    Examples
    --------
    >>> import json
    >>> import pyarrow as pa
    >>> import kadindicators as kad
    >>> from kadindicators.disclosure import protect_results
    >>> region = kad.synth.generate(years=(2024,), seed=1, scale=0.05)
    >>> kw = dict(stays=region.stays, units=region.units, population=region.population,
    ...           indicators=["KAD-Q01"])
    >>> tables = [kad.compute(**kw, by=("unit_id",)), kad.compute(**kw, by=("municipality",)),
    ...           kad.compute(**kw, by=())]
    >>> out = protect_results(pa.concat_tables(tables, promote_options="default"))
    >>> sorted(json.loads(out.schema.metadata[b"kadindicators.disclosure"]))
    ['exposed', 'low_n_added', 'secondary', 'secondary_cells', 'threshold', 'uniform_marks']
    >>> out.num_rows == sum(t.num_rows for t in tables)
    True

    .. versionadded:: 0.2.0
    """
    missing = [c for c in _REQUIRED_COLUMNS if c not in results.column_names]
    if missing:
        raise DisclosureError(f"protect_results: not an indicator result table, missing columns {missing}",
                              f"protect_results: ikke en resultattabell for indikatorer, mangler kolonnene "
                              f"{missing}")
    threshold = int(threshold)
    dims = [c for c in results.column_names if c not in _FIXED_COLUMNS]
    n_rows = results.num_rows
    if n_rows == 0:
        return _with_metadata(results, {"threshold": threshold, "secondary": 0, "uniform_marks": False,
                                        "secondary_cells": {"numerator": 0, "denominator": 0},
                                        "low_n_added": 0, "exposed": {"numerator": 0, "denominator": 0}})
    num = _floats(results["numerator"])
    den = _floats(results["denominator"])
    was_sup = np.asarray(pc.fill_null(results["suppressed"], False).to_numpy(zero_copy_only=False), bool)
    # --- which counts each indicator protects
    ind_codes, ind_names = _codes(results["indicator_id"])
    prot_num_ind = np.zeros(len(ind_names), bool)
    prot_den_ind = np.zeros(len(ind_names), bool)
    proportion_ind = np.zeros(len(ind_names), bool)
    complementary_ind = np.zeros(len(ind_names), bool)
    stays_ind = np.zeros(len(ind_names), bool)
    from .indicators import get_indicator

    for k, name in enumerate(ind_names):
        spec = get_indicator(str(name))
        parts = spec.statistics.applies_to
        prot_num_ind[k] = "numerator" in parts and spec.unit != "median"
        prot_den_ind[k] = "denominator" in parts
        proportion_ind[k] = spec.unit == "proportion"
        complementary_ind[k] = spec.statistics.complementary
        stays_ind[k] = "stays" in parts
    # --- primary suppression again, as kadindicators.compute does it, with this threshold
    applies_num = prot_num_ind[ind_codes]
    with np.errstate(invalid="ignore"):
        small_num = applies_num & (num >= 1) & (num < threshold)
        small_den = (den > 0) & (den < threshold)
    row_sup = was_sup | small_num | small_den
    den_null = np.isnan(den) | small_den
    # --- what the published reasons tell (the bounds of the attack)
    meta = results.schema.metadata or {}
    t_low = float(max(threshold, _int_or(meta.get(b"kadindicators.suppression"), threshold)))
    reprotected = b"kadindicators.disclosure" in meta
    reason_in = np.asarray(results["reason"].to_numpy(zero_copy_only=False), dtype=object)
    # a row marked secondary by an earlier protection: its counts are 0 or large, which one is unknown
    vague = was_sup & (reason_in == "secondary")
    # in an earlier protection a small numerator may have got a denominator complement: either is small
    vague_den = vague | (reprotected & was_sup & np.isnan(den))
    # a denominator compute hid with a small numerator (statistics.suppression.complementary) or
    # for few stays behind it: hidden, but not necessarily small itself
    compl_den = was_sup & complementary_ind[ind_codes] & np.isnan(den)
    vague_den = vague_den | compl_den | (was_sup & stays_ind[ind_codes] & np.isnan(den))
    whole_num = _whole_by(num, ind_codes, len(ind_names))[ind_codes]
    whole_den = _whole_by(den, ind_codes, len(ind_names))[ind_codes]
    # --- cells and equations
    cells = _Cells.build(results, dims)
    system = cells.system
    n_cells = cells.n
    row_cells = np.arange(n_rows)
    hidden_cells = np.zeros(n_cells, bool)
    hidden_cells[n_rows:] = True

    def passes(marks: bool) -> tuple[BoolArray, BoolArray, BoolArray, BoolArray]:
        """Complements of the denominators, then of the numerators (and the exposed cells of each)."""
        den_sec = np.zeros(n_rows, bool)
        num_sec = np.zeros(n_rows, bool)
        den_exposed = np.zeros(n_rows, bool)
        num_exposed = np.zeros(n_rows, bool)
        # denominators first: a row whose denominator is a complement is suppressed as a whole
        eq_den = prot_den_ind[cells.eq_indicator] if system.m else np.zeros(0, bool)
        if eq_den.any():
            sub = system.subsystem(eq_den)
            values = np.full(n_cells, np.nan)
            values[row_cells] = np.where(den_null, np.nan, den)
            prim = np.zeros(n_cells, bool)
            prim[row_cells] = den_null & row_sup & prot_den_ind[ind_codes]
            hid = hidden_cells.copy()
            hid[row_cells] = den_null & ~prim[row_cells]
            lo, hi = _large_bounds(values, t_low)
            # the denominator of a low_n row is hidden only when it is small
            small = prim[row_cells] & ~vague_den
            lo[row_cells] = np.where(small, np.where(whole_den, 1.0, 0.0), lo[row_cells])
            hi[row_cells] = np.where(small, np.where(whole_den, t_low - 1, t_low), hi[row_cells])
            if not marks:  # one mark for every hidden row: the attacker knows only that counts are >= 0
                lo, hi = np.zeros(n_cells), np.full(n_cells, np.inf)
            sup, exp = _protect(sub, values, prim, hid, lo, hi, values_known=False,
                                zero_ok=np.ones(n_cells, bool))
            den_sec = sup[row_cells] & ~prim[row_cells]
            den_exposed = exp[row_cells]
        rows_sup2 = row_sup | den_sec
        eq_num = prot_num_ind[cells.eq_indicator] if system.m else np.zeros(0, bool)
        if eq_num.any():
            sub = system.subsystem(eq_num)
            num_unknown = np.isnan(num) | rows_sup2
            values = np.full(n_cells, np.nan)
            values[row_cells] = np.where(num_unknown, np.nan, num)
            prim = np.zeros(n_cells, bool)
            prim[row_cells] = row_sup & applies_num
            hid = hidden_cells.copy()
            # not sensitive themselves: numerators hidden only because the denominator is a complement
            hid[row_cells] = num_unknown & ~prim[row_cells]
            # bounds: those numerators are shown as secondary (not small), so is any future complement
            lo, hi = _large_bounds(np.concatenate([num, np.full(n_cells - n_rows, np.nan)]), t_low)
            p_rows = prim[row_cells]
            small = p_rows & ~den_null & ~vague  # the denominator is shown, so the numerator made it low_n
            below = p_rows & den_null & (~vague_den | compl_den) & proportion_ind[ind_codes]  # a small count
            lo[row_cells] = np.where(small, 1.0, np.where(p_rows, 0.0, lo[row_cells]))
            hi_small = np.where(whole_num, t_low - 1, t_low)
            hi[row_cells] = np.where(small | below, hi_small, np.where(p_rows, np.inf, hi[row_cells]))
            if not marks:  # one mark for every hidden row: the attacker knows only that counts are >= 0
                lo, hi = np.zeros(n_cells), np.full(n_cells, np.inf)
            sup, exp = _protect(sub, values, prim, hid, lo, hi, values_known=False,
                                zero_ok=np.ones(n_cells, bool))
            num_sec = sup[row_cells] & ~prim[row_cells]
            num_exposed = exp[row_cells]
        return den_sec, num_sec, den_exposed, num_exposed

    den_sec, num_sec, den_exposed, num_exposed = passes(marks=True)
    uniform = bool(num_exposed.any() or den_exposed.any())
    if uniform:
        # the low_n/secondary marks alone give some counts away, so every hidden row gets one
        # mark; protect again against what an attacker can do with that mark only
        den_sec, num_sec, _, _ = passes(marks=False)
    secondary = (den_sec | num_sec) & ~row_sup
    final_sup = row_sup | secondary
    low_n_added = row_sup & ~was_sup
    hide_den = den_null | den_sec
    out = _apply(results, final_sup=final_sup, hide_den=hide_den, low_n_added=low_n_added,
                 secondary=secondary)
    if uniform:  # the marks tell nothing beyond "hidden"
        i = out.column_names.index("reason")
        out = out.set_column(i, out.schema.field(i), pc.if_else(out["suppressed"], "masked", out["reason"]))
    return _with_metadata(out, {
        "uniform_marks": uniform,
        "threshold": threshold, "secondary": int(secondary.sum()),
        "secondary_cells": {"numerator": int(num_sec.sum()), "denominator": int(den_sec.sum())},
        "low_n_added": int(low_n_added.sum()),
        "exposed": {"numerator": int(num_exposed.sum()), "denominator": int(den_exposed.sum())},
    })


def _int_or(raw: bytes | None, default: int) -> int:
    try:
        return int(raw.decode()) if raw is not None else default
    except (ValueError, UnicodeDecodeError):
        return default


def _whole_by(values: FloatArray, codes: IntArray, k: int) -> BoolArray:
    """Per code: every known value is a whole number (so the hidden ones are taken to be as well)."""
    known = ~np.isnan(values)
    frac = known & (values != np.round(np.where(known, values, 0.0)))
    return np.asarray(np.bincount(codes[frac], minlength=k) == 0)


def _large_bounds(values: FloatArray, threshold: float) -> tuple[FloatArray, FloatArray]:
    """``[threshold, inf)`` for counts of at least ``threshold`` (not small, so a complement says so), else ``[0, inf)``."""
    lo = np.zeros(len(values))
    with np.errstate(invalid="ignore"):
        lo[values >= threshold] = threshold
    return lo, np.full(len(values), np.inf)


def _with_metadata(table: pa.Table, info: dict[str, Any]) -> pa.Table:
    meta = dict(table.schema.metadata or {})
    meta[b"kadindicators.disclosure"] = json.dumps(info).encode()
    return table.replace_schema_metadata(meta)


# ----------------------------------------------------------------------------- the equations


class _System:
    """Equations as sparse matrices: ``A`` (coefficients), ``B`` (0/1 pattern), ``Bt``; split by sign."""

    def __init__(self, n: int, m: int, eq: IntArray, cell: IntArray, coef: FloatArray) -> None:
        from scipy import sparse

        self.n, self.m = n, m
        self.eq, self.cell, self.coef = eq, cell, coef
        self.A = sparse.csr_matrix((coef, (eq, cell)), shape=(m, n))
        self.absA = abs(self.A)
        self.B = sparse.csr_matrix((np.ones(len(eq), np.int64), (eq, cell)), shape=(m, n))
        self.Bt = self.B.T.tocsr()
        pos = coef > 0
        self.Apos = sparse.csr_matrix((coef[pos], (eq[pos], cell[pos])), shape=(m, n))
        self.Aneg = sparse.csr_matrix((coef[~pos], (eq[~pos], cell[~pos])), shape=(m, n))
        self.Bpos = sparse.csr_matrix((np.ones(int(pos.sum()), np.int64), (eq[pos], cell[pos])), shape=(m, n))
        self.Bneg = sparse.csr_matrix((np.ones(int((~pos).sum()), np.int64), (eq[~pos], cell[~pos])),
                                      shape=(m, n))
        # in how many equations the cell is the total (has a negative coefficient)
        self.n_total = np.bincount(cell[~pos], minlength=n).astype(np.int64)

    @classmethod
    def from_equations(cls, n: int, equations: Sequence[Mapping[int, int]]) -> _System:
        sizes = np.fromiter((len(e) for e in equations), np.int64, count=len(equations))
        eq = np.repeat(np.arange(len(equations), dtype=np.int64), sizes)
        cell = np.fromiter((int(c) for e in equations for c in e), np.int64, count=int(sizes.sum()))
        coef = np.fromiter((float(v) for e in equations for v in e.values()), np.float64,
                           count=int(sizes.sum()))
        if cell.size and (cell.min() < 0 or cell.max() >= n):
            bad = int(cell[(cell < 0) | (cell >= n)][0])
            raise DisclosureError(f"an equation names cell {bad}, but there are {n} cells",
                                  f"en likning viser til celle {bad}, men det er {n} celler")
        if (coef == 0).any() or not np.isfinite(coef).all():
            raise DisclosureError("equation coefficients must be finite and non-zero",
                                  "koeffisientene i likningene må være endelige og ulik null")
        return cls(n, len(equations), eq, cell, coef)

    def subsystem(self, keep: BoolArray) -> _System:
        """The equations where ``keep`` is true (same cells)."""
        sel = keep[self.eq]
        new = np.cumsum(keep) - 1
        return _System(self.n, int(keep.sum()), new[self.eq[sel]], self.cell[sel], self.coef[sel])

    def restrict(self, cells: IntArray, eqs: IntArray) -> _System:
        """The equations ``eqs`` over the cells ``cells`` (which hold all their entries), renumbered."""
        cell_pos = np.full(self.n, -1, np.int64)
        cell_pos[cells] = np.arange(len(cells))
        eq_pos = np.full(self.m, -1, np.int64)
        eq_pos[eqs] = np.arange(len(eqs))
        sel = eq_pos[self.eq] >= 0
        return _System(len(cells), len(eqs), eq_pos[self.eq[sel]], cell_pos[self.cell[sel]], self.coef[sel])

    def residual(self, values: FloatArray, unknown: BoolArray) -> FloatArray:
        """``A @ values`` over the known cells only."""
        return np.asarray(self.A @ np.where(unknown, 0.0, values), dtype=np.float64)

    def check(self, values: FloatArray) -> None:
        """Raise unless every equation holds for ``values`` (all known)."""
        resid = np.asarray(self.A @ values, dtype=np.float64)
        scale = np.asarray(self.absA @ np.abs(values), dtype=np.float64)
        bad = np.flatnonzero(np.abs(resid) > 1e-9 * scale + 1e-9)
        if bad.size:
            e = int(bad[0])
            raise DisclosureError(f"equation {e} does not hold for the counts (residual {resid[e]:g})",
                                  f"likning {e} stemmer ikke med tallene (rest {resid[e]:g})")


def _inconsistent() -> DisclosureError:
    return DisclosureError(
        "the published cells contradict the equations (no non-negative solution)",
        "de publiserte cellene motsier likningene (ingen ikke-negativ løsning)",
        hint_en="are the rows additive? a null in a dimension column must mean 'all'",
        hint_nb="er radene additive? tom verdi i en dimensjonskolonne må bety 'alle'")


def _attack_inputs(counts: npt.ArrayLike, equations: Sequence[Mapping[int, int]], suppressed: npt.ArrayLike,
                   hidden: npt.ArrayLike | None) -> tuple[FloatArray, _System, BoolArray, BoolArray]:
    """Checked counts, their equations, the suppressed mask and the hidden mask (minus suppressed)."""
    values = _counts(counts)
    n = len(values)
    system = _System.from_equations(n, equations)
    system.check(values)
    sup = _mask(suppressed, n, "suppressed")
    return values, system, sup, _mask(hidden, n, "hidden") & ~sup


def _counts(counts: npt.ArrayLike) -> FloatArray:
    values = np.asarray(counts, dtype=np.float64)
    if values.ndim != 1:
        raise DisclosureError("counts must be one-dimensional", "tallene må være endimensjonale")
    if not np.isfinite(values).all() or (values < 0).any():
        raise DisclosureError("counts must be finite and non-negative",
                              "tallene må være endelige og ikke-negative")
    return values


def _mask(mask: npt.ArrayLike | None, n: int, name: str) -> BoolArray:
    if mask is None:
        return np.zeros(n, bool)
    out = np.asarray(mask)
    if out.shape != (n,) or out.dtype.kind not in "bi":
        raise DisclosureError(f"{name} must be {n} booleans, one per cell",
                              f"{name} må være {n} sannhetsverdier, én per celle")
    return out.astype(bool)


def _components(system: _System, unknown: BoolArray) -> list[tuple[IntArray, IntArray]]:
    """Connected groups of unknown cells (linked by equations): (cells, equations), in cell order."""
    from scipy import sparse
    from scipy.sparse.csgraph import connected_components

    n, m = system.n, system.m
    sel = unknown[system.cell]
    er, ec = system.eq[sel], system.cell[sel]
    if er.size == 0:
        return []
    graph = sparse.coo_matrix((np.ones(er.size), (ec, n + er)), shape=(n + m, n + m))
    _, labels = connected_components(graph, directed=False)
    in_eq = np.zeros(n, bool)
    in_eq[ec] = True
    cells = np.flatnonzero(unknown & in_eq)
    eqs = np.unique(er)
    c_lab, e_lab = labels[cells], labels[n + eqs]
    c_order = np.argsort(c_lab, kind="stable")
    e_order = np.argsort(e_lab, kind="stable")
    c_split = np.flatnonzero(np.diff(c_lab[c_order])) + 1
    e_split = np.flatnonzero(np.diff(e_lab[e_order])) + 1
    groups = list(zip(np.split(cells[c_order], c_split), np.split(eqs[e_order], e_split), strict=True))
    groups.sort(key=lambda g: int(g[0][0]))
    return groups


# ----------------------------------------------------------------------------- the attacker


def _attack(system: _System, values: FloatArray, unknown: BoolArray, lo: FloatArray, hi: FloatArray, *,
            values_known: bool, cache: dict[bytes, tuple[BoolArray, FloatArray]]
            ) -> tuple[BoolArray, FloatArray, list[IntArray]]:
    """Unknown cells whose value is fixed by the published ones and the bounds ``[lo, hi]``.

    Returns the recovered cells, a feasible point (the recovered values where
    recovered; NaN for published cells) and the groups of linked unknown cells.
    ``cache`` maps a group of cells to its answer; the bounds of a cell must not
    change between calls that share a cache.
    """
    n = system.n
    resid = system.residual(values, unknown)
    # equations without unknown cells must hold as they are
    n_unknown = np.asarray(system.B @ unknown.astype(np.int64))
    scale = np.asarray(system.absA @ np.where(unknown, 0.0, np.abs(values)))
    if ((n_unknown == 0) & (np.abs(resid) > 1e-9 * scale + 1e-9)).any():
        raise _inconsistent()
    rec = np.zeros(n, bool)
    point = np.full(n, np.nan)
    # an unknown cell in no equation is known only through its own bounds
    alone = unknown & (np.asarray(system.Bt @ np.ones(system.m, np.int64)) == 0)
    rec[alone] = hi[alone] - lo[alone] <= 1e-9 * (1.0 + lo[alone])
    point[alone] = lo[alone]
    groups: list[IntArray] = []
    for cells, eqs in _components(system, unknown):
        groups.append(cells)
        key = cells.tobytes()
        if key not in cache:
            cache[key] = _determined(system.A[eqs][:, cells].tocsc(), -resid[eqs], lo[cells], hi[cells],
                                     values[cells] if values_known else None)
        rec[cells], point[cells] = cache[key]
    return rec, point, groups


def _determined(a: Any, b: FloatArray, lo: FloatArray, hi: FloatArray,
                x0: FloatArray | None) -> tuple[BoolArray, FloatArray]:
    """Which unknowns of ``{a x = b, lo <= x <= hi}`` are the same in every solution, and one solution.

    ``x0`` is a solution when the true counts are known. A cell is determined when
    it sits at one of its bounds in every solution, or when the null space of the
    equations over the other cells (those that can move) has no component in it.
    """
    k = len(lo)
    width = hi - lo
    degenerate = width <= 1e-9 * (1.0 + np.abs(lo))
    if x0 is not None:
        tol = 1e-9 * (1.0 + np.abs(x0))
        at_lo = (x0 - lo <= tol) & ~degenerate
        at_hi = (hi - x0 <= tol) & ~degenerate
        if at_lo.any() or at_hi.any():
            pin_lo, pin_hi, _ = _pins(a, b, lo, hi, x0, at_lo, at_hi)
        else:  # the true point is interior: nothing sits at a bound in every solution
            pin_lo = pin_hi = np.zeros(k, bool)
        point = x0
    else:
        pin_lo, pin_hi, point = _pins(a, b, lo, hi, None, ~degenerate, np.isfinite(hi) & ~degenerate)
    pinned = pin_lo | pin_hi | degenerate
    found = pinned.copy()
    free = np.flatnonzero(~pinned)
    if free.size:
        # the right-hand side once the pinned cells are substituted
        fixed = np.where(pin_lo | degenerate, lo, np.where(pin_hi, hi, 0.0))
        rhs = b - np.asarray(a @ fixed).reshape(-1)
        scale = np.asarray(abs(a) @ np.abs(fixed)).reshape(-1) + np.abs(b)
        live = _rhs_groups(a[:, free], np.abs(rhs) > 1e-12 * (1.0 + scale))
        if live.any():
            found[free[live]] = _no_freedom(a[:, free[live]])
    return found, point


def _rhs_groups(a: Any, nonzero: BoolArray) -> BoolArray:
    """The columns of ``a`` linked by rows to a row whose right-hand side is not 0.

    Only those can be determined: on a group of free cells whose equations all have
    a zero right-hand side, a point of the relative interior is itself in the null
    space, and each of its coordinates is above the cell's lower bound (>= 0), so
    the null space has a component in every cell of the group.
    """
    from scipy import sparse
    from scipy.sparse.csgraph import connected_components

    m, k = a.shape
    coo = sparse.coo_matrix(a)
    graph = sparse.coo_matrix((np.ones(coo.nnz), (coo.col, k + coo.row)), shape=(k + m, k + m))
    _, label = connected_components(graph, directed=False)
    live = np.zeros(int(label.max()) + 1 if label.size else 0, bool)
    live[label[k + np.flatnonzero(nonzero)]] = True
    return np.asarray(live[label[:k]])


def _pins(a: Any, b: FloatArray, lo: FloatArray, hi: FloatArray, x0: FloatArray | None,
          test_lo: BoolArray, test_hi: BoolArray) -> tuple[BoolArray, BoolArray, FloatArray]:
    """The tested bounds that hold with equality in every solution of ``{a x = b, lo <= x <= hi}``.

    One linear program, homogenised: with ``x = c + y / t`` (``c`` is ``x0``, or 0)
    maximise the sum of slacks ``s`` with ``a y = (b - a c) t``, ``t >= 1``,
    ``0 <= s <= 1`` and, for each finite bound, ``y - (lo - c) t >= s`` or
    ``(hi - c) t - y >= s`` (``s`` only for the tested bounds). A bound that is
    slack in some solution is slack in the average of such solutions; scaled by
    ``t`` its slack reaches 1, so ``s = 1`` exactly for the bounds that can be
    slack and 0 for the others. Returns the bounds that cannot (lower, upper) and
    a solution.
    """
    from scipy import sparse
    from scipy.optimize import linprog

    m, k = a.shape
    c0 = np.zeros(k) if x0 is None else x0
    rhs = b if x0 is None else np.zeros(m)
    d_lo = lo - c0
    d_hi = hi - c0
    if x0 is not None:  # the tested bounds are those the true point sits at
        d_lo = np.where(test_lo, 0.0, d_lo)
        d_hi = np.where(test_hi, 0.0, d_hi)
    fin_hi = np.isfinite(hi)
    rows_hi = np.flatnonzero(fin_hi)
    n_lo, n_hi = k, len(rows_hi)
    slack_lo = np.flatnonzero(test_lo)
    slack_hi = np.flatnonzero(test_hi & fin_hi)
    p = len(slack_lo) + len(slack_hi)
    # columns: y (k), t (1), s (p)
    # lower:  -y + (lo - c) t + s <= 0 ; upper: y - (hi - c) t + s <= 0
    r_lo = sparse.hstack([-sparse.identity(k, format="csr"), sparse.csr_matrix(d_lo[:, None]),
                          sparse.csr_matrix((np.ones(len(slack_lo)), (slack_lo, np.arange(len(slack_lo)))),
                                            shape=(n_lo, p))])
    pos_hi = np.full(k, -1, np.int64)
    pos_hi[rows_hi] = np.arange(n_hi)
    r_hi = sparse.hstack([sparse.csr_matrix((np.ones(n_hi), (np.arange(n_hi), rows_hi)), shape=(n_hi, k)),
                          sparse.csr_matrix(-d_hi[rows_hi][:, None]),
                          sparse.csr_matrix((np.ones(len(slack_hi)),
                                             (pos_hi[slack_hi], len(slack_lo) + np.arange(len(slack_hi)))),
                                            shape=(n_hi, p))])
    a_ub = sparse.vstack([r_lo, r_hi]).tocsr()
    a_eq = sparse.hstack([sparse.csr_matrix(a), sparse.csr_matrix(-rhs[:, None]), sparse.csr_matrix((m, p))])
    cost = np.r_[np.zeros(k + 1), -np.ones(p)]
    bounds = [(None, None)] * k + [(1, None)] + [(0, 1)] * p
    res = linprog(cost, A_ub=a_ub, b_ub=np.zeros(n_lo + n_hi), A_eq=a_eq, b_eq=np.zeros(m), bounds=bounds,
                  method="highs")
    if res.status != 0:
        raise _inconsistent()
    s = res.x[k + 1:]
    pin_lo = np.zeros(k, bool)
    pin_hi = np.zeros(k, bool)
    pin_lo[slack_lo] = s[:len(slack_lo)] < 0.5
    pin_hi[slack_hi] = s[len(slack_lo):] < 0.5
    point = c0 + res.x[:k] / res.x[k]
    point = np.where(pin_lo, lo, np.where(pin_hi, hi, point))
    return pin_lo, pin_hi, point


def _no_freedom(a: Any) -> BoolArray:
    """Columns of the sparse matrix ``a`` in which its null space has no component.

    Sparse elimination first (:func:`_eliminate`), which keeps the null space of the
    rest and says how the eliminated columns' null-space rows follow from it. What
    is left (the core) splits into groups linked by rows; each group gets one QR
    decomposition with column pivoting of its dense transpose: the columns of ``Q``
    beyond the rank are an orthonormal basis of its null space.
    """
    from scipy import sparse
    from scipy.linalg import qr
    from scipy.sparse.csgraph import connected_components

    csr = sparse.csr_matrix(a)
    k = csr.shape[1]
    steps, core_rows, core_cols = _eliminate(csr)
    blocks: list[tuple[IntArray, FloatArray]] = []
    if core_cols.size:
        pos = np.full(k, -1, np.int64)
        pos[core_cols] = np.arange(core_cols.size)
        sizes = np.fromiter((len(r) for r in core_rows), np.int64, count=len(core_rows))
        ri = np.repeat(np.arange(len(core_rows)), sizes)
        ci = pos[np.fromiter((c for r in core_rows for c in r), np.int64, count=int(sizes.sum()))]
        vals = np.fromiter((v for r in core_rows for v in r.values()), np.float64, count=int(sizes.sum()))
        core = sparse.csc_matrix((vals, (ri, ci)), shape=(len(core_rows), core_cols.size))
        pattern = (core != 0).astype(np.int64)
        link = (pattern.T @ pattern + sparse.identity(core_cols.size, dtype=np.int64)).tocsr()
        _, label = connected_components(link, directed=False)
        order = np.argsort(label, kind="stable")
        for group in np.split(order, np.flatnonzero(np.diff(label[order])) + 1):
            block = core[:, group].tocsr()
            rows = np.flatnonzero(np.diff(block.indptr) > 0)
            if rows.size == 0:  # in no equation: free
                blocks.append((core_cols[group], np.eye(group.size)))
                continue
            dense_t = block[rows].toarray().T  # columns x equations
            q, r, _ = qr(dense_t, pivoting=True, mode="full")
            diag = np.abs(np.diag(r))
            tol = max(dense_t.shape) * np.finfo(float).eps * (diag[0] if diag.size else 0.0) * 10
            blocks.append((core_cols[group], q[:, int((diag > tol).sum()):]))
    null = np.zeros((k, sum(b.shape[1] for _, b in blocks)))
    offset = 0
    for cols, basis in blocks:
        null[cols, offset:offset + basis.shape[1]] = basis
        offset += basis.shape[1]
    for j, combo, divisor in reversed(steps):
        if combo:
            null[j] = -(np.fromiter(combo.values(), np.float64, count=len(combo)) @ null[list(combo)]) / divisor
    return np.asarray(np.linalg.norm(null, axis=1) < _DET_TOL)


def _eliminate(a: Any) -> tuple[list[tuple[int, dict[int, float], float]], list[dict[int, float]], IntArray]:
    """Exact sparse elimination of ``a x = 0`` (``a`` a CSR matrix) that keeps the null space of the rest.

    * A row with one column fixes it: its null-space row is 0, and it leaves the
      other rows.
    * A row with two columns makes one a multiple of the other, ``x_b = -(c_a /
      c_b) x_a``: ``b`` is substituted away in the other rows.
    * A column in only one row is dropped with that row: the other columns keep
      their null space, and ``x_j = -(sum of c * x over the row) / c_j``.

    Returns the steps ``(j, combination, divisor)``, meaning null-space row ``j`` =
    ``-(sum of coef * row c) / divisor`` (an empty combination: row 0), to be
    replayed backwards, and the remaining rows (as ``{column: coef}``) and columns.
    """
    m, k = a.shape
    rows: list[dict[int, float]] = [
        dict(zip(a.indices[a.indptr[i]:a.indptr[i + 1]].tolist(), a.data[a.indptr[i]:a.indptr[i + 1]].tolist(),
                 strict=True)) for i in range(m)]
    cols: list[set[int]] = [set() for _ in range(k)]
    for i, row in enumerate(rows):
        for c in row:
            cols[c].add(i)
    row_alive = [True] * m
    col_alive = [True] * k
    steps: list[tuple[int, dict[int, float], float]] = []

    def drop_row(i: int) -> None:
        row_alive[i] = False
        for c in rows[i]:
            cols[c].discard(i)

    queue = [i for i in range(m) if len(rows[i]) <= 2]
    while True:
        while queue:
            i = queue.pop()
            if not row_alive[i] or len(rows[i]) > 2:
                continue
            row = rows[i]
            drop_row(i)
            if len(row) == 1:
                (j,) = row
                steps.append((j, {}, 1.0))
                col_alive[j] = False
                for e in list(cols[j]):
                    del rows[e][j]
                    if len(rows[e]) <= 2:
                        queue.append(e)
                cols[j].clear()
            elif len(row) == 2:
                (p, cp), (q, cq) = row.items()
                b, c_b, keep, c_keep = (p, cp, q, cq) if len(cols[p]) <= len(cols[q]) else (q, cq, p, cp)
                steps.append((b, {keep: c_keep}, c_b))
                col_alive[b] = False
                factor = -c_keep / c_b
                for e in list(cols[b]):
                    d = rows[e].pop(b)
                    v = rows[e].get(keep, 0.0) + d * factor
                    if abs(v) <= 1e-12 * (abs(d * factor) + abs(rows[e].get(keep, 0.0))):
                        rows[e].pop(keep, None)
                        cols[keep].discard(e)
                    else:
                        rows[e][keep] = v
                        cols[keep].add(e)
                    if len(rows[e]) <= 2:
                        queue.append(e)
                cols[b].clear()
        leaves = [j for j in range(k) if col_alive[j] and len(cols[j]) == 1]
        if not leaves:
            break
        for j in leaves:
            if not col_alive[j] or len(cols[j]) != 1:
                continue
            (e,) = cols[j]
            row = rows[e]
            steps.append((j, {c: v for c, v in row.items() if c != j}, row[j]))
            col_alive[j] = False
            drop_row(e)
    core_rows = [rows[i] for i in range(m) if row_alive[i] and rows[i]]
    return steps, core_rows, np.flatnonzero(np.array(col_alive, dtype=bool)).astype(np.int64)


# ----------------------------------------------------------------------------- the protection


def _protect_unmarked(system: _System, values: FloatArray, suppressed: BoolArray, hidden: BoolArray,
                      threshold: int) -> BoolArray:
    """``suppressed`` plus the complements that keep every suppressed cell safe with one mark.

    An attacker who sees one mark for every suppressed cell knows only that counts are
    non-negative. Adding complements to a safe pattern only widens what any attacker
    can deduce, so the result is safe for an attacker who sees the reasons too (except
    for the cells those reasons give away, which nothing protects).
    """
    lo, hi = _reason_bounds(values, suppressed, hidden, threshold, False)
    out, _ = _protect(system, values, suppressed, hidden, lo, hi, values_known=True)
    return out


def _protect(system: _System, values: FloatArray, primary: BoolArray, hidden: BoolArray, lo: FloatArray,
             hi: FloatArray, *, values_known: bool, zero_ok: BoolArray | None = None
             ) -> tuple[BoolArray, BoolArray]:
    """Primary plus complementary suppressions until the attacker recovers nothing.

    ``lo`` and ``hi`` are the bounds an attacker knows for each cell if it is not
    published (for a published cell: as a complement). ``zero_ok`` marks cells
    that may be recovered when their value is 0 (a zero is shown anyway).
    Independent blocks of equations are protected one by one. Returns the
    suppressed cells and the exposed ones (given away by the bounds whatever is
    suppressed).
    """
    ok = np.zeros(system.n, bool) if zero_ok is None else zero_ok
    suppressed = primary.copy()
    exposed = np.zeros(system.n, bool)
    for cells, eqs in _components(system, np.ones(system.n, bool)):
        block = system.restrict(cells, eqs)
        suppressed[cells], exposed[cells] = _protect_block(
            block, values[cells], primary[cells], hidden[cells], lo[cells], hi[cells],
            values_known=values_known, zero_ok=ok[cells])
    return suppressed, exposed


class _Stuck(Exception):
    """An equation gives suppressed cells away and has nothing left to suppress."""

    def __init__(self, eq: int, cells: IntArray) -> None:
        super().__init__(eq)
        self.eq, self.cells = eq, cells


def _protect_block(system: _System, values: FloatArray, primary: BoolArray, hidden: BoolArray,
                   lo: FloatArray, hi: FloatArray, *, values_known: bool, zero_ok: BoolArray
                   ) -> tuple[BoolArray, BoolArray]:
    suppressed = primary.copy()
    lo, hi = lo.copy(), hi.copy()
    cache: dict[bytes, tuple[BoolArray, FloatArray]] = {}
    order_value = np.where(np.isnan(values), np.inf, values)
    known = np.where(np.isnan(values), 0.0, values)
    tol = 1e-7 * (1.0 + float(np.abs(known).max(initial=0.0)))
    # a cell whose known interval is one point is given away by its mark: nothing can protect it
    exposed = hi - lo <= 1e-9 * (1.0 + lo)
    given_away: BoolArray | None = None  # fixed even when every cell is unknown, computed when needed

    def expose(cells: IntArray) -> bool:
        """Treat the cells given away whatever is suppressed as known; are all of ``cells`` such?"""
        nonlocal given_away
        if given_away is None:
            given_away, point = _determined(system.A.tocsc(), np.zeros(system.m), lo, hi,
                                            values if values_known else None)
            new = given_away & ~exposed
            if new.any():
                exposed[new] = True
                lo[new] = hi[new] = point[new]  # known: protected no further, no use as a complement
                cache.clear()
        return bool(given_away[cells].all())

    # without upper bounds an attacker cannot pin a count other than 0 when every cell is unknown
    marks = bool(np.isfinite(hi).any())
    if marks:  # a cheap look first: equations that give cells away even with every cell unknown
        unknown = ~exposed
        _propagate(system, unknown, np.where(unknown, 0.0, lo), lo, hi, np.ones(system.n, bool),
                   zero_only=np.zeros(system.n, bool))
        if (~unknown & ~exposed).any():
            expose(np.flatnonzero(~unknown & ~exposed))
    while True:
        try:
            _heuristic(system, values, order_value, suppressed, hidden, zero_ok, lo, hi)
        except _Stuck as stuck:
            if expose(stuck.cells):
                continue
            cell = int(stuck.cells[0])
            raise DisclosureError(
                f"cell {cell} cannot be protected: its equation {stuck.eq} has no other cell to suppress",
                f"celle {cell} kan ikke beskyttes: likning {stuck.eq} har ingen annen celle å prikke") from None
        rec, point, groups = _attack(system, values, suppressed | hidden, lo, hi, values_known=values_known,
                                     cache=cache)
        bad = rec & suppressed & ~exposed & ~(zero_ok & (np.abs(point) <= tol))
        if not bad.any():
            return suppressed, exposed & suppressed
        s = int(np.flatnonzero(bad)[0])
        if marks and given_away is None and expose(np.array([s], np.int64)):
            continue
        ref = np.where(suppressed | hidden, point, values)
        cells = _repair_lp(system, ref, suppressed | hidden, lo, hi, s, order_value)
        if cells.size:
            suppressed[cells] = True
            continue
        # no way found by the linear program (numerically): the best ranked neighbour that frees the cell
        cand = _repair_candidates(system, order_value, suppressed, hidden, lo, hi, s, groups)
        choice = int(cand[0])
        for c in cand[:_REPAIR_TRIALS]:
            trial = suppressed | hidden
            trial[c] = True
            if not _attack(system, values, trial, lo, hi, values_known=values_known, cache=cache)[0][s]:
                choice = int(c)
                break
        suppressed[choice] = True


def _heuristic(system: _System, values: FloatArray, order_value: FloatArray, suppressed: BoolArray,
               hidden: BoolArray, zero_ok: BoolArray, lo: FloatArray, hi: FloatArray) -> None:
    """Add complements until no equation reveals a suppressed cell on its own.

    An equation reveals its unknown cells when it has exactly one, or when the
    known cells force every unknown one to a bound: the sum over the unknown cells
    (coefficients included) equals its smallest or largest possible value. A
    revealed hidden cell (or a revealed 0 where that is allowed) becomes known and
    may reveal others; a revealed suppressed cell gets a complement in the same
    equation.
    """
    own = hi - lo <= 1e-9 * (1.0 + lo)  # known from its own bounds
    fin_hi = np.where(np.isfinite(hi), hi, 0.0)
    while True:
        unknown = (suppressed | hidden) & ~own
        known = np.where(suppressed | hidden, lo, values)
        known = np.where(unknown, 0.0, np.nan_to_num(known))
        t = _propagate(system, unknown, known, lo, hi, hidden | zero_ok, zero_only=~hidden)
        tight, resid, low, high, eps, derived = t.tight, t.resid, t.low, t.high, t.eps, t.derived
        violated = np.flatnonzero(tight)
        if violated.size == 0:
            return
        e0 = int(violated[0])
        cand = _published_in(system, [e0], suppressed, hidden, derived)
        if cand.size == 0:
            raise _Stuck(e0, system.cell[(system.eq == e0) & unknown[system.cell] & suppressed[system.cell]])
        others = np.zeros(system.m, np.int64)
        others[violated] = 1
        others[e0] = 0
        closes = np.asarray(system.Bt[cand] @ others)
        # does the candidate leave the equation a real interval (is it large enough)?
        coef = np.asarray(system.A[e0, cand].todense()).reshape(-1)
        r2 = resid[e0] + coef * values[cand]
        fin = np.isfinite(hi[cand])
        hf = fin_hi[cand]
        low2 = low[e0] + np.where(coef > 0, coef * lo[cand], np.where(fin, coef * hf, -np.inf))
        high2 = high[e0] + np.where(coef > 0, np.where(fin, coef * hf, np.inf), coef * lo[cand])
        fixes = (coef == 0) | ((r2 - low2 > eps[e0]) & (high2 - r2 > eps[e0]))
        key = np.lexsort((cand, order_value[cand], -closes, system.n_total[cand], ~fixes, order_value[cand] == 0,
                          own[cand]))
        suppressed[cand[key[0]]] = True


@attrs.frozen(eq=False)
class _Tight:
    """Per equation: is it tight, the sum over its unknown cells, and the bounds of that sum."""

    tight: BoolArray
    resid: FloatArray
    low: FloatArray
    high: FloatArray
    eps: FloatArray
    derived: IntArray  # per cell: the equation it was worked out from, or -1


def _propagate(system: _System, unknown: BoolArray, known: FloatArray, lo: FloatArray, hi: FloatArray,
               learn: BoolArray, *, zero_only: BoolArray) -> _Tight:
    """Work out cells from tight equations until nothing changes (``unknown`` and ``known`` are updated).

    An equation is tight when it has exactly one unknown cell, or when the sum over
    its unknown cells (``resid``, coefficients included) equals its smallest or
    largest possible value within the bounds: then every unknown cell sits at a
    bound. A revealed cell in ``learn`` becomes known (where ``zero_only``, only
    when it is revealed as 0) and may reveal others.
    """
    fin_hi = np.where(np.isfinite(hi), hi, 0.0)
    derived = np.full(system.n, -1, dtype=np.int64)
    while True:
        u = unknown.astype(np.int64)
        count = np.asarray(system.B @ u)
        resid = -np.asarray(system.A @ known)  # = sum of coef * x over the unknown cells
        inf_u = (unknown & ~np.isfinite(hi)).astype(np.int64)
        low = np.asarray(system.Apos @ (lo * u) + system.Aneg @ (fin_hi * u))
        low[np.asarray(system.Bneg @ inf_u) > 0] = -np.inf
        high = np.asarray(system.Apos @ (fin_hi * u) + system.Aneg @ (lo * u))
        high[np.asarray(system.Bpos @ inf_u) > 0] = np.inf
        scale = np.asarray(system.absA @ np.abs(known))
        eps = 1e-9 * (1.0 + scale)
        at_low = np.abs(resid - low) <= eps
        at_high = np.abs(resid - high) <= eps
        tight = (count >= 1) & ((count == 1) | at_low | at_high)
        if not tight.any():
            break
        # the revealed value of every unknown cell in a tight equation
        sel = tight[system.eq] & unknown[system.cell]
        e, c, a = system.eq[sel], system.cell[sel], system.coef[sel]
        single = count[e] == 1
        bound_lo = np.where(at_low[e], a > 0, a < 0)  # at the lower bound of the cell, else the upper
        val = np.where(single, resid[e] / np.where(single, a, 1.0), np.where(bound_lo, lo[c], hi[c]))
        ok = np.isfinite(val) & learn[c] & (~zero_only[c] | (np.abs(val) <= 1e-9 * scale[e] + 1e-9))
        if not ok.any():
            break
        cells, first = np.unique(c[ok], return_index=True)
        derived[cells] = e[ok][first]
        unknown[cells] = False
        known[cells] = val[ok][first]
    return _Tight(tight=tight, resid=resid, low=low, high=high, eps=eps, derived=derived)


def _published_in(system: _System, eqs: list[int], suppressed: BoolArray, hidden: BoolArray,
                  derived: IntArray) -> IntArray:
    """Published cells of the equations; through cells worked out from others if there are none."""
    seen: set[int] = set()
    todo = list(eqs)
    while todo:
        seen.update(todo)
        cells: IntArray = np.unique(system.B[todo].indices)
        pub = cells[~suppressed[cells] & ~hidden[cells]]
        if pub.size:
            return pub
        todo = sorted({int(derived[c]) for c in cells if derived[c] >= 0} - seen)
    return np.zeros(0, np.int64)


def _repair_lp(system: _System, ref: FloatArray, unknown: BoolArray, lo: FloatArray, hi: FloatArray, s: int,
               value: FloatArray) -> IntArray:
    """Published cells whose suppression lets the recovered cell ``s`` move: few, small, not totals.

    ``ref`` is a solution (the true counts, or a point found by the attack). The
    cell ``s`` can take another value exactly when some direction ``d`` with
    ``A d = 0`` and ``d_s = 1`` (or -1) keeps ``ref + eps * d`` within the bounds
    for a small ``eps``: ``d_j >= 0`` where ``ref_j`` is at its lower bound,
    ``d_j <= 0`` at its upper bound. Published cells may move only if they are
    suppressed, so the linear program minimises the weighted sum of ``|d_c|`` over
    them (weight: 1, plus 1 per equation the cell is the total of, plus a little
    for its size, plus 4 for a zero); the published cells it moves are the
    complements. Returns no cells when there is no such direction.
    """
    from scipy import sparse
    from scipy.optimize import linprog

    known_anyway = hi - lo <= 1e-9 * (1.0 + lo)
    cand = ~unknown & ~known_anyway
    moving = unknown & ~known_anyway
    tol = 1e-9 * (1.0 + np.abs(ref))
    at_lo = ref - lo <= tol
    at_hi = hi - ref <= tol
    u = np.flatnonzero(moving)
    c = np.flatnonzero(cand)
    big = float(value[np.isfinite(value)].max(initial=0.0)) + 1.0
    weight = 1.0 + system.n_total[c] + 0.5 * np.where(np.isfinite(value[c]), value[c], big) / big \
        + 4.0 * (value[c] == 0)
    a_csc = system.A.tocsc()
    a_eq = sparse.hstack([a_csc[:, u], a_csc[:, c], -a_csc[:, c]]).tocsr()
    cost = np.r_[np.zeros(u.size), weight, weight]
    best: tuple[float, IntArray] | None = None
    pos_s = int(np.searchsorted(u, s))
    lower = np.r_[np.where(at_lo[u], 0.0, -np.inf), np.zeros(2 * c.size)]
    upper = np.r_[np.where(at_hi[u], 0.0, np.inf), np.full(c.size, np.inf), np.where(at_lo[c], 0.0, np.inf)]
    for sign in (1.0, -1.0):
        if (sign > 0 and at_hi[s]) or (sign < 0 and at_lo[s]):
            continue
        lower[pos_s] = upper[pos_s] = sign
        res = linprog(cost, A_eq=a_eq, b_eq=np.zeros(system.m), bounds=np.column_stack([lower, upper]),
                      method="highs")
        if res.status != 0:
            continue
        move = np.abs(res.x[u.size:u.size + c.size]) + np.abs(res.x[u.size + c.size:])
        chosen = c[move > 1e-7]
        if chosen.size and (best is None or float(res.fun) < best[0]):
            best = (float(res.fun), chosen)
    return best[1] if best is not None else np.zeros(0, np.int64)


def _repair_candidates(system: _System, value: FloatArray, suppressed: BoolArray, hidden: BoolArray,
                       lo: FloatArray, hi: FloatArray, s: int, groups: list[IntArray]) -> IntArray:
    """Published cells to suppress so that the recovered cell ``s`` gains freedom, best first."""
    unknown = suppressed | hidden
    eqs_s = system.Bt[s].indices
    cells = np.unique(system.B[eqs_s].indices)
    cand = cells[~unknown[cells]]
    if cand.size == 0:
        group = next(g for g in groups if s in set(g.tolist()))
        eqs = np.unique(system.Bt[group].indices)
        cells = np.unique(system.B[eqs].indices)
        cand = cells[~unknown[cells]]
    if cand.size == 0:
        raise DisclosureError(f"cell {s} cannot be protected: nothing published is left to suppress near it",
                              f"celle {s} kan ikke beskyttes: ingen publiserte celler igjen å prikke")
    busy = (np.asarray(system.B @ unknown.astype(np.int64)) > 0).astype(np.int64)
    busy[eqs_s] = 0
    links = np.asarray(system.Bt[cand] @ busy) > 0
    own = hi[cand] - lo[cand] <= 1e-9 * (1.0 + lo[cand])  # known anyway: no use
    key = np.lexsort((cand, value[cand], system.n_total[cand], ~links, value[cand] == 0, own))
    return np.asarray(cand[key], dtype=np.int64)


# ----------------------------------------------------------------------------- result tables


def _floats(col: pa.ChunkedArray | pa.Array) -> FloatArray:
    return np.asarray(pc.cast(col, pa.float64()).to_numpy(zero_copy_only=False), dtype=np.float64)


def _codes(col: pa.ChunkedArray | pa.Array) -> tuple[IntArray, list[Any]]:
    """Integer codes of a column (-1 for null) and the distinct values."""
    arr = col.combine_chunks() if isinstance(col, pa.ChunkedArray) else col
    enc = pc.dictionary_encode(arr)
    codes = np.asarray(pc.fill_null(enc.indices, -1).to_numpy(zero_copy_only=False), dtype=np.int64)
    return codes, enc.dictionary.to_pylist()


@attrs.frozen(eq=False)
class _Cells:
    """The rows of a result table plus the hidden coarser cells, and their equations."""

    n: int
    keys: IntArray          # per cell: group code, then a code per dimension (-1 = all)
    system: _System
    eq_indicator: IntArray  # per equation: the indicator's code

    @classmethod
    def build(cls, results: pa.Table, dims: Sequence[str]) -> _Cells:
        ind, _ = _codes(results["indicator_id"])
        ids = np.column_stack([_codes(results[c])[0] for c in _ID_COLUMNS])
        uniq_ids, group = np.unique(ids, axis=0, return_inverse=True)
        group = np.asarray(group).reshape(-1)
        group_ind = np.zeros(len(uniq_ids), np.int64)
        group_ind[group] = ind
        cols = [group] + [_codes(results[d])[0] for d in dims]
        keys = np.column_stack(cols).astype(np.int64)
        uniq, counts = np.unique(keys, axis=0, return_counts=True)
        if (counts > 1).any():
            dup = uniq[counts > 1][0]
            row = int(np.flatnonzero((keys == dup).all(axis=1))[0])
            what = {c: results[c][row].as_py() for c in (*_ID_COLUMNS, *dims)}
            raise DisclosureError(
                f"protect_results: two rows have the same key {what}",
                f"protect_results: to rader har samme nøkkel {what}",
                hint_en="a null in a dimension column means 'all': label groups of missing values first",
                hint_nb="tom verdi i en dimensjonskolonne betyr 'alle': gi grupper av manglende verdier "
                        "et navn først")
        # close under "drop one dimension": coarser cells not in the table are hidden cells
        all_keys = keys
        frontier = keys
        d = len(dims)
        for _ in range(d):
            parents = [_drop(frontier, j) for j in range(1, d + 1)]
            cand = np.unique(np.vstack(parents), axis=0) if parents else np.zeros((0, 1), np.int64)
            new = cand[~_isin_rows(cand, all_keys)]
            if new.size == 0:
                break
            all_keys = np.vstack([all_keys, new])
            frontier = new
        n = len(all_keys)
        # equations: (level of the finer cells, dropped dimension, coarser key) -> coarser = sum of finer
        level = ((all_keys[:, 1:] >= 0) * (1 << np.arange(d, dtype=np.int64))).sum(axis=1) if d else \
            np.zeros(n, np.int64)
        eq_rows, eq_cells, eq_coef, eq_ind = [], [], [], []
        m = 0
        for j in range(1, d + 1):
            members = np.flatnonzero(all_keys[:, j] >= 0)
            if members.size == 0:
                continue
            parent_keys = _drop(all_keys[members], j)
            parent = _lookup_rows(parent_keys, all_keys)
            tag = np.column_stack([level[members], parent])
            uniq_tag, eq_of = np.unique(tag, axis=0, return_inverse=True)
            eq_of = np.asarray(eq_of).reshape(-1)
            k = len(uniq_tag)
            eq_rows += [m + eq_of, m + np.arange(k)]
            eq_cells += [members, uniq_tag[:, 1]]
            eq_coef += [np.ones(members.size), -np.ones(k)]
            eq_ind.append(group_ind[all_keys[uniq_tag[:, 1], 0]])
            m += k
        if m:
            system = _System(n, m, np.concatenate(eq_rows).astype(np.int64),
                             np.concatenate(eq_cells).astype(np.int64), np.concatenate(eq_coef))
            eq_indicator = np.concatenate(eq_ind).astype(np.int64)
        else:
            system = _System(n, 0, np.zeros(0, np.int64), np.zeros(0, np.int64), np.zeros(0))
            eq_indicator = np.zeros(0, np.int64)
        return cls(n=n, keys=all_keys, system=system, eq_indicator=eq_indicator)


def _drop(keys: IntArray, j: int) -> IntArray:
    """The keys with column ``j`` set to "all", for the rows where it is set."""
    out = keys[keys[:, j] >= 0].copy()
    out[:, j] = -1
    return out


def _row_ids(a: IntArray, b: IntArray) -> tuple[IntArray, IntArray]:
    """Common integer ids for the rows of two key matrices."""
    both = np.vstack([a, b])
    _, inv = np.unique(both, axis=0, return_inverse=True)
    inv = np.asarray(inv).reshape(-1)
    return inv[: len(a)], inv[len(a):]


def _isin_rows(a: IntArray, b: IntArray) -> BoolArray:
    ia, ib = _row_ids(a, b)
    return np.isin(ia, ib)


def _lookup_rows(a: IntArray, b: IntArray) -> IntArray:
    """The index in ``b`` of each row of ``a`` (every row must be there)."""
    ia, ib = _row_ids(a, b)
    where = np.full(int(max(ia.max(initial=-1), ib.max(initial=-1))) + 1, -1, np.int64)
    where[ib] = np.arange(len(b))
    return where[ia]


def _apply(results: pa.Table, *, final_sup: BoolArray, hide_den: BoolArray, low_n_added: BoolArray,
           secondary: BoolArray) -> pa.Table:
    """Null what the suppression hides and mark the rows, keeping everything else."""
    cols = {name: results[name] for name in results.column_names}

    def null_where(name: str, mask: BoolArray) -> None:
        col = cols[name]
        cols[name] = pc.if_else(pa.array(mask), pa.nulls(len(mask), col.type), col)

    for name in ("numerator", "value", "ci_lower", "ci_upper"):
        null_where(name, final_sup)
    null_where("denominator", hide_den)
    cols["suppressed"] = pc.or_(pc.fill_null(results["suppressed"], False), pa.array(final_sup))
    cols["status"] = pc.if_else(pa.array(final_sup), pa.scalar("suppressed", results["status"].type),
                                results["status"])
    reason = pc.if_else(pa.array(low_n_added), pa.scalar("low_n", results["reason"].type), results["reason"])
    cols["reason"] = pc.if_else(pa.array(secondary), pa.scalar("secondary", results["reason"].type), reason)
    return pa.table([cols[name] for name in results.column_names], schema=results.schema)
