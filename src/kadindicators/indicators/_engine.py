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
from ._context import Contributions, FastRows, _to_np, fast_rows

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


PARTIAL_FIELDS = [("standard_stratum", pa.string()), ("numerator", pa.float64()),
                  ("denominator", pa.float64()), ("sumsq", pa.float64()), ("values", pa.list_(pa.float64())),
                  ("stays", pa.float64())]


def partial_schema(dims: Sequence[str]) -> pa.Schema:
    """The columns of a partial (additive) result: sums per indicator × period × group × stratum.

    A directly standardised rate needs its counts and populations per standardisation
    stratum (``standard_stratum``, e.g. ``2|67-79``) to stay additive; the other
    indicators have one row per cell with ``standard_stratum`` null.
    """
    return pa.schema([("indicator_id", pa.string()), ("indicator_version", pa.string()),
                      ("period", pa.string())] + [(d, pa.string()) for d in dims] + PARTIAL_FIELDS)


def is_standardised(spec: IndicatorSpec) -> bool:
    """Whether the indicator is a directly standardised rate (its policy names a standard)."""
    return spec.statistics.standard_population is not None


def partial(spec: IndicatorSpec, contrib: Contributions, dims: Sequence[str], *,
            reference_denominators: bool = True) -> pa.Table:
    """Sum one indicator's contributions per cell (additive over partitions of the stays).

    ``reference_denominators=False`` leaves out contributions that do not come
    from stays (population and unit denominators), for every partition but one.
    """
    rows = contrib.rows
    fast = fast_rows(rows)
    if fast is not None and fast.dims == tuple(dims):
        g = _cell_sums(fast)  # rows of StayContext.per_stay: every row is a stay, cells known
    else:
        if not reference_denominators and "row" in rows.column_names:
            rows = rows.filter(pc.is_valid(rows["row"]))
        keys = ["period", *dims]
        if "standard_stratum" in rows.column_names:
            keys.append("standard_stratum")
        aggs: list[tuple[str, str]] = [("numerator", "sum"), ("denominator", "sum")]
        if "sumsq" in rows.column_names:
            aggs.append(("sumsq", "sum"))
        if "stays" in rows.column_names:  # the stays behind a cell, where rows are not one per stay (KAD-D02)
            aggs.append(("stays", "sum"))
        if "value" in rows.column_names:
            aggs.append(("value", "list"))
        g = rows.group_by(keys, use_threads=False).aggregate(aggs)
        g = g.rename_columns([c.removesuffix("_sum").replace("value_list", "values") for c in g.column_names])
        g = g.sort_by([(k, "ascending") for k in keys])  # an order that does not depend on the rows'
    # Integer sums (e.g. milliseconds) stay unscaled here: as float64 they are exact
    # below 2**53, so adding partials is exact too; finalise() applies the scales.
    n = g.num_rows
    cols: dict[str, Any] = {"indicator_id": pa.array([spec.id] * n, pa.string()),
                            "indicator_version": pa.array([spec.version] * n, pa.string()),
                            "period": g["period"]}
    for d in dims:
        cols[d] = pc.cast(g[d], pa.string())
    cols["standard_stratum"] = (pc.cast(g["standard_stratum"], pa.string())
                                if "standard_stratum" in g.column_names else pa.nulls(n, pa.string()))
    cols["numerator"] = g["numerator"]
    cols["denominator"] = g["denominator"]
    # the integer sum of squared seconds passes 2**53 from about 10**5 stays in a cell: float64
    # (exact to 1e-16 relative; a checked cast would refuse it)
    cols["sumsq"] = (pc.cast(g["sumsq"], pa.float64(), safe=False) if "sumsq" in g.column_names
                     else pa.nulls(n, pa.float64()))
    if "values" in g.column_names:
        cols["values"] = pc.cast(g["values"], pa.list_(pa.float64()))
    else:
        cols["values"] = pa.nulls(n, pa.list_(pa.float64()))
    cols["stays"] = (pc.cast(g["stays"], pa.float64()) if "stays" in g.column_names
                     else pa.nulls(n, pa.float64()))
    return pa.table(cols, schema=partial_schema(dims))


def _cell_sums(fast: FastRows) -> pa.Table:
    """What ``group_by(period, dims).aggregate(sum, list)`` gives for rows of ``per_stay``, from cell ids.

    Integer sums are exact (int64, as Arrow's), float sums add in row order (as Arrow's),
    medians' items keep row order within a cell; cells in key order.
    """
    code = fast.cells.code
    keep = fast.keep
    if keep is not None:
        code = code[keep]
    n_cells = fast.cells.keys.num_rows
    present = np.bincount(code, minlength=n_cells) > 0
    cells = np.flatnonzero(present)
    cols: dict[str, Any] = {c: fast.cells.keys[c].take(pa.array(cells)) for c in fast.cells.keys.column_names}

    def total(x: np.ndarray) -> pa.Array:
        x = x if keep is None else x[keep]
        if x.dtype == np.float64:
            out = np.bincount(code, weights=x, minlength=n_cells)
        else:
            out = np.zeros(n_cells, dtype=np.int64)
            np.add.at(out, code, x.astype(np.int64, copy=False))
        return pa.array(out[cells])

    cols["numerator"] = total(fast.numerator)
    cols["denominator"] = total(fast.denominator)
    if fast.sumsq is not None:
        cols["sumsq"] = total(fast.sumsq)
    if fast.value is not None:
        value = fast.value if keep is None else fast.value[keep]
        missing = (fast.denominator if keep is None else fast.denominator[keep]) == 0
        order = np.argsort(code.astype(np.int16 if n_cells < 2**15 else np.int64), kind="stable")
        counts = np.bincount(code, minlength=n_cells)[cells]
        offsets = pa.array(np.r_[0, np.cumsum(counts)].astype(np.int32))
        items = pa.array(value[order], pa.float64(), mask=missing[order])
        cols["values"] = pa.ListArray.from_arrays(offsets, items)
    return pa.table(cols)


