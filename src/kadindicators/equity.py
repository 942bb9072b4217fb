"""Equity between municipalities: variation in rates, and funnel-plot outlier flags.

Two methods, defined in ``spec/methods/equity.yaml`` (the standard; this module is its
reference implementation, checked against the worked examples in
``spec/methods/equity-cases/``):

- :func:`variation`: for each period, how much the use of KAD (KAD-U01 or KAD-U01S)
  varies between municipalities of residence: the lowest and highest shown rate, their
  range and ratio (extremal quotient), the coefficient of variation, and the systematic
  component of variation (SCV, McPherson et al. 1982) from expected counts by indirect
  standardisation to the region's rates by sex and age band.
- :func:`funnel_flags`: adds, to a result table of :func:`kadindicators.compute`, the
  position of every shown row against the funnel-plot control limits (Spiegelhalter 2005)
  around the pooled value of its indicator and period, at 95 % and 99.8 %.

Disclosure: the range statistics use only the municipalities whose values are shown. The
SCV is a quadratic function of every municipality's count, also the suppressed ones; it is
published only when an attacker who knows everything else (every expected count, the shown
counts, the region's total, the bounds a suppressed count lies in) cannot work out any
suppressed count from it (see ``variation.disclosure`` in the spec). Funnel flags are given
only to rows that are shown.

.. versionadded:: 0.2.0
"""

from __future__ import annotations

import functools
import json
import math
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.compute as pc

from .errors import InputError, KadError

__all__ = ["UnsupportedIndicatorError", "funnel_flags", "funnel_limits", "variation"]

FloatArray = npt.NDArray[np.float64]

_RATES = ("KAD-U01", "KAD-U01S")
_STRATA_SEXES = ("1", "2")
#: statistics.funnel.limits -> (the unit it needs, the family of the limits)
_METHODS = {"exact_binomial": ("proportion", "binomial"), "exact_poisson": ("rate_per_1000", "poisson"),
            "normal": ("mean", "normal")}
_FLAG_CODES = pa.array(["low", "within", "high"], pa.string())

VARIATION_SCHEMA = pa.schema([
    ("indicator_id", pa.string()), ("indicator_version", pa.string()), ("period", pa.string()),
    ("period_start", pa.date32()), ("period_end", pa.date32()),
    ("municipalities", pa.int64()), ("shown", pa.int64()),
    ("lowest", pa.float64()), ("highest", pa.float64()), ("range", pa.float64()), ("ratio", pa.float64()),
    ("cv", pa.float64()), ("scv_x100", pa.float64()), ("scv_status", pa.string()),
    ("scv_reason", pa.string()),
])


class UnsupportedIndicatorError(KadError, ValueError):
    """An indicator that an equity method cannot handle (its unit or its funnel limits).

    :func:`funnel_flags` handles proportions (exact binomial limits), crude rates per
    1,000 (exact Poisson limits) and means (normal limits), as each indicator's spec
    names them; :func:`variation` handles KAD-U01 and KAD-U01S.

    .. versionadded:: 0.2.0

    Examples
    --------
    >>> err = UnsupportedIndicatorError("KAD-U03 cannot be flagged", "KAD-U03 kan ikke flagges")
    >>> err.message("nb")
    'KAD-U03 kan ikke flagges'
    """

    def __str__(self) -> str:
        return self.message("en")


@functools.cache
def _method() -> Mapping[str, Any]:
    """The method spec (``spec/methods/equity.yaml``), parsed once."""
    from . import _yaml
    from ._resources import spec_root

    raw: Mapping[str, Any] = _yaml.load(spec_root() / "methods" / "equity.yaml")
    return raw


def _method_info() -> dict[str, Any]:
    m = _method()
    return {"method": str(m["id"]), "version": str(m["version"]), "spec": "spec/methods/equity.yaml"}


# ----------------------------------------------------------------------------- variation


