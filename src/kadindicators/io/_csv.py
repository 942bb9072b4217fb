"""CSV reading for Norwegian EPR exports, with source line numbers for every row.

pyarrow's CSV reader does the parsing; this module finds the physical line on
which each record starts (pyarrow does not report it) with a vectorised pass
over the bytes, and finds rows with the wrong number of fields so they are
reported instead of dropped.

Hostile files are refused before they can use much memory or time: a header
of more than :data:`MAX_COLUMNS` columns, a record (line) longer than
:data:`MAX_RECORD_BYTES`, or a quotation mark that is never closed (which
would swallow the rest of the file into one value). The byte pass uses about
two bytes of memory per byte of input (one mask at a time), and a UTF-8 file is
read as bytes: it is checked, not decoded into a second copy.
"""

from __future__ import annotations

import codecs
import csv
import io
import re
from collections.abc import Iterator

import attrs
import numpy as np
import pyarrow as pa
import pyarrow.csv as pacsv

from ..errors import InputError
from ._sniff import Decoded, decode, sniff_delimiter, utf16_without_bom
from .model import RawTable

MAX_COLUMNS = 16_384  # Excel's own limit (column XFD)
MAX_RECORD_BYTES = 1 << 20  # one record (line, with any quoted line breaks) of at most 1 MiB
CSV_BLOCK_BYTES = 1 << 24  # pyarrow parses blocks of this size in parallel (a record fits in one)

def nb_int(n: int) -> str:
    """A whole number written the Norwegian way, with spaces between thousands (``1 048 576``)."""
    return f"{n:,}".replace(",", "\u00a0")


_BLANK = np.ones(256, dtype=bool)
_BLANK[[9, 10, 13, 32]] = False  # tab, LF, CR, space: a record of only these is a blank line
_SPACE = np.zeros(256, dtype=bool)
_SPACE[[9, 32]] = True  # a blank line with one of these is not empty to pyarrow
_FIRST_CONTENT = re.compile(r"[^\r\n]")
_LINE_END = re.compile(r"[\r\n]")
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f]")  # below 32, except tab, LF and CR
_FIRST_CONTENT_B = re.compile(rb"[^\r\n]")
_LINE_END_B = re.compile(rb"[\r\n]")
_NOT_SPACE_B = re.compile(rb"[^\t\n\x0b\x0c\r\x1c-\x1f ]")  # a byte that is not whitespace (str.isspace)
_BOMS = (b"\xef\xbb\xbf", b"\xff\xfe", b"\xfe\xff")
UTF8_CHECK_BYTES = 1 << 24  # UTF-8 is checked in slices of this size (no copy of the whole file)
_LINE = re.compile(r"[^\r\n]*(?:\r\n|\r|\n)|[^\r\n]+\Z")


@attrs.frozen
class _Layout:
    """Per non-empty record: first line (1-based), field count, start and end byte.

    Without quotation marks the field counts are left for later (``counts`` None): when
    pyarrow reads every record as a row, none has the wrong number of fields.
    """

    lines: np.ndarray
    counts: np.ndarray | None
    starts: np.ndarray
    ends: np.ndarray
    unclosed: bool  # the file ends inside quotes (by a plain count of quotation marks)
    quoted: bool  # the file has a quotation mark at all (else no value can hold a line break)
    header_count: int  # fields of the first record
    spaces_dropped: bool  # a line of only spaces or tabs was dropped (pyarrow would read it as a row)


