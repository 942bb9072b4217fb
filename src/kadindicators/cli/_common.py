"""Shared CLI helpers: language, messages, safe CSV output, progress on stderr."""

from __future__ import annotations

import csv
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import pyarrow as pa

FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def t(lang: str, nb: str, en: str) -> str:
    """Pick the text for ``lang``."""
    return en if lang == "en" else nb


def progress(msg: str) -> None:
    """Progress and logs go to stderr, never personal data."""
    print(msg, file=sys.stderr, flush=True)


def neutralise(value: Any) -> Any:
    """Make a cell safe for spreadsheets: a leading = + - @ is escaped with a quote."""
    if isinstance(value, str) and value.startswith(FORMULA_START):
        return "'" + value
    return value


def write_safe_csv(table: pa.Table, path: Path, *, delimiter: str = ",") -> None:
    """Write a table as UTF-8 CSV (with BOM, for Excel) with formula-like cells neutralised."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", encoding="utf-8-sig", newline="") as fh:
        w = csv.writer(fh, delimiter=delimiter)
        w.writerow(table.column_names)
        for batch in table.to_batches(max_chunksize=65536):
            cols = [c.to_pylist() for c in batch.columns]
            for row in zip(*cols, strict=True):
                # only text can carry a formula; numbers (e.g. a negative bound) stay numbers
                w.writerow(["" if v is None else neutralise(v) if isinstance(v, str) else str(v)
                            for v in row])
