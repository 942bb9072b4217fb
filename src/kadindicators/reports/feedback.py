"""The clinical feedback report: one self-contained HTML file per region or unit.

For the regional clinical committee and for each unit: data quality, volume,
headline indicators with confidence intervals and target levels, funnel plots,
trends, admission sources and discharge destinations, and variation between
municipalities; and, marked as proposed (under review), documentation quality,
patient and professional experience and (for the region) hospital use. Plots are
inline SVG; the file needs no network to open and prints to PDF. Small counts are
never shown: every published figure goes through primary and complementary
suppression (:mod:`kadindicators.disclosure`). Counts that are one number in
several tables (a unit's admissions) or are tied by definition (answered
questionnaires and those with a score) are protected as one system, so that no
table gives away what another hides.

.. versionadded:: 0.2.0
"""

from __future__ import annotations

import datetime as dt
import html
import json
import math
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import attrs
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from .._version import __version__
from ..errors import InputError
from ..spec.indicators import IndicatorSpec
from . import _plots

__all__ = ["FeedbackReport", "feedback_report", "feedback_reports"]

_DIMS = ("unit_id", "municipality", "subperiod")
_MAX_LABEL = 30


def _t(lang: str, nb: str, en: str) -> str:
    return en if lang == "en" else nb


@attrs.frozen(kw_only=True)
class FeedbackReport:
    """A rendered feedback report (immutable).

    .. versionadded:: 0.2.0

    Attributes
    ----------
    html : str
        The whole self-contained HTML document.
    year : int
        The year the funnel plots and headline figures describe.
    scope : str
        ``"region"`` or the ``unit_id`` the report is for.
    lang : str
        ``"nb"`` or ``"en"``.
    figures : tuple of str
        The ids of the figures in the document (``funnel-KAD-Q01``, ``trend-KAD-Q02`` …).
    provenance : dict
        Library, schema and indicator versions, data fingerprint and ``as_of``.
    """

    html: str = attrs.field(repr=False)
    year: int
    scope: str
    lang: str
    figures: tuple[str, ...]
    provenance: Mapping[str, str] = attrs.field(repr=False)

    def write(self, path: str | Path) -> Path:
        """Write the HTML file (UTF-8); return its path."""
        p = Path(path)
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_text(self.html, encoding="utf-8")
        return p


# ----------------------------------------------------------------------------- formatting


def _count(n: float | None, threshold: int, reason: str | None = None) -> str:
    """A count as published: ``<t`` for a small count, ``×`` for a secondary suppression."""
    if reason in ("secondary", "masked"):
        return "×"
    if n is None or (isinstance(n, float) and math.isnan(n)):
        return f"&lt;{threshold}" if reason == "low_n" else "–"
    if 0 < n < threshold:  # also a fraction (bed-days) that would round to a small count
        return f"&lt;{threshold}"
    return f"{round(n):,}".replace(",", "\u202f")


def _scale(spec: IndicatorSpec) -> float:
    return 100.0 if spec.unit in ("proportion", "ratio") else 1.0


def _unit_label(spec: IndicatorSpec, lang: str) -> str:
    return {"proportion": "%", "ratio": "%", "rate_per_1000": _t(lang, "per 1 000", "per 1,000"),
            "mean": _t(lang, "døgn", "days"), "median": _t(lang, "døgn", "days")}.get(spec.unit, "")


def _num(x: float, lang: str, digits: int = 1) -> str:
    s = f"{x:,.{digits}f}".replace(",", "\u202f")
    return s.replace(".", ",") if lang == "nb" else s


def _value(spec: IndicatorSpec, v: float | None, lang: str) -> str:
    if v is None or not math.isfinite(v):
        return "–"
    s = _num(v * _scale(spec), lang, 2 if spec.unit in ("mean", "median") else 1)
    return f"{s} %" if spec.unit in ("proportion", "ratio") else s


def _ci(spec: IndicatorSpec, lo: float | None, hi: float | None, lang: str) -> str:
    if lo is None or hi is None or not (math.isfinite(lo) and math.isfinite(hi)):
        return "–"
    return f"{_value(spec, lo, lang)} – {_value(spec, hi, lang)}"


def _esc(s: object) -> str:
    return html.escape(str(s), quote=True)


def _short(s: str) -> str:
    return s if len(s) <= _MAX_LABEL else s[: _MAX_LABEL - 1] + "…"


def _achievement(spec: IndicatorSpec, v: float | None) -> str | None:
    """``high``/``moderate``/``low`` by the spec's target levels and direction; None without targets."""
    tg = spec.targets or {}
    if v is None or not math.isfinite(v) or "high" not in tg or "moderate" not in tg:
        return None
    high, mod = float(tg["high"]), float(tg["moderate"])
    if spec.direction == "higher_is_better":
        return "high" if v >= high else "moderate" if v >= mod else "low"
    return "high" if v <= high else "moderate" if v <= mod else "low"


def _bands(spec: IndicatorSpec) -> tuple[tuple[str, float, float], ...]:
    tg = spec.targets or {}
    if "high" not in tg or "moderate" not in tg:
        return ()
    s = _scale(spec)
    high, mod = float(tg["high"]) * s, float(tg["moderate"]) * s
    big = 1e12
    if spec.direction == "higher_is_better":
        return (("high", high, big), ("moderate", mod, high), ("low", -big, mod))
    return (("high", -big, high), ("moderate", high, mod), ("low", mod, big))


_LEVEL_TEXT = {"high": ("høy", "high"), "moderate": ("moderat", "moderate"), "low": ("lav", "low")}
_DIRECTION = {"lower_is_better": ("lavere er bedre", "lower is better"),
              "higher_is_better": ("høyere er bedre", "higher is better"),
              "neither": ("ingen retning", "no direction")}
_FLAG_TEXT = {"within": ("innenfor", "within"), "high_95": ("over 95 %-grensen", "above 95% limit"),
              "high_998": ("over 99,8 %-grensen", "above 99.8% limit"),
              "low_95": ("under 95 %-grensen", "below 95% limit"),
              "low_998": ("under 99,8 %-grensen", "below 99.8% limit"),
              "not_applicable": ("–", "–")}


# ----------------------------------------------------------------------------- data


def _local_year(ts: pa.ChunkedArray) -> pa.ChunkedArray:
    # component extraction on a zoned timestamp gives local (Europe/Oslo) fields
    return pc.year(ts)


def _align(t: pa.Table, extra: Mapping[str, pa.Array] | None = None) -> pa.Table:
    """Give a result table the columns unit_id, municipality and subperiod (null = all)."""
    cols = {}
    for d in _DIMS:
        if extra and d in extra:
            cols[d] = extra[d]
        elif d in t.column_names:
            cols[d] = t[d]
        else:
            cols[d] = pa.nulls(t.num_rows, pa.string())
    base = ["indicator_id", "indicator_version", "period", "period_start", "period_end"]
    rest = ["numerator", "denominator", "value", "ci_lower", "ci_upper", "suppressed", "status", "reason"]
    data = {c: t[c] for c in base} | cols | {c: t[c] for c in rest}
    return pa.table(data)


def _results(tables: Mapping[str, pa.Table | None], *, as_of: Any, since: dt.date,
             confidence: float, period: str) -> tuple[pa.Table, dict[str, str]]:
    """Every adopted result the report shows, in one table, *before* any suppression.

    Computed with ``suppression=1`` (nothing masked); primary and complementary
    suppression is then :func:`protect_results`'s, which applies compute's own
    primary rule again with the report's threshold (the result is the same).
    """
    from .. import compute

    # stays, units and population only: the fingerprint in the metadata is theirs (see _prepare for the others)
    kw: dict[str, Any] = {"stays": tables["stays"], "units": tables["units"], "population": tables["population"],
                          "as_of": as_of, "suppression": 1, "confidence": confidence, "since": since}
    by_unit = compute(**kw, by=("unit_id",), period="year")
    by_mun = compute(**kw, by=("municipality",), period="year")
    region = compute(**kw, by=(), period="year")
    # sub-year trends for indicators whose numerator and denominator both add up over
    # sub-periods (not population rates): every unit, so that the partitions are complete
    trend_ids = sorted({i for i in by_unit["indicator_id"].to_pylist()})
    parts = [_align(by_unit), _align(by_mun), _align(region)]
    if period != "year" and trend_ids:
        for by in ((), ("unit_id",)):
            sub = compute(**kw, by=by, period=period, indicators=trend_ids)
            label = sub["period"]
            year = pc.utf8_slice_codeunits(label, 0, 4)
            sub = sub.set_column(sub.column_names.index("period"), "period", year)
            parts.append(_align(sub, {"subperiod": label}))
    combined = pa.concat_tables(parts)
    meta = {k.decode(): v.decode() for k, v in (by_unit.schema.metadata or {}).items()}
    return combined.replace_schema_metadata(by_unit.schema.metadata), meta


def _table_kw(tables: Mapping[str, pa.Table | None]) -> dict[str, Any]:
    """The tables as keyword arguments of :func:`kadindicators.compute` (the optional ones when given)."""
    kw: dict[str, Any] = {name: tables.get(name) for name in ("stays", "units", "population")}
    for name in _OPTIONAL_TABLES:
        if tables.get(name) is not None:
            kw[name] = tables[name]
    return kw


_OPTIONAL_TABLES = ("experience", "hospital_admissions")
_CONTRACT = frozenset({"indicator_id", "indicator_version", "period", "period_start", "period_end", "numerator",
                       "denominator", "value", "ci_lower", "ci_upper", "suppressed", "status", "reason"})
_NO_GROUP = "\x00"  # a grouping or stratum value "missing" (never "all", which is null), see _concat_parts


def _concat_parts(parts: Sequence[pa.Table]) -> pa.Table:
    """Result tables of several groupings in one table (a missing dimension is null = "all").

    A group of missing values (a null where the table is grouped by that column) is
    labelled first, so it cannot be taken for "all" by :func:`protect_results`.
    """
    labelled = []
    for t in parts:
        for i, name in enumerate(t.column_names):
            if name not in _CONTRACT and t[name].null_count:
                t = t.set_column(i, t.schema.field(i), pc.fill_null(t[name], _NO_GROUP))
        labelled.append(t)
    out = pa.concat_tables(labelled, promote_options="default")
    return out.replace_schema_metadata(parts[0].schema.metadata)


def _protect_uniform(truth: pa.Table, threshold: int) -> pa.Table:
    """:func:`protect_results`, with one mark for every hidden row when the marks alone would give a count away."""
    from ..disclosure import protect_results

    out = protect_results(truth, threshold=threshold)
    info = json.loads((out.schema.metadata or {}).get(b"kadindicators.disclosure", b"{}"))
    if any((info.get("exposed") or {}).values()):
        # some cells are given away by the marks alone ("<5" = 1..4 adding up to a total):
        # then every hidden cell gets the same mark, so the marks tell nothing
        i = out.column_names.index("reason")
        out = out.set_column(i, out.schema.field(i), pc.if_else(out["suppressed"], "masked", out["reason"]))
    return out


@attrs.frozen
class _Member:
    """The counts of one indicator (``column``) in the rows of one table where ``where`` holds.

    ``where`` maps a dimension to True (set) or False (null, i.e. "all").
    """

    table: int
    indicator: str
    column: str
    where: Mapping[str, bool] = attrs.field(factory=dict)


@attrs.frozen
class _Bound:
    """By definition, in each period and ``key``, every count of ``small`` is at most that of ``large``."""

    key: tuple[str, ...]
    small: tuple[_Member, ...]
    large: _Member


_MARKS = ("numerator_mark", "denominator_mark")
"""Columns of a jointly protected table: why its numerator / denominator is hidden (null: shown)."""


def _col(t: pa.Table, name: str) -> pa.ChunkedArray | pa.Array:
    return t[name] if name in t.column_names else pa.nulls(t.num_rows, pa.string())


