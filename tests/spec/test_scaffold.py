"""spec new: the draft passes lint, TODO markers are found, nothing is overwritten or written outside."""

from __future__ import annotations

import datetime as dt
import json
import os
import shutil
from pathlib import Path

import attrs
import pyarrow.compute as pc
import pytest

from kadindicators import _yaml
from kadindicators._resources import spec_root
from kadindicators.cli import main
from kadindicators.errors import SpecError
from kadindicators.spec.indicators import format_schema, load_indicator_file
from kadindicators.spec.lint import LintIssue, lint
from kadindicators.spec.scaffold import TODO, new_indicator, render_case, todo_markers
from kadindicators.testing.conformance import case_input, load_cases, run_case
from kadindicators.validation import validate

DAY = dt.date(2027, 3, 1)


@pytest.fixture
def root(tmp_path: Path) -> Path:
    r = tmp_path / "spec"
    r.mkdir()
    shutil.copy(spec_root() / "indicator.schema.json", r / "indicator.schema.json")
    return r


def _errors(paths: list[Path]) -> list[str]:
    """Lint issues that fail the check (warnings, where lint marks them, do not)."""
    return [i.format("en") for i in lint(paths, run_conformance=False)
            if getattr(i, "severity", "error") == "error"]


@pytest.mark.parametrize("unit", format_schema()["properties"]["unit"]["enum"])
def test_draft_passes_lint_for_every_unit(root: Path, unit: str) -> None:
    """The scaffold is a valid draft for every unit: lint finds no error."""
    made = new_indicator("KAD-Q97", title_nb="Andel «x»", title_en='Share of "x"', unit=unit,
                         indicator_type="outcome", root=root, today=DAY)
    assert _errors([made.spec_path]) == []
    spec = load_indicator_file(made.spec_path)
    assert (spec.status, spec.version, spec.unit, spec.type) == ("draft", "0.1.0", unit, "outcome")
    assert spec.title.nb == "Andel «x»" and spec.title.en == 'Share of "x"'
    raw = spec.raw
    assert raw["status_history"] == [{"status": "draft", "date": "2027-03-01"}]
    assert raw["review"]["next_review"] == "2028-03-01"


def test_todo_markers_are_located_and_clearly_marked(root: Path) -> None:
    """Every text left to write carries TODO; the markers are found with their lines."""
    made = new_indicator("KAD-Q97", title_nb="Andel x", title_en="Share of x", root=root, today=DAY)
    raw, lines = _yaml.load_with_lines(made.spec_path)
    found = dict(todo_markers(raw, lines))
    for key in ("description.nb", "description.en", "rationale.en", "interpretation.nb",
                "numerator.text.en", "denominator.text.nb", "population.text.en",
                "period_attribution.text.en", "adjustment.en", "owner", "review.checked_by"):
        assert key in found, key
    text = made.spec_path.read_text(encoding="utf-8").splitlines()
    for key, line in found.items():
        assert line is not None and TODO in text[line - 1], key
    # once the texts are written there is no marker left
    filled = made.spec_path.read_text(encoding="utf-8").replace("TODO: ", "Written: ")
    assert todo_markers(_yaml.loads(filled)) == []
    case = _yaml.load(made.case_path)
    assert [p for p, _ in todo_markers(case)] == ["description.nb", "description.en"]


def test_case_template_is_a_loadable_valid_case_that_fails_until_filled_in(root: Path) -> None:
    """The template loads, its input has no errors, and it cannot pass before expected rows exist."""
    made = new_indicator("KAD-Q97", title_nb="Andel x", title_en="Share of x", root=root, today=DAY)
    (case,) = load_cases(root)
    assert (case.indicator, case.case, case.path) == ("KAD-Q97", "basic", made.case_path)
    for unit in ("proportion", "rate_per_1000"):
        tables = case_input(_case_for(root, "KAD-Q01", unit))
        report = validate(**tables, as_of=dt.date(2100, 1, 1))
        errors = report.issues.filter(pc.equal(report.issues["severity"], "error"))
        assert errors.num_rows == 0, errors.to_pylist()
        assert report.tables["stays"].num_rows == 3
    # with an implementation, the empty expectation fails: it never passes by accident
    problems = run_case(_case_for(root, "KAD-Q01", "proportion"))
    assert problems and "unexpected result row" in problems[0]


def _case_for(root: Path, indicator: str, unit: str) -> object:
    other = root.parent / f"cases-{unit}"
    path = other / "conformance" / indicator / "basic.yaml"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(render_case(indicator, unit=unit), encoding="utf-8")
    (case,) = load_cases(other)
    return case


