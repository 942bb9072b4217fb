"""Documentation-quality indicators: KAD-D01 (valid main diagnosis), KAD-D02 (data completeness).

Both check the values themselves, against the code lists and patterns of the reporting
schema: a table that already has the schema's Arrow types is used as it is (see
:func:`kadindicators.compute`), so it may hold values validation would have set to empty.
The normative definitions are the specs ``spec/indicators/KAD-D01.yaml`` and ``KAD-D02.yaml``.

.. versionadded:: 0.2.0
"""

from __future__ import annotations

import math

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from ..spec.loader import load_schema
from ..spec.models import FieldSpec, SchemaSpec
from ._context import Contributions, StayContext, _to_np
from ._registry import indicator

__all__ = ["completeness_fields", "diagnosis_codes", "recorded"]

PROCESS_RUBRICS = range(30, 70)
"""ICPC-2 rubric numbers of components 2-6 (process codes, 30-69): they say what was done, not
what is wrong, so they are no diagnosis."""

CONDITIONAL_FIELDS = ("discharged_to",)
"""Fields of KAD-D02 beyond the recommended ones, in scope for completed stays only (the
schema requires them once ``discharged_at`` is set)."""


def diagnosis_codes() -> tuple[str, ...]:
    """The ICPC-2 codes that count as a main diagnosis in KAD-D01, from the ICPC-2 code list.

    Component 1 (symptoms and complaints, rubrics 01-29) and component 7 (diagnoses,
    70-99) with the Norwegian extension codes of those rubrics (e.g. ``R991``); the
    process codes of components 2-6 (rubrics 30-69, e.g. ``R33``), which the code list
    also holds because validation accepts them, are left out.

    Returns
    -------
    tuple of str
        The codes, in code-list order.

    Examples
    --------
    >>> from kadindicators.indicators.documentation import diagnosis_codes
    >>> codes = diagnosis_codes()
    >>> [c in codes for c in ("R81", "A04", "R991", "R33", "K50")]
    [True, True, True, False, False]

    .. versionadded:: 0.2.0
    """
    out = []
    for code in load_schema().codelists["icpc2"].values:
        rubric = code[1:3]
        if len(code) >= 3 and code[0].isalpha() and rubric.isdigit() and int(rubric) not in PROCESS_RUBRICS:
            out.append(code)
    return tuple(out)


def completeness_fields(schema: SchemaSpec | None = None) -> tuple[str, ...]:
    """The fields of ``stays`` that KAD-D02 measures, read from the reporting schema.

    Every field the schema marks ``recommended``, in schema order, then the
    conditionally required ``discharged_to`` (in scope for completed stays only).

    Parameters
    ----------
    schema : SchemaSpec, optional
        The reporting schema; default the current one (``load_schema()``).

    Returns
    -------
    tuple of str
        Field names.

    Examples
    --------
    >>> from kadindicators.indicators.documentation import completeness_fields
    >>> completeness_fields()
    ('municipality', 'admitted_from', 'examined_before_admission', 'diagnosis_icpc2', 'discharged_to')

    .. versionadded:: 0.2.0
    """
    stays = (schema or load_schema()).tables["stays"]
    names = [f.name for f in stays.fields if f.recommended]
    return (*names, *(c for c in CONDITIONAL_FIELDS if c not in names))


def recorded(values: pa.Array | pa.ChunkedArray, field: FieldSpec, schema: SchemaSpec | None = None,
             ) -> pa.Array:
    """Whether each value of ``field`` is recorded: present and valid by the schema's field rules.

    A value counts when it is not null and, as the field says: not empty or
    only whitespace (text), in the field's code list (every code of a list field, which
    must not be empty), matching its ``pattern``, within ``min``/``max`` and
    ``max_length``. Nulls give ``False``, never null.

    Parameters
    ----------
    values : pyarrow.Array or ChunkedArray
        The column, with the schema's Arrow type.
    field : FieldSpec
        The field, e.g. ``load_schema().tables["stays"].field("municipality")``.
    schema : SchemaSpec, optional
        For the code lists; default the current schema.

    Returns
    -------
    pyarrow.BooleanArray
        One value per row, without nulls.

    Examples
    --------
    >>> import pyarrow as pa
    >>> from kadindicators.spec.loader import load_schema
    >>> from kadindicators.indicators.documentation import recorded
    >>> f = load_schema().tables["stays"].field("admitted_from")
    >>> recorded(pa.array(["gp", None, " ", "Legevakt"]), f).to_pylist()
    [True, False, False, False]

    .. versionadded:: 0.2.0
    """
    schema = schema or load_schema()
    col = values.combine_chunks() if isinstance(values, pa.ChunkedArray) else values
    ok = pc.is_valid(col)
    codes = pa.array(schema.codelists[field.codelist].values, pa.string()) if field.codelist else None
    if pa.types.is_list(col.type) or pa.types.is_large_list(col.type):
        ok = pc.and_kleene(ok, pc.greater(pc.list_value_length(col), 0))
        if codes is not None:
            flat = pc.list_flatten(col)
            bad = _to_np(pc.invert(pc.fill_null(pc.is_in(flat, value_set=codes), False))).astype(bool)
            parents = _to_np(pc.list_parent_indices(col)).astype(np.int64)
            any_bad = np.bincount(parents[bad], minlength=len(col)) > 0
            ok = pc.and_kleene(ok, pa.array(~any_bad))
    elif pa.types.is_string(col.type) or pa.types.is_large_string(col.type):
        ok = pc.and_kleene(ok, pc.not_equal(pc.utf8_trim_whitespace(col), ""))
        if field.max_length is not None:
            ok = pc.and_kleene(ok, pc.less_equal(pc.utf8_length(col), field.max_length))
        if field.pattern:
            ok = pc.and_kleene(ok, pc.match_substring_regex(col, field.pattern))
        if codes is not None:
            ok = pc.and_kleene(ok, pc.is_in(col, value_set=codes))
    else:
        if field.min is not None:
            ok = pc.and_kleene(ok, pc.greater_equal(col, field.min))
        if field.max is not None:
            ok = pc.and_kleene(ok, pc.less_equal(col, field.max))
    return pc.fill_null(ok, False)