def _protect_joint(truth: Sequence[pa.Table], additive: Sequence[tuple[str, ...]], bounds: Sequence[_Bound],
                   threshold: int, unpublished: Mapping[str, tuple[str, ...]] | None = None) -> list[pa.Table]:
    """Protect several result tables as one system of counts (:func:`kadindicators.disclosure.protect`).

    :func:`protect_results` protects each indicator of one table on its own. Here the
    counts of different indicators and tables are related by definition (answered
    questionnaires are at most those sent, and at least those with a score), so they
    are protected together: every count an indicator's suppression policy names is a
    cell; each table adds up over its ``additive`` dimensions (a coarser row is the sum
    of the finer ones); a proportion's numerator is at most its denominator; and each
    :class:`_Bound` holds. An inequality ``a <= b`` is the equation ``b = a + s`` with
    a hidden cell ``s >= 0``; where the two counts are equal (as they usually are) the
    equation ``a = b`` instead, so that guessing so gives nothing away either. The
    counts ``unpublished`` names per indicator are never shown (hidden cells). The
    tables come back with the suppressed counts, values and intervals nulled,
    ``suppressed``/``status``/``reason`` set as :func:`protect_results` does, and the
    columns of :data:`_MARKS`.
    """
    from ..disclosure import margin
    from ..spec.indicators import load_indicators

    unpublished = unpublished or {}

    specs = load_indicators()
    values: list[float] = []
    hidden: list[bool] = []
    eqs: list[dict[int, int]] = []
    where_cell: list[dict[tuple[int, str], int]] = []  # per table: (row, column) -> cell

    def new_cell(v: float, hide: bool) -> int:
        values.append(v)
        hidden.append(hide)
        return len(values) - 1

    rows_of: list[list[dict[str, Any]]] = []
    for ti, t in enumerate(truth):
        rows = t.to_pylist()  # result rows (aggregates), a few hundred
        rows_of.append(rows)
        dims = [d for d in t.column_names if d not in _CONTRACT]
        cells: dict[tuple[int, str], int] = {}
        for i, r in enumerate(rows):
            spec = specs[r["indicator_id"]]
            for c in ("numerator", "denominator"):
                if c in spec.statistics.applies_to and not (c == "numerator" and spec.unit == "median") \
                        and r[c] is not None:
                    cells[(i, c)] = new_cell(float(r[c]), False)
            if spec.unit == "proportion" and (i, "numerator") in cells and (i, "denominator") in cells:
                slack = new_cell(float(r["denominator"]) - float(r["numerator"]), True)
                eqs.append(margin(cells[(i, "denominator")], [cells[(i, "numerator")], slack]))
        where_cell.append(cells)
        # additive: the row with dimension d "all" is the sum of the rows with d set, the others alike
        index = {(r["indicator_id"], r["period"], tuple(r[d] for d in dims)): i for i, r in enumerate(rows)}
        groups: dict[tuple[Any, ...], list[int]] = {}
        for (i, c), cell in cells.items():
            r = rows[i]
            key = tuple(r[d] for d in dims)
            level = tuple(k is not None for k in key)
            for j, d in enumerate(dims):
                if d in additive[ti] and key[j] is not None:
                    parent = (*key[:j], None, *key[j + 1:])
                    groups.setdefault((r["indicator_id"], r["period"], c, level, j, parent), []).append(cell)
        for (iid, period, c, _, _, parent), members in groups.items():
            pi = index.get((iid, period, parent))
            total = cells.get((pi, c)) if pi is not None else None
            if total is None:  # a coarser count that is not published: unknown to anyone
                total = new_cell(sum(values[m] for m in members), True)
            eqs.append(margin(total, members))
    for b in bounds:
        def cells_of(m: _Member, b: _Bound = b) -> dict[tuple[Any, ...], list[int]]:
            out: dict[tuple[Any, ...], list[int]] = {}
            if m.table >= len(truth):
                return out
            for i, r in enumerate(rows_of[m.table]):
                if r["indicator_id"] != m.indicator or (i, m.column) not in where_cell[m.table]:
                    continue
                if any((r.get(d) is not None) != want for d, want in m.where.items()):
                    continue
                out.setdefault((r["period"], *(r.get(d) for d in b.key)), []).append(
                    where_cell[m.table][(i, m.column)])
            return out

        large = cells_of(b.large)
        for m in b.small:
            for key, small_cells in cells_of(m).items():
                for big in large.get(key, []):
                    for sc in small_cells:
                        if values[big] == values[sc]:
                            # equal, as they usually are: protect also against one who guesses so
                            eqs.append(margin(big, [sc]))
                        else:
                            eqs.append(margin(big, [sc, new_cell(values[big] - values[sc], True)]))
    counts = np.array(values, dtype=float)
    hid = np.array(hidden, dtype=bool)
    for ti, cells in enumerate(where_cell):  # counts that are never shown are unknown to anyone
        for (i, c), cell in cells.items():
            if c in unpublished.get(rows_of[ti][i]["indicator_id"], ()):
                hid[cell] = True
    if not len(counts):
        return [_with_marks(t, {}, np.zeros(0, bool), np.zeros(0, object), unpublished) for t in truth]
    if (counts[hid] < -1e-9).any():
        raise RuntimeError("a bound between indicators does not hold for these results")
    sup, why = _protect_cells(np.round(counts).astype(np.int64), eqs, hid, threshold)
    return [_with_marks(t, where_cell[ti], sup, why, unpublished) for ti, t in enumerate(truth)]


def _protect_cells(counts: np.ndarray, eqs: Sequence[Mapping[int, int]], hidden: np.ndarray, threshold: int
                   ) -> tuple[np.ndarray, np.ndarray]:
    """Suppressed cells and their marks: small counts and complements (:func:`kadindicators.disclosure.protect`).

    When the marks would give a count away (``<5`` cells adding up to a ``<5``
    total), every hidden cell is published with the one mark ``masked``, and the
    complements are chosen again for an attacker who knows no more than that.
    """
    from ..disclosure import protect

    primary = (counts >= 1) & (counts < threshold) & ~hidden
    prot = protect(counts, eqs, threshold=threshold, primary=primary, hidden=hidden)
    if prot.exposed.any():
        prot = protect(counts, eqs, threshold=threshold, primary=primary, hidden=hidden, known_bounds=False)
        sup = np.asarray(prot.suppressed, bool)
        why = np.full(len(sup), None, dtype=object)
        why[sup] = "masked"
        return sup, why
    return np.asarray(prot.suppressed, bool), np.asarray(prot.reason, dtype=object)


def _with_marks(t: pa.Table, cells: Mapping[tuple[int, str], int], sup: np.ndarray, why: np.ndarray,
                unpublished: Mapping[str, tuple[str, ...]]) -> pa.Table:
    """``t`` with the hidden cells nulled and marked (see :func:`_protect_joint`)."""
    n = t.num_rows
    marks = {c: np.full(n, None, dtype=object) for c in ("numerator", "denominator")}
    for (i, c), cell in cells.items():
        if sup[cell]:
            marks[c][i] = why[cell]
    hide = {c: np.array([m is not None for m in marks[c]], dtype=bool) for c in marks}
    ids = t["indicator_id"].to_pylist()
    for c, hidden_c in list(hide.items()):  # never shown (not a suppression: no mark, the row keeps its value)
        hide[c] = hidden_c | np.array([c in unpublished.get(i, ()) for i in ids], dtype=bool)
    row = np.array([m is not None for m in marks["numerator"]], bool) | np.array(
        [m is not None for m in marks["denominator"]], bool)
    old = np.asarray(pc.fill_null(t["suppressed"], False).to_numpy(zero_copy_only=False), bool)
    cols: dict[str, Any] = {c: t[c] for c in t.column_names}
    for c in ("value", "ci_lower", "ci_upper"):
        cols[c] = pc.if_else(pa.array(row), pa.nulls(n, t[c].type), t[c])
    # a numerator that is no count (a sum of scores) is never shown for a suppressed row
    num_cell = np.zeros(n, bool)
    num_cell[[i for (i, c) in cells if c == "numerator"]] = True
    hide["numerator"] = hide["numerator"] | (row & ~num_cell)
    for c in ("numerator", "denominator"):
        cols[c] = pc.if_else(pa.array(hide[c]), pa.nulls(n, t[c].type), t[c])
    cols["suppressed"] = pa.array(old | row)
    cols["status"] = pc.if_else(pa.array(row), pa.scalar("suppressed", t["status"].type), t["status"])
    reason = np.asarray(t["reason"].to_numpy(zero_copy_only=False), dtype=object).copy()
    reason[row] = None
    for kind in ("secondary", "low_n", "masked"):  # the row's reason: masked, else low_n, else secondary
        reason[(marks["numerator"] == kind) | (marks["denominator"] == kind)] = kind
    cols["reason"] = pa.array(reason.tolist(), pa.string())
    out = pa.table([cols[c] for c in t.column_names], schema=t.schema)
    for c in ("numerator", "denominator"):
        out = out.append_column(f"{c}_mark", pa.array(marks[c].tolist(), pa.string()))
    return out


# By definition: a questionnaire with a score (KAD-E02, KAD-E04) or an overall rating (KAD-E03,
# KAD-E05) has been answered (KAD-E01's numerator), for every unit and respondent type; and a
# questionnaire with a score to one item has a score (the item's count is at most the overall one).
_EXPERIENCE_BOUNDS = (
    _Bound(key=("unit_id", "respondent"), small=(
        _Member(0, "KAD-E02", "denominator"), _Member(0, "KAD-E03", "denominator"),
        _Member(0, "KAD-E04", "denominator"), _Member(0, "KAD-E05", "denominator")),
        large=_Member(0, "KAD-E01", "numerator")),
    _Bound(key=("unit_id",), small=(_Member(1, "KAD-E02", "denominator", {"item": True}),),
           large=_Member(0, "KAD-E02", "denominator", {"respondent": False})),
    _Bound(key=("unit_id",), small=(_Member(1, "KAD-E04", "denominator", {"item": True}),),
           large=_Member(0, "KAD-E04", "denominator", {"respondent": False})),
)
_EXPERIENCE_ADDITIVE = (("unit_id", "respondent"), ("unit_id",))  # items do not add up to a questionnaire

_EXPERIENCE_IDS = ("KAD-E01", "KAD-E02", "KAD-E03", "KAD-E04", "KAD-E05")
_SCORE_IDS = ("KAD-E02", "KAD-E04")  # means with the stratum item
_HOSPITAL_IDS = ("KAD-H01", "KAD-H02")
_DOCUMENTATION_IDS = ("KAD-D01", "KAD-D02")


def _rows(res: pa.Table, *, indicator: str, year: str, dim: str | None,
          subperiods: bool = False) -> list[dict[str, Any]]:
    """The result rows of one indicator and year at one level (``dim`` None = the region)."""
    mask = pc.and_(pc.equal(res["indicator_id"], indicator), pc.equal(res["period"], year))
    for d in _DIMS:
        want_set = (d == dim) or (d == "subperiod" and subperiods)
        col = res[d]
        mask = pc.and_(mask, pc.is_valid(col) if want_set else pc.is_null(col))
    out = res.filter(mask).to_pylist()
    return sorted(out, key=lambda r: tuple(str(r[d] or "") for d in _DIMS))


def _first(rows: list[dict[str, Any]]) -> dict[str, Any] | None:
    return rows[0] if rows else None


def _names(units: pa.Table | None, lang: str) -> dict[str, dict[str, str]]:
    from ..spec.loader import load_schema

    mun = {c.code: c.label.get(lang) for c in load_schema().codelists["municipality"].codes}
    uni: dict[str, str] = {}
    if units is not None and units.num_rows:
        for uid, name in zip(units["unit_id"].to_pylist(), units["name"].to_pylist(), strict=True):
            uni[str(uid)] = str(name or uid)
    return {"unit_id": uni, "municipality": mun}


def _label(names: Mapping[str, Mapping[str, str]], dim: str, key: str) -> str:
    return _short(names.get(dim, {}).get(key, key))


class _Doc:
    """Collects the HTML body, the figure ids and the table of contents."""

    def __init__(self, lang: str, threshold: int) -> None:
        self.lang = lang
        self.threshold = threshold
        self.parts: list[str] = []
        self.figures: list[str] = []
        self.toc: list[tuple[str, str]] = []

    def t(self, nb: str, en: str) -> str:
        return _t(self.lang, nb, en)

    def section(self, sid: str, title: str) -> None:
        if self.parts:
            self.parts.append("</section>")
        self.toc.append((sid, title))
        self.parts.append(f'<section id="{_esc(sid)}"><h2>{_esc(title)}</h2>')

    def add(self, text: str) -> None:
        self.parts.append(text)

    def figure(self, fid: str, svg: str, caption: str, **data: str) -> None:
        self.figures.append(fid)
        attrs_ = "".join(f' data-{k}="{_esc(v)}"' for k, v in data.items())
        self.parts.append(f'<figure id="{_esc(fid)}"{attrs_}>{svg}<figcaption>{caption}</figcaption></figure>')

    def table(self, head: Sequence[str], rows: Sequence[Sequence[str | tuple[str, str]]], *, cls: str = "",
              kinds: Sequence[str] = ()) -> None:
        """Cells are HTML already escaped by the caller; ``kinds`` marks count columns.

        A cell given as ``(html, kind)`` has its own kind (class) instead of its column's.
        """
        h = "".join(f"<th>{c}</th>" for c in head)
        body = []
        for r in rows:
            cells = []
            for i, c in enumerate(r):
                kind = kinds[i] if i < len(kinds) else ""
                if isinstance(c, tuple):
                    c, kind = c
                cells.append(f'<td class="{kind}">{c}</td>' if kind else f"<td>{c}</td>")
            body.append("<tr>" + "".join(cells) + "</tr>")
        self.parts.append(f'<table class="{cls}"><thead><tr>{h}</tr></thead><tbody>{"".join(body)}'
                          "</tbody></table>")

    def html(self, title: str, header: str, footer: str) -> str:
        nav = "".join(f'<li><a href="#{_esc(s)}">{_esc(t)}</a></li>' for s, t in self.toc)
        body = "".join(self.parts) + ("</section>" if self.parts else "")
        return (f'<!DOCTYPE html>\n<html lang="{self.lang}"><head><meta charset="utf-8">'
                f'<meta name="viewport" content="width=device-width, initial-scale=1">'
                f"<title>{_esc(title)}</title><style>{_CSS}</style></head><body>"
                f"<header>{header}</header><nav><ol>{nav}</ol></nav><main>{body}</main>"
                f"<footer>{footer}</footer></body></html>\n")


