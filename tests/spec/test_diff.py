"""spec diff: field-by-field classification, the decisive conformance check, --rev against git."""

from __future__ import annotations

import copy
import json
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

from kadindicators import _yaml
from kadindicators._resources import spec_root
from kadindicators.cli import main
from kadindicators.spec.diff import diff_files, diff_revision, diff_specs, required_version
from kadindicators.spec.indicators import jsonable, load_indicators
from kadindicators.testing.conformance import ConformanceCase, load_cases

Q01_PATH = spec_root() / "indicators" / "KAD-Q01.yaml"
Q01_TEXT = Q01_PATH.read_text(encoding="utf-8")
BASIC_CASE = spec_root() / "conformance" / "KAD-Q01" / "basic.yaml"

# The numerator of an earlier definition of KAD-Q01 (hospital *or died*), and what its basic case
# expected: 3 of 5 (S1 hospital, S3 hospital, S5 died). The current implementation counts 2 of 5.
OLD_NUMERATOR = ("- {table: stays, field: discharged_to, values: [hospital]}",
                 "- {table: stays, field: discharged_to, values: [hospital, died]}")
OLD_NUMERATOR_TEXT = ("en: Stays in the denominator with discharged_to = hospital.",
                      "en: Stays in the denominator with discharged_to = hospital or died.")
OLD_EXPECTED = ("numerator: 2, denominator: 5, value: 0.4", "numerator: 3, denominator: 5, value: 0.6")


def q01() -> dict[str, Any]:
    return copy.deepcopy(dict(jsonable(load_indicators()["KAD-Q01"].raw)))


def q01_cases() -> list[ConformanceCase]:
    return [c for c in load_cases() if c.indicator == "KAD-Q01"]


def _old_tree(tmp_path: Path, *, old_definition: bool, old_cases: bool) -> Path:
    """A spec root with an old KAD-Q01 and its cases; returns the old spec file."""
    root = tmp_path / "old"
    (root / "indicators").mkdir(parents=True)
    shutil.copytree(spec_root() / "conformance" / "KAD-Q01", root / "conformance" / "KAD-Q01")
    text = Q01_TEXT
    if old_definition:
        assert OLD_NUMERATOR[0] in text and OLD_NUMERATOR_TEXT[0] in text
        text = text.replace(*OLD_NUMERATOR).replace(*OLD_NUMERATOR_TEXT)
    (root / "indicators" / "KAD-Q01.yaml").write_text(text, encoding="utf-8")
    if old_cases:
        case = root / "conformance" / "KAD-Q01" / "basic.yaml"
        case_text = case.read_text(encoding="utf-8")
        assert OLD_EXPECTED[0] in case_text
        case.write_text(case_text.replace(*OLD_EXPECTED), encoding="utf-8")
    return root / "indicators" / "KAD-Q01.yaml"


def _with_version(raw: dict[str, Any], version: str) -> dict[str, Any]:
    raw["version"] = version
    raw["changelog"] = [*raw["changelog"], {"version": version, "date": "2027-01-01",
                                            "change": {"nb": "Endret.", "en": "Changed."}}]
    return raw


def test_required_version_rules() -> None:
    """Major, minor and patch bumps; major 0 takes a minor bump for a breaking change."""
    assert required_version("1.4.2", "major") == "2.0.0"
    assert required_version("1.4.2", "minor") == "1.5.0"
    assert required_version("1.4.2", "patch") == "1.4.3"
    assert required_version("0.4.2", "major") == "0.5.0"
    assert required_version("1.4.2", "none") == "1.4.2"


def test_wording_change_is_a_patch_and_old_cases_hold() -> None:
    """A rewording of the rationale needs a patch bump; every old case still holds."""
    old, new = q01(), q01()
    new["rationale"]["en"] = "KAD should be as good an alternative to hospital as admission there."
    d = diff_specs(old, _with_version(new, "1.0.1"), old_cases=q01_cases())
    assert [(c.path, c.category, c.bump) for c in d.changes if not c.path.startswith("changelog")] == [
        ("rationale.en", "text", "patch")]
    assert len(d.cases) == len(q01_cases()) and all(c.holds for c in d.cases)
    assert (d.field_bump, d.conformance_bump, d.required_bump) == ("patch", "none", "patch")
    assert d.minimum_version == "1.0.1" and d.ok
    same = diff_specs(old, {**new, "version": "1.0.0"}, old_cases=q01_cases())
    assert not same.ok and "1.0.1" in same.text("en") and "understates" in same.text("en")
    assert "underdriver" in same.text("nb")


