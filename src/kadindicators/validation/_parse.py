"""Vectorised parsing of raw columns into the schema's Arrow types.

Every parser takes one column (strings from CSV/Excel, or typed values from
Parquet and data frames) and returns the typed column, a mask of values that
are present but invalid, a mask of missing values, and any extra notes
(daylight-saving adjustments, Excel serial dates, mapped labels).
"""

from __future__ import annotations

from collections.abc import Mapping

import attrs
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from ..schema import TIMEZONE, arrow_type
from ..spec.models import CodeList, FieldSpec

ISO_RE = (r"^(?P<y>\d{4})-(?P<mo>\d{1,2})-(?P<d>\d{1,2})"
          r"(?:[T ](?P<h>\d{1,2}):(?P<mi>\d{2})(?::(?P<s>\d{2})(?:[.,](?P<frac>\d+))?)?)?"
          r"\s*(?P<tz>Z|[+-]\d{2}(?::?\d{2})?)?$")
NO_RE = (r"^(?P<d>\d{1,2})\.(?P<mo>\d{1,2})\.(?P<y>\d{4})"
         r"(?:[ T]+(?:kl\.?\s*)?(?P<h>\d{1,2})[:.](?P<mi>\d{2})(?:[:.](?P<s>\d{2}))?)?$")
SERIAL_RE = r"^(?P<day>\d{5})(?:[.,](?P<frac>\d+))?$"
SPACES = " \u00a0\u202f"  # space, no-break space, narrow no-break space (thousands separators)
INT_RE = r"^[+-]?(?:\d{1,3}(?:[" + SPACES + r"]\d{3})+|\d+)(?:[.,]0+)?$"
TRUE_WORDS = ("true", "t", "ja", "j", "yes", "y", "1", "sann", "x")
FALSE_WORDS = ("false", "f", "nei", "n", "no", "0", "usann")
FORMULA_RE = r"^[=+\-@\t\r]"
EXCEL_EPOCH_DAYS = 25569  # serial number of 1970-01-01 in Excel's 1900 date system


@attrs.frozen(kw_only=True)
class Note:
    """A per-row remark from parsing (rule id, mask, value shown, expected)."""

    rule: str
    mask: pa.Array
    values: pa.Array
    expected: str = ""


@attrs.frozen(kw_only=True)
class Mapped:
    """Labels mapped to codes: distinct (value, code) pairs with their counts and first row."""

    value: str
    code: str
    count: int
    first_index: int


@attrs.frozen(kw_only=True)
class Parsed:
    """The outcome of parsing one column."""

    values: pa.Array
    invalid: pa.Array
    missing: pa.Array
    raw: pa.Array
    notes: tuple[Note, ...] = ()
    mapped: tuple[Mapped, ...] = ()
    # with summarise=False: the rows whose label was mapped to a code (summarised by the caller)
    mapped_mask: pa.Array | None = None


def _as_array(col: pa.ChunkedArray | pa.Array) -> pa.Array:
    if isinstance(col, pa.ChunkedArray):
        return col.combine_chunks() if col.num_chunks != 1 else col.chunk(0)
    return col


def as_strings(col: pa.Array) -> pa.Array:
    """Cast any column to strings (integral floats without a trailing .0)."""
    t = col.type
    if pa.types.is_dictionary(t):
        col = col.dictionary_decode() if not pa.types.is_string_view(t.value_type) else \
            pc.cast(col, pa.string())
        t = col.type
    if pa.types.is_string(t):
        return col
    if pa.types.is_large_string(t) or pa.types.is_string_view(t):
        return pc.cast(col, pa.string())
    if pa.types.is_floating(t):
        arr = col.to_numpy(zero_copy_only=False)
        ok = np.isfinite(arr) & (np.floor(arr) == arr) & (np.abs(arr) < 2**53)
        if ok[~np.isnan(arr)].all() if arr.size else True:
            ints = pa.array(np.where(ok, arr, 0).astype(np.int64), mask=~ok)
            return pc.cast(ints, pa.string())
    if pa.types.is_binary(t) or pa.types.is_large_binary(t):
        return pa.array([None if v is None else v.decode("utf-8", errors="replace")
                         for v in col.to_pylist()], pa.string())
    try:
        return pc.cast(col, pa.string())
    except (pa.ArrowNotImplementedError, pa.ArrowInvalid):
        return pa.array([None if v is None else str(v) for v in col.to_pylist()], pa.string())


