"""The feedback report's proposed indicators: experience (KAD-E01 … E05), hospital use (KAD-H01, H02)
and documentation quality (KAD-D01, D02), checked as a reader sees them and against an attacker.

The attacker here is written independently of the report's protection: it builds the
equations a reader knows from the definitions (a region is the sum of its units, a
unit the sum of its respondent types, an item's answers are at most the questionnaires
with a score, those at most the answered ones, a numerator at most its denominator) and
asks :func:`kadindicators.disclosure.recoverable` whether any hidden count follows.
"""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pytest

import kadindicators as kad
from kadindicators.cli import main
from kadindicators.disclosure import margin, protect_results, recoverable
from kadindicators.reports import feedback

from .test_feedback import check_clean, check_count_cells, parse

GEN = dt.date(2026, 1, 2)
UNIT = "VV-ASKER-LV"
CONTRACT = {"indicator_id", "indicator_version", "period", "period_start", "period_end", "numerator",
            "denominator", "value", "ci_lower", "ci_upper", "suppressed", "status", "reason",
            "numerator_mark", "denominator_mark"}
# what a reader knows from the definitions: (small indicator, column, large indicator, column, key)
ANSWERED = [(i, "denominator", "KAD-E01", "numerator") for i in ("KAD-E02", "KAD-E03", "KAD-E04", "KAD-E05")]
# (small: table, indicator, column, dims set/null), (large: the same), key dimensions: small <= large
Bound = tuple[tuple[int, str, str, dict[str, bool]], tuple[int, str, str, dict[str, bool]], tuple[str, ...]]


@pytest.fixture(scope="module")
def region() -> Any:
    return kad.synth.generate(years=(2024, 2025), seed=3, scale=0.1)


@pytest.fixture(scope="module")
def prepared(region: Any) -> Any:
    return feedback._prepare(stays=region.stays, units=region.units, population=region.population,
                             experience=region.experience, hospital_admissions=region.hospital_admissions,
                             period="year", as_of=None, suppression=5, lang="nb")


@pytest.fixture(scope="module")
def region_report(prepared: Any) -> Any:
    return feedback._render(prepared, unit=None, year=None, lang="nb", overdispersion=True, generated=GEN)


@pytest.fixture(scope="module")
def unit_report(prepared: Any) -> Any:
    return feedback._render(prepared, unit=UNIT, year=None, lang="en", overdispersion=True, generated=GEN)


def section(html: str, sid: str) -> str:
    return html.split(f'<section id="{sid}">')[1].split("</section>")[0]


def cells(html: str) -> list[list[str]]:
    """The rows of the first table in ``html`` as cell texts (tags removed)."""
    body = html.split("<tbody>")[1].split("</tbody>")[0]
    return [[re.sub(r"<[^>]+>", " ", c).strip() for c in re.findall(r"<td[^>]*>(.*?)</td>", row)]
            for row in re.findall(r"<tr>(.*?)</tr>", body)]


def number(text: str) -> int:
    return int(text.replace("\u202f", "").replace(" ", ""))


# ----------------------------------------------------------------------------- what the reader sees


def test_region_report_shows_the_proposed_sections(region: Any, prepared: Any, region_report: Any) -> None:
    page = parse(region_report.html)
    check_clean(page)
    check_count_cells(page)
    assert {"experience-items", "hospital-KAD-H01", "hospital-KAD-H02"} <= set(page.figures)
    assert all(page.figures.values()) and set(region_report.figures) == set(page.figures)
    exp, hosp, quality = (section(region_report.html, s) for s in ("experience", "hospital", "quality"))
    for part in (exp, hosp, quality):  # every block says it is proposed, with the versions
        assert "(foreslått)" in part and "Foreslåtte indikatorer, under vurdering" in part
    assert "KAD-E01 v1.0.0" in exp and "KAD-H02 v1.0.0" in hosp and "KAD-D02 v1.0.0" in quality
    assert "Foreslåtte indikatorer (versjon)" in region_report.html and "KAD-E05 1.0.0" in region_report.html
    # the number of questionnaires sent about stays admitted in 2025, counted independently
    e, s = region.experience, region.stays
    per_q = pa.table({"response_id": e["response_id"], "stay_id": e["stay_id"]}).group_by(
        ["response_id", "stay_id"]).aggregate([])
    year = s.filter(pc.equal(pc.year(s["admitted_at"]), 2025)).select(["stay_id"])
    sent = per_q.join(year, keys="stay_id", join_type="inner").num_rows
    shown = re.search(r"2025, hele regionen: ([\d\u202f]+) spørreskjemaer sendt", exp)
    assert shown and number(shown.group(1)) == sent
    # the response-rate table's "All" row of 2025 has the same count
    rows = cells(exp.split('class="experience-response"')[1])
    assert any(r[0] == "2025" and r[1] == "Alle" and number(r[2]) == sent for r in rows)
    # hospital use: the spec's own interpretation text, and every municipality without figures named
    assert kad.get_indicator("KAD-H02").raw["interpretation"]["nb"][:60] in hosp
    h01 = feedback._pick(prepared.hospital, indicator="KAD-H01", period="2025", municipality=True)
    missing = [r["municipality"] for r in h01 if r["reason"] == "no_data"]
    assert missing, "the synthetic hospital table leaves some municipality-periods out"
    note = hosp.split("Mangler fullstendige sykehustall")[1].split("</p>")[0]
    names = feedback._names(None, "nb")["municipality"]
    assert all(feedback._short(names.get(m, m)) in note for m in missing)


