"""Grouping, statistics, suppression and provenance for every indicator at once."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from .._version import __version__
from ..spec.indicators import IndicatorSpec
from ._context import Contributions, StayContext, _to_np

RESULT_FIELDS = [
    ("numerator", pa.float64()), ("denominator", pa.float64()), ("value", pa.float64()),
    ("ci_lower", pa.float64()), ("ci_upper", pa.float64()), ("suppressed", pa.bool_()),
    ("status", pa.string()), ("reason", pa.string()),
]


def result_schema(dims: Sequence[str]) -> pa.Schema:
    """The columns of a result table for the given ``by`` + ``strata`` columns."""
    return pa.schema(
        [("indicator_id", pa.string()), ("indicator_version", pa.string()), ("period", pa.string()),
         ("period_start", pa.date32()), ("period_end", pa.date32())]
        + [(d, pa.string()) for d in dims] + RESULT_FIELDS
    )


def _aggregate(contrib: Contributions, dims: Sequence[str]) -> pa.Table:
    rows = contrib.rows
    keys = ["period", *dims]
    aggs: list[tuple[str, str]] = [("numerator", "sum"), ("denominator", "sum")]
    if "sumsq" in rows.column_names:
        aggs.append(("sumsq", "sum"))
    g = rows.group_by(keys, use_threads=False).aggregate(aggs)
    return g.rename_columns([c.replace("_sum", "") for c in g.column_names])


def _medians(contrib: Contributions, dims: Sequence[str], groups: pa.Table) -> np.ndarray:
    """Exact median of ``value`` per group (same order as ``groups``)."""
    keys = ["period", *dims]
    rows = contrib.rows.filter(pc.is_valid(contrib.rows["value"]))
    gi = groups.select(keys).append_column("__g", pa.array(np.arange(groups.num_rows)))
    j = rows.select([*keys, "value"]).join(gi, keys=keys, join_type="inner")
    out = np.full(groups.num_rows, np.nan)
    if j.num_rows == 0:
        return out
    j = j.sort_by([("__g", "ascending"), ("value", "ascending")])
    g = _to_np(j["__g"])
    v = _to_np(j["value"])
    starts = np.flatnonzero(np.r_[True, g[1:] != g[:-1]])
    counts = np.diff(np.r_[starts, len(g)])
    lo = starts + (counts - 1) // 2
    hi = starts + counts // 2
    out[g[starts]] = (v[lo] + v[hi]) / 2.0
    return out


def _intervals(spec: IndicatorSpec, num: np.ndarray, den: np.ndarray, sumsq: np.ndarray | None,
               confidence: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    from .. import stats

    method = spec.statistics.interval
    with np.errstate(divide="ignore", invalid="ignore"):
        if spec.unit == "proportion":
            value = np.where(den > 0, num / np.where(den > 0, den, 1), np.nan)
            if method == "clopper_pearson":
                lo, hi = stats.clopper_pearson(num, den, confidence)
            elif method == "wilson":
                lo, hi = stats.wilson(num, den, confidence)
            else:
                lo = hi = np.full(len(num), np.nan)
            return value, lo, hi
        if spec.unit == "rate_per_1000":
            mult = spec.statistics.multiplier
            if method == "garwood":
                return stats.rate_interval(num, den, multiplier=mult, confidence=confidence)
            value = np.where(den > 0, num / np.where(den > 0, den, 1) * mult, np.nan)
            return value, np.full(len(num), np.nan), np.full(len(num), np.nan)
        if spec.unit == "mean":
            if method == "t" and sumsq is not None:
                return stats.mean_t(num, sumsq, den, confidence)
            value = np.where(den > 0, num / np.where(den > 0, den, 1), np.nan)
            return value, np.full(len(num), np.nan), np.full(len(num), np.nan)
        value = np.where(den > 0, num / np.where(den > 0, den, 1), np.nan)
        return value, np.full(len(num), np.nan), np.full(len(num), np.nan)


def finish(spec: IndicatorSpec, contrib: Contributions, ctx: StayContext, *, suppression: int,
           confidence: float) -> pa.Table:
    """Aggregate one indicator's contributions into its result rows."""
    dims = list(ctx.dims)
    g = _aggregate(contrib, dims)
    # bounds of every period label (rows outside the window, if any, keep null bounds)
    g = g.join(ctx.period_table(), keys="period", join_type="left outer")
    g = g.sort_by([("period", "ascending"), *[(d, "ascending") for d in dims]])
    num = _to_np(g["numerator"]).astype(np.float64)
    den = _to_np(g["denominator"]).astype(np.float64)
    sumsq = _to_np(g["sumsq"]).astype(np.float64) if "sumsq" in g.column_names else None
    if spec.unit == "median":
        value = np.where(den > 0, _medians(contrib, dims, g), np.nan)
        lo = hi = np.full(len(num), np.nan)
    else:
        value, lo, hi = _intervals(spec, num, den, sumsq, confidence)
    t = suppression
    parts = spec.statistics.applies_to
    small_num = (num >= 1) & (num < t) if "numerator" in parts else np.zeros(len(num), bool)
    small_den = (den >= 1) & (den < t) if ("denominator" in parts or "stays" in parts) \
        else np.zeros(len(num), bool)
    below_min = (den > 0) & (den < t)  # the run's minimum denominator
    no_data = den <= 0
    suppressed = ~no_data & (small_num | small_den | below_min)
    hide_den = suppressed & small_den
    status = np.where(no_data, "not_applicable", np.where(suppressed, "suppressed", "ok"))
    reason = np.where(no_data, "no_data", np.where(suppressed, "low_n", ""))
    hide = suppressed | no_data
    n = g.num_rows
    out: dict[str, Any] = {
        "indicator_id": pa.array([spec.id] * n, pa.string()),
        "indicator_version": pa.array([spec.version] * n, pa.string()),
        "period": g["period"], "period_start": g["period_start"], "period_end": g["period_end"],
    }
    for d in dims:
        out[d] = pc.cast(g[d], pa.string())
    out["numerator"] = pa.array(num, mask=suppressed)
    out["denominator"] = pa.array(den, mask=hide_den)
    out["value"] = pa.array(np.nan_to_num(value), mask=hide | np.isnan(value))
    out["ci_lower"] = pa.array(np.nan_to_num(lo), mask=hide | np.isnan(lo))
    out["ci_upper"] = pa.array(np.nan_to_num(hi), mask=hide | np.isnan(hi))
    out["suppressed"] = pa.array(suppressed)
    out["status"] = pa.array(status.astype(object), pa.string())
    out["reason"] = pa.array(np.where(reason == "", None, reason).astype(object), pa.string())
    return pa.table(out, schema=result_schema(dims))


