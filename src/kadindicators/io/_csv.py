"""CSV reading for Norwegian EPR exports, with source line numbers for every row.

pyarrow's CSV reader does the parsing; this module finds the physical line on
which each record starts (pyarrow does not report it) with a vectorised pass
over the bytes, and finds rows with the wrong number of fields so they are
reported instead of dropped.
"""

from __future__ import annotations

import csv
import io
import re

import numpy as np
import pyarrow as pa
import pyarrow.csv as pacsv

from ..errors import InputError
from ._sniff import decode, sniff_delimiter
from .model import RawTable


def _record_layout(buf: bytes, delimiter: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Return, per non-empty record: its first line (1-based), field count, and a keep flag.

    Records end at a newline (LF, CRLF or lone CR) outside double quotes. Empty
    records (blank lines) are dropped, as pyarrow does.
    """
    b = np.frombuffer(buf, dtype=np.uint8)
    n = b.size
    is_quote = b == ord('"')
    parity = np.cumsum(is_quote, dtype=np.int64) & 1  # 1 = inside quotes after this byte
    lf = b == 10
    cr = b == 13
    cr_alone = cr.copy()
    cr_alone[:-1] &= ~lf[1:]
    newline = lf | cr_alone
    nl_pos = np.flatnonzero(newline)
    # line number of each byte: 1 + number of newlines before it
    outside = parity[nl_pos] == 0
    rec_end = nl_pos[outside]
    starts = np.concatenate(([0], rec_end + 1))
    ends = np.concatenate((rec_end, [n]))
    # strip CR before LF from the end of a record
    ends_eff = ends.copy()
    has_cr = (ends_eff > starts) & (ends_eff - 1 < n)
    idx = np.clip(ends_eff - 1, 0, max(n - 1, 0))
    if n:
        ends_eff = np.where(has_cr & cr[idx], ends_eff - 1, ends_eff)
    # blank records, also those of only spaces or tabs, are skipped (as Excel does)
    content = np.concatenate(([0], np.cumsum(~((b == 32) | (b == 9) | cr), dtype=np.int64)))
    nonempty = content[ends_eff] - content[starts] > 0
    starts, ends_eff = starts[nonempty], ends_eff[nonempty]
    lines = np.searchsorted(nl_pos, starts, side="left") + 1
    delim = (b == ord(delimiter)) & (parity == 0)
    delim_pos = np.flatnonzero(delim)
    counts = (np.searchsorted(delim_pos, ends_eff, side="left")
              - np.searchsorted(delim_pos, starts, side="left") + 1)
    return lines, counts, starts


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
    if not text.strip():
        raise InputError("the file is empty (no header line)", "filen er tom (ingen overskriftslinje)",
                         source=source)
    first_line = text.lstrip("\r\n").splitlines()[0]
    delimiter = sniff_delimiter(first_line)
    if not text.endswith(("\n", "\r")):
        text += "\n"  # a last line without a line break (e.g. a header-only file)
    buf = text.encode("utf-8")
    lines, counts, _ = _record_layout(buf, delimiter)
    header_fields = next(csv.reader(io.StringIO(text.lstrip("\r\n"), newline=""), delimiter=delimiter))
    header = [h.strip() for h in header_fields]
    ncol = len(header)
    data_lines, data_counts = lines[1:], counts[1:]
    ragged = data_counts != ncol
    names = [f"c{i}" for i in range(ncol)]
    try:
        table = pacsv.read_csv(
            io.BytesIO(buf),
            read_options=pacsv.ReadOptions(column_names=names, skip_rows=0,
                                           skip_rows_after_names=1, block_size=1 << 24),
            parse_options=pacsv.ParseOptions(delimiter=delimiter, newlines_in_values=True,
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
        return _read_with_csv_module(text, delimiter, header, source=source, encoding=dec.encoding)
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


def _read_with_csv_module(text: str, delimiter: str, header: list[str], *, source: str,
                          encoding: str) -> RawTable:
    reader = csv.reader(io.StringIO(text.lstrip("\r\n"), newline=""), delimiter=delimiter)
    next(reader)
    ncol = len(header)
    cols: list[list[str]] = [[] for _ in range(ncol)]
    lines, ragged_lines, ragged_counts = [], [], []
    skipped = len(text) - len(text.lstrip("\r\n"))
    offset = len(re.findall(r"\r\n|\r|\n", text[:skipped]))
    prev = reader.line_num
    for rec in reader:
        line, prev = prev + 1, reader.line_num  # the record starts after the previous one
        if not rec or (len(rec) == 1 and not rec[0].strip()):
            continue
        if len(rec) != ncol:
            ragged_lines.append(line + offset)
            ragged_counts.append(len(rec))
            continue
        for i, v in enumerate(rec):
            cols[i].append(v)
        lines.append(line + offset)
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
