"""Utilisation indicators: KAD-U01, KAD-U01S, KAD-U03, KAD-U04, KAD-U04M, KAD-U05.

The normative definitions are the specs in ``spec/indicators``.
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from .. import municipalities
from ..spec.loader import load_schema
from ._context import (
    MS_PER_DAY,
    MS_PER_HOUR,
    Contributions,
    StayContext,
    _to_np,
    local_midnight_ms,
    next_period,
    period_label,
)
from ._registry import indicator
from ._standard import SEXES, STRATUM_SEP


def _adult_population(ctx: StayContext, sexes: tuple[str, ...] | None = None) -> pa.Table | None:
    """Population rows of the adult age bands with inhabitants (optionally only ``sexes``)."""
    pop = ctx.population
    if pop is None or pop.num_rows == 0:
        return None
    adult_bands = [b.code for b in load_schema().age_bands if b.min >= 18]
    pop = pop.filter(pc.is_in(pop["age_band"], value_set=pa.array(adult_bands)))
    if sexes is not None:
        pop = pop.filter(pc.is_in(pop["sex"], value_set=pa.array(sexes)))
    pop = pop.filter(pc.greater(pop["population"], 0))
    return pop if pop.num_rows else None


def _has_population(ctx: StayContext, pop: pa.Table | None, cell: list[str]) -> np.ndarray:
    """Whether each stay's own population cell (municipality, year and ``cell[2:]``) has inhabitants."""
    has_pop = np.zeros(ctx.n, dtype=bool)
    if pop is None:
        return has_pop
    have = pop.select(cell).group_by(cell).aggregate([])
    probe_cols: dict[str, pa.Array] = {"municipality": ctx.stays["municipality"],
                                       "year": pc.cast(pc.year(ctx.admitted_date), pa.int64())}
    for d in cell[2:]:
        probe_cols[d] = ctx.stay_column(d)
    probe = pa.table({**probe_cols, "i": pa.array(np.arange(ctx.n))})
    hit = probe.join(have, keys=cell, join_type="inner")["i"]
    has_pop[_to_np(hit).astype(np.int64)] = True
    return has_pop


def _population_rows(ctx: StayContext, pop: pa.Table, *, standard_stratum: bool = False) -> pa.Table:
    """Denominator rows: the population of every period of every population year before ``as_of``.

    Every period of every population year that starts before as_of is covered, whether or
    not a stay falls in it (a municipality without stays has a rate of 0, not no row), and
    independent of which stays a partition holds.
    """
    labels: list[str] = []
    years_l: list[int] = []
    for year in sorted(set(pop["year"].to_pylist())):
        start = dt.date(year, 1, 1)
        while start.year == year and start < ctx.as_of_date:
            labels.append(period_label(start, ctx.period))
            years_l.append(year)
            start = next_period(start, ctx.period)
    ptab = pa.table({"year": pa.array(years_l, pa.int64()), "period": pa.array(labels, pa.string())})
    joined = pop.join(ptab, keys="year", join_type="inner")
    cols: dict[str, pa.Array] = {"period": joined["period"]}
    for d in ctx.dims:
        cols[d] = joined[d]
    cols["numerator"] = pa.array(np.zeros(joined.num_rows))
    cols["denominator"] = pc.cast(joined["population"], pa.float64())
    cols["row"] = pa.nulls(joined.num_rows, pa.int64())  # not from a stay
    if standard_stratum:
        cols["standard_stratum"] = pc.binary_join_element_wise(joined["sex"], joined["age_band"], STRATUM_SEP)
    return pa.table(cols)


def _residence(ctx: StayContext) -> tuple[np.ndarray, np.ndarray]:
    """(adult at admission, municipality of residence valid on the admission date) per stay."""
    age = _to_np(pc.fill_null(ctx.stays["age"], -1))
    mun = ctx.stays["municipality"]
    has_mun = np.asarray(_to_np(pc.is_valid(mun)), dtype=bool) & municipalities.valid_on(mun, ctx.admitted_date)
    return np.asarray(age >= 18), has_mun


