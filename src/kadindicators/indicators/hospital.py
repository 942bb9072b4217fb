"""Effect on hospital use: KAD-H01 and KAD-H02.

Both read the optional ``hospital_admissions`` table (schema 1.1.0): acute somatic
hospital admissions of adult residents per municipality and year or month, as the
health trusts publish them. Like the population, these are reference figures: their
contribution rows have ``row`` null, so in :func:`kadindicators.compute_partials`
only the partition with the reference denominators counts them, and the
municipality-periods KAD-H01 leaves out are counted there only
(``Contributions.excluded_reference``).

A municipality-period is *covered* when the table has figures for the whole period:
a whole-year row or all twelve month rows for a year, the three month rows of a
quarter, the month's row for a month. Ambiguous figures (two rows for one
municipality, year and month, two whole-year rows, or both a whole-year row and
month rows for one municipality and year) are left out, as validation leaves them
out (a table that already has the schema's types is used without validation), so
their periods are not covered. The normative definitions are the specs in
``spec/indicators``.

Examples
--------
>>> import datetime as dt
>>> import kadindicators as kad
>>> from kadindicators.testing import strategies as st_kad
>>> stays = kad.arrow_schema("stays").empty_table()
>>> hosp = {"municipality": ["3301"] * 12 + ["3312"], "year": [2024] * 13,
...         "month": [*range(1, 13), 6], "admissions": [100] * 12 + [40]}
>>> res = kad.compute(stays=stays, population=st_kad.default_population(), hospital_admissions=hosp,
...                   indicators=["KAD-H01"], by=("municipality",), as_of=dt.date(2025, 1, 1))
>>> [(r["municipality"], r["numerator"], r["denominator"], r["reason"]) for r in res.to_pylist()]
[('3301', 1200.0, 13000.0, None), ('3312', 0.0, 0.0, 'no_data'), ('3314', 0.0, 0.0, 'no_data')]

.. versionadded:: 0.2.0
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from .. import municipalities
from ._context import Contributions, StayContext, _to_np, label_periods, next_period, period_label
from ._registry import indicator
from .utilisation import _adult_population, _residence

MONTHS_IN = {"year": 12, "quarter": 3, "month": 1}
"""Months of figures a period of each kind needs to be covered."""

H01_EXCLUSIONS = ("no-municipality", "no-hospital-data", "no-population")
"""KAD-H01's exclusions, which count municipality-periods (not stays)."""


def _first_of_month(year: pa.Array | pa.ChunkedArray, month: pa.Array | pa.ChunkedArray) -> pa.Array:
    """date32 of the first day of each (year, month)."""
    y = _to_np(year).astype(np.int64)
    m = _to_np(month).astype(np.int64)
    days = ((y - 1970) * 12 + (m - 1)).astype("datetime64[M]").astype("datetime64[D]").astype(np.int64)
    return pc.cast(pa.array(days.astype(np.int32), pa.int32()), pa.date32())


def _clean_rows(hosp: pa.Table) -> pa.Table:
    """Unambiguous figures: (municipality, year, slot, admissions), slot 0 = the whole year.

    A slot (municipality, year, month or the whole year) with more than one row, and
    every row of a municipality-year with both a whole-year row and month rows, are
    left out: the rows validation rejects (duplicate-key,
    hospital-admissions-year-and-months).
    """
    t = pa.table({"municipality": hosp["municipality"], "year": hosp["year"],
                  "slot": pc.fill_null(hosp["month"], 0), "admissions": hosp["admissions"]})
    usable = pc.and_(pc.and_(pc.is_valid(t["municipality"]), pc.is_valid(t["year"])),
                     pc.and_(pc.is_valid(t["admissions"]),
                             pc.and_(pc.greater_equal(t["slot"], 0), pc.less_equal(t["slot"], 12))))
    t = t.filter(usable)
    t = t.append_column("whole", pc.cast(pc.equal(t["slot"], 0), pa.int8()))
    t = t.append_column("part", pc.cast(pc.not_equal(t["slot"], 0), pa.int8()))
    slots = t.group_by(["municipality", "year", "slot"], use_threads=False).aggregate(
        [("admissions", "sum"), ("admissions", "count")])
    slots = slots.filter(pc.equal(slots["admissions_count"], 1))
    kinds = t.group_by(["municipality", "year"], use_threads=False).aggregate([("whole", "max"), ("part", "max")])
    mixed = kinds.filter(pc.and_(pc.equal(kinds["whole_max"], 1), pc.equal(kinds["part_max"], 1)))
    slots = slots.join(mixed.select(["municipality", "year"]), keys=["municipality", "year"],
                       join_type="left anti")
    return pa.table({"municipality": pc.cast(slots["municipality"], pa.string()),
                     "year": pc.cast(slots["year"], pa.int64()), "slot": pc.cast(slots["slot"], pa.int64()),
                     "admissions": pc.cast(slots["admissions_sum"], pa.int64())})


