"""Validation of KAD data against the reporting schema.

:func:`validate` never raises on bad data: every problem becomes a row of the
report's issue table, located by file, line, field and rule, with a message in
Norwegian and English. Rows with an ``error`` are rejected; every row read is
either accepted or rejected.

.. versionadded:: 0.1.0
"""

from __future__ import annotations

import datetime as dt
import functools
import re
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import attrs
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from ..errors import InputError
from ..io import RawTable, read_table
from ..schema import TIMEZONE, arrow_schema
from ..spec.loader import load_schema
from ..spec.models import FieldSpec, SchemaSpec, TableSpec
from . import _checks, _hash
from ._collect import ISSUE_SCHEMA, IssueCollector
from ._parse import (
    CodeLookup,
    Mapped,
    Note,
    _as_array,
    as_strings,
    first_rows,
    formula_mask,
    group_labels,
    parse_column,
    trim,
)
from .report import SourceInfo, TableSummary, ValidationReport

__all__ = ["ISSUE_SCHEMA", "ValidationReport", "validate"]

REPORT_ORDER = ("stays", "units", "population", "experience", "hospital_admissions")

TABLE_ORDER = ("units", "population", "hospital_admissions", "stays", "experience")
"""Validation order: a table that refers to another comes after it."""
TYPE_WORDS = {
    "integer": ("et heltall", "an integer"),
    "boolean": ("ja/nei (true/false, 1/0)", "yes/no (true/false, 1/0)"),
    "timestamp": ("et tidspunkt (dd.mm.åååå tt:mm eller ISO 8601)",
                  "a timestamp (dd.mm.yyyy HH:MM or ISO 8601)"),
    "date": ("en dato (dd.mm.åååå eller ISO 8601)", "a date (dd.mm.yyyy or ISO 8601)"),
}


def _norm_header(name: str) -> str:
    name = name.replace("\ufeff", "").strip().lower()
    return re.sub(r"[\s\-./]+", "_", name)


def _map_columns(raw: RawTable, tspec: TableSpec, collector: IssueCollector) -> dict[str, int]:
    """Map source columns to schema fields by name or alias; report unknown and duplicate ones."""
    wanted: dict[str, str] = {}
    for f in tspec.fields:
        for alias in (f.name, *f.aliases):
            wanted.setdefault(_norm_header(alias), f.name)
    found: dict[str, int] = {}
    dups: dict[str, list[str]] = {}
    for i, name in enumerate(raw.table.column_names):
        key = _norm_header(str(name))
        field = wanted.get(key)
        if field is None:
            if key:
                collector.add_table_issue("column-unknown", None, value=str(name))
            continue
        if field in found:
            dups.setdefault(field, [raw.table.column_names[found[field]]]).append(str(name))
            continue
        found[field] = i
    for field, names in dups.items():
        collector.add_table_issue("column-duplicate", field, value=", ".join(names))
    return found


def _missing_columns_error(raw: RawTable, tspec: TableSpec, missing: list[str]) -> InputError:
    names = [str(c) for c in raw.table.column_names]
    shown = names[:40] + ([f"… (+{len(names) - 40})"] if len(names) > 40 else [])  # a header may be huge
    cols = ", ".join(shown) or "(ingen / none)"
    aliases = "; ".join(f"{m}: {', '.join(tspec.field(m).aliases[:4])}" for m in missing
                        if tspec.field(m).aliases)
    return InputError(
        f"required column(s) missing from {tspec.name}: {', '.join(missing)}. Found columns: {cols}",
        f"påkrevde kolonner mangler i {tspec.name}: {', '.join(missing)}. Fant kolonnene: {cols}",
        source=raw.source,
        hint_en=f"accepted alternative names: {aliases}" if aliases else None,
        hint_nb=f"godkjente alternative navn: {aliases}" if aliases else None,
    )


def _expected_text(f: FieldSpec, schema: SchemaSpec, lang: int) -> str:
    if f.codelist:
        cl = schema.codelists[f.codelist]
        vals = cl.values
        listed = ", ".join(vals[:8]) + (", …" if len(vals) > 8 else "")
        return (f"kodeliste {cl.id}: {listed}", f"code list {cl.id}: {listed}")[lang]
    if f.pattern:
        return (f"mønster {f.pattern}", f"pattern {f.pattern}")[lang]
    return TYPE_WORDS.get(f.type, ("tekst", "text"))[lang]


