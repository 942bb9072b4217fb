"""Row- and table-level rules (cross-field, references, overlap, plausibility).

Each rule id listed under ``rules:`` in a table file of ``spec/schema`` has one
function here, registered with :func:`check`. Every function is vectorised:
it computes a boolean mask over the rows and hands it to the collector.
"""

from __future__ import annotations

import datetime as dt
import functools
from collections.abc import Callable, Mapping
from typing import Any

import attrs
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from .. import municipalities
from ..schema import TIMEZONE
from ..spec.models import SchemaSpec
from . import _hash
from ._collect import IssueCollector

CHECKS: dict[str, Callable[[CheckContext], None]] = {}

LONG_STAY_DAYS = 30
LOOKED_UP = frozenset({"unit_id", "municipality"})
"""Fields the checks look up in other tables (CheckContext.index_in): their distinct values are kept."""
MS_PER_DAY = 86_400_000


def check(rule_id: str) -> Callable[[Callable[[CheckContext], None]], Callable[[CheckContext], None]]:
    """Register the implementation of a rule id."""
    def deco(fn: Callable[[CheckContext], None]) -> Callable[[CheckContext], None]:
        if rule_id in CHECKS:  # pragma: no cover - a programming error caught by tests
            raise RuntimeError(f"rule {rule_id} registered twice")
        CHECKS[rule_id] = fn
        return fn
    return deco


@attrs.define(kw_only=True)
class CheckContext:
    """What a check sees: the parsed table, its collector and the other tables."""

    table: pa.Table
    invalid: Mapping[str, pa.Array]
    collector: IssueCollector
    schema: SchemaSpec
    others: Mapping[str, pa.Table]
    as_of: dt.datetime
    cache: dict[str, Any] = attrs.field(factory=dict)
    encoded: Mapping[str, tuple[pa.Array, pa.Array]] = attrs.field(factory=dict)
    """Columns parsed once per distinct value: (each row's index, the parsed distinct values)."""

    def col(self, name: str) -> pa.Array:
        c = self.table[name]
        if isinstance(c, pa.ChunkedArray):  # one chunk: no copy (combine_chunks would copy)
            return c.chunk(0) if c.num_chunks == 1 else c.combine_chunks()
        return c

    def add(self, rule: str, field: str | None, mask: pa.Array, **kw: Any) -> None:
        self.collector.add(rule, field, mask, **kw)

    def index_in(self, name: str, value_set: pa.Array) -> pa.Array:
        """``pc.index_in(self.col(name), value_set)``, looked up once per distinct value when known.

        The rows of an encoded column are its distinct values taken by each row's
        index, and ``index_in`` is elementwise, so looking up the few distinct values
        and taking the result by the same indices gives the same array without
        hashing every row's string.
        """
        enc = self.encoded.get(name)
        if enc is None:
            return pc.index_in(self.col(name), value_set=value_set)
        indices, values = enc
        return pc.take(pc.index_in(values, value_set=value_set), indices)

    def is_in(self, name: str, value_set: pa.Array) -> pa.Array:
        """``pc.is_in(self.col(name), value_set)``, once per distinct value when known (as :meth:`index_in`)."""
        enc = self.encoded.get(name)
        if enc is None:
            return pc.is_in(self.col(name), value_set=value_set)
        indices, values = enc
        return pc.take(pc.is_in(values, value_set=value_set), indices)


def local_date(ts: pa.Array) -> pa.Array:
    """The local (Europe/Oslo) calendar date of a zoned timestamp."""
    return pc.cast(pc.local_timestamp(ts), pa.date32())


def _admission_date(c: CheckContext) -> pa.Array:
    """The local date of admission (computed once for every rule that needs it)."""
    if "admission_date" not in c.cache:
        c.cache["admission_date"] = local_date(c.col("admitted_at"))
    date: pa.Array = c.cache["admission_date"]
    return date


