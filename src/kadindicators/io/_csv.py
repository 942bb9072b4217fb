"""CSV reading for Norwegian EPR exports, with source line numbers for every row.

pyarrow's CSV reader does the parsing; this module finds the physical line on
which each record starts (pyarrow does not report it) with a vectorised pass
over the bytes, and finds rows with the wrong number of fields so they are
reported instead of dropped.

Hostile files are refused before they can use much memory or time: a header
of more than :data:`MAX_COLUMNS` columns, a record (line) longer than
:data:`MAX_RECORD_BYTES`, or a quotation mark that is never closed (which
would swallow the rest of the file into one value). The byte pass uses about
four bytes of memory per byte of input.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterator

import attrs
import numpy as np
import pyarrow as pa
import pyarrow.csv as pacsv

from ..errors import InputError
from ._sniff import decode, sniff_delimiter
from .model import RawTable

MAX_COLUMNS = 16_384  # Excel's own limit (column XFD)
MAX_RECORD_BYTES = 1 << 20  # one record (line, with any quoted line breaks) of at most 1 MiB

def nb_int(n: int) -> str:
    """A whole number written the Norwegian way, with spaces between thousands (``1 048 576``)."""
    return f"{n:,}".replace(",", "\u00a0")


_BLANK = np.ones(256, dtype=bool)
_BLANK[[9, 10, 13, 32]] = False  # tab, LF, CR, space: a record of only these is a blank line
_FIRST_CONTENT = re.compile(r"[^\r\n]")
_LINE_END = re.compile(r"[\r\n]")
_LINE = re.compile(r"[^\r\n]*(?:\r\n|\r|\n)|[^\r\n]+\Z")


@attrs.frozen
class _Layout:
    """Per non-empty record: first line (1-based), field count, start and end byte."""

    lines: np.ndarray
    counts: np.ndarray
    starts: np.ndarray
    ends: np.ndarray
    unclosed: bool  # the file ends inside quotes (by a plain count of quotation marks)
    quoted: bool  # the file has a quotation mark at all (else no value can hold a line break)


def _record_layout(buf: bytes, delimiter: str) -> _Layout:
    """Find the records of ``buf``: they end at a newline (LF, CRLF or lone CR) outside quotes.

    Empty records (blank lines, also of only spaces or tabs) are dropped, as
    Excel and pyarrow do. Memory: a few boolean arrays of the input's length.
    """
    b = np.frombuffer(buf, dtype=np.uint8)
    n = b.size
    quote = b == ord('"')
    inside: np.ndarray | None = None
    if quote.any():
        inside = np.logical_xor.accumulate(quote)  # True: inside quotes after this byte
    del quote
    lf_pos = np.flatnonzero(b == 10)
    cr_pos = np.flatnonzero(b == 13)
    if cr_pos.size:
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
        nonblank = _BLANK[b]
        # bytes between a record's end and the next start are line breaks, which count as blank
        nonempty = np.logical_or.reduceat(nonblank, starts)
        del nonblank
        starts, ends = starts[nonempty], ends[nonempty]
    # strip the CR of a CRLF from the end of a record
    if starts.size:
        last = np.clip(ends - 1, 0, max(n - 1, 0))
        ends = np.where((ends > starts) & (b[last] == 13), ends - 1, ends)
    lines = np.searchsorted(nl_pos, starts, side="left") + 1
    delim = b == ord(delimiter)
    if inside is not None:
        delim &= ~inside
    delim_pos = np.flatnonzero(delim)
    del delim
    counts = (np.searchsorted(delim_pos, ends, side="left")
              - np.searchsorted(delim_pos, starts, side="left") + 1)
    unclosed = bool(inside[-1]) if inside is not None and n else False
    return _Layout(lines=lines.astype(np.int64), counts=np.asarray(counts, dtype=np.int64),
                   starts=starts, ends=ends, unclosed=unclosed, quoted=inside is not None)


def _refuse_oversized(layout: _Layout, source: str) -> None:
    """Refuse a header of too many columns or a record that is too long, naming its line."""
    if layout.counts.size and layout.counts[0] > MAX_COLUMNS:
        ncol = int(layout.counts[0])
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


def _breaks(text: str) -> int:
    """Number of line breaks (LF, CRLF or lone CR) in ``text``."""
    return text.count("\n") + text.count("\r") - text.count("\r\n")


def _split_header(record: str, delimiter: str) -> list[str]:
    limit = csv.field_size_limit()
    csv.field_size_limit(max(limit, MAX_RECORD_BYTES))  # the record is already capped at this size
    try:
        return [h.strip() for h in next(csv.reader(io.StringIO(record, newline=""), delimiter=delimiter), [])]
    finally:
        csv.field_size_limit(limit)


def read_csv_bytes(data: bytes, *, source: str) -> RawTable:
    """Read CSV bytes into a table of strings, with line numbers and read issues."""
    dec = decode(data)
    text = dec.text
    sample = text[:65536]
    control = sum(1 for ch in sample if ord(ch) < 32 and ch not in "\r\n\t")
    if sample and control > max(4, len(sample) // 100):
        raise InputError("does not look like a text table (binary content)",
                         "ser ikke ut som en teksttabell (binært innhold)", source=source,
                         hint_en="export the data as CSV, Excel (.xlsx) or Parquet",
                         hint_nb="eksporter dataene som CSV, Excel (.xlsx) eller Parquet")
    first = _FIRST_CONTENT.search(text)
    if first is None or text.isspace():
        raise InputError("the file is empty (no header line)", "filen er tom (ingen overskriftslinje)",
                         source=source)
    skipped = first.start()  # leading line breaks
    end = _LINE_END.search(text, skipped)
    first_line = text[skipped:end.start() if end else len(text)]
    delimiter = sniff_delimiter(first_line[:MAX_RECORD_BYTES])
    appended = not text.endswith(("\n", "\r"))
    if appended:
        text += "\n"  # a last line without a line break (e.g. a header-only file)
    if dec.encoding == "utf-8" and not dec.bom:
        buf = data + b"\n" if appended else data  # already UTF-8 (decoded strictly): no second copy
    else:
        buf = text.encode("utf-8")
    layout = _record_layout(buf, delimiter)
    _refuse_oversized(layout, source)
    header = _split_header(buf[layout.starts[0]:layout.ends[0]].decode("utf-8"), delimiter)
    ncol = len(header)
    data_lines, data_counts = layout.lines[1:], layout.counts[1:]
    ragged = data_counts != ncol
    names = [f"c{i}" for i in range(ncol)]
    try:
        table = pacsv.read_csv(
            pa.BufferReader(buf),  # zero-copy (a BytesIO is read through Python)
            read_options=pacsv.ReadOptions(column_names=names, skip_rows=0,
                                           skip_rows_after_names=1, block_size=1 << 24),
            parse_options=pacsv.ParseOptions(delimiter=delimiter, newlines_in_values=layout.quoted,
                                             invalid_row_handler=lambda row: "skip"),
            convert_options=pacsv.ConvertOptions(column_types=dict.fromkeys(names, pa.string()),
                                                 strings_can_be_null=False,
                                                 quoted_strings_can_be_null=False),
        )
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError) as exc:
        raise InputError(f"cannot be read as CSV: {exc}", f"kan ikke leses som CSV: {exc}",
                         source=source) from None
    row_lines = data_lines[~ragged]
    if table.num_rows != row_lines.size:
        # Quotes our byte scan could not follow (e.g. a stray quote inside an
        # unquoted field): fall back to Python's csv module, slower but exact.
        del table, buf
        return _read_with_csv_module(text, delimiter, header, source=source, encoding=dec.encoding,
                                     skipped=skipped, quotes_unbalanced=layout.unclosed)
    if layout.unclosed:
        line = int(layout.lines[-1])
        raise _unclosed_error(line, _breaks(text), source)
    table = table.rename_columns(header) if ncol else table
    return RawTable(
        table=table,
        lines=pa.array(row_lines, pa.int64()),
        source=source,
        format="csv",
        encoding=dec.encoding,
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
