"""Reporting schema 1.1.0: the optional experience and hospital_admissions tables, and 1.0.0 kept."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pyarrow.compute as pc
import pytest

import kadindicators as kad
from kadindicators.errors import SchemaVersionError
from kadindicators.spec.loader import available_versions, load_schema

AS_OF = dt.date(2026, 1, 1)
STAYS = {"stay_id": ["A1", "A2"], "patient_id": ["p1", "p2"], "unit_id": ["U1", "U1"],
         "municipality": ["3301", "3301"], "admitted_at": ["2025-01-02T10:00", "2025-01-03T09:15"],
         "discharged_at": ["2025-01-04T12:00", "2025-01-05T08:00"], "age": [84, 77], "sex": ["2", "1"],
         "care_track": ["somatic", "somatic"], "discharged_to": ["home", "home"]}


def test_earlier_minor_version_is_the_same_rules_with_its_own_tables() -> None:
    """1.0.0 still loads: the tables it had, field for field as in 1.1.0; unknown versions are refused."""
    assert available_versions() == ("1.0.0", "1.1.0")
    old, new = load_schema("1.0.0"), load_schema()
    assert old.version == "1.0.0" and new.version == "1.1.0"
    assert set(old.tables) == {"stays", "units", "population"}
    assert set(new.tables) - set(old.tables) == {"experience", "hospital_admissions"}
    for name, table in old.tables.items():
        assert table == new.tables[name]
    assert kad.arrow_schema("stays", "1.0.0").metadata[b"kadindicators.schema_version"] == b"1.0.0"
    with pytest.raises(SchemaVersionError):
        load_schema("0.9.0")
    with pytest.raises(SchemaVersionError):
        load_schema("1.2.0")


def test_validating_against_1_0_0() -> None:
    """Stays validate the same against 1.0.0; a 1.1.0 table is refused there, clearly."""
    old = kad.validate(stays=STAYS, schema_version="1.0.0", as_of=AS_OF)
    new = kad.validate(stays=STAYS, as_of=AS_OF)
    assert old.schema_version == "1.0.0" and new.schema_version == "1.1.0"
    assert old.tables["stays"].equals(new.tables["stays"].replace_schema_metadata(
        old.tables["stays"].schema.metadata))
    with pytest.raises(ValueError, match="added in 1.1.0"):
        kad.validate(stays=STAYS, experience={"response_id": ["R1"]}, schema_version="1.0.0")


def test_experience_rows_are_checked_against_the_stays() -> None:
    """Every experience row is accepted or rejected, located and explained; stays are the reference."""
    exp = {"response_id": ["R1", "R1", "R2", "R3", "R4"], "stay_id": ["A1", "A1", "A2", "A9", "A2"],
           "respondent": ["pasient", "patient", "fastlege", "patient", "referring_doctor"],
           "responded": ["ja", "ja", "nei", "ja", "ja"],
           "item": ["gspeq_01", "overall_rating", None, "gspeq_02", "gspeq_01"],
           "score": ["4", "5", None, "3", "4"]}
    report = kad.validate(stays=STAYS, experience=exp, as_of=AS_OF)
    s = report.summaries["experience"]
    assert (s.rows_read, s.rows_valid, s.rows_rejected) == (5, 3, 2)
    errors = report.issues.filter(pc.equal(report.issues["severity"], "error")).to_pylist()
    assert sorted((e["row"], e["rule"]) for e in errors) == [
        (4, "experience-stay-unknown"), (5, "experience-item-not-for-respondent")]
    assert all(e["message_nb"] and e["message_en"] and e["table"] == "experience" for e in errors)
    # without stays, the reference cannot be checked (and is not)
    alone = kad.validate(experience=exp, as_of=AS_OF)
    assert alone.summaries["experience"].rows_rejected == 1


def test_hospital_admissions_whole_year_or_months() -> None:
    """A year given both whole and by month is rejected (it would count twice); others are kept."""
    hosp = {"kommune": ["3301", "3301", "3301", "3303"], "år": ["2025", "2025", "2024", "2025"],
            "måned": [None, "1", None, "3"], "innleggelser": ["100", "10", "120", "5"]}
    report = kad.validate(hospital_admissions=hosp, as_of=AS_OF)
    s = report.summaries["hospital_admissions"]
    assert (s.rows_read, s.rows_valid, s.rows_rejected) == (4, 2, 2)
    assert set(report.tables["hospital_admissions"]["year"].to_pylist()) == {2024, 2025}


def test_summary_counts_and_effect_of_a_duplicate_key() -> None:
    """A duplicate stay id is rejected and its effect named (every indicator on stays); 1 row is singular."""
    dup = {k: [*v, v[0]] for k, v in STAYS.items()}  # A1 twice
    report = kad.validate(stays=dup, as_of=AS_OF)
    effect = [a for a in report.affected_indicators().to_pylist() if a["rule"] == "duplicate-key"]
    assert len(effect) == 1 and effect[0]["rows"] == 2
    on_stays = {s.id for s in kad.catalogue() if "stays" in s.raw["data_requirements"]["tables"]
                and s.status in ("adopted", "proposed")}
    assert set(effect[0]["indicators"]) == on_stays
    en, nb = report.summary_text(lang="en"), report.summary_text(lang="nb")
    assert "stays: 3 rows read = 1 accepted + 2 rejected; 0 accepted rows with warnings" in en
    assert f"2 rows rejected (duplicate-key, stay_id): left out of all {len(on_stays)} indicators on stays" in en
    assert "stays: 3 rader lest = 1 godkjent + 2 avvist" in nb
    one = kad.validate(stays={k: v[:1] for k, v in STAYS.items()}, as_of=AS_OF).summary_text(lang="en")
    assert "stays: 1 row read = 1 accepted + 0 rejected" in one


def test_notebook_html_escapes_the_data() -> None:
    """The report's notebook view shows the counts and escapes every value from the data."""
    bad = {**STAYS, "unit_id": ["<script>alert(1)</script>", "U1"], "sex": ["<b>x</b>", "1"]}
    report = kad.validate(stays=bad, as_of=AS_OF)
    for lang in ("en", "nb"):
        html = report._repr_html_(lang=lang)
        assert "<script>" not in html and "<b>x" not in html
        assert "&lt;b&gt;x&lt;/b&gt;" in html
    assert "<td>stays</td><td>2</td><td>1</td><td>1</td>" in report._repr_html_()


