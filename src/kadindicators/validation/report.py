"""The validation report: accepted rows, issues as a table, and a summary that accounts for every row."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

import attrs
import pyarrow as pa
import pyarrow.compute as pc

from ..errors import DataValidationError
from ._collect import ISSUE_SCHEMA

__all__ = ["ISSUE_SCHEMA", "SourceInfo", "TableSummary", "ValidationReport"]


@attrs.frozen(kw_only=True)
class SourceInfo:
    """Where a table came from and how it was read.

    .. versionadded:: 0.1.0
    """

    table: str
    source: str
    format: str
    encoding: str | None = None
    delimiter: str | None = None
    sheet: str | None = None
    columns: tuple[str, ...] = ()


@attrs.frozen(kw_only=True)
class TableSummary:
    """Row accounting for one table: ``rows_read == rows_valid + rows_rejected``.

    .. versionadded:: 0.1.0
    """

    table: str
    rows_read: int
    rows_valid: int
    rows_rejected: int
    rows_with_warnings: int


@attrs.frozen(kw_only=True)
class ValidationReport:
    """Outcome of :func:`kadindicators.validate` (immutable).

    Attributes
    ----------
    valid : pyarrow.Table
        Accepted stays, with exactly the Arrow schema of ``arrow_schema("stays")``.
    tables : Mapping[str, pyarrow.Table]
        Accepted rows of every table validated (``stays``, ``units``, ``population``).
    issues : pyarrow.Table
        One row per problem found (``ISSUE_SCHEMA``): table, source, row (1-based
        line in the file), stay_id, field, rule, severity, value, message_nb, message_en.
    summaries : Mapping[str, TableSummary]
        Row accounting per table.
    sources : tuple of SourceInfo
        How each input was read.
    schema_version : str
        The reporting schema version the data was validated against.

    Examples
    --------
    >>> import kadindicators as kad
    >>> region = kad.synth.generate(years=(2024,), seed=1, scale=0.05)
    >>> report = kad.validate(stays=region.stays, units=region.units)
    >>> report.rows_read == report.rows_valid + report.rows_rejected
    True

    .. versionadded:: 0.1.0
    """

    tables: Mapping[str, pa.Table]
    issues: pa.Table
    summaries: Mapping[str, TableSummary]
    sources: tuple[SourceInfo, ...]
    schema_version: str

    @property
    def valid(self) -> pa.Table:
        """Accepted stays (empty with the stays schema when no stays were given)."""
        return self.tables["stays"]

    @property
    def rows_read(self) -> int:
        """Stays read (data rows in the source, unreadable ones included)."""
        return self.summaries["stays"].rows_read

    @property
    def rows_valid(self) -> int:
        """Stays accepted."""
        return self.summaries["stays"].rows_valid

    @property
    def rows_rejected(self) -> int:
        """Stays rejected (each has at least one ``error`` issue)."""
        return self.summaries["stays"].rows_rejected

    @property
    def has_errors(self) -> bool:
        """True when any row of any table was rejected or a table-level error was found."""
        return bool(pc.any(pc.equal(self.issues["severity"], "error")).as_py() or False)

    def counts_by_rule(self) -> pa.Table:
        """Number of issues per table, rule and severity, most frequent first."""
        if self.issues.num_rows == 0:
            return pa.table({"table": pa.array([], pa.string()), "rule": pa.array([], pa.string()),
                             "severity": pa.array([], pa.string()),
                             "count": pa.array([], pa.int64())})
        g = self.issues.group_by(["table", "rule", "severity"]).aggregate([([], "count_all")])
        g = g.rename_columns(["table", "rule", "severity", "count"])
        return g.sort_by([("count", "descending"), ("rule", "ascending")])

    def affected_indicators(self) -> pa.Table:
        """Which indicators each kind of problem touches, from the specs' data requirements.

        One row per table, rule, severity and field, with the number of rows and the
        ids of the indicators (adopted or proposed) affected. Rejected rows (``error``)
        are left out of every indicator on their table, so all of those are listed;
        warned rows stay in, but a nullified or missing field is counted as unknown by
        the indicators whose definition uses that field, which are listed.
        ``field_indicators`` lists those that use the field in either case.

        Examples
        --------
        >>> import kadindicators as kad
        >>> stays = {"stay_id": ["A"], "patient_id": ["p"], "unit_id": ["U"],
        ...          "admitted_at": ["02.01.2025 10:00"], "discharged_at": ["01.01.2025 10:00"],
        ...          "age": ["80"], "sex": ["2"], "care_track": ["somatic"], "discharged_to": ["home"]}
        >>> row = kad.validate(stays=stays).affected_indicators().to_pylist()[0]  # errors first
        >>> row["rule"], "KAD-U04" in row["indicators"]
        ('discharge-before-admission', True)
        """
        from ..spec.indicators import load_indicators

        uses: dict[tuple[str, str], list[str]] = {}
        on_table: dict[str, list[str]] = {}
        for spec in load_indicators().values():
            if spec.status not in ("adopted", "proposed"):
                continue
            for ref in spec.raw["data_requirements"]["fields"]:
                uses.setdefault((ref["table"], ref["field"]), []).append(spec.id)
            for table in spec.raw["data_requirements"]["tables"]:
                on_table.setdefault(table, []).append(spec.id)
        rows = self.issues.filter(pc.not_equal(self.issues["severity"], "info"))
        schema = pa.schema([("table", pa.string()), ("rule", pa.string()), ("severity", pa.string()),
                            ("field", pa.string()), ("rows", pa.int64()),
                            ("indicators", pa.list_(pa.string())),
                            ("field_indicators", pa.list_(pa.string()))])
        if rows.num_rows == 0:
            return schema.empty_table()
        g = rows.group_by(["table", "rule", "severity", "field"]).aggregate([("row", "count")])
        out = []
        for r in g.to_pylist():
            if r["row_count"] == 0 and r["table"] in self.summaries:  # a table-level issue: every row
                r["row_count"] = self.summaries[r["table"]].rows_read
            fields = (r["field"] or "").split("+")
            by_field = sorted({i for f in fields for i in uses.get((r["table"], f), [])})
            # a rejected row is missing from every indicator on its table, whatever the field
            ids = sorted(on_table.get(r["table"], [])) if r["severity"] == "error" else by_field
            out.append({"table": r["table"], "rule": r["rule"], "severity": r["severity"],
                        "field": r["field"], "rows": r["row_count"], "indicators": ids,
                        "field_indicators": by_field})
        out.sort(key=lambda x: (x["severity"] != "error", -x["rows"], x["rule"]))
        return pa.Table.from_pylist(out, schema=schema)

    def raise_for_errors(self) -> None:
        """Raise :class:`~kadindicators.errors.DataValidationError` if rows were rejected."""
        if self.has_errors:
            raise DataValidationError(self)

    def to_dict(self, *, max_issues: int | None = None) -> dict[str, Any]:
        """The report as plain data (what ``--format json`` prints)."""
        issues = self.issues if max_issues is None else self.issues.slice(0, max_issues)
        return {
            "schema_version": self.schema_version,
            "rows_read": self.rows_read,
            "rows_valid": self.rows_valid,
            "rows_rejected": self.rows_rejected,
            "tables": {k: attrs.asdict(v) for k, v in self.summaries.items()},
            "sources": [attrs.asdict(s) for s in self.sources],
            "counts_by_rule": self.counts_by_rule().to_pylist(),
            "affected_indicators": self.affected_indicators().to_pylist(),
            "issues_total": self.issues.num_rows,
            "issues": issues.to_pylist(),
        }

    def to_json(self, *, max_issues: int | None = None, indent: int | None = 2) -> str:
        """The report as JSON text."""
        return json.dumps(self.to_dict(max_issues=max_issues), ensure_ascii=False, indent=indent,
                          default=str)

    def summary_text(self, *, lang: str = "nb", max_issues: int = 50) -> str:
        """A human-readable summary in ``lang`` (``"nb"`` or ``"en"``)."""
        nb = lang != "en"
        out = []
        out.append(("Validering mot rapporteringsskjema " if nb else
                    "Validation against reporting schema ") + self.schema_version)
        for s in self.sources:
            how = ", ".join(x for x in (s.format, s.encoding,
                                        f"skilletegn «{s.delimiter}»" if nb and s.delimiter else
                                        (f"delimiter '{s.delimiter}'" if s.delimiter else None),
                                        s.sheet) if x)
            out.append(f"  {s.table}: {s.source} ({how})")
        for t in self.summaries.values():
            if nb:
                out.append(f"{t.table}: {_rows(t.rows_read, nb)} lest = {t.rows_valid} godkjent + "
                           f"{t.rows_rejected} avvist; {t.rows_with_warnings} godkjente "
                           f"{'rad' if t.rows_with_warnings == 1 else 'rader'} med advarsler")
            else:
                out.append(f"{t.table}: {_rows(t.rows_read, nb)} read = {t.rows_valid} accepted + "
                           f"{t.rows_rejected} rejected; {t.rows_with_warnings} accepted "
                           f"{'row' if t.rows_with_warnings == 1 else 'rows'} with warnings")
        counts = self.counts_by_rule().to_pylist()
        if counts:
            out.append("Funn per regel:" if nb else "Issues by rule:")
            for c in counts:
                out.append(f"  {c['count']:>8}  {c['severity']:<7}  {c['table']}: {c['rule']}")
        rank = pc.index_in(self.issues["severity"], value_set=pa.array(["error", "warning", "info"]))
        order = pc.sort_indices(pa.table({"r": rank, "row": pc.fill_null(self.issues["row"], 0)}),
                                sort_keys=[("r", "ascending"), ("row", "ascending")])
        affected = [a for a in self.affected_indicators().to_pylist() if a["indicators"]]
        if affected:
            out.append("Betydning for indikatorene:" if nb else "Effect on the indicators:")
            for a in affected:
                ids = ", ".join(a["indicators"])
                n = _rows(a["rows"], nb)
                if a["severity"] == "error":
                    k, table = len(a["indicators"]), a["table"]
                    used = ", ".join(a["field_indicators"])
                    out.append(f"  {n} avvist ({a['rule']}, {a['field']}): utelatt fra alle {k} indikatorene på "
                               f"{table}" + (f"; feltet brukes av {used}" if used else "") if nb else
                               f"  {n} rejected ({a['rule']}, {a['field']}): left out of all {k} indicators on "
                               f"{table}" + (f"; the field is used by {used}" if used else ""))
                else:
                    out.append(f"  {n} med advarsel ({a['rule']}, {a['field']}): kan påvirke {ids}"
                               if nb else
                               f"  {n} with a warning ({a['rule']}, {a['field']}): may affect {ids}")
        shown = self.issues.take(order).slice(0, max_issues).to_pylist()
        if shown:
            out.append(("Første {n} funn, feil først (fil:linje felt regel — melding):" if nb else
                        "First {n} issues, errors first (file:line field rule — message):")
                       .format(n=len(shown)))
            col = "message_nb" if nb else "message_en"
            for i in shown:
                where = f"{i['source']}:{i['row']}" if i["row"] is not None else i["source"]
                out.append(f"  {where} [{i['severity']}] {i['field'] or '-'} {i['rule']} — {i[col]}")
            rest = self.issues.num_rows - len(shown)
            if rest > 0:
                out.append(f"  … og {rest} flere (bruk --format json)" if nb else
                           f"  … and {rest} more (use --format json)")
        elif not counts:
            out.append("Ingen funn." if nb else "No issues.")
        return "\n".join(out)

    def _repr_html_(self, *, lang: str = "en", max_issues: int = 20) -> str:
        """An HTML summary for notebooks: rows per table, issues by rule, the first issues.

        Examples
        --------
        >>> import kadindicators as kad
        >>> r = kad.synth.generate(years=(2024,), seed=1, scale=0.05)
        >>> html = kad.validate(stays=r.stays)._repr_html_()
        >>> html.startswith("<div") and "rows read" in html
        True

        .. versionadded:: 0.2.0
        """
        from html import escape

        nb = lang != "en"
        head = (("tabell", "rader lest", "godkjent", "avvist", "med advarsler") if nb else
                ("table", "rows read", "accepted", "rejected", "with warnings"))
        title = "Validering mot rapporteringsskjema" if nb else "Validation against reporting schema"
        out = [f"<div><strong>{title} {escape(self.schema_version)}</strong>",
               "<table><tr>" + "".join(f"<th>{h}</th>" for h in head) + "</tr>"]
        for t in self.summaries.values():
            cells = (t.table, t.rows_read, t.rows_valid, t.rows_rejected, t.rows_with_warnings)
            out.append("<tr>" + "".join(f"<td>{escape(str(c))}</td>" for c in cells) + "</tr>")
        out.append("</table>")
        counts = self.counts_by_rule().to_pylist()
        if counts:
            out.append("<table><tr>" + "".join(f"<th>{h}</th>" for h in (
                ("antall", "alvorlighet", "tabell", "regel") if nb else ("count", "severity", "table", "rule")))
                + "</tr>")
            for c in counts:
                out.append("<tr>" + "".join(f"<td>{escape(str(c[k]))}</td>"
                                            for k in ("count", "severity", "table", "rule")) + "</tr>")
            out.append("</table>")
            col = "message_nb" if nb else "message_en"
            out.append("<ul>")
            rank = pc.index_in(self.issues["severity"], value_set=pa.array(["error", "warning", "info"]))
            order = pc.sort_indices(pa.table({"r": rank, "row": pc.fill_null(self.issues["row"], 0)}),
                                    sort_keys=[("r", "ascending"), ("row", "ascending")])
            for i in self.issues.take(order).slice(0, max_issues).to_pylist():
                where = f"{i['source']}:{i['row']}" if i["row"] is not None else i["source"]
                out.append(f"<li><code>{escape(str(where))}</code> [{escape(i['severity'])}] "
                           f"{escape(i['field'] or '-')} {escape(i['rule'])} — {escape(i[col])}</li>")
            out.append("</ul>")
        else:
            out.append(f"<p>{'Ingen funn.' if nb else 'No issues.'}</p>")
        return "\n".join(out) + "</div>"

    def __repr__(self) -> str:
        return (f"ValidationReport(schema_version={self.schema_version!r}, rows_read={self.rows_read}, "
                f"rows_valid={self.rows_valid}, rows_rejected={self.rows_rejected}, "
                f"issues={self.issues.num_rows})")


def _rows(n: int, nb: bool) -> str:
    """``1 row`` / ``2 rows`` (``1 rad`` / ``2 rader``)."""
    if nb:
        return f"{n} rad" if n == 1 else f"{n} rader"
    return f"{n} row" if n == 1 else f"{n} rows"


def empty_issues() -> pa.Table:
    """An issue table with no rows."""
    return ISSUE_SCHEMA.empty_table()