def _validate_table(raw: RawTable, tspec: TableSpec, schema: SchemaSpec,
                    lookups: Mapping[str, CodeLookup], others: Mapping[str, pa.Table],
                    as_of: dt.datetime) -> tuple[pa.Table, pa.Table, TableSummary, SourceInfo]:
    n = raw.table.num_rows
    keys = None
    collector = IssueCollector(table=tspec.name, source=raw.source, rules=dict(schema.rules),
                               lines=raw.lines, keys=None)
    colmap = _map_columns(raw, tspec, collector)
    missing_required = [f.name for f in tspec.fields if f.required and f.name not in colmap]
    if missing_required:
        raise _missing_columns_error(raw, tspec, missing_required)
    if tspec.name == "stays":
        keys = trim(_parse_as_strings(raw.table.column(colmap["stay_id"])))
        collector.keys = keys
    # rows the reader could not split into the header's columns
    collector.add_rows("row-ragged", None, raw.ragged_lines, values=raw.ragged_counts,
                       expected=str(raw.header_columns or ""))

    columns: dict[str, pa.Array] = {}
    invalid: dict[str, pa.Array] = {}
    encoded: dict[str, tuple[pa.Array, pa.Array]] = {}
    for f in tspec.fields:
        target = arrow_schema(tspec.name, schema.version).field(f.name).type
        if f.name not in colmap:
            columns[f.name] = pa.nulls(n, target)
            invalid[f.name] = pa.array(np.zeros(n, dtype=bool))
            if f.recommended and n:
                collector.add_table_issue("recommended-column-missing", f.name)
            continue
        column = raw.table.column(colmap[f.name])
        enc = _distinct(column, f)
        if enc is None:  # parse every row
            stage = _stage(_as_array(column), f, schema, lookups, target, summarise=True)
            rows = _Rows(None)
        else:  # parse each distinct value once, then map the results to the rows
            stage = _stage(enc.dictionary, f, schema, lookups, target, summarise=False)
            rows = _Rows(enc.indices)
            if f.name in _checks.LOOKED_UP:  # kept for the checks (only where they use it: memory)
                encoded[f.name] = (enc.indices, stage.values)
            if stage.mapped_mask is not None:
                stage = attrs.evolve(stage, mapped=_summarise_distinct(
                    stage.raw, stage.values, stage.mapped_mask, enc.indices))
        _emit(stage, f, schema, collector, raw, rows)
        if enc is not None and column.type == stage.values.type and stage.values.equals(enc.dictionary):
            columns[f.name] = _as_array(column)  # every distinct value parses to itself: the rows are the input
        else:
            columns[f.name] = rows.full(stage.values)
        invalid[f.name] = rows.full(stage.invalid)
        if f.unique:
            _flag_duplicates(collector, pa.table({f.name: columns[f.name]}), [f.name])
    typed = pa.Table.from_arrays([columns[f.name] for f in tspec.fields],
                                 names=[f.name for f in tspec.fields])
    if len(tspec.key) > 1:
        _flag_duplicates(collector, typed, list(tspec.key),
                         optional=[k for k in tspec.key if not tspec.field(k).required])
    ctx = _checks.CheckContext(table=typed, invalid=invalid, collector=collector, schema=schema,
                               others=others, as_of=as_of, encoded=encoded)
    for rule_id in tspec.rules:
        _checks.CHECKS[rule_id](ctx)
    reject = collector.reject_mask
    kept_rows = pc.invert(reject)
    kept = typed if not pc.any(reject).as_py() else typed.filter(kept_rows)
    valid = kept.cast(arrow_schema(tspec.name, schema.version))
    issues = _sorted(collector.issues())
    rejected = n - valid.num_rows
    ragged = len(raw.ragged_lines)
    with_warnings = int(pc.sum(pc.and_(kept_rows, collector.warning_mask)).as_py() or 0)
    summary = TableSummary(table=tspec.name, rows_read=n + ragged, rows_valid=valid.num_rows,
                           rows_rejected=rejected + ragged, rows_with_warnings=with_warnings)
    info = SourceInfo(table=tspec.name, source=raw.source, format=raw.format, encoding=raw.encoding,
                      delimiter=raw.delimiter, sheet=raw.sheet,
                      columns=tuple(map(str, raw.table.column_names)))
    return valid, issues, summary, info


