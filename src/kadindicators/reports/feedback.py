"""The clinical feedback report: one self-contained HTML file per region or unit.

For the regional clinical committee and for each unit: data quality, volume,
headline indicators with confidence intervals and target levels, funnel plots,
trends, admission sources and discharge destinations, and variation between
municipalities. Plots are inline SVG; the file needs no network to open and
prints to PDF. Small counts are never shown: every published figure goes
through primary and complementary suppression (:mod:`kadindicators.disclosure`).

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


def _results(tables: Mapping[str, pa.Table | None], *, as_of: Any, since: dt.date, suppression: int,
             confidence: float, period: str) -> tuple[pa.Table, dict[str, str]]:
    """Every result the report shows, in one table, protected against differencing."""
    from .. import compute

    kw: dict[str, Any] = {"stays": tables["stays"], "units": tables["units"],
                          "population": tables["population"], "as_of": as_of,
                          "suppression": suppression, "confidence": confidence, "since": since}
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
    from ..disclosure import protect_results

    combined = protect_results(combined.replace_schema_metadata(by_unit.schema.metadata),
                               threshold=suppression)
    info = json.loads((combined.schema.metadata or {}).get(b"kadindicators.disclosure", b"{}"))
    if any((info.get("exposed") or {}).values()):
        # some cells are given away by the marks alone ("<5" = 1..4 adding up to a total):
        # then every hidden cell gets the same mark, so the marks tell nothing
        i = combined.column_names.index("reason")
        combined = combined.set_column(i, "reason", pc.if_else(combined["suppressed"], "masked",
                                                                combined["reason"]))
    return combined, meta



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

    def table(self, head: Sequence[str], rows: Sequence[Sequence[str]], *, cls: str = "",
              kinds: Sequence[str] = ()) -> None:
        """Cells are HTML already escaped by the caller; ``kinds`` marks count columns."""
        h = "".join(f"<th>{c}</th>" for c in head)
        body = []
        for r in rows:
            cells = []
            for i, c in enumerate(r):
                kind = kinds[i] if i < len(kinds) else ""
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
@media print{nav{display:none}section{break-before:page}body{max-width:none;font-size:11px}}
"""


def _prov_html(prov: Mapping[str, str], doc: _Doc) -> str:
    labels = {"library": doc.t("Bibliotek", "Library"), "schema": doc.t("Rapporteringsskjema", "Reporting schema"),
              "indicators": doc.t("Indikatorer (versjon)", "Indicators (version)"),
              "spec_hash": doc.t("Spesifikasjon (hash)", "Specification (hash)"),
              "fingerprint": doc.t("Datafingeravtrykk", "Data fingerprint"),
              "as_of": doc.t("Data til og med", "Data as of"),
              "generated": doc.t("Laget", "Generated"),
              "threshold": doc.t("Prikkegrense", "Suppression threshold")}
    items = "".join(f"<dt>{_esc(labels[k])}</dt><dd>{_esc(v)}</dd>" for k, v in prov.items() if k in labels)
    return f'<dl class="prov">{items}</dl>'


# ----------------------------------------------------------------------------- sections


def _quality_section(doc: _Doc, report: Any) -> None:
    from ..spec.loader import load_schema

    doc.section("quality", doc.t("Datakvalitet", "Data quality"))
    doc.add("<p>" + _esc(doc.t(
        "Alle tall i rapporten bygger bare på rader som besto valideringen. Avviste rader er "
        "utelatt fra alle indikatorer; rader med advarsler er med.",
        "Every figure in this report uses only rows that passed validation. Rejected rows are "
        "left out of every indicator; rows with warnings are kept.")) + "</p>")
    rows = []
    for name, s in report.summaries.items():
        fmt = [_count(n, doc.threshold) if name == "stays" else _esc(n)
               for n in (s.rows_read, s.rows_valid, s.rows_rejected)]
        rows.append([_esc(name), *fmt])
    doc.table([doc.t("Tabell", "Table"), doc.t("Rader lest", "Rows read"), doc.t("Godtatt", "Accepted"),
               doc.t("Avvist", "Rejected")], rows, kinds=("", "count", "count", "count"))
    aff = report.affected_indicators().to_pylist()
    if not aff:
        doc.add("<p>" + _esc(doc.t("Ingen feil eller advarsler.", "No errors or warnings.")) + "</p>")
        return
    rules = load_schema().rules
    out = []
    for r in aff[:15]:
        title = rules[r["rule"]].title.get(doc.lang) if r["rule"] in rules else r["rule"]
        sev = {"error": doc.t("feil (avvist)", "error (rejected)"),
               "warning": doc.t("advarsel", "warning")}.get(r["severity"], r["severity"])
        n = _count(r["rows"], doc.threshold) if r["table"] == "stays" else _esc(r["rows"])
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