def fmt_ts(ts: pa.Array) -> Callable[[pa.Array], pa.Array]:
    """Format zoned timestamps as local ``YYYY-MM-DD HH:MM``, for the flagged rows only."""
    def shown(mask: pa.Array) -> pa.Array:
        return pc.strftime(pc.local_timestamp(ts.filter(mask)), format="%Y-%m-%d %H:%M")
    return shown


def _as_text(values: pa.Array) -> Callable[[pa.Array], pa.Array]:
    """Show values as text, converting only the flagged rows."""
    def shown(mask: pa.Array) -> pa.Array:
        return pc.cast(values.filter(mask), pa.string())
    return shown


def _ms(ts: pa.Array) -> pa.Array:
    return pc.cast(pc.cast(ts, pa.timestamp("ms", tz="UTC")), pa.int64())


# -- stays: cross-field ---------------------------------------------------------

@check("discharge-before-admission")
def _discharge_before_admission(c: CheckContext) -> None:
    adm, dis = c.col("admitted_at"), c.col("discharged_at")
    c.add("discharge-before-admission", "discharged_at", pc.less(dis, adm), values=fmt_ts(dis))


@check("discharged-to-without-discharge")
def _destination_without_discharge(c: CheckContext) -> None:
    dis = c.col("discharged_at")
    mask = pc.and_(pc.and_(pc.is_valid(c.col("discharged_to")), pc.is_null(dis)),
                   pc.invert(c.invalid["discharged_at"]))
    c.add("discharged-to-without-discharge", "discharged_to", mask, values=c.col("discharged_to"))


@check("discharge-without-destination")
def _discharge_without_destination(c: CheckContext) -> None:
    dis = c.col("discharged_at")
    mask = pc.and_(pc.and_(pc.is_valid(dis), pc.is_null(c.col("discharged_to"))),
                   pc.invert(c.invalid["discharged_to"]))
    c.add("discharge-without-destination", "discharged_to", mask, values=fmt_ts(dis))


@check("death-before-admission")
def _death_before_admission(c: CheckContext) -> None:
    died = c.col("died_at")
    mask = pc.less(died, _admission_date(c))
    c.add("death-before-admission", "died_at", mask, values=_as_text(died))


@check("death-destination-mismatch")
def _death_destination_mismatch(c: CheckContext) -> None:
    died = c.col("died_at")
    # the local date of discharge only for the stays discharged as died (the time zone
    # conversion is the costly part); every other row is unflagged
    to_died = np.asarray(pc.fill_null(pc.equal(c.col("discharged_to"), "died"), False)
                         .to_numpy(zero_copy_only=False), dtype=bool)
    rows = np.flatnonzero(to_died)
    mask = np.zeros(len(to_died), dtype=bool)
    if rows.size:
        take = pa.array(rows)
        dis_date = local_date(pc.take(c.col("discharged_at"), take))
        differs = pc.fill_null(pc.not_equal(pc.take(died, take), dis_date), False)
        mask[rows] = np.asarray(differs.to_numpy(zero_copy_only=False), dtype=bool)
    c.add("death-destination-mismatch", "died_at", pa.array(mask), values=_as_text(died))