def variation(
    *,
    stays: Any,
    population: Any,
    units: Any = None,
    indicator: str = "KAD-U01S",
    period: str = "year",
    as_of: Any = None,
    suppression: int = 5,
    standard_population: Any = None,
    results: pa.Table | None = None,
) -> pa.Table:
    """Variation of KAD use between municipalities of residence, one row per period.

    For the municipalities with adult inhabitants in the population table (the comparison
    set, ``municipalities``) and the rates of ``indicator`` among those shown at the
    threshold (``shown``): ``lowest``, ``highest``, ``range`` (highest − lowest),
    ``ratio`` (highest / lowest, the extremal quotient; null when the lowest is 0),
    ``cv`` (sample standard deviation / mean of the shown rates), and ``scv_x100``:
    100 × the systematic component of variation (McPherson et al. 1982, in the form of
    Diehr et al. 1990; see References),

    .. math::

        \\mathrm{SCV} = \\frac{1}{k} \\sum_m \\left[ \\left(\\frac{O_m - E_m}{E_m}\\right)^2
        - \\frac{1}{E_m} \\right],

    rounded to one decimal, with ``O_m`` the stays of the KAD-U01S numerator of
    municipality ``m`` and ``E_m`` its expected stays at the region's rates by sex and age
    band (indirect standardisation). The SCV estimates the variance of the ratio of the
    municipalities' true rates to the region's beyond chance; 0 means no variation
    beyond chance, and a negative estimate is reported as it is. No interval is given
    (see the spec). The definitions are in ``spec/methods/equity.yaml``.

    Disclosure: the range statistics use only shown rates. The SCV uses every
    municipality; it is withheld (``scv_status`` ``"withheld"``, ``scv_reason``
    ``"disclosive"``) when it would let an attacker who knows every other count, every
    expected count and the region's total work out a suppressed municipality's count,
    and also (``"not_checked"``) when there are too many combinations to check. Counts by
    municipality and stratum are used internally and never returned.

    .. versionadded:: 0.2.0

    Parameters
    ----------
    stays, population, units : table-like or path
        As for :func:`kadindicators.compute`; ``units`` only makes the input fingerprint
        match results computed with units.
    indicator : {"KAD-U01S", "KAD-U01"}
        The rate whose shown values give lowest, highest, range, ratio and cv: directly
        standardised (default) or crude. The SCV does not depend on it.
    period : {"year", "quarter", "month"}
        One row per period.
    as_of : datetime or date, optional
        As for :func:`kadindicators.compute`.
    suppression : int
        Small-count threshold; 1 suppresses nothing (and the SCV is then never withheld).
    standard_population : str or table-like, optional
        For KAD-U01S, as for :func:`kadindicators.compute`.
    results : pyarrow.Table, optional
        The rows by municipality of ``indicator`` as they will be published (for example
        after :func:`kadindicators.disclosure.protect_results`): the range statistics then
        use only the rows shown there. They must come from the same data.

    Returns
    -------
    pyarrow.Table
        Columns ``indicator_id``, ``indicator_version``, ``period``, ``period_start``,
        ``period_end``, ``municipalities``, ``shown``, ``lowest``, ``highest``, ``range``,
        ``ratio``, ``cv``, ``scv_x100``, ``scv_status`` (``ok``, ``withheld``,
        ``not_applicable``) and ``scv_reason`` (``disclosive``, ``not_checked``,
        ``no_data`` or null). Provenance as in :func:`kadindicators.compute`, plus
        ``kadindicators.equity`` (method and version).

    Raises
    ------
    UnsupportedIndicatorError
        ``indicator`` is not KAD-U01 or KAD-U01S.

    References
    ----------
    - McPherson K, Wennberg JE, Hovind OB, Clifford P. Small-area variations in the use of
      common surgical procedures: an international comparison of New England, England,
      and Norway. N Engl J Med 1982;307:1310-1314.
    - Diehr P, Cain K, Connell F, Volinn E. What is too much variation? The null hypothesis
      in small-area analysis. Health Serv Res 1990;24:741-771.

    Examples
    --------
    >>> import kadindicators as kad
    >>> from kadindicators import equity
    >>> r = kad.synth.generate(years=(2024,), seed=1, scale=0.3)
    >>> v = equity.variation(stays=r.stays, population=r.population)
    >>> row = v.to_pylist()[0]
    >>> row["period"], row["shown"] <= row["municipalities"], row["scv_status"]
    ('2024', True, 'ok')
    >>> row["ratio"] == row["highest"] / row["lowest"]
    True
    """
    from .indicators import _typed, compute
    from .spec.loader import load_schema

    if indicator not in _RATES:
        raise UnsupportedIndicatorError(
            f"variation() describes KAD-U01 or KAD-U01S, not {indicator!r}",
            f"variation() beskriver KAD-U01 eller KAD-U01S, ikke {indicator!r}",
            hint_en="pass indicator='KAD-U01S' (standardised) or 'KAD-U01' (crude)",
            hint_nb="bruk indicator='KAD-U01S' (standardisert) eller 'KAD-U01' (rå)")
    # validated once here (compute() would validate untyped tables on each call); the
    # fingerprint is over the typed tables either way
    version = load_schema().version
    stays_t, rej_s = _typed(stays, "stays", version)
    units_t, rej_u = _typed(units, "units", version)
    pop_t, rej_p = _typed(population, "population", version)
    kw: dict[str, Any] = {"stays": stays_t, "units": units_t, "population": pop_t, "period": period,
                          "as_of": as_of, "by": ("municipality",)}
    rates = compute(**kw, indicators=sorted({indicator, "KAD-U01S"}), suppression=suppression,
                    standard_population=standard_population)
    cells = compute(**kw, indicators=["KAD-U01"], strata=("sex", "age_band"), suppression=1)
    per_mun = _expected(cells)
    u01s = rates.filter(pc.equal(rates["indicator_id"], "KAD-U01S"))
    shown_rows = rates.filter(pc.equal(rates["indicator_id"], indicator))
    if results is not None:
        shown_rows = _published_rows(results, indicator, rates)
    stats = _range_statistics(shown_rows, per_mun)
    scv = _scv_by_period(per_mun, u01s, suppression)
    ref = rates.filter(pc.equal(rates["indicator_id"], indicator))
    periods = (ref.group_by(["indicator_id", "indicator_version", "period", "period_start", "period_end"])
               .aggregate([]).sort_by("period"))
    counts = per_mun.group_by("period").aggregate([([], "count_all")])
    n_mun = dict(zip(counts["period"].to_pylist(), counts["count_all"].to_pylist(), strict=True))
    cols: dict[str, list[Any]] = {f.name: [] for f in VARIATION_SCHEMA}
    for row in periods.to_pylist():  # one row per period (a handful), not per stay
        p = row["period"]
        for c in ("indicator_id", "indicator_version", "period", "period_start", "period_end"):
            cols[c].append(row[c])
        cols["municipalities"].append(int(n_mun.get(p, 0)))
        st = stats.get(p, {})
        for c in ("shown", "lowest", "highest", "range", "ratio", "cv"):
            cols[c].append(st.get(c, 0 if c == "shown" else None))
        value, status, reason = scv.get(p, (None, "not_applicable", "no_data"))
        cols["scv_x100"].append(value)
        cols["scv_status"].append(status)
        cols["scv_reason"].append(reason)
    out = pa.table(cols, schema=VARIATION_SCHEMA)
    meta = dict(rates.schema.metadata or {})
    for key in (b"kadindicators.excluded_by_reason", b"kadindicators.stays_counted", b"kadindicators.skipped",
                b"kadindicators.confidence"):
        meta.pop(key, None)
    rejected = {"stays": rej_s, "units": rej_u, "population": rej_p}
    meta[b"kadindicators.rows_rejected"] = json.dumps(rejected).encode()
    m = _method()
    meta[b"kadindicators.equity"] = json.dumps(
        {**_method_info(), "function": "variation", "indicator": indicator,
         "scv": {"scale": m["variation"]["scv"]["publication"]["scale"],
                 "digits": m["variation"]["scv"]["publication"]["digits"],
                 "expected": "indirect standardisation to the region's rates by sex and age band"},
         "shown_from": "results" if results is not None else "compute"}).encode()
    return out.replace_schema_metadata(meta)


