"""Hypothesis strategies derived from the reporting schema.

:func:`stays` draws tables that validation accepts (no ``error`` issues), built
from the schema and the code lists in ``spec/``; :func:`raw_stays` draws
tables of arbitrary text in the schema's columns, for fuzzing.

Examples
--------
>>> from hypothesis import given, settings
>>> import kadindicators as kad
>>> from kadindicators.testing import strategies as st_kad
>>> @settings(max_examples=5, deadline=None)
... @given(st_kad.stays(max_rows=5))
... def test_valid(t):
...     assert not kad.validate(stays=t, units=st_kad.default_units()).has_errors
>>> test_valid()

.. versionadded:: 0.1.0
"""

from __future__ import annotations

import datetime as dt
from typing import Any
from zoneinfo import ZoneInfo

try:
    from hypothesis import strategies as st
except ImportError as exc:  # pragma: no cover - depends on the environment
    raise ImportError(
        "kadindicators.testing needs hypothesis: pip install 'kadindicators[testing]'"
    ) from exc
import pyarrow as pa

from ..schema import TIMEZONE, arrow_schema
from ..spec.loader import load_schema

__all__ = ["default_population", "default_units", "raw_stays", "stays"]

_OSLO = ZoneInfo(TIMEZONE)
DEFAULT_UNIT = "KAD-TEST-1"
DEFAULT_MUNICIPALITIES = ("3301", "3312", "3314")


def default_units() -> pa.Table:
    """A units table with one somatic unit serving Drammen, Lier and Øvre Eiker since 2020."""
    return pa.table({
        "unit_id": [DEFAULT_UNIT],
        "name": ["Test KAD"],
        "host_municipality": ["3301"],
        "municipalities": [list(DEFAULT_MUNICIPALITIES)],
        "care_track": ["somatic"],
        "beds": [6],
        "valid_from": [dt.date(2020, 1, 1)],
        "valid_to": pa.array([None], pa.date32()),
    })


def default_population(years: tuple[int, ...] = (2024, 2025)) -> pa.Table:
    """A population table for the municipalities of :func:`default_units` (round numbers)."""
    bands = [b.code for b in load_schema().age_bands]
    rows = [{"municipality": m, "year": y, "sex": s, "age_band": b, "population": 1000 + 100 * k}
            for m in DEFAULT_MUNICIPALITIES for y in years for s in ("1", "2")
            for k, b in enumerate(bands)]
    return pa.Table.from_pylist(rows, schema=arrow_schema("population"))


def _codes(codelist: str) -> list[str]:
    return list(load_schema().codelists[codelist].values)


@st.composite
def _stay(draw: Any, i: int, start: dt.datetime, end: dt.datetime,
          patients: int | None = None) -> dict[str, Any]:
    span = int((end - start).total_seconds() // 60)
    adm_utc = start + dt.timedelta(minutes=draw(st.integers(0, span)))
    admitted = adm_utc.astimezone(_OSLO)
    open_stay = draw(st.booleans().map(lambda b: b and draw(st.integers(0, 9)) == 0))
    discharged = None if open_stay else admitted + dt.timedelta(
        minutes=draw(st.integers(30, 20 * 24 * 60)))
    dest = None if discharged is None else draw(st.sampled_from(_codes("discharged_to")))
    died = None
    if dest == "died":
        died = discharged.date() if discharged is not None else None
    elif draw(st.integers(0, 19)) == 0:
        died = admitted.date() + dt.timedelta(days=draw(st.integers(0, 90)))
    return {
        "stay_id": f"S{i:05d}",
        "patient_id": f"P{i:06d}" if patients is None else f"P{draw(st.integers(0, patients - 1)):06d}",
        "unit_id": DEFAULT_UNIT,
        "municipality": draw(st.sampled_from(DEFAULT_MUNICIPALITIES + (None,))),
        "admitted_at": admitted,
        "discharged_at": discharged,
        "age": draw(st.integers(18, 105)),
        "sex": draw(st.sampled_from(["1", "2", "9"])),
        "care_track": "somatic",
        "admitted_from": draw(st.sampled_from(_codes("admitted_from") + [None])),
        "examined_before_admission": draw(st.sampled_from([True, False, None])),
        "discharged_to": dest,
        "diagnosis_icpc2": draw(st.sampled_from(["R81", "U71", "S76", "L76", "K77", "A04", None])),
        "diagnosis_icd10": draw(st.sampled_from(["J18.9", "N39.0", None])),
        "died_at": died,
        "news2_at_admission": draw(st.sampled_from([None, 0, 1, 2, 3, 5, 7])),
    }


@st.composite
def stays(draw: Any, *, min_rows: int = 0, max_rows: int = 20,
          start: dt.date = dt.date(2024, 1, 1), end: dt.date = dt.date(2025, 12, 1),
          patients: int | None = None) -> pa.Table:
    """Draw a stays table that validation accepts without errors.

    By default every stay has its own patient (so stays never overlap); with
    ``patients=k`` patient ids are drawn from ``k`` patients, so a patient may
    have several stays (overlaps are then possible: a warning, not an error).
    All stays are at :func:`default_units`'s unit, admitted in ``[start, end)``.
    """
    n = draw(st.integers(min_rows, max_rows))
    t0 = dt.datetime.combine(start, dt.time(), tzinfo=dt.UTC)
    t1 = dt.datetime.combine(end, dt.time(), tzinfo=dt.UTC)
    rows = [draw(_stay(i, t0, t1, patients)) for i in range(n)]
    schema = arrow_schema("stays")
    if not rows:
        return schema.empty_table()
    return pa.Table.from_pylist(rows, schema=schema)


_TEXT = st.one_of(
    st.text(max_size=12),
    st.sampled_from(["", " ", "ja", "Kvinne", "3301", "02.01.2025 10:00", "2025-13-01", "=1+1",
                     "31.02.2025", "45292", "-5", "130", "R81", "Legevakt", "\u00a0", "NaN"]),
)


@st.composite
def raw_stays(draw: Any, *, max_rows: int = 12) -> pa.Table:
    """Draw a table of arbitrary text (or nulls) in every column of the stays schema."""
    n = draw(st.integers(0, max_rows))
    names = load_schema().tables["stays"].field_names
    cols = {name: pa.array([draw(st.one_of(st.none(), _TEXT)) for _ in range(n)], pa.string())
            for name in names}
    return pa.table(cols)