def test_experience_from_a_norwegian_workbook_sheet(tmp_path: Path) -> None:
    """One workbook, one sheet per table: the sheet 'erfaringer' is read as the experience table."""
    from openpyxl import Workbook

    wb = Workbook()
    ws = wb.active
    ws.title = "opphold"
    ws.append(list(STAYS))
    for row in zip(*STAYS.values(), strict=True):
        ws.append(list(row))
    ex = wb.create_sheet("Erfaringer")
    ex.append(["skjema_id", "opphold_id", "respondent", "besvart", "spørsmål", "svar"])
    ex.append(["R1", "A1", "pasient", "ja", "gspeq_01", 4])
    ex.append(["R2", "A2", "pasient", "nei", None, None])
    path = tmp_path / "kad.xlsx"
    wb.save(path)
    report = kad.validate(stays=path, experience=path, as_of=AS_OF)
    assert report.summaries["experience"].rows_valid == 2
    assert report.tables["experience"]["responded"].to_pylist() == [True, False]


def test_an_empty_optional_key_part_is_a_value_of_its_own() -> None:
    """Two whole-year rows for one municipality and year repeat the key (month empty in both)."""
    hosp = {"municipality": ["3301", "3301", "3303"], "year": ["2024", "2024", "2024"],
            "month": [None, None, None], "admissions": ["10", "11", "12"]}
    report = kad.validate(hospital_admissions=hosp, as_of=AS_OF)
    dups = report.issues.filter(pc.equal(report.issues["rule"], "duplicate-key")).to_pylist()
    assert [d["row"] for d in dups] == [1, 2]
    assert dups[0]["value"] == "3301 / 2024 / -"
    assert report.summaries["hospital_admissions"].rows_valid == 1
    # a questionnaire sent but not answered twice: one non-response row per questionnaire
    exp = {"response_id": ["R1", "R1"], "stay_id": ["A1", "A1"], "respondent": ["patient", "patient"],
           "responded": [False, False], "item": [None, None], "score": [None, None]}
    rep = kad.validate(stays=STAYS, experience=exp, as_of=AS_OF)
    assert rep.summaries["experience"].rows_rejected == 2


def test_every_spec_yaml_is_portable_and_texts_are_whole() -> None:
    """Every spec file parses with PyYAML too, and no nb/en text was cut at an unquoted comma."""
    import yaml

    from kadindicators._resources import spec_root
    from kadindicators.errors import SpecError
    from kadindicators.spec.loader import _text

    def walk(o: object, where: str) -> None:
        if isinstance(o, dict):
            assert not ({"nb", "en"} <= set(o) and set(o) - {"nb", "en"}), where
            for k, v in o.items():
                walk(v, f"{where}.{k}")
        elif isinstance(o, list):
            for i, v in enumerate(o):
                walk(v, f"{where}[{i}]")

    for path in sorted(spec_root().rglob("*.yaml")):
        walk(yaml.safe_load(path.read_text(encoding="utf-8")), str(path))
    with pytest.raises(SpecError, match="quote"):
        _text({"nb": "Kjønn (1 mann", "2 kvinne).": None, "en": "Sex"}, Path("x.yaml"), "description")