@check("overlapping-stays")
def _overlapping_stays(c: CheckContext) -> None:
    n = c.table.num_rows
    if n < 2:
        return
    pid = c.col("patient_id")
    start = _ms(c.col("admitted_at"))
    end = _ms(c.col("discharged_at"))
    ok = pc.and_(pc.is_valid(pid), pc.is_valid(start)).to_numpy(zero_copy_only=False)
    # a stay still open at the extract ends after every known time
    top = max(pc.max(start).as_py() or 0, pc.max(end).as_py() or 0) + 1
    # only patients with two or more stays can overlap: find them by hash (candidates: a
    # collision only adds a patient), then group those stays exactly
    ok &= _hash.repeated(_hash.hash_strings(pid))
    keep = np.flatnonzero(ok)
    if keep.size < 2:
        return
    take = pa.array(keep)
    # patients as integers: the order of patients does not matter, only that their stays are together
    patient = pc.dictionary_encode(pc.take(pid, take)).indices.to_numpy(zero_copy_only=False)
    s_all = pc.fill_null(pc.take(start, take), 0).to_numpy(zero_copy_only=False)
    e_all = pc.fill_null(pc.take(end, take), top).to_numpy(zero_copy_only=False)
    order = np.lexsort((e_all, s_all, patient))  # stable: equal keys keep row order
    p, s, e = patient[order], s_all[order], e_all[order]
    m = len(s)
    tie = (p[1:] == p[:-1]) & (s[1:] == s[:-1]) & (e[1:] == e[:-1])
    if tie.any():
        # ties broken by stay id, never by row position: the result ignores row order
        at = np.zeros(m, dtype=bool)
        at[1:] |= tie
        at[:-1] |= tie
        pos = np.flatnonzero(at)
        run = np.cumsum(np.concatenate(([True], ~tie)))[pos]
        sub = pa.table({"r": run, "k": pc.take(c.col("stay_id"), pa.array(keep[order[pos]])),
                        "o": order[pos]}).sort_by([("r", "ascending"), ("k", "ascending"), ("o", "ascending")])
        order[pos] = sub["o"].to_numpy()
    idx = keep[order]
    # group-wise running maximum of end times: a new group starts where p changes
    same_prev = np.zeros(m, dtype=bool)
    same_prev[1:] = p[1:] == p[:-1]
    group = np.cumsum(~same_prev)
    # offset each group above the previous one so a global cummax is group-wise
    lo = int(e.min())
    span = int(e.max()) - lo + 1
    if float(group[-1]) * span < 2**62:
        g = group.astype(np.int64) * span
        run = np.maximum.accumulate((e - lo) + g) - g + lo
    else:  # pragma: no cover - absurd time ranges: group-wise maximum through Arrow
        run = e.copy()
        starts_at = np.flatnonzero(~same_prev)
        for a, b in zip(starts_at, [*starts_at[1:], m], strict=True):
            run[a:b] = np.maximum.accumulate(e[a:b])
    pos = np.where(e == run, np.arange(m), -1)
    argmax = np.maximum.accumulate(pos)
    hit = np.zeros(m, dtype=bool)
    hit[1:] = same_prev[1:] & (s[1:] < run[:-1])
    if not hit.any():
        return
    other = np.zeros(m, dtype=np.int64)
    other[1:] = idx[argmax[:-1]]
    mask = np.zeros(n, dtype=bool)
    mask[idx[hit]] = True
    other_of_row = np.zeros(n, dtype=np.int64)
    other_of_row[idx[hit]] = other[hit]
    other_ids = pc.take(c.col("stay_id"), pa.array(other_of_row))
    c.add("overlapping-stays", "admitted_at", pa.array(mask), values=other_ids)


# -- stays: references ----------------------------------------------------------

