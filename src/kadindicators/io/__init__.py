"""Reading inputs: files (CSV, Excel, Parquet, Arrow IPC) and in-memory tables.

This is the only package that touches files and foreign data frames. Whatever
comes in leaves as a :class:`RawTable` holding a :class:`pyarrow.Table` and the
source location of every row.

Hostile files are refused with an :class:`~kadindicators.InputError` before
they can take much time or memory: size caps per kind of file
(:data:`MAX_TEXT_BYTES` for CSV, :data:`MAX_XLSX_BYTES` and the inflated size
for Excel, :data:`MAX_FILE_BYTES` and :data:`MAX_ROWS` for Parquet and Arrow),
at most 16,384 columns, a CSV record of at most 1 MiB, and an Excel cell of at
most 32,767 characters. :func:`safe_filename` and :func:`output_path` make
output file names from values in the data that cannot leave their folder.

.. versionadded:: 0.1.0
"""

from __future__ import annotations

import collections
import contextlib
import os
from pathlib import Path
from typing import Any

import pyarrow as pa

from ..errors import InputError
from ._paths import output_path, safe_filename
from ._sniff import sniff_kind
from .model import RawTable

__all__ = ["RawTable", "as_arrow", "output_path", "read_table", "safe_filename"]

MAX_FILE_BYTES = 4 * 1024**3  # any input file (Parquet and Arrow IPC are read column by column)
MAX_TEXT_BYTES = 512 * 1024**2  # a CSV file (read whole; about 8 times its size in memory)
MAX_XLSX_BYTES = 256 * 1024**2  # an Excel workbook (compressed; see _excel for the inflated size)
MAX_ROWS = 50_000_000  # rows of a Parquet or Arrow IPC file

Source = str | os.PathLike[str] | Any


def as_arrow(obj: Any, *, source: str = "<memory>") -> pa.Table:
    """Turn an in-memory table into a :class:`pyarrow.Table`.

    Accepts a pyarrow Table, RecordBatch or RecordBatchReader, anything with the
    Arrow PyCapsule stream interface (``__arrow_c_stream__``: pandas >= 2.2,
    polars, duckdb relations), a pandas DataFrame, or a mapping of columns.

    Examples
    --------
    >>> as_arrow({"stay_id": ["a", "b"]}).num_rows
    2
    """
    if isinstance(obj, pa.Table):
        return obj
    if isinstance(obj, pa.RecordBatch):
        return pa.Table.from_batches([obj])
    if isinstance(obj, pa.RecordBatchReader):
        return obj.read_all()
    is_pandas = type(obj).__module__.startswith("pandas")
    if hasattr(obj, "__arrow_c_stream__") and not is_pandas:
        with contextlib.suppress(Exception):  # fall through to the other conversions
            return pa.table(obj)
    if is_pandas:
        try:
            return pa.Table.from_pandas(obj, preserve_index=False)
        except (pa.ArrowInvalid, pa.ArrowTypeError, ValueError) as exc:
            raise InputError(f"the DataFrame cannot be converted to Arrow: {exc}",
                             f"DataFrame kan ikke gjøres om til Arrow: {exc}", source=source) from None
    if isinstance(obj, dict):
        try:
            return pa.table(obj)
        except (pa.ArrowInvalid, pa.ArrowTypeError) as exc:
            raise InputError(f"the mapping is not a table of columns: {exc}",
                             f"oppslaget er ikke en tabell av kolonner: {exc}", source=source) from None
    raise InputError(
        f"cannot use an object of type {type(obj).__name__} as a table",
        f"kan ikke bruke et objekt av typen {type(obj).__name__} som tabell",
        source=source,
        hint_en="pass a file path, a pyarrow/polars/pandas table, or a dict of columns",
        hint_nb="gi en filsti, en pyarrow-/polars-/pandas-tabell eller et oppslag av kolonner",
    )


def _from_memory(obj: Any) -> RawTable:
    table = as_arrow(obj)
    return RawTable(table=table, lines=_row_numbers(table.num_rows), source="<memory>", format="arrow")


