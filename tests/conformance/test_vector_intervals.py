"""Confidence limits given in conformance vectors (``ci_lower``/``ci_upper``) match the library.

The shared runner (:func:`kadindicators.testing.conformance.run_case`) compares numerators,
denominators, values and suppression; vectors that also pin an interval (KAD-U01S's gamma
interval, KAD-U04M's order-statistic interval) are checked here to the same 1e-6 tolerance as
values. A case applies to the indicator versions from its ``since_version``.
"""

from __future__ import annotations

import math
from typing import Any

import pyarrow as pa
import pytest

import kadindicators as kad
from kadindicators.spec.indicators import load_indicators
from kadindicators.testing.conformance import ConformanceCase, load_cases, run_case


def _version(v: str) -> tuple[int, ...]:
    return tuple(int(x) for x in v.split("."))


def _pins_interval(case: ConformanceCase) -> bool:
    rows = case.expected.get("rows", [])
    return any("ci_lower" in r or "ci_upper" in r for r in rows)


CASES = [c for c in load_cases() if _pins_interval(c)]


def test_some_vectors_pin_intervals() -> None:
    """The check below is not vacuous: U01S vectors pin their gamma intervals."""
    assert {c.indicator for c in CASES} >= {"KAD-U01S"}


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_vector_interval(case: ConformanceCase) -> None:
    """Every ci_lower/ci_upper given in the case equals the result's (1e-6), null for null."""
    spec = load_indicators()[case.indicator]
    if _version(spec.version) < _version(case.since_version):
        pytest.skip(f"{case.id} applies from {case.since_version}; the spec is {spec.version}")
    seen: list[pa.Table] = []

    def capture(**kw: Any) -> pa.Table:
        seen.append(kad.compute(**kw))
        return seen[-1]

    assert run_case(case, compute=capture) == []
    keys = ["period", *case.parameters["by"], *case.parameters["strata"]]
    got = {tuple(r[k] for k in keys): r for r in seen[0].to_pylist()}
    for want in case.expected["rows"]:
        row = got[tuple(None if want.get(k) is None else str(want[k]) for k in keys)]
        for col in ("ci_lower", "ci_upper"):
            if col not in want:
                continue
            if want[col] is None:
                assert row[col] is None, (col, row)
            else:
                assert row[col] is not None and math.isclose(row[col], want[col], rel_tol=1e-6, abs_tol=1e-6), \
                    (col, row[col], want[col])