def _unit_match(c: CheckContext) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per stay: unit known, period found, and the row of the units table that matched (-1: none)."""
    if "unit_match" in c.cache:
        return c.cache["unit_match"]  # type: ignore[no-any-return]
    units = c.others["units"]
    uid = c.col("unit_id")
    ids = units["unit_id"].combine_chunks()
    known = pc.fill_null(c.is_in("unit_id", ids), False).to_numpy(zero_copy_only=False)
    adm = _admission_date(c)
    pos = _unit_rows_by_search(uid, adm, units, index_in=functools.partial(c.index_in, "unit_id"))
    if pos is None:
        pos = _unit_rows_by_join(uid, adm, units)
    result = (known, pos >= 0, pos)
    c.cache["unit_match"] = result
    return result


def _unit_rows_by_search(uid: pa.Array, adm: pa.Array, units: pa.Table,
                         index_in: Callable[[pa.Array], pa.Array] | None = None) -> np.ndarray | None:
    """The unit row valid on each admission date, by binary search over the (small) units table.

    Exact when each unit's periods neither overlap nor are empty, as validated units
    are; returns None otherwise (the join below handles any units table).
    """
    m = units.num_rows
    if m == 0:
        return np.full(len(uid), -1, dtype=np.int64)
    ids = units["unit_id"].combine_chunks()
    vf = units["valid_from"].combine_chunks()
    if ids.null_count or vf.null_count:
        return None
    distinct = pc.unique(ids)
    code = pc.index_in(ids, value_set=distinct).to_numpy(zero_copy_only=False).astype(np.int64)
    start = pc.cast(vf, pa.int32()).to_numpy(zero_copy_only=False).astype(np.int64)
    end = pc.fill_null(pc.cast(units["valid_to"].combine_chunks(), pa.int32()), 2**31 - 1) \
        .to_numpy(zero_copy_only=False).astype(np.int64)
    span = 2**32  # dates as int32 days, shifted to be non-negative
    key = code * span + (start + 2**31)
    order = np.argsort(key, kind="stable")
    if (end[order] <= start[order]).any():
        return None
    same = code[order][1:] == code[order][:-1]
    if (same & (end[order][:-1] > start[order][1:])).any():
        return None  # overlapping periods of one unit
    stay_code = index_in(distinct) if index_in is not None else pc.index_in(uid, value_set=distinct)
    stay_day = pc.cast(adm, pa.int32())
    sorted_key = key[order]

    def unit_row(sc: np.ndarray, sd: np.ndarray) -> np.ndarray:
        sc, sd = sc.astype(np.int64), sd.astype(np.int64)
        at = np.searchsorted(sorted_key, sc * span + (sd + 2**31), side="right") - 1
        row = order[np.clip(at, 0, m - 1)]
        hit = (at >= 0) & (code[row] == sc) & (start[row] <= sd) & (sd < end[row])
        return np.asarray(np.where(hit, row, -1).astype(np.int64))

    return by_code_and_day(stay_code, stay_day, unit_row, -1)


GRID_SHARE = 4  # a grid of (code, day) pairs is used when it has at most 1/GRID_SHARE as many cells as rows


def by_code_and_day(code: pa.Array, day: pa.Array, fn: Callable[[np.ndarray, np.ndarray], np.ndarray],
                    missing: Any) -> np.ndarray:
    """``fn(code, day)`` for each row (``missing`` where either is null), once per (code, day) pair.

    ``fn`` must be elementwise: its result for a row depends on that row's code and
    day only. The rows span few codes (units, municipalities) and days (a year or
    two), so ``fn`` is evaluated on every pair of that small grid and each row takes
    its cell: one gather instead of a binary search and several lookups per row.
    When the grid would not be much smaller than the rows, ``fn`` runs on the rows.
    """
    n = len(code)
    ok = np.asarray(pc.and_(pc.is_valid(code), pc.is_valid(day)).to_numpy(zero_copy_only=False), dtype=bool)
    sc = np.asarray(pc.fill_null(pc.cast(code, pa.int32()), 0).to_numpy(zero_copy_only=False))
    sd = np.asarray(pc.fill_null(pc.cast(day, pa.int32()), 0).to_numpy(zero_copy_only=False))
    every = bool(ok.all())
    if n == 0 or not ok.any():
        return np.asarray(np.where(ok, fn(sc, sd), missing)) if n else fn(sc, sd)
    c_ok, d_ok = (sc, sd) if every else (sc[ok], sd[ok])
    c_lo, c_hi, d_lo, d_hi = int(c_ok.min()), int(c_ok.max()), int(d_ok.min()), int(d_ok.max())
    del c_ok, d_ok
    width = d_hi - d_lo + 1
    cells = (c_hi - c_lo + 1) * width
    if cells * GRID_SHARE > n:
        out = fn(sc, sd)
    else:
        grid_code, grid_day = np.divmod(np.arange(cells, dtype=np.int64), width)
        table = fn((grid_code + c_lo).astype(np.int32), (grid_day + d_lo).astype(np.int32))
        cell = sc.astype(np.int64)
        cell -= c_lo
        cell *= width
        cell += sd
        cell -= d_lo
        if not every:
            cell[~ok] = 0
        out = table[cell]
    if not every:
        out = np.where(ok, out, np.asarray(missing, dtype=out.dtype))
    return np.asarray(out)


def _unit_rows_by_join(uid: pa.Array, adm: pa.Array, units: pa.Table) -> np.ndarray:
    """The unit row valid on each admission date (the first by valid_from), by a join."""
    n = len(uid)
    left = pa.table({"unit_id": uid, "d": adm, "i": pa.array(np.arange(n))})
    right = units.select(["unit_id", "valid_from", "valid_to"]).append_column(
        "u", pa.array(np.arange(units.num_rows)))
    j = left.join(right, keys="unit_id", join_type="inner")
    inside = pc.and_(pc.greater_equal(j["d"], j["valid_from"]),
                     pc.or_kleene(pc.is_null(j["valid_to"]), pc.less(j["d"], j["valid_to"])))
    j = j.filter(pc.fill_null(inside, False))
    first = j.group_by("i").aggregate([("valid_from", "min")])
    j = j.join(first, keys=["i"], join_type="inner")
    j = j.filter(pc.equal(j["valid_from"], j["valid_from_min"]))
    pos = np.full(n, -1, dtype=np.int64)
    pos[j["i"].to_numpy()] = j["u"].to_numpy()
    return pos


@check("unit-unknown")
def _unit_unknown(c: CheckContext) -> None:
    if "units" not in c.others:
        return
    known, _, _ = _unit_match(c)
    mask = pc.and_(pa.array(~known), pc.is_valid(c.col("unit_id")))
    c.add("unit-unknown", "unit_id", mask, values=c.col("unit_id"))


@check("unit-not-valid-at-admission")
def _unit_not_valid(c: CheckContext) -> None:
    if "units" not in c.others:
        return
    known, found, _ = _unit_match(c)
    mask = pc.and_(pa.array(known & ~found), pc.is_valid(c.col("admitted_at")))
    c.add("unit-not-valid-at-admission", "unit_id", mask, values=c.col("unit_id"))


def _matched_column(c: CheckContext, name: str) -> pa.Array:
    _, _, pos = _unit_match(c)
    unit_col = c.others["units"][name].combine_chunks()
    if len(unit_col) == 0:
        return pa.nulls(len(pos), unit_col.type)
    return pc.take(unit_col, pa.array(np.where(pos >= 0, pos, 0), mask=pos < 0))


@check("care-track-mismatch")
def _care_track_mismatch(c: CheckContext) -> None:
    if "units" not in c.others:
        return
    unit_track = _matched_column(c, "care_track")
    track = c.col("care_track")
    mask = pc.not_equal(track, unit_track)
    c.add("care-track-mismatch", "care_track", mask, values=track,
          expected=" / ".join(sorted({x for x in unit_track.filter(pc.fill_null(mask, False))
                                      .unique().to_pylist() if x})))


@check("patient-outside-catchment")
def _outside_catchment(c: CheckContext) -> None:
    if "units" not in c.others:
        return
    _, _, pos = _unit_match(c)
    lists = c.others["units"]["municipalities"].combine_chunks()
    mun = c.col("municipality")
    # the (unit row, municipality) pairs the units table serves, as integer keys
    flat = pc.list_flatten(lists)
    owner = pc.list_parent_indices(lists).to_numpy(zero_copy_only=False).astype(np.int64)
    names = pc.unique(flat.filter(pc.is_valid(flat)))
    k = len(names) + 1
    flat_code = pc.index_in(flat, value_set=names)
    served_keys = owner[flat_code.is_valid().to_numpy(zero_copy_only=False)] * k + \
        flat_code.drop_null().to_numpy(zero_copy_only=False).astype(np.int64)
    code = pc.fill_null(c.index_in("municipality", names), -1).to_numpy(zero_copy_only=False).astype(np.int64)
    inside = (pos >= 0) & (code >= 0) & np.isin(pos * k + code, served_keys)
    has_list = np.zeros(len(pos), dtype=bool)
    if len(lists):
        has_list = (pos >= 0) & lists.is_valid().to_numpy(zero_copy_only=False)[np.where(pos >= 0, pos, 0)]
    mask = pc.and_(pc.and_(pc.is_valid(mun), pa.array(has_list)), pa.array(~inside))
    c.add("patient-outside-catchment", "municipality", mask, values=mun)


# -- municipality validity ------------------------------------------------------

def _municipality_valid_on(c: CheckContext | None, mun: pa.Array, date: pa.Array) -> np.ndarray:
    """As :func:`kadindicators.municipalities.valid_on`, by binary search when the code list allows.

    ``mun`` is the ``municipality`` column of ``c``'s table (looked up per distinct value when it was
    parsed so), or of no table when ``c`` is None.
    """
    periods = _code_periods()
    if periods is None:  # pragma: no cover - a code list with overlapping periods of one code
        return municipalities.valid_on(mun, date)
    names, key, start, end, code_of = periods
    idx = pc.index_in(mun, value_set=names) if c is None else c.index_in("municipality", names)
    if len(key) == 0:
        return np.zeros(len(mun), dtype=bool)

    def valid(sc: np.ndarray, sd: np.ndarray) -> np.ndarray:
        sc, sd = sc.astype(np.int64), sd.astype(np.int64)
        at = np.searchsorted(key, sc * 2**32 + (sd + 2**31), side="right") - 1
        row = np.clip(at, 0, max(len(key) - 1, 0))
        return np.asarray((at >= 0) & (code_of[row] == sc) & (start[row] <= sd) & (sd < end[row]))

    return by_code_and_day(idx, date, valid, False)


@functools.cache
def _code_periods() -> tuple[pa.Array, np.ndarray, np.ndarray, np.ndarray, np.ndarray] | None:
    """The municipality validity periods sorted by (code, start), when no code's periods overlap."""
    t = municipalities.validity_table()
    names = pc.unique(t["code"].combine_chunks())
    code = pc.index_in(t["code"], value_set=names).to_numpy(zero_copy_only=False).astype(np.int64)
    start = pc.cast(t["vf"], pa.int32()).to_numpy(zero_copy_only=False).astype(np.int64)
    end = pc.cast(t["vt"], pa.int32()).to_numpy(zero_copy_only=False).astype(np.int64)
    key = code * 2**32 + (start + 2**31)
    order = np.argsort(key, kind="stable")
    code, start, end, key = code[order], start[order], end[order], key[order]
    if ((code[1:] == code[:-1]) & (end[:-1] > start[1:])).any():  # pragma: no cover
        return None
    return names, key, start, end, code