def _expected(cells: pa.Table) -> pa.Table:
    """Observed, expected and adult population per period × municipality (internal only)."""
    keep = pc.and_(pc.and_(pc.is_in(cells["sex"], pa.array(_STRATA_SEXES)),
                           pc.is_valid(cells["municipality"])),
                   pc.greater(pc.fill_null(cells["denominator"], 0.0), 0.0))
    c = cells.filter(keep).select(["period", "municipality", "sex", "age_band", "numerator", "denominator"])
    region = (c.group_by(["period", "sex", "age_band"])
              .aggregate([("numerator", "sum"), ("denominator", "sum")]))
    region = region.append_column("rate", pc.divide(region["numerator_sum"], region["denominator_sum"]))
    c = c.join(region.select(["period", "sex", "age_band", "rate"]), keys=["period", "sex", "age_band"])
    c = c.append_column("expected", pc.multiply(c["rate"], c["denominator"]))
    per = (c.group_by(["period", "municipality"])
           .aggregate([("numerator", "sum"), ("expected", "sum"), ("denominator", "sum")]))
    per = per.rename_columns(["period", "municipality", "observed", "expected", "adults"])
    return per.sort_by([("period", "ascending"), ("municipality", "ascending")])


def _published_rows(results: pa.Table, indicator: str, rates: pa.Table) -> pa.Table:
    need = {"indicator_id", "period", "municipality", "value", "suppressed", "status"}
    missing = sorted(need - set(results.column_names))
    if missing:
        raise InputError(f"results lack the columns {missing}", f"results mangler kolonnene {missing}")
    mine = (rates.schema.metadata or {}).get(b"kadindicators.input_fingerprint")
    theirs = (results.schema.metadata or {}).get(b"kadindicators.input_fingerprint")
    if mine is not None and theirs is not None and mine != theirs:
        raise InputError("results were computed from other data than stays/population",
                         "results er beregnet fra andre data enn stays/population")
    rows = results.filter(pc.and_(pc.equal(results["indicator_id"], indicator),
                                  pc.is_valid(results["municipality"])))
    keys = rows.group_by(["period", "municipality"]).aggregate([([], "count_all")])
    if keys.num_rows and pc.max(keys["count_all"]).as_py() > 1:
        raise InputError("results have more than one row per period and municipality: pass only the "
                         "rows by municipality", "results har mer enn én rad per periode og kommune: "
                         "gi bare radene per kommune")
    return rows


