"""Municipality numbers over time: validity on a date and successors after reforms.

One place for what the ``municipality`` code list says about time, used by
validation and by the indicators.

.. versionadded:: 0.1.0
"""

from __future__ import annotations

import datetime as dt
import functools

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from .spec.loader import load_schema
from .spec.models import Code

FAR_PAST, FAR_FUTURE = dt.date(1800, 1, 1), dt.date(9999, 1, 1)


@functools.cache
def validity_table() -> pa.Table:
    """Every municipality code with its half-open validity ``[vf, vt)``."""
    codes = load_schema().codelists["municipality"].codes
    return pa.table({
        "code": pa.array([c.code for c in codes], pa.string()),
        "vf": pa.array([c.valid_from or FAR_PAST for c in codes], pa.date32()),
        "vt": pa.array([c.valid_to or FAR_FUTURE for c in codes], pa.date32()),
    })


def valid_on(codes: pa.Array | pa.ChunkedArray, dates: pa.Array | pa.ChunkedArray) -> np.ndarray:
    """Whether each municipality number was valid on the matching date (False for nulls).

    Examples
    --------
    >>> import datetime as dt, pyarrow as pa
    >>> valid_on(pa.array(["3005", "3301"]), pa.array([dt.date(2024, 6, 1)] * 2)).tolist()
    [False, True]
    """
    n = len(codes)
    probe = pa.table({"code": codes, "d": dates, "i": pa.array(np.arange(n), pa.int64())})
    j = probe.join(validity_table(), keys="code", join_type="inner")
    inside = pc.fill_null(pc.and_(pc.greater_equal(j["d"], j["vf"]), pc.less(j["d"], j["vt"])), False)
    ok = np.zeros(n, dtype=bool)
    ok[np.asarray(j.filter(inside)["i"].to_numpy(), dtype=np.int64)] = True
    return ok


@functools.cache
def successors() -> dict[str, tuple[str, ...]]:
    """The currently valid number(s) each code leads to through ``replaced_by`` (itself if valid).

    Examples
    --------
    >>> successors()["0602"]
    ('3301',)
    """
    codes = load_schema().codelists["municipality"].codes
    by_code: dict[str, list[Code]] = {}
    for c in codes:
        by_code.setdefault(c.code, []).append(c)

    def current(code: str, seen: frozenset[str]) -> list[str]:
        entries = by_code.get(code, [])
        if code in seen or not entries or any(e.valid_to is None for e in entries):
            return [code]
        latest = max(entries, key=lambda e: e.valid_to or FAR_FUTURE)
        if not latest.replaced_by:
            return [code]
        out: list[str] = []
        for nxt in latest.replaced_by:
            out += [x for x in current(nxt, seen | {code}) if x not in out]
        return out

    return {code: tuple(current(code, frozenset())) for code in by_code}