# -- parsing one field: elementwise stages, run on the rows or on their distinct values ---------

MIN_ROWS_FOR_DISTINCT = 1024
DISTINCT_SAMPLE = 2048


@attrs.frozen(kw_only=True)
class _Stage:
    """What one field gives, element by element: typed values, masks for every rule, notes."""

    values: pa.Array
    invalid: pa.Array  # unusable for cross-field rules (no nulls)
    bad: pa.Array
    missing: pa.Array
    raw: pa.Array
    formula: pa.Array | None = None
    too_long: pa.Array | None = None
    out_of_range: pa.Array | None = None
    range_values: pa.Array | None = None
    below: pa.Array | None = None
    below_values: pa.Array | None = None
    notes: tuple[Note, ...] = ()
    mapped: tuple[Mapped, ...] = ()
    mapped_mask: pa.Array | None = None


def _null_where(mask: pa.Array, values: pa.Array, target: pa.DataType) -> pa.Array:
    """Values with nulls where ``mask`` is true (null mask entries keep the value)."""
    if not pc.any(pc.fill_null(mask, False)).as_py():
        return values
    return pc.if_else(pc.fill_null(mask, False), pa.scalar(None, target), values)


def _stage(col: pa.Array, f: FieldSpec, schema: SchemaSpec, lookups: Mapping[str, CodeLookup],
           target: pa.DataType, *, summarise: bool) -> _Stage:
    """Parse one column and apply the field's own rules (formula, length, pattern, range)."""
    parsed = parse_column(col, f, lookups, summarise=summarise)
    values = parsed.values
    bad = parsed.invalid
    # present in the source but unusable for any reason (cross-field rules skip these)
    unusable = parsed.invalid
    formula = None
    # text that a spreadsheet would run as a formula
    if f.type in ("string", "code", "code_list"):
        formula = formula_mask(parsed.raw)
        bad = pc.and_(bad, pc.invert(formula))
        unusable = pc.or_(unusable, formula)
        values = _null_where(formula, values, target)
    too_long = None
    if f.max_length is not None and f.type == "string":
        too_long = pc.greater(pc.utf8_length(values), f.max_length)
        values = _null_where(too_long, values, target)
        unusable = pc.or_(unusable, pc.fill_null(too_long, False))
    if f.pattern is not None:
        nomatch = pc.and_(pc.is_valid(values), pc.invert(pc.match_substring_regex(values, f.pattern)))
        bad = pc.or_(bad, pc.fill_null(nomatch, False))
        values = _null_where(nomatch, values, target)
    out = range_values = None
    if f.min is not None or f.max is not None:
        lo = f.min if f.min is not None else -(2**62)
        hi = f.max if f.max is not None else 2**62
        out = pc.or_(pc.less(values, lo), pc.greater(values, hi))
        range_values = values
        values = _null_where(out, values, target)
        unusable = pc.or_(unusable, pc.fill_null(out, False))
    below = below_values = None
    if f.warn_below is not None and f.warn_rule:
        below, below_values = pc.less(values, f.warn_below), values
    return _Stage(values=values, invalid=pc.fill_null(pc.or_(unusable, bad), False), bad=bad,
                  missing=parsed.missing, raw=parsed.raw, formula=formula,
                  too_long=too_long, out_of_range=out, range_values=range_values, below=below,
                  below_values=below_values, notes=parsed.notes, mapped=parsed.mapped,
                  mapped_mask=parsed.mapped_mask)


class _Rows:
    """Maps arrays over a column's distinct values to its rows (``indices=None``: already rows)."""

    def __init__(self, indices: pa.Array | None) -> None:
        self.indices = indices

    def full(self, a: pa.Array) -> pa.Array:
        return a if self.indices is None else pc.take(a, self.indices)

    def mask(self, m: pa.Array | None) -> pa.Array | None:
        """The mask over the rows; None when no row is flagged (nothing to report)."""
        if m is None:
            return None
        if self.indices is None:
            return m
        if not pc.any(pc.fill_null(m, False)).as_py():
            return None
        return pc.take(m, self.indices)

    def shown(self, values: pa.Array, fn: Callable[[pa.Array], pa.Array] | None = None,
              ) -> pa.Array | Callable[[pa.Array], pa.Array]:
        """Values to show, for the collector: ``fn`` of the flagged rows' values (default: as they are)."""
        if self.indices is None and fn is None:
            return values
        idx = self.indices
        f = fn or (lambda x: x)
        if idx is None:
            return lambda mask: f(values.filter(mask))
        return lambda mask: f(pc.take(values, pc.filter(idx, mask)))