def fingerprint(*tables: pa.Table | None) -> str:
    """SHA-256 over the Arrow buffers of the inputs (identifies the data as given)."""
    h = hashlib.sha256()
    for t in tables:
        if t is None:
            h.update(b"-")
            continue
        h.update(str(t.schema.remove_metadata()).encode())
        for col in t.columns:
            for chunk in col.chunks:
                for buf in chunk.buffers():
                    if buf is not None:
                        h.update(buf)
    return h.hexdigest()


def metadata(*, specs: Mapping[str, IndicatorSpec], schema_version: str, fp: str, as_of: dt.datetime,
             excluded: Mapping[str, Mapping[str, int]], extra: Mapping[str, Any]) -> dict[str, str]:
    """Provenance stored in the result table's schema metadata."""
    return {
        "kadindicators.version": __version__,
        "kadindicators.schema_version": schema_version,
        "kadindicators.spec_hash": json.dumps({k: s.content_hash for k, s in specs.items()}),
        "kadindicators.indicator_versions": json.dumps({k: s.version for k, s in specs.items()}),
        "kadindicators.input_fingerprint": fp,
        "kadindicators.as_of": as_of.isoformat(),
        "kadindicators.excluded_by_reason": json.dumps(excluded, sort_keys=True),
        **{f"kadindicators.{k}": json.dumps(v) if not isinstance(v, str) else v for k, v in extra.items()},
    }
