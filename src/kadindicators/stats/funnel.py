"""Funnel-plot control limits, over-dispersion and outlier flags (Spiegelhalter 2005).

A funnel plot shows each unit's indicator value against its denominator (cases,
bed days) with control limits around a *target* -- usually the pooled value of all
units -- that narrow as the denominator grows. A unit outside the ``p``-limits
deviates from the target more than chance alone would explain at level ``p``.

Conventions are those of :mod:`kadindicators.stats.intervals`: vectorised, pure,
``float64`` outputs, ``NaN`` where a limit is undefined (a zero denominator), never
a numpy ``RuntimeWarning``; invalid *arguments* (a target outside its range, a
level outside (0, 1)) raise :class:`ValueError`. SciPy is imported inside the
functions.

Limits without over-dispersion are *exact* with Spiegelhalter's interpolation of the
discrete quantile: for a level ``p`` (e.g. 0.975 for the upper 95% limit) and
``R ~ Binomial(n, target)`` (or ``Poisson(target * exposure)``), let ``r_p`` be the
smallest ``r`` with ``P(R <= r) >= p`` and

.. math::

    \\alpha = \\frac{P(R \\le r_p) - p}{P(R \\le r_p) - P(R \\le r_p - 1)},
    \\qquad \\text{limit} = \\frac{r_p - \\alpha}{n}.

This is where the cumulative distribution function, linearly interpolated between
consecutive integers, crosses ``p``; the limits are therefore smooth in ``n`` instead
of the saw-tooth of raw quantiles. Lower limits below 0 (possible for very small
``n``) are set to 0.

With a multiplicative over-dispersion factor ``phi > 1`` the limits use the normal
approximation with inflated variance, ``target +/- z_p * sqrt(phi * V(target) / n)``
(``V(t) = t(1 - t)`` for proportions, ``V(t) = t`` for rates), again clipped to the
range of the indicator. ``phi`` of ``None`` or ``<= 1`` means no adjustment and the
exact limits.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Literal

import numpy as np
import numpy.typing as npt

from .intervals import FloatArray, _as_float, _same_length

__all__ = [
    "outlier_flags",
    "overdispersion_factor",
    "poisson_limits",
    "proportion_limits",
]

Family = Literal["binomial", "poisson"]
Limits = dict[float, tuple[FloatArray, FloatArray]]


# ----------------------------------------------------------------------------- helpers


def _check_levels(levels: Sequence[float]) -> list[float]:
    out = [float(level) for level in levels]
    if not out:
        raise ValueError("levels must not be empty")
    for level in out:
        if not 0.0 < level < 1.0:
            raise ValueError(f"levels must be strictly between 0 and 1, got {level!r}")
    return out


def _check_phi(overdispersion: float | None) -> float | None:
    """``None`` when no adjustment applies, else the factor (> 1)."""
    if overdispersion is None:
        return None
    phi = float(overdispersion)
    if not math.isfinite(phi) or phi < 0:
        raise ValueError(f"overdispersion must be a finite number >= 0, got {overdispersion!r}")
    return phi if phi > 1.0 else None


def _check_target(target: float, family: Family) -> float:
    t = float(target)
    if family == "binomial":
        if not 0.0 <= t <= 1.0:
            raise ValueError(f"target proportion must be within [0, 1], got {target!r}")
    elif family == "poisson":
        if not (math.isfinite(t) and t >= 0.0):
            raise ValueError(f"target rate must be a finite number >= 0, got {target!r}")
    else:
        raise ValueError(f"family must be 'binomial' or 'poisson', got {family!r}")
    return t


def _interpolated_quantile(
    p: float, size: FloatArray, target: float, family: Family
) -> FloatArray:
    """Spiegelhalter's interpolated ``p``-quantile of the count, divided by ``size``."""
    from scipy import stats

    dist = stats.binom(size, target) if family == "binomial" else stats.poisson(size * target)
    r = np.asarray(dist.ppf(p), dtype=np.float64)
    cdf_r = np.asarray(dist.cdf(r), dtype=np.float64)
    pmf_r = np.asarray(dist.pmf(r), dtype=np.float64)
    with np.errstate(invalid="ignore", divide="ignore"):
        frac = np.where(pmf_r > 0, (cdf_r - p) / np.where(pmf_r > 0, pmf_r, 1.0), 0.0)
        limit = (r - frac) / size
    return np.asarray(limit, dtype=np.float64)