def _range_statistics(rows: pa.Table, per_mun: pa.Table) -> dict[str, dict[str, Any]]:
    """lowest, highest, range, ratio, cv and shown per period, over shown rates in the comparison set."""
    shown = pc.and_(pc.and_(pc.equal(rows["status"], "ok"),
                            pc.invert(pc.fill_null(rows["suppressed"], True))),
                    pc.is_valid(rows["value"]))
    s = rows.filter(shown).select(["period", "municipality", "value"])
    s = s.join(per_mun.select(["period", "municipality"]), keys=["period", "municipality"],
               join_type="left semi")
    g = s.group_by("period").aggregate([
        ("value", "count"), ("value", "min"), ("value", "max"), ("value", "mean"),
        ("value", "stddev", pc.VarianceOptions(ddof=1))])
    out: dict[str, dict[str, Any]] = {}
    for r in g.to_pylist():  # one per period
        n, lo, hi, mean, sd = (r["value_count"], r["value_min"], r["value_max"], r["value_mean"],
                               r["value_stddev"])
        two = n >= 2
        out[r["period"]] = {
            "shown": n, "lowest": lo, "highest": hi,
            "range": hi - lo if two else None,
            "ratio": hi / lo if two and lo > 0 else None,
            "cv": sd / mean if two and sd is not None and mean != 0 else None,
        }
    return out


def _scv_terms(o: FloatArray, e: FloatArray) -> FloatArray:
    """McPherson's per-municipality term ((O − E)/E)² − 1/E."""
    return np.asarray(((o - e) / e) ** 2 - 1.0 / e, dtype=np.float64)


def _scv_by_period(per_mun: pa.Table, u01s: pa.Table, threshold: int
                   ) -> dict[str, tuple[float | None, str, str | None]]:
    """Published scv_x100, status and reason per period."""
    pub = _method()["variation"]["scv"]["publication"]
    scale, digits = float(pub["scale"]), int(pub["digits"])
    limit = int(_method()["variation"]["disclosure"]["enumeration_limit"])
    flags = u01s.select(["period", "municipality", "suppressed"])
    joined = per_mun.join(flags, keys=["period", "municipality"], join_type="left outer")
    joined = joined.sort_by([("period", "ascending"), ("municipality", "ascending")])
    out: dict[str, tuple[float | None, str, str | None]] = {}
    period = joined["period"].to_numpy(zero_copy_only=False)
    o_all = joined["observed"].to_numpy(zero_copy_only=False).astype(np.float64)
    e_all = joined["expected"].to_numpy(zero_copy_only=False).astype(np.float64)
    adults = joined["adults"].to_numpy(zero_copy_only=False).astype(np.float64)
    # a municipality missing from the KAD-U01S rows is treated as suppressed with nothing known
    # about its count (the safe side)
    hidden = pc.fill_null(joined["suppressed"], True).to_numpy(zero_copy_only=False).astype(bool)
    unmarked = pc.is_null(joined["suppressed"]).to_numpy(zero_copy_only=False).astype(bool)
    for p in sorted(set(period.tolist())):  # one pass per period (a handful)
        sel = (period == p) & (e_all > 0)
        if int(sel.sum()) < 2:
            out[p] = (None, "not_applicable", "no_data")
            continue
        known_adults = np.where(unmarked, 0.0, adults)
        value, reason = _scv_checked(o_all[sel], e_all[sel], hidden[sel], known_adults[sel], threshold,
                                     scale=scale, digits=digits, limit=limit)
        out[p] = (value, "ok", None) if reason is None else (None, "withheld", reason)
    return out


