"""Arrow schemas generated from the reporting schema in ``spec/schema``.

.. versionadded:: 0.1.0
"""

from __future__ import annotations

import pyarrow as pa

from .spec.loader import load_schema
from .spec.models import FieldSpec

__all__ = ["arrow_schema", "arrow_type"]

TIMEZONE = "Europe/Oslo"


def arrow_type(field: FieldSpec) -> pa.DataType:
    """Return the Arrow type of a schema field.

    Examples
    --------
    >>> from kadindicators.spec import load_schema
    >>> arrow_type(load_schema().tables["stays"].field("admitted_at"))
    TimestampType(timestamp[ms, tz=Europe/Oslo])
    """
    t = field.type
    if t in ("string", "code"):
        return pa.string()
    if t == "integer":
        return pa.int64()
    if t == "boolean":
        return pa.bool_()
    if t == "timestamp":
        return pa.timestamp("ms", tz=TIMEZONE)
    if t == "date":
        return pa.date32()
    if t == "code_list":
        return pa.list_(pa.string())
    raise ValueError(f"unknown field type {t!r}")  # pragma: no cover - the loader checks types


def arrow_schema(table: str, version: str | None = None) -> pa.Schema:
    """Return the Arrow schema of a table of the reporting schema.

    Field descriptions (nb and en), code lists and units travel in the field
    metadata, and the schema version in the schema metadata.

    Parameters
    ----------
    table : {"stays", "units", "population"}
        The table.
    version : str, optional
        Reporting schema version; None means the current one.

    Returns
    -------
    pyarrow.Schema

    Examples
    --------
    >>> import kadindicators as kad
    >>> s = kad.arrow_schema("stays")
    >>> s.field("age").type
    DataType(int64)
    >>> s.metadata[b"kadindicators.schema_version"]
    b'1.1.0'

    .. versionadded:: 0.1.0
    """
    spec = load_schema(version)
    if table not in spec.tables:
        raise KeyError(f"unknown table {table!r}; expected one of {sorted(spec.tables)}")
    fields = []
    for f in spec.tables[table].fields:
        meta = {
            "description_nb": f.description.nb,
            "description_en": f.description.en,
            "required": "true" if f.required else "false",
        }
        if f.codelist:
            meta["codelist"] = f.codelist
        if f.unit:
            meta["unit"] = f.unit
        fields.append(pa.field(f.name, arrow_type(f), nullable=not f.required, metadata=meta))
    return pa.schema(fields, metadata={
        "kadindicators.schema_version": spec.version,
        "kadindicators.table": table,
    })