def _volume_section(doc: _Doc, res: pa.Table, stays: pa.Table, year: str,
                    names: Mapping[str, Mapping[str, str]], unit: str | None) -> None:
    from ..disclosure import margin, protect
    from ..spec.indicators import load_indicators

    specs = load_indicators()
    doc.section("volume", doc.t("Aktivitet og belegg", "Activity and occupancy"))
    in_year = stays.filter(pc.equal(_local_year(stays["admitted_at"]), int(year)))
    g = in_year.group_by("unit_id").aggregate([([], "count_all")]) if in_year.num_rows else None
    counts = dict(zip(g["unit_id"].to_pylist(), g["count_all"].to_pylist(), strict=True)) if g else {}
    u03 = {r["unit_id"]: r for r in _rows(res, indicator="KAD-U03", year=year, dim="unit_id")}
    u04 = {r["unit_id"]: r for r in _rows(res, indicator="KAD-U04", year=year, dim="unit_id")}
    ids = sorted(set(counts) | set(u03))
    # admissions per unit and their total are published together: protect the margin
    cells = np.array([counts.get(u, 0) for u in ids] + [sum(counts.values())], dtype=np.int64)
    prot = protect(cells, [margin(len(ids), list(range(len(ids))))], threshold=doc.threshold)
    if prot.exposed.any():  # "<5" would give these away: one mark for every hidden cell of the table
        prot.reason[prot.suppressed] = "masked"
    days = 366 if _is_leap(int(year)) else 365
    rows = []
    for i, u in enumerate([*ids, None]):
        r3 = u03.get(u) if u is not None else _first(_rows(res, indicator="KAD-U03", year=year, dim=None))
        r4 = u04.get(u) if u is not None else _first(_rows(res, indicator="KAD-U04", year=year, dim=None))
        label = _esc(_label(names, "unit_id", u)) if u is not None else "<b>" + _esc(doc.t("Hele regionen", "Whole region")) + "</b>"
        if u is not None and u == unit:
            label = f"<mark>{label}</mark>"
        beds = _num(r3["denominator"] / days, doc.lang) if r3 and r3["denominator"] is not None else "–"
        rows.append([label, beds,
                     _count(None if prot.suppressed[i] else int(cells[i]), doc.threshold, prot.reason[i]),
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


def _pathway_counts(stays: pa.Table, year: str, field: str, threshold: int
                    ) -> tuple[list[str], list[str], np.ndarray, np.ndarray, np.ndarray]:
    """Stays by unit × category in one year, with row, column and grand totals, protected together.

    Returns the category keys, the unit ids, and three arrays of shape (units + 1, keys + 1):
    the counts (last row: the region; last column: the totals), whether each is
    suppressed, and why. Masking is decided for the whole table at once, so that
    the region's report and every unit's report can be set side by side safely.
    """
    from ..disclosure import margin, protect
    from ..spec.loader import load_schema

    s = stays.filter(pc.equal(_local_year(stays["admitted_at"]), int(year)))
    codes = [c.code for c in load_schema().codelists[field].codes]
    col = pc.fill_null(s[field], "__unknown__")
    g = pa.table({"u": s["unit_id"], "c": col}).group_by(["u", "c"]).aggregate([([], "count_all")])
    got = {(u, c): n for u, c, n in zip(g["u"].to_pylist(), g["c"].to_pylist(), g["count_all"].to_pylist(),
                                        strict=True)}
    present = {c for _, c in got}
    keys = [c for c in codes if c in present] + (["__unknown__"] if "__unknown__" in present else [])
    uids = sorted({u for u, _ in got})
    nu, nk = len(uids), len(keys)
    m = np.zeros((nu + 1, nk + 1), dtype=np.int64)
    for i, u in enumerate(uids):
        for k, c in enumerate(keys):
            m[i, k] = got.get((u, c), 0)
    m[:nu, nk] = m[:nu, :nk].sum(axis=1)
    m[nu, :] = m[:nu, :].sum(axis=0)
    idx = np.arange(m.size).reshape(m.shape)
    eqs = [margin(int(idx[i, nk]), idx[i, :nk].tolist()) for i in range(nu + 1)]
    eqs += [margin(int(idx[nu, k]), idx[:nu, k].tolist()) for k in range(nk + 1)]
    prot = protect(m.ravel(), eqs, threshold=threshold)
    if prot.exposed.any():  # "<5" would give these away: one mark for every hidden cell of the table
        prot.reason[prot.suppressed] = "masked"
    return keys, uids, m, np.asarray(prot.suppressed).reshape(m.shape), np.asarray(prot.reason).reshape(m.shape)


def _pathways_section(doc: _Doc, stays: pa.Table, year: str, unit: str | None,
                      cache: dict[tuple[str, str], Any]) -> None:
    from ..spec.loader import load_schema

    doc.section("pathways", doc.t("Hvor pasientene kom fra og dro til", "Where patients came from and went to"))
    schema = load_schema()
    unknown = doc.t("ukjent / ikke oppgitt", "unknown / not given")
    for field, title in (("admitted_from", doc.t("Innlagt fra", "Admitted from")),
                         ("discharged_to", doc.t("Utskrevet til", "Discharged to"))):
        if (year, field) not in cache:  # the same protected table for the region and every unit
            cache[(year, field)] = _pathway_counts(stays, year, field, doc.threshold)
        keys, uids, m, sup, why = cache[(year, field)]
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


# ----------------------------------------------------------------------------- entry point


def feedback_report(
    *,
    stays: Any,
    units: Any = None,
    population: Any = None,
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

    Parameters
    ----------
    stays, units, population : table-like or path
        As for :func:`kadindicators.validate`.
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

    .. versionadded:: 0.2.0
    """
    p = _prepare(stays=stays, units=units, population=population, period=period, as_of=as_of,
                 suppression=suppression, lang=lang)
    return _render(p, unit=unit, year=year, lang=lang, overdispersion=overdispersion, generated=generated)


def feedback_reports(
    *,
    stays: Any,
    units: Any = None,
    population: Any = None,
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
    p = _prepare(stays=stays, units=units, population=population, period=period, as_of=as_of,
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
    cache: dict[tuple[str, str], Any] = attrs.field(factory=dict, eq=False)


def _prepare(*, stays: Any, units: Any, population: Any, period: str, as_of: Any, suppression: int,
             lang: str) -> _Prepared:
    from .. import validate

    if lang not in ("nb", "en"):
        raise ValueError("lang must be 'nb' or 'en'")
    if period not in ("year", "quarter", "month"):
        raise ValueError("period must be 'year', 'quarter' or 'month'")
    if suppression < 1:
        raise ValueError("suppression must be at least 1")
    report = validate(stays=stays, units=units, population=population, as_of=as_of)
    tables = {"stays": report.valid, "units": report.tables.get("units"),
              "population": report.tables.get("population")}
    valid = tables["stays"]
    if valid is None or valid.num_rows == 0:
        raise InputError("no valid stays to report on: see the validation report",
                         "ingen gyldige opphold å rapportere om: se valideringsrapporten")
    years = _local_year(valid["admitted_at"])
    first, last = int(pc.min(years).as_py()), int(pc.max(years).as_py())
    res, meta = _results(tables, as_of=as_of, since=dt.date(first, 1, 1), suppression=suppression,
                         confidence=0.95, period=period)
    return _Prepared(report=report, tables=tables, res=res, meta=meta, first=first, last=last,
                     period=period, suppression=suppression,
                     variation=_variation(tables, res, as_of=as_of, suppression=suppression))


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
    _headline_section(doc, res, specs, y, unit, names)
    _volume_section(doc, res, valid, y, names, unit)
    _funnel_section(doc, res, specs, y, unit, names, overdispersion)
    if period != "year":
        _trend_section(doc, res, [s for s in specs if s.unit != "rate_per_1000"], unit, names, period)
    _pathways_section(doc, valid, y, unit, p.cache)
    _variation_section(doc, res, y, names, all_specs, p.variation)
    _quality_section(doc, report)
    versions = json.loads(meta.get("kadindicators.indicator_versions", "{}"))
    prov = {
        "library": f"kadindicators {__version__}",
        "schema": meta.get("kadindicators.schema_version", ""),
        "indicators": ", ".join(f"{k} {v}" for k, v in sorted(versions.items())),
        "spec_hash": _short_hash(meta.get("kadindicators.spec_hash", "")),
        "fingerprint": meta.get("kadindicators.input_fingerprint", ""),
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