_CSS = """
body{font-family:system-ui,-apple-system,"Segoe UI",Roboto,"Helvetica Neue",Arial,sans-serif;
 color:#222;max-width:60rem;margin:0 auto;padding:1rem 1.5rem;line-height:1.4;font-size:14px}
h1{font-size:1.6rem;margin:.2rem 0}h2{font-size:1.25rem;border-bottom:2px solid #0072B2;
 padding-bottom:.2rem;margin-top:2rem}h3{font-size:1.05rem;margin:1.4rem 0 .3rem}
table{border-collapse:collapse;margin:.5rem 0 1rem;font-size:12.5px}
th,td{border-bottom:1px solid #ddd;padding:.2rem .5rem;text-align:left;vertical-align:top}
td.count,td.num{text-align:right;font-variant-numeric:tabular-nums;white-space:nowrap}
th{background:#f3f6f9}figure{margin:1rem 0;break-inside:avoid}figure svg{max-width:100%;height:auto}
figcaption{font-size:12px;color:#444}.prov{font-size:12px;background:#f6f6f6;padding:.5rem .8rem;
 border-left:4px solid #0072B2}.prov dt{font-weight:600;float:left;clear:left;width:13rem}
.prov dd{margin-left:13.5rem}.lvl-high{background:#d9f0d3}.lvl-moderate{background:#fff3c4}
.lvl-low{background:#f8d7d3}.note{font-size:12px;color:#555}nav ol{columns:2;font-size:13px}
.proposed{font-size:12.5px;background:#fff8e6;border-left:4px solid #E69F00;padding:.4rem .8rem}
td .ci{display:block;font-size:11px;color:#555}
@media print{nav{display:none}section{break-before:page}body{max-width:none;font-size:11px}}
"""


def _prov_html(prov: Mapping[str, str], doc: _Doc) -> str:
    labels = {"library": doc.t("Bibliotek", "Library"), "schema": doc.t("Rapporteringsskjema", "Reporting schema"),
              "indicators": doc.t("Indikatorer (versjon)", "Indicators (version)"),
              "proposed": doc.t("Foreslåtte indikatorer (versjon)", "Proposed indicators (version)"),
              "spec_hash": doc.t("Spesifikasjon (hash)", "Specification (hash)"),
              "fingerprint": doc.t("Datafingeravtrykk", "Data fingerprint"),
              "fingerprint_all": doc.t("Fingeravtrykk med valgfrie tabeller", "Fingerprint with optional tables"),
              "as_of": doc.t("Data til og med", "Data as of"),
              "generated": doc.t("Laget", "Generated"),
              "threshold": doc.t("Prikkegrense", "Suppression threshold")}
    items = "".join(f"<dt>{_esc(labels[k])}</dt><dd>{_esc(v)}</dd>" for k, v in prov.items()
                    if k in labels and (v or k not in ("proposed", "fingerprint_all")))
    return f'<dl class="prov">{items}</dl>'


# ----------------------------------------------------------------------------- sections


_PERSONAL_TABLES = ("stays", "experience")
"""Tables whose rows are about persons: their row counts are protected like any other count."""


def _summary_counts(report: Any, threshold: int) -> dict[str, list[str | tuple[str, str]]]:
    """Rows read, accepted and rejected per table, as published (read = accepted + rejected is protected).

    The counts of tables about persons are count cells; those of units, population and
    hospital figures (about places, not persons) are plain numbers.
    """
    from ..disclosure import margin

    out: dict[str, list[str | tuple[str, str]]] = {}
    for name, s in report.summaries.items():
        cells = np.array([s.rows_read, s.rows_valid, s.rows_rejected], dtype=np.int64)
        if name not in _PERSONAL_TABLES:
            out[name] = [(_esc(int(n)), "num") for n in cells]
            continue
        sup, why = _protect_cells(cells, [margin(0, [1, 2])], np.zeros(3, bool), threshold)
        out[name] = [_count(None if sup[i] else int(cells[i]), threshold, why[i]) for i in range(3)]
    return out


def _quality_section(doc: _Doc, report: Any, counts: _StayCounts | None, year: str, unit: str | None,
                     names: Mapping[str, Mapping[str, str]], versions: Mapping[str, str]) -> None:
    from ..spec.loader import load_schema

    doc.section("quality", doc.t("Datakvalitet", "Data quality"))
    doc.add("<p>" + _esc(doc.t(
        "Alle tall i rapporten bygger bare på rader som besto valideringen. Avviste rader er "
        "utelatt fra alle indikatorer; rader med advarsler er med.",
        "Every figure in this report uses only rows that passed validation. Rejected rows are "
        "left out of every indicator; rows with warnings are kept.")) + "</p>")
    summary = _summary_counts(report, doc.threshold)
    rows = [[_esc(name), *cells] for name, cells in summary.items()]
    doc.table([doc.t("Tabell", "Table"), doc.t("Rader lest", "Rows read"), doc.t("Godtatt", "Accepted"),
               doc.t("Avvist", "Rejected")], rows, kinds=("", "count", "count", "count"))
    aff = report.affected_indicators().to_pylist()
    if not aff:
        doc.add("<p>" + _esc(doc.t("Ingen feil eller advarsler.", "No errors or warnings.")) + "</p>")
    else:
        rules = load_schema().rules
        out = []
        for r in aff[:15]:
            title = rules[r["rule"]].title.get(doc.lang) if r["rule"] in rules else r["rule"]
            sev = {"error": doc.t("feil (avvist)", "error (rejected)"),
                   "warning": doc.t("advarsel", "warning")}.get(r["severity"], r["severity"])
            n: str | tuple[str, str] = (_count(r["rows"], doc.threshold) if r["table"] in _PERSONAL_TABLES
                                        else (_esc(r["rows"]), "num"))
            out.append([_esc(title) + f' <code>{_esc(r["rule"])}</code>', _esc(sev), _esc(r["field"] or "–"), n,
                        _esc(", ".join(r["indicators"]) or "–")])
        doc.add("<h3>" + _esc(doc.t("Hyppigste problemer og indikatorene de berører",
                                    "Most frequent problems and the indicators they affect")) + "</h3>")
        doc.table([doc.t("Regel", "Rule"), doc.t("Alvorlighet", "Severity"), doc.t("Felt", "Field"),
                   doc.t("Rader", "Rows"), doc.t("Indikatorer", "Indicators")], out,
                  kinds=("", "", "", "count", ""))
        if len(aff) > 15:
            doc.add('<p class="note">' + _esc(doc.t(f"… og {len(aff) - 15} til (se valideringsrapporten).",
                                                   f"… and {len(aff) - 15} more (see the validation report).")) + "</p>")
    if counts is not None and counts.doc:
        _documentation_table(doc, counts, year, unit, names, versions)


def _volume_section(doc: _Doc, res: pa.Table, counts: _StayCounts, year: str,
                    names: Mapping[str, Mapping[str, str]], unit: str | None) -> None:
    from ..spec.indicators import load_indicators

    specs = load_indicators()
    doc.section("volume", doc.t("Aktivitet og belegg", "Activity and occupancy"))
    u03 = {r["unit_id"]: r for r in _rows(res, indicator="KAD-U03", year=year, dim="unit_id")}
    u04 = {r["unit_id"]: r for r in _rows(res, indicator="KAD-U04", year=year, dim="unit_id")}
    # admissions per unit and their total: protected with every other table of the year's stays
    pos = {u: i for i, u in enumerate(counts.uids)}
    ids = sorted(set(counts.uids) | set(u03))
    days = 366 if _is_leap(int(year)) else 365
    rows = []
    for u in [*ids, None]:
        r3 = u03.get(u) if u is not None else _first(_rows(res, indicator="KAD-U03", year=year, dim=None))
        r4 = u04.get(u) if u is not None else _first(_rows(res, indicator="KAD-U04", year=year, dim=None))
        label = _esc(_label(names, "unit_id", u)) if u is not None else "<b>" + _esc(doc.t("Hele regionen", "Whole region")) + "</b>"
        if u is not None and u == unit:
            label = f"<mark>{label}</mark>"
        beds = _num(r3["denominator"] / days, doc.lang) if r3 and r3["denominator"] is not None else "–"
        i = len(counts.uids) if u is None else pos.get(u)
        admissions = "0" if i is None else _count(None if counts.total_sup[i] else int(counts.total[i]),
                                                   doc.threshold, counts.total_why[i])
        rows.append([label, beds, admissions,
                     _count(r3["numerator"], doc.threshold, r3["reason"]) if r3 else "–",
                     _value(specs["KAD-U03"], r3["value"], doc.lang) if r3 else "–",
                     _value(specs["KAD-U04"], r4["value"], doc.lang) if r4 else "–"])
    doc.add("<p>" + _esc(doc.t(
        f"{year}: innleggelser etter innleggelsesdato; liggedøgn og belegg regnes av den delen av "
        "hvert opphold som faller i året (KAD-U03); senger er gjennomsnittlig tilgjengelige senger.",
        f"{year}: admissions by date of admission; bed-days and occupancy count the part of each "
        "stay inside the year (KAD-U03); beds are the average number of beds available.")) + "</p>")
    doc.table([doc.t("Enhet", "Unit"), doc.t("Senger", "Beds"), doc.t("Innleggelser", "Admissions"),
               doc.t("Liggedøgn", "Bed-days"), doc.t("Belegg", "Occupancy") + " (KAD-U03)",
               doc.t("Gj.sn. liggetid, døgn", "Mean stay, days") + " (KAD-U04)"], rows,
              kinds=("", "num", "count", "count", "num", "num"))


def _is_leap(y: int) -> bool:
    return y % 4 == 0 and (y % 100 != 0 or y % 400 == 0)


def _targets_text(spec: IndicatorSpec, lang: str) -> str:
    tg = spec.targets or {}
    if "high" not in tg or "moderate" not in tg:
        return "–"
    op = "≥" if spec.direction == "higher_is_better" else "≤"
    h, m = _value(spec, float(tg["high"]), lang), _value(spec, float(tg["moderate"]), lang)
    return _t(lang, f"høy {op} {h}; moderat {op} {m}", f"high {op} {h}; moderate {op} {m}")


def _headline_section(doc: _Doc, res: pa.Table, specs: Sequence[IndicatorSpec], year: str,
                      unit: str | None, names: Mapping[str, Mapping[str, str]]) -> None:
    doc.section("summary", doc.t("Hovedindikatorer", "Headline indicators"))
    scope = _label(names, "unit_id", unit) if unit else doc.t("hele regionen", "the whole region")
    doc.add("<p>" + _esc(doc.t(f"{year}, {scope}. Verdier med 95 % konfidensintervall; målnivåer og "
                               "retning fra indikatorspesifikasjonen.",
                               f"{year}, {scope}. Values with 95% confidence intervals; target levels "
                               "and direction from the indicator specification.")) + "</p>")
    head = [doc.t("Indikator", "Indicator"), doc.t("Verdi", "Value"), doc.t("KI", "CI"),
            doc.t("Nevner", "Denominator"), doc.t("Målnivå", "Target levels"),
            doc.t("Retning", "Direction"), doc.t("Måloppnåelse", "Achievement")]
    if unit:
        head.insert(3, doc.t("Regionen", "Region"))
    rows = []
    for spec in specs:
        region = _first(_rows(res, indicator=spec.id, year=year, dim=None))
        if unit:
            own = [r for r in _rows(res, indicator=spec.id, year=year, dim="unit_id") if r["unit_id"] == unit]
            row = own[0] if own else None
        else:
            row = region
        lvl = _achievement(spec, row["value"] if row else None)
        lvl_txt = _LEVEL_TEXT[lvl][0 if doc.lang == "nb" else 1] if lvl else "–"
        value = _value(spec, row["value"], doc.lang) if row else "–"
        if row and row["suppressed"]:
            value = doc.t("skjult", "masked") + f" ({_esc(row['reason'])})"
        title = (f'<b>{_esc(spec.id)}</b> <span class="note">v{_esc(spec.version)}</span><br>'
                 f"{_esc(spec.title.get(doc.lang))}")
        cells = [title, value,
                 _ci(spec, row["ci_lower"], row["ci_upper"], doc.lang) if row else "–",
                 _count(row["denominator"], doc.threshold) if row and spec.unit != "rate_per_1000"
                 else (_num(row["denominator"], doc.lang, 0) if row and row["denominator"] is not None else "–"),
                 _esc(_targets_text(spec, doc.lang)),
                 _esc(_DIRECTION[spec.direction][0 if doc.lang == "nb" else 1]),
                 f'<span class="lvl-{lvl}">{_esc(lvl_txt)}</span>' if lvl else "–"]
        if unit:
            cells.insert(3, _value(spec, region["value"], doc.lang) if region else "–")
        rows.append(cells)
    kinds = ["", "num", "num", "count", "", "", ""]
    if unit:
        kinds.insert(3, "num")
    doc.table(head, rows, kinds=kinds)


def _flag_code(row: Mapping[str, Any], levels: Sequence[float]) -> str:
    """One position per row from :func:`kadindicators.equity.funnel_flags`' columns: the widest level
    it falls outside (``high_998``, ``low_95`` …), ``within`` or ``not_applicable``."""
    from ..equity import _level_code

    codes = [_level_code(lv) for lv in sorted(levels, reverse=True)]
    for c in codes:
        f = row.get(f"funnel_{c}")
        if f in ("high", "low"):
            return f"{f}_{c}"
    return "within" if any(row.get(f"funnel_{c}") == "within" for c in codes) else "not_applicable"


