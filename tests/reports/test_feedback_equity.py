"""The feedback report's equity parts: variation between municipalities and funnel positions.

The variation section shows range, ratio, coefficient of variation and SCV from
:func:`kadindicators.equity.variation`; the funnel positions come from
:func:`kadindicators.equity.funnel_flags` (one implementation), checked here against
:func:`kadindicators.stats.outlier_flags`.
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

import numpy as np
import pyarrow.compute as pc
import pytest

import kadindicators as kad
from kadindicators import equity, stats
from kadindicators.reports import feedback

from .test_feedback import check_clean, check_count_cells, parse

GEN = dt.date(2026, 1, 2)


def _prepared(scale: float) -> Any:
    r = kad.synth.generate(years=(2025,), seed=3, scale=scale)
    p = feedback._prepare(stays=r.stays, units=r.units, population=r.population, period="year", as_of=None,
                          suppression=5, lang="en")
    return r, p


@pytest.fixture(scope="module")
def published() -> Any:
    """A region where no municipality is suppressed in 2025: the SCV is shown."""
    r, p = _prepared(0.6)
    return r, p, feedback._render(p, unit=None, year=None, lang="en", overdispersion=True, generated=GEN)


@pytest.fixture(scope="module")
def withheld() -> Any:
    """A smaller region where small municipalities are masked: the SCV would give them away."""
    r, p = _prepared(0.3)
    return r, p, feedback._render(p, unit=None, year=None, lang="nb", overdispersion=True, generated=GEN)


def _variation_cells(html: str) -> list[str]:
    table = html.split('class="variation-stats"')[1].split("</table>")[0]
    row = table.split("<tbody>")[1]
    return [re.sub(r"<[^>]+>", "", c) for c in re.findall(r"<td[^>]*>(.*?)</td>", row)]


def test_variation_section_shows_scv_range_and_ratio(published: Any) -> None:
    """The numbers are variation()'s for the year, over the municipalities the report shows."""
    r, _, rep = published
    page = parse(rep.html)
    check_clean(page)
    check_count_cells(page)
    v = equity.variation(stays=r.stays, population=r.population, units=r.units).to_pylist()[0]
    assert v["scv_status"] == "ok" and v["shown"] == v["municipalities"]
    cells = _variation_cells(rep.html)
    assert cells == [str(v["municipalities"]), str(v["shown"]), f"{v['lowest']:.1f}", f"{v['highest']:.1f}",
                     f"{v['range']:.1f}", f"{v['ratio']:.1f}", f"{v['cv']:.2f}", f"{v['scv_x100']:.1f}"]
    assert "SCV × 100" in rep.html and "McPherson" in rep.html


def test_withheld_scv_is_explained_and_not_shown(withheld: Any) -> None:
    """When the SCV could reveal a small count the report says so and shows no value."""
    _, p, rep = withheld
    page = parse(rep.html)
    check_clean(page)
    check_count_cells(page)
    v = p.variation.filter(pc.equal(p.variation["period"], "2025")).to_pylist()[0]
    assert v["scv_status"] == "withheld" and v["scv_reason"] == "disclosive"
    cells = _variation_cells(rep.html)
    assert cells[-1] == "holdt tilbake*"
    assert "kunne avslørt et lite tall" in rep.html
    # the range statistics use only what the report shows: its caterpillar leaves the masked out
    res = p.res
    mine = pc.and_(pc.equal(res["indicator_id"], "KAD-U01S"), pc.equal(res["period"], "2025"))
    mun = res.filter(pc.and_(mine, pc.and_(pc.is_valid(res["municipality"]), pc.is_null(res["unit_id"]))))
    shown = [x["value"] for x in mun.to_pylist() if x["status"] == "ok" and not x["suppressed"]]
    assert int(cells[1]) == len(shown) < int(cells[0])
    assert cells[2] == f"{min(shown):.1f}".replace(".", ",")
    assert cells[3] == f"{max(shown):.1f}".replace(".", ",")


def _positions(html: str, indicator: str) -> dict[str, str]:
    """Unit/municipality -> position text of one funnel's table."""
    part = html.split(f'id="funnel-{indicator}"')[1].split("</table>")[0]
    out = {}
    for row in re.findall(r"<tr>(.*?)</tr>", part.split("<tbody>")[1]):
        cells = [re.sub(r"<[^>]+>", "", c) for c in re.findall(r"<td[^>]*>(.*?)</td>", row)]
        out[cells[0]] = cells[-1]
    return out


_TEXT = {"within": "within", "high_95": "above 95% limit", "high_998": "above 99.8% limit",
         "low_95": "below 95% limit", "low_998": "below 99.8% limit"}


@pytest.mark.parametrize("indicator", ["KAD-Q01", "KAD-Q02", "KAD-U01"])
def test_funnel_positions_agree_with_stats_outlier_flags(published: Any, indicator: str) -> None:
    """Every shown unit's position is stats.outlier_flags' code around the regional value."""
    _, p, rep = published
    spec = kad.get_indicator(indicator)
    dim = "unit_id" if "unit_id" in spec.groupings else "municipality"
    res = p.res
    base = pc.and_(pc.equal(res["indicator_id"], indicator), pc.equal(res["period"], "2025"))
    others = [d for d in ("unit_id", "municipality", "subperiod") if d != dim]
    level = res.filter(pc.and_(pc.and_(base, pc.is_valid(res[dim])),
                               pc.and_(pc.is_null(res[others[0]]), pc.is_null(res[others[1]]))))
    everything = pc.and_(pc.is_null(res["municipality"]), pc.is_null(res["subperiod"]))
    region = res.filter(pc.and_(pc.and_(base, pc.is_null(res["unit_id"])), everything)).to_pylist()[0]
    rows = [x for x in level.to_pylist() if x["status"] == "ok" and not x["suppressed"]]
    x = np.array([r["numerator"] for r in rows])
    n = np.array([r["denominator"] for r in rows])
    target = region["numerator"] / region["denominator"]
    family = "poisson" if spec.unit == "rate_per_1000" else "binomial"
    phi = stats.overdispersion_factor(x, n, target, family=family)
    codes = stats.outlier_flags(x, n, target, overdispersion=phi if phi > 1 else None, family=family)
    names = feedback._names(p.tables["units"], "en")
    shown = _positions(rep.html, indicator)
    for r, code in zip(rows, codes, strict=True):
        label = feedback._label(names, dim, r[dim])
        assert shown[label] == _TEXT[str(code)], (label, code)
    assert len(rows) >= 5