def test_unit_report_has_experience_beside_the_region_and_no_hospital_use(unit_report: Any) -> None:
    page = parse(unit_report.html)
    check_clean(page)
    check_count_cells(page)
    assert "experience-items" in page.figures and not any(f.startswith("hospital") for f in page.figures)
    assert 'id="hospital"' not in unit_report.html  # hospital use is the region report's only
    exp = section(unit_report.html, "experience")
    assert "Patient and professional experience (proposed)" in exp and "Region" in exp
    doc = section(unit_report.html, "quality").split('class="documentation"')[1].split("</table>")[0]
    labels = [r[0] for r in cells(doc)]
    assert len(labels) == 2 and labels[-1] == "Whole region"  # the unit and the region, no other unit


@pytest.fixture(scope="module")
def small() -> Any:
    return kad.synth.generate(years=(2025,), seed=5, scale=0.05)


def test_volume_documentation_and_pathways_share_one_count(region: Any, prepared: Any, region_report: Any) -> None:
    """Admissions per unit are KAD-D01's denominator and both pathway tables' totals: one protected count."""
    counts = feedback._stay_counts_cached(prepared, "2025")
    s = region.stays
    in_year = s.filter(pc.equal(pc.year(s["admitted_at"]), 2025))
    g = in_year.group_by("unit_id").aggregate([([], "count_all")])
    expected = dict(zip(g["unit_id"].to_pylist(), g["count_all"].to_pylist(), strict=True))
    assert dict(zip(counts.uids, counts.total[:-1].tolist(), strict=True)) == expected
    for field in ("admitted_from", "discharged_to"):
        _, m, sup, _ = counts.paths[field]
        assert (m[:, -1] == counts.total).all() and (sup[:, -1] == counts.total_sup).all()
    volume = {r[0]: r[2] for r in cells(section(region_report.html, "volume"))}
    doc = {r[0]: r[1] for r in cells(section(region_report.html, "quality").split('class="documentation"')[1])}
    # the same cell in both tables, unit by unit and for the region
    assert len(doc) == len(counts.uids) + 1 and all(volume[label] == text for label, text in doc.items())


# ----------------------------------------------------------------------------- nothing small, nothing recoverable


