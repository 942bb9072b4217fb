"""spec lint fails, with file, line and rule, on each kind of broken spec; passes on the repo."""

from __future__ import annotations

from pathlib import Path

import pytest

from kadindicators._resources import spec_root
from kadindicators.cli import main
from kadindicators.spec.indicators import load_indicators
from kadindicators.spec.lint import lint

Q01 = (spec_root() / "indicators" / "KAD-Q01.yaml").read_text(encoding="utf-8")


def _lint_text(tmp_path: Path, text: str, name: str = "KAD-Q01.yaml", **kw: object) -> list[tuple[int | None, str]]:
    p = tmp_path / name
    p.write_text(text, encoding="utf-8")
    return [(i.line, i.rule) for i in lint([p], run_conformance=False, **kw)  # type: ignore[arg-type]
            if i.rule != "coverage"]


def _line_of(text: str, needle: str) -> int:
    return next(i for i, line in enumerate(text.splitlines(), start=1) if needle in line)


def test_repository_specs_pass() -> None:
    """The specs in the repository lint clean (conformance cases included)."""
    assert [i.format() for i in lint()] == []


def test_unknown_field_is_located(tmp_path: Path) -> None:
    """A reference to a field the schema does not have is reported at its line."""
    text = Q01.replace("- {table: stays, field: discharged_to, values: [hospital]}",
                       "- {table: stays, field: discharge_destination, values: [hospital]}")
    assert (_line_of(text, "discharge_destination"), "unknown-field") in _lint_text(tmp_path, text)


def test_unknown_code_value_is_located(tmp_path: Path) -> None:
    """A code value that is not in the field's code list is reported at its line."""
    text = Q01.replace("values: [hospital]", "values: [sykehus_x]")
    assert (_line_of(text, "sykehus_x"), "unknown-code") in _lint_text(tmp_path, text)


def test_format_error_is_located(tmp_path: Path) -> None:
    """A spec that breaks the JSON Schema (bad unit) is reported at the offending key."""
    text = Q01.replace("unit: proportion", "unit: percentage")
    assert (_line_of(text, "unit: percentage"), "format") in _lint_text(tmp_path, text)


def test_missing_translation(tmp_path: Path) -> None:
    """A text without English is a format error."""
    text = Q01.replace("  en: Share of completed stays ending in transfer to hospital\n", "")
    assert any(rule == "format" for _, rule in _lint_text(tmp_path, text))


def test_file_name_must_match_id(tmp_path: Path) -> None:
    """The file must be named after the id."""
    assert (_line_of(Q01, "id: KAD-Q01"), "file-name") in _lint_text(tmp_path, Q01, name="KAD-Q99.yaml")


def test_duplicate_ids(tmp_path: Path) -> None:
    """Two files with one id are an error."""
    (tmp_path / "a").mkdir()
    (tmp_path / "a" / "KAD-Q01.yaml").write_text(Q01, encoding="utf-8")
    (tmp_path / "b").mkdir()
    (tmp_path / "b" / "KAD-Q01.yaml").write_text(Q01, encoding="utf-8")
    issues = lint([tmp_path / "a", tmp_path / "b"], run_conformance=False)
    assert "duplicate-id" in {i.rule for i in issues}


def test_changelog_must_name_version(tmp_path: Path) -> None:
    """A version without a changelog entry is reported."""
    text = Q01.replace("version: 1.0.0\nstatus:", "version: 1.0.1\nstatus:")
    assert "changelog" in {rule for _, rule in _lint_text(tmp_path, text)}


def test_schema_version_range(tmp_path: Path) -> None:
    """A spec whose schema range excludes the current schema is reported."""
    text = Q01.replace('schema_version: ">=1.0.0,<2.0.0"', 'schema_version: ">=2.0.0"')
    assert (_line_of(text, 'schema_version: ">=2.0.0"'), "schema-version") in _lint_text(tmp_path, text)


def test_definition_change_needs_major_bump(tmp_path: Path) -> None:
    """Changing the numerator without a major version bump fails against the lock."""
    spec = load_indicators()["KAD-Q01"]
    lock = {"KAD-Q01": {"version": "1.0.0", "definition_hash": spec.definition_hash}}
    text = Q01.replace("values: [hospital]", "values: [hospital, died]")
    assert "version-bump" in {r for _, r in _lint_text(tmp_path, text, lock=lock)}
    bumped = text.replace("version: 1.0.0\nstatus:", "version: 2.0.0\nstatus:").replace(
        "changelog:\n", "changelog:\n  - version: 2.0.0\n    date: 2026-11-23\n    change: {nb: Død teller, en: Died counts}\n")
    assert "version-bump" not in {r for _, r in _lint_text(tmp_path, bumped, lock=lock)}
    # text-only changes need no bump
    reworded = Q01.replace("Share of completed stays ending in transfer to hospital",
                           "Share of completed stays that end in a transfer to hospital")
    assert "version-bump" not in {r for _, r in _lint_text(tmp_path, reworded, lock=lock)}


@pytest.mark.parametrize("text", [
    "a: &x [1, 2]\nb: *x\n",
    "a: " + "[" * 200 + "]" * 200 + "\n",
    "key: [unclosed\n",
], ids=["alias", "deep", "invalid"])
def test_hostile_yaml_is_a_located_error(tmp_path: Path, text: str) -> None:
    """Aliases, deep nesting and broken YAML give a lint issue, not a crash."""
    issues = lint([_write(tmp_path, text)], run_conformance=False)
    assert [i.rule for i in issues] == ["yaml"]
    assert "KAD-Q01.yaml" in issues[0].format()


def _write(tmp_path: Path, text: str) -> Path:
    p = tmp_path / "KAD-Q01.yaml"
    p.write_text(text, encoding="utf-8")
    return p


def test_cli_exit_codes(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """The CLI exits 1 with located messages on a broken spec, 0 on the repository."""
    text = Q01.replace("unit: proportion", "unit: percentage")
    p = _write(tmp_path, text)
    assert main(["spec", "lint", str(p), "--no-conformance", "--lang", "en"]) == 1
    out = capsys.readouterr().out
    assert f"{p}:{_line_of(text, 'unit: percentage')}: format" in out
    assert main(["spec", "lint"]) == 0


def test_every_case_spec_ref_names_a_clause() -> None:
    """Each conformance case's spec_ref resolves in its spec; a wrong one does not."""
    from kadindicators.spec.indicators import load_indicators
    from kadindicators.spec.lint import resolve_ref
    from kadindicators.testing.conformance import load_cases

    specs = load_indicators()
    for case in load_cases():
        assert resolve_ref(specs[case.indicator].raw, case.spec_ref), (case.id, case.spec_ref)
    q01 = specs["KAD-Q01"].raw
    assert not resolve_ref(q01, "exclusions.no-such-exclusion")
    assert not resolve_ref(q01, "numerator.no_such_key")
    assert not resolve_ref(q01, "nonsense")