_MUN_YEAR = pa.schema([("municipality", pa.string()), ("year", pa.int64())])


def _hospital_cells(ctx: StayContext, pop: pa.Table | None) -> pa.Table | None:
    """One row per candidate municipality-period of the hospital table's years.

    The periods are those of every year with any hospital row that start before
    ``as_of``; the municipalities of a year are those with any hospital row that year
    and, given ``pop``, those with adult inhabitants that year. Columns
    ``municipality``, ``period``, ``admissions`` (summed over the covering figures; 0
    when not covered), ``covered``, ``valid`` (the number is valid on the period's
    first day) and ``population`` (adults in the year; 0 without ``pop``), sorted by
    period and municipality. None without hospital rows.
    """
    hosp = ctx.hospital_admissions
    if hosp is None or hosp.num_rows == 0:
        return None
    years = sorted(y for y in pc.unique(hosp["year"]).to_pylist() if y is not None)
    labels: list[str] = []
    starts: list[dt.date] = []
    years_l: list[int] = []
    for year in years:  # a loop over distinct years (at most 12 periods each), not over rows
        d = dt.date(year, 1, 1)
        while d.year == year and d < ctx.as_of_date:
            labels.append(period_label(d, ctx.period))
            starts.append(d)
            years_l.append(year)
            d = next_period(d, ctx.period)
    ptab = pa.table({"year": pa.array(years_l, pa.int64()), "period": pa.array(labels, pa.string()),
                     "start": pa.array(starts, pa.date32())})
    hy = pa.table({"municipality": hosp["municipality"], "year": hosp["year"]}).cast(_MUN_YEAR)
    parts = [hy.filter(pc.and_(pc.is_valid(hy["municipality"]), pc.is_valid(hy["year"])))]
    pop_by = None
    if pop is not None:
        pop_by = pop.group_by(["municipality", "year"], use_threads=False).aggregate([("population", "sum")])
        pop_by = pop_by.cast(pa.schema([*_MUN_YEAR, ("population_sum", pa.int64())]))
        parts.append(pop_by.select(["municipality", "year"]).filter(
            pc.is_in(pop_by["year"], value_set=pa.array(years, pa.int64()))))
    mun_years = pa.concat_tables(parts).group_by(["municipality", "year"], use_threads=False).aggregate([])
    cells = mun_years.join(ptab, keys="year", join_type="inner")
    clean = _clean_rows(hosp)
    if ctx.period != "year":  # a whole-year figure covers no quarter and no month
        clean = clean.filter(pc.greater(clean["slot"], 0))
    whole = pc.equal(clean["slot"], 0)
    first = _first_of_month(clean["year"], pc.if_else(whole, 1, clean["slot"]))
    cover = pa.table({"municipality": clean["municipality"], "period": label_periods(first, ctx.period),
                      "months": pc.if_else(whole, 12, 1), "admissions": clean["admissions"]})
    cover = cover.group_by(["municipality", "period"], use_threads=False).aggregate(
        [("months", "sum"), ("admissions", "sum")])
    cells = cells.join(cover, keys=["municipality", "period"], join_type="left outer")
    if pop_by is not None:
        cells = cells.join(pop_by, keys=["municipality", "year"], join_type="left outer")
    cells = cells.sort_by([("period", "ascending"), ("municipality", "ascending")])
    covered = pc.fill_null(pc.equal(cells["months_sum"], MONTHS_IN[ctx.period]), False)
    population = (pc.fill_null(cells["population_sum"], 0) if pop_by is not None
                  else pa.array(np.zeros(cells.num_rows, dtype=np.int64)))
    valid = municipalities.valid_on(cells["municipality"], cells["start"])
    return pa.table({
        "municipality": pc.cast(cells["municipality"], pa.string()),
        "period": pc.cast(cells["period"], pa.string()),
        "admissions": pc.cast(pc.if_else(covered, pc.fill_null(cells["admissions_sum"], 0), 0), pa.int64()),
        "covered": covered,
        "valid": pa.array(valid, pa.bool_()),
        "population": pc.cast(population, pa.int64()),
    })