def _successor_text(c: CheckContext, codes: pa.Array) -> str:
    succ = municipalities.successors()
    pairs = sorted({f"{x} → {', '.join(succ.get(x, ('?',)))}" for x in codes.unique().to_pylist() if x})
    return "; ".join(pairs[:10]) + (" …" if len(pairs) > 10 else "")


@check("municipality-not-valid-at-admission")
def _municipality_at_admission(c: CheckContext) -> None:
    mun = c.col("municipality")
    date = _admission_date(c)
    ok = _municipality_valid_on(c, mun, date)
    mask = pc.and_(pc.and_(pc.is_valid(mun), pc.is_valid(date)), pa.array(~ok))
    bad = mun.filter(pc.fill_null(mask, False))
    c.add("municipality-not-valid-at-admission", "municipality", mask, values=mun,
          expected=_successor_text(c, bad))


@check("municipality-not-valid-in-year")
def _municipality_in_year(c: CheckContext) -> None:
    mun = c.col("municipality")
    year = c.col("year")
    jan1 = pc.strptime(pc.binary_join_element_wise(pc.cast(year, pa.string()), "0101", ""),
                       format="%Y%m%d", unit="s", error_is_null=True)
    date = pc.cast(jan1, pa.date32())
    ok = _municipality_valid_on(c, mun, date)
    mask = pc.and_(pc.and_(pc.is_valid(mun), pc.is_valid(date)), pa.array(~ok))
    bad = mun.filter(pc.fill_null(mask, False))
    c.add("municipality-not-valid-in-year", "municipality", mask, values=mun,
          expected=_successor_text(c, bad))