def _limits(
    target: float,
    size: FloatArray,
    levels: Sequence[float],
    phi: float | None,
    family: Family,
) -> Limits:
    from scipy.special import ndtri

    with np.errstate(invalid="ignore"):
        ok = np.isfinite(size) & (size > 0)
        if family == "binomial":
            ok &= size == np.floor(size)
    s = size[ok]
    upper_bound = 1.0 if family == "binomial" else np.inf
    degenerate = target == 0.0 or (family == "binomial" and target == 1.0)
    variance = target * (1.0 - target) if family == "binomial" else target
    out: Limits = {}
    for level in _check_levels(levels):
        p_lo = (1.0 - level) / 2.0
        p_hi = 1.0 - p_lo
        lower = np.full(size.shape, np.nan)
        upper = np.full(size.shape, np.nan)
        if degenerate:
            lo = np.full(s.shape, target)
            hi = np.full(s.shape, target)
        elif phi is not None:
            half = float(ndtri(p_hi)) * np.sqrt(phi * variance / s)
            lo = target - half
            hi = target + half
        else:
            lo = _interpolated_quantile(p_lo, s, target, family)
            hi = _interpolated_quantile(p_hi, s, target, family)
        lower[ok] = np.clip(lo, 0.0, upper_bound)
        upper[ok] = np.clip(hi, 0.0, upper_bound)
        out[level] = (lower, upper)
    return out


def _level_code(level: float) -> str:
    """0.95 -> "95", 0.998 -> "998", 0.999 -> "999", 0.9 -> "90"."""
    return f"{level * 100:.10g}".replace(".", "")


# ----------------------------------------------------------------------------- public API


def proportion_limits(
    target: float,
    denominators: npt.ArrayLike,
    levels: Sequence[float] = (0.95, 0.998),
    overdispersion: float | None = None,
) -> Limits:
    """Funnel-plot control limits for a proportion around ``target``.

    Without over-dispersion the limits are exact binomial ``Binomial(n, target)``
    quantiles with Spiegelhalter's interpolation [1]_ [2]_ (see the module docstring); with
    ``overdispersion = phi > 1`` they are ``target +/- z * sqrt(phi * target *
    (1 - target) / n)``. Limits are clipped to [0, 1]. For ``target`` of exactly 0 or
    1 both limits equal the target.

    .. versionadded:: 0.1.0

    Parameters
    ----------
    target : float
        Target proportion in [0, 1], e.g. the pooled proportion of all units.
    denominators : array_like
        Denominator of each unit (whole numbers).
    levels : sequence of float, default (0.95, 0.998)
        Two-sided control levels; 0.95 and 0.998 correspond roughly to 2 and 3
        standard deviations.
    overdispersion : float, optional
        Multiplicative over-dispersion factor ``phi``, e.g. from
        :func:`overdispersion_factor`; ``None`` or ``<= 1`` gives the exact limits.

    Returns
    -------
    dict of float to (lower, upper)
        For each level, arrays of limits on the 0--1 scale; ``NaN`` where the
        denominator is not positive, not finite or not a whole number.

    References
    ----------
    .. [1] Spiegelhalter DJ. Funnel plots for comparing institutional performance.
       Stat Med 2005;24:1185-1202 (Appendix: exact limits with interpolation;
       section 6: over-dispersion).
    .. [2] Public Health England. Technical Guide: Funnel plots (2017).
       https://fingertips.phe.org.uk/profile/guidance

    Examples
    --------
    >>> import numpy as np
    >>> limits = proportion_limits(0.2, [10, 100, 1000, 0])
    >>> lower, upper = limits[0.95]
    >>> print(np.round(lower, 3), np.round(upper, 3))
    [0.    0.12  0.175   nan] [0.429 0.276 0.225   nan]
    """
    t = _check_target(target, "binomial")
    return _limits(t, _as_float(denominators, "denominators"), levels, _check_phi(overdispersion), "binomial")