def _emit(stage: _Stage, f: FieldSpec, schema: SchemaSpec, collector: IssueCollector, raw: RawTable,
          rows: _Rows) -> None:
    """Report the field's issues, in the same order for every input."""
    def add(rule: str, mask: pa.Array | None, **kw: Any) -> None:
        m = rows.mask(mask)
        if m is not None:
            collector.add(rule, f.name, m, **kw)

    if stage.formula is not None:
        add("formula-like", stage.formula, personal=False,
            values=rows.shown(stage.raw, lambda v: pc.utf8_slice_codeunits(v, 0, 1)))
    if f.required:
        add("required-missing", stage.missing)
    elif f.recommended:
        add("recommended-missing", stage.missing)
    if stage.too_long is not None:
        add("value-too-long", stage.too_long, expected=str(f.max_length))
    if stage.out_of_range is not None and stage.range_values is not None:
        rng_rule = "range-out-of-bounds" if f.on_invalid == "reject" else "code-invalid-nullified"
        add(rng_rule, stage.out_of_range, values=rows.shown(stage.range_values), expected=f"[{f.min}, {f.max}]")
    if stage.below is not None and stage.below_values is not None and f.warn_rule:
        add(f.warn_rule, stage.below, values=rows.shown(stage.below_values))
    if pc.any(stage.bad).as_py():
        if f.on_invalid == "nullify":
            rule = "code-invalid-nullified"
        elif f.codelist:
            rule = "code-unknown"
        elif f.pattern:
            rule = "pattern-mismatch"
        else:
            rule = "type-invalid"
        add(rule, stage.bad, values=rows.shown(stage.raw), personal=f.personal,
            expected=(_expected_text(f, schema, 0), _expected_text(f, schema, 1)))
    for note in stage.notes:
        add(note.rule, note.mask, values=rows.shown(note.values), expected=note.expected)
    for m in stage.mapped:
        collector.add_rows("label-mapped", f.name, raw.lines.take([m.first_index]),
                           values=pa.array([m.value]), expected=m.code, count=str(m.count))


def _is_text(t: pa.DataType) -> bool:
    return bool(pa.types.is_string(t) or pa.types.is_large_string(t) or pa.types.is_string_view(t))


def _is_dictionary(t: pa.DataType) -> bool:
    """A dictionary of text values (Parquet codes read as such, pandas categoricals)."""
    return pa.types.is_dictionary(t) and _is_text(t.value_type)


def _distinct(column: pa.ChunkedArray | pa.Array, f: FieldSpec) -> pa.DictionaryArray | None:
    """The column's distinct values and each row's index, when the column repeats itself.

    Code lists, yes/no, ages and dates have few distinct values: parsing those once
    and mapping the results back to the rows gives the same result for far less work.
    Identifiers and times (nearly all distinct) are parsed row by row.

    Always exactly ``pc.dictionary_encode(text, null_encoding="encode")`` of the
    column as text (values numbered in order of first appearance). A column that
    arrives dictionary-encoded (see :func:`_reuse_dictionary`) is not hashed again.
    """
    n = len(column)
    if n < MIN_ROWS_FOR_DISTINCT or f.unique or f.type in ("timestamp", "code_list"):
        return None
    t = column.type
    if _is_dictionary(t):
        sample = as_strings(_as_array(column.slice(0, DISTINCT_SAMPLE)))
        if pc.count_distinct(sample, mode="all").as_py() > len(sample) // 2:
            return None
        enc = _reuse_dictionary(column)
        if enc is None:  # not numbered as dictionary_encode numbers: encode the text again
            enc = pc.dictionary_encode(as_strings(_as_array(column)), null_encoding="encode")
    else:
        if not _is_text(t):
            return None  # typed columns have their own fast paths in parse_column
        text = column if pa.types.is_string(t) else pc.cast(column, pa.string())  # string_view, large_string
        sample = _as_array(text.slice(0, DISTINCT_SAMPLE))
        if pc.count_distinct(sample, mode="all").as_py() > len(sample) // 2:
            return None
        enc = _encode(text)
    if len(enc.dictionary) > n // 2:
        return None
    return enc


