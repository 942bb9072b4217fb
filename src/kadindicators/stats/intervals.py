"""Confidence intervals for indicator results: proportions, counts, rates, DSRs and means.

Every function here is pure and vectorised: inputs are anything :func:`numpy.asarray`
accepts (one element per result cell, all of equal length), outputs are ``float64``
arrays of the same length. A result that is *undefined* -- a zero denominator, a
negative count, a numerator larger than its denominator, a non-finite input -- is
``NaN``; it is never an exception and never a numpy ``RuntimeWarning``. Callers turn
``NaN`` into Arrow nulls. Invalid *arguments* (a confidence level outside (0, 1),
arrays of different lengths, an unknown method) are programming errors and raise
:class:`ValueError`.

SciPy supplies the beta, gamma and Student-t quantiles; it is imported inside the
functions, so importing :mod:`kadindicators` does not import SciPy.
"""

from __future__ import annotations

from typing import Literal

import numpy as np
import numpy.typing as npt

__all__ = [
    "clopper_pearson",
    "dsr",
    "mean_t",
    "median_ci",
    "median_ranks",
    "poisson_exact",
    "rate_interval",
    "wilson",
]

FloatArray = npt.NDArray[np.float64]


# ----------------------------------------------------------------------------- helpers


def _alpha(confidence: float) -> float:
    """Two-sided error rate ``1 - confidence``; raises for a level outside (0, 1)."""
    c = float(confidence)
    if not 0.0 < c < 1.0:
        raise ValueError(f"confidence must be strictly between 0 and 1, got {confidence!r}")
    return 1.0 - c


def _z(confidence: float) -> float:
    """Standard normal quantile ``z`` with ``P(|Z| <= z) = confidence``."""
    from scipy.special import ndtri

    return float(ndtri(1.0 - _alpha(confidence) / 2.0))


def _as_float(x: npt.ArrayLike, name: str) -> FloatArray:
    """``x`` as a one-dimensional float64 array (a scalar becomes length 1)."""
    arr = np.asarray(x, dtype=np.float64)
    if arr.ndim == 0:
        arr = arr.reshape(1)
    if arr.ndim != 1:
        raise ValueError(f"{name} must be one-dimensional, got shape {arr.shape}")
    return arr


def _same_length(**arrays: npt.NDArray[np.generic]) -> int:
    lengths = {name: len(a) for name, a in arrays.items()}
    if len(set(lengths.values())) > 1:
        raise ValueError(f"arrays must have equal length, got {lengths}")
    return next(iter(lengths.values()))


def _group_codes(groups: npt.ArrayLike) -> npt.NDArray[np.intp]:
    """Check and convert per-row group codes: a one-dimensional array of non-negative integers."""
    g_raw = np.asarray(groups)
    if g_raw.ndim == 0:
        g_raw = g_raw.reshape(1)
    if g_raw.ndim != 1 or not (np.issubdtype(g_raw.dtype, np.integer) or g_raw.size == 0):
        raise ValueError("groups must be a one-dimensional integer array of group codes")
    return g_raw.astype(np.intp)


def _n_groups(g: npt.NDArray[np.intp], n_groups: int | None) -> int:
    """The number of groups: ``n_groups`` when given (it must fit every code), else the largest code + 1."""
    if g.size and g.min() < 0:
        raise ValueError("group codes must be non-negative")
    n_g = int(g.max()) + 1 if g.size else 0
    if n_groups is not None:
        if n_groups < n_g:
            raise ValueError(f"group code {n_g - 1} does not fit n_groups={n_groups}")
        n_g = int(n_groups)
    return n_g


def _proportion_inputs(
    numerator: npt.ArrayLike, denominator: npt.ArrayLike
) -> tuple[FloatArray, FloatArray, npt.NDArray[np.bool_]]:
    """Numerator, denominator and the mask of cells where a proportion is defined."""
    x = _as_float(numerator, "numerator")
    n = _as_float(denominator, "denominator")
    _same_length(numerator=x, denominator=n)
    with np.errstate(invalid="ignore"):
        ok = np.isfinite(x) & np.isfinite(n) & (n > 0) & (x >= 0) & (x <= n)
    return x, n, ok


# ----------------------------------------------------------------------------- proportions