def merge_partials(parts: Sequence[pa.Table], dims: Sequence[str]) -> pa.Table:
    """Add partial results of disjoint partitions cell by cell (median items are pooled)."""
    t = pa.concat_tables(parts)
    keys = ["indicator_id", "indicator_version", "period", *dims, "standard_stratum"]
    nullable = [*dims, "standard_stratum"]
    g = t.group_by(keys, use_threads=False).aggregate(
        [("numerator", "sum"), ("denominator", "sum"), ("sumsq", "sum"), ("stays", "sum")])
    g = g.rename_columns([c.removesuffix("_sum") for c in g.column_names])
    g = g.append_column("__g", pa.array(np.arange(g.num_rows), pa.int64()))
    # pool the median items of each cell: flatten, find each item's cell, rebuild the lists
    lists = t["values"].combine_chunks()
    flat = pc.list_flatten(lists)
    parents = pc.list_parent_indices(lists)
    items = _null_safe(t.select(keys).take(parents), nullable).append_column("v", flat)
    j = items.join(_null_safe(g.select([*keys, "__g"]), nullable), keys=keys, join_type="inner").sort_by("__g")
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


def _medians(values: pa.ChunkedArray | pa.Array, confidence: float,
             ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Exact median of each list with its order-statistic interval (NaN for an empty list)."""
    from .. import stats

    lists = values.combine_chunks() if isinstance(values, pa.ChunkedArray) else values
    n = len(lists)
    if n == 0:
        return np.full(0, np.nan), np.full(0, np.nan), np.full(0, np.nan)
    lists = pc.fill_null(lists, pa.scalar([], pa.list_(pa.float64())))
    flat_arr = pc.list_flatten(lists)
    present = pc.is_valid(flat_arr)  # items of stays outside the denominator are null
    flat = _to_np(flat_arr.filter(present)).astype(np.float64)
    parents = _to_np(pc.list_parent_indices(lists).filter(present)).astype(np.int64)
    return stats.median_ci(flat, groups=parents, confidence=confidence, n_groups=n)


def _restore_nulls(t: pa.Table, cols: Sequence[str]) -> pa.Table:
    for c in cols:
        col = t[c]
        t = t.set_column(t.schema.get_field_index(c), c,
                         pc.if_else(pc.equal(col, NULL_KEY), pa.scalar(None, col.type), col))
    return t


def _standardised(spec: IndicatorSpec, part: pa.Table, dims: Sequence[str], standard: Mapping[str, float],
                  confidence: float, scale: tuple[float, float, float]) -> pa.Table:
    """One row per cell of a directly standardised rate, from its rows per standardisation stratum.

    The cell's numerator and denominator are its total count and population; the value
    and limits come from :func:`kadindicators.stats.dsr` over the strata of the standard
    that fit the cell (those of the cell's sex when stratified by sex). A stratum
    without population in the cell has rate 0 and keeps its weight.
    """
    from .. import stats
    from ._standard import STRATUM_SEP, standard_strata

    keys = ["indicator_id", "indicator_version", "period", *dims]
    safe = _null_safe(part, dims)
    cells = safe.group_by(keys, use_threads=False).aggregate([("numerator", "sum"), ("denominator", "sum")])
    cells = cells.rename_columns([c.removesuffix("_sum") for c in cells.column_names])
    cells = cells.sort_by([(k, "ascending") for k in keys])
    n_cells = cells.num_rows
    cells = cells.append_column("__c", pa.array(np.arange(n_cells), pa.int64()))
    strata = list(standard_strata())  # a fixed order, so compute and merge add up alike
    j = safe.select([*keys, "standard_stratum", "numerator", "denominator"]).join(
        cells.select([*keys, "__c"]), keys=keys, join_type="inner")
    idx = pc.index_in(j["standard_stratum"], value_set=pa.array(strata, pa.string()))
    j = j.append_column("__s", idx).filter(pc.is_valid(idx))
    c = _to_np(j["__c"]).astype(np.intp)
    s = _to_np(j["__s"]).astype(np.intp)
    counts = np.zeros((n_cells, len(strata)))
    pops = np.zeros((n_cells, len(strata)))
    np.add.at(counts, (c, s), _to_np(pc.fill_null(j["numerator"], 0.0)).astype(np.float64) * scale[0])
    np.add.at(pops, (c, s), _to_np(pc.fill_null(j["denominator"], 0.0)).astype(np.float64) * scale[1])
    fits = np.ones((n_cells, len(strata)), dtype=bool)
    if "sex" in dims:
        cell_sex = np.asarray(cells["sex"].to_pylist(), dtype=object)
        stratum_sex = np.asarray([k.split(STRATUM_SEP)[0] for k in strata], dtype=object)
        fits = cell_sex[:, None] == stratum_sex[None, :]
    ci, si = np.nonzero(fits)
    weights = np.asarray([standard[k] for k in strata], dtype=np.float64)
    method = spec.statistics.interval
    value, lo, hi = stats.dsr(counts[ci, si], pops[ci, si], weights[si], groups=ci.astype(np.int64),
                              n_groups=n_cells, multiplier=spec.statistics.multiplier, confidence=confidence,
                              method="gamma" if method == "gamma" else "dobson", empty_strata="zero")
    if method not in ("gamma", "dobson"):
        lo = hi = np.full(n_cells, np.nan)
    cells = _restore_nulls(cells.drop_columns(["__c"]), dims)
    for col, k in (("numerator", 0), ("denominator", 1)):
        cells = cells.set_column(cells.schema.get_field_index(col), col,
                                 pc.multiply(pc.cast(cells[col], pa.float64()), scale[k]))
    return (cells.append_column("sumsq", pa.nulls(n_cells, pa.float64()))
            .append_column("__value", pa.array(value, pa.float64()))
            .append_column("__lo", pa.array(lo, pa.float64()))
            .append_column("__hi", pa.array(hi, pa.float64())))


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
             scale: tuple[float, float, float] = (1.0, 1.0, 1.0),
             standard: Mapping[str, float] | None = None) -> pa.Table:
    """Turn one indicator's partial sums into result rows: value, interval, suppression.

    ``standard`` (stratum -> weight) is required for a directly standardised rate.
    """
    dims = list(dims)
    standardised = is_standardised(spec)
    precomputed = standardised or spec.unit == "median"
    if standardised:
        if standard is None:
            raise ValueError(f"{spec.id} is standardised: finalise() needs the standard population's weights")
        g = _standardised(spec, part, dims, standard, confidence, scale)
        scale = (1.0, 1.0, 1.0)  # applied to the strata already
    else:
        # medians first: list columns cannot pass through a join
        n = part.num_rows
        if spec.unit == "median":
            median, m_lo, m_hi = _medians(part["values"], confidence)
            if spec.statistics.interval != "order_statistic":
                m_lo = m_hi = np.full(n, np.nan)
        else:
            median = m_lo = m_hi = np.full(n, np.nan)
        g = (part.drop_columns(["values", "standard_stratum"])
             .append_column("__value", pa.array(median, pa.float64()))
             .append_column("__lo", pa.array(m_lo, pa.float64()))
             .append_column("__hi", pa.array(m_hi, pa.float64())))
    g = g.join(periods, keys="period", join_type="left outer")
    g = g.sort_by([("period", "ascending"), *[(d, "ascending") for d in dims]])
    num = _to_np(pc.fill_null(g["numerator"], 0.0)).astype(np.float64) * scale[0]
    den = _to_np(pc.fill_null(g["denominator"], 0.0)).astype(np.float64) * scale[1]
    sumsq = _to_np(pc.fill_null(g["sumsq"], 0.0)).astype(np.float64) * scale[2]
    if precomputed:
        value, lo, hi = (np.where(den > 0, _to_np(pc.fill_null(g[c], np.nan)).astype(np.float64), np.nan)
                         for c in ("__value", "__lo", "__hi"))
    else:
        value, lo, hi = _intervals(spec, num, den, sumsq, confidence)
    t = suppression
    parts = spec.statistics.applies_to
    # A count from 1 to t-1 is never shown: in the numerator where the spec's policy names it
    # (also when there is no denominator), and in the denominator, which is also the run's
    # minimum denominator. Zero is shown.
    small_num = (num >= 1) & (num < t) & ("numerator" in parts)
    small_den = (den > 0) & (den < t)
    if "stays" in parts and "stays" in g.column_names:
        # a denominator that is not a count of stays (KAD-D02: stay × field) would reveal a small
        # number of stays behind the cell: suppress and hide it as a small denominator
        n_stays = _to_np(pc.fill_null(g["stays"], 0.0)).astype(np.float64)
        small_den = small_den | ((n_stays >= 1) & (n_stays < t))
    suppressed = small_num | small_den
    # an undefined value is never shown as a result: no denominator, or nothing to standardise
    no_data = ((den <= 0) | np.isnan(value)) & ~suppressed
    # complementary (statistics.suppression.complementary): a suppressed numerator takes the
    # denominator with it, where the rest of the denominator is published elsewhere (KAD-H02:
    # KAD stays + the health trust's hospital admissions would give the stays away)
    hide_den = small_den | (small_num & spec.statistics.complementary)
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
