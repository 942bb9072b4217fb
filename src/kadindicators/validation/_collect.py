"""Collect issues as Arrow batches (never one Python object per row)."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from ..spec.models import Rule

ISSUE_SCHEMA = pa.schema(
    [
        pa.field("table", pa.string()),
        pa.field("source", pa.string()),
        pa.field("row", pa.int64()),
        pa.field("stay_id", pa.string()),
        pa.field("field", pa.string()),
        pa.field("rule", pa.string()),
        pa.field("severity", pa.string()),
        pa.field("value", pa.string()),
        pa.field("message_nb", pa.string()),
        pa.field("message_en", pa.string()),
    ],
    metadata={"kadindicators.issue_schema": "1"},
)

MAX_VALUE_CHARS = 80


def _arr(a: pa.Array | pa.ChunkedArray) -> pa.Array:
    if isinstance(a, pa.ChunkedArray):  # one chunk: no copy (combine_chunks would copy)
        return a.chunk(0) if a.num_chunks == 1 else a.combine_chunks()
    return a


_STRING = pa.string()


def const(value: object, k: int, type: pa.DataType = _STRING) -> pa.Array:
    """An array of ``k`` copies of ``value``, without a Python list of length ``k``."""
    return pa.array([value], type).take(pa.array(np.zeros(k, dtype=np.int32)))

MASKED = "***"


def _render(template: str, *, field: str, expected: str, table: str, count: str,
            values: pa.Array) -> pa.Array:
    text = (template.replace("{field}", field).replace("{expected}", expected)
            .replace("{table}", table).replace("{count}", count))
    if "{value}" not in text:
        return const(text, len(values))
    parts = text.split("{value}")
    shown = pc.fill_null(values, "")
    out = const(parts[0], len(values))
    for part in parts[1:]:
        out = pc.binary_join_element_wise(out, shown, pa.scalar(part), "")
    return out


class IssueCollector:
    """Gathers the issues of one table and the rows they reject."""

    def __init__(self, *, table: str, source: str, rules: dict[str, Rule], lines: pa.Array,
                 keys: pa.Array | None) -> None:
        self.table = table
        self.source = source
        self.rules = rules
        self.lines = lines
        self.keys = keys
        self.n = len(lines)
        self._batches: list[pa.RecordBatch] = []
        self._reject = const(False, self.n, pa.bool_())
        self._warn = const(False, self.n, pa.bool_())
        self._rejected_rows_extra = 0

    # -- adding -------------------------------------------------------------
    def add(self, rule_id: str, field: str | None, mask: pa.Array, *,
            values: pa.Array | Callable[[pa.Array], pa.Array] | None = None,
            expected: str | tuple[str, str] = "", personal: bool = False) -> int:
        """Add one issue for every row where ``mask`` is true; return how many.

        ``values`` is the column to show (full length), or a function that gets
        the mask and returns the values of the flagged rows only (for costly
        formatting, done just for the rows reported).
        """
        rule = self.rules[rule_id]
        mask = _arr(pc.fill_null(_arr(mask), False))
        k = pc.sum(mask).as_py() or 0
        if k == 0:
            return 0
        rows = self.lines.filter(mask)
        keys = self.keys.filter(mask) if self.keys is not None else pa.nulls(k, pa.string())
        if values is None:
            vals = pa.nulls(k, pa.string())
        elif personal:
            vals = const(MASKED, k)
        else:
            vals = _arr(values(mask)) if callable(values) else _arr(values).filter(mask)
            if not pa.types.is_string(vals.type):
                vals = pc.cast(vals, pa.string())
            vals = pc.utf8_slice_codeunits(vals, 0, MAX_VALUE_CHARS)
        self._append(rule, field, rows, keys, vals, expected=expected)
        if rule.severity == "error":
            self._reject = pc.or_(self._reject, mask)
        elif rule.severity == "warning":
            self._warn = pc.or_(self._warn, mask)
        return k

    def add_rows(self, rule_id: str, field: str | None, rows: pa.Array, *,
                 values: pa.Array | None = None, expected: str | tuple[str, str] = "",
                 count: str = "") -> None:
        """Add issues at given source rows that are not rows of the table (e.g. ragged lines)."""
        rule = self.rules[rule_id]
        k = len(rows)
        if k == 0:
            return
        vals = values if values is not None else pa.nulls(k, pa.string())
        if not pa.types.is_string(vals.type):
            vals = pc.cast(vals, pa.string())
        rows = pc.cast(rows, pa.int64())
        self._append(rule, field, rows, pa.nulls(k, pa.string()), vals, expected=expected, count=count)
        if rule.severity == "warning":  # rows of the table among them (not ragged lines, not the table)
            hit = pc.fill_null(pc.is_in(self.lines, value_set=rows.drop_null()), False)
            self._warn = pc.or_(self._warn, hit)

    def add_table_issue(self, rule_id: str, field: str | None, *, value: str | None = None,
                        expected: str = "", count: str = "") -> None:
        """Add one issue about the table as a whole (row is null)."""
        self.add_rows(rule_id, field, pa.nulls(1, pa.int64()),
                      values=pa.array([value], pa.string()), expected=expected, count=count)

    def _append(self, rule: Rule, field: str | None, rows: pa.Array, keys: pa.Array,
                vals: pa.Array, *, expected: str | tuple[str, str], count: str = "") -> None:
        k = len(rows)
        fname = field or ""
        exp_nb, exp_en = (expected, expected) if isinstance(expected, str) else expected
        nb = _render(rule.template.nb, field=fname, expected=exp_nb, table=self.table,
                     count=count, values=vals)
        en = _render(rule.template.en, field=fname, expected=exp_en, table=self.table,
                     count=count, values=vals)
        self._batches.append(pa.record_batch(
            [
                const(self.table, k),
                const(self.source, k),
                rows,
                keys,
                const(field, k),
                const(rule.id, k),
                const(rule.severity, k),
                vals,
                nb,
                en,
            ],
            schema=ISSUE_SCHEMA,
        ))

    # -- results ------------------------------------------------------------
    @property
    def reject_mask(self) -> pa.Array:
        """True for every row with at least one error."""
        return self._reject

    @property
    def warning_mask(self) -> pa.Array:
        """True for every row with at least one warning."""
        return self._warn

    def issues(self) -> pa.Table:
        """All issues collected, as one table."""
        if not self._batches:
            return ISSUE_SCHEMA.empty_table()
        return pa.Table.from_batches(self._batches, schema=ISSUE_SCHEMA)