def poisson_limits(
    target_rate: float,
    exposures: npt.ArrayLike,
    levels: Sequence[float] = (0.95, 0.998),
    overdispersion: float | None = None,
) -> Limits:
    """Funnel-plot control limits for a rate (events per unit of exposure).

    The count of a unit with exposure ``E`` is ``Poisson(target_rate * E)``; the
    limits are its interpolated exact quantiles divided by ``E`` (Spiegelhalter
    2005 [1]_ [2]_), or with ``overdispersion = phi > 1``
    ``target_rate +/- z * sqrt(phi * target_rate / E)``. Lower limits are clipped at 0.
    For standardised ratios (observed / expected) use ``target_rate=1`` and the
    expected counts as exposures. Rates here are per *one* unit of exposure: multiply
    the target and the limits alike to plot per 1 000.

    .. versionadded:: 0.1.0

    Parameters
    ----------
    target_rate : float
        Target rate per unit of exposure (>= 0).
    exposures : array_like
        Exposure of each unit (bed days, person-years, expected counts).
    levels : sequence of float, default (0.95, 0.998)
        Two-sided control levels.
    overdispersion : float, optional
        Multiplicative over-dispersion factor; ``None`` or ``<= 1`` gives the exact
        limits.

    Returns
    -------
    dict of float to (lower, upper)
        For each level, arrays of rate limits; ``NaN`` where the exposure is not
        positive or not finite.

    References
    ----------
    .. [1] Spiegelhalter DJ. Funnel plots for comparing institutional performance.
       Stat Med 2005;24:1185-1202.
    .. [2] Public Health England. Technical Guide: Funnel plots (2017).
       https://fingertips.phe.org.uk/profile/guidance

    Examples
    --------
    Target 5 readmissions per 1 000 bed days, i.e. 0.005 per bed day:

    >>> import numpy as np
    >>> lower, upper = poisson_limits(0.005, [1000, 10000])[0.95]
    >>> print(np.round(1000 * lower, 2), np.round(1000 * upper, 2))
    [0.54 3.61] [9.38 6.38]
    """
    t = _check_target(target_rate, "poisson")
    return _limits(t, _as_float(exposures, "exposures"), levels, _check_phi(overdispersion), "poisson")


def overdispersion_factor(
    numerators: npt.ArrayLike,
    denominators: npt.ArrayLike,
    target: float,
    *,
    winsor: float = 0.1,
    family: Family = "binomial",
) -> float:
    """Multiplicative over-dispersion factor ``phi`` from Winsorised z-scores.

    Each eligible unit ``i`` gets a z-score ``z_i = (y_i - target) / sqrt(V(target) /
    n_i)`` with ``y_i = numerator / denominator``, ``V(t) = t(1 - t)`` for
    ``family="binomial"`` (proportions) and ``V(t) = t`` for ``family="poisson"``
    (rates: numerators are counts, denominators exposures). The z-scores below their
    ``winsor`` quantile are set to that quantile and those above the ``1 - winsor``
    quantile to that quantile (quantiles by linear interpolation, R type 7); then
    ``phi = mean(z_i**2)`` over the ``I`` eligible units.

    Rules: a unit is eligible when its denominator is positive and finite and its
    numerator finite and non-negative (and not above the denominator for
    proportions). The result is ``1.0`` -- no adjustment -- when ``phi <= 1``, when
    ``target`` is 0 (or 1 for proportions) so that no variance is expected, or when
    there are too few units: fewer than ``ceil(1 / winsor)`` (10 for the default
    ``winsor=0.1``, so that Winsorisation can act on a whole unit in each tail), and
    never fewer than 2 [1]_ [2]_. Spiegelhalter additionally suggests adjusting only when
    ``I * phi`` exceeds the upper quantile of ``chi2(I - 1)``; that test is left to
    the caller.

    .. versionadded:: 0.1.0

    Parameters
    ----------
    numerators, denominators : array_like
        Per-unit numerators and denominators.
    target : float
        Target proportion (or rate per unit of exposure).
    winsor : float, default 0.1
        Fraction Winsorised in each tail, in [0, 0.5).
    family : {"binomial", "poisson"}, default "binomial"
        Proportions or rates.

    Returns
    -------
    float
        ``phi >= 1``, to pass as ``overdispersion`` to :func:`proportion_limits`,
        :func:`poisson_limits` or :func:`outlier_flags`.

    References
    ----------
    .. [1] Spiegelhalter DJ. Funnel plots for comparing institutional performance.
       Stat Med 2005;24:1185-1202 (section 6).
    .. [2] Spiegelhalter DJ. Handling over-dispersion of performance indicators.
       Qual Saf Health Care 2005;14:347-351.

    Examples
    --------
    >>> import numpy as np
    >>> num = np.array([5, 30, 12, 45, 8, 22, 15, 40, 3, 27])
    >>> den = np.full(10, 100)
    >>> round(overdispersion_factor(num, den, num.sum() / den.sum()), 3)
    10.12
    >>> overdispersion_factor([10, 11], [100, 100], 0.105)
    1.0
    """
    t = _check_target(target, family)
    w = float(winsor)
    if not 0.0 <= w < 0.5:
        raise ValueError(f"winsor must be within [0, 0.5), got {winsor!r}")
    x = _as_float(numerators, "numerators")
    n = _as_float(denominators, "denominators")
    _same_length(numerators=x, denominators=n)
    variance = t * (1.0 - t) if family == "binomial" else t
    if variance <= 0.0:
        return 1.0
    with np.errstate(invalid="ignore"):
        ok = np.isfinite(x) & np.isfinite(n) & (n > 0) & (x >= 0)
        if family == "binomial":
            ok &= x <= n
    min_units = max(2, math.ceil(1.0 / w - 1e-9)) if w > 0 else 2
    if int(ok.sum()) < min_units:
        return 1.0
    xo, no = x[ok], n[ok]
    z = (xo / no - t) / np.sqrt(variance / no)
    if w > 0:
        lo, hi = np.quantile(z, [w, 1.0 - w])
        z = np.clip(z, lo, hi)
    phi = float(np.mean(z * z))
    return max(phi, 1.0)