def test_changed_definition_is_major_because_old_cases_no_longer_hold(tmp_path: Path) -> None:
    """An old definition (hospital or died) whose cases the implementation no longer meets: major."""
    old_file = _old_tree(tmp_path, old_definition=True, old_cases=True)
    new_file = tmp_path / "KAD-Q01.yaml"
    new_file.write_text(Q01_TEXT.replace("version: 1.0.0\nstatus", "version: 1.1.0\nstatus", 1), encoding="utf-8")
    d = diff_files(old_file, new_file)
    paths = {(c.path, c.category, c.bump) for c in d.changes}
    assert ("numerator.uses[0].values", "definition", "major") in paths
    assert ("numerator.text.en", "definition", "major") in paths
    failed = [c for c in d.cases if not c.holds]
    assert [c.case for c in failed] == ["KAD-Q01/basic"]
    assert any("numerator is 2.0, expected 3" in p for p in failed[0].problems)
    assert d.conformance_bump == "major" and d.minimum_version == "2.0.0" and not d.ok
    ok_file = tmp_path / "KAD-Q01-v2.yaml"
    ok_file.write_text(Q01_TEXT.replace("version: 1.0.0\nstatus", "version: 2.0.0\nstatus", 1), encoding="utf-8")
    assert diff_files(old_file, ok_file).ok


def test_conformance_is_decisive_when_only_wording_changed(tmp_path: Path) -> None:
    """Fields say patch, but an old case no longer holds: the definition changed, so major."""
    old_file = _old_tree(tmp_path, old_definition=False, old_cases=True)
    new = _with_version(q01(), "1.0.1")
    new["interpretation"]["en"] += " Read with care."
    new_file = tmp_path / "new.yaml"
    new_file.write_text(json.dumps(new), encoding="utf-8")  # JSON is YAML
    d = diff_files(old_file, new_file)
    assert d.field_bump == "patch" and d.conformance_bump == "major" and d.required_bump == "major"
    assert not d.ok and any("implementation" in n for n in d.notes_en)


def test_outputs_and_statistics_are_classified() -> None:
    """A new stratification is minor, a removed one major; interval minor, suppression major."""
    old = q01()
    added = q01()
    old["stratifications"] = ["sex", "age_band"]
    added["stratifications"] = ["sex", "age_band", "care_track"]
    d = diff_specs(old, added, run_conformance=False)
    assert [(c.path, c.kind, c.bump) for c in d.changes] == [("stratifications", "added", "minor")]
    assert d.minimum_version == "1.1.0"
    removed = diff_specs(added, old, run_conformance=False)
    assert [(c.kind, c.bump, c.old) for c in removed.changes] == [("removed", "major", "care_track")]
    stats = q01()
    stats["statistics"]["interval"] = "clopper_pearson"
    assert diff_specs(q01(), stats, run_conformance=False).required_bump == "minor"
    stats["statistics"]["suppression"]["threshold"] = 3
    d = diff_specs(q01(), stats, run_conformance=False)
    assert {(c.path, c.bump) for c in d.changes} == {("statistics.interval", "minor"),
                                                   ("statistics.suppression.threshold", "major")}
    record = q01()
    record["review"]["next_review"] = "2028-01-01"
    assert diff_specs(q01(), record, run_conformance=False).required_bump == "none"


def test_exclusions_are_matched_by_id() -> None:
    """A changed exclusion is named by its id, and a reordering of exclusions is a change."""
    old = copy.deepcopy(dict(jsonable(load_indicators()["KAD-Q02"].raw)))
    new = copy.deepcopy(old)
    new["exclusions"][1]["text"]["en"] = "The patient died during the stay (changed)."
    d = diff_specs(old, new, run_conformance=False)
    assert [c.path for c in d.changes] == ["exclusions[died].text.en"]
    swapped = copy.deepcopy(old)
    swapped["exclusions"][1], swapped["exclusions"][2] = swapped["exclusions"][2], swapped["exclusions"][1]
    d = diff_specs(old, swapped, run_conformance=False)
    assert [(c.path, c.bump) for c in d.changes] == [("exclusions", "major")]


def test_major_zero_and_other_ids() -> None:
    """A draft (0.x) takes a minor bump for a definition change; a renamed id is refused."""
    old, new = q01(), q01()
    old["version"], new["version"] = "0.2.0", "0.3.0"
    new["unit"] = "ratio"
    d = diff_specs(old, new, run_conformance=False)
    assert d.required_bump == "major" and d.minimum_version == "0.3.0" and d.ok
    other = q01()
    other["id"] = "KAD-Q09"
    with pytest.raises(Exception, match="different ids"):
        diff_specs(q01(), other, run_conformance=False)


