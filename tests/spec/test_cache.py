"""The cache of parsed spec files: same results with and without it, invalidated by content."""

from __future__ import annotations

import datetime as dt
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from kadindicators import _cache, _yaml
from kadindicators._cache import DocumentCache
from kadindicators._resources import spec_root
from kadindicators.spec.loader import _build
from kadindicators.spec.models import SchemaSpec


@pytest.fixture
def cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    d = tmp_path / "cache"
    monkeypatch.setenv(_cache.ENV_DIR, str(d))
    monkeypatch.delenv(_cache.ENV_OFF, raising=False)
    return d


@pytest.fixture
def root(tmp_path: Path) -> Path:
    """A copy of the standard's schema and code lists, to change."""
    r = tmp_path / "spec"
    shutil.copytree(spec_root() / "schema", r / "schema")
    shutil.copytree(spec_root() / "codelists", r / "codelists")
    return r


def _load(root: Path) -> tuple[SchemaSpec, DocumentCache]:
    docs = DocumentCache(root)
    spec = _build(root, docs.load)
    docs.save()
    return spec, docs


def _same(a: SchemaSpec, b: SchemaSpec) -> None:
    assert a == b
    for name, cl in a.codelists.items():  # sources are left out of CodeList equality
        assert cl.sources == b.codelists[name].sources


def test_results_identical_with_and_without_cache(cache: Path) -> None:
    """A cold run, a warm run (every file from the cache) and plain parsing give the same schema."""
    parsed = _build(spec_root(), _yaml.load)
    cold, cold_docs = _load(spec_root())
    warm, warm_docs = _load(spec_root())
    assert cold_docs.hits == 0
    files = len(list((spec_root() / "codelists").glob("*.yaml"))) + 2 + len(parsed.tables)
    assert warm_docs.hits == files
    _same(parsed, cold)
    _same(parsed, warm)
    assert list(cache.glob("spec-*.json"))


def test_cache_is_invalidated_when_a_spec_file_changes(cache: Path, root: Path) -> None:
    """Changing one file re-parses that file only; the change shows at once and is cached."""
    before, _ = _load(root)
    assert before.codelists["sex"].label("2", "en") == "Female"
    path = root / "codelists" / "sex.yaml"
    path.write_text(path.read_text(encoding="utf-8").replace("en: Female", "en: Woman"), encoding="utf-8")
    after, docs = _load(root)
    assert after.codelists["sex"].label("2", "en") == "Woman"
    assert not docs.from_cache(path) and docs.from_cache(root / "codelists" / "icpc2.yaml")
    again, docs = _load(root)
    assert docs.from_cache(path)
    _same(after, again)
    _same(after, _build(root, _yaml.load))


def test_a_broken_file_is_reported_even_if_an_older_version_was_cached(cache: Path, root: Path) -> None:
    _load(root)
    (root / "codelists" / "sex.yaml").write_text("id: sex\ncodes: [\n", encoding="utf-8")
    with pytest.raises(Exception, match=r"sex\.yaml:\d+: invalid YAML"):
        _load(root)


@pytest.mark.parametrize("damage", ["not json", '{"header": 1}', "tag"])
def test_a_damaged_cache_falls_back_to_parsing(cache: Path, root: Path, damage: str) -> None:
    expected, _ = _load(root)
    (file,) = cache.glob("spec-*.json")
    if damage == "tag":  # a tagged date that is not a date
        doc = json.loads(file.read_text(encoding="utf-8"))
        doc["files"]["schema/schema.yaml"]["data"] = {"$date": "2025-02-31"}
        file.write_text(json.dumps(doc), encoding="utf-8")
    else:
        file.write_text(damage, encoding="utf-8")
    files = len(list(root.glob("*/*.yaml")))
    got, docs = _load(root)
    _same(expected, got)
    assert docs.hits == (files - 1 if damage == "tag" else 0)
    assert not docs.from_cache(root / "schema" / "schema.yaml")
    _, docs = _load(root)  # rewritten
    assert docs.hits == files


def test_no_writable_cache_dir_still_loads(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, root: Path) -> None:
    """A cache directory that cannot be created (read-only, no home) only costs time."""
    blocker = tmp_path / "file"
    blocker.write_text("x", encoding="utf-8")
    monkeypatch.setenv(_cache.ENV_DIR, str(blocker / "cache"))
    got, docs = _load(root)
    _same(got, _build(root, _yaml.load))
    _, docs = _load(root)
    assert docs.hits == 0