def _bool(a: pa.Array) -> np.ndarray:
    return np.asarray(_to_np(pc.fill_null(a, False)), dtype=bool)


@indicator("KAD-D01", version="1.0.0")
def valid_main_diagnosis(ctx: StayContext) -> Contributions:
    """Share of stays with a valid main diagnosis: ICPC-2 symptom/diagnosis or ICD-10 (KAD-D01)."""
    schema = load_schema()
    icpc2 = pc.is_in(ctx.stays["diagnosis_icpc2"], value_set=pa.array(diagnosis_codes(), pa.string()))
    # ICD-10: the schema's pattern for the field (there is no ICD-10 code list in the standard)
    icd10 = recorded(ctx.stays["diagnosis_icd10"], schema.tables["stays"].field("diagnosis_icd10"), schema)
    valid = _bool(pc.or_(pc.fill_null(icpc2, False), icd10))
    return ctx.per_stay(denominator=np.ones(ctx.n, dtype=bool), numerator=valid)


@indicator("KAD-D02", version="1.0.0")
def data_completeness(ctx: StayContext) -> Contributions:
    """Mean share of recorded fields per stay; per field, the share of stays with it recorded (KAD-D02).

    Without the ``field`` stratum one row per stay: denominator 1, numerator the stay's own
    completeness r/s (r of its s fields in scope recorded), as the exact integer r·(L/s) with
    ``numerator_scale = 1/L``, L = lcm(1..k) for the k fields (so sums do not depend on row
    order). With the ``field`` stratum one row per stay × field: each cell is one field, and
    its numerator and denominator count stays.
    """
    schema = load_schema()
    table = schema.tables["stays"]
    names = completeness_fields(schema)
    n, k = ctx.n, len(names)
    rec = np.zeros((k, n), dtype=bool)
    scope = np.ones((k, n), dtype=bool)
    for i, name in enumerate(names):  # a loop over the few fields; each step is vectorised over the stays
        rec[i] = _bool(recorded(ctx.stays[name], table.field(name), schema))
        if name in CONDITIONAL_FIELDS:
            scope[i] = ctx.completed
    num = rec & scope
    in_scope = scope.any(axis=0)  # every stay: the recommended fields are in scope for all
    masks = {"numerator_mask": pa.array(in_scope & num.any(axis=0)), "denominator_mask": pa.array(in_scope)}
    if "field" not in ctx.dims:
        mult = math.lcm(*range(1, k + 1))
        s = scope.sum(axis=0).astype(np.int64)
        r = num.sum(axis=0).astype(np.int64)
        scaled = np.where(in_scope, r * (mult // np.maximum(s, 1)), 0).astype(np.int64)
        per_stay = ctx.per_stay(denominator=in_scope.astype(np.int64), numerator=scaled,
                                numerator_scale=1.0 / mult)
        return Contributions(rows=per_stay.rows, excluded={}, numerator_scale=per_stay.numerator_scale, **masks)
    idx = pa.array(np.tile(np.arange(n, dtype=np.int64), k), pa.int64())
    field = pc.take(pa.array(names, pa.string()), pa.array(np.repeat(np.arange(k, dtype=np.int64), n)))
    cols: dict[str, pa.Array] = {"period": pc.take(ctx.admission_period, idx)}
    for d in ctx.dims:
        cols[d] = field if d == "field" else pc.take(ctx.stay_column(d), idx)
    cols["numerator"] = pa.array(num.ravel().astype(np.int64))
    cols["denominator"] = pa.array(scope.ravel().astype(np.int64))
    cols["row"] = idx
    return Contributions(rows=pa.table(cols), excluded={}, **masks)
