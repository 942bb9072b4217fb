"""Immutable models of the standard's files (schema, rules, code lists).

They are plain data loaded from ``spec/``; nothing here is written twice in code.

.. versionadded:: 0.1.0
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

import attrs

FIELD_TYPES = ("string", "code", "integer", "boolean", "timestamp", "date", "code_list")


@attrs.frozen(kw_only=True)
class Text:
    """A text in Norwegian bokmål and English."""

    nb: str
    en: str

    def get(self, lang: str) -> str:
        """Return the text in ``lang`` (``"nb"`` or ``"en"``)."""
        return self.en if lang == "en" else self.nb


@attrs.frozen(kw_only=True)
class FieldSpec:
    """One field of a table of the reporting schema."""

    name: str
    type: str
    description: Text
    required: bool = False
    recommended: bool = False
    on_invalid: str = "reject"
    codelist: str | None = None
    unit: str | None = None
    pattern: str | None = None
    min: int | None = None
    max: int | None = None
    warn_below: int | None = None
    warn_rule: str | None = None
    unique: bool = False
    personal: bool = False
    max_length: int | None = None
    aliases: tuple[str, ...] = ()


@attrs.frozen(kw_only=True)
class TableSpec:
    """One table of the reporting schema (``stays``, ``units``, ``population``)."""

    name: str
    title: Text
    description: Text
    key: tuple[str, ...]
    fields: tuple[FieldSpec, ...]
    rules: tuple[str, ...] = ()
    since: str = "1.0.0"  # the schema version that added the table

    @property
    def field_names(self) -> tuple[str, ...]:
        """Names of the fields, in schema order."""
        return tuple(f.name for f in self.fields)

    def field(self, name: str) -> FieldSpec:
        """Return the field called ``name``."""
        for f in self.fields:
            if f.name == name:
                return f
        raise KeyError(name)


@attrs.frozen(kw_only=True)
class Rule:
    """A validation rule of the catalogue (``spec/schema/rules.yaml``)."""

    id: str
    family: str
    severity: str
    title: Text
    template: Text
    fix: Text
    status: str = "active"


@attrs.frozen(kw_only=True)
class AgeBand:
    """A half-open age band ``[min, max)``; ``max`` None means no upper bound."""

    code: str
    min: int
    max: int | None


@attrs.frozen(kw_only=True)
class Code:
    """One code of a code list, with labels, accepted aliases and validity."""

    code: str
    label: Text
    aliases: tuple[str, ...] = ()
    valid_from: dt.date | None = None
    valid_to: dt.date | None = None
    replaced_by: tuple[str, ...] = ()
    # further attributes a code list gives its codes (e.g. an item's scale), as in the file
    attributes: Mapping[str, Any] = attrs.field(factory=dict, eq=False)


@attrs.frozen(kw_only=True)
class CodeList:
    """A code list of the standard (``spec/codelists/<id>.yaml``)."""

    id: str
    title: Text
    codes: tuple[Code, ...]
    sources: tuple[Mapping[str, str], ...] = attrs.field(default=(), eq=False)

    @property
    def values(self) -> tuple[str, ...]:
        """The distinct codes, in file order."""
        seen: dict[str, None] = {}
        for c in self.codes:
            seen.setdefault(c.code, None)
        return tuple(seen)

    def label(self, code: str, lang: str = "nb") -> str:
        """Return the label of ``code`` in ``lang`` (the latest one if it changed)."""
        found = [c for c in self.codes if c.code == code]
        if not found:
            raise KeyError(code)
        return found[-1].label.get(lang)


@attrs.frozen(kw_only=True)
class SchemaSpec:
    """The reporting schema: version, tables, rules, code lists and age bands."""

    version: str
    title: Text
    timezone: str
    time_description: Text
    tables: Mapping[str, TableSpec]
    rules: Mapping[str, Rule]
    codelists: Mapping[str, CodeList]
    age_bands: tuple[AgeBand, ...]
    types: Mapping[str, Mapping[str, object]]
