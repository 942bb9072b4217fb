"""The command line with the optional tables of schema 1.1.0: ``--experience`` and ``--hospital-admissions``."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest

import kadindicators as kad
from kadindicators.cli import main
from kadindicators.indicators import REGISTRY

AS_OF = "2025-01-01"


@pytest.fixture(scope="module")
def data(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """A small synthetic region (2024) as plain CSV files, the optional tables included."""
    region = kad.synth.generate(years=(2024,), seed=3, scale=0.2)
    return kad.synth.write(region, tmp_path_factory.mktemp("data"), formats=["csv"])


def _args(data: dict[str, Path], *names: str) -> list[str]:
    flags = {"stays": "--stays", "units": "--units", "population": "--population",
             "experience": "--experience", "hospital_admissions": "--hospital-admissions"}
    return [x for n in names for x in (flags[n], str(data[f"{n}.csv"]))]


def _proposed_using(table: str) -> list[str]:
    """Registered proposed indicators whose spec needs ``table``."""
    ids = [s.id for s in kad.catalogue(status="proposed") if s.id in REGISTRY
           and table in (s.raw.get("data_requirements") or {}).get("tables", ())]
    if not ids:
        pytest.skip(f"no registered indicator uses {table} yet")
    return ids


def test_validate_reads_both_tables(data: dict[str, Path], capsys: pytest.CaptureFixture[str]) -> None:
    """Clean files exit 0; the text report accounts for the rows of both tables, in either language."""
    assert main(["--lang", "en", "validate", *_args(data, "stays", "units", "experience", "hospital_admissions"),
                 "--as-of", AS_OF]) == 0
    out = capsys.readouterr().out
    for name in ("experience", "hospital_admissions"):
        n = len(data[f"{name}.csv"].read_text(encoding="utf-8").splitlines()) - 1
        assert f"{name}: {n} rows read = {n} accepted + 0 rejected" in out
    assert main(["validate", *_args(data, "stays", "experience"), "--as-of", AS_OF]) == 0
    out = capsys.readouterr().out
    assert "experience: " in out and "rader lest" in out and "hospital_admissions" not in out


def test_validate_json_has_the_tables(data: dict[str, Path], capsys: pytest.CaptureFixture[str]) -> None:
    """--format json gives a summary per table, the new ones included."""
    assert main(["validate", *_args(data, "stays", "units", "population", "experience", "hospital_admissions"),
                 "--format", "json", "--as-of", AS_OF]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert set(doc["tables"]) == {"stays", "units", "population", "experience", "hospital_admissions"}
    assert doc["tables"]["experience"]["rows_read"] > 0
    assert doc["tables"]["hospital_admissions"]["rows_rejected"] == 0


def test_bad_rows_in_the_new_tables_exit_1(data: dict[str, Path], tmp_path: Path,
                                           capsys: pytest.CaptureFixture[str]) -> None:
    """An answer about an unknown stay, a score out of range and a year given twice are errors (exit 1)."""
    first_stay = data["experience.csv"].read_text(encoding="utf-8").splitlines()[1].split(",")[1]
    bad_exp = tmp_path / "erfaringer.csv"
    bad_exp.write_text(data["experience.csv"].read_text(encoding="utf-8")
                       + "Sx,NOPE-1,patient,true,gspeq_01,3\n"
                       + f"Sy,{first_stay},patient,true,gspeq_02,9\n", encoding="utf-8")
    bad_hosp = tmp_path / "sykehus.csv"
    bad_hosp.write_text(data["hospital_admissions.csv"].read_text(encoding="utf-8") + "3201,2024,,10000,x\n",
                        encoding="utf-8")
    issues = tmp_path / "issues.csv"
    code = main(["--lang", "en", "validate", "--stays", str(data["stays.csv"]), "--experience", str(bad_exp),
                 "--hospital-admissions", str(bad_hosp), "--issues", str(issues), "--as-of", AS_OF])
    assert code == 1
    out = capsys.readouterr().out
    assert "experience: " in out and "+ 2 rejected" in out
    assert "hospital_admissions: " in out and "+ 13 rejected" in out  # the whole-year row and its 12 months
    with issues.open(encoding="utf-8-sig", newline="") as fh:
        found = {(r["table"], r["rule"]) for r in csv.DictReader(fh)}
    assert {("experience", "experience-stay-unknown"), ("experience", "range-out-of-bounds"),
            ("hospital_admissions", "hospital-admissions-year-and-months")} <= found


@pytest.mark.parametrize("command", ["validate", "compute"])
def test_unusable_optional_files_exit_3(data: dict[str, Path], tmp_path: Path, command: str,
                                        capsys: pytest.CaptureFixture[str]) -> None:
    """A missing file or one without a required column exits 3 with one message, no traceback."""
    out = ["-o", str(tmp_path / "r.csv")] if command == "compute" else []
    missing = tmp_path / "finnes-ikke.csv"
    assert main([command, "--stays", str(data["stays.csv"]), "--hospital-admissions", str(missing), *out]) == 3
    err = capsys.readouterr().err
    assert str(missing) in err and "Traceback" not in err
    no_col = tmp_path / "erfaringer.csv"
    lines = data["experience.csv"].read_text(encoding="utf-8").splitlines()
    no_col.write_text("\n".join(",".join(x.split(",")[:3]) for x in lines) + "\n", encoding="utf-8")
    assert main(["--lang", "en", command, "--stays", str(data["stays.csv"]), "--experience", str(no_col),
                 *out]) == 3
    err = capsys.readouterr().err
    assert "responded" in err and "Traceback" not in err


def test_help_names_the_options_in_both_languages(capsys: pytest.CaptureFixture[str]) -> None:
    """validate and compute list --experience and --hospital-admissions, in Norwegian and English."""
    for command in ("validate", "compute"):
        with pytest.raises(SystemExit):
            main(["--lang", "en", command, "--help"])
        en = capsys.readouterr().out
        with pytest.raises(SystemExit):
            main(["--lang", "nb", command, "--help"])
        nb = capsys.readouterr().out
        assert "--experience FILE" in en and "--hospital-admissions FILE" in en
        assert "answers to experience questionnaires" in en and "acute hospital admissions" in en
        assert "erfaringsundersøkelser" in nb and "akutte sykehusinnleggelser" in nb


def test_compute_passes_the_experience_table(data: dict[str, Path], tmp_path: Path,
                                             capsys: pytest.CaptureFixture[str]) -> None:
    """compute --experience computes the experience indicators, equal to the library on the same files."""
    ids = _proposed_using("experience")
    out = tmp_path / "erfaringer.parquet"
    assert main(["compute", *_args(data, "stays", "units", "population", "experience"),
                 "--indicators", ",".join(ids), "--as-of", AS_OF, "-o", str(out)]) == 0
    assert "experience: " in capsys.readouterr().err  # rows used, per table
    import pyarrow.parquet as pq

    got = pq.read_table(out)
    assert set(got["indicator_id"].to_pylist()) == set(ids)
    report = kad.validate(**{n: data[f"{n}.csv"] for n in ("stays", "units", "population", "experience")})
    expected = kad.compute(stays=report.valid, units=report.tables["units"],
                           population=report.tables["population"], experience=report.tables["experience"],
                           indicators=ids, as_of=AS_OF)
    assert got.equals(expected)
    assert "ok" in got["status"].to_pylist()  # numbers, not only no_data


def test_compute_passes_the_hospital_table(data: dict[str, Path], tmp_path: Path) -> None:
    """compute --hospital-admissions computes the hospital indicators by municipality."""
    ids = _proposed_using("hospital_admissions")
    out = tmp_path / "sykehus.csv"
    assert main(["compute", *_args(data, "stays", "units", "population", "hospital_admissions"),
                 "--indicators", ",".join(ids), "--by", "municipality", "--as-of", AS_OF, "-o", str(out)]) == 0
    with out.open(encoding="utf-8-sig", newline="") as fh:
        rows = list(csv.DictReader(fh))
    assert {r["indicator_id"] for r in rows} == set(ids)
    assert any(r["status"] == "ok" and r["value"] for r in rows)