def wilson(
    numerator: npt.ArrayLike, denominator: npt.ArrayLike, confidence: float = 0.95
) -> tuple[FloatArray, FloatArray]:
    """Wilson score interval for a proportion ``numerator / denominator``.

    The interval is the set of proportions not rejected by the two-sided score test,

    .. math::

        p_{lower,upper} = \\frac{2O + z^2 \\mp z\\sqrt{z^2 + 4Oq}}{2(n + z^2)},
        \\qquad q = 1 - O/n,

    the formula of the OHID Fingertips technical guidance. Limits are exactly 0 when
    ``numerator == 0`` and exactly 1 when ``numerator == denominator``.

    .. versionadded:: 0.1.0

    Parameters
    ----------
    numerator : array_like
        Observed number of units with the characteristic (``O``).
    denominator : array_like
        Number of units (``n``).
    confidence : float, default 0.95
        Two-sided confidence level in (0, 1).

    Returns
    -------
    lower, upper : ndarray of float64
        The limits on the 0--1 scale; ``NaN`` where the denominator is not positive,
        the numerator is negative or larger than the denominator, or an input is
        not finite.

    References
    ----------
    .. [1] Wilson EB. Probable inference, the law of succession, and statistical
       inference. J Am Stat Assoc 1927;22:209-212.
    .. [2] Newcombe RG. Two-sided confidence intervals for the single proportion:
       comparison of seven methods. Stat Med 1998;17:857-872 (method 3).
    .. [3] Office for Health Improvement and Disparities. Public Health Technical
       Guidance: Proportions.
       https://fingertips.phe.org.uk/static-reports/public-health-technical-guidance/Basic_statistics/Proportions.html

    Examples
    --------
    Newcombe's (1998) example of 81 out of 263:

    >>> import numpy as np
    >>> lower, upper = wilson([81, 0, 5], [263, 20, 0])
    >>> print(np.round(lower, 4), np.round(upper, 4))
    [0.2553 0.        nan] [0.3662 0.1611    nan]
    """
    x, n, ok = _proportion_inputs(numerator, denominator)
    z = _z(confidence)
    lower = np.full(x.shape, np.nan)
    upper = np.full(x.shape, np.nan)
    xo, no = x[ok], n[ok]
    z2 = z * z
    half_width = z * np.sqrt(z2 + 4.0 * xo * (1.0 - xo / no))
    denom = 2.0 * (no + z2)
    lo = (2.0 * xo + z2 - half_width) / denom
    hi = (2.0 * xo + z2 + half_width) / denom
    lower[ok] = np.where(xo == 0, 0.0, np.clip(lo, 0.0, 1.0))
    upper[ok] = np.where(xo == no, 1.0, np.clip(hi, 0.0, 1.0))
    return lower, upper


def clopper_pearson(
    numerator: npt.ArrayLike, denominator: npt.ArrayLike, confidence: float = 0.95
) -> tuple[FloatArray, FloatArray]:
    """Exact (Clopper-Pearson) binomial interval for a proportion.

    The limits are beta quantiles,
    ``lower = B^{-1}(alpha/2; x, n - x + 1)`` and
    ``upper = B^{-1}(1 - alpha/2; x + 1, n - x)``, with ``lower = 0`` when ``x = 0``
    and ``upper = 1`` when ``x = n``. Each tail has probability at most ``alpha/2``,
    so the interval is conservative.

    .. versionadded:: 0.1.0

    Parameters
    ----------
    numerator : array_like
        Observed number of units with the characteristic.
    denominator : array_like
        Number of units.
    confidence : float, default 0.95
        Two-sided confidence level in (0, 1).

    Returns
    -------
    lower, upper : ndarray of float64
        The limits on the 0--1 scale; ``NaN`` where undefined (as for :func:`wilson`).

    References
    ----------
    .. [1] Clopper CJ, Pearson ES. The use of confidence or fiducial limits
       illustrated in the case of the binomial. Biometrika 1934;26:404-413.
    .. [2] Newcombe RG. Two-sided confidence intervals for the single proportion:
       comparison of seven methods. Stat Med 1998;17:857-872 (method 5).

    Examples
    --------
    >>> import numpy as np
    >>> lower, upper = clopper_pearson([5, 81], [25, 263])
    >>> print(np.round(lower, 3), np.round(upper, 3))
    [0.068 0.253] [0.407 0.368]
    """
    from scipy.special import betaincinv

    x, n, ok = _proportion_inputs(numerator, denominator)
    alpha = _alpha(confidence)
    lower = np.full(x.shape, np.nan)
    upper = np.full(x.shape, np.nan)
    xo, no = x[ok], n[ok]
    # Safe shape parameters (> 0) where the limit is fixed at 0 or 1 anyway.
    a_lo = np.where(xo > 0, xo, 1.0)
    b_hi = np.where(xo < no, no - xo, 1.0)
    lo = betaincinv(a_lo, no - xo + 1.0, alpha / 2.0)
    hi = betaincinv(xo + 1.0, b_hi, 1.0 - alpha / 2.0)
    lower[ok] = np.where(xo > 0, lo, 0.0)
    upper[ok] = np.where(xo < no, hi, 1.0)
    return lower, upper