def _level_table(res: pa.Table, *, indicator: str, year: str, dim: str) -> pa.Table:
    """The result rows of one indicator and year at one level, as a table sorted like :func:`_rows`."""
    mask = pc.and_(pc.equal(res["indicator_id"], indicator), pc.equal(res["period"], year))
    for d in _DIMS:
        mask = pc.and_(mask, pc.is_valid(res[d]) if d == dim else pc.is_null(res[d]))
    return res.filter(mask).sort_by(dim)


def _funnel_section(doc: _Doc, res: pa.Table, specs: Sequence[IndicatorSpec], year: str,
                    unit: str | None, names: Mapping[str, Mapping[str, str]], overdispersion: bool) -> None:
    from ..equity import UnsupportedIndicatorError, _funnel_method, funnel_flags, funnel_limits

    doc.section("funnels", doc.t("Traktplott", "Funnel plots"))
    doc.add("<p>" + _esc(doc.t(
        "Hver enhet (eller kommune) plasseres etter antall opphold (x) og verdi (y). Linjene er "
        "95 % og 99,8 % kontrollgrenser rundt regionens verdi (Spiegelhalter: eksakte binomiske eller "
        "Poisson-grenser, normale grenser for gjennomsnitt). Punkter utenfor 99,8 % er navngitt. "
        "Fargede bånd viser målnivåene (grønn høy, gul moderat, rød lav måloppnåelse). Enheter med "
        "skjulte tall er merket med × på x-aksen og listet under plottet med årsak.",
        "Each unit (or municipality) is placed by its number of stays (x) and its value (y). The lines "
        "are 95% and 99.8% control limits around the regional value (Spiegelhalter: exact binomial or "
        "Poisson limits, normal limits for means). Points outside 99.8% are named. Coloured bands show "
        "the target levels (green high, yellow moderate, red low achievement). Units with masked "
        "figures are marked × on the x axis and listed under the plot with the reason.")) + "</p>")
    reason_text = {"low_n": doc.t(f"færre enn {doc.threshold}", f"fewer than {doc.threshold}"),
                   "secondary": doc.t("skjult for å beskytte et lite tall", "masked to protect a small count"),
                   "masked": doc.t("skjult", "masked"),
                   "no_data": doc.t("ingen data", "no data")}
    for spec in specs:
        if spec.statistics.funnel_limits in ("none", "") or not spec.statistics.funnel_levels:
            continue
        try:
            _funnel_method(spec)
        except UnsupportedIndicatorError:
            continue  # limits that do not fit the indicator's unit: no funnel plot rather than a wrong one
        dim = "unit_id" if "unit_id" in spec.groupings else "municipality"
        region = _first(_rows(res, indicator=spec.id, year=year, dim=None))
        level = _level_table(res, indicator=spec.id, year=year, dim=dim)
        if region is None or region["suppressed"] or not region["denominator"] or not level.num_rows:
            continue
        levels = tuple(spec.statistics.funnel_levels)
        rate = spec.unit == "rate_per_1000"
        # the target is the region's value (all stays, also those of masked units), on the value scale
        target = float(region["numerator"]) / float(region["denominator"]) * (
            spec.statistics.multiplier if rate else 1.0)
        flagged = funnel_flags(level, levels=levels, overdispersion=overdispersion, target={spec.id: target})
        group = json.loads((flagged.schema.metadata or {})[b"kadindicators.funnel"])["groups"][0]
        phi = group["overdispersion"]
        rows = flagged.to_pylist()
        shown = [r for r in rows if not r["suppressed"] and r["status"] == "ok"]
        masked = [r for r in rows if r["suppressed"]]
        if not shown:
            continue
        den = np.array([r["denominator"] for r in shown], dtype=float)
        flags = [_flag_code(r, levels) for r in shown]
        lo_x = max(1.0, float(den.min()) * 0.7)
        hi_x = float(den.max()) * 1.15
        grid = np.unique(np.round(np.geomspace(lo_x, hi_x, 160)))
        limits = funnel_limits(group, grid, levels)  # the limits the flags were decided with
        mult = _scale(spec)  # value scale -> plot scale (per cent for proportions)
        labels = tuple(_label(names, dim, r[dim]) for r in shown)
        data = _plots.FunnelData(
            title=f"{spec.id} v{spec.version} — {spec.title.get(doc.lang)} ({year})",
            xlabel=(doc.t("Innbyggere 18 år og eldre", "Inhabitants aged 18 and over")
                    if rate else doc.t("Antall opphold (nevner)", "Stays (denominator)")),
            ylabel=_unit_label(spec, doc.lang),
            labels=labels, x=den, y=np.array([r["value"] for r in shown], dtype=float) * mult,
            flags=tuple(flags), target=target * mult,
            grid=grid, limits={k: (lo * mult, hi * mult) for k, (lo, hi) in limits.items()},
            bands=_bands(spec), highlight=_label(names, "unit_id", unit) if unit and dim == "unit_id" else None,
            masked=tuple((_label(names, dim, r[dim]), reason_text.get(r["reason"] or "", r["reason"] or ""),
                          r["denominator"]) for r in masked),
            legend={"target": doc.t("Regionen", "Region"), "limit95": "95 %", "limit998": "99,8 %"
                    if doc.lang == "nb" else "99.8%", "masked": doc.t("skjult", "masked"),
                    "band_high": doc.t("høy måloppnåelse", "high achievement"),
                    "band_moderate": doc.t("moderat", "moderate"), "band_low": doc.t("lav", "low"),
                    "masked_list": doc.t("Skjult: ", "Masked: ")},
        )
        note = doc.t(f" Overspredning justert (φ = {_num(phi, 'nb', 2)}).", f" Over-dispersion adjusted (φ = {phi:.2f}).") \
            if phi else ""
        outl = [lab for lab, f in zip(labels, flags, strict=True) if str(f).endswith("998")]
        cap = (f"<b>{_esc(spec.id)}</b> v{_esc(spec.version)}. " + _esc(doc.t(
            f"Regionens verdi {_value(spec, target, 'nb')}; {_DIRECTION[spec.direction][0]}.",
            f"Regional value {_value(spec, target, 'en')}; {_DIRECTION[spec.direction][1]}.")) + _esc(note)
            + (" " + _esc(doc.t("Utenfor 99,8 %: ", "Outside 99.8%: ") + ", ".join(outl)) if outl else ""))
        doc.add(f"<h3>{_esc(spec.id)} {_esc(spec.title.get(doc.lang))}</h3>")
        doc.figure(f"funnel-{spec.id}", _plots.funnel_svg(data), cap, indicator=spec.id, version=spec.version)
        trow = []
        for r in rows:
            if not r["suppressed"] and not r["denominator"]:
                continue  # e.g. residents of a municipality outside the population table
            lab = _label(names, dim, r[dim])
            cell = _esc(lab) if not (unit and r.get("unit_id") == unit) else f"<mark>{_esc(lab)}</mark>"
            if r["suppressed"]:
                trow.append([cell, _count(r["denominator"], doc.threshold) if r["denominator"] is not None
                             else "×", "–", "–", _esc(reason_text.get(r["reason"] or "", ""))])
            else:
                f = _flag_code(r, levels)
                trow.append([cell, _count(r["denominator"], doc.threshold) if spec.unit != "rate_per_1000"
                             else _num(r["denominator"], doc.lang, 0), _value(spec, r["value"], doc.lang),
                             _ci(spec, r["ci_lower"], r["ci_upper"], doc.lang),
                             _esc(_FLAG_TEXT.get(f, (f, f))[0 if doc.lang == "nb" else 1])])
        doc.table([doc.t("Enhet" if dim == "unit_id" else "Kommune", "Unit" if dim == "unit_id" else "Municipality"),
                   doc.t("Nevner", "Denominator"), doc.t("Verdi", "Value"), doc.t("KI", "CI"),
                   doc.t("Plassering", "Position")], trow, kinds=("", "count", "num", "num", ""))


def _trend_section(doc: _Doc, res: pa.Table, specs: Sequence[IndicatorSpec], unit: str | None,
                   names: Mapping[str, Mapping[str, str]], period: str) -> None:
    sub = res.filter(pc.is_valid(res["subperiod"]))
    if sub.num_rows == 0:
        return
    doc.section("trends", doc.t("Utvikling over tid", "Trends"))
    doc.add("<p>" + _esc(doc.t(
        f"Verdier per {'kvartal' if period == 'quarter' else 'måned'} med 95 % konfidensbånd "
        "(innleggelsesdato). Brudd i linjen betyr skjulte eller manglende tall.",
        f"Values per {period} with 95% confidence bands (date of admission). A gap in a line means a "
        "masked or missing value.")) + "</p>")
    labels = sorted(set(sub["subperiod"].to_pylist()))
    for spec in specs:
        s = sub.filter(pc.equal(sub["indicator_id"], spec.id))
        if s.num_rows == 0:
            continue
        series = []
        scopes: list[tuple[str, str | None]] = [(doc.t("Regionen", "Region"), None)]
        if unit:
            scopes.insert(0, (_label(names, "unit_id", unit), unit))
        for name, u in scopes:
            m = pc.is_null(s["unit_id"]) if u is None else pc.equal(s["unit_id"], u)
            rows = {r["subperiod"]: r for r in s.filter(m).to_pylist()}
            m_ = 100.0 if spec.unit in ("proportion", "ratio") else 1.0

            def col(key: str, rows: Mapping[str, Any] = rows, m_: float = m_) -> np.ndarray:
                return np.array([(rows[p][key] if p in rows and rows[p][key] is not None else np.nan)
                                 for p in labels], dtype=float) * m_
            y, lo, hi = col("value"), col("ci_lower"), col("ci_upper")
            if np.isfinite(y).any():
                series.append((name, y, lo, hi))
        if not series:
            continue
        svg = _plots.trend_svg(title=f"{spec.id} v{spec.version} — {spec.title.get(doc.lang)}",
                               ylabel=_unit_label(spec, doc.lang), periods=labels, series=series,
                               bands=_bands(spec))
        doc.figure(f"trend-{spec.id}", svg, f"<b>{_esc(spec.id)}</b> v{_esc(spec.version)}",
                   indicator=spec.id, version=spec.version)


_PATH_FIELDS = ("admitted_from", "discharged_to")


@attrs.frozen(kw_only=True)
class _StayCounts:
    """One year's stays by unit, every table built from them protected as one system.

    ``total`` is the number of admissions per unit (last: the region): the volume
    table's admissions, the row totals of both pathway tables and the denominator of
    KAD-D01 and of KAD-D02 for each recommended field are all this one count, so it
    is hidden in all of them or in none. Arrays have one row per unit in ``uids``
    plus the region; ``paths[field]`` is ``(keys, counts, suppressed, reason)`` with a
    last column of totals; ``doc[name]`` is ``(numerators, suppressed, reason, rows)``
    with ``rows`` the unprotected result rows (value and interval), shown only where
    both the numerator and the unit's total are.
    """

    uids: list[str]
    total: np.ndarray
    total_sup: np.ndarray
    total_why: np.ndarray
    paths: Mapping[str, tuple[list[str], np.ndarray, np.ndarray, np.ndarray]]
    doc: Mapping[str, tuple[np.ndarray, np.ndarray, np.ndarray, list[dict[str, Any] | None]]]


def _doc_quantities(documentation: pa.Table | None) -> list[tuple[str, str, str | None]]:
    """(name, indicator, field) of the documentation counts shown: KAD-D01, and KAD-D02 per recommended field.

    ``discharged_to`` (in KAD-D02 for completed stays only) is left out: validation
    rejects a completed stay without it, so it is always complete in the report's data.
    """
    if documentation is None:
        return []
    from ..indicators.documentation import CONDITIONAL_FIELDS, completeness_fields

    out: list[tuple[str, str, str | None]] = [("KAD-D01", "KAD-D01", None)]
    out += [(f, "KAD-D02", f) for f in completeness_fields() if f not in CONDITIONAL_FIELDS]
    return out


