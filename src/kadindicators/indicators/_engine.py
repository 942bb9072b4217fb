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
from ._context import Contributions, _to_np

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


PARTIAL_FIELDS = [("numerator", pa.float64()), ("denominator", pa.float64()), ("sumsq", pa.float64()),
                  ("values", pa.list_(pa.float64()))]


def partial_schema(dims: Sequence[str]) -> pa.Schema:
    """The columns of a partial (additive) result: sums per indicator × period × group × stratum."""
    return pa.schema([("indicator_id", pa.string()), ("indicator_version", pa.string()),
                      ("period", pa.string())] + [(d, pa.string()) for d in dims] + PARTIAL_FIELDS)


def partial(spec: IndicatorSpec, contrib: Contributions, dims: Sequence[str], *,
            reference_denominators: bool = True) -> pa.Table:
    """Sum one indicator's contributions per cell (additive over partitions of the stays).

    ``reference_denominators=False`` leaves out contributions that do not come
    from stays (population and unit denominators), for every partition but one.
    """
    rows = contrib.rows
    if not reference_denominators and "row" in rows.column_names:
        rows = rows.filter(pc.is_valid(rows["row"]))
    keys = ["period", *dims]
    aggs: list[tuple[str, str]] = [("numerator", "sum"), ("denominator", "sum")]
    if "sumsq" in rows.column_names:
        aggs.append(("sumsq", "sum"))
    if "value" in rows.column_names:
        aggs.append(("value", "list"))
    g = rows.group_by(keys, use_threads=False).aggregate(aggs)
    g = g.rename_columns([c.removesuffix("_sum").replace("value_list", "values") for c in g.column_names])
    # Integer sums (e.g. milliseconds) stay unscaled here: as float64 they are exact
    # below 2**53, so adding partials is exact too; finalise() applies the scales.
    n = g.num_rows
    cols: dict[str, Any] = {"indicator_id": pa.array([spec.id] * n, pa.string()),
                            "indicator_version": pa.array([spec.version] * n, pa.string()),
                            "period": g["period"]}
    for d in dims:
        cols[d] = pc.cast(g[d], pa.string())
    cols["numerator"] = g["numerator"]
    cols["denominator"] = g["denominator"]
    cols["sumsq"] = g["sumsq"] if "sumsq" in g.column_names else pa.nulls(n, pa.float64())
    if "values" in g.column_names:
        cols["values"] = pc.cast(g["values"], pa.list_(pa.float64()))
    else:
        cols["values"] = pa.nulls(n, pa.list_(pa.float64()))
    return pa.table(cols, schema=partial_schema(dims))


def merge_partials(parts: Sequence[pa.Table], dims: Sequence[str]) -> pa.Table:
    """Add partial results of disjoint partitions cell by cell (median items are pooled)."""
    t = pa.concat_tables(parts)
    keys = ["indicator_id", "indicator_version", "period", *dims]
    g = t.group_by(keys, use_threads=False).aggregate(
        [("numerator", "sum"), ("denominator", "sum"), ("sumsq", "sum")])
    g = g.rename_columns([c.removesuffix("_sum") for c in g.column_names])
    g = g.append_column("__g", pa.array(np.arange(g.num_rows), pa.int64()))
    # pool the median items of each cell: flatten, find each item's cell, rebuild the lists
    lists = t["values"].combine_chunks()
    flat = pc.list_flatten(lists)
    parents = pc.list_parent_indices(lists)
    items = _null_safe(t.select(keys).take(parents), dims).append_column("v", flat)
    j = items.join(_null_safe(g.select([*keys, "__g"]), dims), keys=keys, join_type="inner").sort_by("__g")
    cell = _to_np(j["__g"]).astype(np.int64)
    counts = np.bincount(cell, minlength=g.num_rows)
    offsets = pa.array(np.r_[0, np.cumsum(counts)].astype(np.int32))
    values = pa.ListArray.from_arrays(offsets, j["v"].combine_chunks())
    has = pc.is_valid(lists)
    any_lists = bool(pc.any(has).as_py()) if len(lists) else False
    g = g.drop_columns(["__g"]).append_column(
        "values", values if any_lists else pa.nulls(g.num_rows, pa.list_(pa.float64())))
    return g.select(partial_schema(dims).names).cast(partial_schema(dims))


NULL_KEY = "\x00null"  # stands for a null group value in joins (null keys never match)


def _null_safe(t: pa.Table, cols: Sequence[str]) -> pa.Table:
    for c in cols:
        t = t.set_column(t.schema.get_field_index(c), c, pc.fill_null(t[c], NULL_KEY))
    return t


