"""Plots for the feedback report, drawn with matplotlib and returned as inline SVG text.

Only the object-oriented API (:class:`matplotlib.figure.Figure`) is used: no pyplot,
no global state, no display needed. Text stays text in the SVG (searchable, small),
and the output is deterministic (fixed hash salt, no date).
"""

from __future__ import annotations

import io
import re
from collections.abc import Sequence
from typing import TYPE_CHECKING

import attrs
import numpy as np

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

# Colours (colour-blind safe: Okabe–Ito) for limits, points and bands.
_INK = "#222222"
_REGION = "#0072B2"
_OUT95 = "#E69F00"
_OUT998 = "#D55E00"
_HIGHLIGHT = "#CC79A7"
_MASKED = "#999999"
_BANDS = {"high": "#d9f0d3", "moderate": "#fff3c4", "low": "#f8d7d3"}


def _svg(fig: Figure) -> str:
    import matplotlib

    buf = io.StringIO()
    with matplotlib.rc_context({"svg.hashsalt": "kadindicators", "svg.fonttype": "none"}):
        fig.savefig(buf, format="svg", metadata={"Date": None})
    text = buf.getvalue()
    # drop the XML prolog and DOCTYPE: the SVG is embedded in HTML
    return re.sub(r"^.*?(<svg\b)", r"\1", text, count=1, flags=re.DOTALL)


def _figure(width: float = 7.2, height: float = 4.2) -> tuple[Figure, Axes]:
    from matplotlib.figure import Figure

    fig = Figure(figsize=(width, height), layout="constrained")
    ax = fig.subplots()
    ax.spines[["top", "right"]].set_visible(False)
    ax.tick_params(labelsize=8)
    return fig, ax


@attrs.frozen(kw_only=True)
class FunnelData:
    """Everything a funnel plot shows (values already on the display scale)."""

    title: str
    xlabel: str
    ylabel: str
    labels: tuple[str, ...]
    x: np.ndarray
    y: np.ndarray
    flags: tuple[str, ...]
    target: float
    grid: np.ndarray
    limits: dict[float, tuple[np.ndarray, np.ndarray]]
    bands: tuple[tuple[str, float, float], ...]
    masked: tuple[tuple[str, str, float | None], ...]
    highlight: str | None
    legend: dict[str, str]


def funnel_svg(d: FunnelData) -> str:
    """A funnel plot: limits around the regional value, target bands, outliers named, masked units marked."""
    fig, ax = _figure()
    ax.set_title(_wrap(d.title, 85), fontsize=10, loc="left")
    ymax_data = float(np.nanmax(np.concatenate([d.y, *[hi for _, hi in d.limits.values()]]))) \
        if d.y.size else d.target * 2
    ymin_data = float(np.nanmin(np.concatenate([d.y, *[lo for lo, _ in d.limits.values()]]))) \
        if d.y.size else 0.0
    top = max(ymax_data, d.target) * 1.08
    top = top if top > 0 else 1.0  # all values 0: still a visible axis
    bottom = min(0.0, ymin_data)
    for name, lo, hi in d.bands:
        lo_c, hi_c = max(lo, bottom), min(hi, top)
        if hi_c > lo_c:
            ax.axhspan(lo_c, hi_c, color=_BANDS[name], zorder=0, lw=0,
                       label=d.legend.get(f"band_{name}"))
    ax.axhline(d.target, color=_REGION, lw=1.2, label=d.legend.get("target"))
    styles = {0.95: ("--", d.legend.get("limit95")), 0.998: (":", d.legend.get("limit998"))}
    for level, (lim_lo, lim_hi) in sorted(d.limits.items()):
        ls, lab = styles.get(level, ("-.", f"{level:.1%}"))
        ax.plot(d.grid, lim_lo, color=_INK, lw=0.9, ls=ls, label=lab)
        ax.plot(d.grid, lim_hi, color=_INK, lw=0.9, ls=ls)
    colours = [(_OUT998 if f.endswith("998") else _OUT95 if f.endswith("95") else _REGION)
               for f in d.flags]
    ax.scatter(d.x, d.y, c=colours, s=28, zorder=3, edgecolors="white", linewidths=0.5)
    for lab, x, y, f in zip(d.labels, d.x, d.y, d.flags, strict=True):
        if f.startswith(("high", "low")) or lab == d.highlight:
            ax.annotate(lab, (x, y), xytext=(4, 4), textcoords="offset points", fontsize=7,
                        color=_HIGHLIGHT if lab == d.highlight else _INK)
        if lab == d.highlight:
            ax.scatter([x], [y], s=90, facecolors="none", edgecolors=_HIGHLIGHT, linewidths=1.5,
                       zorder=4)
    ax.set_ylim(bottom, top)
    # masked units: a grey mark on the x axis at their denominator when it is shown
    xs = [m[2] for m in d.masked if m[2] is not None]
    if xs:
        import matplotlib.transforms as mtransforms

        trans = mtransforms.blended_transform_factory(ax.transData, ax.transAxes)
        ax.scatter(xs, [0.02] * len(xs), marker="x", color=_MASKED, transform=trans, zorder=3,
                   label=d.legend.get("masked"), clip_on=False)
    xlabel = d.xlabel
    if d.masked:  # the masked units and why, under the axis (constrained layout makes room)
        text = d.legend.get("masked_list", "") + "; ".join(f"{lab} ({why})" for lab, why, _ in d.masked)
        xlabel += "\n" + _wrap(text, 120)
    ax.set_xlabel(xlabel, fontsize=8)
    ax.set_ylabel(d.ylabel, fontsize=8)
    ax.legend(fontsize=7, loc="upper right", frameon=False)
    return _svg(fig)