def _stay_counts(stays: pa.Table, documentation: pa.Table | None, year: str, threshold: int) -> _StayCounts:
    """Protect the year's stay counts by unit: admissions, both pathway tables and documentation quality.

    Cells: admissions per unit and region; admitted from and discharged to, unit ×
    category (with the region's row); per documentation quantity the numerator per
    unit and region, and a hidden cell ``total - numerator`` (so an attacker knows the
    numerator is at most the total). Equations: the region is the sum of the units,
    every unit's categories add up to its admissions. Masking is decided for all of it
    at once, and for the region's report and every unit's.
    """
    from ..disclosure import margin
    from ..spec.loader import load_schema

    s = stays.filter(pc.equal(_local_year(stays["admitted_at"]), int(year)))
    g = s.group_by("unit_id", use_threads=False).aggregate([([], "count_all")])
    got = dict(zip(g["unit_id"].to_pylist(), g["count_all"].to_pylist(), strict=True))
    uids = sorted(str(u) for u in got)
    nu = len(uids)
    total = np.array([got[u] for u in uids] + [sum(got.values())], dtype=np.int64)
    values: list[np.ndarray] = [total]
    hidden: list[np.ndarray] = [np.zeros(nu + 1, bool)]
    eqs: list[dict[int, int]] = [margin(nu, list(range(nu)))]
    n_cells = nu + 1

    def block(arr: np.ndarray, hide: bool = False) -> np.ndarray:
        nonlocal n_cells
        idx = np.arange(n_cells, n_cells + arr.size).reshape(arr.shape)
        n_cells += arr.size
        values.append(arr.ravel())
        hidden.append(np.full(arr.size, hide))
        return idx

    schema = load_schema()
    path_idx: dict[str, tuple[list[str], np.ndarray, np.ndarray]] = {}
    for field in _PATH_FIELDS:
        codes = [c.code for c in schema.codelists[field].codes]
        col = pc.fill_null(s[field], "__unknown__")
        gt = pa.table({"u": s["unit_id"], "c": col}).group_by(["u", "c"], use_threads=False).aggregate(
            [([], "count_all")])
        cnt = {(u, c): n for u, c, n in zip(gt["u"].to_pylist(), gt["c"].to_pylist(),
                                             gt["count_all"].to_pylist(), strict=True)}
        present = {c for _, c in cnt}
        keys = [c for c in codes if c in present] + (["__unknown__"] if "__unknown__" in present else [])
        m = np.zeros((nu + 1, len(keys)), dtype=np.int64)
        for i, u in enumerate(uids):  # units × categories of one year (a small table), not rows of data
            for k, c in enumerate(keys):
                m[i, k] = cnt.get((u, c), 0)
        m[nu] = m[:nu].sum(axis=0)
        idx = block(m)
        eqs += [margin(i, idx[i].tolist()) for i in range(nu + 1)]
        eqs += [margin(int(idx[nu, k]), idx[:nu, k].tolist()) for k in range(len(keys))]
        path_idx[field] = (keys, m, idx)
    doc_idx: dict[str, tuple[np.ndarray, list[dict[str, Any] | None]]] = {}
    for name, iid, dfield in _doc_quantities(documentation):
        assert documentation is not None
        rows = _pick(documentation, indicator=iid, period=year, unit_id=True, field=dfield)
        region = _pick(documentation, indicator=iid, period=year, field=dfield)
        by_unit = {r["unit_id"]: r for r in rows}
        ordered = [by_unit.get(u) for u in uids] + [region[0] if region else None]
        num = np.array([round(r["numerator"]) if r and r["numerator"] is not None else 0 for r in ordered],
                       dtype=np.int64)
        den = np.array([round(r["denominator"]) if r and r["denominator"] is not None else 0
                        for r in ordered], dtype=np.int64)
        if not np.array_equal(den, total):
            raise RuntimeError(f"{iid} {dfield or ''}: denominators {den.tolist()} are not the admissions "
                               f"{total.tolist()} of {year}")
        n_idx = block(num)
        c_idx = block(total - num, hide=True)
        eqs.append(margin(int(n_idx[nu]), n_idx[:nu].tolist()))
        eqs += [margin(i, [int(n_idx[i]), int(c_idx[i])]) for i in range(nu + 1)]
        doc_idx[name] = (n_idx, ordered)
    counts = np.concatenate(values)
    sup, why = _protect_cells(counts, eqs, np.concatenate(hidden), threshold)
    tot = np.arange(nu + 1)
    paths = {}
    for field, (keys, m, idx) in path_idx.items():
        full_idx = np.column_stack([idx, tot])
        paths[field] = (keys, np.column_stack([m, total]), sup[full_idx], why[full_idx])
    doc = {name: (counts[n_idx], sup[n_idx], why[n_idx], ordered) for name, (n_idx, ordered) in doc_idx.items()}
    return _StayCounts(uids=uids, total=total, total_sup=sup[tot], total_why=why[tot], paths=paths, doc=doc)


def _stay_counts_cached(p: _Prepared, year: str) -> _StayCounts:
    """The protected stay counts of ``year``: the same for the region's report and every unit's."""
    key = ("stay_counts", year)
    if key not in p.cache:
        p.cache[key] = _stay_counts(p.tables["stays"], p.documentation, year, p.suppression)
    out: _StayCounts = p.cache[key]
    return out


def _pick(t: pa.Table, *, indicator: str, period: str | None = None,
          **fixed: str | bool | None) -> list[dict[str, Any]]:
    """Rows of one indicator (and period) where each dimension is as given, every other dimension "all".

    A dimension given as a string must equal it, ``True`` must be set (not a group of
    missing values), ``None`` or left out must be null ("all").
    """
    mask = pc.equal(t["indicator_id"], indicator)
    if period is not None:
        mask = pc.and_(mask, pc.equal(t["period"], period))
    for d in t.column_names:
        if d in _CONTRACT or d in _MARKS:
            continue
        want = fixed.get(d)
        col = t[d]
        if want is None:
            mask = pc.and_(mask, pc.is_null(col))
        elif want is True:
            mask = pc.and_(mask, pc.and_(pc.is_valid(col), pc.not_equal(col, _NO_GROUP)))
        else:
            mask = pc.and_(mask, pc.equal(col, str(want)))
    out = t.filter(pc.fill_null(mask, False)).to_pylist()
    dims = [d for d in t.column_names if d not in _CONTRACT and d not in _MARKS]
    return sorted(out, key=lambda r: (str(r["period"]), *(str(r[d] or "") for d in dims)))


def _pathways_section(doc: _Doc, counts: _StayCounts, year: str, unit: str | None) -> None:
    from ..spec.loader import load_schema

    doc.section("pathways", doc.t("Hvor pasientene kom fra og dro til", "Where patients came from and went to"))
    schema = load_schema()
    unknown = doc.t("ukjent / ikke oppgitt", "unknown / not given")
    uids = counts.uids
    for field, title in (("admitted_from", doc.t("Innlagt fra", "Admitted from")),
                         ("discharged_to", doc.t("Utskrevet til", "Discharged to"))):
        keys, m, sup, why = counts.paths[field]
        r = uids.index(unit) if unit is not None and unit in uids else len(uids)
        cells, hidden, reason = m[r], sup[r], why[r]
        total = int(cells[-1])
        labels = [unknown if k == "__unknown__" else schema.codelists[field].label(k, doc.lang) for k in keys]
        shares = [None if hidden[i] or hidden[-1] or not total else 100.0 * float(cells[i]) / total
                  for i in range(len(keys))]
        rows = [[_esc(lab), _count(None if hidden[i] else int(cells[i]), doc.threshold, reason[i]),
                 "–" if shares[i] is None else _num(float(shares[i] or 0), doc.lang) + " %"]
                for i, lab in enumerate(labels)]
        rows.append(["<b>" + _esc(doc.t("I alt", "Total")) + "</b>",
                     _count(None if hidden[-1] else total, doc.threshold, reason[-1]), "100 %"])
        doc.add(f"<h3>{_esc(title)}</h3>")
        if keys:
            svg = _plots.bars_svg(title=f"{title} ({year})", labels=labels, shares=shares,
                                  xlabel=doc.t("Andel av opphold, %", "Share of stays, %"),
                                  masked_text=doc.t("skjult", "masked"))
            doc.figure(f"{field}", svg, _esc(doc.t(f"{title}, {year}: andel av oppholdene.",
                                                   f"{title}, {year}: share of stays.")))
        doc.table([doc.t("Kategori", "Category"), doc.t("Opphold", "Stays"), doc.t("Andel", "Share")], rows,
                  kinds=("", "count", "num"))


def _variation_section(doc: _Doc, res: pa.Table, year: str, names: Mapping[str, Mapping[str, str]],
                       specs: Mapping[str, IndicatorSpec], variation: pa.Table | None) -> None:
    iid = _variation_indicator(res)
    if iid not in specs:
        return
    spec = specs[iid]
    rows = _rows(res, indicator=iid, year=year, dim="municipality")
    shown = [r for r in rows if not r["suppressed"] and r["value"] is not None]
    if not shown:
        return
    doc.section("variation", doc.t("Variasjon mellom kommuner", "Variation between municipalities"))
    std = iid == "KAD-U01S"
    doc.add("<p>" + _esc(doc.t(
        "Opphold per 1 000 innbyggere 18 år og eldre etter bostedskommune, "
        + ("direkte standardisert for alder og kjønn" if std else "ujustert (ikke standardisert)")
        + ", med 95 % konfidensintervall.",
        "Stays per 1,000 inhabitants aged 18 and over by municipality of residence, "
        + ("directly age- and sex-standardised" if std else "crude (not standardised)")
        + ", with 95% confidence intervals.")) + "</p>")
    region = _first(_rows(res, indicator=iid, year=year, dim=None))
    svg = _plots.caterpillar_svg(
        title=f"{spec.id} v{spec.version} — {spec.title.get(doc.lang)} ({year})",
        xlabel=_unit_label(spec, doc.lang), labels=[_label(names, "municipality", r["municipality"]) for r in shown],
        values=np.array([r["value"] for r in shown], dtype=float),
        lower=np.array([r["ci_lower"] if r["ci_lower"] is not None else np.nan for r in shown], dtype=float),
        upper=np.array([r["ci_upper"] if r["ci_upper"] is not None else np.nan for r in shown], dtype=float),
        reference=region["value"] if region and not region["suppressed"] else None,
        reference_label=doc.t("Regionen", "Region"))
    masked = [_label(names, "municipality", r["municipality"]) for r in rows if r["suppressed"]]
    cap = f"<b>{_esc(spec.id)}</b> v{_esc(spec.version)}." + (
        " " + _esc(doc.t("Skjult: ", "Masked: ") + ", ".join(masked)) if masked else "")
    doc.figure(f"variation-{spec.id}", svg, cap, indicator=spec.id, version=spec.version)
    _variation_table(doc, spec, year, variation)


def _variation_table(doc: _Doc, spec: IndicatorSpec, year: str, variation: pa.Table | None) -> None:
    """Range, ratio, coefficient of variation and SCV from :func:`kadindicators.equity.variation`."""
    found = [] if variation is None else variation.filter(pc.equal(variation["period"], year)).to_pylist()
    if not found:
        return
    v = found[0]

    def num(x: float | None, digits: int) -> str:
        return "–" if x is None or not math.isfinite(x) else _num(x, doc.lang, digits)

    if v["scv_status"] == "ok":
        scv = num(v["scv_x100"], 1)
    elif v["scv_status"] == "withheld":
        scv = _esc(doc.t("holdt tilbake", "withheld")) + "<sup>*</sup>"
    else:
        scv = "–"
    doc.table([doc.t("Kommuner", "Municipalities"), doc.t("Vist", "Shown"), doc.t("Lavest", "Lowest"),
               doc.t("Høyest", "Highest"), doc.t("Spennvidde", "Range"),
               doc.t("Høyest / lavest", "Highest / lowest"),
               doc.t("Variasjonskoeffisient", "Coefficient of variation"), "SCV × 100"],
              [[_esc(v["municipalities"]), _esc(v["shown"]), _value(spec, v["lowest"], doc.lang),
                _value(spec, v["highest"], doc.lang), _value(spec, v["range"], doc.lang), num(v["ratio"], 1),
                num(v["cv"], 2), scv]],
              cls="variation-stats", kinds=("num",) * 8)
    note = doc.t(
        f"{year}. Lavest, høyest, spennvidde, forholdet høyest / lavest og variasjonskoeffisienten "
        "(standardavvik / gjennomsnitt) gjelder bare kommunene som vises. SCV × 100 (systematisk "
        "variasjonskomponent, McPherson mfl. 1982) er variasjonen mellom kommunene utover det "
        "tilfeldigheter alene gir, etter indirekte standardisering for alder og kjønn til regionens "
        "rater; 0 eller mindre betyr ingen variasjon utover tilfeldigheter. Den regnes av alle kommunene.",
        f"{year}. Lowest, highest, range, the ratio highest / lowest and the coefficient of variation "
        "(standard deviation / mean) use only the municipalities shown. SCV × 100 (systematic component "
        "of variation, McPherson et al. 1982) is the variation between municipalities beyond what chance "
        "alone gives, after indirect standardisation for age and sex to the region's rates; 0 or less "
        "means no variation beyond chance. It is computed from every municipality.")
    if v["scv_status"] == "withheld" and v["scv_reason"] == "disclosive":
        note += " * " + doc.t("Holdt tilbake fordi den sammen med de andre tallene kunne avslørt et "
                              "lite tall.", "Withheld because together with the other figures it could "
                              "reveal a small count.")
    elif v["scv_status"] == "withheld":
        note += " * " + doc.t("Holdt tilbake fordi det ikke kunne kontrolleres at den ikke avslører et "
                              "lite tall.", "Withheld because it could not be checked that it reveals no "
                              "small count.")
    doc.add('<p class="note">' + _esc(note) + "</p>")


# ----------------------------------------------------------------------------- proposed indicators


def _proposed_note(doc: _Doc, ids: Sequence[str], versions: Mapping[str, str]) -> str:
    """The box that says which of ``ids`` are proposed (under review, not adopted); empty when none is."""
    from ..spec.indicators import load_indicators

    specs = load_indicators()
    listed = ", ".join(f"{i} v{versions.get(i, specs[i].version)}" for i in ids
                       if i in specs and specs[i].status != "adopted")
    if not listed:
        return ""
    return ('<p class="proposed"><b>' + _esc(doc.t("Foreslåtte indikatorer, under vurdering",
                                                 "Proposed indicators, under review")) + "</b> " + _esc(doc.t(
        f"({listed}): ikke vedtatt; definisjonene kan endres etter klinisk gjennomgang. Tallene er til "
        "utprøving og tilbakemelding.",
        f"({listed}): not adopted; the definitions may change after clinical review. The figures are for "
        "trial and feedback.")) + "</p>")


def _proposed_title(doc: _Doc, nb: str, en: str, ids: Sequence[str]) -> str:
    from ..spec.indicators import load_indicators

    specs = load_indicators()
    if any(i in specs and specs[i].status != "adopted" for i in ids):
        return doc.t(f"{nb} (foreslått)", f"{en} (proposed)")
    return doc.t(nb, en)


