"""The wheel carries the standard (spec/ as kadindicators/_spec), the region data and py.typed."""

from __future__ import annotations

import importlib.metadata
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

import kadindicators

ROOT = Path(__file__).resolve().parent.parent


def test_version_matches_metadata() -> None:
    """``__version__`` is the installed distribution's version."""
    try:
        assert importlib.metadata.version("kadindicators") == kadindicators.__version__
    except importlib.metadata.PackageNotFoundError:
        pytest.skip("kadindicators is not installed")


def test_wheel_contains_spec_and_marker(tmp_path: Path) -> None:
    """A built wheel holds _spec/ (schema, rules, code lists), the region data and py.typed."""
    pytest.importorskip("hatchling")
    subprocess.run([sys.executable, "-m", "pip", "wheel", str(ROOT), "--no-build-isolation", "--no-deps",
                    "-q", "-w", str(tmp_path)], check=True, capture_output=True)
    (wheel,) = tmp_path.glob("kadindicators-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    for needed in ("kadindicators/py.typed", "kadindicators/_spec/schema/schema.yaml",
                   "kadindicators/_spec/schema/rules.yaml", "kadindicators/_spec/codelists/municipality.yaml",
                   "kadindicators/_data/regions/vestre_viken.yaml"):
        assert needed in names
    assert not any(n.startswith("tests/") for n in names)
