"""Shared CLI helpers: language, messages, safe CSV output, progress on stderr."""

from __future__ import annotations

import contextlib
import csv
import sys
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import argparse
    from importlib.machinery import ModuleSpec
    from types import ModuleType

    import pyarrow as pa

FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def t(lang: str, nb: str, en: str) -> str:
    """Pick the text for ``lang``."""
    return en if lang == "en" else nb


def add_optional_tables(p: argparse.ArgumentParser, lang: str) -> None:
    """Add ``--experience`` and ``--hospital-admissions``: the optional tables of schema 1.1.0."""
    p.add_argument("--experience", metavar="FILE",
                   help=t(lang, "erfaringsfil: svar på erfaringsundersøkelser om oppholdene (valgfri)",
                          "experience file: answers to experience questionnaires about the stays (optional)"))
    p.add_argument("--hospital-admissions", metavar="FILE",
                   help=t(lang, "fil med akutte sykehusinnleggelser per kommune og år eller måned (valgfri)",
                          "file of acute hospital admissions by municipality and year or month (optional)"))


def progress(msg: str) -> None:
    """Progress and logs go to stderr, never personal data."""
    print(msg, file=sys.stderr, flush=True)


def warn_if_low_threshold(lang: str, suppression: int) -> None:
    """The one warning for a small-count threshold below 3 (which may reveal individuals)."""
    if suppression < 3:
        progress(t(lang, "ADVARSEL: terskel under 3 kan avsløre enkeltpersoner.",
                   "WARNING: a threshold below 3 may reveal individuals."))


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


def running_as_program() -> bool:
    """True when this process is the ``kadindicators`` command itself, not a program calling ``main()``.

    That is ``python -m kadindicators`` or the ``kadindicators`` console script:
    the process ends when the command does, so process-wide settings are safe.
    """
    top = sys.modules.get("__main__")
    spec = getattr(top, "__spec__", None)
    if spec is not None and spec.name == "kadindicators.__main__":
        return True
    from . import main

    return bool(sys.argv and Path(sys.argv[0]).stem == "kadindicators" and getattr(top, "main", None) is main)


class _NoPandas:
    """A meta path finder (duck-typed: importing importlib.abc would cost start-up) refusing pandas."""

    def find_spec(self, fullname: str, path: Sequence[str] | None,
                  target: ModuleType | None = None) -> ModuleSpec | None:
        if fullname == "pandas" or fullname.startswith("pandas."):
            raise ModuleNotFoundError(f"No module named {fullname!r} (kadindicators: not needed here)",
                                      name=fullname)
        return None


@contextlib.contextmanager
def pandas_left_unloaded(enabled: bool = True) -> Iterator[None]:
    """Keep pandas from being imported while the block runs (a no-op if it is already loaded).

    pyarrow imports pandas (0.2-0.5 s) on its first conversion of Python values,
    only to ask whether they are pandas objects; a command that reads files never
    hands it any. Inside the block ``import pandas`` fails, so pyarrow goes on
    without it. Afterwards pyarrow still believes pandas is missing for that
    question (it remembers the answer), so use this only where the process ends
    with the command: see :func:`running_as_program`.
    """
    if not enabled or "pandas" in sys.modules:
        yield
        return
    blocker = _NoPandas()
    sys.meta_path.insert(0, blocker)
    try:
        yield
    finally:
        sys.meta_path.remove(blocker)


PER_INDICATOR_METADATA = (b"kadindicators.spec_hash", b"kadindicators.indicator_versions",
                          b"kadindicators.excluded_by_reason", b"kadindicators.stays_counted",
                          b"kadindicators.standard_populations")


def merged_metadata(parts: list[Any]) -> dict[bytes, bytes]:
    """The provenance of results computed in parts: per-indicator entries joined, ``by`` listing each grouping.

    The parts come from one call each of :func:`kadindicators.compute` on the same
    data (same fingerprint, as_of, thresholds), so everything else is that of the first.
    """
    import json

    meta = dict(parts[0].schema.metadata or {})
    for key in PER_INDICATOR_METADATA:
        joined: dict[str, Any] = {}
        for part in parts:
            raw = (part.schema.metadata or {}).get(key)
            if raw is not None:
                joined.update(json.loads(raw))
        if key in meta:
            meta[key] = json.dumps(joined, sort_keys=key == b"kadindicators.excluded_by_reason").encode()
    by = [b for part in parts for b in json.loads((part.schema.metadata or {}).get(b"kadindicators.by", b"[]"))]
    meta[b"kadindicators.by"] = json.dumps(list(dict.fromkeys(by))).encode()
    return meta