def _shown_count(row: Mapping[str, Any] | None, col: str, threshold: int) -> str:
    """A count of a protected result row: the number when it is published, else its mark.

    A jointly protected table (:func:`_protect_joint`) marks each count; otherwise
    the row's reason is the mark.
    """
    if row is None:
        return "–"
    v = row[col]
    if v is not None:
        return _count(v, threshold)
    mark = row.get(f"{col}_mark")
    if mark:
        return _count(None, threshold, mark)
    return _count(None, threshold, row["reason"] or "masked") if row["suppressed"] else "–"


def _value_ci(spec: IndicatorSpec, row: Mapping[str, Any] | None, lang: str) -> tuple[str, str]:
    if row is None or row["value"] is None:
        return "–", "–"
    return _value(spec, row["value"], lang), _ci(spec, row["ci_lower"], row["ci_upper"], lang)


def _value_with_ci(spec: IndicatorSpec, row: Mapping[str, Any] | None, doc: _Doc) -> tuple[str, str]:
    """Value with its interval under it, and the cell class (achievement level where the spec has targets)."""
    if row is None:
        return "–", "num"
    if row["suppressed"] or row["value"] is None:
        return (_esc(doc.t("skjult", "masked")) if row["suppressed"] else "–"), "num"
    v, ci = _value_ci(spec, row, doc.lang)
    lvl = _achievement(spec, row["value"])
    return f'{v}<span class="ci">{ci}</span>', "num" + (f" lvl-{lvl}" if lvl else "")


_FIELD_TEXT = {"municipality": ("Bostedskommune", "Municipality of residence"),
               "admitted_from": ("Innlagt fra", "Admitted from"),
               "examined_before_admission": ("Undersøkt av lege før innleggelse",
                                             "Examined by a doctor before admission"),
               "diagnosis_icpc2": ("Hoveddiagnose ICPC-2", "Main diagnosis ICPC-2")}


def _documentation_table(doc: _Doc, counts: _StayCounts, year: str, unit: str | None,
                         names: Mapping[str, Mapping[str, str]], versions: Mapping[str, str]) -> None:
    """Valid main diagnosis (KAD-D01) and completeness per recommended field (KAD-D02) by unit."""
    from ..spec.indicators import load_indicators

    specs = load_indicators()
    doc.add("<h3>" + _esc(_proposed_title(doc, "Dokumentasjonskvalitet", "Documentation quality",
                                          _DOCUMENTATION_IDS)) + "</h3>")
    doc.add(_proposed_note(doc, _DOCUMENTATION_IDS, versions))
    d01, d02 = specs["KAD-D01"], specs["KAD-D02"]
    doc.add("<p>" + _esc(doc.t(
        f"{year}, etter innleggelsesdato. Andel opphold med gyldig hoveddiagnose (KAD-D01) og andel "
        "registrerte, gyldige verdier i hvert anbefalt felt (KAD-D02), med 95 % konfidensintervall under "
        f"verdien. Foreløpige målnivåer: {_targets_text(d01, 'nb')} (farget). Utskrevet til vises ikke: "
        "valideringen avviser et avsluttet opphold uten, så feltet er alltid utfylt her. Oppholdene med "
        "manglende verdier står i valideringsrapporten (recommended-missing, code-invalid-nullified).",
        f"{year}, by date of admission. Share of stays with a valid main diagnosis (KAD-D01) and share of "
        "recorded, valid values in each recommended field (KAD-D02), with the 95% confidence interval under "
        f"the value. Provisional target levels: {_targets_text(d01, 'en')} (coloured). Discharged to is not "
        "shown: validation rejects a completed stay without it, so the field is always complete here. The "
        "stays with missing values are in the validation report (recommended-missing, "
        "code-invalid-nullified).")) + "</p>")
    nu = len(counts.uids)
    idx = list(range(nu)) if unit is None else [counts.uids.index(unit)] if unit in counts.uids else []
    head = [doc.t("Enhet", "Unit"), doc.t("Opphold", "Stays")]
    for name in counts.doc:
        if name == "KAD-D01":
            head.append(doc.t("Gyldig hoveddiagnose", "Valid main diagnosis") + " (KAD-D01)")
        else:
            nb, en = _FIELD_TEXT.get(name, (name, name))
            head.append(doc.t(nb, en) + " (KAD-D02)")
    rows: list[list[str | tuple[str, str]]] = []
    for i in [*idx, nu]:
        label = (_esc(_label(names, "unit_id", counts.uids[i])) if i < nu
                 else "<b>" + _esc(doc.t("Hele regionen", "Whole region")) + "</b>")
        if i < nu and counts.uids[i] == unit:
            label = f"<mark>{label}</mark>"
        row: list[str | tuple[str, str]] = [label, _count(None if counts.total_sup[i] else int(counts.total[i]),
                                                           doc.threshold, counts.total_why[i])]
        for name, (_, sup, _, ordered) in counts.doc.items():
            r = ordered[i]
            spec = d01 if name == "KAD-D01" else d02
            if r is None or counts.total_sup[i] or sup[i]:
                row.append(("–" if r is None or counts.total_sup[i] else _esc(doc.t("skjult", "masked")), "num"))
            else:
                row.append(_value_with_ci(spec, r, doc))
        rows.append(row)
    doc.table(head, rows, cls="documentation", kinds=("", "count"))


def _respondent_label(code: str | None, lang: str) -> str:
    from ..spec.loader import load_schema

    if code is None:
        return _t(lang, "Alle", "All")
    return load_schema().codelists["experience_respondent"].label(code, lang)


def _item_label(code: str, lang: str, width: int = 48) -> str:
    """An item's question, numbered like the GS-PEQ for its items (``gspeq_03`` -> ``3.``)."""
    from ..spec.loader import load_schema

    text = load_schema().codelists["experience_item"].label(code, lang)
    if code.startswith("gspeq_") and code[6:].isdigit():
        text = f"{int(code[6:])}. {text}"
    return text if len(text) <= width else text[: width - 1] + "…"


def _experience_years(t: pa.Table, year: str) -> list[str]:
    """The years up to the report's year, at most three, that have experience results."""
    return [y for y in sorted(set(t["period"].to_pylist())) if y <= year][-3:]


def _experience_section(doc: _Doc, p: _Prepared, year: str, unit: str | None,
                        names: Mapping[str, Mapping[str, str]]) -> None:
    """Response rate by respondent type, scores per respondent type and per item (KAD-E01 … KAD-E05)."""
    from ..spec.indicators import load_indicators
    from ..spec.loader import load_schema

    specs = load_indicators()
    doc.section("experience", _proposed_title(doc, "Pasienters og fagfolks erfaringer",
                                              "Patient and professional experience", _EXPERIENCE_IDS))
    if p.experience is None:
        doc.add('<p class="note">' + _esc(doc.t(
            "Ingen erfaringsdata: tabellen experience er ikke gitt, så indikatorene KAD-E01–KAD-E05 vises ikke.",
            "No experience data: the experience table was not given, so indicators KAD-E01–KAD-E05 are not "
            "shown.")) + "</p>")
        return
    resp, items = p.experience
    doc.add(_proposed_note(doc, _EXPERIENCE_IDS, p.proposed))
    scope = _label(names, "unit_id", unit) if unit else doc.t("hele regionen", "the whole region")
    years = _experience_years(resp, year)

    def one(t: pa.Table, iid: str, period: str, where_unit: str | None, **fixed: str | bool | None
            ) -> dict[str, Any] | None:
        return _first(_pick(t, indicator=iid, period=period, unit_id=where_unit, **fixed))

    overall = one(resp, "KAD-E01", year, unit, respondent=None)
    if overall is None:
        doc.add("<p>" + _esc(doc.t(f"Ingen spørreskjemaer om opphold innlagt i {year} ({scope}).",
                                   f"No questionnaires about stays admitted in {year} ({scope}).")) + "</p>")
        return
    sent, answered = _shown_count(overall, "denominator", doc.threshold), _shown_count(overall, "numerator",
                                                                                       doc.threshold)
    doc.add("<p>" + doc.t(
        f"{_esc(year)}, {_esc(scope)}: {sent} spørreskjemaer sendt om opphold innlagt i året, {answered} "
        "besvart. Telleenheten er spørreskjemaet, ikke oppholdet: et opphold kan ha flere skjemaer "
        "(pasient, pårørende, innleggende lege, helsepersonell etter utskrivning) eller ingen.",
        f"{_esc(year)}, {_esc(scope)}: {sent} questionnaires sent about stays admitted in the year, "
        f"{answered} answered. The counted unit is the questionnaire, not the stay: a stay may have several "
        "(patient, next of kin, referring doctor, follow-up staff) or none.") + "</p>")
    codes = [c.code for c in load_schema().codelists["experience_respondent"].codes]
    e01 = specs["KAD-E01"]
    # response rate by respondent type and year
    doc.add("<h3>" + _esc(doc.t("Svarprosent etter respondenttype (KAD-E01)",
                                "Response rate by respondent type (KAD-E01)")) + "</h3>")
    head = [doc.t("År", "Year"), doc.t("Respondent", "Respondent"), doc.t("Sendt", "Sent"),
            doc.t("Besvart", "Answered"), doc.t("Svarprosent", "Response rate"), doc.t("KI", "CI")]
    kinds = ["", "", "count", "count", "num", "num"]
    if unit:
        head.append(doc.t("Regionen", "Region"))
        kinds.append("num")
    rows: list[list[str | tuple[str, str]]] = []
    for y in years:
        for code in [*codes, None]:
            r = one(resp, "KAD-E01", y, unit, respondent=code)
            if r is None:
                continue
            label = _esc(_respondent_label(code, doc.lang))
            v, ci = _value_ci(e01, r, doc.lang)
            cells: list[str | tuple[str, str]] = [
                _esc(y), label if code else f"<b>{label}</b>", _shown_count(r, "denominator", doc.threshold),
                _shown_count(r, "numerator", doc.threshold), v, ci]
            if unit:
                cells.append(_value_ci(e01, one(resp, "KAD-E01", y, None, respondent=code), doc.lang)[0])
            rows.append(cells)
    doc.table(head, rows, cls="experience-response", kinds=kinds)
    # scores and share good / very good by respondent type and year
    doc.add("<h3>" + _esc(doc.t("Erfaringsskår og andel som vurderer oppholdet som godt eller svært godt",
                                "Experience score and share rating the stay good or very good")) + "</h3>")
    head = [doc.t("År", "Year"), doc.t("Respondent", "Respondent"), doc.t("Besvart", "Answered"),
            doc.t("Skår 1–5", "Score 1–5"), doc.t("KI", "CI"), doc.t("Godt / svært godt", "Good / very good"),
            doc.t("KI", "CI")]
    kinds = ["", "", "count", "num", "num", "num", "num"]
    if unit:
        head += [doc.t("Regionen, skår", "Region, score"), doc.t("Regionen, godt", "Region, good")]
        kinds += ["num", "num"]
    rows = []
    groups = ((("KAD-E02", "KAD-E03"), doc.t("Pasienter og pårørende i alt", "Patients and next of kin, all")),
              (("KAD-E04", "KAD-E05"), doc.t("Innleggende leger og helsepersonell i alt",
                                             "Referring doctors and follow-up staff, all")))
    for y in years:
        for (score_id, good_id), total_label in groups:
            if score_id not in specs or good_id not in specs:
                continue
            for code in [*codes, None]:
                sc = one(resp, score_id, y, unit, respondent=code)
                gd = one(resp, good_id, y, unit, respondent=code)
                if sc is None and gd is None:
                    continue
                label = f"<b>{_esc(total_label)}</b>" if code is None else _esc(_respondent_label(code, doc.lang))
                sv, sci = _value_ci(specs[score_id], sc, doc.lang)
                gv, gci = _value_ci(specs[good_id], gd, doc.lang)
                cells = [_esc(y), label, _shown_count(sc, "denominator", doc.threshold), sv, sci, gv, gci]
                if unit:
                    cells += [_value_ci(specs[score_id], one(resp, score_id, y, None, respondent=code), doc.lang)[0],
                              _value_ci(specs[good_id], one(resp, good_id, y, None, respondent=code), doc.lang)[0]]
                rows.append(cells)
    doc.table(head, rows, cls="experience-scores", kinds=kinds)
    _experience_items(doc, items, year, unit, scope, specs)
    doc.add('<p class="note">' + _esc(doc.t(
        "Høyere er bedre. Verdiene er ujusterte: enheter med eldre eller sykere pasienter, eller med flere svar "
        "fra pårørende, kan avvike av andre grunner enn kvaliteten; sammenlign per respondenttype, og les "
        "skårene sammen med svarprosenten (ved lav svarprosent kan resultatene være skjeve). Skåren er "
        "gjennomsnittet over et skjemas besvarte spørsmål i skåren (GS-PEQ for pasienter og pårørende, "
        "utvalgets foreløpige spørsmål for fagfolk); «godt eller svært godt» er svar 4 eller 5 på "
        "helhetsspørsmålet, som er foreløpig og ikke validert.",
        "Higher is better. The values are crude: units with older or sicker patients, or with more answers "
        "from next of kin, may differ for reasons other than quality; compare per respondent type, and read "
        "the scores together with the response rate (with a low response rate the results may be biased). "
        "The score is the mean over a questionnaire's answered items in the score (GS-PEQ for patients and "
        "next of kin, the committee's provisional items for professionals); \u201cgood or very good\u201d "
        "is an answer of 4 or 5 to the overall item, which is provisional and not validated.")) + "</p>")


