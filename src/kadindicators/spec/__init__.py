"""Reading the standard (``spec/``): the reporting schema, rules and code lists.

.. versionadded:: 0.1.0
"""

from __future__ import annotations

from .loader import load_schema
from .models import CodeList, FieldSpec, Rule, SchemaSpec, TableSpec

__all__ = ["CodeList", "FieldSpec", "Rule", "SchemaSpec", "TableSpec", "load_schema"]
