"""Shared derived columns for all indicators of one ``compute`` call.

Every column here (elapsed times, local dates, period keys, age bands, the
unit's host municipality) is computed at most once per call, whatever the
number of indicators.
"""

from __future__ import annotations

import datetime as dt
import functools
import weakref
from collections.abc import Mapping, Sequence

import attrs
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from ..schema import TIMEZONE
from ..spec.loader import load_schema

MS_PER_HOUR = 3_600_000
MS_PER_DAY = 86_400_000
PERIODS = ("year", "quarter", "month")
STAY_DIMENSIONS = ("unit_id", "municipality", "host_municipality", "sex", "age_band", "care_track",
                   "admitted_from")


@attrs.frozen(kw_only=True)
class Contributions:
    """What an indicator function returns: additive pieces of numerator and denominator.

    ``rows`` has a ``period`` label column, one column per requested dimension
    (``by`` and ``strata``), ``numerator`` and ``denominator`` (float64), and
    optionally ``sumsq`` (sum of squares, for means), ``value`` (one item per
    row, for medians) and ``row`` (index of the stay, for :func:`explain`).
    ``excluded`` counts stays left out, by exclusion id, as boolean masks over
    the stays. ``excluded_reference`` counts reference cells left out (e.g. the
    municipality-periods of KAD-H01 without complete hospital figures), as boolean
    masks over the indicator's own cells: counted with ``excluded`` in the metadata,
    but only where the reference denominators are (like their rows), and not by
    ``explain``, which lists stays.
    """

    rows: pa.Table
    excluded: Mapping[str, pa.Array] = attrs.field(factory=dict)
    # Integer numerators/denominators (e.g. milliseconds) are summed exactly and
    # then multiplied by these scales, so results do not depend on row order.
    numerator_scale: float = 1.0
    denominator_scale: float = 1.0
    sumsq_scale: float = 1.0
    numerator_mask: pa.Array | None = None
    denominator_mask: pa.Array | None = None
    excluded_reference: Mapping[str, pa.Array] = attrs.field(factory=dict)


def _to_np(a: pa.Array | pa.ChunkedArray) -> np.ndarray:
    return np.asarray(a.to_numpy(zero_copy_only=False))


def local_midnight_ms(dates: Sequence[dt.date]) -> np.ndarray:
    """UTC milliseconds of local (Europe/Oslo) midnight at each date."""
    naive = pa.array([dt.datetime.combine(d, dt.time()) for d in dates], pa.timestamp("ms"))
    zoned = pc.assume_timezone(naive, timezone=TIMEZONE, ambiguous="earliest", nonexistent="latest")
    return _to_np(pc.cast(zoned, pa.int64()))