def end_bytes(s: pa.Array) -> tuple[np.ndarray, np.ndarray, np.ndarray] | None:
    """First and last byte of each string, and which are present and not empty (from the buffers).

    None for anything but a plain string array.
    """
    if not pa.types.is_string(s.type):
        return None
    n = len(s)
    _, offsets_buf, data_buf = s.buffers()
    offsets = np.frombuffer(offsets_buf, dtype=np.int32)[s.offset:s.offset + n + 1]
    has = np.diff(offsets) > 0
    if s.null_count:
        has &= np.asarray(s.is_valid().to_numpy(zero_copy_only=False), dtype=bool)
    if has.all():  # no null or empty string (the usual case): gather directly
        data = np.frombuffer(data_buf, dtype=np.uint8)
        return data[offsets[:-1]], data[offsets[1:] - 1], has
    first = np.zeros(n, dtype=np.uint8)
    last = np.zeros(n, dtype=np.uint8)
    if has.any():
        data = np.frombuffer(data_buf, dtype=np.uint8)
        first[has] = data[offsets[:-1][has]]
        last[has] = data[offsets[1:][has] - 1]
    return first, last, has


def trim(s: pa.Array) -> pa.Array:
    """utf8_trim_whitespace, skipped when no string starts or ends with a space or non-ASCII byte."""
    ends = end_bytes(s)
    if ends is not None:
        first, last, has = ends
        maybe = _EDGE[first]  # one table lookup per byte instead of four comparisons
        maybe |= _EDGE[last]
        maybe &= has
        if not maybe.any():
            return s
    return pc.utf8_trim_whitespace(s)


_EDGE = np.zeros(256, dtype=bool)
_EDGE[:33] = True
_EDGE[127:] = True  # a byte <= 32 or >= 127 may be (part of) whitespace at an end of a string
_FORMULA_BYTES = np.frombuffer(b"=+-@\t\r", dtype=np.uint8)
_FORMULA = np.zeros(256, dtype=bool)
_FORMULA[_FORMULA_BYTES] = True


def formula_mask(raw: pa.Array) -> pa.Array:
    """Text a spreadsheet would run as a formula (FORMULA_RE), from the first byte; no nulls."""
    ends = end_bytes(raw)
    if ends is None:
        return pc.fill_null(pc.match_substring_regex(raw, FORMULA_RE), False)
    first, _, has = ends
    return pa.array(has & _FORMULA[first])


def _clean(col: pa.Array) -> tuple[pa.Array, pa.Array]:
    """Trim strings; return (trimmed strings with empty -> null, missing mask)."""
    s = trim(as_strings(col))
    missing = pc.fill_null(pc.equal(s, ""), True)
    if not pc.any(pc.and_(missing, pc.is_valid(s))).as_py():
        return s, missing  # no empty strings: nothing to null
    return pc.if_else(missing, pa.scalar(None, pa.string()), s), missing


def _extract_int(struct: pa.Array, name: str) -> np.ndarray:
    part = pc.struct_field(struct, name)
    part = pc.if_else(pc.equal(part, ""), pa.scalar(None, pa.string()), part)
    return np.asarray(pc.fill_null(pc.cast(part, pa.int64()), 0).to_numpy(zero_copy_only=False))


def _days_from_civil(y: np.ndarray, m: np.ndarray, d: np.ndarray) -> np.ndarray:
    """Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's algorithm)."""
    y = y - (m <= 2)
    era = np.floor_divide(y, 400)
    yoe = y - era * 400
    mp = (m + 9) % 12
    doy = (153 * mp + 2) // 5 + d - 1
    doe = yoe * 365 + yoe // 4 - yoe // 100 + doy
    return np.asarray(era * 146097 + doe - 719468)


def _days_in_month(y: np.ndarray, m: np.ndarray) -> np.ndarray:
    lengths = np.array([0, 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31])
    leap = ((y % 4 == 0) & (y % 100 != 0)) | (y % 400 == 0)
    return np.asarray(lengths[np.clip(m, 0, 12)] + ((m == 2) & leap))


@attrs.frozen
class _Instants:
    ms: np.ndarray          # milliseconds: local wall clock (naive) or UTC (zoned)
    ok: np.ndarray          # parsed and a real calendar date/time
    zoned: np.ndarray       # an explicit zone offset was given
    serial: np.ndarray      # read as an Excel serial number
    has_time: np.ndarray


