"""kadindicators: uniform reporting and quality indicators for Norwegian municipal acute beds.

The reporting schema and the indicator specifications live in ``spec/`` (the
standard); this package is their reference implementation.

Examples
--------
>>> import kadindicators as kad
>>> kad.SCHEMA_VERSION
'1.1.0'
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from ._version import __version__
from .errors import DataValidationError, InputError, KadError, SchemaVersionError, SpecError

# Imported on first use (PEP 562): `kadindicators --help` and `validate` load only what they need.
_FROM = {
    "catalogue": ".indicators", "compute": ".indicators", "compute_partials": ".indicators",
    "explain": ".indicators", "get_indicator": ".indicators", "merge": ".indicators",
    "result_metadata": ".indicators", "read_table": ".io", "arrow_schema": ".schema",
    "validate": ".validation", "ValidationReport": ".validation.report",
}

if TYPE_CHECKING:
    from . import disclosure, equity, reports, synth, testing
    from .indicators import (
        catalogue,
        compute,
        compute_partials,
        explain,
        get_indicator,
        merge,
        result_metadata,
    )
    from .io import read_table
    from .schema import arrow_schema
    from .validation import validate
    from .validation.report import ValidationReport

__all__ = [
    "SCHEMA_VERSION",
    "DataValidationError",
    "InputError",
    "KadError",
    "SchemaVersionError",
    "SpecError",
    "ValidationReport",
    "__version__",
    "arrow_schema",
    "catalogue",
    "compute",
    "compute_partials",
    "disclosure",
    "equity",
    "explain",
    "get_indicator",
    "merge",
    "read_table",
    "reports",
    "result_metadata",
    "synth",
    "testing",
    "validate",
]

_LAZY = {"disclosure", "equity", "reports", "synth", "testing"}


def __getattr__(name: str) -> Any:
    if name == "SCHEMA_VERSION":
        from .spec.loader import load_schema

        return load_schema().version
    if name in _LAZY:
        return importlib.import_module(f".{name}", __name__)
    if name in _FROM:
        value = getattr(importlib.import_module(_FROM[name], __name__), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'kadindicators' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