def period_start(d: dt.date, period: str) -> dt.date:
    """First day of the period containing ``d``."""
    if period == "year":
        return dt.date(d.year, 1, 1)
    if period == "quarter":
        return dt.date(d.year, 3 * ((d.month - 1) // 3) + 1, 1)
    return dt.date(d.year, d.month, 1)


def next_period(d: dt.date, period: str) -> dt.date:
    """First day of the period after the one starting at ``d``."""
    step = {"year": 12, "quarter": 3, "month": 1}[period]
    m = d.month - 1 + step
    return dt.date(d.year + m // 12, m % 12 + 1, 1)


def period_label(d: dt.date, period: str) -> str:
    """Label of the period starting at ``d``: ``2024``, ``2024-Q1`` or ``2024-03``."""
    if period == "year":
        return f"{d.year}"
    if period == "quarter":
        return f"{d.year}-Q{(d.month - 1) // 3 + 1}"
    return f"{d.year}-{d.month:02d}"


@attrs.define(kw_only=True)
class StayContext:
    """The tables of one call and the derived columns every indicator shares."""

    stays: pa.Table
    units: pa.Table | None
    population: pa.Table | None
    as_of: dt.datetime
    period: str
    by: tuple[str, ...]
    strata: tuple[str, ...]
    since: dt.date | None = None
    experience: pa.Table | None = None
    hospital_admissions: pa.Table | None = None

    @property
    def dims(self) -> tuple[str, ...]:
        """Grouping columns then strata columns."""
        return self.by + self.strata

    @property
    def n(self) -> int:
        return int(self.stays.num_rows)

    # -- times ----------------------------------------------------------------
    @functools.cached_property
    def as_of_ms(self) -> int:
        return int(self.as_of.timestamp() * 1000)

    def _ms(self, name: str) -> pa.Array:
        return pc.cast(pc.cast(self.stays[name], pa.timestamp("ms", tz="UTC")), pa.int64())

    @functools.cached_property
    def admitted_ms(self) -> np.ndarray:
        return _to_np(pc.fill_null(self._ms("admitted_at"), 0))

    @functools.cached_property
    def discharged_ms(self) -> pa.Array:
        """UTC ms of discharge; null while still admitted."""
        return self._ms("discharged_at").combine_chunks()

    @functools.cached_property
    def completed(self) -> np.ndarray:
        """Discharged (at or before ``as_of``)."""
        d = self.discharged_ms
        ok = _to_np(pc.fill_null(pc.less_equal(d, self.as_of_ms), False))
        return np.asarray(ok)

    @functools.cached_property
    def los_ms(self) -> np.ndarray:
        """Elapsed length of stay in ms for completed stays (0 otherwise)."""
        d = _to_np(pc.fill_null(self.discharged_ms, 0))
        return np.where(self.completed, d - self.admitted_ms, 0)

    @functools.cached_property
    def admitted_date(self) -> pa.Array:
        """Local calendar date of admission (date32)."""
        return pc.cast(pc.local_timestamp(self.stays["admitted_at"]), pa.date32()).combine_chunks()

    @functools.cached_property
    def discharged_date(self) -> pa.Array:
        return pc.cast(pc.local_timestamp(self.stays["discharged_at"]), pa.date32()).combine_chunks()

    @functools.cached_property
    def as_of_date(self) -> dt.date:
        return self.as_of.astimezone(_oslo()).date()

    # -- periods ----------------------------------------------------------------
    def label_dates(self, dates: pa.Array) -> pa.Array:
        """Period label of each date (vectorised: one string per distinct period, then a take)."""
        return label_periods(dates, self.period)

    @functools.cached_property
    def admission_period(self) -> pa.Array:
        return self.label_dates(self.admitted_date)

    @functools.cached_property
    def period_starts(self) -> list[dt.date]:
        """Starts of every period from ``since`` (default: the first admission) to ``as_of``."""
        if self.since is not None:
            first = self.since
        elif self.n == 0:
            first = self.as_of_date
        else:
            first = pc.min(self.admitted_date).as_py()
        last_day = (self.as_of - dt.timedelta(milliseconds=1)).astimezone(_oslo()).date()
        d = period_start(first, self.period)
        out = []
        while d <= max(last_day, first):
            out.append(d)
            d = next_period(d, self.period)
        return out

    def period_table(self) -> pa.Table:
        """Label, start and end (exclusive) of every period in the window."""
        starts = self.period_starts
        return pa.table({
            "period": [period_label(d, self.period) for d in starts],
            "period_start": pa.array(starts, pa.date32()),
            "period_end": pa.array([next_period(d, self.period) for d in starts], pa.date32()),
        })

    # -- patients -----------------------------------------------------------------
    @functools.cached_property
    def patient_code(self) -> np.ndarray:
        """Integer code of each stay's ``patient_id`` (dense from 0; -1 for a null id).

        Equal ids have equal codes; computed once per call for every indicator that
        links a patient's stays.
        """
        pid = self.stays["patient_id"]
        pid = pid.combine_chunks() if isinstance(pid, pa.ChunkedArray) else pid
        if self.n == 0:
            return np.zeros(0, dtype=np.int64)
        codes = pc.dictionary_encode(pid).indices
        return _to_np(pc.fill_null(pc.cast(codes, pa.int64()), -1)).astype(np.int64)

    @functools.cached_property
    def n_patients(self) -> int:
        """Number of distinct non-null ``patient_id`` values."""
        return int(self.patient_code.max()) + 1 if self.n else 0

    @functools.cached_property
    def patient_admission_order(self) -> np.ndarray:
        """Stays with a patient id, sorted by (patient code, admission time, row)."""
        code = self.patient_code
        rows = np.flatnonzero(code >= 0)
        return rows[np.lexsort((self.admitted_ms[rows], code[rows]))]

    def first_admission_after(self, rows: np.ndarray, after_ms: np.ndarray) -> np.ndarray:
        """For each stay ``rows[k]``: the row of its patient's first stay admitted after ``after_ms[k]``.

        "After" is strictly later (UTC ms, null admissions count as 0); -1 where the
        patient has no such stay or the stay has no patient id. Any of the patient's
        stays counts, the stay itself included.
        """
        order = self.patient_admission_order
        code = self.patient_code
        rows = np.asarray(rows, dtype=np.int64)
        after = np.asarray(after_ms, dtype=np.int64)
        out = np.full(len(rows), -1, dtype=np.int64)
        q = code[rows] >= 0
        if not len(order) or not q.any():
            return out
        keys, probes = _patient_time_keys(code[order], self.admitted_ms[order], code[rows[q]], after[q])
        pos = np.searchsorted(keys, probes, side="right")
        inside = pos < len(order)
        hit = np.full(len(pos), -1, dtype=np.int64)
        cand = order[pos[inside]]
        hit[inside] = np.where(code[cand] == code[rows[q]][inside], cand, -1)
        out[q] = hit
        return out

    # -- dimensions -------------------------------------------------------------
    @functools.cached_property
    def age_band(self) -> pa.Array:
        bands = load_schema().age_bands
        mins = np.array([b.min for b in bands])
        age = _to_np(pc.fill_null(self.stays["age"], -1))
        idx = np.searchsorted(mins, age, side="right") - 1
        codes = pa.array([b.code for b in bands])
        return pc.take(codes, pa.array(np.clip(idx, 0, None), type=pa.int64(), mask=idx < 0))

    @functools.cached_property
    def host_municipality(self) -> pa.Array:
        """Host municipality of the unit row valid on the admission date (else the latest row)."""
        if self.units is None or self.units.num_rows == 0:
            return pa.nulls(self.n, pa.string())
        far = dt.date(9999, 1, 1)
        units = self.units.select(["unit_id", "valid_from", "valid_to", "host_municipality"])
        units = units.set_column(2, "valid_to", pc.fill_null(units["valid_to"], pa.scalar(far, pa.date32())))
        probe = pa.table({"unit_id": self.stays["unit_id"], "d": self.admitted_date,
                          "i": pa.array(np.arange(self.n))})
        j = probe.join(units, keys="unit_id", join_type="inner")
        j = j.filter(pc.and_(pc.greater_equal(j["d"], j["valid_from"]), pc.less(j["d"], j["valid_to"])))
        out = np.full(self.n, -1, dtype=np.int64)
        hosts = j["host_municipality"].combine_chunks()
        out[_to_np(j["i"]).astype(np.int64)] = np.arange(j.num_rows)
        at_admission = pc.take(hosts, pa.array(np.where(out >= 0, out, 0), type=pa.int64(), mask=out < 0)) \
            if j.num_rows else pa.nulls(self.n, pa.string())
        latest = self.units.sort_by([("unit_id", "ascending"), ("valid_from", "descending")])
        uid = latest["unit_id"].combine_chunks()
        first = np.ones(len(uid), dtype=bool)
        if len(uid) > 1:
            first[1:] = ~_to_np(pc.equal(uid.slice(1), uid.slice(0, len(uid) - 1)))
        lookup = latest.filter(pa.array(first))
        idx = pc.index_in(self.stays["unit_id"], value_set=lookup["unit_id"].combine_chunks())
        fallback = pc.take(lookup["host_municipality"].combine_chunks(), idx)
        return pc.coalesce(at_admission, fallback)

    def stay_column(self, name: str) -> pa.Array:
        """A dimension column for the stays (derived columns included)."""
        if name == "age_band":
            return self.age_band
        if name == "host_municipality":
            return self.host_municipality
        col = self.stays[name]
        return col.combine_chunks() if isinstance(col, pa.ChunkedArray) else col

    # -- building contributions -------------------------------------------------
    def per_stay(self, *, denominator: np.ndarray | pa.Array, numerator: np.ndarray | pa.Array,
                 excluded: Mapping[str, np.ndarray | pa.Array] | None = None,
                 sumsq: np.ndarray | None = None, value: np.ndarray | None = None,
                 period: pa.Array | None = None, keep: np.ndarray | None = None,
                 numerator_scale: float = 1.0, sumsq_scale: float = 1.0) -> Contributions:
        """Contributions of one row per stay, attributed by admission date.

        ``keep`` limits the rows to stays that belong to the indicator's
        population at all (default: every stay); the others contribute nothing.
        """
        den = _as_number(denominator)
        num = _as_number(numerator)
        fast = (period is None and self.n > 0 and all(d in STAY_DIMENSIONS for d in self.dims)
                and (sumsq is None or np.asarray(sumsq).dtype in (np.int64, np.float64)))
        cols: dict[str, pa.Array] = {}
        if fast:
            # shared columns, built once per call (no copy per indicator)
            cols["period"] = self._admission_period_labels
            cols.update(self._dim_columns)
        else:
            cols["period"] = period if period is not None else self.admission_period
            for d in self.dims:
                cols[d] = self.stay_column(d)
        cols["numerator"] = pa.array(num)
        cols["denominator"] = pa.array(den)
        sq = None if sumsq is None else np.asarray(sumsq)
        if sq is not None:
            cols["sumsq"] = pa.array(sq)
        val = None if value is None else np.asarray(value, dtype=np.float64)
        if val is not None:
            cols["value"] = pa.array(val, mask=den == 0)
        cols["row"] = self._row_index if fast else pa.array(np.arange(self.n, dtype=np.int64))
        table = pa.table(cols)
        kept = None if keep is None else np.asarray(keep, dtype=bool)
        if kept is not None:
            table = table.filter(pa.array(kept))
        if fast:
            # the engine sums these rows by the stays' cell ids instead of grouping the table
            _remember(table, FastRows(cells=self.stay_cells, dims=self.dims, keep=kept, numerator=num,
                                      denominator=den, sumsq=sq, value=val))
        excl = {k: pa.array(_as_bool(v)) for k, v in (excluded or {}).items()}
        return Contributions(rows=table, excluded=excl, numerator_scale=numerator_scale,
                             sumsq_scale=sumsq_scale,
                             numerator_mask=pa.array(num > 0), denominator_mask=pa.array(den > 0))

    # -- cells: one integer per stay for (admission period x dims), for the engine's sums ---------
    @functools.cached_property
    def _row_index(self) -> pa.Array:
        return pa.array(np.arange(self.n, dtype=np.int64))

    @functools.cached_property
    def _dim_columns(self) -> dict[str, pa.Array]:
        """The ``dims`` columns of the stays as single arrays (combined once, not per indicator)."""
        out: dict[str, pa.Array] = {}
        for d in self.dims:
            raw = self.stays[d] if d in self.stays.column_names else None
            if isinstance(raw, pa.ChunkedArray) and raw.num_chunks == 1 and d not in ("age_band",
                                                                                       "host_municipality"):
                out[d] = raw.chunk(0)  # the stays' own column, without a copy
                continue
            col = self.stay_column(d)
            out[d] = col.combine_chunks() if isinstance(col, pa.ChunkedArray) else col
        return out

    @functools.cached_property
    def _admission_period_codes(self) -> tuple[np.ndarray, pa.Array]:
        """(index of each stay's admission period into the labels, -1 for none; the labels)."""
        return period_codes(self.admitted_date, self.period)

    @functools.cached_property
    def _admission_period_labels(self) -> pa.Array:
        """The same values as :attr:`admission_period`, built from the period codes."""
        code, labels = self._admission_period_codes
        return pc.take(labels, pa.array(np.maximum(code, 0), pa.int32(), mask=code < 0))

    @functools.cached_property
    def stay_cells(self) -> StayCells:
        """Each stay's cell: admission period x ``dims`` (nulls are values too), numbered in key order."""
        pcode, labels = self._admission_period_codes
        cols = self._dim_columns
        n = self.n
        code = np.where(pcode < 0, len(labels), pcode).astype(_index_type(len(labels) + 1))
        size = len(labels) + 1
        for d in self.dims:
            enc = pc.dictionary_encode(cols[d], null_encoding="encode")
            k = max(len(enc.dictionary), 1)
            wide = _index_type(size * k)
            code = code.astype(wide, copy=False)
            code *= k
            code += _to_np(enc.indices)
            code, size = _compact(code, size * k, n)
        code, size = _compact(code, size, n)
        # a stay of each cell stands for it: its period label and dims values are the cell's key
        first = np.full(size, n, dtype=_index_type(n + 1))
        np.minimum.at(first, code, np.arange(n, dtype=first.dtype))
        take = pa.array(first)
        keys = pa.table({"period": pc.take(self._admission_period_labels, take),
                         **{d: pc.take(cols[d], take) for d in self.dims}})
        # number the cells in the order of their keys (as the engine sorts its output)
        perm = _to_np(pc.sort_indices(keys, sort_keys=[(c, "ascending") for c in keys.column_names]))
        rank = np.empty(size, dtype=np.int32 if size < 2**31 else np.int64)
        rank[perm.astype(np.int64)] = np.arange(size)
        return StayCells(code=rank[code], keys=keys.take(pa.array(perm)))


@attrs.frozen(kw_only=True, eq=False)
class StayCells:
    """Each stay's cell (admission period x ``dims``) as an integer ``0 .. len(keys) - 1``.

    ``keys`` holds the cells' ``period`` and dims values, one row per cell, sorted.
    """

    code: np.ndarray
    keys: pa.Table


@attrs.frozen(kw_only=True, eq=False)
class FastRows:
    """What :meth:`StayContext.per_stay` knows about the rows it made: stays, their cells, the sums."""

    cells: StayCells
    dims: tuple[str, ...]
    keep: np.ndarray | None
    numerator: np.ndarray
    denominator: np.ndarray
    sumsq: np.ndarray | None
    value: np.ndarray | None


_FAST_ROWS: dict[int, tuple[weakref.ref[pa.Table], FastRows]] = {}


def _remember(table: pa.Table, info: FastRows) -> None:
    key = id(table)

    def forget(ref: weakref.ref[pa.Table], key: int = key) -> None:
        entry = _FAST_ROWS.get(key)
        if entry is not None and entry[0] is ref:
            del _FAST_ROWS[key]

    _FAST_ROWS[key] = (weakref.ref(table, forget), info)


def fast_rows(table: pa.Table) -> FastRows | None:
    """The stays behind a rows table made by :meth:`StayContext.per_stay`, if it is that very table.

    Any other table (built by an indicator, or changed after ``per_stay``: a new table) gives None.
    """
    entry = _FAST_ROWS.get(id(table))
    if entry is None or entry[0]() is not table:
        return None
    return entry[1]


def _index_type(size: int) -> type[np.signedinteger]:
    """The narrowest of int32 and int64 that holds ``0 .. size-1``."""
    return np.int32 if size <= 2**31 - 1 else np.int64


def _compact(code: np.ndarray, size: int, n: int) -> tuple[np.ndarray, int]:
    """Renumber codes ``0 .. size-1`` densely (keeping their order); returns (codes, number used)."""
    if size <= max(4 * n, 1 << 16):
        used = np.bincount(code, minlength=size) > 0
        new = (np.cumsum(used) - 1).astype(_index_type(size))
        return new[code], int(used.sum())
    uniq, inv = np.unique(code, return_inverse=True)
    return inv.astype(_index_type(uniq.size)).reshape(-1), int(uniq.size)


def period_codes(dates: pa.Array | pa.ChunkedArray, period: str) -> tuple[np.ndarray, pa.Array]:
    """Index of each date's period into a list of labels (-1 for a null date), and the labels.

    The labels are those of :func:`label_periods`, in ascending order; the period of
    each distinct day is found once.

    >>> d = pa.array([dt.date(2024, 2, 29), None, dt.date(2023, 12, 31), dt.date(2024, 1, 1)])
    >>> code, labels = period_codes(d, "quarter")
    >>> code.tolist(), labels.to_pylist()
    ([1, -1, 0, 1], ['2023-Q4', '2024-Q1'])
    """
    arr = dates.combine_chunks() if isinstance(dates, pa.ChunkedArray) else dates
    arr = pc.cast(arr, pa.date32())
    n = len(arr)
    valid = _to_np(pc.is_valid(arr)).astype(bool) if arr.null_count else None
    if valid is not None and not valid.any():
        return np.full(n, -1, dtype=np.int32), pa.array([], pa.string())
    days = _to_np(pc.fill_null(pc.cast(arr, pa.int32()), 0))
    present = days if valid is None else days[valid]
    lo, hi = int(present.min()), int(present.max())
    del present
    step = {"year": 12, "quarter": 3, "month": 1}[period]

    def key_of(d: np.ndarray) -> np.ndarray:
        # months since 1970-01 (proleptic Gregorian, as label_periods), // months per period
        return np.asarray(d.astype("datetime64[D]").astype("datetime64[M]").astype(np.int64) // step)

    if hi - lo <= max(n, 1 << 16):  # the period of each day of the span, then one lookup per date
        day = np.subtract(days, lo, dtype=np.int32)  # days from the first (0 for a null date)
        if valid is not None:
            day[~valid] = 0
        seen = np.bincount(day if valid is None else day[valid], minlength=hi - lo + 1) > 0
        per_day = key_of(np.arange(lo, hi + 1, dtype=np.int64))
        keys = np.unique(per_day[seen])
        code = np.searchsorted(keys, per_day).astype(np.int32)[day]
    else:  # dates far apart: the period of each date
        key = key_of(days.astype(np.int64))
        keys = np.unique(key if valid is None else key[valid])
        code = np.searchsorted(keys, key).astype(np.int32)
    if valid is not None:
        code[~valid] = -1
    labels = pa.array([_label(int(k) * step, period) for k in keys], pa.string())
    return code, labels


def _as_float(x: np.ndarray | pa.Array) -> np.ndarray:
    if isinstance(x, pa.Array | pa.ChunkedArray):
        x = _to_np(pc.fill_null(pc.cast(x, pa.float64()), 0.0))
    return np.asarray(x, dtype=np.float64)


def _as_number(x: np.ndarray | pa.Array) -> np.ndarray:
    """Integers stay integers (summed exactly); booleans count as 0/1; the rest is float64."""
    if isinstance(x, pa.Array | pa.ChunkedArray):
        x = _to_np(pc.fill_null(x, 0))
    arr = np.asarray(x)
    if arr.dtype == bool:
        return arr.astype(np.int64)
    if np.issubdtype(arr.dtype, np.integer):
        return arr.astype(np.int64)
    return arr.astype(np.float64)


def _as_bool(x: np.ndarray | pa.Array) -> np.ndarray:
    if isinstance(x, pa.Array | pa.ChunkedArray):
        x = _to_np(pc.fill_null(x, False))
    return np.asarray(x, dtype=bool)


@functools.cache
def _oslo() -> dt.tzinfo:
    from zoneinfo import ZoneInfo

    return ZoneInfo(TIMEZONE)


def _patient_time_keys(code: np.ndarray, t: np.ndarray, probe_code: np.ndarray, probe_t: np.ndarray,
                       *, limit: int = 2**62) -> tuple[np.ndarray, np.ndarray]:
    """One int64 key per (patient code, time) that sorts like the pair, for stays and probes alike.

    ``code * span + (t - lo)`` when that stays below ``limit``; otherwise the times are
    replaced by their dense ranks over stays and probes together (same order, smaller span).

    >>> k, p = _patient_time_keys(np.array([0, 0, 1]), np.array([5, 9, 2]), np.array([1]), np.array([1]))
    >>> k.tolist(), p.tolist()
    ([4, 8, 10], [9])
    >>> k, p = _patient_time_keys(np.array([0, 0, 1]), np.array([5, 9, 2]), np.array([1]), np.array([1]),
    ...                           limit=10)
    >>> k.tolist(), p.tolist()
    ([2, 3, 5], [4])
    """
    both = np.concatenate([t, probe_t])
    lo, hi = int(both.min()), int(both.max())
    span = hi - lo + 1
    n_codes = int(max(code.max(), probe_code.max())) + 1
    if n_codes * span < limit:
        return code * span + (t - lo), probe_code * span + (probe_t - lo)
    _, rank = np.unique(both, return_inverse=True)
    rank = rank.astype(np.int64)
    span = int(rank.max()) + 1
    return code * span + rank[:len(t)], probe_code * span + rank[len(t):]


def label_periods(dates: pa.Array | pa.ChunkedArray, period: str) -> pa.Array:
    """Period label (``2024``, ``2024-Q1`` or ``2024-03``) of each date; null stays null.

    The labels are built once per distinct period and taken for every date.

    >>> d = pa.array([dt.date(2024, 2, 29), None, dt.date(2023, 12, 31), dt.date(2024, 1, 1)])
    >>> label_periods(d, "quarter").to_pylist()
    ['2024-Q1', None, '2023-Q4', '2024-Q1']
    >>> label_periods(d, "month").to_pylist()
    ['2024-02', None, '2023-12', '2024-01']
    """
    arr = dates.combine_chunks() if isinstance(dates, pa.ChunkedArray) else dates
    arr = pc.cast(arr, pa.date32())
    if len(arr) == 0:
        return pa.array([], pa.string())
    valid = _to_np(pc.is_valid(arr)).astype(bool)
    days = _to_np(pc.fill_null(pc.cast(arr, pa.int32()), 0)).astype(np.int64)
    # months since 1970-01 (proleptic Gregorian, like pc.year/pc.month)
    months = days.astype("datetime64[D]").astype("datetime64[M]").astype(np.int64)
    step = {"year": 12, "quarter": 3, "month": 1}[period]
    key = months // step
    keys, slot = np.unique(key[valid], return_inverse=True)
    idx = np.zeros(len(key), dtype=np.int64)
    idx[valid] = slot
    labels = pa.array([_label(int(k) * step, period) for k in keys], pa.string())
    return pc.take(labels, pa.array(idx, pa.int64(), mask=~valid))


def _label(month: int, period: str) -> str:
    """Label of the period starting at ``month`` (months since 1970-01); as :func:`period_label`."""
    y, m = 1970 + month // 12, month % 12 + 1
    if period == "year":
        return f"{y}"
    if period == "quarter":
        return f"{y}-Q{(m - 1) // 3 + 1}"
    return f"{y}-{m:02d}"


def periods_from_labels(labels: Sequence[str]) -> pa.Table:
    """Period table (label, start, end) for labels like ``2024``, ``2024-Q1``, ``2024-03``."""
    starts, ends = [], []
    for label in labels:
        if "-Q" in label:
            y, q = label.split("-Q")
            d, kind = dt.date(int(y), 3 * (int(q) - 1) + 1, 1), "quarter"
        elif "-" in label:
            y, m = label.split("-")
            d, kind = dt.date(int(y), int(m), 1), "month"
        else:
            d, kind = dt.date(int(label), 1, 1), "year"
        starts.append(d)
        ends.append(next_period(d, kind))
    return pa.table({"period": pa.array(list(labels), pa.string()),
                     "period_start": pa.array(starts, pa.date32()),
                     "period_end": pa.array(ends, pa.date32())})