# ----------------------------------------------------------------------------- counts and rates


def poisson_exact(count: npt.ArrayLike, confidence: float = 0.95) -> tuple[FloatArray, FloatArray]:
    """Exact (Garwood) confidence interval for the mean of a Poisson count.

    ``lower = chi2^{-1}(alpha/2; 2x) / 2`` and
    ``upper = chi2^{-1}(1 - alpha/2; 2x + 2) / 2``, computed as the equivalent gamma
    quantiles; ``lower = 0`` when the count is 0. Non-integer counts are accepted
    (the gamma form is continuous in ``x``).

    .. versionadded:: 0.1.0

    Parameters
    ----------
    count : array_like
        Observed counts.
    confidence : float, default 0.95
        Two-sided confidence level in (0, 1).

    Returns
    -------
    lower, upper : ndarray of float64
        Limits for the expected count; ``NaN`` where the count is negative or not
        finite.

    References
    ----------
    .. [1] Garwood F. Fiducial limits for the Poisson distribution. Biometrika
       1936;28:437-442.
    .. [2] Breslow NE, Day NE. Statistical methods in cancer research, volume II.
       Lyon: IARC; 1987 (the chi-squared form).
    .. [3] Office for Health Improvement and Disparities. Public Health Technical
       Guidance: Rates ("counts of less than 10").
       https://fingertips.phe.org.uk/static-reports/public-health-technical-guidance/Basic_statistics/Rates.html

    Examples
    --------
    >>> import numpy as np
    >>> lower, upper = poisson_exact([0, 1, 10])
    >>> print(np.round(lower, 3), np.round(upper, 3))
    [0.    0.025 4.795] [ 3.689  5.572 18.39 ]
    """
    from scipy.special import gammaincinv

    x = _as_float(count, "count")
    alpha = _alpha(confidence)
    with np.errstate(invalid="ignore"):
        ok = np.isfinite(x) & (x >= 0)
    lower = np.full(x.shape, np.nan)
    upper = np.full(x.shape, np.nan)
    xo = x[ok]
    lo = gammaincinv(np.where(xo > 0, xo, 1.0), alpha / 2.0)
    lower[ok] = np.where(xo > 0, lo, 0.0)
    upper[ok] = gammaincinv(xo + 1.0, 1.0 - alpha / 2.0)
    return lower, upper


def rate_interval(
    count: npt.ArrayLike,
    exposure: npt.ArrayLike,
    multiplier: float = 1000.0,
    confidence: float = 0.95,
) -> tuple[FloatArray, FloatArray, FloatArray]:
    """Crude rate per ``multiplier`` units of exposure, with exact (Garwood) limits.

    ``value = multiplier * count / exposure``; the limits are the
    :func:`poisson_exact` limits of the count divided by the exposure (the exposure
    is treated as fixed, as in the OHID method for crude rates).

    .. versionadded:: 0.1.0

    Parameters
    ----------
    count : array_like
        Observed numbers of events.
    exposure : array_like
        Person-time (for KAD: bed days, person-years) at risk.
    multiplier : float, default 1000.0
        Rate expressed per this many units of exposure.
    confidence : float, default 0.95
        Two-sided confidence level in (0, 1).

    Returns
    -------
    value, lower, upper : ndarray of float64
        ``NaN`` where the exposure is not positive, the count is negative, or an
        input is not finite.

    References
    ----------
    .. [1] Garwood F. Fiducial limits for the Poisson distribution. Biometrika
       1936;28:437-442.
    .. [2] Office for Health Improvement and Disparities. Public Health Technical
       Guidance: Rates.
       https://fingertips.phe.org.uk/static-reports/public-health-technical-guidance/Basic_statistics/Rates.html

    Examples
    --------
    Ten readmissions over 2 000 bed days, per 1 000 bed days:

    >>> import numpy as np
    >>> value, lower, upper = rate_interval([10, 3], [2000, 0])
    >>> print(np.round(value, 3), np.round(lower, 3), np.round(upper, 3))
    [ 5. nan] [2.398   nan] [9.195   nan]
    """
    x = _as_float(count, "count")
    e = _as_float(exposure, "exposure")
    _same_length(count=x, exposure=e)
    mult = float(multiplier)
    lower_count, upper_count = poisson_exact(x, confidence)
    with np.errstate(invalid="ignore"):
        ok = np.isfinite(e) & (e > 0) & np.isfinite(lower_count)
    value = np.full(x.shape, np.nan)
    lower = np.full(x.shape, np.nan)
    upper = np.full(x.shape, np.nan)
    value[ok] = mult * x[ok] / e[ok]
    lower[ok] = mult * lower_count[ok] / e[ok]
    upper[ok] = mult * upper_count[ok] / e[ok]
    return value, lower, upper


