"""The national annual ØHD form: figures, reconciliation, disclosure, workbook, CSV and CLI."""

from __future__ import annotations

import csv
import datetime as dt
import math
from collections import Counter, defaultdict
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import numpy as np
import openpyxl
import pyarrow as pa
import pyarrow.compute as pc
import pytest

import kadindicators as kad
from kadindicators.cli import main
from kadindicators.disclosure import margin, recoverable
from kadindicators.errors import SpecError
from kadindicators.reports._national_form import (
    FORM_COLUMNS,
    HIDDEN,
    _categories,
    _compute,
    load_form_spec,
    national_form,
    write_national_form,
)

OSLO = ZoneInfo("Europe/Oslo")
UTC = dt.UTC
AS_OF = dt.datetime(2025, 1, 1, tzinfo=OSLO)
COUNT_SECTIONS = ("admissions", "residence", "sex", "age", "care_track", "length_of_stay", "diagnosis",
                  "admitted_from", "discharged_to", "location")
# the form's mapping, written out independently of spec/national-form.yaml
ADMITTED_FROM = {"out_of_hours": "out_of_hours", "gp": "gp", "hospital": "hospital",
                 "nursing_home": "municipal_services", "home_care": "municipal_services", "other": "other",
                 None: "unknown"}
DISCHARGED_TO = {"home": "home", "home_with_services": "home", "nursing_home": "municipal_institution",
                 "hospital": "hospital", "died": "died", "other": "other", None: "unknown"}
LOS_WEIGHTS = {"le1": 1, "2": 2, "3": 3, "4": 4, "5": 5, "gt5": 6}


# ------------------------------------------------------------------------------------ the oracle
def _band(age: int) -> str:
    for b in kad.spec.load_schema().age_bands:
        if age >= b.min and (b.max is None or age < b.max):
            return b.code
    raise AssertionError(age)


def independent_count(stays: pa.Table, units: pa.Table, year: int, as_of: dt.datetime) -> dict[Any, Any]:
    """Plain Python over the rows: {(level, municipality, unit_id): Counter((section, category))}."""
    urows = units.to_pylist()
    out: dict[tuple[str, str | None, str | None], Counter[tuple[str, str]]] = defaultdict(Counter)
    bed_ms: dict[tuple[str, str | None, str | None], float] = defaultdict(float)
    y0 = dt.datetime(year, 1, 1, tzinfo=OSLO).astimezone(UTC)
    y1 = dt.datetime(year + 1, 1, 1, tzinfo=OSLO).astimezone(UTC)
    end_cap = as_of.astimezone(UTC)
    for s in stays.to_pylist():
        adm_local = s["admitted_at"].astimezone(OSLO)
        day = adm_local.date()
        row = next(u for u in urows if u["unit_id"] == s["unit_id"] and u["valid_from"] <= day
                   and (u["valid_to"] is None or day < u["valid_to"]))
        host = row["host_municipality"]
        keys = [("municipality", host, None), ("unit", host, s["unit_id"]), ("region", None, None)]
        adm = s["admitted_at"].astimezone(UTC)
        dis = s["discharged_at"].astimezone(UTC) if s["discharged_at"] is not None else None
        done = dis is not None and dis <= end_cap
        end = dis if done else end_cap
        inside = (min(end, y1) - max(adm, y0)).total_seconds()
        for k in keys:
            bed_ms[k] += max(inside, 0.0)
        if adm_local.year != year:
            continue
        if done:
            days = math.ceil((dis - adm).total_seconds() / 86400)  # type: ignore[operator]
            los = "le1" if days <= 1 else "gt5" if days > 5 else str(days)
        else:
            los = "not_discharged"
        res = s["municipality"]
        residence = ("unknown" if res is None else "host" if res == host
                     else "cooperating" if res in row["municipalities"] else "other")
        diag = s["diagnosis_icpc2"]
        cells = [("admissions", "total"), ("residence", residence), ("sex", s["sex"]), ("age", _band(s["age"])),
                 ("care_track", s["care_track"]), ("length_of_stay", los),
                 ("diagnosis", diag[0] if diag else "missing"),
                 ("admitted_from", ADMITTED_FROM[s["admitted_from"]]),
                 ("discharged_to", DISCHARGED_TO[s["discharged_to"]] if done else "not_discharged"),
                 ("location", row["location"] or "unknown")]
        for k in keys:
            out[k].update(cells)
    for k, ms in bed_ms.items():
        out[k][("bed_days", "in_year_seconds")] = round(ms)  # type: ignore[assignment]
    return out