def attack(truths: list[pa.Table], shown: list[pa.Table], additive: list[tuple[str, ...]],
           bounds: list[Bound], threshold: int = 5) -> list[tuple[Any, ...]]:
    """Hidden non-zero counts that follow from what is shown; ``bounds``: small <= large per key."""
    vals: list[float] = []
    sup: list[bool] = []
    hid: list[bool] = []
    lo: list[float] = []
    hi: list[float] = []
    eqs: list[dict[int, int]] = []
    names: dict[int, tuple[Any, ...]] = {}
    cell: dict[tuple[int, int, str], int] = {}

    def new(v: float, s: bool, h: bool, lower: float = 0.0, upper: float = np.inf) -> int:
        vals.append(v)
        sup.append(s)
        hid.append(h)
        lo.append(lower)
        hi.append(upper)
        return len(vals) - 1

    rows_of = []
    for ti, (tr, sh) in enumerate(zip(truths, shown, strict=True)):
        truth_rows, shown_rows = tr.to_pylist(), sh.to_pylist()
        rows_of.append(truth_rows)
        dims = [c for c in tr.column_names if c not in CONTRACT]
        for i, (rt, rs) in enumerate(zip(truth_rows, shown_rows, strict=True)):
            spec = kad.get_indicator(rt["indicator_id"])
            for col in ("numerator", "denominator"):
                if col not in spec.statistics.applies_to or rt[col] is None:
                    continue
                v, published = float(rt[col]), rs[col] is not None
                # the mark tells: "<5" a small count (protect_results marks a row, whose hidden
                # denominator may be a complement: then it is not small), "×" not small or 0
                mark = None if published else rs.get(f"{col}_mark") or rs["reason"]
                lower, upper = 0.0, np.inf
                if mark == "low_n" and 1 <= v < threshold:
                    lower, upper = 1.0, threshold - 1.0
                elif mark in ("low_n", "secondary") and v >= threshold:
                    lower = float(threshold)
                cell[(ti, i, col)] = c = new(v, not published, False, lower, upper)
                names[c] = (rt["indicator_id"], rt["period"], *(rt[d] for d in dims), col, v)
            if spec.unit == "proportion" and (ti, i, "numerator") in cell and (ti, i, "denominator") in cell:
                eqs.append(margin(cell[(ti, i, "denominator")],
                                  [cell[(ti, i, "numerator")], new(float(rt["denominator"] - rt["numerator"]),
                                                                   False, True)]))
        index = {(r["indicator_id"], r["period"], tuple(r[d] for d in dims)): i for i, r in enumerate(truth_rows)}
        groups: dict[tuple[Any, ...], list[int]] = {}
        for (t_, i, col), c in cell.items():
            if t_ != ti:
                continue
            r = truth_rows[i]
            key = tuple(r[d] for d in dims)
            for j, d in enumerate(dims):
                if d in additive[ti] and key[j] is not None:
                    parent = (*key[:j], None, *key[j + 1:])
                    groups.setdefault((r["indicator_id"], r["period"], col, tuple(k is not None for k in key), j,
                                       parent), []).append(c)
        for (iid, period, col, _, _, parent), parts in groups.items():
            pi = index.get((iid, period, parent))
            total = cell.get((ti, pi, col)) if pi is not None else None
            eqs.append(margin(total if total is not None else new(sum(vals[p] for p in parts), False, True), parts))
    for (small_t, small_id, small_col, small_where), (large_t, large_id, large_col, large_where), key in bounds:
        def find(t: int, iid: str, col: str, where: dict[str, bool],
                 key: tuple[str, ...] = key) -> dict[tuple[Any, ...], list[int]]:
            out: dict[tuple[Any, ...], list[int]] = {}
            for i, r in enumerate(rows_of[t]):
                if r["indicator_id"] == iid and (t, i, col) in cell and all(
                        (r.get(d) is not None) == w for d, w in where.items()):
                    out.setdefault((r["period"], *(r.get(d) for d in key)), []).append(cell[(t, i, col)])
            return out

        large = find(large_t, large_id, large_col, large_where)
        for k, smalls in find(small_t, small_id, small_col, small_where).items():
            for big in large.get(k, []):
                for sc in smalls:
                    # one who guesses that the two are equal when they are is as strong as one who knows
                    eqs.append(margin(big, [sc]) if vals[big] == vals[sc]
                               else margin(big, [sc, new(vals[big] - vals[sc], False, True)]))
    counts = np.array(vals)
    rec = recoverable(counts, eqs, np.array(sup), hidden=np.array(hid), known_bounds=(np.array(lo), np.array(hi)),
                      threshold=threshold)
    return [names[i] for i in np.flatnonzero(rec) if counts[i] != 0 and i in names]


def experience_bounds() -> list[Bound]:
    """Answered questionnaires >= those with a score or an overall rating (per unit and respondent type);
    questionnaires with a score >= those with a score to one item (per unit)."""
    out: list[Bound] = [((0, small, scol, {}), (0, large, lcol, {}), ("unit_id", "respondent"))
                        for small, scol, large, lcol in ANSWERED]
    out += [((1, i, "denominator", {"item": True}), (0, i, "denominator", {"respondent": False}), ("unit_id",))
            for i in ("KAD-E02", "KAD-E04")]
    return out


