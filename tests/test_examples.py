"""Every script in examples/ runs to the end (its own asserts included)."""

from __future__ import annotations

import runpy
from pathlib import Path

import pytest

EXAMPLES = sorted((Path(__file__).resolve().parent.parent / "examples").glob("*.py"))


@pytest.mark.parametrize("path", EXAMPLES, ids=[p.stem for p in EXAMPLES])
def test_example_runs(path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """The example runs without error and prints something."""
    if "duckdb" in path.read_text(encoding="utf-8"):
        pytest.importorskip("duckdb")
        pytest.importorskip("polars")
    runpy.run_path(str(path), run_name="__main__")
    assert capsys.readouterr().out