@indicator("KAD-U01", version="1.0.0")
def stays_per_1000(ctx: StayContext) -> Contributions:
    """Stays per 1,000 adult inhabitants by municipality of residence (KAD-U01)."""
    adult, has_mun = _residence(ctx)
    pop = _adult_population(ctx)
    # the stay's own population cell must exist: municipality, year and any strata
    # the population has (sex, age band), so no numerator lands on an empty denominator
    has_pop = _has_population(ctx, pop, ["municipality", "year",
                                         *[d for d in ctx.strata if d in ("sex", "age_band")]])
    counted = adult & has_mun & has_pop
    # a resident without population figures still gets a (no_data) row for the period
    stays = ctx.per_stay(denominator=np.zeros(ctx.n), numerator=counted, keep=adult & has_mun,
                         excluded={"under-18": ~adult, "no-municipality": adult & ~has_mun,
                                   "no-population": adult & has_mun & ~has_pop})
    rows = [stays.rows]
    if pop is not None:
        rows.append(_population_rows(ctx, pop))
    table = pa.concat_tables([r.cast(rows[0].schema) for r in rows])
    return Contributions(rows=table, excluded=stays.excluded, numerator_mask=pa.array(counted),
                         denominator_mask=None)


@indicator("KAD-U01S", version="1.0.0")
def stays_per_1000_standardised(ctx: StayContext) -> Contributions:
    """Stays per 1,000 adult inhabitants, directly age- and sex-standardised (KAD-U01S).

    Contributes counts and populations per standardisation stratum (sex × adult age
    band, column ``standard_stratum``); the engine weights them with the standard
    population (:func:`kadindicators.stats.dsr`).
    """
    adult, has_mun = _residence(ctx)
    sex = ctx.stays["sex"]
    known_sex = np.asarray(_to_np(pc.fill_null(pc.is_in(sex, value_set=pa.array(SEXES)), False)), dtype=bool)
    pop = _adult_population(ctx, SEXES)
    has_pop = _has_population(ctx, pop, ["municipality", "year", "sex", "age_band"])
    counted = adult & has_mun & known_sex & has_pop
    stays = ctx.per_stay(denominator=np.zeros(ctx.n), numerator=counted, keep=adult & has_mun,
                         excluded={"under-18": ~adult, "no-municipality": adult & ~has_mun,
                                   "sex-unknown": adult & has_mun & ~known_sex,
                                   "no-population": adult & has_mun & known_sex & ~has_pop})
    stratum = pc.binary_join_element_wise(pc.cast(sex, pa.string()), ctx.age_band, STRATUM_SEP)
    stratum = pc.if_else(pa.array(counted), stratum, pa.scalar(None, pa.string()))
    rows = [stays.rows.append_column("standard_stratum", pc.take(stratum, stays.rows["row"]))]
    if pop is not None:
        rows.append(_population_rows(ctx, pop, standard_stratum=True))
    table = pa.concat_tables([r.cast(rows[0].schema) for r in rows])
    return Contributions(rows=table, excluded=stays.excluded, numerator_mask=pa.array(counted),
                         denominator_mask=None)