# Fixed-width layouts read straight from the string bytes (no regular expression): the
# forms nearly every export uses. Each is (length, digit positions, separators as
# (position, allowed bytes), field slices). A value that fits one is read exactly as
# ISO_RE / NO_RE would read it; anything else goes through the regular expressions.
_Layout = tuple[int, tuple[int, ...], tuple[tuple[int, bytes], ...], dict[str, tuple[int, int]]]
_ISO_DATE = {"y": (0, 4), "mo": (5, 7), "d": (8, 10)}
_NO_DATE = {"d": (0, 2), "mo": (3, 5), "y": (6, 10)}
_LAYOUTS: tuple[_Layout, ...] = (
    (19, (0, 1, 2, 3, 5, 6, 8, 9, 11, 12, 14, 15, 17, 18), ((4, b"-"), (7, b"-"), (10, b"T "), (13, b":"), (16, b":")),
     {**_ISO_DATE, "h": (11, 13), "mi": (14, 16), "s": (17, 19)}),
    (16, (0, 1, 2, 3, 5, 6, 8, 9, 11, 12, 14, 15), ((4, b"-"), (7, b"-"), (10, b"T "), (13, b":")),
     {**_ISO_DATE, "h": (11, 13), "mi": (14, 16)}),
    (10, (0, 1, 2, 3, 5, 6, 8, 9), ((4, b"-"), (7, b"-")), _ISO_DATE),
    (16, (0, 1, 3, 4, 6, 7, 8, 9, 11, 12, 14, 15), ((2, b"."), (5, b"."), (10, b" T"), (13, b":.")),
     {**_NO_DATE, "h": (11, 13), "mi": (14, 16)}),
    (19, (0, 1, 3, 4, 6, 7, 8, 9, 11, 12, 14, 15, 17, 18),
     ((2, b"."), (5, b"."), (10, b" T"), (13, b":."), (16, b":.")),
     {**_NO_DATE, "h": (11, 13), "mi": (14, 16), "s": (17, 19)}),
    (10, (0, 1, 3, 4, 6, 7, 8, 9), ((2, b"."), (5, b".")), _NO_DATE),
)
_FIELDS = ("y", "mo", "d", "h", "mi", "s")


def _fixed_width(s: pa.Array) -> tuple[np.ndarray, dict[str, np.ndarray], np.ndarray] | None:
    """Read the values of ``s`` that have one of the fixed-width layouts, from the bytes.

    Returns (rows read, their fields y/mo/d/h/mi/s as full-length int32 arrays, has a
    time), or None when ``s`` is not a plain string array. Works in bytes and 32-bit
    integers: large temporaries cost more than the arithmetic.
    """
    n = len(s)
    if n == 0 or not pa.types.is_string(s.type):
        return None
    _, off_buf, data_buf = s.buffers()
    offsets = np.frombuffer(off_buf, dtype=np.int32)[s.offset:s.offset + n + 1]
    data = np.frombuffer(data_buf, dtype=np.uint8) if data_buf is not None else np.zeros(0, np.uint8)
    lengths = np.diff(offsets)
    present = np.asarray(s.is_valid().to_numpy(zero_copy_only=False), dtype=bool)
    rows = np.zeros(n, dtype=bool)
    has_time = np.zeros(n, dtype=bool)
    fields = {k: np.zeros(n, dtype=np.int32) for k in _FIELDS}
    todo = present
    for length, digits, seps, slices in _LAYOUTS:
        sel = todo & (lengths == length)
        count = int(np.count_nonzero(sel))
        if count == 0:
            continue
        block: np.ndarray | None = None
        if count == n:  # every value has this length: the bytes are one (n, length) block
            block = data[offsets[0]:offsets[0] + n * length].reshape(n, length)
            cand = np.arange(n)
        else:
            cand = np.flatnonzero(sel)
        first = offsets[cand]

        def byte(k: int, block: np.ndarray | None = block, first: np.ndarray = first) -> np.ndarray:
            return np.asarray(block[:, k] if block is not None else data[first + k])
        ok = np.ones(cand.size, dtype=bool)
        for k in digits:
            ok &= (byte(k) - np.uint8(48)) <= 9  # uint8 wraps below "0"
        for pos, allowed in seps:
            sep = byte(pos)
            sep_ok = sep == allowed[0]
            for other in allowed[1:]:
                sep_ok |= sep == other
            ok &= sep_ok
        if not ok.any():
            continue
        every = bool(ok.all())
        hit = cand if every else cand[ok]
        for name, (a, b) in slices.items():
            x = byte(a).astype(np.int32)
            x -= 48
            for k in range(a + 1, b):
                x *= 10
                x += byte(k)
                x -= 48
            fields[name][hit] = x if every else x[ok]
        rows[hit] = True
        has_time[hit] = "h" in slices
        todo = present & ~rows
    return rows, fields, has_time


