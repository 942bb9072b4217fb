"""The command line: exit codes, languages, outputs; no tracebacks."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from kadindicators.cli import main

from ..validation.messy import UNITS_CSV, build


@pytest.fixture
def files(tmp_path: Path) -> tuple[Path, Path]:
    text, _, _ = build()
    s = tmp_path / "opphold.csv"
    s.write_bytes(text.encode("cp1252"))
    u = tmp_path / "units.csv"
    u.write_text(UNITS_CSV, encoding="utf-8")
    return s, u


def test_rejected_rows_exit_1_and_text_report(files: tuple[Path, Path],
                                              capsys: pytest.CaptureFixture[str]) -> None:
    """Rejected rows give exit code 1 and a Norwegian summary that accounts for every row."""
    s, u = files
    assert main(["validate", "--stays", str(s), "--units", str(u), "--as-of", "2026-01-01"]) == 1
    out = capsys.readouterr().out
    assert "rader lest" in out and f"{s}:3" in out


def test_json_output_has_the_documented_keys(files: tuple[Path, Path],
                                             capsys: pytest.CaptureFixture[str]) -> None:
    """--format json prints rows_read, rows_valid, rows_rejected, schema_version and issues."""
    s, u = files
    main(["validate", "--stays", str(s), "--units", str(u), "--format", "json", "--lang", "en"])
    doc = json.loads(capsys.readouterr().out)
    assert {"rows_read", "rows_valid", "rows_rejected", "schema_version", "issues"} <= set(doc)
    assert doc["rows_read"] == doc["rows_valid"] + doc["rows_rejected"]
    assert {"row", "stay_id", "field", "rule", "severity", "message_nb", "message_en"} <= set(doc["issues"][0])


def test_clean_file_exits_0(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A file without errors exits 0 (warnings allowed), in English on request."""
    p = tmp_path / "s.csv"
    p.write_text("stay_id,patient_id,unit_id,admitted_at,discharged_at,age,sex,care_track,discharged_to\n"
                 "A,p,U,2025-01-02T10:00,2025-01-03T10:00,80,2,somatic,home\n", encoding="utf-8")
    assert main(["--lang", "en", "validate", "--stays", str(p), "--as-of", "2026-01-01"]) == 0
    assert "stays: 1 row read = 1 accepted + 0 rejected" in capsys.readouterr().out


@pytest.mark.parametrize("content", [None, b"", b"\x00\x01binary\x00" * 20])
def test_unusable_file_exits_3_without_traceback(tmp_path: Path, content: bytes | None,
                                                 capsys: pytest.CaptureFixture[str]) -> None:
    """Missing, empty and binary files exit 3 with one message and no traceback."""
    p = tmp_path / "s.csv"
    if content is not None:
        p.write_bytes(content)
    assert main(["validate", "--stays", str(p)]) == 3
    err = capsys.readouterr().err
    assert "Traceback" not in err and str(p) in err


def test_usage_error_exits_2() -> None:
    """A missing required option is argparse's usage error, exit 2."""
    with pytest.raises(SystemExit) as info:
        main(["validate"])
    assert info.value.code == 2


def test_internal_error_exits_70_with_one_line(monkeypatch: pytest.MonkeyPatch, files: tuple[Path, Path],
                                               capsys: pytest.CaptureFixture[str]) -> None:
    """An unexpected exception gives exit 70 and one bilingual line, no traceback."""
    import kadindicators

    def boom(**kwargs: object) -> None:
        raise RuntimeError("boom")

    monkeypatch.setattr(kadindicators, "validate", boom)
    assert main(["validate", "--stays", str(files[0])]) == 70
    err = capsys.readouterr().err
    assert "Traceback" not in err and "Intern feil" in err and "Internal error" in err


def test_issues_and_rejected_outputs(files: tuple[Path, Path], tmp_path: Path,
                                     capsys: pytest.CaptureFixture[str]) -> None:
    """--issues writes every issue; --rejected writes rejected rows (formula cells neutralised) with a warning."""
    s, u = files
    issues, rejected = tmp_path / "issues.csv", tmp_path / "rejected.csv"
    main(["validate", "--stays", str(s), "--units", str(u), "--issues", str(issues),
          "--rejected", str(rejected), "--as-of", "2026-01-01"])
    err = capsys.readouterr().err
    assert "personopplysninger" in err
    text = rejected.read_text(encoding="utf-8-sig")
    assert "'=HYPERLINK" in text and "\n=HYPERLINK" not in text
    assert "row-ragged" in text  # a line that could not be split is listed too
    assert issues.read_text(encoding="utf-8-sig").count("\n") > 10