def _encode(text: pa.ChunkedArray | pa.Array) -> pa.DictionaryArray:
    """``pc.dictionary_encode(text, null_encoding="encode")`` of the text as one array, without joining its chunks.

    Encoding a chunked column chunk by chunk shares one dictionary among the chunks,
    so only the indices are joined (4 bytes a row instead of a copy of every string).
    """
    if isinstance(text, pa.ChunkedArray) and text.num_chunks > 1:
        parts = pc.dictionary_encode(text, null_encoding="encode").chunks
        dictionary = parts[0].dictionary
        if all(c.dictionary.equals(dictionary) for c in parts[1:]):
            return pa.DictionaryArray.from_arrays(pa.concat_arrays([c.indices for c in parts]), dictionary)
    return pc.dictionary_encode(_as_array(text), null_encoding="encode")


def _reuse_dictionary(column: pa.ChunkedArray | pa.Array) -> pa.DictionaryArray | None:
    """``pc.dictionary_encode(text, null_encoding="encode")`` of a dictionary-encoded column, from its codes.

    Fast because no string is hashed: the chunks' dictionaries are unified (a few
    values each), null gets its own entry, and the codes are checked to number the
    values in order of first appearance, as ``dictionary_encode`` does (Parquet's
    and pyarrow's dictionaries are numbered so). That check only reads the rows
    up to where the last value first appears (see :func:`_first_appearance`).
    None for any other numbering, a repeated or unused value, or a null among the
    dictionary's values: the caller then encodes the text.
    """
    chunks = column.chunks if isinstance(column, pa.ChunkedArray) else [column]
    if not chunks or any(c.dictionary.null_count for c in chunks):
        return None
    unified = pa.chunked_array(chunks, type=column.type).unify_dictionaries()
    dictionary = unified.chunk(0).dictionary
    if not pa.types.is_string(dictionary.type):
        dictionary = pc.cast(dictionary, pa.string())
    k = len(dictionary)
    if dictionary.null_count or pc.count_distinct(dictionary).as_py() != k:
        return None
    parts = [pc.cast(c.indices, pa.int32()) for c in unified.chunks]
    indices = parts[0] if len(parts) == 1 else pa.concat_arrays(parts)
    if indices.null_count:
        # null takes the place dictionary_encode gives it: after the values seen before it
        first_null = int(pc.index(indices.is_valid(), False).as_py())
        before = np.asarray(indices.slice(0, first_null).to_numpy(zero_copy_only=False))
        p = _first_appearance(before, k)
        if p is None:
            return None
        indices = pc.fill_null(indices, k)  # null as the last value (usually where it belongs)
        codes = np.asarray(indices.to_numpy(zero_copy_only=False))
        if p < k:  # renumber the values first seen after the first null
            remap = np.concatenate((np.arange(p), np.arange(p + 1, k + 1), [p])).astype(np.int32)
            codes = remap[codes]
            indices = pa.array(codes, pa.int32())
        dictionary = pa.concat_arrays([dictionary.slice(0, p), pa.nulls(1, pa.string()), dictionary.slice(p)])
        k += 1
    else:
        codes = np.asarray(indices.to_numpy(zero_copy_only=False))
    if _first_appearance(codes, k) != k:
        return None
    return pa.DictionaryArray.from_arrays(indices, dictionary)


def _first_appearance(codes: np.ndarray, k: int) -> int | None:
    """How many of the values ``0..k-1`` occur in ``codes``, if they first occur in that order; else None.

    Reads a prefix that doubles until every value has occurred (usually the first
    few thousand rows), so the cost does not grow with the rows when the values are few.
    """
    n = codes.size
    if n == 0:
        return 0
    length = min(n, 1 << 16)
    while True:
        head = codes[:length]
        seen = np.maximum.accumulate(head)
        if int(head[0]) != 0 or bool(np.any(head[1:] > seen[:-1] + 1)):
            return None  # a value first occurs before a lower one
        top = int(seen[-1]) + 1
        if top == k or length == n:
            return top
        length = min(n, 2 * length)