def _split(ctx: StayContext, start: np.ndarray, end: np.ndarray,
           ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Split intervals [start, end) (UTC ms) at period boundaries, capped at ``as_of``.

    Returns (interval index, period index, overlap in ms) for every non-empty piece.
    """
    starts = ctx.period_starts
    bounds = np.array(local_midnight_ms([*starts, next_period(starts[-1], ctx.period)]), dtype=np.int64)
    bounds[-1] = min(bounds[-1], ctx.as_of_ms)
    end = np.minimum(end, ctx.as_of_ms)
    first = np.clip(np.searchsorted(bounds, start, side="right") - 1, 0, len(starts) - 1)
    last = np.clip(np.searchsorted(bounds, end, side="left") - 1, 0, len(starts) - 1)
    count = np.where(end > start, last - first + 1, 0)
    idx = np.repeat(np.arange(len(start)), count)
    offset = np.arange(len(idx)) - np.repeat(np.cumsum(count) - count, count)
    per = np.repeat(first, count) + offset
    lo = np.maximum(start[idx], bounds[per])
    hi = np.minimum(end[idx], bounds[per + 1])
    overlap = hi - lo
    keep = overlap > 0
    return idx[keep], per[keep], overlap[keep]


@indicator("KAD-U03", version="1.0.0")
def occupancy(ctx: StayContext) -> Contributions:
    """Occupied bed-days / available bed-days by unit and period (KAD-U03)."""
    labels = pa.array([period_label(d, ctx.period) for d in ctx.period_starts])
    units = ctx.units
    known = np.zeros(ctx.n, dtype=bool)
    if units is not None and units.num_rows:
        known = np.asarray(_to_np(pc.fill_null(
            pc.is_in(ctx.stays["unit_id"], value_set=units["unit_id"].combine_chunks()), False)), bool)
    end = _to_np(pc.fill_null(ctx.discharged_ms, ctx.as_of_ms))
    i, p, ms = _split(ctx, ctx.admitted_ms, end)
    keep = known[i]
    i, p, ms = i[keep], p[keep], ms[keep]
    take = pa.array(i)
    cols: dict[str, pa.Array] = {"period": pc.take(labels, pa.array(p))}
    for d in ctx.dims:
        cols[d] = pc.take(ctx.stay_column(d), take)
    cols["numerator"] = pa.array(ms.astype(np.int64))  # ms, summed exactly; scaled to days
    cols["denominator"] = pa.array(np.zeros(len(i), dtype=np.int64))
    cols["row"] = take
    parts = [pa.table(cols)]
    if units is not None and units.num_rows:
        vf = np.array(local_midnight_ms(units["valid_from"].to_pylist()), dtype=np.int64)
        vt_dates = [d if d is not None else dt.date(9999, 1, 1) for d in units["valid_to"].to_pylist()]
        vt = np.array([ctx.as_of_ms + 1 if d.year == 9999 else 0 for d in vt_dates], dtype=np.int64)
        vt = np.array(vt, dtype=np.int64)
        real = [k for k, d in enumerate(vt_dates) if d.year != 9999]
        if real:
            vt[real] = local_midnight_ms([vt_dates[k] for k in real])
        ui, up, ums = _split(ctx, vf, vt)
        beds = _to_np(units["beds"]).astype(np.int64)
        ucols: dict[str, pa.Array] = {"period": pc.take(labels, pa.array(up))}
        for d in ctx.dims:
            ucols[d] = pc.take(units[d].combine_chunks(), pa.array(ui))
        ucols["numerator"] = pa.array(np.zeros(len(ui), dtype=np.int64))
        ucols["denominator"] = pa.array((beds[ui].astype(np.int64) * ums).astype(np.int64))  # bed-ms
        ucols["row"] = pa.nulls(len(ui), pa.int64())
        parts.append(pa.table(ucols).cast(parts[0].schema))
    return Contributions(rows=pa.concat_tables(parts), excluded={"unknown-unit": pa.array(~known)},
                         numerator_mask=pa.array(known), denominator_mask=None,
                         numerator_scale=1 / MS_PER_DAY, denominator_scale=1 / MS_PER_DAY)


def _los_days(ctx: StayContext) -> np.ndarray:
    return np.asarray(ctx.los_ms / MS_PER_DAY)


@indicator("KAD-U04", version="1.0.0")
def mean_length_of_stay(ctx: StayContext) -> Contributions:
    """Mean length of stay in days over completed stays (KAD-U04).

    Sums are exact integers (milliseconds, and whole seconds squared for the
    variance), scaled to days per cell, so the result ignores row order.
    """
    done = ctx.completed
    ms = np.where(done, ctx.los_ms, 0).astype(np.int64)
    secs = ms // 1000
    return ctx.per_stay(denominator=done, numerator=ms, sumsq=secs * secs,
                        excluded={"not-completed": ~done},
                        numerator_scale=1 / MS_PER_DAY, sumsq_scale=1 / 86400.0**2)


@indicator("KAD-U04M", version="1.1.0")
def median_length_of_stay(ctx: StayContext) -> Contributions:
    """Median length of stay in days over completed stays (KAD-U04M)."""
    done = ctx.completed
    days = np.where(done, _los_days(ctx), 0.0)
    return ctx.per_stay(denominator=done, numerator=days, value=days,
                        excluded={"not-completed": ~done})


@indicator("KAD-U05", version="1.0.0")
def stays_over_72h(ctx: StayContext) -> Contributions:
    """Share of completed stays longer than 72 hours (KAD-U05)."""
    done = ctx.completed
    return ctx.per_stay(denominator=done, numerator=done & (ctx.los_ms > 72 * MS_PER_HOUR),
                        excluded={"not-completed": ~done})