# -- plausibility ---------------------------------------------------------------

@check("long-stay")
def _long_stay(c: CheckContext) -> None:
    dur = pc.subtract(_ms(c.col("discharged_at")), _ms(c.col("admitted_at")))
    mask = pc.greater(dur, LONG_STAY_DAYS * MS_PER_DAY)

    def days(flagged: pa.Array) -> pa.Array:  # formatted for the flagged rows only
        d = pc.round(pc.divide(pc.cast(dur.filter(flagged), pa.float64()), float(MS_PER_DAY)), 1)
        return pc.cast(d, pa.string())

    c.add("long-stay", "discharged_at", mask, values=days, expected=str(LONG_STAY_DAYS))


@check("future-date")
def _future_date(c: CheckContext) -> None:
    now = pa.scalar(c.as_of, pa.timestamp("ms", tz=TIMEZONE))
    for name in ("admitted_at", "discharged_at"):
        col = c.col(name)
        c.add("future-date", name, pc.greater(col, now), values=fmt_ts(col))


# -- units ----------------------------------------------------------------------

@check("valid-to-before-valid-from")
def _valid_to_before_from(c: CheckContext) -> None:
    vt = c.col("valid_to")
    c.add("valid-to-before-valid-from", "valid_to", pc.less_equal(vt, c.col("valid_from")),
          values=pc.cast(vt, pa.string()))