def outlier_flags(
    numerators: npt.ArrayLike,
    denominators: npt.ArrayLike,
    target: float,
    levels: Sequence[float] = (0.95, 0.998),
    *,
    overdispersion: float | None = None,
    family: Family = "binomial",
) -> npt.NDArray[np.str_]:
    """Classify each unit against the funnel limits around ``target``.

    A unit is ``"high_<L>"`` when its value ``numerator / denominator`` is strictly
    above the upper limit at level ``L`` and ``"low_<L>"`` when strictly below the
    lower one, using the widest level it falls outside; a value on a limit is
    within [1]_ [2]_. ``<L>`` is the level in per cent without the point: 0.95 -> ``95``,
    0.998 -> ``998``. With the default levels the codes are ``"high_998"``,
    ``"high_95"``, ``"within"``, ``"low_95"``, ``"low_998"`` and
    ``"not_applicable"`` (denominator not positive, invalid numerator, or no limit
    defined).

    .. versionadded:: 0.1.0

    Parameters
    ----------
    numerators, denominators : array_like
        Per-unit numerators and denominators (counts and exposures for
        ``family="poisson"``).
    target : float
        Target proportion (or rate per unit of exposure).
    levels : sequence of float, default (0.95, 0.998)
        Two-sided control levels.
    overdispersion : float, optional
        Multiplicative over-dispersion factor for the limits.
    family : {"binomial", "poisson"}, default "binomial"
        Use :func:`proportion_limits` or :func:`poisson_limits`.

    Returns
    -------
    ndarray of str
        One code per unit.

    References
    ----------
    .. [1] Spiegelhalter DJ. Funnel plots for comparing institutional performance.
       Stat Med 2005;24:1185-1202.
    .. [2] Public Health England. Technical Guide: Funnel plots (2017);
       PHEindicatormethods ``assign_funnel_significance`` (strict comparisons).

    Examples
    --------
    >>> outlier_flags([5, 30, 20, 1], [100, 100, 100, 0], 0.2).tolist()
    ['low_998', 'high_95', 'within', 'not_applicable']
    """
    t = _check_target(target, family)
    x = _as_float(numerators, "numerators")
    n = _as_float(denominators, "denominators")
    _same_length(numerators=x, denominators=n)
    checked = _check_levels(levels)
    limits = _limits(t, n, checked, _check_phi(overdispersion), family)
    codes = ["not_applicable", "within"]
    for level in checked:
        codes += [f"high_{_level_code(level)}", f"low_{_level_code(level)}"]
    width = max(len(c) for c in codes)
    out = np.full(x.shape, "within", dtype=f"<U{width}")
    with np.errstate(invalid="ignore", divide="ignore"):
        valid = np.isfinite(x) & np.isfinite(n) & (n > 0) & (x >= 0)
        if family == "binomial":
            valid &= x <= n
        value = np.where(valid, x / np.where(valid, n, 1.0), np.nan)
    decided = ~valid
    for level in sorted(checked, reverse=True):
        lower, upper = limits[level]
        valid &= np.isfinite(lower) & np.isfinite(upper)
        high = ~decided & (value > np.nan_to_num(upper, nan=np.inf))
        low = ~decided & (value < np.nan_to_num(lower, nan=-np.inf))
        out[high] = f"high_{_level_code(level)}"
        out[low] = f"low_{_level_code(level)}"
        decided |= high | low
    out[~valid] = "not_applicable"
    return out