def _parse_instants(s: pa.Array) -> _Instants:
    """Parse date/time text: fixed-width layouts from the bytes, everything else by regex."""
    n = len(s)
    fast = _fixed_width(s)
    if fast is None or not fast[0].any():
        return _parse_instants_regex(s)
    rows, f, has_time = fast
    y, mo, d, h, mi, sec = (f[k] for k in _FIELDS)
    ok = (rows & (y >= 1900) & (y <= 2100) & (mo >= 1) & (mo <= 12) & (d >= 1)
          & (d <= _days_in_month(y, mo)) & (h <= 23) & (mi <= 59) & (sec <= 59))
    # seconds of the day fit 32 bits; the milliseconds since 1970 need 64
    ms = _days_from_civil(y, np.clip(mo, 1, 12), d).astype(np.int64)
    ms *= 86400
    ms += h * 3600 + mi * 60 + sec
    ms *= 1000
    ms[~rows] = 0
    zoned = np.zeros(n, dtype=bool)
    serial = np.zeros(n, dtype=bool)
    rest = ~rows & np.asarray(s.is_valid().to_numpy(zero_copy_only=False), dtype=bool)
    if rest.any():
        idx = np.flatnonzero(rest)
        sub = _parse_instants_regex(s.take(pa.array(idx)))
        ms[idx], ok[idx], zoned[idx] = sub.ms, sub.ok, sub.zoned
        serial[idx], has_time[idx] = sub.serial, sub.has_time
    return _Instants(ms=ms, ok=ok, zoned=zoned, serial=serial, has_time=has_time)


def _parse_instants_regex(s: pa.Array) -> _Instants:
    n = len(s)
    filled = pc.fill_null(s, "")
    iso = pc.extract_regex(filled, ISO_RE)
    nor = pc.extract_regex(filled, NO_RE)
    ser = pc.extract_regex(filled, SERIAL_RE)
    iso_ok = pc.is_valid(iso).to_numpy(zero_copy_only=False)
    nor_ok = pc.is_valid(nor).to_numpy(zero_copy_only=False)
    ser_ok = pc.is_valid(ser).to_numpy(zero_copy_only=False)
    y = np.where(iso_ok, _extract_int(iso, "y"), _extract_int(nor, "y"))
    mo = np.where(iso_ok, _extract_int(iso, "mo"), _extract_int(nor, "mo"))
    d = np.where(iso_ok, _extract_int(iso, "d"), _extract_int(nor, "d"))
    h = np.where(iso_ok, _extract_int(iso, "h"), _extract_int(nor, "h"))
    mi = np.where(iso_ok, _extract_int(iso, "mi"), _extract_int(nor, "mi"))
    sec = np.where(iso_ok, _extract_int(iso, "s"), _extract_int(nor, "s"))
    # a fraction of a second (ISO only), to the millisecond: ".25" is 250 ms, ".123456" is 123 ms
    frac = pc.fill_null(pc.struct_field(iso, "frac"), "")
    frac = pc.utf8_slice_codeunits(pc.utf8_rpad(frac, 3, "0"), 0, 3)
    milli = np.where(iso_ok, np.asarray(pc.cast(frac, pa.int64()).to_numpy(zero_copy_only=False)), 0)
    hour_part = pc.if_else(pa.array(iso_ok), pc.struct_field(iso, "h"), pc.struct_field(nor, "h"))
    has_time = pc.fill_null(pc.not_equal(hour_part, ""), False).to_numpy(zero_copy_only=False)
    matched = iso_ok | nor_ok
    valid = (matched & (y >= 1900) & (y <= 2100) & (mo >= 1) & (mo <= 12) & (d >= 1)
             & (d <= _days_in_month(y, mo)) & (h <= 23) & (mi <= 59) & (sec <= 59))
    days = _days_from_civil(y, np.clip(mo, 1, 12), d)
    ms = (days * 86400 + h * 3600 + mi * 60 + sec) * 1000 + milli
    # explicit zone offsets (ISO only)
    tz = pc.fill_null(pc.struct_field(iso, "tz"), "")
    zoned = (pc.not_equal(tz, "").to_numpy(zero_copy_only=False)) & iso_ok
    if zoned.any():
        tzs = pc.utf8_replace_slice(tz, 0, 0, "")  # copy
        is_z = pc.equal(tzs, "Z").to_numpy(zero_copy_only=False)
        digits = pc.replace_substring(pc.if_else(pc.equal(tzs, "Z"), "+0000", tzs), ":", "")
        sign = np.where(pc.starts_with(digits, "-").to_numpy(zero_copy_only=False), -1, 1)
        hh = pc.fill_null(pc.cast(pc.if_else(pc.greater_equal(pc.utf8_length(digits), 3),
                                             pc.utf8_slice_codeunits(digits, 1, 3), "0"),
                                  pa.int64()), 0).to_numpy(zero_copy_only=False)
        mm = pc.fill_null(pc.cast(pc.if_else(pc.greater_equal(pc.utf8_length(digits), 5),
                                             pc.utf8_slice_codeunits(digits, 3, 5), "0"),
                                  pa.int64()), 0).to_numpy(zero_copy_only=False)
        offset_ms = np.where(is_z, 0, sign * (hh * 3600 + mm * 60) * 1000)
        ms = np.where(zoned, ms - offset_ms, ms)
        valid &= ~zoned | ((hh <= 14) & (mm <= 59))
    # Excel serial numbers (days since 1899-12-30), a common artefact of Excel exports
    if ser_ok.any():
        sday = _extract_int(ser, "day")
        frac_s = pc.fill_null(pc.struct_field(ser, "frac"), "")
        frac = np.array([float("0." + f) if f else 0.0 for f in frac_s.to_pylist()]) \
            if n else np.zeros(0)
        in_range = ser_ok & (sday >= 20000) & (sday <= 80000)
        sms = ((sday - EXCEL_EPOCH_DAYS) * 86400 + np.round(frac * 86400)) * 1000
        ms = np.where(in_range, sms.astype(np.int64), ms)
        valid = np.where(ser_ok, in_range, valid)
        has_time = np.where(ser_ok, frac > 0, has_time)
    else:
        in_range = np.zeros(n, dtype=bool)
    return _Instants(ms=ms.astype(np.int64), ok=valid, zoned=zoned, serial=in_range,
                     has_time=has_time)