@check("unit-periods-overlap")
def _unit_periods_overlap(c: CheckContext) -> None:
    n = c.table.num_rows
    if n < 2:
        return
    far = dt.date(9999, 1, 1)
    t = pa.table({"u": c.col("unit_id"), "f": c.col("valid_from"),
                  "t": pc.fill_null(c.col("valid_to"), pa.scalar(far, pa.date32())),
                  "i": pa.array(np.arange(n))})
    t = t.filter(pc.and_(pc.is_valid(t["u"]), pc.is_valid(t["f"])))
    t = t.sort_by([("u", "ascending"), ("f", "ascending"), ("i", "ascending")])
    m = t.num_rows
    if m < 2:
        return
    u = t["u"].combine_chunks()
    same = pc.equal(u.slice(1), u.slice(0, m - 1)).to_numpy(zero_copy_only=False)
    f = pc.cast(t["f"], pa.int32()).to_numpy().astype(np.int64)
    to = pc.cast(t["t"], pa.int32()).to_numpy().astype(np.int64)
    group = np.cumsum(np.concatenate(([True], ~same))).astype(np.int64)
    span = 4_000_000  # more days than 0001-01-01 .. 9999-12-31
    run = np.maximum.accumulate(to + group * span) - group * span  # group-wise running max
    hit = same & (f[1:] < run[:-1])
    mask = np.zeros(n, dtype=bool)
    mask[t["i"].to_numpy()[1:][hit]] = True
    c.add("unit-periods-overlap", "valid_from", pa.array(mask), values=c.col("unit_id"))


# -- experience (schema 1.1.0) ----------------------------------------------------

@check("experience-stay-unknown")
def _experience_stay_unknown(c: CheckContext) -> None:
    if "stays" not in c.others:
        return
    sid = c.col("stay_id")
    known = pc.is_in(sid, value_set=c.others["stays"]["stay_id"].combine_chunks())
    c.add("experience-stay-unknown", "stay_id", pc.and_(pc.is_valid(sid), pc.invert(known)), values=sid)