def test_no_home_and_switched_off(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.delenv(_cache.ENV_DIR, raising=False)
    monkeypatch.setenv(_cache.ENV_OFF, "1")
    assert _cache.cache_dir() is None
    monkeypatch.delenv(_cache.ENV_OFF)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    if sys.platform.startswith("linux"):
        assert _cache.cache_dir() == tmp_path / "xdg" / "kadindicators"

    def no_home() -> Path:
        raise RuntimeError("no home directory")

    monkeypatch.setattr(Path, "home", no_home)
    assert _cache.cache_dir() is None


def test_values_round_trip_exactly_and_odd_data_is_not_cached(cache: Path, tmp_path: Path) -> None:
    d = tmp_path / "docs"
    d.mkdir()
    (d / "plain.yaml").write_text(
        "d: 2025-01-31\nt: 2025-01-31 10:15:00+01:00\nn: 2025-01-31 10:15:00\nf: [.nan, .inf, -0.0, 1.0, 1]\n"
        "b: [yes, no, ~]\nbig: 123456789012345678901234567890\ns: '2025-01-31'\n", encoding="utf-8")
    (d / "odd.yaml").write_text("s: !!set {a, b}\n$ref: x\n", encoding="utf-8")
    first = DocumentCache(d)
    plain, odd = first.load(d / "plain.yaml"), first.load(d / "odd.yaml")
    first.save()
    second = DocumentCache(d)
    plain2, odd2 = second.load(d / "plain.yaml"), second.load(d / "odd.yaml")
    assert second.from_cache(d / "plain.yaml") and not second.from_cache(d / "odd.yaml")
    assert odd2 == odd == {"s": {"a", "b"}, "$ref": "x"}
    assert repr(plain2) == repr(plain)  # nan != nan, so compare the text, with types
    assert [type(v) for v in plain2.values()] == [type(v) for v in plain.values()]
    assert plain2["t"].utcoffset() == dt.timedelta(hours=1) and plain2["n"].tzinfo is None
    assert plain2["s"] == "2025-01-31" and isinstance(plain2["d"], dt.date)
    plain2["f"].append("changed")  # what a caller gets is its own
    assert len(DocumentCache(d).load(d / "plain.yaml")["f"]) == 5


def test_depends_invalidates_the_whole_cache(cache: Path, tmp_path: Path) -> None:
    d = tmp_path / "docs"
    d.mkdir()
    (d / "a.yaml").write_text("a: 1\n", encoding="utf-8")
    schema = d / "schema.json"
    schema.write_text("{}", encoding="utf-8")
    first = DocumentCache(d, name="x", depends=(schema,))
    first.load(d / "a.yaml")
    first.save()
    assert DocumentCache(d, name="x", depends=(schema,)).load(d / "a.yaml") == {"a": 1}
    again = DocumentCache(d, name="x", depends=(schema,))
    again.load(d / "a.yaml")
    assert again.from_cache(d / "a.yaml")
    schema.write_text('{"type": "object"}', encoding="utf-8")
    changed = DocumentCache(d, name="x", depends=(schema,))
    changed.load(d / "a.yaml")
    assert not changed.from_cache(d / "a.yaml")


def test_validate_command_leaves_pandas_out_with_the_same_report(tmp_path: Path) -> None:
    """`python -m kadindicators validate` runs without pandas and reports what in-process validate does."""
    from kadindicators.cli import main

    from ..validation.messy import UNITS_CSV, build

    text, _, _ = build()
    stays = tmp_path / "opphold.csv"
    stays.write_bytes(text.encode("cp1252"))
    units = tmp_path / "units.csv"
    units.write_text(UNITS_CSV, encoding="utf-8")
    args = ["validate", "--stays", str(stays), "--units", str(units), "--format", "json", "--as-of", "2026-01-01"]
    env = dict(os.environ, **{_cache.ENV_DIR: str(tmp_path / "cache")})
    src = str(Path(_cache.__file__).resolve().parent.parent)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (src, env.get("PYTHONPATH")) if p)
    out = subprocess.run([sys.executable, "-X", "importtime", "-m", "kadindicators", *args],
                         check=False, capture_output=True, text=True, env=env, timeout=120)
    assert out.returncode == 1, out.stderr[-2000:]
    loaded = [ln.rsplit("|", 1)[-1].strip() for ln in out.stderr.splitlines() if ln.startswith("import time:")]
    assert "pyarrow.compute" in loaded
    assert not [m for m in loaded if m.startswith("pandas.")]  # a refused `import pandas` has no submodules
    import io
    from contextlib import redirect_stdout

    buf = io.StringIO()
    with redirect_stdout(buf):
        assert main(args) == 1
    assert json.loads(out.stdout) == json.loads(buf.getvalue())


@pytest.mark.parametrize("name", ["../x", "a/b", "", "Spec", "x.json"])
def test_cache_file_names_are_never_paths(cache: Path, tmp_path: Path, name: str) -> None:
    with pytest.raises(ValueError, match="cache file name"):
        DocumentCache(tmp_path, name=name)