def test_help_is_bilingual(capsys: pytest.CaptureFixture[str]) -> None:
    """The help text follows --lang."""
    with pytest.raises(SystemExit):
        main(["--lang", "en", "validate", "--help"])
    en = capsys.readouterr().out
    with pytest.raises(SystemExit):
        main(["validate", "--help"])
    nb = capsys.readouterr().out
    assert "stays file" in en and "oppholdsfil" in nb


@pytest.mark.skipif(shutil.which("kadindicators") is None, reason="console script not installed")
def test_console_script_runs() -> None:
    """The installed console script starts and prints its version."""
    out = subprocess.run(["kadindicators", "--version"], capture_output=True, text=True, check=True)
    assert out.stdout.startswith("kadindicators ")


def test_python_m_runs() -> None:
    """``python -m kadindicators --version`` works."""
    out = subprocess.run([sys.executable, "-m", "kadindicators", "--version"], capture_output=True,
                         text=True, check=True)
    assert out.stdout.startswith("kadindicators ")


def test_demo_runs_the_chain() -> None:
    """The demo writes data, validation report, indicators, national form and feedback reports.

    It reuses the one demo run of the test suite (offline, in ``tests/test_no_network.py``):
    the demo renders a report per unit, which is the slowest thing the suite does.
    """
    import openpyxl
    import pyarrow.parquet as pq

    from ..test_no_network import offline_demo

    run = offline_demo()
    assert run["code"] == 0
    reports = run["out"] / "reports"
    for name in ("validation.json", "indicators.parquet", "indicators.csv", "national_form_2024.xlsx",
                 "national_form_2024.csv", "feedback_region.html"):
        assert (reports / name).is_file(), name
    assert (run["out"] / "data" / "opphold_norsk.csv").is_file()
    res = pq.read_table(reports / "indicators.parquet")
    assert {"KAD-Q01", "KAD-U01", "KAD-U03"} <= set(res["indicator_id"].to_pylist())
    assert b"kadindicators.spec_hash" in res.schema.metadata
    assert b"kadindicators.disclosure" in res.schema.metadata  # units and municipalities protected together
    # one feedback report per unit with valid stays, each a complete HTML page
    units = sorted((reports / "units").glob("*.html"))
    stays = pq.read_table(reports / "stays_valid.parquet")
    assert len(units) == len(set(stays["unit_id"].to_pylist()))
    assert all(p.read_text(encoding="utf-8").rstrip().endswith("</html>") for p in units)
    wb = openpyxl.load_workbook(reports / "national_form_2024.xlsx", read_only=True)
    assert len(wb.sheetnames) >= 3


def test_demo_validates_and_uses_the_optional_tables() -> None:
    """The demo writes experience and hospital admissions, validates them with the rest, and computes
    every registered proposed indicator into a file of its own, protected like the main one."""
    import json

    import pyarrow as pa
    import pyarrow.compute as pc
    import pyarrow.parquet as pq

    import kadindicators as kad
    from kadindicators.indicators import REGISTRY

    from ..test_no_network import offline_demo

    run = offline_demo()
    assert run["code"] == 0
    data, reports = run["out"] / "data", run["out"] / "reports"
    for name in ("experience.csv", "hospital_admissions.csv"):
        assert (data / name).is_file(), name
    doc = json.loads((reports / "validation.json").read_text(encoding="utf-8"))
    for name in ("experience", "hospital_admissions"):
        summary = doc["tables"][name]
        assert summary["rows_read"] == summary["rows_valid"] > 0 and summary["rows_rejected"] == 0
    text = (reports / "validation_en.txt").read_text(encoding="utf-8")
    assert "experience: " in text and "hospital_admissions: " in text
    # adopted indicators only in the main file, the registered proposed ones in their own
    main_ids = set(pq.read_table(reports / "indicators.parquet")["indicator_id"].to_pylist())
    proposed = [s.id for s in kad.catalogue(status="proposed") if s.id in REGISTRY]
    assert main_ids and not main_ids & set(proposed)
    assert proposed, "KAD-P01 and KAD-P02 are proposed and implemented"
    res = pq.read_table(reports / "indicators_proposed.parquet")
    assert set(res["indicator_id"].to_pylist()) == set(proposed)
    meta = res.schema.metadata
    assert b"kadindicators.disclosure" in meta  # protected, units and municipalities together
    assert set(json.loads(meta[b"kadindicators.indicator_versions"])) == set(proposed)
    assert json.loads(meta[b"kadindicators.by"]) == ["unit_id", "municipality"]
    # no count from 1 to 4 is shown for a proportion (numerator and denominator are counts), in either file
    for t in (res, pq.read_table(reports / "indicators.parquet")):
        ids = [i for i in set(t["indicator_id"].to_pylist()) if kad.get_indicator(i).unit == "proportion"]
        counts = t.filter(pc.is_in(t["indicator_id"], value_set=pa.array(ids)))
        assert counts.num_rows > 0
        for col in ("numerator", "denominator"):
            shown = pc.drop_null(counts[col]).to_pylist()
            assert not [v for v in shown if 0 < v < 5], col
    csv_text = (reports / "indicators_proposed.csv").read_text(encoding="utf-8-sig")
    assert csv_text.count("\n") == res.num_rows + 1
    # experience indicators were computed from the questionnaires (some values, not only no_data)
    experience_ids = [i for i in proposed
                      if "experience" in kad.get_indicator(i).raw["data_requirements"]["tables"]]
    for iid in experience_ids:
        rows = res.filter(pc.equal(res["indicator_id"], iid))
        assert "ok" in rows["status"].to_pylist(), iid