@check("experience-answer-without-response")
def _experience_answer_without_response(c: CheckContext) -> None:
    answered = pc.or_(pc.is_valid(c.col("item")), pc.is_valid(c.col("score")))
    mask = pc.and_(pc.equal(c.col("responded"), False), answered)
    shown = pc.binary_join_element_wise(pc.fill_null(c.col("item"), ""),
                                        pc.fill_null(pc.cast(c.col("score"), pa.string()), ""), " ")
    c.add("experience-answer-without-response", "item", mask, values=shown)


@check("experience-response-without-item")
def _experience_response_without_item(c: CheckContext) -> None:
    # an item rejected as unknown has already been reported (code-unknown)
    item_given = pc.invert(c.invalid.get("item", pa.array(np.zeros(c.table.num_rows, dtype=bool))))
    mask = pc.and_(pc.and_(pc.equal(c.col("responded"), True), pc.is_null(c.col("item"))), item_given)
    c.add("experience-response-without-item", "item", mask)


@check("experience-item-not-for-respondent")
def _experience_item_not_for_respondent(c: CheckContext) -> None:
    items = c.schema.codelists["experience_item"]
    who = c.schema.codelists["experience_respondent"]
    item, resp = c.col("item"), c.col("respondent")
    for code in items.codes:
        allowed = [str(r) for r in code.attributes.get("respondents", ())]
        if not allowed:
            continue
        mask = pc.and_(pc.equal(item, code.code),
                       pc.invert(pc.is_in(resp, value_set=pa.array(allowed, pa.string()))))
        expected = (", ".join(who.label(r, "nb") for r in allowed), ", ".join(who.label(r, "en") for r in allowed))
        c.add("experience-item-not-for-respondent", "item", pc.fill_null(mask, False), values=item,
              expected=expected)


@check("experience-response-inconsistent")
def _experience_response_inconsistent(c: CheckContext) -> None:
    n = c.table.num_rows
    if n < 2:
        return
    t = pa.table({"r": c.col("response_id"), "s": c.col("stay_id"), "p": c.col("respondent"),
                  "b": pc.cast(c.col("responded"), pa.string())})
    g = t.group_by("r").aggregate([("s", "count_distinct"), ("p", "count_distinct"), ("b", "count_distinct")])
    bad = g.filter(pc.or_(pc.or_(pc.greater(g["s_count_distinct"], 1), pc.greater(g["p_count_distinct"], 1)),
                          pc.greater(g["b_count_distinct"], 1)))["r"]
    if len(bad) == 0:
        return
    mask = pc.fill_null(pc.is_in(t["r"], value_set=bad.combine_chunks()), False)
    c.add("experience-response-inconsistent", "response_id", mask, values=c.col("response_id"))


# -- hospital admissions (schema 1.1.0) -------------------------------------------

@check("hospital-admissions-year-and-months")
def _hospital_year_and_months(c: CheckContext) -> None:
    mun, year, month = c.col("municipality"), c.col("year"), c.col("month")
    key = pc.binary_join_element_wise(pc.cast(mun, pa.string()), pc.cast(year, pa.string()), " ")
    t = pa.table({"k": key, "whole": pc.cast(pc.is_null(month), pa.int64()),
                  "part": pc.cast(pc.is_valid(month), pa.int64())})
    t = t.filter(pc.is_valid(t["k"]))
    g = t.group_by("k").aggregate([("whole", "max"), ("part", "max")])
    both = g.filter(pc.and_(pc.equal(g["whole_max"], 1), pc.equal(g["part_max"], 1)))["k"]
    if len(both) == 0:
        return
    c.add("hospital-admissions-year-and-months", "month",
          pc.fill_null(pc.is_in(key, value_set=both.combine_chunks()), False), values=key)