# ----------------------------------------------------------------------------- standardised rates


def dsr(
    counts: npt.ArrayLike,
    populations: npt.ArrayLike,
    standard: npt.ArrayLike,
    *,
    groups: npt.ArrayLike,
    multiplier: float = 1000.0,
    confidence: float = 0.95,
    method: Literal["dobson", "gamma"] = "dobson",
    n_groups: int | None = None,
    empty_strata: Literal["undefined", "zero"] = "undefined",
) -> tuple[FloatArray, FloatArray, FloatArray]:
    """Directly standardised rates with confidence limits, one per group.

    The input is long format: one row per (group x stratum), e.g. municipality x
    age band. For group ``g`` with rows ``i``, standard weights ``w_i``, counts
    ``O_i`` and populations ``n_i``,

    .. math::

        DSR = \\frac{\\sum_i w_i O_i / n_i}{\\sum_i w_i}, \\qquad
        \\operatorname{var}(DSR) = \\frac{\\sum_i w_i^2 O_i / n_i^2}{(\\sum_i w_i)^2},

    times ``multiplier``.

    ``method="dobson"`` (Dobson et al. 1991; the OHID/PHE method) treats the DSR as a
    linear function of the total count ``O = sum(O_i)``:
    ``DSR + sqrt(var / O) * (O_lower - O)`` and likewise for the upper limit, with
    ``(O_lower, O_upper)`` the exact Garwood limits of ``O`` (:func:`poisson_exact`).
    The limits are undefined (``NaN``) when ``O = 0``; a lower limit below 0 (possible
    only with very uneven weights and few events) is set to 0. OHID computes
    ``(O_lower, O_upper)`` with Byar's approximation, which is within 0.2% of the exact
    limits for ``O >= 10``, and does not publish DSRs for ``O < 10``.

    ``method="gamma"`` (Fay & Feuer 1997) uses gamma quantiles with shape
    ``DSR^2 / var`` and scale ``var / DSR`` for the lower limit, and adds
    ``w_M = max_i (w_i / sum(w)) / n_i`` to the mean and ``w_M^2`` to the variance for
    the upper limit. It is defined for ``O = 0`` (lower limit 0) and is conservative.

    A stratum of the standard can be empty in a group (no population, so no events
    either: a small municipality without men aged 90 or over). By default such a row
    makes the group's result undefined; ``empty_strata="zero"`` takes its specific rate
    as 0 and keeps its weight in ``sum(w)`` (the convention of keeping every stratum of
    the standard, as in EpiStandard's ``addMissingGroups`` or bcEpiRate's
    ``clean_strata = "zero"``): it adds nothing to the rate or the variance and is left
    out of ``w_M``. A row with population 0 and events is undefined either way.

    .. versionadded:: 0.1.0
    .. versionchanged:: 0.2.0
       ``empty_strata``.

    Parameters
    ----------
    counts : array_like
        Events per row (``O_i``).
    populations : array_like
        Population or person-time per row (``n_i``).
    standard : array_like
        Standard-population weight of each row's stratum (``w_i``); only the
        weights' proportions within a group matter.
    groups : array_like of int
        Group code per row, ``0 .. G-1``.
    multiplier : float, default 1000.0
        Rates are expressed per this many units of population.
    confidence : float, default 0.95
        Two-sided confidence level in (0, 1).
    method : {"dobson", "gamma"}, default "dobson"
        Interval method.
    n_groups : int, optional
        Number of groups ``G`` (length of the result); defaults to
        ``max(groups) + 1``. Groups without rows get ``NaN``.
    empty_strata : {"undefined", "zero"}, default "undefined"
        What a row with population 0 and count 0 means: the group's result is
        undefined (``NaN``), or the stratum's rate is 0 and its weight is kept.

    Returns
    -------
    value, lower, upper : ndarray of float64, length G
        ``NaN`` for a group whose total population is zero, that has a row with a
        non-positive population, a negative count or weight, or a non-finite input,
        or whose standard weights sum to zero; for ``method="dobson"`` the limits
        (not the value) are also ``NaN`` when the group has no events.

    Raises
    ------
    ValueError
        If the row arrays differ in length, ``groups`` is not a non-negative integer
        array (or has codes ``>= n_groups``), ``confidence`` is outside (0, 1) or
        ``method`` is unknown.

    References
    ----------
    .. [1] Dobson AJ, Kuulasmaa K, Eberle E, Scherer J. Confidence intervals for
       weighted sums of Poisson parameters. Stat Med 1991;10:457-462.
    .. [2] Fay MP, Feuer EJ. Confidence intervals for directly standardized rates: a
       method based on the gamma distribution. Stat Med 1997;16:791-801.
    .. [3] Office for Health Improvement and Disparities. Public Health Technical
       Guidance: Directly standardised rates / Technical Guide: Confidence
       Intervals (Appendix 4, Dobson's method).
       https://fingertips.phe.org.uk/profile/guidance

    Examples
    --------
    Two municipalities, three age bands, rates per 1 000:

    >>> import numpy as np
    >>> counts = [2, 5, 20, 1, 4, 12]
    >>> pops = [1000, 800, 400, 1500, 900, 300]
    >>> standard = [0.5, 0.3, 0.2] * 2
    >>> groups = [0, 0, 0, 1, 1, 1]
    >>> value, lower, upper = dsr(counts, pops, standard, groups=groups)
    >>> print(np.round(value, 2), np.round(lower, 2), np.round(upper, 2))
    [12.88  9.67] [8.46 5.49] [18.76 15.68]
    """
    if method not in ("dobson", "gamma"):
        raise ValueError(f"method must be 'dobson' or 'gamma', got {method!r}")
    if empty_strata not in ("undefined", "zero"):
        raise ValueError(f"empty_strata must be 'undefined' or 'zero', got {empty_strata!r}")
    alpha = _alpha(confidence)
    o = _as_float(counts, "counts")
    n = _as_float(populations, "populations")
    w = _as_float(standard, "standard")
    g = _group_codes(groups)
    _same_length(counts=o, populations=n, standard=w, groups=g.astype(np.float64))
    n_g = _n_groups(g, n_groups)
    mult = float(multiplier)

    with np.errstate(invalid="ignore"):
        populated = np.isfinite(n) & (n > 0)
        empty = (n == 0) & (o == 0) if empty_strata == "zero" else np.zeros(n.shape, dtype=bool)
        row_ok = np.isfinite(o) & np.isfinite(w) & (o >= 0) & (w >= 0) & (populated | empty)
    bad_rows = np.bincount(g, weights=(~row_ok).astype(np.float64), minlength=n_g)
    rows = np.bincount(g, minlength=n_g)
    # Row terms, zeroed on bad rows (their groups are NaN anyway) and on empty strata.
    safe_n = np.where(row_ok & populated, n, 1.0)
    o_ok = np.where(row_ok, o, 0.0)
    w_ok = np.where(row_ok, w, 0.0)
    sum_w = np.bincount(g, weights=w_ok, minlength=n_g)
    total_o = np.bincount(g, weights=o_ok, minlength=n_g)
    total_n = np.bincount(g, weights=np.where(row_ok, n, 0.0), minlength=n_g)
    weighted = np.bincount(g, weights=w_ok * o_ok / safe_n, minlength=n_g)
    weighted_var = np.bincount(g, weights=w_ok * w_ok * o_ok / (safe_n * safe_n), minlength=n_g)

    ok = (rows > 0) & (bad_rows == 0) & (total_n > 0) & (sum_w > 0)
    value = np.full(n_g, np.nan)
    lower = np.full(n_g, np.nan)
    upper = np.full(n_g, np.nan)
    s = sum_w[ok]
    y = weighted[ok] / s  # DSR per unit of population
    v = weighted_var[ok] / (s * s)
    value[ok] = mult * y

    if method == "dobson":
        big_o = total_o[ok]
        has_events = big_o > 0
        o_lower, o_upper = poisson_exact(big_o, confidence)
        scale = np.sqrt(v / np.where(has_events, big_o, 1.0))
        # Dobson's lower limit can fall below 0 for very uneven weights; a rate is >= 0.
        lo = np.where(has_events, np.maximum(y + scale * (o_lower - big_o), 0.0), np.nan)
        hi = np.where(has_events, y + scale * (o_upper - big_o), np.nan)
    else:
        from scipy.special import gammaincinv

        # w_M: the largest normalised weight per unit of population in the group.
        w_over_n = np.full(n_g, -np.inf)
        np.maximum.at(w_over_n, g, np.where(populated, w_ok / safe_n, -np.inf))
        wm = w_over_n[ok] / s
        positive = y > 0
        safe_y = np.where(positive, y, 1.0)
        safe_v = np.where(positive, v, 1.0)
        lo = np.where(
            positive, gammaincinv(safe_y * safe_y / safe_v, alpha / 2.0) * safe_v / safe_y, 0.0
        )
        shape_hi = (y + wm) ** 2 / (v + wm * wm)
        scale_hi = (v + wm * wm) / (y + wm)
        hi = gammaincinv(shape_hi, 1.0 - alpha / 2.0) * scale_hi
    lower[ok] = mult * lo
    upper[ok] = mult * hi
    return value, lower, upper