def _ms_array(ms: np.ndarray, ok: np.ndarray, type_: pa.DataType) -> pa.Array:
    ints = pa.array(np.where(ok, ms, 0).astype(np.int64), type=pa.int64(), mask=~ok)
    return ints.cast(type_)


def _localise(ms: np.ndarray, ok: np.ndarray, zoned: np.ndarray, present: pa.Array,
              ) -> tuple[pa.Array, list[Note]]:
    """Local wall-clock ms (or UTC ms where ``zoned``) to Europe/Oslo instants, noting DST gaps/folds."""
    notes: list[Note] = []
    local_ok = ok & ~zoned
    e, la = _earliest_latest(ms, local_ok)
    differs = local_ok & (e != la)
    ambiguous = differs & (la - e >= 30 * 60 * 1000)
    nonexistent = differs & ~ambiguous
    utc = np.where(zoned, ms, np.where(nonexistent, la, e))
    values = _ms_array(utc, ok, pa.timestamp("ms", tz=TIMEZONE))
    if ambiguous.any():
        notes.append(Note(rule="timestamp-dst-ambiguous", mask=pa.array(ambiguous), values=present))
    if nonexistent.any():
        notes.append(Note(rule="timestamp-dst-nonexistent", mask=pa.array(nonexistent), values=present))
    return values, notes


MS_PER_DAY = 86_400_000


def _assume(ms: np.ndarray, valid: np.ndarray | None, how: str) -> np.ndarray:
    """UTC ms of local wall-clock ms (``how``: earliest or latest reading of a DST fold/gap); null -> 0."""
    naive = _ms_array(ms, np.ones(ms.size, dtype=bool) if valid is None else valid, pa.timestamp("ms"))
    utc = pc.assume_timezone(naive, timezone=TIMEZONE, ambiguous=how, nonexistent=how)
    return np.asarray(pc.fill_null(pc.cast(utc, pa.int64()), 0).to_numpy(zero_copy_only=False))


