"""The feedback report, checked as a person would see it: the HTML text, its tables and figures."""

from __future__ import annotations

import datetime as dt
import os
import re
import shutil
import subprocess
from html.parser import HTMLParser
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pytest

import kadindicators as kad
from kadindicators.cli import main
from kadindicators.reports import feedback_report

GEN = dt.date(2026, 1, 2)


class Page(HTMLParser):
    """Collects text, figures (with whether they hold an SVG), count cells and external references."""

    def __init__(self) -> None:
        super().__init__()
        self.text: list[str] = []
        self.figures: dict[str, bool] = {}
        self.count_cells: list[str] = []
        self.external: list[str] = []
        self._fig: str | None = None
        self._cell: list[str] | None = None
        self.tags: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        self.tags.append(tag)
        if tag == "figure":
            self._fig = a.get("id") or ""
            self.figures[self._fig] = False
        if tag == "svg" and self._fig is not None:
            self.figures[self._fig] = True
        if tag == "td" and "count" in (a.get("class") or "").split():
            self._cell = []
        for k in ("src", "href", "xlink:href"):
            v = a.get(k)
            if v and not v.startswith("#"):
                self.external.append(v)

    def handle_endtag(self, tag: str) -> None:
        if tag == "figure":
            self._fig = None
        if tag == "td" and self._cell is not None:
            self.count_cells.append("".join(self._cell).strip())
            self._cell = None

    def handle_data(self, data: str) -> None:
        self.text.append(data)
        if self._cell is not None:
            self._cell.append(data)


def parse(html: str) -> Page:
    p = Page()
    p.feed(html)
    return p


@pytest.fixture(scope="module")
def region():  # type: ignore[no-untyped-def]
    return kad.synth.generate(years=(2024, 2025), seed=3, scale=0.3)


@pytest.fixture(scope="module")
def tiny_unit_stays(region):  # type: ignore[no-untyped-def]
    """The region with one unit cut down to 3 admissions in 2025 (a small count to protect)."""
    s = region.stays
    unit = "VV-ASKER-LV"
    in_2025 = pc.equal(pc.year(s["admitted_at"]), 2025)
    mine = pc.and_(pc.equal(s["unit_id"], unit), in_2025)
    keep_idx = pc.indices_nonzero(mine).to_pylist()[:3]
    drop = pc.and_(mine, pc.invert(pc.is_in(pa.array(range(s.num_rows)), pa.array(keep_idx))))
    return s.filter(pc.invert(drop)), unit


def check_count_cells(page: Page, threshold: int = 5) -> None:
    assert page.count_cells, "the report has count cells"
    for c in page.count_cells:
        c = c.replace("\u202f", "")
        assert re.fullmatch(rf"(\d+|<{threshold}|×|–)", c), c
        if c.isdigit():
            assert int(c) == 0 or int(c) >= threshold, f"small count {c} shown"


def check_clean(page: Page) -> None:
    text = " ".join(page.text)
    for bad in ("nan", "NaN", "None", "inf ", "null", "Traceback"):
        assert not re.search(rf"\b{bad}\b", text), bad
    assert page.external == [], "the report must not reference anything outside itself"
    assert "script" not in page.tags and "img" not in page.tags and "link" not in page.tags


def test_region_report_nb(region) -> None:  # type: ignore[no-untyped-def]
    rep = feedback_report(stays=region.stays, units=region.units, population=region.population,
                          generated=GEN)
    page = parse(rep.html)
    check_clean(page)
    check_count_cells(page)
    assert rep.year == 2025 and rep.scope == "region" and '<html lang="nb">' in rep.html
    # every indicator with funnel limits in its spec has a funnel plot, every figure an SVG
    expected = {f"funnel-{s.id}" for s in kad.catalogue(status="adopted")
                if s.statistics.funnel_limits != "none" and s.statistics.funnel_levels}
    assert expected <= set(page.figures)
    assert {"admitted_from", "discharged_to"} <= set(page.figures)
    assert any(f.startswith("trend-") for f in page.figures)
    assert any(f.startswith("variation-") for f in page.figures)
    assert all(page.figures.values()), "a figure without its plot"
    assert set(rep.figures) == set(page.figures)
    # traceable: versions, fingerprint and as_of on the page
    v = kad.validate(stays=region.stays, units=region.units, population=region.population)
    res = kad.compute(stays=v.valid, units=v.tables["units"], population=v.tables["population"],
                      indicators=["KAD-Q01"])
    fp = kad.result_metadata(res)["input_fingerprint"]
    assert fp in rep.html
    assert "KAD-Q01 1.0.0" in rep.html and f"kadindicators {kad.__version__}" in rep.html
    assert "Tilbakemeldingsrapport" in rep.html and "Traktplott" in rep.html
    # without the optional tables: one line each where their sections would be, no empty plot;
    # documentation quality (from the stays alone) is there
    assert not any(f.startswith(("experience", "hospital")) for f in rep.figures)
    for sid, text in (("experience", "Ingen erfaringsdata: tabellen experience er ikke gitt"),
                      ("hospital", "Ingen sykehustall: tabellen hospital_admissions er ikke gitt")):
        part = rep.html.split(f'<section id="{sid}">')[1].split("</section>")[0]
        assert text in part and "<table" not in part and "<svg" not in part
    assert 'class="documentation"' in rep.html.split('<section id="quality">')[1]


