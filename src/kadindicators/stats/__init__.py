"""Vectorised statistics for indicator results: confidence intervals and funnel plots.

All functions take numpy arrays (or anything :func:`numpy.asarray` accepts) with one
element per result cell and return ``float64`` arrays; undefined results (a zero
denominator, say) are ``NaN``, which callers turn into Arrow nulls. SciPy supplies
the distribution quantiles and is imported only when a function is called.

Examples
--------
>>> import numpy as np
>>> from kadindicators import stats
>>> lower, upper = stats.wilson([81], [263])
>>> print(np.round(lower, 4), np.round(upper, 4))
[0.2553] [0.3662]
"""

from __future__ import annotations

from .funnel import outlier_flags, overdispersion_factor, poisson_limits, proportion_limits
from .intervals import (
    clopper_pearson,
    dsr,
    mean_t,
    median_ci,
    median_ranks,
    poisson_exact,
    rate_interval,
    wilson,
)

__all__ = [
    "clopper_pearson",
    "dsr",
    "mean_t",
    "median_ci",
    "median_ranks",
    "outlier_flags",
    "overdispersion_factor",
    "poisson_exact",
    "poisson_limits",
    "proportion_limits",
    "rate_interval",
    "wilson",
]
