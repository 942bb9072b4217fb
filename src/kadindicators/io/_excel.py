"""Reading Excel workbooks (.xlsx) exported by municipalities."""

from __future__ import annotations

import datetime as dt
import io
import struct
import zipfile
from collections.abc import Iterable
from typing import Any

import pyarrow as pa

from ..errors import InputError
from ._csv import MAX_COLUMNS, nb_int
from .model import RawTable

MAX_UNCOMPRESSED = 1024**3  # refuse workbooks that inflate beyond 1 GiB (checked before inflating)
MAX_RATIO = 200  # or that compress suspiciously well (zip bombs), beyond a 50 MB allowance
MAX_PARTS = 10_000  # files inside the workbook (a real one has a few dozen)
MAX_CELLS = 20_000_000  # cells read, empty ones included (1 million rows of 20 columns)
MAX_CELL_CHARS = 32_767  # Excel's own limit for the text of one cell

SHEET_NAMES = {
    "stays": ("stays", "opphold"),
    "units": ("units", "enheter", "enhet"),
    "population": ("population", "befolkning"),
    "experience": ("experience", "erfaringer", "erfaring"),
    "hospital_admissions": ("hospital_admissions", "sykehusinnleggelser", "innleggelser"),
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


def _declared_parts(data: bytes) -> int | None:
    """The number of files the zip's end record declares (read before parsing the directory)."""
    tail = data[-(65_535 + 22):]
    at = tail.rfind(b"PK\x05\x06")
    if at < 0 or at + 22 > len(tail):
        return None
    return int(struct.unpack("<H", tail[at + 10:at + 12])[0])


def _check_zip(data: bytes, source: str) -> None:
    """Refuse damaged workbooks and zip bombs from the sizes the zip declares, before inflating.

    Python's zipfile never inflates a part beyond its declared size (a part
    that lies about its size fails its checksum), so the declared sizes bound
    the work.
    """
    parts = _declared_parts(data)
    if parts is not None and parts >= min(MAX_PARTS, 0xFFFF):
        raise InputError(f"the workbook holds {parts:,} parts or more; refused",
                         f"arbeidsboken har {nb_int(parts)} deler eller flere; avvist", source=source,
                         hint_en="save the sheet as CSV instead", hint_nb="lagre arket som CSV i stedet")
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as zf:
            total = sum(i.file_size for i in zf.infolist())
    except (zipfile.BadZipFile, zipfile.LargeZipFile, NotImplementedError, ValueError, EOFError):
        raise InputError("looks like an Excel file but is damaged",
                         "ser ut som en Excel-fil, men er skadet", source=source) from None
    if total > MAX_UNCOMPRESSED or total > MAX_RATIO * max(len(data), 1) + 50_000_000:
        raise InputError(
            f"the workbook inflates to {total:,} bytes; refused as a possible zip bomb",
            f"arbeidsboken pakkes ut til {nb_int(total)} byte; avvist som mulig zip-bombe",
            source=source, hint_en="save the sheet as CSV instead", hint_nb="lagre arket som CSV i stedet",
        )


def read_xlsx_bytes(data: bytes, *, source: str, table_name: str) -> RawTable:
    """Read the sheet for ``table_name`` (or the first sheet) as a table of strings."""
    _check_zip(data, source)
    import openpyxl  # lazily: only .xlsx input needs it

    try:
        wb = openpyxl.load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except Exception as exc:  # noqa: BLE001 - openpyxl raises many kinds on damaged files
        raise InputError(f"cannot be read as an Excel workbook ({type(exc).__name__})",
                         f"kan ikke leses som Excel-arbeidsbok ({type(exc).__name__})",
                         source=source) from None
    rownum = 0
    try:
        if not wb.sheetnames:
            raise InputError("the workbook has no sheets", "arbeidsboken har ingen ark", source=source)
        wanted = SHEET_NAMES.get(table_name, (table_name,))
        sheet = next((wb[n] for n in wb.sheetnames if n.strip().lower() in wanted), None)
        if sheet is None:
            sheet = wb[wb.sheetnames[0]]
        if hasattr(sheet, "reset_dimensions"):
            # the sheet's own <dimension> may claim 16,384 columns x 1,048,576 rows; openpyxl
            # would pad every row to it, so read the cells that are there instead
            sheet.reset_dimensions()
        rows: Iterable[tuple[Any, ...]] = sheet.iter_rows(values_only=True)
        header: list[str] | None = None
        cols: list[list[str]] = []
        lines: list[int] = []
        ragged_lines: list[int] = []
        ragged_counts: list[int] = []
        cells_read = 0
        for rownum, row in enumerate(rows, start=1):
            cells_read += len(row) + 1
            if cells_read > MAX_CELLS:
                raise InputError(
                    f"row {rownum}: the sheet has more than {MAX_CELLS:,} cells; refused",
                    f"rad {rownum}: arket har mer enn {nb_int(MAX_CELLS)} celler; avvist", source=source,
                    hint_en="save the sheet as CSV instead", hint_nb="lagre arket som CSV i stedet")
            cells = [_cell_text(v) for v in row]
            while cells and cells[-1] == "":
                cells.pop()
            if any(len(c) > MAX_CELL_CHARS for c in cells):
                col = next(i for i, c in enumerate(cells) if len(c) > MAX_CELL_CHARS) + 1
                raise InputError(
                    f"row {rownum}, column {col}: a cell longer than {MAX_CELL_CHARS:,} characters "
                    "(more than Excel allows)",
                    f"rad {rownum}, kolonne {col}: en celle lengre enn {nb_int(MAX_CELL_CHARS)} tegn "
                    "(mer enn Excel tillater)", source=source)
            if header is None:
                if cells:
                    if len(cells) > MAX_COLUMNS:
                        raise InputError(
                            f"row {rownum}: the header has {len(cells):,} columns; at most "
                            f"{MAX_COLUMNS:,} are read",
                            f"rad {rownum}: overskriften har {nb_int(len(cells))} kolonner; høyst "
                            f"{nb_int(MAX_COLUMNS)} leses", source=source)
                    header = [c.strip() for c in cells]
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
    except InputError:
        raise
    except Exception as exc:  # noqa: BLE001 - damaged sheet XML, a part failing its checksum ...
        raise InputError(f"row {rownum + 1}: cannot be read as an Excel sheet ({type(exc).__name__})",
                         f"rad {rownum + 1}: kan ikke leses som Excel-ark ({type(exc).__name__})",
                         source=source) from None
    finally:
        wb.close()
    if header is None:
        raise InputError("the workbook's sheet is empty", "arket i arbeidsboken er tomt", source=source)
    table = pa.table([pa.array(c, pa.string()) for c in cols], names=header)
    return RawTable(table=table, lines=pa.array(lines, pa.int64()), source=source, format="xlsx",
                    sheet=title, ragged_lines=pa.array(ragged_lines, pa.int64()),
                    ragged_counts=pa.array(ragged_counts, pa.int64()), header_columns=len(header))