def _scv_checked(o: FloatArray, e: FloatArray, hidden: npt.NDArray[np.bool_], adults: FloatArray,
                 threshold: int, *, scale: float, digits: int, limit: int) -> tuple[float, str | None]:
    """The published value and ``None``, or a withholding reason (``disclosive``, ``not_checked``).

    ``hidden`` marks the suppressed municipalities. The attacker knows that a hidden
    count is from 1 to ``threshold - 1`` when the municipality's adult population is at
    least ``threshold`` (the count was the small one), and otherwise only that it is
    from 0 to the total of the hidden counts (pass ``adults`` 0 for "nothing known").

    The published value is computed with exactly the arithmetic of the enumeration (the
    known terms summed first, then the hidden ones in order), so that the true
    combination of hidden counts reproduces it bit for bit.
    """
    k = float(len(o))
    known = float(np.sum(_scv_terms(o[~hidden], e[~hidden])))
    ho, he = o[hidden], e[hidden]
    acc = 0.0
    for oi, ei in zip(ho.tolist(), he.tolist(), strict=True):  # the hidden municipalities, a few
        acc = acc + float(_scv_terms(np.array([oi]), np.array([ei]))[0])
    published = float(np.round(scale * ((known + acc) / k), digits)) + 0.0
    s = len(ho)
    if s == 0:
        return published, None
    if s == 1:
        return published, "disclosive"  # the region's total minus the shown counts gives it
    total = round(float(ho.sum()))
    ha = adults[hidden]
    small = ha >= threshold  # a shown population: the count itself was small
    lo = np.where(small, 1, 0).astype(np.int64)
    hi = np.minimum(np.where(small, threshold - 1, total), total).astype(np.int64)
    cands = [np.arange(a, b + 1, dtype=np.int64) for a, b in zip(lo.tolist(), hi.tolist(), strict=True)]
    sizes = [len(c) for c in cands[:-1]]
    if math.prod(sizes) > limit:
        return published, "not_checked"
    acc_arr = np.zeros(1, dtype=np.float64)
    osum = np.zeros(1, dtype=np.int64)
    for c, ei in zip(cands[:-1], he[:-1].tolist(), strict=True):
        f = _scv_terms(c.astype(np.float64), np.full(len(c), ei))
        acc_arr = (acc_arr[:, None] + f[None, :]).ravel()
        osum = (osum[:, None] + c[None, :]).ravel()
    last = total - osum
    ok = (last >= lo[-1]) & (last <= hi[-1])
    f_last = _scv_terms(last.astype(np.float64), np.full(len(last), float(he[-1])))
    with np.errstate(invalid="ignore"):
        values = np.round(scale * ((known + (acc_arr + f_last)) / k), digits)
    feasible = np.flatnonzero(ok & (values == published))
    if feasible.size == 0:  # pragma: no cover - the true combination is always feasible
        raise RuntimeError("SCV disclosure check: the true counts are not among the candidates")
    stride = 1
    strides = []
    for n in reversed(sizes):
        strides.append(stride)
        stride *= n
    strides.reverse()
    for i, c in enumerate(cands[:-1]):
        if np.unique(c[(feasible // strides[i]) % sizes[i]]).size == 1:
            return published, "disclosive"
    if np.unique(last[feasible]).size == 1:
        return published, "disclosive"
    return published, None


# ----------------------------------------------------------------------------- funnel flags


def _level_code(level: float) -> str:
    """0.95 -> "95", 0.998 -> "998" (as :func:`kadindicators.stats.outlier_flags`)."""
    return f"{level * 100:.10g}".replace(".", "")


def _funnel_method(spec: Any) -> str:
    """The family of the funnel limits of an indicator spec, or UnsupportedIndicatorError."""
    from .indicators._engine import is_standardised

    limits = spec.statistics.funnel_limits
    unit, family = _METHODS.get(limits, (None, None))
    no_sd = family == "normal" and spec.statistics.interval != "t"  # σ comes from the t intervals
    if family is None or spec.unit != unit or is_standardised(spec) or no_sd:
        supported = ", ".join(f"{u} ({m})" for m, (u, _) in _METHODS.items())
        raise UnsupportedIndicatorError(
            f"{spec.id} (unit {spec.unit}, funnel limits {limits}) cannot be flagged: funnel_flags() "
            f"handles {supported} (means with t intervals), not standardised rates",
            f"{spec.id} (enhet {spec.unit}, traktgrenser {limits}) kan ikke flagges: funnel_flags() "
            f"håndterer {supported} (gjennomsnitt med t-intervall), ikke standardiserte rater",
            hint_en="filter the results to the indicators with funnel limits first",
            hint_nb="filtrer resultatene til indikatorene med traktgrenser først")
    return str(family)


def _limits(family: str, target: float, sizes: FloatArray, levels: Sequence[float],
            phi: float | None, sd: float | None) -> dict[float, tuple[FloatArray, FloatArray]]:
    """Control limits per level on the scale of numerator / denominator (per one unit of exposure)."""
    from scipy.special import ndtri

    from . import stats

    if family == "binomial":
        return dict(stats.proportion_limits(target, sizes, levels, overdispersion=phi))
    if family == "poisson":
        return dict(stats.poisson_limits(target, sizes, levels, overdispersion=phi))
    out: dict[float, tuple[FloatArray, FloatArray]] = {}
    inflate = math.sqrt(phi) if phi is not None and phi > 1 else 1.0
    for level in levels:
        lower = np.full(sizes.shape, np.nan)
        upper = np.full(sizes.shape, np.nan)
        ok = np.isfinite(sizes) & (sizes > 0)
        if sd is not None and math.isfinite(sd):
            half = float(ndtri(1.0 - (1.0 - level) / 2.0)) * inflate * sd / np.sqrt(sizes[ok])
            lower[ok] = target - half
            upper[ok] = target + half
        out[level] = (lower, upper)
    return out


def funnel_limits(group: Mapping[str, Any], sizes: npt.ArrayLike,
                  levels: Sequence[float] = (0.95, 0.998)) -> dict[float, tuple[FloatArray, FloatArray]]:
    """Funnel limits on the scale of ``value`` for one group described by :func:`funnel_flags`.

    ``group`` is one entry of ``kadindicators.funnel["groups"]`` in the metadata of the
    table :func:`funnel_flags` returns (its method, target, over-dispersion and standard
    deviation); ``sizes`` are denominators to draw the limits at. This is the function the
    flags were decided with, for plotting the same limits.

    .. versionadded:: 0.2.0

    Examples
    --------
    >>> g = {"family": "binomial", "target": 0.2, "scale": 1.0, "overdispersion": None, "sd": None}
    >>> lower, upper = funnel_limits(g, [100])[0.95]
    >>> round(float(lower[0]), 3), round(float(upper[0]), 3)
    (0.12, 0.276)
    """
    scale = float(group.get("scale") or 1.0)
    n = np.asarray(sizes, dtype=np.float64).reshape(-1)
    if group.get("target") is None:
        nan = np.full(n.shape, np.nan)
        return {float(lv): (nan, nan.copy()) for lv in levels}
    lim = _limits(str(group["family"]), float(group["target"]) / scale, n, [float(x) for x in levels],
                  group.get("overdispersion"), group.get("sd"))
    return {lv: (lo * scale, hi * scale) for lv, (lo, hi) in lim.items()}


def _check_levels(levels: Sequence[float]) -> list[float]:
    out = [float(x) for x in levels]
    if not out or any(not 0.0 < x < 1.0 for x in out):
        raise ValueError("levels must be a non-empty sequence of numbers strictly between 0 and 1, "
                         f"got {levels!r}")
    codes = [_level_code(x) for x in out]
    if len(set(codes)) != len(codes):
        raise ValueError(f"levels must be distinct, got {levels!r}")
    return out


def _target_for(target: Any, indicator: str, period: str, n_indicators: int) -> float | None:
    if target is None:
        return None
    if isinstance(target, Mapping):
        for key in ((indicator, period), indicator):
            if key in target:
                return float(target[key])
        raise ValueError(f"target has no entry for ({indicator!r}, {period!r}) or {indicator!r} / "
                         f"target mangler ({indicator!r}, {period!r}) og {indicator!r}")
    if n_indicators > 1:
        raise ValueError("a single target needs results of a single indicator; pass a mapping "
                         "{indicator_id or (indicator_id, period): target} / ett mål krever resultater for "
                         "én indikator; gi en mapping")
    return float(target)


def _pooled_sd(x: FloatArray, n: FloatArray, lo: FloatArray, hi: FloatArray, confidence: float) -> float:
    """Standard deviation of all observations of the rows, from each row's mean and t interval."""
    from scipy.special import stdtrit

    with np.errstate(invalid="ignore", divide="ignore"):
        one = n == 1
        ci = np.isfinite(lo) & np.isfinite(hi) & (n >= 2)
        use = one | ci
        if not use.any():
            return math.nan
        q = np.where(ci, stdtrit(np.where(ci, n - 1, 1.0), (1.0 + confidence) / 2.0), 1.0)
        s = np.where(ci, (hi - lo) / 2.0 * np.sqrt(n) / q, 0.0)
        xu, nu, su = x[use], n[use], s[use]
        big_n = float(nu.sum())
        if big_n < 2:
            return math.nan
        mean_all = float(xu.sum()) / big_n
        ss = float(np.sum((nu - 1.0) * su * su) + np.sum(nu * (xu / nu - mean_all) ** 2))
    return math.sqrt(ss / (big_n - 1.0))


def _phi(family: str, x: FloatArray, n: FloatArray, target: float, sd: float | None,
         winsor: float) -> float | None:
    """Spiegelhalter's multiplicative over-dispersion factor, or None when it does not apply."""
    from . import stats

    if family in ("binomial", "poisson"):
        f = stats.overdispersion_factor(x, n, target, winsor=winsor, family=family)  # type: ignore[arg-type]
        return f if f > 1.0 else None
    if sd is None or not math.isfinite(sd) or sd <= 0:
        return None
    if len(x) < max(2, math.ceil(1.0 / winsor - 1e-9)):
        return None
    z = (x / n - target) / (sd / np.sqrt(n))
    qlo, qhi = np.quantile(z, [winsor, 1.0 - winsor])
    z = np.clip(z, qlo, qhi)
    phi = float(np.mean(z * z))
    return phi if phi > 1.0 else None


def funnel_flags(
    results: pa.Table,
    *,
    levels: Sequence[float] = (0.95, 0.998),
    overdispersion: bool = False,
    target: float | Mapping[Any, float] | None = None,
    skip_unsupported: bool = False,
) -> pa.Table:
    """Flag each shown row of a result table against funnel-plot control limits.

    Rows are compared within the same indicator × period (× stratum, when the results
    are stratified) against a target: by default the pooled value Σ numerator /
    Σ denominator of the rows that are shown in the group, or ``target``. The limits
    are those the indicator's spec names (``statistics.funnel.limits``) from
    ``kadindicators.stats``: exact binomial for proportions, exact Poisson for crude
    rates per 1,000 (Spiegelhalter 2005), and normal for means, with the pooled
    standard deviation recovered from the rows' t intervals. For each level a column
    ``funnel_<L>`` (``funnel_95``, ``funnel_998``) is ``"high"`` (value above the upper
    limit), ``"low"`` (below the lower) or ``"within"`` (a value on a limit is within),
    and null for a row that is suppressed, has no data, or has no limit. Suppressed rows
    are never flagged and nothing is un-suppressed. The target, method, over-dispersion
    factor and standard deviation used per group are in the metadata key
    ``kadindicators.funnel``. The definitions are in ``spec/methods/equity.yaml``.

    .. versionadded:: 0.2.0

    Parameters
    ----------
    results : pyarrow.Table
        A table from :func:`kadindicators.compute` (or rows of one, e.g. after
        :func:`kadindicators.disclosure.protect_results`): columns ``indicator_id``,
        ``indicator_version``, ``period``, ``numerator``, ``denominator``, ``value``,
        ``suppressed``, ``status`` (and for means ``ci_lower``, ``ci_upper`` with the
        ``kadindicators.confidence`` metadata). Pass only rows that are comparable (e.g.
        the units, not units and the region together).
    levels : sequence of float, default (0.95, 0.998)
        Two-sided control levels.
    overdispersion : bool, default False
        Widen the limits by Spiegelhalter's Winsorised multiplicative factor (2005b) where the
        spec allows it (``overdispersion: optional``); a spec with ``always`` is always
        adjusted, one with ``none`` never.
    target : float or mapping, optional
        The target on the scale of ``value`` (per 1,000 for rates): one number for results
        of one indicator, or a mapping from ``indicator_id`` or ``(indicator_id, period)``.
    skip_unsupported : bool, default False
        Give the rows of indicators that cannot be flagged (occupancy, medians,
        standardised rates) null flags instead of refusing the table; they are listed
        with the reason under ``skipped`` in the metadata. Handy for a whole
        :func:`kadindicators.compute` result.

        .. versionadded:: 0.2.0

    Returns
    -------
    pyarrow.Table
        ``results`` with the flag columns appended, in the same row order.

    Raises
    ------
    UnsupportedIndicatorError
        An indicator whose unit or funnel method cannot be flagged (occupancy, medians,
        standardised rates, or ``limits: none``) unless ``skip_unsupported``, or one not
        in the catalogue.

    References
    ----------
    - Spiegelhalter DJ. Funnel plots for comparing institutional performance. Stat Med
      2005;24:1185-1202.
    - Spiegelhalter DJ. Handling over-dispersion of performance indicators. Qual Saf Health
      Care 2005;14:347-351 (2005b).

    Examples
    --------
    >>> import kadindicators as kad
    >>> from kadindicators import equity
    >>> r = kad.synth.generate(years=(2024,), seed=1, scale=0.3)
    >>> res = kad.compute(stays=r.stays, units=r.units, indicators=["KAD-Q01", "KAD-Q05"])
    >>> flagged = equity.funnel_flags(res)
    >>> flagged.column_names[-2:]
    ['funnel_95', 'funnel_998']
    >>> set(flagged["funnel_95"].to_pylist()) <= {"high", "low", "within", None}
    True

    A whole catalogue, occupancy and medians included, with ``skip_unsupported``:

    >>> everything = kad.compute(stays=r.stays, units=r.units)
    >>> skipped = json.loads(equity.funnel_flags(everything, skip_unsupported=True)
    ...                      .schema.metadata[b"kadindicators.funnel"])["skipped"]
    >>> sorted(skipped)
    ['KAD-U03', 'KAD-U04M']
    """
    from .spec.indicators import load_indicators

    need = ["indicator_id", "indicator_version", "period", "numerator", "denominator", "value",
            "suppressed", "status"]
    missing = [c for c in need if c not in results.column_names]
    if missing:
        raise InputError(f"results lack the columns {missing}", f"results mangler kolonnene {missing}")
    lv = _check_levels(levels)
    names = [f"funnel_{_level_code(x)}" for x in lv]
    clash = [c for c in names if c in results.column_names]
    if clash:
        raise InputError(f"results already have the columns {clash}",
                         f"results har allerede kolonnene {clash}")
    meta = results.schema.metadata or {}
    specs = load_indicators()
    ids = sorted({i for i in results["indicator_id"].to_pylist() if i is not None})
    families: dict[str, str] = {}
    skipped: dict[str, str] = {}
    for iid in ids:
        if iid not in specs:
            raise UnsupportedIndicatorError(f"{iid} is not an indicator of the catalogue",
                                            f"{iid} er ikke en indikator i katalogen")
        try:
            families[iid] = _funnel_method(specs[iid])
        except UnsupportedIndicatorError as exc:
            if not skip_unsupported:
                raise
            skipped[iid] = exc.message_en
    versions = results.group_by(["indicator_id", "indicator_version"]).aggregate([]).to_pylist()
    for v in versions:
        iid, ver = v["indicator_id"], v["indicator_version"]
        if iid in specs and ver is not None and str(ver).split(".")[0] != specs[iid].version.split(".")[0]:
            raise UnsupportedIndicatorError(
                f"{iid} {ver} has another major version than the catalogue's {specs[iid].version}",
                f"{iid} {ver} har en annen hovedversjon enn katalogens {specs[iid].version}")
    strata = [s for s in json.loads(meta.get(b"kadindicators.strata", b"[]")) if s in results.column_names]
    confidence = meta.get(b"kadindicators.confidence")
    if "normal" in families.values() and (confidence is None or not {"ci_lower", "ci_upper"}
                                          <= set(results.column_names)):
        raise InputError(
            "means need ci_lower, ci_upper and the kadindicators.confidence metadata of compute()",
            "gjennomsnitt trenger ci_lower, ci_upper og metadata kadindicators.confidence fra compute()")
    winsor = float(_method()["funnel_flags"]["overdispersion"]["winsor"])
    n_rows = results.num_rows
    num = _floats(results["numerator"])
    den = _floats(results["denominator"])
    val = _floats(results["value"])
    lo_ci = _floats(results["ci_lower"]) if "ci_lower" in results.column_names else np.full(n_rows, np.nan)
    hi_ci = _floats(results["ci_upper"]) if "ci_upper" in results.column_names else np.full(n_rows, np.nan)
    eligible = (pc.and_(pc.equal(pc.fill_null(results["status"], ""), "ok"),
                        pc.invert(pc.fill_null(results["suppressed"], True)))
                .to_numpy(zero_copy_only=False).astype(bool))
    eligible &= np.isfinite(num) & np.isfinite(den) & np.isfinite(val) & (den > 0) & (num >= 0)
    codes = {lvl: np.full(n_rows, -1, dtype=np.int8) for lvl in lv}
    keys = ["indicator_id", "period", *strata]
    indexed = results.select(keys).append_column("__row", pa.array(np.arange(n_rows, dtype=np.int64)))
    groups = indexed.group_by(keys, use_threads=False).aggregate([("__row", "list")]).to_pylist()
    records: list[dict[str, Any]] = []
    for g in groups:  # one per indicator × period (× stratum): a handful
        iid, per = g["indicator_id"], g["period"]
        if iid is None or iid in skipped:
            continue
        spec = specs[iid]
        family = families[iid]
        idx = np.asarray(g["__row_list"], dtype=np.int64)
        e = idx[eligible[idx]]
        x, n = num[e], den[e]
        scale = float(spec.statistics.multiplier) if family == "poisson" else 1.0
        given = _target_for(target, iid, per, len(ids))
        if given is not None:
            theta: float | None = given / scale
        else:
            theta = float(x.sum() / n.sum()) if len(e) and n.sum() > 0 else None
        sd = (_pooled_sd(x, n, lo_ci[e], hi_ci[e], float(json.loads(confidence or b"0.95")))
              if family == "normal" and len(e) else None)
        od = str((spec.raw.get("statistics", {}).get("funnel") or {}).get("overdispersion", "none"))
        phi = None
        if theta is not None and (od == "always" or (od == "optional" and overdispersion)):
            phi = _phi(family, x, n, theta, sd, winsor)
        records.append({"indicator_id": iid, "period": per, **{s: g[s] for s in strata}, "family": family,
                        "target": None if theta is None else theta * scale, "scale": scale,
                        "overdispersion": phi, "sd": sd, "compared": len(e)})
        if theta is None or not len(e):
            continue
        if family == "binomial" and not 0.0 <= theta <= 1.0:
            raise ValueError(f"target for {iid} must be a proportion in [0, 1], got {theta!r}")
        if not math.isfinite(theta) or theta < 0:
            raise ValueError(f"target for {iid} must be a finite number >= 0, got {theta * scale!r}")
        limits = _limits(family, theta, n, lv, phi, sd)
        y = x / n
        for lvl in lv:
            lower, upper = limits[lvl]
            c = np.where(y > upper, 2, np.where(y < lower, 0, 1)).astype(np.int8)
            c[~(np.isfinite(lower) & np.isfinite(upper))] = -1
            codes[lvl][e] = c
    out = results
    for lvl, name in zip(lv, names, strict=True):
        c = codes[lvl]
        out = out.append_column(name, _FLAG_CODES.take(pa.array(c.astype(np.int64), mask=c < 0)))
    info = {**_method_info(), "function": "funnel_flags", "levels": lv, "columns": names,
            "overdispersion_requested": bool(overdispersion),
            "target": "given" if target is not None else "pooled",
            "groups": records, "skipped": skipped}
    return out.replace_schema_metadata({**meta, b"kadindicators.funnel": json.dumps(info).encode()})


def _floats(col: pa.ChunkedArray | pa.Array) -> FloatArray:
    return np.asarray(pc.fill_null(pc.cast(col, pa.float64()), np.nan).to_numpy(zero_copy_only=False),
                      dtype=np.float64)