def _medians(values: pa.ChunkedArray | pa.Array) -> np.ndarray:
    """Exact median of each list (NaN for an empty or null list)."""
    lists = values.combine_chunks() if isinstance(values, pa.ChunkedArray) else values
    n = len(lists)
    out = np.full(n, np.nan)
    if n == 0:
        return out
    lists = pc.fill_null(lists, pa.scalar([], pa.list_(pa.float64())))
    flat_arr = pc.list_flatten(lists)
    present = pc.is_valid(flat_arr)  # items of stays outside the denominator are null
    flat = _to_np(flat_arr.filter(present)).astype(np.float64)
    parents = _to_np(pc.list_parent_indices(lists).filter(present)).astype(np.int64)
    if flat.size == 0:
        return out
    order = np.lexsort((flat, parents))
    g, v = parents[order], flat[order]
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
    nan = np.full(len(num), np.nan)
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = np.where(den > 0, num / np.where(den > 0, den, 1), np.nan)
        if spec.unit == "proportion":
            if method == "clopper_pearson":
                lo, hi = stats.clopper_pearson(num, den, confidence)
            elif method == "wilson":
                lo, hi = stats.wilson(num, den, confidence)
            else:
                lo, hi = nan, nan
            return ratio, lo, hi
        if spec.unit == "rate_per_1000":
            mult = spec.statistics.multiplier
            if method == "garwood":
                return stats.rate_interval(num, den, multiplier=mult, confidence=confidence)
            return ratio * mult, nan, nan
        if spec.unit == "mean" and method == "t" and sumsq is not None:
            return stats.mean_t(num, sumsq, den, confidence)
        return ratio, nan, nan


def scales(contrib: Contributions) -> tuple[float, float, float]:
    """The scales of an indicator's numerator, denominator and sum of squares."""
    return (contrib.numerator_scale, contrib.denominator_scale, contrib.sumsq_scale)


def finalise(spec: IndicatorSpec, part: pa.Table, periods: pa.Table, dims: Sequence[str], *,
             suppression: int, confidence: float,
             scale: tuple[float, float, float] = (1.0, 1.0, 1.0)) -> pa.Table:
    """Turn one indicator's partial sums into result rows: value, interval, suppression."""
    dims = list(dims)
    # medians first: list columns cannot pass through a join
    median = _medians(part["values"]) if spec.unit == "median" else np.full(part.num_rows, np.nan)
    g = part.drop_columns(["values"]).append_column("__median", pa.array(median, pa.float64()))
    g = g.join(periods, keys="period", join_type="left outer")
    g = g.sort_by([("period", "ascending"), *[(d, "ascending") for d in dims]])
    num = _to_np(pc.fill_null(g["numerator"], 0.0)).astype(np.float64) * scale[0]
    den = _to_np(pc.fill_null(g["denominator"], 0.0)).astype(np.float64) * scale[1]
    sumsq = _to_np(pc.fill_null(g["sumsq"], 0.0)).astype(np.float64) * scale[2]
    if spec.unit == "median":
        value = np.where(den > 0, _to_np(g["__median"]).astype(np.float64), np.nan)
        lo = hi = np.full(len(num), np.nan)
    else:
        value, lo, hi = _intervals(spec, num, den, sumsq, confidence)
    t = suppression
    parts = spec.statistics.applies_to
    # A count from 1 to t-1 is never shown: in the numerator where the spec's policy names it
    # (also when there is no denominator), and in the denominator, which is also the run's
    # minimum denominator. Zero is shown.
    small_num = (num >= 1) & (num < t) & ("numerator" in parts)
    small_den = (den > 0) & (den < t)
    suppressed = small_num | small_den
    no_data = (den <= 0) & ~suppressed
    hide_den = small_den
    status = np.where(suppressed, "suppressed", np.where(no_data, "not_applicable", "ok"))
    reason = np.where(suppressed, "low_n", np.where(no_data, "no_data", ""))
    hide = suppressed | no_data
    n = g.num_rows
    out: dict[str, Any] = {
        "indicator_id": g["indicator_id"], "indicator_version": g["indicator_version"],
        "period": g["period"], "period_start": g["period_start"], "period_end": g["period_end"],
    }
    for d in dims:
        out[d] = g[d]
    # a median has no numerator to show (its sum of days is only an internal part)
    out["numerator"] = pa.array(num, mask=suppressed | (spec.unit == "median"))
    out["denominator"] = pa.array(den, mask=hide_den)
    out["value"] = pa.array(np.nan_to_num(value), mask=hide | np.isnan(value))
    out["ci_lower"] = pa.array(np.nan_to_num(lo), mask=hide | np.isnan(lo))
    out["ci_upper"] = pa.array(np.nan_to_num(hi), mask=hide | np.isnan(hi))
    out["suppressed"] = pa.array(suppressed)
    out["status"] = pa.array(status.astype(object), pa.string())
    out["reason"] = pa.array([r or None for r in reason.tolist()], pa.string())
    del n
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