def test_compute_command(files: tuple[Path, Path], tmp_path: Path) -> None:
    """kadindicators compute writes a CSV of results with suppressed cells left empty."""
    s, u = files
    out = tmp_path / "r.csv"
    assert main(["compute", "--stays", str(s), "--units", str(u), "--indicators", "KAD-Q01,KAD-U04",
                 "--as-of", "2026-01-01", "-o", str(out)]) == 0
    text = out.read_text(encoding="utf-8-sig")
    assert text.startswith("indicator_id,indicator_version,period")
    assert "KAD-U04" in text


def test_argparse_words_follow_the_language(capsys: pytest.CaptureFixture[str]) -> None:
    """Help and usage errors are Norwegian with --lang nb (argparse's own words too), English with en."""
    import argparse

    original = argparse._  # type: ignore[attr-defined]
    with pytest.raises(SystemExit):
        main(["--lang", "nb", "--help"])
    out = capsys.readouterr().out
    assert out.startswith("bruk: kadindicators") and "valg:" in out and "vis denne hjelpeteksten" in out
    assert main.__module__ and argparse._ is original  # type: ignore[attr-defined]
    with pytest.raises(SystemExit) as exc:
        main(["--lang", "nb", "compute"])
    assert exc.value.code == 2 and "feil: disse argumentene mangler: --stays" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main(["--lang", "en", "compute"])
    assert "error: the following arguments are required: --stays" in capsys.readouterr().err


def test_compute_protect_adds_totals_and_leaves_nothing_recoverable(tmp_path: Path) -> None:
    """--protect: every coarser total in the file, and no suppressed count recoverable from it.

    Checked with the independent LP attacker of the disclosure tests, against the true
    counts (suppression 1) of the same cells.
    """
    import pyarrow as pa
    import pyarrow.parquet as pq

    import kadindicators as kad

    from ..test_disclosure import attack_results

    region = kad.synth.generate(years=(2024,), seed=2, scale=0.2)
    paths = {}
    for name in ("stays", "units"):
        paths[name] = tmp_path / f"{name}.parquet"
        pq.write_table(getattr(region, name), paths[name])
    out = tmp_path / "r.parquet"
    ids = "KAD-Q01,KAD-Q02,KAD-U04"
    assert main(["--lang", "en", "compute", "--stays", str(paths["stays"]), "--units", str(paths["units"]),
                 "--indicators", ids, "--strata", "sex", "--as-of", "2025-01-01", "--protect",
                 "-o", str(out)]) == 0
    got = pq.read_table(out)
    assert {"unit_id", "sex"} <= set(got.column_names)
    levels = {(u is None, s is None) for u, s in zip(got["unit_id"].to_pylist(), got["sex"].to_pylist(),
                                                     strict=True)}
    assert levels == {(False, False), (False, True), (True, False), (True, True)}  # unit x sex down to region
    info = json.loads(got.schema.metadata[b"kadindicators.disclosure"])
    assert info["secondary"] > 0  # not vacuous: primary suppression alone would not do

    def levels_of(suppression: int) -> pa.Table:
        parts = [kad.compute(stays=region.stays, units=region.units, indicators=ids.split(","), by=by,
                             strata=strata, as_of="2025-01-01", suppression=suppression)
                 for by, strata in ((("unit_id",), ("sex",)), (("unit_id",), ()), ((), ("sex",)), ((), ()))]
        return pa.concat_tables(parts, promote_options="default").select(got.column_names)

    given, truth = levels_of(5), levels_of(1)
    assert given.num_rows == got.num_rows
    assert [] == attack_results(got, given, truth)
    assert [] != attack_results(given, given, truth)  # without --protect, counts could be worked out