def _summarise_distinct(present: pa.Array, codes: pa.Array, mapped: pa.Array,
                        indices: pa.Array) -> tuple[Mapped, ...]:
    """Distinct label → code mappings with their row counts and first rows (as summarise_mapped)."""
    keep = np.asarray(pc.fill_null(mapped, False).to_numpy(zero_copy_only=False), dtype=bool)
    if not keep.any():
        return ()
    idx = np.asarray(indices.to_numpy(zero_copy_only=False), dtype=np.int64)
    k = len(present)
    entries = np.flatnonzero(keep)
    take = pa.array(entries)
    return group_labels(present.take(take), codes.take(take), np.bincount(idx, minlength=k)[entries],
                        first_rows(idx, k)[entries])


def _sorted(issues: pa.Table) -> pa.Table:
    """Issues in source order: table-level ones first, then by row (stable)."""
    key = pc.fill_null(issues["row"], 0)  # table-level issues (row null) first
    return issues.take(pc.sort_indices(key))


def _parse_as_strings(col: pa.ChunkedArray | pa.Array) -> pa.Array:
    from ._parse import _as_array, as_strings

    return as_strings(_as_array(col))


def _flag_duplicates(collector: IssueCollector, t: pa.Table, keys: list[str], *,
                     optional: Sequence[str] = ()) -> None:
    """Report every row whose key repeats. A row without a required key part has no key;
    an empty ``optional`` key part is a value of its own (e.g. the month of a whole-year row)."""
    n = t.num_rows
    if n < 2:
        return
    if len(keys) == 1 and not optional and _strictly_increasing(t[keys[0]]):
        return  # sorted without repeats (extracts are often ordered by their key): no duplicates
    idx = pa.array(np.arange(n))
    t2 = t.select(keys).append_column("__i", idx)
    for k in optional:
        t2 = t2.set_column(t2.schema.get_field_index(k), k,
                           pc.fill_null(pc.cast(t2[k], pa.string()), "\x00empty"))
    present = functools.reduce(pc.and_, [pc.is_valid(t2[k]) for k in keys])
    if len(keys) == 1 and pa.types.is_string(t2[keys[0]].type):
        # only values whose hash repeats can repeat (a hash collision only adds a candidate)
        present = pc.and_(present, pa.array(_hash.repeated(_hash.hash_strings(_as_array(t2[keys[0]])))))
    t2 = t2.filter(present)
    if t2.num_rows < 2:
        return
    counts = t2.group_by(keys).aggregate([("__i", "count")])
    dup = counts.filter(pc.greater(counts["__i_count"], 1))
    if dup.num_rows == 0:
        return
    hits = t2.join(dup, keys=keys, join_type="inner")["__i"].to_numpy()
    mask = np.zeros(n, dtype=bool)
    mask[hits] = True
    if len(keys) == 1:
        shown = pc.cast(t[keys[0]], pa.string())
    else:
        shown = pc.binary_join_element_wise(*[pc.fill_null(pc.cast(t[k], pa.string()), "-") for k in keys], " / ")
    collector.add("duplicate-key", "+".join(keys), pa.array(mask), values=shown)


def _strictly_increasing(col: pa.ChunkedArray | pa.Array) -> bool:
    """Whether the column's present values are in strictly increasing order (then none repeats).

    One comparison of each value with the next, far cheaper than hashing and
    sorting every value; False for types that cannot be ordered this way.
    """
    a = _as_array(col)
    if a.null_count:
        a = a.drop_null()
    if len(a) < 2:
        return True
    if not (pa.types.is_string(a.type) or pa.types.is_integer(a.type) or pa.types.is_temporal(a.type)):
        return False
    return bool(pc.all(pc.less(a.slice(0, len(a) - 1), a.slice(1))).as_py())


