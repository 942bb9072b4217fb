"""Quality indicators: KAD-Q01, KAD-Q01A, KAD-Q02, KAD-Q04, KAD-Q05.

Each function says, per stay, whether it is in the denominator and the
numerator and why it is excluded; the engine groups, computes the statistics
and suppresses. The normative definitions are the specs in ``spec/indicators``.
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from ._context import MS_PER_DAY, MS_PER_HOUR, Contributions, StayContext, _to_np
from ._registry import indicator


def _is(ctx: StayContext, field: str, value: object) -> np.ndarray:
    return np.asarray(_to_np(pc.fill_null(pc.equal(ctx.stays[field], value), False)), dtype=bool)


@indicator("KAD-Q01", version="1.0.0")
def hospital_transfer(ctx: StayContext) -> Contributions:
    """Share of completed stays ending in transfer to hospital (see spec KAD-Q01)."""
    done = ctx.completed
    return ctx.per_stay(denominator=done, numerator=done & _is(ctx, "discharged_to", "hospital"),
                        excluded={"not-completed": ~done})


@indicator("KAD-Q01A", version="1.0.0")
def early_hospital_transfer(ctx: StayContext) -> Contributions:
    """Share of completed stays ending in transfer to hospital within 24 hours (KAD-Q01A)."""
    done = ctx.completed
    early = done & _is(ctx, "discharged_to", "hospital") & (ctx.los_ms <= 24 * MS_PER_HOUR)
    return ctx.per_stay(denominator=done, numerator=early, excluded={"not-completed": ~done})


@indicator("KAD-Q02", version="1.0.0")
def readmission_30d(ctx: StayContext) -> Contributions:
    """Readmission to any KAD within 30 days after discharge (KAD-Q02)."""
    window = 30 * MS_PER_DAY
    done = ctx.completed
    died = done & _is(ctx, "discharged_to", "died")
    hosp = done & _is(ctx, "discharged_to", "hospital")
    dis = _to_np(pc.fill_null(ctx.discharged_ms, 0))
    followed = done & (dis + window <= ctx.as_of_ms)
    index = done & ~died & ~hosp & followed
    # another stay of the same patient admitted in (discharge, discharge + 30 days]: the
    # patient's first admission after the discharge is within the window
    rows = np.flatnonzero(index)
    nxt = ctx.first_admission_after(rows, dis[rows])
    found = nxt >= 0
    readmitted = np.zeros(ctx.n, dtype=bool)
    readmitted[rows[found]] = ctx.admitted_ms[nxt[found]] <= dis[rows[found]] + window
    return ctx.per_stay(
        denominator=index, numerator=index & readmitted,
        excluded={"not-completed": ~done, "died": died, "transferred-to-hospital": hosp,
                  "insufficient-follow-up": done & ~died & ~hosp & ~followed},
    )


@indicator("KAD-Q04", version="1.0.0")
def death_30d(ctx: StayContext) -> Contributions:
    """Death within 30 days of admission, among stays with 30 days of follow-up (KAD-Q04)."""
    adm = _to_np(pc.cast(ctx.admitted_date, pa.int32())).astype(np.int64)
    limit = adm + 30
    as_of_day = (ctx.as_of_date - dt.date(1970, 1, 1)).days
    followed = limit <= as_of_day
    never = 2**30
    died_at = _to_np(pc.fill_null(pc.cast(ctx.stays["died_at"], pa.int32()), never)).astype(np.int64)
    dis_day = _to_np(pc.fill_null(pc.cast(ctx.discharged_date, pa.int32()), never)).astype(np.int64)
    # the patient's date of death, from any of the patient's stays (register date or died in KAD)
    own = np.minimum(died_at, np.where(_is(ctx, "discharged_to", "died") & ctx.completed, dis_day, never))
    code = np.where(ctx.patient_code >= 0, ctx.patient_code, ctx.n_patients)  # null ids: one patient
    first = np.full(ctx.n_patients + 1, never, dtype=np.int64)
    np.minimum.at(first, code, own)
    death_day = first[code]
    died = (death_day >= adm) & (death_day <= limit)
    return ctx.per_stay(denominator=followed, numerator=followed & died,
                        excluded={"insufficient-follow-up": ~followed})


@indicator("KAD-Q05", version="1.0.0")
def examined_before_admission(ctx: StayContext) -> Contributions:
    """Share admitted after examination by a doctor; unknown is its own count (KAD-Q05)."""
    col = ctx.stays["examined_before_admission"]
    known = np.asarray(_to_np(pc.is_valid(col)), dtype=bool)
    yes = np.asarray(_to_np(pc.fill_null(col, False)), dtype=bool)
    return ctx.per_stay(denominator=known, numerator=known & yes,
                        excluded={"examination-unknown": ~known})