def test_cli_diff_exit_codes(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Exit 1 when the version understates the change, 0 when it is enough, 2 on usage errors."""
    old_file = _old_tree(tmp_path, old_definition=True, old_cases=True)
    assert main(["spec", "diff", str(old_file), str(Q01_PATH), "--lang", "en"]) == 1
    out = capsys.readouterr().out
    assert "definition" in out and "ERROR: version 1.0.0 understates the change; use at least 2.0.0" in out
    assert main(["spec", "diff", str(old_file), str(Q01_PATH), "--no-conformance", "--format", "json"]) == 1
    data = json.loads(capsys.readouterr().out)
    assert data["required_bump"] == "major" and data["conformance"]["cases"] == []
    assert main(["spec", "diff", str(Q01_PATH), str(Q01_PATH)]) == 0
    assert "ingen endrede felt" in capsys.readouterr().out
    assert main(["spec", "diff", str(Q01_PATH)]) == 2
    assert main(["spec", "diff", str(tmp_path / "missing.yaml"), str(Q01_PATH)]) == 3


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    """A git repository holding spec/ with KAD-Q01 in its old definition, committed."""
    if shutil.which("git") is None:  # pragma: no cover - git is part of the dev setup
        pytest.skip("git is not installed")
    top = tmp_path / "repo"
    top.mkdir()
    _old_tree(tmp_path, old_definition=True, old_cases=True)
    shutil.copytree(tmp_path / "old", top / "spec")
    (top / "spec" / "indicators" / "KAD-Q05.yaml").write_text(
        (spec_root() / "indicators" / "KAD-Q05.yaml").read_text(encoding="utf-8"), encoding="utf-8")
    git = ["git", "-C", str(top), "-c", "user.name=t", "-c", "user.email=t@example.invalid",
           "-c", "commit.gpgsign=false"]
    subprocess.run([*git, "init", "-q"], check=True)
    subprocess.run([*git, "add", "-A"], check=True)
    subprocess.run([*git, "commit", "-q", "-m", "old"], check=True)
    return top / "spec"


def test_rev_compares_the_working_tree_with_a_commit(repo: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """--rev reads the old spec and cases with git show; a removed indicator is an error."""
    (repo / "indicators" / "KAD-Q01.yaml").write_text(Q01_TEXT, encoding="utf-8")
    result = diff_revision("HEAD", root=repo)
    assert [d.indicator for d in result.diffs] == ["KAD-Q01"]  # KAD-Q05 is unchanged
    d = result.diffs[0]
    assert d.required_bump == "major" and [c.case for c in d.cases if not c.holds] == ["KAD-Q01/basic"]
    assert not result.ok
    assert main(["spec", "diff", "--rev", "HEAD", "--spec-root", str(repo), "--lang", "en"]) == 1
    assert "understates" in capsys.readouterr().out
    (repo / "indicators" / "KAD-Q01.yaml").write_text(
        Q01_TEXT.replace("version: 1.0.0\nstatus", "version: 2.0.0\nstatus", 1), encoding="utf-8")
    assert main(["spec", "diff", "--rev", "HEAD", "KAD-Q01", "--spec-root", str(repo)]) == 0
    (repo / "indicators" / "KAD-Q05.yaml").unlink()
    result = diff_revision("HEAD", root=repo)
    assert result.removed == ("KAD-Q05",) and not result.ok
    assert main(["spec", "diff", "--rev", "no-such-rev", "--spec-root", str(repo)]) == 3
    assert "ukjent git-revisjon 'no-such-rev'" in capsys.readouterr().err
    assert main(["spec", "diff", "--rev=--output=/tmp/x", "--spec-root", str(repo)]) == 3  # never an option
    assert "ikke en git-revisjon" in capsys.readouterr().err


def test_old_case_loading_follows_the_old_file(tmp_path: Path) -> None:
    """The old cases come from the conformance/ folder beside the old file's indicators/."""
    old_file = _old_tree(tmp_path, old_definition=False, old_cases=False)
    d = diff_files(old_file, Q01_PATH)
    assert len(d.cases) == len(q01_cases()) and d.ok
    lone = tmp_path / "lone.yaml"
    lone.write_text(Q01_TEXT, encoding="utf-8")
    d = diff_files(lone, Q01_PATH)
    assert d.cases == () and d.conformance_note_en is not None and "no conformance cases" in d.conformance_note_en
    assert _yaml.load(lone)["id"] == "KAD-Q01"
