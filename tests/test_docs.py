"""The documentation builds with warnings as errors (nitpicky), from the spec as it is now."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.skipif(not (ROOT / "docs" / "conf.py").exists(), reason="no docs in this tree")
def test_sphinx_build_has_no_warnings(tmp_path: Path) -> None:
    """``sphinx-build -W --keep-going -n`` succeeds on a fresh build."""
    pytest.importorskip("sphinx")
    pytest.importorskip("myst_parser")
    shutil.rmtree(ROOT / "docs" / "reference" / "_generated", ignore_errors=True)
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src")}
    out = subprocess.run([sys.executable, "-m", "sphinx", "-W", "--keep-going", "-n", "-q", "-b", "html",
                          str(ROOT / "docs"), str(tmp_path / "html")], capture_output=True, text=True, env=env, check=False)
    assert out.returncode == 0, out.stderr[-4000:]
    assert (tmp_path / "html" / "index.html").exists()
