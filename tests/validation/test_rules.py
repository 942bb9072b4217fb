"""Every rule in the catalogue is implemented and fires where it should."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pytest

import kadindicators as kad
from kadindicators.spec import load_schema
from kadindicators.validation import _checks

from .messy import UNITS_CSV, build

AS_OF = dt.date(2026, 1, 1)


def test_every_table_rule_has_an_implementation() -> None:
    """Each rule a table file lists has a registered check, and each check a catalogue entry."""
    schema = load_schema()
    listed = {r for t in schema.tables.values() for r in t.rules}
    assert listed <= set(_checks.CHECKS)
    assert set(_checks.CHECKS) <= set(schema.rules)


def _all_fired(tmp_path: Path) -> set[str]:
    text, _, _ = build()
    s = tmp_path / "s.csv"
    s.write_bytes(text.encode("cp1252"))
    u = tmp_path / "u.csv"
    u.write_text(UNITS_CSV + "U3,Dup,3301,3301,mental_health_substance,2,2020-06-01,\n"
                 "U4,Bad,3301,3301,somatic,2,2021-01-01,2020-01-01\n"
                 "U5,Long name,=3301,3301,somatic,2,2021-01-01,\n", encoding="utf-8")
    p = tmp_path / "p.csv"
    p.write_text("kommune;år;kjønn;aldersgruppe;befolkning;ekstra\n3301;2025;1;80-89;1 234;x\n"
                 "0602;2025;2;80-89;1200;x\n3301;2025;1;80-89;5;x\n", encoding="utf-8")
    report = kad.validate(stays=s, units=u, population=p, as_of=AS_OF)
    return set(report.issues["rule"].to_pylist()) | _new_tables_fired()


def _new_tables_fired() -> set[str]:
    """Planted rows of the schema 1.1.0 tables (experience, hospital_admissions)."""
    stays = {"stay_id": ["A1", "A2"], "patient_id": ["p1", "p2"], "unit_id": ["U1", "U1"],
             "municipality": ["3301", "3301"], "admitted_at": ["2025-01-02T10:00", "2025-01-03T09:15"],
             "discharged_at": ["2025-01-04T12:00", "2025-01-05T08:00"], "age": [84, 77], "sex": ["2", "1"],
             "care_track": ["somatic", "somatic"], "discharged_to": ["home", "home"]}
    exp = {"response_id": ["R1", "R2", "R3", "R4", "R5", "R5", "R6"],
           "stay_id": ["A1", "A9", "A2", "A2", "A1", "A2", "A1"],
           "respondent": ["patient", "patient", "patient", "referring_doctor", "patient", "patient", "patient"],
           "responded": [False, True, True, True, True, True, True],
           "item": ["gspeq_01", "gspeq_02", None, "gspeq_01", "gspeq_03", "gspeq_04", "overall_rating"],
           "score": [4, 3, 4, 4, 2, 2, 5]}
    hosp = {"municipality": ["3301", "3301", "3303"], "year": [2025, 2025, 2025], "month": [None, 1, 3],
            "admissions": [100, 10, 5]}
    report = kad.validate(stays=stays, experience=exp, hospital_admissions=hosp, as_of=AS_OF)
    return set(report.issues["rule"].to_pylist())


def test_every_active_rule_can_fire(tmp_path: Path) -> None:
    """The planted data (stays, units, population) triggers every active rule but a known few."""
    fired = _all_fired(tmp_path)
    # Rules triggered by their own dedicated tests below (file-level and special formats).
    elsewhere = {"file-unreadable", "column-missing", "column-duplicate", "value-too-long",
                 "excel-serial-date", "pattern-mismatch", "recommended-column-missing",
                 "required-missing"}
    active = {r.id for r in load_schema().rules.values() if r.status == "active"}
    assert active - fired - elsewhere == set()


def test_special_rules_fire() -> None:
    """Duplicate columns, long values, Excel serial dates and pattern mismatches are reported."""
    t = pa.table({
        "stay_id": ["A" * 70, "B1"], "patient_id": ["p", "q"], "unit_id": ["U", "U"],
        "municipality": ["3301", "3301"], "admitted_at": ["45658.5", "2025-01-02T10:00"],
        "discharged_at": ["2025-01-03 10:00", "2025-01-03T10:00:00+01:00"], "age": [80, 80],
        "sex": ["2", "2"], "care_track": ["somatic", "somatic"], "discharged_to": ["home", "home"],
        "diagnosis_icd10": ["J18.9", "nope"], "alder": ["1", "2"],
    })
    rep = kad.validate(stays=t, as_of=AS_OF)
    fired = {(r["field"], r["rule"]) for r in rep.issues.to_pylist()}
    assert ("stay_id", "value-too-long") in fired
    assert ("admitted_at", "excel-serial-date") in fired
    assert ("diagnosis_icd10", "code-invalid-nullified") in fired
    assert ("age", "column-duplicate") in fired
    assert ("examined_before_admission", "recommended-column-missing") in fired
    serial = rep.valid.filter(pc.equal(rep.valid["stay_id"], "B1"))
    assert serial.num_rows == 1


def test_excel_serial_date_value() -> None:
    """45658.5 is 2025-01-01 12:00 local time."""
    t = pa.table({"stay_id": ["A"], "patient_id": ["p"], "unit_id": ["U"], "admitted_at": ["45658.5"],
                  "age": ["80"], "sex": ["2"], "care_track": ["somatic"]})
    rep = kad.validate(stays=t, as_of=AS_OF)
    got = rep.valid["admitted_at"][0].as_py()
    assert (got.year, got.month, got.day, got.hour) == (2025, 1, 1, 12)


def test_missing_required_column_is_an_input_error(tmp_path: Path) -> None:
    """A file without a required column cannot be used: one clear InputError naming it."""
    p = tmp_path / "s.csv"
    p.write_text("stay_id;patient_id\nA;p\n", encoding="utf-8")
    with pytest.raises(kad.InputError, match="admitted_at"):
        kad.validate(stays=p)


@pytest.mark.parametrize("content", [b"", b"\x00\x01\x02binary\x00" * 10, b"PK\x03\x04broken"],
                         ids=["empty", "binary", "broken-xlsx"])
def test_unreadable_files_are_input_errors(tmp_path: Path, content: bytes) -> None:
    """Empty, binary and damaged files give an InputError with a bilingual message."""
    p = tmp_path / "s.csv"
    p.write_bytes(content)
    with pytest.raises(kad.InputError) as info:
        kad.validate(stays=p)
    assert str(p) in info.value.message("nb") and str(p) in info.value.message("en")


def test_raise_for_errors(tmp_path: Path) -> None:
    """raise_for_errors raises DataValidationError when rows were rejected, and not otherwise."""
    text, _, _ = build()
    s = tmp_path / "s.csv"
    s.write_bytes(text.encode("cp1252"))
    report = kad.validate(stays=s, as_of=AS_OF)
    with pytest.raises(kad.DataValidationError) as info:
        report.raise_for_errors()
    assert info.value.report is report
    clean = kad.validate(stays=report.valid, as_of=AS_OF)
    clean.raise_for_errors()


def test_as_of_accepts_iso_text() -> None:
    """as_of may be an ISO string, as in compute()."""
    t = pa.table({"stay_id": ["A"], "patient_id": ["p"], "unit_id": ["U"], "admitted_at": ["2030-01-02T10:00"],
                  "age": ["80"], "sex": ["2"], "care_track": ["somatic"]})
    rules = kad.validate(stays=t, as_of="2026-01-01").issues["rule"].to_pylist()
    assert "future-date" in rules