def validate(
    *,
    stays: Any = None,
    units: Any = None,
    population: Any = None,
    experience: Any = None,
    hospital_admissions: Any = None,
    schema_version: str | None = None,
    as_of: dt.datetime | dt.date | str | None = None,
) -> ValidationReport:
    """Validate KAD data against the reporting schema.

    Never raises on bad data: every problem is a row of ``report.issues``.

    Parameters
    ----------
    stays, units, population : path or table-like, optional
        A file path (CSV, Excel .xlsx, Parquet, Arrow IPC) or an in-memory table
        (pyarrow, pandas, polars, duckdb, anything with ``__arrow_c_stream__``).
        When ``units`` is given, each stay's unit must exist and be in operation
        on the admission date.
    experience, hospital_admissions : path or table-like, optional
        The optional tables of schema 1.1.0: answers to experience questionnaires
        (each row's stay must be among the accepted stays when ``stays`` is given)
        and acute hospital admissions per municipality and year or month.

        .. versionadded:: 0.2.0
    schema_version : str, optional
        The reporting schema version to validate against (default: current).
    as_of : datetime, date or ISO string, optional
        The time of the extract; later timestamps are reported as future dates.
        Default: now.

    Returns
    -------
    ValidationReport

    Raises
    ------
    InputError
        Only when an input cannot be used at all (missing, empty, binary, a
        required column missing).

    Examples
    --------
    >>> import kadindicators as kad
    >>> stays = {"stay_id": ["A1", "A2"], "patient_id": ["p1", "p2"], "unit_id": ["U1", "U1"],
    ...          "municipality": ["3301", "3301"], "admitted_at": ["02.01.2025 10:00", "03.01.2025 09:15"],
    ...          "discharged_at": ["04.01.2025 12:00", "02.01.2025 08:00"], "age": ["84", "77"],
    ...          "sex": ["Kvinne", "1"], "care_track": ["somatic", "somatic"],
    ...          "discharged_to": ["hjem", "home"]}
    >>> report = kad.validate(stays=stays)
    >>> report.rows_read, report.rows_valid, report.rows_rejected
    (2, 1, 1)
    >>> report.issues.filter(pc.equal(report.issues["severity"], "error"))["rule"].to_pylist()
    ['discharge-before-admission']

    .. versionadded:: 0.1.0
    """
    schema = load_schema(schema_version)
    if isinstance(as_of, str):
        as_of = dt.datetime.fromisoformat(as_of)
    if as_of is None:
        now = dt.datetime.now(dt.UTC)
    elif isinstance(as_of, dt.datetime):
        now = as_of if as_of.tzinfo else as_of.replace(tzinfo=_oslo())
    else:
        now = dt.datetime.combine(as_of, dt.time(), tzinfo=_oslo())
    lookups = {cl_id: CodeLookup.build(cl) for cl_id, cl in schema.codelists.items()}
    inputs = {"stays": stays, "units": units, "population": population, "experience": experience,
              "hospital_admissions": hospital_admissions}
    for name, obj in inputs.items():
        if obj is not None and name not in schema.tables:
            raise ValueError(f"the {name} table is not part of reporting schema {schema.version} "
                             f"(added in {load_schema().tables[name].since})")
    tables: dict[str, pa.Table] = {}
    issues: list[pa.Table] = []
    summaries: dict[str, TableSummary] = {}
    sources: list[SourceInfo] = []
    for name in TABLE_ORDER:
        obj = inputs[name]
        if obj is None:
            continue
        raw = read_table(obj, table=name, dictionary=True)
        others = {k: v for k, v in tables.items()}
        valid, iss, summary, info = _validate_table(raw, schema.tables[name], schema, lookups,
                                                    others, now)
        tables[name] = valid
        issues.append(iss)
        summaries[name] = summary
        sources.append(info)
    if "stays" not in tables:
        tables["stays"] = arrow_schema("stays", schema.version).empty_table()
        summaries["stays"] = TableSummary(table="stays", rows_read=0, rows_valid=0,
                                          rows_rejected=0, rows_with_warnings=0)
    all_issues = pa.concat_tables(issues) if issues else ISSUE_SCHEMA.empty_table()
    ordered: dict[str, TableSummary] = {k: summaries[k] for k in REPORT_ORDER if k in summaries}
    return ValidationReport(tables=tables, issues=all_issues, summaries=ordered,
                            sources=tuple(sources), schema_version=schema.version)


def _oslo() -> dt.tzinfo:
    from zoneinfo import ZoneInfo

    return ZoneInfo(TIMEZONE)