def test_report_is_deterministic(region) -> None:  # type: ignore[no-untyped-def]
    kw = {"stays": region.stays, "units": region.units, "population": region.population,
          "generated": GEN, "period": "year"}
    assert feedback_report(**kw).html == feedback_report(**kw).html


def test_unit_report_en_protects_a_small_unit(region, tiny_unit_stays) -> None:  # type: ignore[no-untyped-def]
    stays, unit = tiny_unit_stays
    rep = feedback_report(stays=stays, units=region.units, population=region.population, unit=unit,
                          lang="en", generated=GEN)
    page = parse(rep.html)
    check_clean(page)
    check_count_cells(page)
    assert '<html lang="en">' in rep.html and "Funnel plots" in rep.html and rep.scope == unit
    # the volume table: the unit's 3 admissions are "<5", and since the region total is shown,
    # at least one other unit is masked too (complementary suppression)
    volume = rep.html.split('id="volume"')[1].split("</table>")[0]
    rows = re.findall(r"<tr>(.*?)</tr>", volume)
    mine = [r for r in rows if "<mark>" in r]
    assert len(mine) == 1 and "&lt;5" in mine[0]
    assert any("×" in r for r in rows if "<mark>" not in r)
    # independent count: the region total in the table equals the admissions in 2025
    total = int(pc.sum(pc.equal(pc.year(stays["admitted_at"]), 2025)).as_py())
    last = re.findall(r'<td class="count">([^<]*)</td>', rows[-1])[0].replace("\u202f", "")
    assert int(last) == total


def test_no_small_numerator_in_any_funnel_table(region, tiny_unit_stays) -> None:  # type: ignore[no-untyped-def]
    stays, unit = tiny_unit_stays
    rep = feedback_report(stays=stays, units=region.units, population=region.population, generated=GEN,
                          period="year")
    res = kad.compute(stays=stays, units=region.units, population=region.population, as_of=None)
    row = res.filter(pc.and_(pc.equal(res["unit_id"], unit), pc.equal(res["period"], "2025"))).to_pylist()
    assert any(r["suppressed"] for r in row)  # the library itself masks the unit
    funnels = rep.html.split('id="funnels"')[1].split("</section>")[0]
    assert "fewer than 5" in funnels or "færre enn 5" in funnels


def test_bad_arguments(region) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(ValueError, match="no valid stays"):
        feedback_report(stays=region.stays, units=region.units, unit="NO-SUCH-UNIT")
    with pytest.raises(ValueError, match="no admissions in 1999"):
        feedback_report(stays=region.stays, units=region.units, year=1999)
    with pytest.raises(ValueError, match="lang"):
        feedback_report(stays=region.stays, lang="sv")


def test_cli_report(tmp_path: Path, region) -> None:  # type: ignore[no-untyped-def]
    paths = kad.synth.write(region, tmp_path / "data")
    out = tmp_path / "out" / "rapport.html"
    code = main(["report", "--stays", str(paths["stays.csv"]), "--units", str(paths["units.csv"]),
                 "--population", str(paths["population.csv"]), "--period", "year", "-o", str(out)])
    assert code == 0 and out.exists()
    page = parse(out.read_text(encoding="utf-8"))
    check_clean(page)
    assert main(["report", "--stays", str(tmp_path / "missing.csv"), "-o", str(out)]) == 3
    assert main(["report", "--stays", str(paths["stays.csv"]), "--unit", "NOPE", "-o", str(out)]) == 2


CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")


@pytest.mark.skipif(CHROMIUM is None and not os.environ.get("KAD_REQUIRE_CHROMIUM"),
                    reason="Chromium is not installed (CI installs it and sets KAD_REQUIRE_CHROMIUM)")
def test_report_renders_in_headless_chromium(tmp_path: Path, region) -> None:  # type: ignore[no-untyped-def]
    assert CHROMIUM, "KAD_REQUIRE_CHROMIUM is set but chromium is missing"
    rep = feedback_report(stays=region.stays, units=region.units, population=region.population,
                          generated=GEN)
    page = rep.write(tmp_path / "report.html")
    flags = [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
             "--disable-background-networking", "--disable-component-update", "--disable-sync",
             f"--user-data-dir={tmp_path / 'profile'}"]
    dom = subprocess.run([*flags, "--dump-dom", page.as_uri()], capture_output=True, text=True, timeout=120, check=False)
    assert dom.returncode == 0, dom.stderr[-2000:]
    for fid in rep.figures:
        assert f'id="{fid}"' in dom.stdout
    shot = tmp_path / "shot.png"
    r = subprocess.run([*flags, f"--screenshot={shot}", "--window-size=1200,3000", page.as_uri()],
                       capture_output=True, text=True, timeout=120, check=False)
    assert r.returncode == 0 and shot.exists(), r.stderr[-2000:]
    import matplotlib.image as mpimg

    img = mpimg.imread(str(shot))
    assert img.shape[0] >= 3000 and img.shape[1] >= 1200
    assert float(img[..., :3].std()) > 0.05, "the screenshot is blank"


@pytest.mark.parametrize("n", [1, 7, 40])
def test_tiny_data_still_renders_without_leaks(region, n: int) -> None:  # type: ignore[no-untyped-def]
    """A handful of stays: nearly everything is masked, nothing breaks, nothing small shows."""
    stays = region.stays.sort_by("admitted_at").slice(0, n)
    rep = feedback_report(stays=stays, units=region.units, population=region.population, generated=GEN)
    page = parse(rep.html)
    check_clean(page)
    check_count_cells(page)
    assert rep.figures and all(page.figures.values())
