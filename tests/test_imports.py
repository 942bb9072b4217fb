"""Importing kadindicators stays light: no pandas, polars, hypothesis or openpyxl."""

from __future__ import annotations

import subprocess
import sys


def test_import_does_not_load_heavy_modules() -> None:
    """``import kadindicators`` loads attrs, pyarrow and yaml, nothing heavy on top."""
    code = ("import sys, kadindicators; "
            "print(','.join(m for m in ('pandas', 'polars', 'hypothesis', 'openpyxl', 'matplotlib') "
            "if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ""


def test_public_api() -> None:
    """The names in ``__all__`` exist and each public callable has a docstring with Examples."""
    import kadindicators as kad

    for name in kad.__all__:
        obj = getattr(kad, name)
        if callable(obj) and not isinstance(obj, type):
            assert obj.__doc__ and "Examples" in obj.__doc__, name