# ----------------------------------------------------------------------------- means


def mean_t(
    total: npt.ArrayLike,
    total_sq: npt.ArrayLike,
    n: npt.ArrayLike,
    confidence: float = 0.95,
) -> tuple[FloatArray, FloatArray, FloatArray]:
    """Mean with a Student-t interval, from additive sufficient statistics.

    With ``S = sum(x)``, ``Q = sum(x**2)`` and ``n`` observations, the sample variance
    is ``s^2 = (Q - S^2 / n) / (n - 1)`` and the interval is
    ``S/n -/+ t_{n-1, 1-alpha/2} * s / sqrt(n)``. Because ``S``, ``Q`` and ``n`` add
    up across partitions, partial aggregates (per file, per month, per municipality)
    can be summed first and the interval computed once. A variance that comes out
    slightly negative through rounding is taken as 0.

    .. versionadded:: 0.1.0

    Parameters
    ----------
    total : array_like
        Sum of the observations.
    total_sq : array_like
        Sum of the squared observations.
    n : array_like
        Number of observations.
    confidence : float, default 0.95
        Two-sided confidence level in (0, 1).

    Returns
    -------
    mean, lower, upper : ndarray of float64
        ``mean`` is ``NaN`` when ``n < 1``; the limits are ``NaN`` when ``n < 2``;
        all three are ``NaN`` for non-finite inputs.

    References
    ----------
    .. [1] Student. The probable error of a mean. Biometrika 1908;6:1-25.
    .. [2] Office for Health Improvement and Disparities. Public Health Technical
       Guidance: Means (t-distribution method).
       https://fingertips.phe.org.uk/profile/guidance
    .. [3] Chan TF, Golub GH, LeVeque RJ. Algorithms for computing the sample
       variance: analysis and recommendations. Am Stat 1983;37:242-247 (on
       combining partial sums).

    Examples
    --------
    Length of stay (days) 1, 2, 2, 3, 7 in one partition and 4, 4 in another:

    >>> import numpy as np
    >>> parts = np.array([[15.0, 67.0, 5], [8.0, 32.0, 2]])
    >>> s, q, k = parts.sum(axis=0)
    >>> mean, lower, upper = mean_t([s, 5.0], [q, 25.0], [k, 1])
    >>> print(np.round(mean, 3), np.round(lower, 3), np.round(upper, 3))
    [3.286 5.   ] [1.458   nan] [5.113   nan]
    """
    from scipy.special import stdtrit

    s = _as_float(total, "total")
    q = _as_float(total_sq, "total_sq")
    k = _as_float(n, "n")
    _same_length(total=s, total_sq=q, n=k)
    alpha = _alpha(confidence)
    with np.errstate(invalid="ignore"):
        finite = np.isfinite(s) & np.isfinite(q) & np.isfinite(k)
        has_mean = finite & (k >= 1)
        has_ci = finite & (k >= 2)
    mean = np.full(s.shape, np.nan)
    lower = np.full(s.shape, np.nan)
    upper = np.full(s.shape, np.nan)
    mean[has_mean] = s[has_mean] / k[has_mean]
    sc, qc, kc = s[has_ci], q[has_ci], k[has_ci]
    var = np.maximum((qc - sc * sc / kc) / (kc - 1.0), 0.0)
    half = stdtrit(kc - 1.0, 1.0 - alpha / 2.0) * np.sqrt(var / kc)
    lower[has_ci] = sc / kc - half
    upper[has_ci] = sc / kc + half
    return mean, lower, upper