def _record_layout(buf: bytes, delimiter: str) -> _Layout:
    """Find the records of ``buf``: they end at a newline (LF, CRLF or lone CR) outside quotes.

    Empty records (blank lines, also of only spaces or tabs) are dropped, as
    Excel and pyarrow do. Memory: one or two boolean arrays of the input's length
    at a time, and a few integers per record.
    """
    b = np.frombuffer(buf, dtype=np.uint8)
    n = b.size
    inside: np.ndarray | None = None
    if buf.find(b'"') >= 0:
        inside = b == ord('"')
        np.logical_xor.accumulate(inside, out=inside)  # True: inside quotes after this byte
    lf_pos = _positions(b, 10)
    if buf.find(b"\r") >= 0:
        cr_pos = _positions(b, 13)
        nxt = np.minimum(cr_pos + 1, n - 1)
        alone = (cr_pos + 1 >= n) | (b[nxt] != 10)
        nl_pos = np.sort(np.concatenate((lf_pos, cr_pos[alone])))
    else:
        nl_pos = lf_pos
    rec_end = nl_pos if inside is None else nl_pos[~inside[nl_pos]]
    starts = np.concatenate(([0], rec_end + 1)).astype(np.int64)
    ends = np.concatenate((rec_end, [n])).astype(np.int64)
    keep = starts < n
    starts, ends = starts[keep], ends[keep]
    if starts.size:
        # a record (with the line breaks after it) is blank when all its bytes are; only a
        # record that starts with a blank byte can be
        nonempty = _BLANK[b[starts]]
        maybe = np.flatnonzero(~nonempty)
        spaces_dropped = False
        if maybe.size:
            seg_end = np.append(starts[1:], n)[maybe]
            nonempty[maybe] = _any_in_segments(_BLANK, b, starts[maybe], seg_end)
            blank = ~nonempty[maybe]
            spaces_dropped = bool(_any_in_segments(_SPACE, b, starts[maybe][blank], seg_end[blank]).any())
        starts, ends = starts[nonempty], ends[nonempty]
    else:
        spaces_dropped = False
    # strip the CR of a CRLF from the end of a record
    if starts.size:
        last = np.clip(ends - 1, 0, max(n - 1, 0))
        ends = np.where((ends > starts) & (b[last] == 13), ends - 1, ends)
    lines = np.searchsorted(nl_pos, starts, side="left") + 1
    counts = None if inside is None else _field_counts(b, delimiter, starts, ends, inside)
    if counts is not None:
        header_count = int(counts[0]) if counts.size else 0
    else:
        header_count = buf.count(delimiter.encode(), int(starts[0]), int(ends[0])) + 1 if starts.size else 0
    unclosed = bool(inside[-1]) if inside is not None and n else False
    return _Layout(lines=lines.astype(np.int64), counts=counts, starts=starts, ends=ends, unclosed=unclosed,
                   quoted=inside is not None, header_count=header_count, spaces_dropped=spaces_dropped)


POSITIONS_SLICE = 1 << 22  # bytes compared at a time by _positions


def _positions(b: np.ndarray, byte: int) -> np.ndarray:
    """Where ``b`` holds ``byte`` (ascending, int64), comparing a slice of 4 MiB at a time.

    Same as ``np.flatnonzero(b == byte)`` without a mask the size of the file: a
    fresh mask of hundreds of megabytes costs more to map into memory than to fill.
    """
    if b.size <= POSITIONS_SLICE:
        return np.flatnonzero(b == byte)
    mask = np.empty(POSITIONS_SLICE, dtype=bool)
    parts = []
    for at in range(0, b.size, POSITIONS_SLICE):
        piece = b[at:at + POSITIONS_SLICE]
        m = mask[:piece.size]
        np.equal(piece, byte, out=m)
        parts.append(np.flatnonzero(m) + at)
    return np.concatenate(parts)


def _field_counts(b: np.ndarray, delimiter: str, starts: np.ndarray, ends: np.ndarray,
                  inside: np.ndarray | None) -> np.ndarray:
    """Fields of each record: delimiters outside quotes in ``[start, end)``, plus one."""
    n = b.size
    delim = np.zeros(n + 1, dtype=bool)  # one more: the sum after the last end is 0
    np.equal(b, ord(delimiter), out=delim[:n])
    if inside is not None:
        np.greater(delim[:n], inside, out=delim[:n])  # and not inside quotes
    return np.asarray(_count_in_segments(delim, starts, ends) + 1, dtype=np.int64)