def _earliest_latest(ms: np.ndarray, valid: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The earliest and the latest UTC reading of each local wall-clock time (0 where not ``valid``).

    The zone's offset is found once per local day: a day whose start and end have the same
    offset and no second reading has that offset all day (Europe/Oslo changes at most once
    a day); only the stays on days with a change are converted one by one.
    """
    n = ms.size
    every = bool(valid.all())
    rows = None if every else np.flatnonzero(valid)
    local = ms if rows is None else ms[rows]
    if local.size == 0:
        return np.zeros(n, dtype=np.int64), np.zeros(n, dtype=np.int64)
    day = np.floor_divide(local, MS_PER_DAY)
    lo, hi = int(day.min()), int(day.max())
    if hi - lo > max(n, 1 << 16):  # a span of days far beyond the data: one by one
        return _assume(ms, valid, "earliest"), _assume(ms, valid, "latest")
    start = np.arange(lo, hi + 1, dtype=np.int64) * MS_PER_DAY
    end = start + (MS_PER_DAY - 1)
    s_e, s_l = _assume(start, None, "earliest"), _assume(start, None, "latest")
    e_e, e_l = _assume(end, None, "earliest"), _assume(end, None, "latest")
    offset = start - s_e
    plain = (s_e == s_l) & (e_e == e_l) & (end - e_e == offset)
    day -= lo  # index of the day
    found = local - offset[day]
    if rows is None:
        early = found
    else:
        early = np.zeros(n, dtype=np.int64)
        early[rows] = found
    changing = np.flatnonzero(~plain[day])
    if changing.size == 0:
        return early, early
    if rows is not None:
        changing = rows[changing]
    late = early.copy()
    sub = ms[changing]
    early[changing] = _assume(sub, None, "earliest")
    late[changing] = _assume(sub, None, "latest")
    return early, late


def parse_timestamp(col: pa.Array, present: pa.Array) -> tuple[pa.Array, np.ndarray, list[Note]]:
    """Parse strings into ``timestamp[ms, tz=Europe/Oslo]``; see the schema's time rules."""
    inst = _parse_instants(present)
    values, notes = _localise(inst.ms, inst.ok, inst.zoned, present)
    if inst.serial.any():
        notes.append(Note(rule="excel-serial-date", mask=pa.array(inst.serial), values=present,
                          expected="1899-12-30 + n"))
    return values, inst.ok, notes


def parse_date(col: pa.Array, present: pa.Array) -> tuple[pa.Array, np.ndarray, list[Note]]:
    """Parse strings into ``date32`` (a time of day, if given, is ignored)."""
    inst = _parse_instants(present)
    days = np.floor_divide(inst.ms, 86_400_000)
    notes = []
    if inst.serial.any():
        notes.append(Note(rule="excel-serial-date", mask=pa.array(inst.serial), values=present,
                          expected="1899-12-30 + n"))
    return pa.array(np.where(inst.ok, days, 0).astype(np.int32), pa.date32(), mask=~inst.ok), \
        inst.ok, notes


def parse_integer(present: pa.Array) -> tuple[pa.Array, np.ndarray]:
    """Parse integers, accepting thousands separators (space) and a zero decimal part."""
    filled = pc.fill_null(present, "")
    ok = pc.match_substring_regex(filled, INT_RE).to_numpy(zero_copy_only=False)
    digits = pc.replace_substring_regex(filled, r"^\+|[" + SPACES + r"]|[.,]0+$", "")  # Arrow refuses "+45"
    digits = pc.if_else(pa.array(ok), digits, "0")
    too_long = pc.greater(pc.utf8_length(digits), 18).to_numpy(zero_copy_only=False)
    ok &= ~too_long  # beyond int64: not a plausible count or age, and never silently 0
    digits = pc.if_else(pa.array(too_long), "0", digits)
    vals = pc.cast(digits, pa.int64()).to_numpy(zero_copy_only=False)
    return pa.array(np.where(ok, vals, 0), pa.int64(), mask=~ok), ok


def parse_boolean(present: pa.Array) -> tuple[pa.Array, np.ndarray]:
    """Parse booleans written as true/false, ja/nei, yes/no, 1/0, sann/usann, x."""
    low = pc.utf8_lower(pc.fill_null(present, ""))
    is_t = pc.is_in(low, value_set=pa.array(TRUE_WORDS)).to_numpy(zero_copy_only=False)
    is_f = pc.is_in(low, value_set=pa.array(FALSE_WORDS)).to_numpy(zero_copy_only=False)
    ok = is_t | is_f
    return pa.array(is_t, pa.bool_(), mask=~ok), ok


@attrs.frozen
class CodeLookup:
    """Codes of one list, and lower-cased labels/aliases mapped to codes."""

    codes: pa.Array
    alias_keys: pa.Array
    alias_codes: pa.Array
    kind: str

    @classmethod
    def build(cls, cl: CodeList) -> CodeLookup:
        aliases: dict[str, str] = {}
        for c in cl.codes:
            for a in (c.label.nb, c.label.en, *c.aliases):
                aliases.setdefault(a.strip().lower(), c.code)
        for c in cl.codes:  # a code written in another case maps to itself
            aliases[c.code.lower()] = c.code
        return cls(codes=pa.array(cl.values, pa.string()),
                   alias_keys=pa.array(list(aliases), pa.string()),
                   alias_codes=pa.array(list(aliases.values()), pa.string()),
                   kind=cl.id)


def normalise_codes(present: pa.Array, lookup: CodeLookup) -> tuple[pa.Array, np.ndarray, pa.Array]:
    """Map values to codes; return (codes, ok mask, mask of values that were mapped)."""
    s = present
    if lookup.kind == "municipality":
        s = pc.if_else(pc.match_substring_regex(pc.fill_null(s, ""), r"^\d{3}$"),
                       pc.binary_join_element_wise("0", s, ""), s)
    elif lookup.kind == "icpc2":
        s = pc.utf8_upper(pc.replace_substring_regex(s, r"[\s.]", ""))
    exact = pc.fill_null(pc.is_in(s, value_set=lookup.codes), False)
    idx = pc.index_in(pc.utf8_lower(s), value_set=lookup.alias_keys)
    via_alias = pc.take(lookup.alias_codes, idx)
    codes = pc.if_else(exact, s, via_alias)
    ok = pc.is_valid(codes).to_numpy(zero_copy_only=False)
    mapped = pc.and_(pc.is_valid(codes), pc.fill_null(pc.not_equal(codes, present), True))
    return codes, ok, mapped


def summarise_mapped(present: pa.Array, codes: pa.Array, mapped: pa.Array) -> tuple[Mapped, ...]:
    """Distinct label → code mappings, with counts (for one info issue each)."""
    keep = np.asarray(pc.fill_null(mapped, False).to_numpy(zero_copy_only=False), dtype=bool)
    if not keep.any():
        return ()
    rows = np.flatnonzero(keep)
    return group_labels(present.take(pa.array(rows)), codes.take(pa.array(rows)),
                        np.ones(rows.size, dtype=np.int64), rows)


def group_labels(labels: pa.Array, codes: pa.Array, weight: np.ndarray, first_row: np.ndarray,
                 ) -> tuple[Mapped, ...]:
    """One Mapped per distinct label: rows it stands for (sum of ``weight``) and its first row.

    A label always maps to the same code, so grouping by label is grouping by (label, code);
    ordered by first row.
    """
    enc = pc.dictionary_encode(labels)
    g = np.asarray(enc.indices.to_numpy(zero_copy_only=False), dtype=np.int64)
    k = len(enc.dictionary)
    count = np.zeros(k, dtype=np.int64)
    np.add.at(count, g, weight.astype(np.int64))
    first = np.full(k, np.iinfo(np.int64).max, dtype=np.int64)
    np.minimum.at(first, g, first_row.astype(np.int64))
    at = first_rows(g, k)  # an element of each label, for its code
    values, code_of = enc.dictionary.to_pylist(), codes.take(pa.array(at)).to_pylist()
    return tuple(Mapped(value=values[j], code=code_of[j], count=int(count[j]), first_index=int(first[j]))
                 for j in np.argsort(first, kind="stable"))


def first_rows(idx: np.ndarray, k: int) -> np.ndarray:
    """The first position of each of ``k`` values, given each position's value index (all present)."""
    if idx.size == 0:
        return np.zeros(k, dtype=np.int64)
    # dictionary_encode numbers the values in order of first appearance: a new value is
    # one above the largest index seen so far
    seen = np.maximum.accumulate(idx)
    new = np.ones(idx.size, dtype=bool)
    new[1:] = idx[1:] > seen[:-1]
    first = np.flatnonzero(new)
    if first.size == k and np.array_equal(idx[first], np.arange(k)):
        return first
    out = np.full(k, idx.size, dtype=np.int64)  # pragma: no cover - another numbering
    np.minimum.at(out, idx, np.arange(idx.size))  # pragma: no cover
    return out  # pragma: no cover


def parse_column(col: pa.Array | pa.ChunkedArray, field: FieldSpec,
                 lookups: Mapping[str, CodeLookup], *, summarise: bool = True) -> Parsed:
    """Parse one raw column for ``field`` into its Arrow type.

    Elementwise: each output element depends on its input element only, except
    ``mapped`` (distinct label → code pairs with counts), which ``summarise=False``
    leaves to the caller by returning ``mapped_mask`` instead.
    """
    col = _as_array(col)
    target = arrow_type(field)
    n = len(col)
    # Already the right type (Parquet, data frames): keep, after normalising time zones.
    no_raw = pa.nulls(n, pa.string())  # typed input never needs its text form
    if field.type == "timestamp" and pa.types.is_timestamp(col.type):
        missing = pc.is_null(col)
        if col.type.tz:
            vals = pc.cast(pc.cast(col, pa.timestamp(col.type.unit, tz=TIMEZONE)), target, safe=False)
            return Parsed(values=vals, invalid=pa.array(np.zeros(n, bool)), missing=missing, raw=no_raw)
        # naive times are local wall-clock times: same DST rules as text input
        ms = pc.fill_null(pc.cast(pc.cast(col, pa.timestamp("ms"), safe=False), pa.int64()), 0)
        ok = ~missing.to_numpy(zero_copy_only=False)
        shown = pc.strftime(col, format="%Y-%m-%dT%H:%M") if pc.any(pc.is_valid(col)).as_py() else no_raw
        vals, dst_notes = _localise(ms.to_numpy(zero_copy_only=False), ok, np.zeros(n, bool), shown)
        return Parsed(values=vals, invalid=pa.array(np.zeros(n, bool)), missing=missing, raw=no_raw,
                      notes=tuple(dst_notes))
    if field.type == "date" and (pa.types.is_date(col.type) or pa.types.is_timestamp(col.type)):
        if pa.types.is_timestamp(col.type) and col.type.tz:
            col = pc.local_timestamp(pc.cast(col, pa.timestamp(col.type.unit, tz=TIMEZONE)))
        vals = pc.cast(col, pa.date32())
        return Parsed(values=vals, invalid=pa.array(np.zeros(n, bool)), missing=pc.is_null(col),
                      raw=no_raw)
    if field.type == "integer" and pa.types.is_integer(col.type) and col.type != pa.uint64():
        # what the text path gives: at most 18 characters (sign included), else invalid
        ints = pc.cast(col, pa.int64())
        out_of_range = pc.fill_null(pc.or_(pc.less(ints, -(10**17 - 1)), pc.greater(ints, 10**18 - 1)), False)
        if not pc.any(out_of_range).as_py():
            return Parsed(values=ints, invalid=pa.array(np.zeros(n, bool)), missing=pc.is_null(col), raw=no_raw)
        return Parsed(values=pc.if_else(out_of_range, pa.scalar(None, pa.int64()), ints), invalid=out_of_range,
                      missing=pc.is_null(col), raw=pc.cast(col, pa.string()))
    if field.type == "boolean" and pa.types.is_boolean(col.type):
        return Parsed(values=col, invalid=pa.array(np.zeros(n, bool)), missing=pc.is_null(col),
                      raw=no_raw)
    if field.type == "code_list" and (pa.types.is_list(col.type) or pa.types.is_large_list(col.type)):
        col = pc.binary_join(pc.cast(col, pa.list_(pa.string())), "|")
    present, missing = _clean(col)
    notes: list[Note] = []
    mapped: tuple[Mapped, ...] = ()
    mapped_mask = None
    if field.type == "timestamp":
        values, ok, notes = parse_timestamp(col, present)
    elif field.type == "date":
        values, ok, notes = parse_date(col, present)
    elif field.type == "integer":
        values, ok = parse_integer(present)
    elif field.type == "boolean":
        values, ok = parse_boolean(present)
    elif field.type == "code":
        lookup = lookups[field.codelist or ""]
        values, ok, was_mapped = normalise_codes(present, lookup)
        if summarise:
            mapped = summarise_mapped(present, values, was_mapped)
        else:
            mapped_mask = was_mapped
    elif field.type == "code_list":
        values, ok, mapped = _parse_code_list(present, lookups[field.codelist or ""])
    else:  # string
        values, ok = present, np.ones(n, dtype=bool)
    miss = missing.to_numpy(zero_copy_only=False)
    invalid = ~ok & ~miss
    drop = invalid | miss
    values = pc.cast(values, target)
    if drop.any():
        values = pc.if_else(pa.array(drop), pa.scalar(None, target), values)
    return Parsed(values=values, invalid=pa.array(invalid), missing=missing, raw=present,
                  notes=tuple(notes), mapped=mapped, mapped_mask=mapped_mask)


def _parse_code_list(present: pa.Array, lookup: CodeLookup) -> tuple[pa.Array, np.ndarray,
                                                                      tuple[Mapped, ...]]:
    parts = pc.split_pattern_regex(pc.fill_null(present, ""), r"[|,;\s]+")
    flat = pc.list_flatten(parts)
    parents = pc.list_parent_indices(parts)
    nonempty = pc.not_equal(flat, "")
    flat, parents = flat.filter(nonempty), parents.filter(nonempty)
    codes, ok_flat, was_mapped = normalise_codes(flat, lookup)
    parent_np = parents.to_numpy(zero_copy_only=False)
    mapped = tuple(attrs.evolve(m, first_index=int(parent_np[m.first_index]))
                   for m in summarise_mapped(flat, codes, was_mapped))
    n = len(present)
    bad_parents = pc.filter(parents, pa.array(~ok_flat)).to_numpy(zero_copy_only=False)
    ok = np.ones(n, dtype=bool)
    ok[bad_parents] = False
    counts = np.bincount(parent_np, minlength=n)
    offsets = np.concatenate(([0], np.cumsum(counts))).astype(np.int32)
    values = pa.ListArray.from_arrays(pa.array(offsets), pc.fill_null(codes, ""))
    ok &= counts > 0
    return values, ok, mapped