def read_table(source: Source, *, table: str, dictionary: bool = False) -> RawTable:
    """Read a table from a file or an in-memory object.

    The file kind is decided by its content, not its name, so a renamed file
    still reads correctly. CSV files may be UTF-8 (with or without BOM),
    UTF-16 or Windows-1252, separated by ``;``, ``,``, tab or ``|``, with any
    line endings.

    Parameters
    ----------
    source : path or table-like
        A path to a CSV, Excel (.xlsx), Parquet or Arrow IPC file, or an
        in-memory table (see :func:`~kadindicators.io.as_arrow`).
    table : {"stays", "units", "population"}
        Which table of the schema this is (chooses the Excel sheet).
    dictionary : bool
        Read the text columns that a Parquet file stores as a small dictionary
        of repeated values (codes, yes/no) as ``dictionary<int32, string>``
        columns: the same values, without one string per row (what validation
        wants). CSV, Excel and Arrow files read the same either way. Default:
        plain ``string`` columns.

        .. versionadded:: 0.2.0

    Returns
    -------
    RawTable

    Raises
    ------
    InputError
        When the source cannot be read as a table at all.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> p = pathlib.Path(tempfile.mkdtemp()) / "stays.csv"
    >>> _ = p.write_bytes("stay_id;alder\\r\\nA1;87\\r\\n".encode("cp1252"))
    >>> raw = read_table(p, table="stays")
    >>> raw.delimiter, raw.lines.to_pylist()
    (';', [2])
    """
    if not isinstance(source, (str, os.PathLike)):
        return _from_memory(source)
    path = Path(source)
    name = str(source)
    if not path.exists():
        raise InputError("file not found", "filen finnes ikke", source=name)
    if path.is_dir():
        raise InputError("is a folder, not a file", "er en mappe, ikke en fil", source=name)
    try:
        size = path.stat().st_size
        if size == 0:
            raise InputError("the file is empty (0 bytes)", "filen er tom (0 byte)", source=name)
        _refuse_size(size, MAX_FILE_BYTES, name)
        with path.open("rb") as fh:
            head = fh.read(65536)
        kind = sniff_kind(head)
        if kind == "parquet":
            return _read_parquet(path, name, dictionary=dictionary)
        if kind == "arrow":
            return _read_arrow(path, name)
        if kind == "xlsx":
            from ._excel import read_xlsx_bytes

            _refuse_size(size, MAX_XLSX_BYTES, name, "an Excel workbook", "en Excel-arbeidsbok")
            return read_xlsx_bytes(path.read_bytes(), source=name, table_name=table)
        if kind == "csv":
            from ._csv import read_csv_bytes

            _refuse_size(size, MAX_TEXT_BYTES, name, "a CSV file", "en CSV-fil")
            return read_csv_bytes(path.read_bytes(), source=name)
    except MemoryError:
        raise InputError("the file is too large to read into memory",
                         "filen er for stor til å leses inn i minnet", source=name,
                         hint_en="split the extract (e.g. by year) or use Parquet",
                         hint_nb="del opp uttrekket (f.eks. per år) eller bruk Parquet") from None
    hints = {
        "xls": ("an old Excel .xls file; save it as .xlsx or CSV",
                "en gammel Excel .xls-fil; lagre den som .xlsx eller CSV"),
        "pdf": ("a PDF document, not a table", "et PDF-dokument, ikke en tabell"),
        "gzip": ("a compressed file; unpack it first", "en komprimert fil; pakk den ut først"),
    }
    en, nb = hints.get(kind, ("a binary file, not a table", "en binærfil, ikke en tabell"))
    raise InputError(f"cannot be read: it is {en}", f"kan ikke leses: det er {nb}", source=name)


def _refuse_size(size: int, limit: int, source: str, what_en: str = "a file",
                 what_nb: str = "en fil") -> None:
    from ._csv import nb_int

    if size > limit:
        raise InputError(
            f"the file is {size:,} bytes; {what_en} of at most {limit:,} bytes is read",
            f"filen er {nb_int(size)} byte; {what_nb} på høyst {nb_int(limit)} byte leses",
            source=source,
            hint_en="split the extract (e.g. by year) or use Parquet",
            hint_nb="del opp uttrekket (f.eks. per år) eller bruk Parquet")