def _experience_items(doc: _Doc, items: pa.Table, year: str, unit: str | None, scope: str,
                      specs: Mapping[str, IndicatorSpec]) -> None:
    """Mean score per item (KAD-E02, KAD-E04 with the stratum item) as dots with intervals, and a table."""
    from ..spec.loader import load_schema

    order = [c.code for c in load_schema().codelists["experience_item"].codes]
    shown: list[tuple[str, str, dict[str, Any], dict[str, Any] | None]] = []
    for iid in _SCORE_IDS:
        mine = {r["item"]: r for r in _pick(items, indicator=iid, period=year, unit_id=unit, item=True)}
        region = {r["item"]: r for r in _pick(items, indicator=iid, period=year, item=True)} if unit else {}
        for code in sorted(mine, key=lambda c: order.index(c) if c in order else len(order)):
            shown.append((iid, code, mine[code], region.get(code)))
    if not shown:
        return
    doc.add("<h3>" + _esc(doc.t(f"Skår per spørsmål ({year})", f"Score per item ({year})")) + "</h3>")
    labels = [_item_label(code, doc.lang) for _, code, _, _ in shown]

    def arr(rows: Sequence[Mapping[str, Any] | None], key: str) -> np.ndarray:
        return np.array([np.nan if r is None or r[key] is None else float(r[key]) for r in rows], dtype=float)

    series = []
    mine_rows = [r for _, _, r, _ in shown]
    series.append((scope, arr(mine_rows, "value"), arr(mine_rows, "ci_lower"), arr(mine_rows, "ci_upper")))
    if unit:
        reg_rows = [r for _, _, _, r in shown]
        series.append((doc.t("Regionen", "Region"), arr(reg_rows, "value"), arr(reg_rows, "ci_lower"),
                       arr(reg_rows, "ci_upper")))
    svg = _plots.dots_svg(title=doc.t(f"Gjennomsnittlig skår per spørsmål, {year}", f"Mean score per item, {year}"),
                          labels=labels, series=series, xlabel=doc.t("Skår (1–5, høyere er bedre)",
                                                                     "Score (1–5, higher is better)"),
                          limits=(1.0, 5.0), masked_text=doc.t("skjult", "masked"))
    ids = sorted({iid for iid, _, _, _ in shown})
    doc.figure("experience-items", svg, _esc(doc.t(
        f"{', '.join(ids)}: gjennomsnitt med 95 % konfidensintervall (t-fordeling) per spørsmål, over skjemaene "
        "som svarte på spørsmålet.",
        f"{', '.join(ids)}: mean with 95% confidence interval (t distribution) per item, over the "
        "questionnaires that answered the item.")), indicator=",".join(ids))
    head = [doc.t("Spørsmål", "Item"), doc.t("Svar", "Answers"), doc.t("Skår", "Score"), doc.t("KI", "CI")]
    kinds = ["", "count", "num", "num"]
    if unit:
        head.append(doc.t("Regionen", "Region"))
        kinds.append("num")
    rows: list[list[str | tuple[str, str]]] = []
    for iid, code, r, reg in shown:
        v, ci = _value_ci(specs[iid], r, doc.lang)
        cells: list[str | tuple[str, str]] = [
            _esc(_item_label(code, doc.lang, width=200)) + f' <span class="note">{_esc(iid)}</span>',
            _shown_count(r, "denominator", doc.threshold), v, ci]
        if unit:
            cells.append(_value_ci(specs[iid], reg, doc.lang)[0])
        rows.append(cells)
    doc.table(head, rows, cls="experience-items", kinds=kinds)


def _hospital_section(doc: _Doc, p: _Prepared, year: str, names: Mapping[str, Mapping[str, str]]) -> None:
    """Acute hospital admissions per 1,000 adults (KAD-H01) and the KAD share (KAD-H02) by municipality."""
    from ..spec.indicators import load_indicators

    specs = load_indicators()
    doc.section("hospital", _proposed_title(doc, "Bruk av sykehus", "Hospital use", _HOSPITAL_IDS))
    if p.hospital is None:
        doc.add('<p class="note">' + _esc(doc.t(
            "Ingen sykehustall: tabellen hospital_admissions er ikke gitt, så indikatorene KAD-H01 og KAD-H02 "
            "vises ikke.",
            "No hospital figures: the hospital_admissions table was not given, so indicators KAD-H01 and "
            "KAD-H02 are not shown.")) + "</p>")
        return
    h = p.hospital
    doc.add(_proposed_note(doc, _HOSPITAL_IDS, p.proposed))
    h01, h02 = specs["KAD-H01"], specs["KAD-H02"]
    doc.add("<p>" + _esc(doc.t(
        f"{year}, etter bostedskommune: akutte somatiske sykehusinnleggelser av innbyggere 18 år og eldre per "
        "1 000 innbyggere 18 år og eldre (KAD-H01), og KAD-oppholdenes andel av alle akutte innleggelser, "
        "KAD-opphold pluss sykehusinnleggelser (KAD-H02), med 95 % konfidensintervall. Sykehustallene er "
        "kildens (se tabellen hospital_admissions); KAD-oppholdene er voksne, somatiske opphold fra enhetene "
        "som leverer data.",
        f"{year}, by municipality of residence: acute somatic hospital admissions of inhabitants aged 18 and "
        "over per 1,000 inhabitants aged 18 and over (KAD-H01), and the KAD stays' share of all acute "
        "admissions, KAD stays plus hospital admissions (KAD-H02), with 95% confidence intervals. The hospital "
        "figures are the source's (see the hospital_admissions table); the KAD stays are adult somatic stays "
        "from the units that report.")) + "</p>")
    rows01 = {r["municipality"]: r for r in _pick(h, indicator="KAD-H01", period=year, municipality=True)}
    rows02 = {r["municipality"]: r for r in _pick(h, indicator="KAD-H02", period=year, municipality=True)}
    reg01 = _first(_pick(h, indicator="KAD-H01", period=year))
    reg02 = _first(_pick(h, indicator="KAD-H02", period=year))
    reason_text = {"low_n": doc.t(f"færre enn {doc.threshold}", f"fewer than {doc.threshold}"),
                   "secondary": doc.t("skjult for å beskytte et lite tall", "masked to protect a small count"),
                   "masked": doc.t("skjult", "masked")}
    for spec, rows, region in ((h01, rows01, reg01), (h02, rows02, reg02)):
        shown = [r for r in rows.values() if not r["suppressed"] and r["value"] is not None]
        if not shown:
            continue
        mult = _scale(spec)
        svg = _plots.caterpillar_svg(
            title=f"{spec.id} v{p.proposed.get(spec.id, spec.version)} — {spec.title.get(doc.lang)} ({year})",
            xlabel=_unit_label(spec, doc.lang),
            labels=[_label(names, "municipality", r["municipality"]) for r in shown],
            values=np.array([r["value"] for r in shown], dtype=float) * mult,
            lower=np.array([np.nan if r["ci_lower"] is None else r["ci_lower"] for r in shown], dtype=float) * mult,
            upper=np.array([np.nan if r["ci_upper"] is None else r["ci_upper"] for r in shown], dtype=float) * mult,
            reference=region["value"] * mult if region and region["value"] is not None else None,
            reference_label=doc.t("Regionen", "Region"))
        masked = [f"{_label(names, 'municipality', r['municipality'])} ({reason_text.get(r['reason'] or '', '')})"
                  for r in rows.values() if r["suppressed"]]
        cap = f"<b>{_esc(spec.id)}</b> v{_esc(p.proposed.get(spec.id, spec.version))}." + (
            " " + _esc(doc.t("Skjult: ", "Masked: ") + "; ".join(masked)) if masked else "")
        doc.figure(f"hospital-{spec.id}", svg, cap, indicator=spec.id, version=p.proposed.get(spec.id, spec.version))
    no_figures = doc.t("ingen sykehustall", "no hospital figures")
    table: list[list[str | tuple[str, str]]] = []
    muns = sorted(set(rows01) | set(rows02), key=lambda m: (_label(names, "municipality", m), m))
    for m, r1, r2 in [*[(m, rows01.get(m), rows02.get(m)) for m in muns], (None, reg01, reg02)]:
        label = (_esc(_label(names, "municipality", m)) if m is not None
                 else "<b>" + _esc(doc.t("Hele regionen", "Whole region")) + "</b>")
        missing = r1 is not None and r1["reason"] == "no_data"
        adults = (_num(r1["denominator"], doc.lang, 0) if r1 and r1["denominator"] and not missing else "–")
        v1, ci1 = _value_ci(h01, r1, doc.lang)
        v2, ci2 = _value_ci(h02, r2, doc.lang)
        if missing:
            v1, ci1 = _esc(no_figures), "–"
        if r2 is not None and r2["reason"] == "no_data":
            v2, ci2 = _esc(no_figures), "–"
        table.append([label, adults, "–" if missing else _shown_count(r1, "numerator", doc.threshold), v1, ci1,
                      "–" if r2 is None or r2["reason"] == "no_data" else _shown_count(r2, "numerator", doc.threshold),
                      v2, ci2])
    doc.table([doc.t("Kommune", "Municipality"), doc.t("Innbyggere 18+", "Inhabitants 18+"),
               doc.t("Akutte sykehusinnleggelser", "Acute hospital admissions"),
               doc.t("Per 1 000", "Per 1,000") + " (KAD-H01)", doc.t("KI", "CI"),
               doc.t("KAD-opphold", "KAD stays"), doc.t("KAD-andel", "KAD share") + " (KAD-H02)", doc.t("KI", "CI")],
              table, cls="hospital", kinds=("", "num", "count", "num", "num", "count", "num", "num"))
    gaps = sorted({(str(r["period"]), str(r["municipality"])) for iid in _HOSPITAL_IDS
                   for r in _pick(h, indicator=iid, municipality=True)
                   if r["reason"] == "no_data" and str(r["period"]) <= year})
    if gaps:
        listed = "; ".join(f"{_label(names, 'municipality', m)} ({y})" for y, m in gaps)
        doc.add('<p class="note">' + _esc(doc.t(
            f"Mangler fullstendige sykehustall (ingen rate og ingen andel, ikke 0): {listed}.",
            f"Complete hospital figures are missing (no rate and no share, not 0): {listed}.")) + "</p>")
    for spec in (h01, h02):
        text = (spec.raw.get("interpretation") or {}).get(doc.lang, "")
        if text:
            doc.add(f'<p class="note"><b>{_esc(spec.id)}</b>: {_esc(text)}</p>')


# ----------------------------------------------------------------------------- entry point


def feedback_report(
    *,
    stays: Any,
    units: Any = None,
    population: Any = None,
    experience: Any = None,
    hospital_admissions: Any = None,
    unit: str | None = None,
    year: int | None = None,
    period: str = "quarter",
    lang: str = "nb",
    as_of: dt.datetime | dt.date | str | None = None,
    suppression: int = 5,
    overdispersion: bool = True,
    generated: dt.date | None = None,
) -> FeedbackReport:
    """Build the clinical feedback report for the region, or for one unit.

    The data are validated first (the report's data quality section is that
    validation); every indicator is computed by unit, by municipality and for
    the region, and every published number passes primary and complementary
    suppression together, so that no masked count can be recovered by
    subtraction within the report.

    The proposed indicators (status ``proposed``: under review, not adopted) are
    shown in sections of their own, marked as such: documentation quality
    (KAD-D01, KAD-D02) in the data quality section; with ``experience``, the
    experience questionnaires (KAD-E01 … KAD-E05); in the region's report with
    ``hospital_admissions``, hospital use by municipality (KAD-H01, KAD-H02).

    Parameters
    ----------
    stays, units, population : table-like or path
        As for :func:`kadindicators.validate`.
    experience, hospital_admissions : table-like or path, optional
        The optional tables of reporting schema 1.1.0, validated with the others.

        .. versionadded:: 0.2.0
    unit : str, optional
        A ``unit_id``: the report for that unit (highlighted, with the region beside it).
    year : int, optional
        The year of the funnel plots and headline figures; default the latest year with admissions.
    period : {"quarter", "month", "year"}
        Resolution of the trends (``"year"``: no trend section).
    lang : {"nb", "en"}
        Language of the report.
    as_of : date, optional
        Closes the observation window (see :func:`kadindicators.compute`).
    suppression : int
        Small-count threshold; counts from 1 to ``suppression - 1`` are shown as ``<suppression>``.
    overdispersion : bool
        Widen funnel limits by the Winsorised over-dispersion factor where the spec allows it.
    generated : date, optional
        The date printed as "generated" (default today).

    Returns
    -------
    FeedbackReport

    Examples
    --------
    >>> import kadindicators as kad
    >>> from kadindicators.reports import feedback_report
    >>> r = kad.synth.generate(years=(2024,), seed=1, scale=0.3)
    >>> rep = feedback_report(stays=r.stays, units=r.units, population=r.population, lang="en")
    >>> rep.year, "funnel-KAD-Q01" in rep.figures, "nan" in rep.html
    (2024, True, False)
    >>> rep = feedback_report(stays=r.stays, units=r.units, population=r.population,
    ...                       experience=r.experience, hospital_admissions=r.hospital_admissions,
    ...                       period="year", lang="en")
    >>> [f for f in rep.figures if f.startswith(("experience", "hospital"))]
    ['experience-items', 'hospital-KAD-H01', 'hospital-KAD-H02']

    .. versionadded:: 0.2.0
    """
    p = _prepare(stays=stays, units=units, population=population, experience=experience,
                 hospital_admissions=hospital_admissions, period=period, as_of=as_of,
                 suppression=suppression, lang=lang)
    return _render(p, unit=unit, year=year, lang=lang, overdispersion=overdispersion, generated=generated)