# ----------------------------------------------------------------------------- medians


def median_ranks(n: npt.ArrayLike, confidence: float = 0.95) -> tuple[FloatArray, FloatArray]:
    """Ranks of the distribution-free (order-statistic) confidence interval for a median.

    For ``n`` observations sorted as ``x_(1) <= ... <= x_(n)``, the interval is
    ``[x_(l), x_(u)]`` with ``u = n + 1 - l`` and ``l`` the largest rank with

    .. math::

        P(B \\le l - 1) \\le \\alpha / 2, \\qquad B \\sim \\operatorname{Binomial}(n, 1/2).

    The number of observations below the population median is ``Binomial(n, 1/2)``
    whatever the distribution (for a continuous one; ties only make the interval
    more conservative), so the interval covers the median with probability
    ``1 - 2 P(B <= l - 1) >= 1 - alpha``. No rank qualifies when ``2^{1-n} > alpha``
    (``n <= 5`` at 95 %): the ranks are then ``NaN``.

    .. versionadded:: 0.2.0

    Parameters
    ----------
    n : array_like
        Numbers of observations (non-negative integers).
    confidence : float, default 0.95
        Two-sided confidence level in (0, 1).

    Returns
    -------
    lower, upper : ndarray of float64
        1-based ranks ``l`` and ``u``; ``NaN`` where no interval reaches the
        confidence level, or ``n`` is not a non-negative integer.

    References
    ----------
    .. [1] Conover WJ. Practical nonparametric statistics, 3rd ed. New York: Wiley;
       1999. Section 3.2 (confidence interval for a quantile).
    .. [2] Campbell MJ, Gardner MJ. Calculating confidence intervals for some
       non-parametric analyses. BMJ 1988;296:1454-1456 (exact ranks for the median).

    Examples
    --------
    The exact 95 % ranks for 6, 9, 10, 12 and 20 observations (and none for 5):

    >>> lower, upper = median_ranks([5, 6, 9, 10, 12, 20])
    >>> print(lower, upper)
    [nan  1.  2.  2.  3.  6.] [nan  6.  8.  9. 10. 15.]
    """
    from scipy.special import bdtr

    k = _as_float(n, "n")
    half_alpha = _alpha(confidence) / 2.0
    with np.errstate(invalid="ignore"):
        ok = np.isfinite(k) & (k >= 1) & (k == np.floor(k))
    lower = np.full(k.shape, np.nan)
    upper = np.full(k.shape, np.nan)
    ko = k[ok].astype(np.int64)  # scipy's binomial CDF takes integer n and k
    # A tolerance far below any binomial probability step, so that a tail exactly
    # equal to alpha/2 (possible for levels like 0.5) is accepted.
    limit = half_alpha * (1.0 + 1e-9)
    # Start from the normal approximation and correct it to the exact rank: l - 1 is the
    # largest q with P(B <= q) <= alpha/2 (q = -1 when even P(B <= 0) is too large).
    z = _z(confidence)
    q = np.clip(np.floor(ko / 2.0 - z * np.sqrt(ko) / 2.0), -1, ko).astype(np.int64)
    for _ in range(64):  # each pass moves q one step; the start is within a few steps
        too_high = (q >= 0) & (bdtr(np.maximum(q, 0), ko, 0.5) > limit)
        too_low = (q + 1 < ko) & (bdtr(q + 1, ko, 0.5) <= limit)
        if not (too_high.any() or too_low.any()):
            break
        q = q - too_high.astype(np.int64) + too_low.astype(np.int64)
    rank = (q + 1).astype(np.float64)
    has = rank >= 1
    lower[ok] = np.where(has, rank, np.nan)
    upper[ok] = np.where(has, ko + 1.0 - rank, np.nan)
    return lower, upper


