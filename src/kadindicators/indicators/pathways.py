"""Pathway indicators: KAD-P01 (discharged home), KAD-P02 (admitted from primary care).

Each function says, per stay, whether it is in the denominator and the numerator and
why it is excluded; the engine groups, computes the statistics and suppresses. The
normative definitions are the specs in ``spec/indicators``.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from ._context import Contributions, StayContext, _to_np
from ._registry import indicator


def _in(ctx: StayContext, field: str, values: tuple[str, ...]) -> np.ndarray:
    hit = pc.is_in(ctx.stays[field], value_set=pa.array(values, pa.string()))
    return np.asarray(_to_np(pc.fill_null(hit, False)), dtype=bool)


@indicator("KAD-P01", version="1.0.0")
def discharged_home(ctx: StayContext) -> Contributions:
    """Share of completed stays, not ending in death, discharged home (KAD-P01)."""
    done = ctx.completed
    died = done & _in(ctx, "discharged_to", ("died",))
    alive = done & _in(ctx, "discharged_to", ("home", "home_with_services", "nursing_home", "hospital", "other"))
    home = alive & _in(ctx, "discharged_to", ("home", "home_with_services"))
    return ctx.per_stay(denominator=alive, numerator=home, excluded={"not-completed": ~done, "died": died})


@indicator("KAD-P02", version="1.0.0")
def admitted_from_primary_care(ctx: StayContext) -> Contributions:
    """Share of stays with a known source admitted from the out-of-hours service or a GP (KAD-P02)."""
    known = np.asarray(_to_np(pc.is_valid(ctx.stays["admitted_from"])), dtype=bool)
    primary = known & _in(ctx, "admitted_from", ("out_of_hours", "gp"))
    return ctx.per_stay(denominator=known, numerator=primary, excluded={"source-unknown": ~known})
