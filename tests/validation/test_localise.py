"""Local wall-clock times to UTC by one offset per local day equals the zone database row by row."""

from __future__ import annotations

import datetime as dt

import numpy as np

from kadindicators.validation import _parse


def _ms(d: dt.datetime) -> int:
    return int((d - dt.datetime(1970, 1, 1)).total_seconds() * 1000)


def test_every_hour_1900_to_2100_and_every_minute_of_changing_days() -> None:
    hours = np.arange(_ms(dt.datetime(1900, 1, 1)), _ms(dt.datetime(2101, 1, 1)), 3_600_000, dtype=np.int64)
    valid = np.ones(hours.size, dtype=bool)
    valid[::97] = False  # rows that are not local times (invalid or zoned) give 0
    early, late = _parse._earliest_latest(hours, valid)
    assert np.array_equal(early, _parse._assume(hours, valid, "earliest"))
    assert np.array_equal(late, _parse._assume(hours, valid, "latest"))
    # every minute of the days where the offset changes (and the days around them)
    days = np.unique(np.floor_divide(hours[early != late], _parse.MS_PER_DAY))
    assert days.size > 100  # DST since 1916, and the changes are found
    days = np.unique(np.concatenate([days - 1, days, days + 1]))
    minutes = (days[:, None] * _parse.MS_PER_DAY + np.arange(0, _parse.MS_PER_DAY, 60_000)).ravel()
    rng = np.random.default_rng(1)
    minutes = rng.permutation(minutes)
    every = np.ones(minutes.size, dtype=bool)
    early, late = _parse._earliest_latest(minutes, every)
    assert np.array_equal(early, _parse._assume(minutes, every, "earliest"))
    assert np.array_equal(late, _parse._assume(minutes, every, "latest"))


def test_few_and_far_apart() -> None:
    ms = np.array([_ms(dt.datetime(1905, 3, 1)), _ms(dt.datetime(2099, 10, 27, 2, 30))], dtype=np.int64)
    for valid in (np.array([True, True]), np.array([False, True]), np.array([False, False])):
        early, late = _parse._earliest_latest(ms, valid)
        assert np.array_equal(early, _parse._assume(ms, valid, "earliest"))
        assert np.array_equal(late, _parse._assume(ms, valid, "latest"))
