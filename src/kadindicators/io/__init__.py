"""Reading inputs: files (CSV, Excel, Parquet, Arrow IPC) and in-memory tables.

This is the only package that touches files and foreign data frames. Whatever
comes in leaves as a :class:`RawTable` holding a :class:`pyarrow.Table` and the
source location of every row.

.. versionadded:: 0.1.0
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pyarrow as pa

from ..errors import InputError
from ._sniff import sniff_kind
from .model import RawTable

__all__ = ["RawTable", "as_arrow", "read_table"]

MAX_FILE_BYTES = 4 * 1024**3

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
        try:
            return pa.table(obj)
        except Exception:  # noqa: BLE001 - fall through to the other conversions
            pass
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
    return RawTable(table=table, lines=pa.array(range(1, table.num_rows + 1), pa.int64()),
                    source="<memory>", format="arrow")


def read_table(source: Source, *, table: str) -> RawTable:
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
    size = path.stat().st_size
    if size == 0:
        raise InputError("the file is empty (0 bytes)", "filen er tom (0 byte)", source=name)
    if size > MAX_FILE_BYTES:
        raise InputError(f"the file is larger than {MAX_FILE_BYTES:,} bytes",
                         f"filen er større enn {MAX_FILE_BYTES:,} byte", source=name)
    with path.open("rb") as fh:
        head = fh.read(65536)
    kind = sniff_kind(head)
    if kind == "parquet":
        import pyarrow.parquet as pq

        try:
            return _located(pq.read_table(path), name, "parquet")
        except (pa.ArrowException, OSError) as exc:
            raise InputError(f"cannot be read as Parquet: {exc}", f"kan ikke leses som Parquet: {exc}",
                             source=name) from None
    if kind == "arrow":
        import pyarrow.ipc as ipc

        try:
            with pa.memory_map(str(path)) as mm:
                return _located(ipc.open_file(mm).read_all(), name, "arrow")
        except (pa.ArrowException, OSError) as exc:
            raise InputError(f"cannot be read as an Arrow IPC file: {exc}",
                             f"kan ikke leses som Arrow IPC-fil: {exc}", source=name) from None
    if kind == "xlsx":
        from ._excel import read_xlsx_bytes

        return read_xlsx_bytes(path.read_bytes(), source=name, table_name=table)
    if kind == "csv":
        from ._csv import read_csv_bytes

        return read_csv_bytes(path.read_bytes(), source=name)
    hints = {
        "xls": ("an old Excel .xls file; save it as .xlsx or CSV",
                "en gammel Excel .xls-fil; lagre den som .xlsx eller CSV"),
        "pdf": ("a PDF document, not a table", "et PDF-dokument, ikke en tabell"),
        "gzip": ("a compressed file; unpack it first", "en komprimert fil; pakk den ut først"),
    }
    en, nb = hints.get(kind, ("a binary file, not a table", "en binærfil, ikke en tabell"))
    raise InputError(f"cannot be read: it is {en}", f"kan ikke leses: det er {nb}", source=name)


def _located(table: pa.Table, source: str, fmt: str) -> RawTable:
    return RawTable(table=table, lines=pa.array(range(1, table.num_rows + 1), pa.int64()),
                    source=source, format=fmt)