def _reference_rows(ctx: StayContext, cells: pa.Table, numerator: pa.Array, denominator: pa.Array) -> pa.Table:
    """Contribution rows of reference cells: period, dimensions, numerator, denominator, ``row`` null.

    A dimension other than the municipality (possible only through ``explain``) is null.
    """
    n = cells.num_rows
    cols: dict[str, pa.Array | pa.ChunkedArray] = {"period": cells["period"]}
    for d in ctx.dims:
        cols[d] = cells["municipality"] if d == "municipality" else pa.nulls(n, pa.string())
    cols["numerator"] = pc.cast(numerator, pa.int64())
    cols["denominator"] = pc.cast(denominator, pa.int64())
    cols["row"] = pa.nulls(n, pa.int64())
    return pa.table(cols)


def _empty_masks(names: tuple[str, ...]) -> dict[str, pa.Array]:
    return {k: pa.array([], pa.bool_()) for k in names}


@indicator("KAD-H01", version="1.0.0")
def hospital_admissions_per_1000(ctx: StayContext) -> Contributions:
    """Acute somatic hospital admissions per 1,000 adult inhabitants by municipality (KAD-H01).

    One contribution per municipality-period of the hospital table's years (see
    :func:`_hospital_cells`): the admissions and the adult population where the
    number is valid, the period covered and the population known; 0 and 0 (a
    ``no_data`` row) where the period is not covered or there is no population; no
    row for a number that is not valid. No stay takes part.
    """
    cells = _hospital_cells(ctx, _adult_population(ctx))
    if cells is None:
        empty = pa.table({"municipality": pa.array([], pa.string()), "period": pa.array([], pa.string())})
        rows = _reference_rows(ctx, empty, pa.array([], pa.int64()), pa.array([], pa.int64()))
        return Contributions(rows=rows, excluded_reference=_empty_masks(H01_EXCLUSIONS))
    valid = _to_np(cells["valid"]).astype(bool)
    covered = _to_np(cells["covered"]).astype(bool)
    has_pop = _to_np(cells["population"]).astype(np.int64) > 0
    ok = valid & covered & has_pop
    kept = cells.filter(pa.array(valid))
    ok_kept = pa.array(ok[valid])
    rows = _reference_rows(ctx, kept, pc.if_else(ok_kept, kept["admissions"], 0),
                           pc.if_else(ok_kept, kept["population"], 0))
    excluded = {"no-municipality": ~valid, "no-hospital-data": valid & ~covered,
                "no-population": valid & covered & ~has_pop}
    return Contributions(rows=rows, excluded_reference={k: pa.array(v) for k, v in excluded.items()})


@indicator("KAD-H02", version="1.0.0")
def kad_share_of_acute_admissions(ctx: StayContext) -> Contributions:
    """KAD stays as a share of all acute admissions (KAD stays + hospital admissions) (KAD-H02).

    Counts adult somatic KAD stays with a valid municipality of residence, admitted in a
    municipality-period covered by the hospital figures, in the numerator and the
    denominator; the covered cells' hospital admissions are added to the denominator
    as reference rows.
    """
    adult, has_mun = _residence(ctx)
    somatic = np.asarray(_to_np(pc.fill_null(pc.equal(ctx.stays["care_track"], "somatic"), False)), dtype=bool)
    cells = _hospital_cells(ctx, None)
    in_cell = np.zeros(ctx.n, dtype=bool)
    usable = None
    if cells is not None:
        usable = cells.filter(pc.and_(cells["valid"], cells["covered"]))
        probe = pa.table({"municipality": ctx.stays["municipality"], "period": ctx.admission_period,
                          "i": pa.array(np.arange(ctx.n, dtype=np.int64))})
        hit = probe.join(usable.select(["municipality", "period"]), keys=["municipality", "period"],
                         join_type="inner")["i"]
        in_cell[_to_np(hit).astype(np.int64)] = True
    eligible = adult & has_mun & somatic
    counted = eligible & in_cell
    # an eligible stay outside the covered cells still gives its cell a (no_data) row
    stays = ctx.per_stay(denominator=counted, numerator=counted, keep=eligible,
                         excluded={"under-18": ~adult, "no-municipality": adult & ~has_mun,
                                   "not-somatic": adult & has_mun & ~somatic,
                                   "no-hospital-data": eligible & ~in_cell})
    rows = [stays.rows]
    if usable is not None:
        rows.append(_reference_rows(ctx, usable, pa.array(np.zeros(usable.num_rows, dtype=np.int64)),
                                    usable["admissions"]))
    table = pa.concat_tables([r.cast(rows[0].schema) for r in rows])
    return Contributions(rows=table, excluded=stays.excluded, numerator_mask=stays.numerator_mask,
                         denominator_mask=stays.denominator_mask)