def _wrap(text: str, width: int) -> str:
    import textwrap

    return "\n".join(textwrap.wrap(text, width))


def trend_svg(*, title: str, ylabel: str, periods: Sequence[str],
              series: Sequence[tuple[str, np.ndarray, np.ndarray, np.ndarray]],
              bands: Sequence[tuple[str, float, float]] = (), legend: dict[str, str] | None = None) -> str:
    """Lines with confidence bands; gaps where a value is suppressed or missing."""
    fig, ax = _figure(7.2, 3.4)
    ax.set_title(_wrap(title, 85), fontsize=10, loc="left")
    x = np.arange(len(periods))
    colours = (_REGION, _HIGHLIGHT, _OUT95)
    finite = [v for _, y, lo, hi in series for v in (*y, *lo, *hi) if np.isfinite(v)]
    top = (max(finite) * 1.1) if finite else 1.0
    top = top if top > 0 else 1.0
    for name, lo, hi in bands:
        if min(hi, top) > max(lo, 0):
            ax.axhspan(max(lo, 0), min(hi, top), color=_BANDS[name], zorder=0, lw=0)
    for i, (label, y, y_lo, y_hi) in enumerate(series):
        c = colours[i % len(colours)]
        ax.fill_between(x, y_lo, y_hi, color=c, alpha=0.18, lw=0)
        ax.plot(x, y, color=c, marker="o", ms=3, lw=1.2, label=label)
    step = max(1, len(periods) // 12)
    ax.set_xticks(x[::step], [periods[i] for i in range(0, len(periods), step)], fontsize=7,
                  rotation=45 if len(periods) > 6 else 0)
    ax.set_ylim(0, top)
    ax.set_ylabel(ylabel, fontsize=8)
    ax.legend(fontsize=7, frameon=False)
    return _svg(fig)


def bars_svg(*, title: str, labels: Sequence[str], shares: Sequence[float | None], xlabel: str,
             masked_text: str) -> str:
    """Horizontal bars of shares (per cent); a suppressed category gets no bar, only its mark."""
    fig, ax = _figure(7.2, 0.6 + 0.28 * max(len(labels), 1))
    ax.set_title(_wrap(title, 85), fontsize=10, loc="left")
    y = np.arange(len(labels))[::-1]
    vals = np.array([np.nan if s is None else s for s in shares], dtype=float)
    ax.barh(y, np.nan_to_num(vals), color=_REGION, height=0.6)
    for yi, v in zip(y, vals, strict=True):
        ax.text(0 if np.isnan(v) else v, yi, f"  {masked_text}" if np.isnan(v) else f" {v:.1f} %",
                va="center", fontsize=7, color=_MASKED if np.isnan(v) else _INK)
    ax.set_yticks(y, list(labels), fontsize=7)
    ax.set_xlabel(xlabel, fontsize=8)
    finite = vals[np.isfinite(vals)]
    right = float(finite.max()) * 1.25 if finite.size else 0.0
    ax.set_xlim(0, right if right > 0 else 1.0)
    return _svg(fig)


def caterpillar_svg(*, title: str, xlabel: str, labels: Sequence[str], values: np.ndarray,
                    lower: np.ndarray, upper: np.ndarray, reference: float | None,
                    reference_label: str) -> str:
    """Values with confidence intervals, sorted, against a reference line."""
    fig, ax = _figure(7.2, 0.8 + 0.22 * max(len(labels), 1))
    ax.set_title(_wrap(title, 85), fontsize=10, loc="left")
    order = np.argsort(values)
    y = np.arange(len(labels))
    v, lo, hi = values[order], lower[order], upper[order]
    ax.errorbar(v, y, xerr=[np.maximum(v - lo, 0), np.maximum(hi - v, 0)], fmt="o", ms=3,
                color=_REGION, ecolor=_INK, elinewidth=0.8, capsize=2)
    if reference is not None:
        ax.axvline(reference, color=_OUT998, lw=1, ls="--", label=reference_label)
        ax.legend(fontsize=7, frameon=False, loc="lower right")
    ax.set_yticks(y, [labels[i] for i in order], fontsize=7)
    ax.set_xlabel(xlabel, fontsize=8)
    return _svg(fig)


def dots_svg(*, title: str, labels: Sequence[str],
             series: Sequence[tuple[str, np.ndarray, np.ndarray, np.ndarray]], xlabel: str,
             limits: tuple[float, float], masked_text: str) -> str:
    """Values with confidence intervals as dots, one row per label in the given order (not sorted).

    Several series (the unit and the region) sit side by side in each row. A row
    without a value in any series shows ``masked_text`` instead. The x axis covers
    ``limits`` and every interval.
    """
    n = max(len(labels), 1)
    fig, ax = _figure(7.2, 0.9 + 0.3 * n)
    ax.set_title(_wrap(title, 85), fontsize=10, loc="left")
    y = np.arange(len(labels))[::-1].astype(float)
    colours = (_REGION, _HIGHLIGHT, _OUT95)
    k = len(series)
    offsets = (np.arange(k) - (k - 1) / 2) * (0.5 / max(k, 1))
    lo_lim, hi_lim = limits
    for i, (name, v, lo, hi) in enumerate(series):
        ok = np.isfinite(v)
        if not ok.any():
            continue
        lo_ok = np.where(np.isfinite(lo), lo, v)
        hi_ok = np.where(np.isfinite(hi), hi, v)
        lo_lim = min(lo_lim, float(lo_ok[ok].min()))
        hi_lim = max(hi_lim, float(hi_ok[ok].max()))
        c = colours[i % len(colours)]
        ax.errorbar(v[ok], y[ok] + offsets[i], xerr=[np.maximum(v[ok] - lo_ok[ok], 0), np.maximum(hi_ok[ok] - v[ok], 0)],
                    fmt="o", ms=4, color=c, ecolor=c, elinewidth=1, capsize=2, label=name)
    none = ~np.any([np.isfinite(v) for _, v, _, _ in series], axis=0) if series else np.ones(len(labels), bool)
    pad = 0.03 * (hi_lim - lo_lim)
    ax.set_xlim(lo_lim - pad, hi_lim + pad)
    for yi in y[none]:
        ax.text(lo_lim, yi, f" {masked_text}", va="center", fontsize=7, color=_MASKED)
    ax.set_yticks(y, list(labels), fontsize=7)
    ax.set_ylim(-0.7, len(labels) - 0.3)
    ax.grid(axis="x", color="#e6e6e6", lw=0.6)
    ax.set_axisbelow(True)
    ax.set_xlabel(xlabel, fontsize=8)
    if k > 1:
        ax.legend(fontsize=7, frameon=False, loc="lower left")
    return _svg(fig)
