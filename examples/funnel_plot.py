"""A funnel plot for one indicator, with masked units
=================================================

Computes one indicator (KAD-U05, the share of stays over 72 hours) by unit for
the synthetic region, protects the unit rows together with the region row
(small-cell and complementary suppression, so that no hidden count can be
worked out by subtracting the shown units from the region), draws exact
95 % / 99.8 % funnel limits around the regional value (Spiegelhalter 2005), flags
the units outside them, and saves the plot as SVG (or PNG).

Run it with an output file, or without one to write into a temporary folder::

    python examples/funnel_plot.py funnel.svg
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from matplotlib.figure import Figure

import kadindicators as kad
from kadindicators import stats
from kadindicators.disclosure import margin, protect_results, recoverable

INDICATOR = "KAD-U05"
THRESHOLD = 5

# --- the output file: an .svg or .png path given as the first argument, else a temporary folder
if len(sys.argv) > 1 and sys.argv[1].lower().endswith((".svg", ".png")):
    out = Path(sys.argv[1])
else:
    out = Path(tempfile.mkdtemp()) / f"funnel-{INDICATOR}.svg"

# --- compute by unit and for the region, and protect them together
region = kad.synth.generate(years=(2024,), seed=1)
spec = kad.get_indicator(INDICATOR)
kw = {"stays": region.stays, "units": region.units, "population": region.population,
      "indicators": [INDICATOR], "suppression": THRESHOLD}
by_unit = kad.compute(**kw, by=("unit_id",))
whole = kad.compute(**kw, by=())
# one table: a unit row has unit_id set; the region row has it null ("all units")
published = protect_results(pa.concat_tables([by_unit, whole], promote_options="default"),
                            threshold=THRESHOLD)

is_region = pc.is_null(published["unit_id"])
region_row = published.filter(is_region).to_pylist()[0]
units = published.filter(pc.invert(is_region))
assert not region_row["suppressed"], "the regional value is needed as the funnel's target"
target = region_row["numerator"] / region_row["denominator"]

shown = units.filter(pc.invert(units["suppressed"]))
masked = units.filter(units["suppressed"])
num = shown["numerator"].to_numpy()
den = shown["denominator"].to_numpy()
names = shown["unit_id"].to_pylist()

# --- exact limits and flags (the levels are part of the indicator's statistical policy)
levels = tuple(spec.statistics.funnel_levels) or (0.95, 0.998)
flags = stats.outlier_flags(num, den, target, levels)
phi = stats.overdispersion_factor(num, den, target)
grid = np.unique(np.round(np.geomspace(max(1.0, den.min() * 0.6), den.max() * 1.2, 200)))
limits = stats.proportion_limits(target, grid, levels)

print(f"{spec.id} v{spec.version} {spec.title.get('en')}, 2024")
print(f"region: {region_row['numerator']:.0f} / {region_row['denominator']:.0f} = {100 * target:.1f} %")
print("\nunits outside the limits (exact binomial, around the regional value):")
for name, flag, n, d in zip(names, flags.tolist(), num, den, strict=True):
    if flag != "within":
        print(f"  {name:<20} {100 * n / d:5.1f} % of {d:4.0f} stays  {flag}")
if len(names) < 10:
    print(f"over-dispersion: not estimated from {len(names)} shown units (needs 10), so phi = {phi:.2f}")
else:
    print(f"over-dispersion factor phi = {phi:.2f}; phi > 1 widens the limits (overdispersion=phi)")

reason_text = {"low_n": f"fewer than {THRESHOLD} in the numerator",
               "secondary": "masked so that a small count cannot be worked out from the region total"}
print("\nmasked units (no numerator, no value):")
for row in masked.to_pylist():
    stays = "stays not shown" if row["denominator"] is None else f"{row['denominator']:.0f} stays"
    print(f"  {row['unit_id']:<20} {row['reason']:<10} {stays}; {reason_text[row['reason']]}")

# --- the plot: object-oriented matplotlib, no pyplot and no display needed
fig = Figure(figsize=(7.5, 4.5), layout="constrained")
ax = fig.subplots()
for level, style in zip(sorted(levels), ("--", ":"), strict=False):
    lower, upper = limits[level]
    label = f"{100 * level:g} % limits"
    ax.plot(grid, 100 * lower, style, color="#555555", linewidth=1, label=label)
    ax.plot(grid, 100 * upper, style, color="#555555", linewidth=1)
ax.axhline(100 * target, color="#0072B2", linewidth=1, label=f"region {100 * target:.1f} %")
colour = {"within": "#222222"}
point_colours = [colour.get(f, "#D55E00" if f.endswith("998") else "#E69F00") for f in flags.tolist()]
ax.scatter(den, 100 * num / den, c=point_colours, s=22, zorder=3)
for name, flag, x, y in zip(names, flags.tolist(), den, 100 * num / den, strict=True):
    if flag != "within":
        ax.annotate(name, (x, y), xytext=(4, 4), textcoords="offset points", fontsize=7)
# masked units: a cross on the x axis at their number of stays (when that is shown), no value
masked_x = [d for d in masked["denominator"].to_pylist() if d is not None]
if masked_x:
    ax.plot(masked_x, [0] * len(masked_x), "x", color="#999999", clip_on=False, label="masked")
ax.set_xscale("log")
ax.set_ylim(bottom=0)
ax.set_xlabel("stays (denominator)")
ax.set_ylabel("stays over 72 hours (%)")
ax.set_title(f"{spec.id} v{spec.version}: {spec.title.get('en')} (2024)", fontsize=10)
ax.legend(fontsize=7, frameon=False)
if masked.num_rows:
    fig.text(0.01, 0.005, "Masked: " + ", ".join(f"{u} ({r})" for u, r in zip(
        masked["unit_id"].to_pylist(), masked["reason"].to_pylist(), strict=True)), fontsize=6)
out.parent.mkdir(parents=True, exist_ok=True)
fig.savefig(out, metadata={"Date": None} if out.suffix.lower() == ".svg" else None)
print(f"\nwrote {out}")

# --- checks
assert out.stat().st_size > 1000
assert masked.num_rows >= 1 and set(masked["reason"].to_pylist()) <= {"low_n", "secondary"}
# a masked unit carries no numerator, value or interval anywhere in the published table
for col in ("numerator", "value", "ci_lower", "ci_upper"):
    assert masked[col].null_count == masked.num_rows, col
# and none can be worked out from what is published (region total = sum of units), even by an
# attacker who knows what "<5" and "secondary" tell; the true counts are used only for this check
truth = kad.compute(**{**kw, "suppression": 1}, by=("unit_id",))
true_num = dict(zip(truth["unit_id"].to_pylist(), truth["numerator"].to_pylist(), strict=True))
order = units["unit_id"].to_pylist()
counts = [region_row["numerator"], *(true_num[u] for u in order)]
suppressed = [False, *units["suppressed"].to_pylist()]
low_n = [False, *(r == "low_n" for r in units["reason"].to_pylist())]
leaked = recoverable(counts, [margin(0, list(range(1, len(counts))))], suppressed,
                     threshold=THRESHOLD, primary=low_n)
assert not leaked.any(), [order[i - 1] for i in np.flatnonzero(leaked)]
# the flags are those of the exact limits at the shown units' own denominators
lo998, hi998 = stats.proportion_limits(target, den, [0.998])[0.998]
assert np.array_equal(np.char.endswith(flags, "998"), (num / den < lo998) | (num / den > hi998))
print(f"checked: {masked.num_rows} masked unit(s) show no numerator and none can be worked out")