def _by_group_then_value(g: npt.NDArray[np.intp], v: FloatArray, n_groups: int) -> npt.NDArray[np.intp]:
    """Positions that sort the rows by group, then by value (as ``np.lexsort((v, g))``, ties aside).

    One sort of the values, then a stable sort by group code, which numpy does as a
    radix sort when the codes fit 16 bits: about twice as fast as a lexsort.
    """
    by_value = np.argsort(v)
    small = np.int16 if n_groups <= np.iinfo(np.int16).max else np.int32 if n_groups <= np.iinfo(np.int32).max \
        else np.int64
    return np.asarray(by_value[np.argsort(g[by_value].astype(small), kind="stable")])


def median_ci(
    values: npt.ArrayLike,
    *,
    groups: npt.ArrayLike,
    confidence: float = 0.95,
    n_groups: int | None = None,
) -> tuple[FloatArray, FloatArray, FloatArray]:
    """Median of each group with its distribution-free (order-statistic) interval.

    The median is the middle value, or the mean of the two middle values for an even
    number; the limits are the order statistics at the ranks of :func:`median_ranks`.
    The input is long format (one value per row, with its group code), so the values
    of disjoint partitions can simply be concatenated.

    .. versionadded:: 0.2.0

    Parameters
    ----------
    values : array_like
        One observation per row; ``NaN`` rows are ignored.
    groups : array_like of int
        Group code per row, ``0 .. G-1``.
    confidence : float, default 0.95
        Two-sided confidence level in (0, 1).
    n_groups : int, optional
        Number of groups ``G``; defaults to ``max(groups) + 1``.

    Returns
    -------
    median, lower, upper : ndarray of float64, length G
        ``NaN`` for a group without values; the limits are ``NaN`` when the group has
        too few values for the confidence level (5 or fewer at 95 %).

    References
    ----------
    .. [1] Conover WJ. Practical nonparametric statistics, 3rd ed. New York: Wiley;
       1999. Section 3.2.
    .. [2] Campbell MJ, Gardner MJ. Calculating confidence intervals for some
       non-parametric analyses. BMJ 1988;296:1454-1456.

    Examples
    --------
    Lengths of stay (days) of ten stays: the 95 % interval is from the 2nd to the 9th
    smallest value.

    >>> import numpy as np
    >>> los = [0.5, 1.2, 1.9, 2.0, 2.4, 3.1, 3.3, 4.8, 7.0, 12.5]
    >>> median, lower, upper = median_ci(los, groups=[0] * 10)
    >>> print(median, lower, upper)
    [2.75] [1.2] [7.]
    """
    v = _as_float(values, "values")
    g = _group_codes(groups)
    _same_length(values=v, groups=g)
    n_g = _n_groups(g, n_groups)
    median = np.full(n_g, np.nan)
    lower = np.full(n_g, np.nan)
    upper = np.full(n_g, np.nan)
    present = ~np.isnan(v)
    if not present.all():
        v, g = v[present], g[present]
    if v.size == 0:
        return median, lower, upper
    counts_all = np.bincount(g, minlength=n_g)
    group = np.flatnonzero(counts_all)
    counts = counts_all[group]
    lo_rank, hi_rank = median_ranks(counts, confidence)
    has = ~np.isnan(lo_rank)
    # 0-based positions, within each group sorted by value, of the values needed
    ranks = np.stack([(counts - 1) // 2, counts // 2,
                      np.where(has, np.nan_to_num(lo_rank) - 1, 0).astype(np.int64),
                      np.where(has, np.nan_to_num(hi_rank) - 1, 0).astype(np.int64)], axis=1)
    at = _order_statistics(v, g, n_g, counts_all, group, ranks)
    median[group] = (at[:, 0] + at[:, 1]) / 2.0
    lower[group[has]] = at[has, 2]
    upper[group[has]] = at[has, 3]
    return median, lower, upper