def _refuse_shape(rows: int, columns: int, source: str) -> None:
    from ._csv import MAX_COLUMNS, nb_int

    if columns > MAX_COLUMNS or rows > MAX_ROWS:
        raise InputError(
            f"the table has {rows:,} rows and {columns:,} columns; at most {MAX_ROWS:,} rows and "
            f"{MAX_COLUMNS:,} columns are read",
            f"tabellen har {nb_int(rows)} rader og {nb_int(columns)} kolonner; "
            f"høyst {nb_int(MAX_ROWS)} rader og "
            f"{nb_int(MAX_COLUMNS)} kolonner leses", source=source)


def _read_parquet(path: Path, name: str, *, dictionary: bool = False) -> RawTable:
    import pyarrow.parquet as pq

    try:
        with pq.ParquetFile(path) as pf:  # opened once: the footer is read once
            meta = pf.metadata
            _refuse_shape(meta.num_rows, meta.num_columns, name)
            inflated = sum(meta.row_group(i).total_byte_size for i in range(meta.num_row_groups))
            _refuse_size(inflated, MAX_FILE_BYTES, name, "a Parquet file (uncompressed)",
                         "en Parquet-fil (utpakket)")
            cols = _dictionary_columns(pf) if dictionary else []
            if not cols:
                return _located(pf.read(), name, "parquet")
        with pq.ParquetFile(path, metadata=meta, read_dictionary=cols) as pf:
            return _located(pf.read(), name, "parquet")
    except (pa.ArrowException, OSError) as exc:
        raise InputError(f"cannot be read as Parquet: {exc}", f"kan ikke leses som Parquet: {exc}",
                         source=name) from None


DICTIONARY_BYTES_PER_VALUE = 4
"""A text column stored in fewer bytes per value than this (uncompressed) is read as a dictionary."""


def _dictionary_columns(pf: Any) -> list[str]:
    """The top-level text columns of a Parquet file that it stores as dictionary indices.

    Plainly encoded text takes at least 4 bytes per value (a length, then the bytes),
    so a column chunk of fewer bytes per value holds dictionary indices (a few bits
    each) or mostly nulls: reading it as a dictionary skips expanding every row's
    string. Decided from the footer alone (no data is read).
    """
    meta = pf.metadata
    schema = pf.schema_arrow
    text = {f.name for f in schema if pa.types.is_string(f.type) or pa.types.is_large_string(f.type)}
    if not text or meta.num_row_groups == 0:
        return []
    leaves = [meta.schema.column(i).path for i in range(meta.num_columns)]
    seen = collections.Counter(leaves)
    out = []
    for i, leaf in enumerate(leaves):
        if leaf not in text or seen[leaf] != 1:
            continue
        chunks = [meta.row_group(g).column(i) for g in range(meta.num_row_groups)]
        if all(c.has_dictionary_page and c.total_uncompressed_size < DICTIONARY_BYTES_PER_VALUE * max(c.num_values, 1)
               for c in chunks):
            out.append(leaf)
    return out


def _read_arrow(path: Path, name: str) -> RawTable:
    from pyarrow import ipc

    try:
        with pa.memory_map(str(path)) as mm:
            reader = ipc.open_file(mm)
            rows = sum(reader.get_batch(i).num_rows for i in range(reader.num_record_batches))
            _refuse_shape(rows, len(reader.schema), name)
            return _located(reader.read_all(), name, "arrow")
    except (pa.ArrowException, OSError) as exc:
        raise InputError(f"cannot be read as an Arrow IPC file: {exc}",
                         f"kan ikke leses som Arrow IPC-fil: {exc}", source=name) from None


def _row_numbers(n: int) -> pa.Array:
    """1, 2, ..., n (vectorised: a Python range of 10 million ints takes over a second)."""
    import numpy as np

    return pa.array(np.arange(1, n + 1, dtype=np.int64))


def _located(table: pa.Table, source: str, fmt: str) -> RawTable:
    return RawTable(table=table, lines=_row_numbers(table.num_rows), source=source, format=fmt)