# ------------------------------------------------------------------------------------ fixtures
@pytest.fixture(scope="module")
def region() -> Any:
    return kad.synth.generate(years=(2024,), seed=1, scale=0.1)


@pytest.fixture(scope="module")
def computed(region: Any) -> Any:
    return _compute(stays=region.stays, units=region.units, year=2024, level=("municipality", "unit"),
                    as_of=AS_OF)


@pytest.fixture(scope="module")
def oracle(region: Any) -> dict[Any, Any]:
    return independent_count(region.stays, region.units, 2024, AS_OF)


@pytest.fixture(scope="module")
def workbook(computed: Any, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    out = tmp_path_factory.mktemp("form")
    return (write_national_form(computed.public, out / "form.xlsx"),
            write_national_form(computed.public, out / "form.csv"))


def _key(r: dict[str, Any]) -> tuple[str, str | None, str | None]:
    return (r["level"], r["municipality"], r["unit_id"])


# ------------------------------------------------------------------------------------ figures
def test_unsuppressed_figures_match_an_independent_count(computed: Any, oracle: dict[Any, Any]) -> None:
    """Every count (before suppression) equals a plain-Python count over the stays."""
    rows = computed.unsuppressed.to_pylist()
    checked = 0
    for r in rows:
        if r["section"] in COUNT_SECTIONS:
            assert r["count"] == oracle[_key(r)][(r["section"], r["category"])], r
            checked += 1
        elif (r["section"], r["category"]) == ("bed_days", "in_year"):
            assert r["value"] * 86400 == pytest.approx(oracle[_key(r)][("bed_days", "in_year_seconds")], abs=1)
    assert checked > 1000


def test_region_total_is_every_admission_of_the_year(region: Any) -> None:
    """At region level without suppression the total is the number of stays admitted in 2024."""
    form = national_form(stays=region.stays, units=region.units, year=2024, level="region", suppression=1)
    total = form.filter(pc.equal(form["category"], "total"))["count"].to_pylist()
    years = pc.year(pc.local_timestamp(region.stays["admitted_at"]))
    assert total == [pc.sum(pc.equal(years, 2024)).as_py()]
    assert form.schema.remove_metadata().equals(FORM_COLUMNS)


def test_categories_add_up_to_the_total(computed: Any) -> None:
    """On the unsuppressed figures every split section sums to the total, and units to municipalities."""
    t = computed.unsuppressed
    totals: dict[Any, int] = {}
    sums: dict[Any, int] = defaultdict(int)
    by_level: dict[Any, int] = defaultdict(int)
    for r in t.to_pylist():
        if r["section"] == "admissions":
            totals[_key(r)] = r["count"]
        elif r["section"] in COUNT_SECTIONS:
            sums[(*_key(r), r["section"])] += r["count"]
        if r["level"] == "unit" and r["count"] is not None:
            by_level[(r["municipality"], r["section"], r["category"])] += r["count"]
    assert sums
    for (lv, m, u, section), s in sums.items():
        assert s == totals[(lv, m, u)], (lv, m, u, section)
    for r in t.filter(pc.equal(t["level"], "municipality")).to_pylist():
        if r["count"] is not None:
            assert r["count"] == by_level[(r["municipality"], r["section"], r["category"])]


def test_public_table_equals_the_api(region: Any, computed: Any) -> None:
    """``kadindicators.reports.national_form`` returns exactly the published table of the computation."""
    import importlib

    reports = importlib.import_module("kadindicators.reports")
    assert "national_form" in reports.__all__
    form = national_form(stays=region.stays, units=region.units, year=2024, as_of=AS_OF)
    assert form.equals(computed.public)
    meta = {k.decode(): v.decode() for k, v in form.schema.metadata.items()}
    assert meta["kadindicators.suppression"] == "5"
    assert meta["kadindicators.input_fingerprint"]
    assert meta["kadindicators.as_of"].startswith("2025-01-01")


# ------------------------------------------------------------------------------------ disclosure
def test_no_small_count_is_published(computed: Any) -> None:
    """No count from 1 to 4 is in the table; suppressed cells carry no figure."""
    t = computed.public
    counts = [c for c in t["count"].to_pylist() if c is not None]
    assert not [c for c in counts if 1 <= c < 5]
    hidden = t.filter(t["suppressed"])
    assert hidden.num_rows > 0
    assert hidden["count"].null_count == hidden.num_rows and hidden["value"].null_count == hidden.num_rows
    assert set(hidden["reason"].to_pylist()) <= {"low_n", "secondary"}


def _attack(t: pa.Table) -> np.ndarray:
    """Hidden cells an attacker recovers from the totals, the splits, the bed-day estimate and the
    hierarchy; the equations are rebuilt here from the table's structure, not taken from the library."""
    rows = [r for r in t.to_pylist() if r["section"] in COUNT_SECTIONS
            or (r["section"], r["category"]) == ("bed_days", "admissions_estimated")]
    idx = {(*_key(r), r["section"], r["category"]): i for i, r in enumerate(rows)}
    values = np.array([r["count"] if r["count"] is not None else r["value"] for r in rows], dtype=float)
    sup = np.array([r["suppressed"] for r in rows])
    eqs = []
    by_group: dict[Any, dict[str, list[int]]] = defaultdict(lambda: defaultdict(list))
    for (lv, m, u, section, cat), i in idx.items():
        if section not in ("admissions", "bed_days"):
            by_group[(lv, m, u)][section].append(i)
    for g, sections in by_group.items():
        total = idx[(*g, "admissions", "total")]
        eqs += [margin(total, cells) for cells in sections.values()]
        est = {idx[(*g, "bed_days", "admissions_estimated")]: -1}
        est.update({idx[(*g, "length_of_stay", c)]: w for c, w in LOS_WEIGHTS.items()})
        eqs.append(est)
    children: dict[Any, list[tuple[Any, ...]]] = defaultdict(list)
    has_municipality = any(k[0] == "municipality" for k in idx)
    for (lv, m, u, section, cat) in idx:
        if lv == "unit":
            parent = ("municipality", m, None) if has_municipality else ("region", None, None)
            children[(*parent, section, cat)].append((lv, m, u, section, cat))
        elif lv == "municipality":
            children[("region", None, None, section, cat)].append((lv, m, u, section, cat))
    for parent, kids in children.items():
        if parent in idx:
            eqs.append(margin(idx[parent], [idx[k] for k in kids]))
    assert sup.any()
    return np.asarray(recoverable(values, eqs, sup))


def test_no_hidden_count_can_be_recovered(computed: Any) -> None:
    """Municipalities and units: nothing hidden can be worked out."""
    assert not _attack(computed.unsuppressed).any()


@pytest.mark.parametrize("level", [("region", "municipality"), ("region", "unit")])
def test_no_hidden_count_can_be_recovered_with_the_region(region: Any, level: tuple[str, ...]) -> None:
    """With the region total as well: nothing hidden can be worked out."""
    t = _compute(stays=region.stays, units=region.units, year=2024, level=level).unsuppressed
    assert not _attack(t).any()


# ------------------------------------------------------------------------------------ workbook and CSV
def _sheet_cells(ws: Any) -> tuple[dict[str, int], dict[tuple[str, str], int]]:
    """Column of every group (by its first header row) and row of every (section, category)."""
    spec = load_form_spec()
    titles = {s.title.get("nb"): s.id for s in spec.sections} | {s.title.get("nb") + " *": s.id
                                                                 for s in spec.sections}
    cols = {ws.cell(row=4, column=c).value: c for c in range(3, ws.max_column + 1)}
    rows: dict[tuple[str, str], int] = {}
    section = None
    for r in range(1, ws.max_row + 1):
        a, b = ws.cell(row=r, column=1).value, ws.cell(row=r, column=2).value
        if a in titles and b is None:
            section = titles[a]
        elif section and b is not None:
            rows[(section, str(b))] = r
    return cols, rows


def test_workbook_totals_match_the_independent_count(workbook: tuple[Path, Path], oracle: dict[Any, Any]) -> None:
    """Read back with openpyxl: every shown count is the independent count; hidden ones are marked."""
    wb = openpyxl.load_workbook(workbook[0])
    assert wb.sheetnames == ["Kommune", "Enhet", "Avstemming", "Om"]
    checked = hidden = 0
    for sheet, level in (("Kommune", "municipality"), ("Enhet", "unit")):
        ws = wb[sheet]
        cols, rows = _sheet_cells(ws)
        for key, counter in oracle.items():
            if key[0] != level:
                continue
            col = cols[key[1] if level == "municipality" else key[2]]
            for (section, cat), row in rows.items():
                if section not in COUNT_SECTIONS:
                    continue
                expected = counter.get((section, cat), 0)
                shown = ws.cell(row=row, column=col).value
                if shown == HIDDEN:
                    hidden += 1
                else:
                    assert shown == expected, (sheet, key, section, cat)
                    checked += 1
                if 1 <= expected < 5:
                    assert shown == HIDDEN
    assert checked > 500 and hidden > 50


def _numbers(ws: Any) -> list[tuple[int, Any]]:
    return [(c.row, c.value) for row in ws.iter_rows() for c in row
            if isinstance(c.value, int | float) and not isinstance(c.value, bool)]


def test_no_visible_small_count_anywhere_in_the_workbook(workbook: tuple[Path, Path]) -> None:
    """Outside beds and bed-days (not counts of people) no number from 1 to 4 appears in any sheet."""
    wb = openpyxl.load_workbook(workbook[0])
    for name in wb.sheetnames:
        ws = wb[name]
        allowed: set[int] = set()
        if name in ("Region", "Kommune", "Enhet"):
            _, rows = _sheet_cells(ws)
            allowed = {r for (section, _), r in rows.items() if section in ("beds", "bed_days")}
        small = [(r, v) for r, v in _numbers(ws) if 1 <= v < 5 and r not in allowed]
        assert not small, (name, small[:5])
    assert not _numbers(wb["Om"])  # provenance is text


def test_no_visible_small_count_in_the_csv(workbook: tuple[Path, Path], computed: Any) -> None:
    """The CSV has no count from 1 to 4, no ``reason`` column, and one mark for every hidden cell."""
    with workbook[1].open(encoding="utf-8-sig", newline="") as fh:
        rows = list(csv.DictReader(fh))
    assert len(rows) == computed.public.num_rows
    assert "reason" not in rows[0]
    for r in rows:
        if r["unit_of_measure"] == "stays":
            assert r["count"] == "" or not 1 <= int(r["count"]) < 5
            assert r["display"] not in {"1", "2", "3", "4"}
        if r["suppressed"] == "True":
            assert r["display"] == HIDDEN and r["count"] == "" and r["value"] == ""


def test_reconciliation_sheet(workbook: tuple[Path, Path], computed: Any) -> None:
    """Every split of every group is listed; fully shown sections visibly add up."""
    ws = openpyxl.load_workbook(workbook[0])["Avstemming"]
    body = list(ws.iter_rows(min_row=5, values_only=True))
    n_groups = sum(g.num_rows for g in computed.groups.values())
    splits = sum(1 for s in load_form_spec().sections if s.kind == "split")
    assert len(body) == n_groups * splits
    for level, _m, _u, _section, total, shown, hidden, ok in body:
        assert ok in ("ja", "ja (kontrollert på uskjulte tall)")
        if not hidden and total != HIDDEN:
            assert shown == total and ok == "ja"


def test_about_sheet_has_the_provenance(workbook: tuple[Path, Path], computed: Any) -> None:
    """Library and schema version, data fingerprint, as_of and threshold are on the About sheet."""
    ws = openpyxl.load_workbook(workbook[0])["Om"]
    about = {r[0]: r[1] for r in ws.iter_rows(values_only=True) if r[0]}
    meta = {k.decode(): v.decode() for k, v in computed.public.schema.metadata.items()}
    assert about["Bibliotek"] == f"kadindicators {kad.__version__}"
    assert about["Rapporteringsskjema (versjon)"] == kad.SCHEMA_VERSION
    assert about["Datafingeravtrykk (SHA-256 av inndata)"] == meta["kadindicators.input_fingerprint"]
    assert about["Uttrekkstidspunkt (as_of)"].startswith("2025-01-01")
    assert about["Terskel for små tall"].startswith("5:")


def test_english_labels_and_sheets(region: Any, tmp_path: Path) -> None:
    """``lang="en"`` gives English labels, section titles and sheet names."""
    form = national_form(stays=region.stays, units=region.units, year=2024, level=("region",), lang="en")
    sex = form.filter(pc.equal(form["section"], "sex"))
    assert sex["label"].to_pylist() == ["Not known", "Male", "Female", "Not specified"]
    assert set(sex["section_label"].to_pylist()) == {"Admissions by sex"}
    chapter_r = form.filter(pc.and_(pc.equal(form["section"], "diagnosis"), pc.equal(form["category"], "R")))
    assert chapter_r["label"].to_pylist() == ["Respiratory"]
    wb = openpyxl.load_workbook(write_national_form(form, tmp_path / "f.xlsx"))
    assert wb.sheetnames == ["Region", "Reconciliation", "About"]
    nb = national_form(stays=region.stays, units=region.units, year=2024, level=("region",), lang="nb")
    assert nb.filter(pc.equal(nb["section"], "sex"))["label"].to_pylist()[1:3] == ["Mann", "Kvinne"]
    assert nb["count"].equals(form["count"])


def test_formula_like_text_is_neutralised(region: Any, tmp_path: Path) -> None:
    """A unit name that a spreadsheet could run as a formula is written as text."""
    units = region.units
    names = pc.if_else(pc.equal(units["unit_id"], "VV-ASKER-LV"), "=HYPERLINK(\"x\")", units["name"])
    units = units.set_column(units.schema.get_field_index("name"), units.schema.field("name"), names)
    form = national_form(stays=region.stays, units=units, year=2024, level="unit")
    ws = openpyxl.load_workbook(write_national_form(form, tmp_path / "f.xlsx"))["Enhet"]
    row5 = [c.value for c in ws[5]]
    assert "'=HYPERLINK(\"x\")" in row5
    assert not any(isinstance(v, str) and v.startswith("=") for v in row5)


# ------------------------------------------------------------------------------------ a hand-checked case
def _tiny() -> tuple[pa.Table, pa.Table]:
    units = pa.table({
        "unit_id": ["U1", "U2"], "name": ["KAD Drammen", "KAD Sande"], "host_municipality": ["3301", "3312"],
        "municipalities": ["3301|3312", "3312"], "care_track": ["somatic", "somatic"], "beds": ["4", "2"],
        "valid_from": ["2023-01-01", "2024-07-01"], "valid_to": [None, None],
        "location": ["out_of_hours_service", "nursing_home"],
    })
    rows = [
        # id, admitted, discharged, municipality, age, sex, from, to, icpc2
        ("S1", "2023-12-31T20:00", "2024-01-02T08:00", "3301", 80, "2", "gp", "home", "R81"),     # over New Year
        ("S2", "2024-03-30T12:00", "2024-04-01T12:30", "3301", 70, "1", "out_of_hours", "home", "R81"),  # DST: 47.5 h
        ("S3", "2024-05-01T10:00", "2024-05-01T10:00", "3312", 90, "2", "gp", "home_with_services", "L86"),  # 0 h
        ("S4", "2024-06-01T08:00", "2024-06-08T08:00", "0301", 85, "2", "nursing_home", "nursing_home", "R991"),
        ("S5", "2024-07-01T10:00", "2024-07-02T10:00", None, 67, "2", "home_care", "hospital", None),  # 24 h
        ("S6", "2024-12-30T10:00", None, "3301", 50, "1", "hospital", None, "A03"),                 # still in
        ("S7", "2024-10-26T12:00", "2024-10-28T11:30", "3301", 75, "2", None, "died", "K77"),      # DST: 48.5 h
    ]
    stays = pa.table({
        "stay_id": [r[0] for r in rows], "patient_id": [f"P{r[0]}" for r in rows],
        "unit_id": ["U1"] * len(rows), "municipality": [r[3] for r in rows],
        "admitted_at": [r[1] for r in rows], "discharged_at": [r[2] for r in rows],
        "age": [str(r[4]) for r in rows], "sex": [r[5] for r in rows], "care_track": ["somatic"] * len(rows),
        "admitted_from": [r[6] for r in rows], "discharged_to": [r[7] for r in rows],
        "diagnosis_icpc2": [r[8] for r in rows],
    })
    report = kad.validate(stays=stays, units=units)
    assert report.rows_rejected == 0 and report.summaries["units"].rows_rejected == 0
    return report.valid, report.tables["units"]


def test_hand_checked_tiny_case() -> None:
    """New Year, both DST nights, a 0-hour and a > 5-day stay, an open stay, beds changing mid-year."""
    stays, units = _tiny()
    form = national_form(stays=stays, units=units, year=2024, level=("municipality", "unit"), suppression=1,
                         as_of=dt.date(2025, 1, 1))
    got = {(r["level"], r["municipality"], r["unit_id"], r["section"], r["category"]): r
           for r in form.to_pylist()}

    def mun(section: str, cat: str, m: str = "3301") -> Any:
        r = got[("municipality", m, None, section, cat)]
        return r["count"] if r["count"] is not None else r["value"]

    assert mun("admissions", "total") == 6                       # S1 was admitted in 2023
    assert [mun("length_of_stay", c) for c in ("le1", "2", "3", "4", "5", "gt5", "not_discharged")] \
        == [2, 1, 1, 0, 0, 1, 1]                                 # S3 + S5 | S2 | S7 | S4 | S6
    assert mun("bed_days", "in_year") == pytest.approx(358 / 24)  # 32 + 47.5 + 0 + 168 + 24 + 38 + 48.5 hours
    assert mun("bed_days", "admissions_exact") == pytest.approx(288 / 24)
    assert mun("bed_days", "admissions_estimated") == 2 * 1 + 1 * 2 + 1 * 3 + 1 * 6
    assert [mun("residence", c) for c in ("host", "cooperating", "other", "unknown")] == [3, 1, 1, 1]
    assert [mun("discharged_to", c) for c in ("home", "municipal_institution", "hospital", "died", "other",
                                              "not_discharged", "unknown")] == [2, 1, 1, 1, 0, 1, 0]
    assert [mun("admitted_from", c) for c in ("out_of_hours", "gp", "hospital", "municipal_services", "other",
                                              "unknown")] == [1, 1, 1, 2, 0, 1]
    assert (mun("diagnosis", "R"), mun("diagnosis", "L"), mun("diagnosis", "missing")) == (2, 1, 1)  # R991 is R
    assert [mun("sex", c) for c in ("0", "1", "2", "9")] == [0, 2, 4, 0]
    assert [mun("age", c) for c in ("0-17", "18-49", "50-66", "67-79", "80-89", "90+")] == [0, 0, 1, 3, 1, 1]
    assert mun("location", "out_of_hours_service") == 6
    # beds: U1 4 beds all year; U2 (host 3312) 2 beds from 1 July, no stays
    assert [mun("beds", c) for c in ("units", "beds_mean", "beds_end_of_year", "available_bed_days")] \
        == [1, 4, 4, 4 * 366]
    assert mun("beds", "beds_mean", "3312") == pytest.approx(2 * 184 / 366)
    assert mun("beds", "available_bed_days", "3312") == 2 * 184
    assert mun("admissions", "total", "3312") == 0
    assert got[("unit", "3312", "U2", "beds", "beds_end_of_year")]["value"] == 2
    assert got[("unit", "3301", "U1", "admissions", "total")]["unit_name"] == "KAD Drammen"


def test_tiny_case_with_suppression_hides_every_small_count() -> None:
    """With the default threshold the six admissions show, but no category of 1 to 4 and nothing revealing."""
    stays, units = _tiny()
    form = national_form(stays=stays, units=units, year=2024, level="municipality", as_of=dt.date(2025, 1, 1))
    shown = form.filter(pc.and_(pc.equal(form["unit_of_measure"], "stays"), pc.invert(form["suppressed"])))
    assert all(c == 0 or c >= 5 for c in shown["count"].to_pylist())
    est = form.filter(pc.equal(form["category"], "admissions_estimated"))
    assert est["suppressed"].to_pylist() == [True, False]   # 3301 hidden with its classes; 3312 has none


def test_as_of_makes_later_discharges_open() -> None:
    """A stay discharged after ``as_of`` is not discharged yet, its bed-days run to ``as_of``, and
    stays admitted after ``as_of`` are left out (and counted in the metadata)."""
    stays, units = _tiny()
    form = national_form(stays=stays, units=units, year=2024, level="municipality", suppression=1,
                         as_of=dt.datetime(2024, 6, 5, tzinfo=OSLO))
    r = {(x["municipality"], x["section"], x["category"]): x for x in form.to_pylist()}
    assert r[("3301", "admissions", "total")]["count"] == 3                # S2, S3, S4
    assert r[("3301", "length_of_stay", "not_discharged")]["count"] == 1   # S4, open on 5 June
    assert r[("3301", "bed_days", "in_year")]["value"] == pytest.approx((32 + 47.5 + 0 + 88) / 24)
    meta = {k.decode(): v.decode() for k, v in form.schema.metadata.items()}
    assert meta["kadindicators.excluded_by_reason"] == '{"admitted-after-as-of": 3, "unknown-unit": 0}'


def test_a_year_without_stays_gives_zeros_and_beds(region: Any, tmp_path: Path) -> None:
    """A year with units but no stays: every count is 0 (shown), beds are there; no units: region only."""
    form = national_form(stays=region.stays, units=region.units, year=2030, level=("region", "municipality"))
    counts = form.filter(pc.equal(form["unit_of_measure"], "stays"))
    assert set(counts["count"].to_pylist()) == {0} and not pc.any(form["suppressed"]).as_py()
    beds = form.filter(pc.and_(pc.equal(form["level"], "region"), pc.equal(form["category"], "beds_end_of_year")))
    assert beds["value"].to_pylist() == [float(pc.sum(region.units.filter(pc.is_null(region.units["valid_to"]))
                                                     ["beds"]).as_py())]
    before = national_form(stays=region.stays, units=region.units, year=2010)
    assert before.num_rows == 0
    assert write_national_form(before, tmp_path / "empty.xlsx").exists()


# ------------------------------------------------------------------------------------ arguments and spec
@pytest.mark.parametrize("kwargs", [{"year": "2024"}, {"year": 1800}, {"level": ("county",)},
                                    {"level": ()}, {"suppression": 0}, {"lang": "se"}])
def test_bad_arguments_are_refused(region: Any, kwargs: dict[str, Any]) -> None:
    """Misuse raises ValueError with the allowed values."""
    args: dict[str, Any] = {"stays": region.stays, "units": region.units, "year": 2024, **kwargs}
    with pytest.raises(ValueError, match="year|level|suppression|lang"):
        national_form(**args)


def test_categories_come_from_the_code_lists() -> None:
    """Sex, ICPC-2 chapters and age bands are read from the code lists; mappings cover every code."""
    spec = load_form_spec()
    schema = kad.spec.load_schema()
    assert [c.code for c in spec.section("sex").categories] == list(schema.codelists["sex"].values)
    assert [c.code for c in spec.section("age").categories] == [b.code for b in schema.age_bands]
    assert len([c for c in spec.section("diagnosis").categories if c.role == "category"]) == 17
    for sid in ("admitted_from", "discharged_to"):
        mapped = [s for c in spec.section(sid).categories for s in c.sources]
        assert sorted(mapped) == sorted(schema.codelists[sid].values)
    assert spec.section("admitted_from").categories[0].label.nb == "Legevakt"  # the code list's label


def test_an_incomplete_mapping_is_a_spec_error() -> None:
    """A code of the code list that no category takes is refused when the form is loaded."""
    raw = {"id": "admitted_from", "kind": "split", "field": "admitted_from", "codelist": "admitted_from",
           "categories": [{"code": "gp", "from": ["gp"]}]}
    with pytest.raises(SpecError, match="not mapped"):
        _categories(raw, Path("national-form.yaml"))


# ------------------------------------------------------------------------------------ CLI
@pytest.fixture(scope="module")
def files(region: Any, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    return kad.synth.write(region, tmp_path_factory.mktemp("data"))


def test_cli_writes_the_form(files: dict[str, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Exit 0; the workbook is there and says how many rows were used."""
    out = tmp_path / "skjema.xlsx"
    assert main(["national-form", "--year", "2024", "--stays", str(files["stays.csv"]),
                 "--units", str(files["units.csv"]), "-o", str(out)]) == 0
    err = capsys.readouterr().err
    assert "317 av 317 rader brukt (0 avvist)" in err
    assert openpyxl.load_workbook(out).sheetnames == ["Kommune", "Enhet", "Avstemming", "Om"]


def test_cli_rejected_rows_exit_1(files: dict[str, Path], tmp_path: Path,
                                  capsys: pytest.CaptureFixture[str]) -> None:
    """A rejected row gives exit code 1 and a warning; the form is written without it (CSV, English)."""
    lines = files["stays.csv"].read_text(encoding="utf-8").splitlines()
    head = lines[0].split(",")
    bad = lines[1].split(",")
    bad[head.index("age")] = "-3"
    path = tmp_path / "stays.csv"
    path.write_text("\n".join([lines[0], ",".join(bad), *lines[2:]]) + "\n", encoding="utf-8")
    out = tmp_path / "form.csv"
    assert main(["--lang", "en", "national-form", "--year", "2024", "--stays", str(path),
                 "--units", str(files["units.csv"]), "-o", str(out)]) == 1
    err = capsys.readouterr().err
    assert "316 of 317 rows used (1 rejected)" in err and "WARNING: 1 rows were rejected" in err
    with out.open(encoding="utf-8-sig") as fh:
        rows = list(csv.DictReader(fh))
    total = [r for r in rows if r["level"] == "municipality" and r["category"] == "total"]
    assert total and total[0]["label"] == "Admissions in total"


@pytest.mark.parametrize(("argv", "code"), [
    (["-o", "form.pdf"], 2),
    (["--suppression", "0", "-o", "form.csv"], 2),
    (["--level", "county", "-o", "form.csv"], 2),
])
def test_cli_usage_errors_exit_2(files: dict[str, Path], tmp_path: Path, argv: list[str], code: int) -> None:
    """Wrong output type, threshold or level: exit 2 before anything is read."""
    argv = [a if not a.startswith("form.") else str(tmp_path / a) for a in argv]
    assert main(["national-form", "--year", "2024", "--stays", str(files["stays.csv"]),
                 "--units", str(files["units.csv"]), *argv]) == code
    assert not list(tmp_path.iterdir())


def test_cli_missing_argument_and_file(files: dict[str, Path], tmp_path: Path) -> None:
    """A missing --units is a usage error (2); a missing file cannot be used (3)."""
    with pytest.raises(SystemExit) as exc:
        main(["national-form", "--year", "2024", "--stays", str(files["stays.csv"]), "-o", "x.xlsx"])
    assert exc.value.code == 2
    assert main(["national-form", "--year", "2024", "--stays", str(tmp_path / "nope.csv"),
                 "--units", str(files["units.csv"]), "-o", str(tmp_path / "f.xlsx")]) == 3