def test_refuses_to_overwrite_or_reuse(root: Path) -> None:
    """An existing spec, existing cases or a released id are refused; nothing is written."""
    made = new_indicator("KAD-Q97", title_nb="Andel x", title_en="Share of x", root=root, today=DAY)
    made.spec_path.write_text("# my work\n", encoding="utf-8")
    with pytest.raises(SpecError, match="exists already"):
        new_indicator("KAD-Q97", title_nb="Andel y", title_en="Share of y", root=root, today=DAY)
    assert made.spec_path.read_text(encoding="utf-8") == "# my work\n"
    (root / "conformance" / "KAD-Q96").mkdir(parents=True)
    (root / "conformance" / "KAD-Q96" / "mine.yaml").write_text("x: 1\n", encoding="utf-8")
    with pytest.raises(SpecError, match="has conformance cases already"):
        new_indicator("KAD-Q96", title_nb="Andel y", title_en="Share of y", root=root, today=DAY)
    assert not (root / "indicators" / "KAD-Q96.yaml").exists()
    (root / "spec.lock").write_text(json.dumps({"format": 1, "indicators": {"KAD-Q95": {"version": "1.0.0"}}}),
                                    encoding="utf-8")
    with pytest.raises(SpecError, match="never reused"):
        new_indicator("KAD-Q95", title_nb="Andel y", title_en="Share of y", root=root, today=DAY)


@pytest.mark.parametrize("bad", ["KAD-99", "kad-q01", "KAD-Q01/../../x", "../KAD-Q01", "KAD-Q1", ""])
def test_id_pattern_is_enforced(root: Path, bad: str) -> None:
    """Ids that do not match the format's pattern (paths among them) are refused."""
    with pytest.raises(ValueError, match="does not match"):
        new_indicator(bad, title_nb="Andel", title_en="Share", root=root)
    assert not (root / "indicators").exists()


def test_paths_stay_inside_the_spec_root(root: Path, tmp_path: Path) -> None:
    """A folder of the root that leads outside it (a symlink) is refused."""
    outside = tmp_path / "elsewhere"
    outside.mkdir()
    os.symlink(outside, root / "indicators")
    with pytest.raises(SpecError, match="outside the spec root"):
        new_indicator("KAD-Q97", title_nb="Andel x", title_en="Share of x", root=root)
    assert list(outside.iterdir()) == []
    with pytest.raises(SpecError, match="not a spec root"):
        new_indicator("KAD-Q97", title_nb="Andel x", title_en="Share of x", root=outside)


def test_titles_are_checked(root: Path) -> None:
    """A title must be one line."""
    with pytest.raises(ValueError, match="one line"):
        new_indicator("KAD-Q97", title_nb="Andel\x00x", title_en="Share", root=root)
    with pytest.raises(ValueError, match="one line"):
        new_indicator("KAD-Q97", title_nb=" ", title_en="Share", root=root)


def test_cli_new(root: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """spec new writes both files (exit 0), refuses a second time (3) and a bad id (2)."""
    args = ["spec", "new", "KAD-X91", "--title-nb", "Andel x", "--title-en", "Share of x",
            "--unit", "rate_per_1000", "--type", "equity", "--spec-root", str(root), "--lang", "en"]
    assert main(args) == 0
    out = capsys.readouterr().out
    assert "KAD-X91.yaml" in out and "basic.yaml" in out and "TODO" in out
    assert load_indicator_file(root / "indicators" / "KAD-X91.yaml").unit == "rate_per_1000"
    assert main(args) == 3
    assert "exists already" in capsys.readouterr().err
    assert main(["spec", "new", "Q01", "--title-nb", "x", "--title-en", "x", "--spec-root", str(root)]) == 2
    assert "passer ikke med" in capsys.readouterr().err
    assert main(["spec", "new", "KAD-X92", "--title-nb", "x\ny", "--title-en", "x", "--spec-root", str(root)]) == 2
    assert main(["spec", "lint", str(root / "indicators" / "KAD-X91.yaml"), "--no-conformance"]) == 0


def test_case_template_parameters_match_the_unit() -> None:
    """A rate's template is by municipality and has population rows."""
    raw = _yaml.loads(render_case("KAD-U97", unit="rate_per_1000"))
    assert raw["parameters"]["by"] == ["municipality"] and len(raw["input"]["population"]) == 2


@pytest.mark.skipif("severity" not in {a.name for a in attrs.fields(LintIssue)},
                    reason="spec lint has no severities yet (the TODO rule is proposed for lint.py)")
def test_lint_warns_on_todo_in_a_draft_and_fails_once_proposed(root: Path,
                                                               capsys: pytest.CaptureFixture[str]) -> None:
    """TODO texts are warnings in a draft (exit 0) and errors in a proposed spec (exit 1)."""
    made = new_indicator("KAD-Q97", title_nb="Andel x", title_en="Share of x", root=root, today=DAY)
    issues = lint([made.spec_path], run_conformance=False)
    todo = [i for i in issues if i.rule == "todo"]
    assert todo and all(i.severity == "warning" for i in todo) and _errors([made.spec_path]) == []
    assert main(["spec", "lint", str(made.spec_path), "--no-conformance", "--lang", "en"]) == 0
    assert "todo (warning)" in capsys.readouterr().out
    text = made.spec_path.read_text(encoding="utf-8")
    made.spec_path.write_text(text.replace("status: draft\nstatus_history:\n  - {status: draft, date: 2027-03-01}",
                                           "status: proposed\nstatus_history:\n  - {status: proposed, date: 2027-03-01}"),
                              encoding="utf-8")
    errors = _errors([made.spec_path])
    assert errors and all(": todo: " in e for e in errors)
    assert main(["spec", "lint", str(made.spec_path), "--no-conformance"]) == 1