def feedback_reports(
    *,
    stays: Any,
    units: Any = None,
    population: Any = None,
    experience: Any = None,
    hospital_admissions: Any = None,
    year: int | None = None,
    period: str = "quarter",
    lang: str = "nb",
    as_of: dt.datetime | dt.date | str | None = None,
    suppression: int = 5,
    overdispersion: bool = True,
    generated: dt.date | None = None,
) -> dict[str, FeedbackReport]:
    """The region's report and one report per unit, from one validation and one computation.

    Same parameters as :func:`feedback_report`; the keys are ``"region"`` and every
    ``unit_id`` with valid stays. Each unit's report is what ``feedback_report(unit=...)``
    gives: the masking is decided once for the whole set, so no two reports can be
    subtracted from each other to reveal a small count.

    Examples
    --------
    >>> import kadindicators as kad
    >>> from kadindicators.reports import feedback_reports
    >>> r = kad.synth.generate(years=(2024,), seed=1, scale=0.2)
    >>> reps = feedback_reports(stays=r.stays, units=r.units, population=r.population, period="year")
    >>> "region" in reps and len(reps) > 1
    True

    .. versionadded:: 0.2.0
    """
    p = _prepare(stays=stays, units=units, population=population, experience=experience,
                 hospital_admissions=hospital_admissions, period=period, as_of=as_of,
                 suppression=suppression, lang=lang)
    ids = sorted(set(p.tables["stays"]["unit_id"].to_pylist()))
    return {key: _render(p, unit=None if key == "region" else key, year=year, lang=lang,
                         overdispersion=overdispersion, generated=generated)
            for key in ["region", *ids]}


@attrs.frozen(kw_only=True)
class _Prepared:
    report: Any
    tables: Mapping[str, Any]
    res: pa.Table
    meta: Mapping[str, str]
    first: int
    last: int
    period: str
    suppression: int
    variation: pa.Table | None = attrs.field(default=None, eq=False)
    # proposed indicators: protected results (experience by respondent, by item; hospital use) and
    # the documentation results before suppression (protected per year with the stay counts)
    experience: tuple[pa.Table, pa.Table] | None = attrs.field(default=None, eq=False)
    hospital: pa.Table | None = attrs.field(default=None, eq=False)
    documentation: pa.Table | None = attrs.field(default=None, eq=False)
    proposed: Mapping[str, str] = attrs.field(factory=dict, eq=False)
    cache: dict[tuple[str, str], Any] = attrs.field(factory=dict, eq=False)


def _prepare(*, stays: Any, units: Any, population: Any, period: str, as_of: Any, suppression: int,
             lang: str, experience: Any = None, hospital_admissions: Any = None) -> _Prepared:
    from .. import validate

    if lang not in ("nb", "en"):
        raise ValueError("lang must be 'nb' or 'en'")
    if period not in ("year", "quarter", "month"):
        raise ValueError("period must be 'year', 'quarter' or 'month'")
    if suppression < 1:
        raise ValueError("suppression must be at least 1")
    report = validate(stays=stays, units=units, population=population, experience=experience,
                      hospital_admissions=hospital_admissions, as_of=as_of)
    tables = {"stays": report.valid, "units": report.tables.get("units"),
              "population": report.tables.get("population"),
              "experience": report.tables.get("experience") if experience is not None else None,
              "hospital_admissions": (report.tables.get("hospital_admissions")
                                      if hospital_admissions is not None else None)}
    valid = tables["stays"]
    if valid is None or valid.num_rows == 0:
        raise InputError("no valid stays to report on: see the validation report",
                         "ingen gyldige opphold å rapportere om: se valideringsrapporten")
    years = _local_year(valid["admitted_at"])
    first, last = int(pc.min(years).as_py()), int(pc.max(years).as_py())
    since = dt.date(first, 1, 1)
    truth, meta = _results(tables, as_of=as_of, since=since, confidence=0.95, period=period)
    res = _protect_uniform(truth, suppression)
    kw: dict[str, Any] = {**_table_kw(tables), "as_of": as_of, "suppression": 1, "confidence": 0.95,
                          "since": since, "period": "year"}
    hosp_truth = _hospital_truth(kw) if tables["hospital_admissions"] is not None else None
    hospital = None
    if hosp_truth is not None:
        # KAD-H02's denominator is KAD stays + KAD-H01's hospital admissions: never shown, so that a
        # masked count of KAD stays cannot be worked out from it
        hospital = _protect_joint([hosp_truth], (("municipality",),), (), suppression,
                                  unpublished={"KAD-H02": ("denominator",)})[0]
    exp_truth = _experience_truth(kw) if tables["experience"] is not None else None
    exp = None
    if exp_truth is not None:
        by_respondent, by_item = _protect_joint(list(exp_truth), _EXPERIENCE_ADDITIVE, _EXPERIENCE_BOUNDS,
                                                suppression)
        exp = (by_respondent, by_item)
    documentation = _documentation_truth(kw)
    proposed: dict[str, str] = {}
    for t in (hosp_truth, *(exp_truth or ()), documentation):
        if t is not None:
            proposed.update(json.loads((t.schema.metadata or {}).get(b"kadindicators.indicator_versions", b"{}")))
    if documentation is not None and any(tables[n] is not None for n in _OPTIONAL_TABLES):
        # the proposed indicators were computed with every table given: their fingerprint covers them all
        meta = {**meta, "fingerprint_all": (documentation.schema.metadata or {}).get(
            b"kadindicators.input_fingerprint", b"").decode()}
    return _Prepared(report=report, tables=tables, res=res, meta=meta, first=first, last=last,
                     period=period, suppression=suppression,
                     variation=_variation(tables, res, as_of=as_of, suppression=suppression),
                     experience=exp, hospital=hospital, documentation=documentation, proposed=proposed)


def _computed(kw: Mapping[str, Any], ids: Sequence[str], groupings: Sequence[tuple[str, ...]],
              strata: Sequence[tuple[str, ...]] = ((),)) -> list[pa.Table]:
    """``ids`` (those registered) for every grouping × strata; empty when none is registered."""
    from .. import compute
    from ..indicators import REGISTRY

    wanted = [i for i in ids if i in REGISTRY]
    if not wanted:
        return []
    return [compute(**kw, indicators=wanted, by=by, strata=st) for by in groupings for st in strata]


def _experience_truth(kw: Mapping[str, Any]) -> tuple[pa.Table, pa.Table] | None:
    """KAD-E01 … E05 by unit and for the region, by respondent and over all; E02/E04 by item."""
    by_respondent = _computed(kw, _EXPERIENCE_IDS, (("unit_id",), ()), (("respondent",), ()))
    by_item = _computed(kw, _SCORE_IDS, (("unit_id",), ()), (("item",),))
    if not by_respondent or not by_item:
        return None
    return _concat_parts(by_respondent), _concat_parts(by_item)


def _hospital_truth(kw: Mapping[str, Any]) -> pa.Table | None:
    """KAD-H01 and KAD-H02 by municipality and for the region."""
    parts = _computed(kw, _HOSPITAL_IDS, (("municipality",), ()))
    return _concat_parts(parts) if parts else None


def _documentation_truth(kw: Mapping[str, Any]) -> pa.Table | None:
    """KAD-D01, and KAD-D02 per field, by unit and for the region (before suppression)."""
    d01 = _computed(kw, _DOCUMENTATION_IDS[:1], (("unit_id",), ()))
    d02 = _computed(kw, _DOCUMENTATION_IDS[1:], (("unit_id",), ()), (("field",),))
    if not d01 or not d02:
        return None
    return _concat_parts([*d01, *d02])


def _variation_indicator(res: pa.Table) -> str:
    """KAD-U01S when the results have it (the standardised rate compares municipalities), else KAD-U01."""
    return "KAD-U01S" if pc.any(pc.equal(res["indicator_id"], "KAD-U01S")).as_py() else "KAD-U01"


def _variation(tables: Mapping[str, Any], res: pa.Table, *, as_of: Any, suppression: int) -> pa.Table | None:
    """Variation between municipalities by year, its range statistics over the rows the report shows."""
    from ..equity import variation

    iid = _variation_indicator(res)
    if tables["population"] is None or not pc.any(pc.equal(res["indicator_id"], iid)).as_py():
        return None
    mask = pc.and_(pc.equal(res["indicator_id"], iid), pc.is_valid(res["municipality"]))
    for d in ("unit_id", "subperiod"):
        mask = pc.and_(mask, pc.is_null(res[d]))
    return variation(stays=tables["stays"], population=tables["population"], units=tables["units"],
                     indicator=iid, period="year", as_of=as_of, suppression=suppression,
                     results=res.filter(mask))


def _render(p: _Prepared, *, unit: str | None, year: int | None, lang: str, overdispersion: bool,
            generated: dt.date | None) -> FeedbackReport:
    from ..spec.indicators import load_indicators

    year = p.last if year is None else int(year)
    if not p.first <= year <= p.last:
        raise ValueError(f"no admissions in {year}; the data cover {p.first}–{p.last}")
    valid, res, meta, report, suppression, period = (p.tables["stays"], p.res, p.meta, p.report,
                                                     p.suppression, p.period)
    if unit is not None and not pc.any(pc.equal(valid["unit_id"], unit)).as_py():
        raise ValueError(f"unit {unit!r} has no valid stays")
    all_specs = load_indicators()
    ids = sorted(set(res["indicator_id"].to_pylist()))
    specs = [all_specs[i] for i in ids]
    names = _names(p.tables["units"], lang)
    doc = _Doc(lang, suppression)
    y = str(year)
    counts = _stay_counts_cached(p, y)
    _headline_section(doc, res, specs, y, unit, names)
    _volume_section(doc, res, counts, y, names, unit)
    _funnel_section(doc, res, specs, y, unit, names, overdispersion)
    if period != "year":
        _trend_section(doc, res, [s for s in specs if s.unit != "rate_per_1000"], unit, names, period)
    _pathways_section(doc, counts, y, unit)
    _variation_section(doc, res, y, names, all_specs, p.variation)
    _experience_section(doc, p, y, unit, names)
    if unit is None:
        _hospital_section(doc, p, y, names)
    _quality_section(doc, report, counts, y, unit, names, p.proposed)
    versions = json.loads(meta.get("kadindicators.indicator_versions", "{}"))
    shown = set(_DOCUMENTATION_IDS) | (set(_EXPERIENCE_IDS) if p.experience is not None else set()) | (
        set(_HOSPITAL_IDS) if p.hospital is not None and unit is None else set())
    proposed = {k: v for k, v in p.proposed.items() if k in shown}
    prov = {
        "library": f"kadindicators {__version__}",
        "schema": meta.get("kadindicators.schema_version", ""),
        "indicators": ", ".join(f"{k} {v}" for k, v in sorted(versions.items())),
        "proposed": ", ".join(f"{k} {v}" for k, v in sorted(proposed.items())),
        "spec_hash": _short_hash(meta.get("kadindicators.spec_hash", "")),
        "fingerprint": meta.get("kadindicators.input_fingerprint", ""),
        "fingerprint_all": meta.get("fingerprint_all", ""),
        "as_of": meta.get("kadindicators.as_of", ""),
        "generated": (generated or dt.date.today()).isoformat(),
        "threshold": str(suppression),
    }
    scope = _label(names, "unit_id", unit) if unit else _t(lang, "hele regionen", "whole region")
    title = _t(lang, f"Tilbakemeldingsrapport KAD {year} – {scope}", f"KAD feedback report {year} – {scope}")
    header = (f"<h1>{_esc(title)}</h1><p>" + _esc(_t(
        lang, "Kommunale akutte døgnplasser (øyeblikkelig hjelp døgnopphold, helse- og omsorgstjenesteloven "
        "§ 3-5). Bare til klinisk gjennomgang og tilbakemelding; tall under prikkegrensen vises aldri.",
        "Municipal acute inpatient beds (øyeblikkelig hjelp døgnopphold, Health and Care Services Act "
        "§ 3-5). For clinical review and feedback; counts below the suppression threshold are never shown."))
        + "</p>" + _prov_html(prov, doc))
    footer = '<p class="note">' + _esc(_t(
        lang, f"Laget med kadindicators {__version__}. «<{suppression}» betyr færre enn {suppression}; "
        "«×» er skjult for at et lite tall ikke skal kunne regnes ut.",
        f"Made with kadindicators {__version__}. “<{suppression}” means fewer than {suppression}; "
        "“×” is masked so that a small count cannot be worked out.")) + "</p>"
    return FeedbackReport(html=doc.html(title, header, footer), year=year, scope=unit or "region", lang=lang,
                          figures=tuple(doc.figures), provenance=prov)


def _short_hash(spec_hash_json: str) -> str:
    import hashlib

    return hashlib.sha256(spec_hash_json.encode()).hexdigest()[:16] if spec_hash_json else ""
