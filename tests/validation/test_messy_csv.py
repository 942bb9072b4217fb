"""The validator finds every planted error in a messy Norwegian CSV, at the right line."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pytest

import kadindicators as kad

from .messy import UNITS_CSV, build

AS_OF = dt.date(2026, 1, 1)


def _write(tmp_path: Path, text: str, encoding: str, bom: bool = False) -> Path:
    p = tmp_path / "opphold.csv"
    data = text.encode(encoding)
    if bom:
        data = b"\xef\xbb\xbf" + data
    p.write_bytes(data)
    return p


def _units(tmp_path: Path) -> Path:
    u = tmp_path / "units.csv"
    u.write_text(UNITS_CSV, encoding="utf-8")
    return u


def _triples(report: kad.ValidationReport, severities: tuple[str, ...]) -> set[tuple[int, str | None, str]]:
    iss = report.issues.filter(pc.and_(pc.equal(report.issues["table"], "stays"),
                                       pc.is_in(report.issues["severity"], value_set=pa.array(list(severities)))))
    return {(r["row"], r["field"], r["rule"]) for r in iss.to_pylist()}


@pytest.mark.parametrize(
    ("encoding", "newline", "bom"),
    [("cp1252", "\r\n", False), ("utf-8", "\n", True), ("utf-8", "\r\n", False), ("cp1252", "\r", False)],
    ids=["cp1252-crlf", "utf8-bom-lf", "utf8-crlf", "cp1252-cr"],
)
def test_every_planted_problem_found_at_its_line(tmp_path: Path, encoding: str, newline: str,
                                                 bom: bool) -> None:
    """Each planted problem is reported with its line, field and rule, whatever the encoding."""
    text, expected, rows = build(newline)
    report = kad.validate(stays=_write(tmp_path, text, encoding, bom), units=_units(tmp_path),
                          as_of=AS_OF)
    found = _triples(report, ("error", "warning"))
    missing = set(expected) - found
    assert missing == set()
    # no row is rejected that was not meant to be
    errors = _triples(report, ("error",))
    assert errors <= set(expected)
    assert report.rows_read == rows
    assert report.rows_read == report.rows_valid + report.rows_rejected


def test_rejected_rows_are_exactly_the_rows_with_errors(tmp_path: Path) -> None:
    """Rows with an error are rejected, all other rows are accepted."""
    text, _expected, rows = build()
    report = kad.validate(stays=_write(tmp_path, text, "cp1252"), units=_units(tmp_path), as_of=AS_OF)
    error_lines = {line for line, _, _ in _triples(report, ("error",))}
    assert report.rows_rejected == len(error_lines)
    assert report.rows_valid == rows - len(error_lines)
    assert report.valid.schema.equals(kad.arrow_schema("stays"), check_metadata=False)


def test_norwegian_labels_are_mapped_and_reported(tmp_path: Path) -> None:
    """Norwegian labels become codes and each mapping is reported once, as info."""
    text, _, _ = build()
    report = kad.validate(stays=_write(tmp_path, text, "cp1252"), units=_units(tmp_path), as_of=AS_OF)
    first = report.valid.filter(pc.equal(report.valid["stay_id"], "S01")).to_pylist()[0]
    assert (first["sex"], first["admitted_from"], first["discharged_to"]) == ("2", "out_of_hours", "home")
    mapped = report.issues.filter(pc.equal(report.issues["rule"], "label-mapped"))
    assert ("Kvinne", "sex") in {(r["value"], r["field"]) for r in mapped.to_pylist()}
    assert all(r["severity"] == "info" for r in mapped.to_pylist())


def test_messages_are_bilingual_and_located(tmp_path: Path) -> None:
    """Every issue has a Norwegian and an English message and names its source file."""
    text, _, _ = build()
    path = _write(tmp_path, text, "cp1252")
    report = kad.validate(stays=path, units=_units(tmp_path), as_of=AS_OF)
    for r in report.issues.to_pylist():
        assert r["message_nb"] and r["message_en"]
        assert "{" not in r["message_nb"] + r["message_en"]
    stays_sources = set(report.issues.filter(pc.equal(report.issues["table"], "stays"))["source"]
                        .to_pylist())
    assert stays_sources == {str(path)}


def test_personal_values_are_masked(tmp_path: Path) -> None:
    """A patient id never appears as an issue value."""
    text, _, _ = build()
    report = kad.validate(stays=_write(tmp_path, text, "cp1252"), units=_units(tmp_path), as_of=AS_OF)
    values = set(report.issues["value"].to_pylist())
    assert not any(v and v.startswith("p0") for v in values)
