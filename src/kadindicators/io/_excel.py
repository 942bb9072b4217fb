"""Reading Excel workbooks (.xlsx) exported by municipalities."""

from __future__ import annotations

import datetime as dt
import io
import zipfile
from collections.abc import Iterable
from typing import Any

import pyarrow as pa

from ..errors import InputError
from .model import RawTable

MAX_UNCOMPRESSED = 2 * 1024**3  # refuse workbooks that inflate beyond 2 GiB
MAX_RATIO = 200  # or that compress suspiciously well (zip bombs)

SHEET_NAMES = {
    "stays": ("stays", "opphold"),
    "units": ("units", "enheter", "enhet"),
    "population": ("population", "befolkning"),
}


def _cell_text(v: Any) -> str:
    if v is None:
        return ""
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, dt.datetime):
        return v.isoformat(sep="T", timespec="seconds")
    if isinstance(v, dt.date):
        return v.isoformat()
    if isinstance(v, dt.time):
        return v.isoformat()
    if isinstance(v, float) and v.is_integer():
        return str(int(v))
    return str(v)


def _check_zip(data: bytes, source: str) -> None:
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as zf:
            total = sum(i.file_size for i in zf.infolist())
    except zipfile.BadZipFile:
        raise InputError("looks like an Excel file but is damaged",
                         "ser ut som en Excel-fil, men er skadet", source=source) from None
    if total > MAX_UNCOMPRESSED or total > MAX_RATIO * max(len(data), 1) + 50_000_000:
        raise InputError(
            f"the workbook inflates to {total:,} bytes; refused as a possible zip bomb",
            f"arbeidsboken pakkes ut til {total:,} byte; avvist som mulig zip-bombe",
            source=source, hint_en="save the sheet as CSV instead", hint_nb="lagre arket som CSV i stedet",
        )


def read_xlsx_bytes(data: bytes, *, source: str, table_name: str) -> RawTable:
    """Read the sheet for ``table_name`` (or the first sheet) as a table of strings."""
    _check_zip(data, source)
    import openpyxl  # lazily: only .xlsx input needs it

    try:
        wb = openpyxl.load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except Exception as exc:  # openpyxl raises many kinds on damaged files
        raise InputError(f"cannot be read as an Excel workbook ({type(exc).__name__})",
                         f"kan ikke leses som Excel-arbeidsbok ({type(exc).__name__})",
                         source=source) from None
    try:
        wanted = SHEET_NAMES.get(table_name, (table_name,))
        sheet = next((wb[n] for n in wb.sheetnames if n.strip().lower() in wanted), None)
        if sheet is None:
            sheet = wb[wb.sheetnames[0]]
        rows: Iterable[tuple[Any, ...]] = sheet.iter_rows(values_only=True)
        header: list[str] | None = None
        header_row = 0
        cols: list[list[str]] = []
        lines: list[int] = []
        ragged_lines: list[int] = []
        ragged_counts: list[int] = []
        for rownum, row in enumerate(rows, start=1):
            cells = [_cell_text(v) for v in row]
            while cells and cells[-1] == "":
                cells.pop()
            if header is None:
                if cells:
                    header = [c.strip() for c in cells]
                    header_row = rownum
                    cols = [[] for _ in header]
                continue
            if not cells:
                continue
            if len(cells) > len(header):
                ragged_lines.append(rownum)
                ragged_counts.append(len(cells))
                continue
            cells += [""] * (len(header) - len(cells))
            for i, v in enumerate(cells):
                cols[i].append(v)
            lines.append(rownum)
        title = sheet.title
    finally:
        wb.close()
    if header is None:
        raise InputError("the workbook's sheet is empty", "arket i arbeidsboken er tomt", source=source)
    del header_row
    table = pa.table([pa.array(c, pa.string()) for c in cols], names=header)
    return RawTable(table=table, lines=pa.array(lines, pa.int64()), source=source, format="xlsx",
                    sheet=title, ragged_lines=pa.array(ragged_lines, pa.int64()),
                    ragged_counts=pa.array(ragged_counts, pa.int64()), header_columns=len(header))