def _count_in_segments(mask: np.ndarray, starts: np.ndarray, ends: np.ndarray) -> np.ndarray:
    """How many ``mask`` elements are true in each ``[starts[i], ends[i])`` (``mask`` one longer than any end).

    Sums in 8 bits (a wider sum would first copy the whole mask to that width) over
    pieces of at most 255 elements, then adds the pieces of each segment.
    """
    if starts.size == 0:
        return np.zeros(0, dtype=np.int64)
    length = ends - starts
    pieces = np.maximum(-(-length // 255), 1)
    first = np.cumsum(pieces) - pieces  # first piece of each segment
    total = int(pieces.sum())
    piece_start = np.repeat(starts, pieces) + 255 * (np.arange(total) - np.repeat(first, pieces))
    piece_end = np.minimum(piece_start + 255, np.repeat(ends, pieces))
    bounds = np.empty(2 * total, dtype=np.int64)
    bounds[0::2], bounds[1::2] = piece_start, piece_end
    sums = np.add.reduceat(mask.view(np.uint8), bounds, dtype=np.uint8)[0::2].astype(np.int64)
    sums[piece_start == piece_end] = 0  # reduceat gives the element itself for an empty piece
    return np.asarray(np.add.reduceat(sums, first))


def _any_in_segments(table: np.ndarray, b: np.ndarray, starts: np.ndarray, ends: np.ndarray) -> np.ndarray:
    """For each segment ``b[starts[i]:ends[i]]``: is ``table[byte]`` true for any byte (all non-empty)?

    Touches only the bytes of the segments.
    """
    length = ends - starts
    idx = np.repeat(starts - np.cumsum(length) + length, length) + np.arange(int(length.sum()))
    return np.asarray(np.logical_or.reduceat(table[b[idx]], np.cumsum(length) - length))


def _refuse_oversized(layout: _Layout, source: str) -> None:
    """Refuse a header of too many columns or a record that is too long, naming its line."""
    if layout.starts.size and layout.header_count > MAX_COLUMNS:
        ncol = layout.header_count
        raise InputError(
            f"line {layout.lines[0]}: the header has {ncol:,} columns; at most {MAX_COLUMNS:,} are read",
            f"linje {layout.lines[0]}: overskriften har {nb_int(ncol)} kolonner; "
            f"høyst {nb_int(MAX_COLUMNS)} leses",
            source=source,
            hint_en="export only the columns of the reporting schema",
            hint_nb="eksporter bare kolonnene i rapporteringsskjemaet")
    if layout.starts.size:
        length = layout.ends - layout.starts
        worst = int(np.argmax(length))
        if length[worst] > MAX_RECORD_BYTES:
            line = int(layout.lines[worst])
            raise InputError(
                f"line {line}: the line is {int(length[worst]):,} bytes long; at most "
                f"{MAX_RECORD_BYTES:,} are read (a value that is not a stay record, or a quotation "
                "mark that is not closed)",
                f"linje {line}: linjen er {nb_int(int(length[worst]))} byte lang; "
                f"høyst {nb_int(MAX_RECORD_BYTES)} "
                "leses (en verdi som ikke hører til et opphold, eller et anførselstegn som ikke lukkes)",
                source=source,
                hint_en=f"check line {line} and the quotation marks before it",
                hint_nb=f"sjekk linje {line} og anførselstegnene før den")


def _unclosed_error(line: int, last_line: int, source: str) -> InputError:
    return InputError(
        f"line {line}: a quotation mark (\") is opened but never closed, so lines {line}–{last_line} "
        "would be read as one value",
        f"linje {line}: et anførselstegn (\") åpnes, men lukkes aldri, så linje {line}–{last_line} "
        "ville blitt lest som én verdi",
        source=source,
        hint_en=f"close or remove the quotation mark on line {line}",
        hint_nb=f"lukk eller fjern anførselstegnet på linje {line}")


def _breaks(text: str | bytes) -> int:
    """Number of line breaks (LF, CRLF or lone CR) in ``text``."""
    if isinstance(text, bytes):
        return text.count(b"\n") + text.count(b"\r") - text.count(b"\r\n")
    return text.count("\n") + text.count("\r") - text.count("\r\n")


def _is_utf8(data: bytes) -> bool:
    """Whether ``data`` is valid UTF-8 (checked in slices: no decoded copy of the whole)."""
    if data.isascii():
        return True
    check = codecs.getincrementaldecoder("utf-8")("strict")
    view = memoryview(data)
    try:
        for at in range(0, len(data), UTF8_CHECK_BYTES):
            check.decode(view[at:at + UTF8_CHECK_BYTES])
        check.decode(b"", final=True)
    except UnicodeDecodeError:
        return False
    return True


def _plain_utf8(data: bytes) -> bool:
    """Whether :func:`decode` would read ``data`` as UTF-8 without a byte order mark."""
    return not data.startswith(_BOMS) and utf16_without_bom(data[:4096]) is None and _is_utf8(data)


def _refuse_binary(sample: str, source: str) -> None:
    control = len(_CONTROL.findall(sample))
    if sample and control > max(4, len(sample) // 100):
        raise InputError("does not look like a text table (binary content)",
                         "ser ikke ut som en teksttabell (binært innhold)", source=source,
                         hint_en="export the data as CSV, Excel (.xlsx) or Parquet",
                         hint_nb="eksporter dataene som CSV, Excel (.xlsx) eller Parquet")


def _empty_error(source: str) -> InputError:
    return InputError("the file is empty (no header line)", "filen er tom (ingen overskriftslinje)",
                      source=source)


def _split_header(record: str, delimiter: str) -> list[str]:
    limit = csv.field_size_limit()
    csv.field_size_limit(max(limit, MAX_RECORD_BYTES))  # the record is already capped at this size
    try:
        return [h.strip() for h in next(csv.reader(io.StringIO(record, newline=""), delimiter=delimiter), [])]
    finally:
        csv.field_size_limit(limit)


def read_csv_bytes(data: bytes, *, source: str) -> RawTable:
    """Read CSV bytes into a table of strings, with line numbers and read issues."""
    if _plain_utf8(data):
        return _read_utf8(data, source=source)
    dec = decode(data)
    text = dec.text
    _refuse_binary(text[:65536], source)
    first = _FIRST_CONTENT.search(text)
    if first is None or text.isspace():
        raise _empty_error(source)
    skipped = first.start()  # leading line breaks
    end = _LINE_END.search(text, skipped)
    first_line = text[skipped:end.start() if end else len(text)]
    appended = not text.endswith(("\n", "\r"))
    if appended:
        text += "\n"  # a last line without a line break (e.g. a header-only file)
    return _read_records(text.encode("utf-8"), dec, first_line, skipped, source=source)


def _read_utf8(data: bytes, *, source: str) -> RawTable:
    """:func:`read_csv_bytes` for UTF-8 without a byte order mark: the bytes are the text."""
    head = codecs.getincrementaldecoder("utf-8")("strict").decode(data[:4 * 65536])
    _refuse_binary(head[:65536], source)
    first = _FIRST_CONTENT_B.search(data)
    content = _NOT_SPACE_B.search(data)
    if first is None or content is None:
        raise _empty_error(source)
    if data[content.start()] >= 0x80:  # perhaps only Unicode spaces: let str.isspace decide
        dec = decode(data)
        if dec.text.isspace():
            raise _empty_error(source)
    skipped = first.start()  # leading line breaks (one byte each, as in the text)
    end = _LINE_END_B.search(data, skipped)
    first_line = data[skipped:end.start() if end else len(data)].decode("utf-8")
    appended = not data.endswith((b"\n", b"\r"))
    buf = data + b"\n" if appended else data  # a last line without a line break (e.g. a header-only file)
    return _read_records(buf, None, first_line, skipped, source=source)


def _read_records(buf: bytes, dec: Decoded | None, first_line: str, skipped: int, *, source: str) -> RawTable:
    """Split ``buf`` (UTF-8, ending with a line break) into records and read them with pyarrow.

    ``dec`` is the decoded text when the file was not UTF-8 (else the text is decoded
    from ``buf`` only if the slow path needs it).
    """
    encoding = dec.encoding if dec is not None else "utf-8"
    delimiter = sniff_delimiter(first_line[:MAX_RECORD_BYTES])
    layout = _record_layout(buf, delimiter)
    _refuse_oversized(layout, source)
    header = _split_header(buf[layout.starts[0]:layout.ends[0]].decode("utf-8"), delimiter)
    ncol = len(header)
    names = [f"c{i}" for i in range(ncol)]
    try:
        table = pacsv.read_csv(
            pa.BufferReader(buf),  # zero-copy (a BytesIO is read through Python)
            read_options=pacsv.ReadOptions(column_names=names, skip_rows=0,
                                           skip_rows_after_names=1, block_size=CSV_BLOCK_BYTES),
            parse_options=pacsv.ParseOptions(delimiter=delimiter, newlines_in_values=layout.quoted,
                                             invalid_row_handler=lambda row: "skip"),
            # buf is valid UTF-8 (checked, or re-encoded from the decoded text) and fields are
            # split at ASCII bytes, so every value is too: pyarrow need not check it again
            convert_options=pacsv.ConvertOptions(column_types=dict.fromkeys(names, pa.string()),
                                                 strings_can_be_null=False,
                                                 quoted_strings_can_be_null=False, check_utf8=False),
        )
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError) as exc:
        raise InputError(f"cannot be read as CSV: {exc}", f"kan ikke leses som CSV: {exc}",
                         source=source) from None
    data_lines = layout.lines[1:]
    counts = layout.counts
    if counts is None:
        if not layout.spaces_dropped and table.num_rows == data_lines.size:
            # no quotes: pyarrow's rows are the records, and it kept every one, so every
            # record has the header's number of fields (pyarrow skips the others)
            counts = np.full(data_lines.size + 1, ncol, dtype=np.int64)
        else:
            counts = _field_counts(np.frombuffer(buf, dtype=np.uint8), delimiter, layout.starts, layout.ends, None)
    data_counts = counts[1:]
    ragged = data_counts != ncol
    row_lines = data_lines[~ragged]
    if table.num_rows != row_lines.size:
        # Quotes our byte scan could not follow (e.g. a stray quote inside an
        # unquoted field): fall back to Python's csv module, slower but exact.
        del table
        text = buf.decode("utf-8")
        del buf
        return _read_with_csv_module(text, delimiter, header, source=source, encoding=encoding,
                                     skipped=skipped, quotes_unbalanced=layout.unclosed)
    if layout.unclosed:
        line = int(layout.lines[-1])
        raise _unclosed_error(line, _breaks(buf), source)
    table = table.rename_columns(header) if ncol else table
    return RawTable(
        table=table,
        lines=pa.array(row_lines, pa.int64()),
        source=source,
        format="csv",
        encoding=encoding,
        delimiter=delimiter,
        ragged_lines=pa.array(data_lines[ragged], pa.int64()),
        ragged_counts=pa.array(data_counts[ragged], pa.int64()),
        header_columns=ncol,
    )


def _lines(text: str, start: int) -> Iterator[str]:
    """The physical lines of ``text`` from ``start``, with their line breaks (no copy of the whole)."""
    for m in _LINE.finditer(text, start):
        yield m.group()


def _read_with_csv_module(text: str, delimiter: str, header: list[str], *, source: str,
                          encoding: str, skipped: int, quotes_unbalanced: bool) -> RawTable:
    reader = csv.reader(_lines(text, skipped), delimiter=delimiter)
    ncol = len(header)
    cols: list[list[str]] = [[] for _ in range(ncol)]
    lines, ragged_lines, ragged_counts = [], [], []
    offset = _breaks(text[:skipped])  # leading blank lines
    limit = csv.field_size_limit()
    csv.field_size_limit(max(limit, MAX_RECORD_BYTES))  # records are already capped at this size
    try:
        next(reader)
        prev = reader.line_num
        line = prev
        last: list[str] = []
        for rec in reader:
            line, prev = prev + 1, reader.line_num  # the record starts after the previous one
            last = rec
            if not rec or (len(rec) == 1 and not rec[0].strip()):
                continue
            if len(rec) != ncol:
                ragged_lines.append(line + offset)
                ragged_counts.append(len(rec))
                continue
            for i, v in enumerate(rec):
                cols[i].append(v)
            lines.append(line + offset)
    except csv.Error as exc:
        at = reader.line_num + offset
        raise InputError(f"line {at}: cannot be read as CSV ({exc})",
                         f"linje {at}: kan ikke leses som CSV ({exc})", source=source) from None
    finally:
        csv.field_size_limit(limit)
    if quotes_unbalanced and last and last[-1].endswith(("\n", "\r")):
        # the last value runs to the end of the file: its opening quotation mark was never closed
        raise _unclosed_error(line + offset, reader.line_num + offset, source)
    table = pa.table([pa.array(c, pa.string()) for c in cols], names=[f"c{i}" for i in range(ncol)])
    return RawTable(
        table=table.rename_columns(header),
        lines=pa.array(lines, pa.int64()),
        source=source,
        format="csv",
        encoding=encoding,
        delimiter=delimiter,
        ragged_lines=pa.array(ragged_lines, pa.int64()),
        ragged_counts=pa.array(ragged_counts, pa.int64()),
        header_columns=ncol,
    )