def truth_of(region: Any, stays: pa.Table | None = None) -> tuple[dict[str, Any], tuple[pa.Table, pa.Table]]:
    """The experience results before any suppression, computed as the report computes them."""
    stays = region.stays if stays is None else stays
    first = int(pc.min(pc.year(stays["admitted_at"])).as_py())
    kw = {"stays": stays, "units": region.units, "population": region.population,
          "experience": region.experience, "hospital_admissions": region.hospital_admissions, "suppression": 1,
          "period": "year", "since": dt.date(first, 1, 1)}
    exp = feedback._experience_truth(kw)
    assert exp is not None
    return kw, exp


def test_experience_counts_cannot_be_recovered(region: Any, prepared: Any) -> None:
    """The report's experience tables against the attacker; protecting each indicator alone would leak."""
    _, truth = truth_of(region)
    shown = list(prepared.experience)
    additive = [("unit_id", "respondent"), ("unit_id",)]
    assert attack(list(truth), shown, additive, experience_bounds()) == []
    hidden = sum(int(pc.sum(t["suppressed"]).as_py()) for t in shown)
    assert hidden > 20, "not vacuous: many small groups"
    plain = [protect_results(t) for t in truth]  # each indicator on its own, as protect_results does
    assert attack(list(truth), plain, additive, experience_bounds()) != []


def test_hospital_counts_cannot_be_recovered(region: Any, prepared: Any) -> None:
    kw, _ = truth_of(region)
    truth = feedback._hospital_truth(kw)
    assert truth is not None
    shown = prepared.hospital
    # KAD-H02's denominator (KAD stays + hospital admissions) is never shown
    h02 = shown.filter(pc.equal(shown["indicator_id"], "KAD-H02"))
    assert h02.num_rows and h02["denominator"].null_count == h02.num_rows
    assert int(pc.sum(h02["suppressed"]).as_py()) > 0
    den = truth.column_names.index("denominator")
    truth = truth.set_column(den, "denominator", pc.if_else(pc.equal(truth["indicator_id"], "KAD-H02"),
                                                             pa.nulls(truth.num_rows, pa.float64()),
                                                             truth["denominator"]))
    assert attack([truth], [shown], [("municipality",)], []) == []


def test_tiny_data_with_the_new_tables(region: Any) -> None:
    """A handful of stays, their questionnaires (and some about unknown stays, rejected): nothing small shows."""
    stays = region.stays.sort_by("admitted_at").slice(0, 40)
    e = region.experience
    kept = pc.is_in(e["stay_id"], value_set=stays["stay_id"])
    others = pc.indices_nonzero(pc.invert(kept)).to_pylist()[:3]  # 3 rows about stays not given: rejected
    exp = e.filter(kept)
    exp = pa.concat_tables([exp, e.take(others)]) if others else exp
    p = feedback._prepare(stays=stays, units=region.units, population=region.population, experience=exp,
                          hospital_admissions=region.hospital_admissions, period="year", as_of=None,
                          suppression=5, lang="nb")
    rep = feedback._render(p, unit=None, year=None, lang="nb", overdispersion=True, generated=GEN)
    page = parse(rep.html)
    check_clean(page)
    check_count_cells(page)
    assert all(page.figures.values())
    quality = section(rep.html, "quality")
    row = next(r for r in cells(quality) if r[0] == "experience")
    assert row[3] == "&lt;5" and "×" in row[1:3], "3 rejected rows, and read or accepted masked with them"
    # and the tables behind the experience section
    _, truth = truth_of(region, p.tables["stays"])
    assert attack(list(truth), list(p.experience), [("unit_id", "respondent"), ("unit_id",)],
                  experience_bounds()) == []


def test_cli_report_with_the_new_tables(tmp_path: Path, small: Any) -> None:
    paths = kad.synth.write(small, tmp_path / "data", formats=["csv"])
    out = tmp_path / "rapport.html"
    args = ["report", *[x for n in ("stays", "units", "population") for x in (f"--{n}", str(paths[f"{n}.csv"]))],
            "--experience", str(paths["experience.csv"]), "--hospital-admissions",
            str(paths["hospital_admissions.csv"]), "--period", "year", "-o", str(out)]
    assert main(args) == 0
    page = parse(out.read_text(encoding="utf-8"))
    check_clean(page)
    check_count_cells(page)
    assert {"experience-items", "hospital-KAD-H01"} <= set(page.figures)
    assert main(["report", "--stays", str(paths["stays.csv"]), "--experience", str(tmp_path / "nope.csv"),
                 "-o", str(out)]) == 3
