"""Load and run the conformance vectors of ``spec/conformance`` (any implementation).

Examples
--------
>>> from kadindicators.testing.conformance import load_cases, run_case
>>> case = next(c for c in load_cases() if c.indicator == "KAD-Q01" and c.case == "basic")
>>> run_case(case)
[]

.. versionadded:: 0.1.0
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import attrs
import pyarrow as pa

from .. import _yaml
from .._resources import spec_root
from ..spec.loader import load_schema

__all__ = ["ConformanceCase", "case_input", "cell_text", "load_cases", "run_case"]

REQUIRED = ("indicator", "case", "spec_ref", "since_version", "tags", "parameters", "input", "expected")
DEFAULTS = {"by": ["unit_id"], "period": "year", "strata": [], "as_of": None, "suppression": 5}


@attrs.frozen(kw_only=True)
class ConformanceCase:
    """One hand-checked case: input rows, parameters and the expected result rows."""

    indicator: str
    case: str
    spec_ref: str
    since_version: str
    tags: tuple[str, ...]
    parameters: Mapping[str, Any] = attrs.field(eq=False)
    input: Mapping[str, Any] = attrs.field(eq=False, repr=False)
    expected: Mapping[str, Any] = attrs.field(eq=False, repr=False)
    path: Path = attrs.field(eq=False)

    @property
    def id(self) -> str:
        """``<indicator>/<case>``, as used for test ids."""
        return f"{self.indicator}/{self.case}"


def load_cases(root: Path | None = None) -> list[ConformanceCase]:
    """Every case under ``spec/conformance/<ID>/*.yaml``, sorted by id."""
    base = (root or spec_root()) / "conformance"
    out = []
    for path in sorted(base.glob("*/*.yaml")):
        raw = _yaml.load(path)
        missing = [k for k in REQUIRED if k not in raw]
        if missing:
            raise ValueError(f"{path}: missing keys {missing}")
        params = {**DEFAULTS, **(raw.get("parameters") or {})}
        out.append(ConformanceCase(indicator=raw["indicator"], case=raw["case"],
                                   spec_ref=raw["spec_ref"], since_version=str(raw["since_version"]),
                                   tags=tuple(raw.get("tags") or ()), parameters=params,
                                   input=raw["input"], expected=raw["expected"], path=path))
    return out


def cell_text(v: Any) -> str | None:
    """A case value as a CSV export would write it (lists joined with ``|``; None stays None).

    Examples
    --------
    >>> cell_text(["3301", "3312"]), cell_text(True), cell_text(None)
    ('3301|3312', 'true', None)
    """
    if v is None:
        return None
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, dt.datetime):
        return v.isoformat(timespec="minutes")
    if isinstance(v, dt.date):
        return v.isoformat()
    if isinstance(v, list | tuple):
        return "|".join(cell_text(x) or "" for x in v)
    return str(v)


def case_input(case: ConformanceCase) -> dict[str, pa.Table]:
    """The case's input tables as text columns, as a CSV export would give them."""
    schema = load_schema()
    out = {}
    for table, rows in case.input.items():
        names = schema.tables[table].field_names
        used = [n for n in names if any(n in r for r in rows)]
        out[table] = pa.table({n: pa.array([cell_text(r.get(n)) for r in rows], pa.string()) for n in used})
    return out


def _close(a: Any, b: Any, tol: float) -> bool:
    if a is None or b is None:
        return a is None and b is None
    return math.isclose(float(a), float(b), rel_tol=tol, abs_tol=tol)


def run_case(case: ConformanceCase, compute: Callable[..., pa.Table] | None = None) -> list[str]:
    """Run one case; return a list of mismatches (empty when the implementation conforms).

    ``compute`` defaults to :func:`kadindicators.compute`; another implementation
    can be passed with the same keyword interface.
    """
    if compute is None:
        from ..indicators import compute as library_compute

        compute = library_compute

    from ..validation import validate

    tables = case_input(case)
    p = case.parameters
    report = validate(**tables, as_of=dt.date(2100, 1, 1))
    problems = []
    errors = report.issues.filter(pa.compute.equal(report.issues["severity"], "error"))
    if errors.num_rows:
        first = errors.to_pylist()[0]
        problems.append(f"input has rejected rows, e.g. {first['table']} row {first['row']}: "
                        f"{first['rule']} ({first['message_en']})")
        return problems
    typed = {k: report.tables[k] for k in tables}
    as_of = p.get("as_of")
    if isinstance(as_of, str):
        as_of = dt.datetime.fromisoformat(as_of)
    result = compute(**typed, indicators=[case.indicator], by=tuple(p["by"]), period=p["period"],
                     strata=tuple(p["strata"]), as_of=as_of, suppression=int(p["suppression"]))
    keys = ["period", *p["by"], *p["strata"]]
    got = {tuple(r[k] for k in keys): r for r in result.to_pylist()}
    want_rows = case.expected.get("rows", [])
    want = {tuple(None if r.get(k) is None else str(r.get(k)) for k in keys): r for r in want_rows}
    for key in sorted(set(want) - set(got), key=str):
        problems.append(f"missing result row {dict(zip(keys, key, strict=True))}")
    for key in sorted(set(got) - set(want), key=str):
        problems.append(f"unexpected result row {dict(zip(keys, key, strict=True))}: "
                        f"num={got[key]['numerator']} den={got[key]['denominator']}")
    for key in sorted(set(got) & set(want), key=str):
        g, w = got[key], want[key]
        where = dict(zip(keys, key, strict=True))
        for col, tol in (("numerator", 1e-9), ("denominator", 1e-9), ("value", 1e-6), ("ci_lower", 1e-6),
                         ("ci_upper", 1e-6)):
            if col in w and not _close(g[col], w[col], tol):
                problems.append(f"{where}: {col} is {g[col]}, expected {w[col]}")
        if "suppressed" in w and bool(g["suppressed"]) != bool(w["suppressed"]):
            problems.append(f"{where}: suppressed is {g['suppressed']}, expected {w['suppressed']}")
        if "reason" in w and g["reason"] != w["reason"]:
            problems.append(f"{where}: reason is {g['reason']}, expected {w['reason']}")
        if w.get("suppressed") and g["numerator"] is not None:
            problems.append(f"{where}: suppressed row shows its numerator")
    if "excluded" in case.expected:
        from ..indicators import result_metadata

        got_ex = result_metadata(result)["excluded_by_reason"].get(case.indicator, {})
        for reason, n in case.expected["excluded"].items():
            if got_ex.get(reason, 0) != n:
                problems.append(f"excluded[{reason}] is {got_ex.get(reason, 0)}, expected {n}")
    return problems


def _ids(cases: Sequence[ConformanceCase]) -> list[str]:
    return [c.id for c in cases]