def _order_statistics(v: FloatArray, g: npt.NDArray[np.intp], n_groups: int, counts_all: npt.NDArray[np.int64],
                      group: npt.NDArray[np.int64], ranks: npt.NDArray[np.int64]) -> FloatArray:
    """The values at 0-based positions ``ranks[j]`` of group ``group[j]``'s values sorted ascending.

    Few groups for many values: the values are put in group order (a radix sort of the
    codes) and each group is partitioned at its positions (linear time, one call per
    group). Many groups: one sort by group and value.
    """
    starts = np.cumsum(counts_all)[group] - counts_all[group]
    if group.size <= max(1000, v.size // 1000):
        small = np.int16 if n_groups <= np.iinfo(np.int16).max else np.int32 \
            if n_groups <= np.iinfo(np.int32).max else np.int64
        vs = v[np.argsort(g.astype(small), kind="stable")]
        out = np.empty(ranks.shape, dtype=np.float64)
        for j, (s, m) in enumerate(zip(starts.tolist(), counts_all[group].tolist(), strict=True)):
            part = vs[s:s + m]
            kth = np.unique(ranks[j])
            part.partition(kth)
            out[j] = part[ranks[j]]
        return out
    vs = v[_by_group_then_value(g, v, n_groups)]
    return np.asarray(vs[starts[:, None] + ranks])
