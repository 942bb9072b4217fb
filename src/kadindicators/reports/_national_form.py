"""The national annual ØHD form, from validated stay-level data.

Helsedirektoratet collects a yearly Excel form per municipality with aggregates
of the municipal acute inpatient stays (ØHD/KAD): beds, admissions by residence,
sex, age, length of stay, bed-days, diagnosis group, where patients came from
and went to, and where the unit is located. ``national_form`` derives every
figure of that form from stays, per host municipality and per unit, and
``write_national_form`` writes it as an Excel workbook (the form's layout, a
reconciliation sheet and provenance) or as CSV.

The form's levels, sections, categories, labels and the mapping from the
schema's code lists are defined in ``spec/national-form.yaml`` and loaded by
``load_form_spec``; nothing about the categories is written in this module.

Disclosure control: counts from 1 to ``suppression - 1`` are never published
(primary suppression, reason ``low_n``), and further cells are hidden so that
totals, the other categories of a section and the figures of the other level
(municipality = sum of its units) do not reveal them (complementary suppression,
reason ``secondary``), by ``kadindicators.disclosure.protect``. Bed-days are
hidden when they rest on 1 to ``suppression - 1`` stays, and the estimated
bed-days when a length-of-stay class of the same unit or municipality is hidden
(the estimate is a weighted sum of those classes).

.. versionadded:: 0.2.0
"""

from __future__ import annotations

import datetime as dt
import functools
import hashlib
import json
import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import attrs
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from .. import _yaml
from .._resources import spec_root
from .._version import __version__
from ..errors import SpecError
from ..schema import TIMEZONE, arrow_schema
from ..spec.loader import load_schema
from ..spec.models import Text

__all__ = [
    "FORM_COLUMNS",
    "FormCategory",
    "FormSection",
    "FormSpec",
    "load_form_spec",
    "national_form",
    "write_national_form",
]

LEVELS = ("region", "municipality", "unit")
KINDS = ("capacity", "total", "split", "measure")
COUNT_KINDS = ("total", "split")
MS_PER_DAY = 86_400_000
FORM_FILE = "national-form.yaml"

#: Columns of the table returned by ``national_form``, in order.
FORM_COLUMNS = pa.schema([
    pa.field("year", pa.int32(), nullable=False),
    pa.field("level", pa.string(), nullable=False),
    pa.field("municipality", pa.string()),
    pa.field("municipality_name", pa.string()),
    pa.field("unit_id", pa.string()),
    pa.field("unit_name", pa.string()),
    pa.field("section", pa.string(), nullable=False),
    pa.field("section_label", pa.string(), nullable=False),
    pa.field("category", pa.string(), nullable=False),
    pa.field("label", pa.string(), nullable=False),
    pa.field("unit_of_measure", pa.string(), nullable=False),
    pa.field("count", pa.int64()),
    pa.field("value", pa.float64()),
    pa.field("suppressed", pa.bool_(), nullable=False),
    pa.field("reason", pa.string()),
])


# ---------------------------------------------------------------------------------------------
# The form's definition (spec/national-form.yaml)
# ---------------------------------------------------------------------------------------------
@attrs.frozen(kw_only=True)
class FormCategory:
    """One category (row) of a section of the national form.

    ``role`` is ``category`` for an ordinary category, ``not_discharged`` for the
    category of stays not discharged at ``as_of``, and ``missing`` for stays
    without a value. ``sources`` are the schema codes mapped to it.

    .. versionadded:: 0.2.0
    """

    code: str
    label: Text
    role: str = "category"
    unit_of_measure: str = "stays"
    sources: tuple[str, ...] = ()
    max_days: int | None = None
    estimate_days: float | None = None


@attrs.frozen(kw_only=True)
class FormSection:
    """One section of the national form: how its categories are derived from the stays.

    .. versionadded:: 0.2.0
    """

    id: str
    kind: str
    title: Text
    confirmed: bool
    definition: Text
    note: Text | None
    categories: tuple[FormCategory, ...]
    field: str | None = None
    unit_field: str | None = None
    derived: str | None = None
    codelist: str | None = None
    group: str | None = None
    age_bands: bool = False

    def role(self, role: str) -> int | None:
        """Index of the category with ``role`` (``not_discharged``, ``missing``), or None."""
        for i, c in enumerate(self.categories):
            if c.role == role:
                return i
        return None

    def index(self, code: str) -> int:
        """Index of the category ``code``."""
        for i, c in enumerate(self.categories):
            if c.code == code:
                return i
        raise KeyError(code)


@attrs.frozen(kw_only=True)
class FormSpec:
    """The national annual form as defined in ``spec/national-form.yaml``.

    .. versionadded:: 0.2.0
    """

    id: str
    version: str
    title: Text
    description: Text
    levels: Mapping[str, Text]
    sections: tuple[FormSection, ...]
    attribution: Mapping[str, Text]
    content_hash: str

    def section(self, section_id: str) -> FormSection:
        """The section called ``section_id``."""
        for s in self.sections:
            if s.id == section_id:
                return s
        raise KeyError(section_id)


def _fail(path: Path, en: str, nb: str) -> SpecError:
    return SpecError(f"{path.name}: {en}", f"{path.name}: {nb}")


def _text(raw: Any, path: Path, where: str) -> Text:
    if isinstance(raw, Mapping) and isinstance(raw.get("nb"), str) and isinstance(raw.get("en"), str):
        return Text(nb=" ".join(raw["nb"].split()), en=" ".join(raw["en"].split()))
    raise _fail(path, f"{where}: needs a text with 'nb' and 'en'", f"{where}: trenger en tekst med 'nb' og 'en'")


def _extra(raw: Mapping[str, Any], path: Path, where: str) -> list[FormCategory]:
    """The ``not_discharged`` and ``missing`` categories of a section, in that order."""
    out = []
    for role in ("not_discharged", "missing"):
        if role in raw:
            c = raw[role]
            out.append(FormCategory(code=str(c["code"]), label=_text(c.get("label"), path, f"{where}.{role}"),
                                    role=role))
    return out


def _categories(raw: Mapping[str, Any], path: Path) -> tuple[FormCategory, ...]:
    """Resolve a section's categories: from the code list, the schema's age bands or the file."""
    schema = load_schema()
    where = f"section {raw.get('id')}"
    listed = raw.get("categories")
    cl_id = raw.get("codelist")
    cats: list[FormCategory]
    if raw.get("age_bands") == "schema":
        bands = schema.codelists["age_band"]
        cats = [FormCategory(code=c.code, label=c.label, sources=(c.code,)) for c in bands.codes]
    elif raw.get("group") == "chapter":
        if cl_id != "icpc2":
            raise _fail(path, f"{where}: group: chapter needs codelist: icpc2",
                        f"{where}: group: chapter krever codelist: icpc2")
        cats = [FormCategory(code=ch.code, label=ch.label, sources=(ch.code,)) for ch in _icpc2_chapters()]
    elif cl_id is not None:
        if cl_id not in schema.codelists:
            raise _fail(path, f"{where}: unknown code list {cl_id!r}", f"{where}: ukjent kodeliste {cl_id!r}")
        cl = schema.codelists[cl_id]
        if listed is None:
            cats = [FormCategory(code=c, label=Text(nb=cl.label(c, "nb"), en=cl.label(c, "en")), sources=(c,))
                    for c in cl.values]
        else:
            cats = []
            seen: dict[str, str] = {}
            for c in listed:
                src = tuple(str(x) for x in c.get("from", ()))
                for s in src:
                    if s not in cl.values:
                        raise _fail(path, f"{where}: {s!r} is not a code of {cl_id}",
                                    f"{where}: {s!r} er ikke en kode i {cl_id}")
                    if s in seen:
                        raise _fail(path, f"{where}: {s!r} is mapped twice ({seen[s]}, {c['code']})",
                                    f"{where}: {s!r} er koblet to ganger ({seen[s]}, {c['code']})")
                    seen[s] = str(c["code"])
                if "label" in c:
                    label = _text(c["label"], path, f"{where}.{c['code']}")
                elif len(src) == 1:
                    label = Text(nb=cl.label(src[0], "nb"), en=cl.label(src[0], "en"))
                else:
                    raise _fail(path, f"{where}.{c['code']}: a category of several codes needs a label",
                                f"{where}.{c['code']}: en kategori av flere koder må ha en betegnelse")
                cats.append(FormCategory(code=str(c["code"]), label=label, sources=src))
            unmapped = [v for v in cl.values if v not in seen]
            if unmapped:
                raise _fail(path, f"{where}: codes of {cl_id} not mapped to the form: {unmapped}",
                            f"{where}: koder i {cl_id} uten kategori i skjemaet: {unmapped}")
    else:
        cats = []
        for c in listed or ():
            md = c.get("max_days")
            est = c.get("estimate_days")
            cats.append(FormCategory(
                code=str(c["code"]), label=_text(c.get("label"), path, f"{where}.{c.get('code')}"),
                unit_of_measure=str(c.get("unit_of_measure", "stays" if raw["kind"] in COUNT_KINDS
                                          else "bed_days")),
                max_days=None if md is None else int(md), estimate_days=None if est is None else float(est)))
    cats += _extra(raw, path, where)
    codes = [c.code for c in cats]
    if len(set(codes)) != len(codes) or not codes:
        raise _fail(path, f"{where}: category codes must be unique and at least one",
                    f"{where}: kategorikodene må være unike, og minst én")
    return tuple(cats)


@attrs.frozen(kw_only=True)
class _Chapter:
    code: str
    label: Text


@functools.cache
def _icpc2_chapters() -> tuple[_Chapter, ...]:
    """The chapters of ICPC-2 with their labels, from ``spec/codelists/icpc2.yaml``.

    Only the top-level ``chapters:`` block is parsed (the whole file, with 700
    codes, takes seconds with the pure-Python safe loader).
    """
    path = spec_root() / "codelists" / "icpc2.yaml"
    lines = path.read_text(encoding="utf-8").splitlines()
    start = next((i for i, line in enumerate(lines) if line.rstrip() == "chapters:"), None)
    if start is None:
        raw = _yaml.load(path)
    else:
        end = next((i for i in range(start + 1, len(lines))
                    if lines[i][:1] not in ("", " ", "#", "-")), len(lines))
        raw = _yaml.loads("\n".join(lines[start:end]), source=str(path))
    chapters = tuple(_Chapter(code=str(c["code"]), label=_text(c["label"], path, f"chapter {c['code']}"))
                     for c in (raw or {}).get("chapters", ()) or ())
    if not chapters:
        raise _fail(path, "no ICPC-2 chapters found", "fant ingen ICPC-2-kapitler")
    return chapters


def _section(raw: Mapping[str, Any], path: Path) -> FormSection:
    sid = str(raw.get("id"))
    kind = str(raw.get("kind"))
    if kind not in KINDS:
        raise _fail(path, f"section {sid}: kind must be one of {KINDS}", f"seksjon {sid}: kind må være en av {KINDS}")
    sources = [k for k in ("field", "unit_field", "derived") if k in raw]
    if kind == "split" and len(sources) != 1:
        raise _fail(path, f"section {sid}: a split needs exactly one of field, unit_field, derived",
                    f"seksjon {sid}: en fordeling trenger nøyaktig én av field, unit_field, derived")
    derived = raw.get("derived")
    if derived is not None and derived not in ("residence", "length_of_stay"):
        raise _fail(path, f"section {sid}: unknown derived {derived!r}", f"seksjon {sid}: ukjent derived {derived!r}")
    section = FormSection(
        id=sid, kind=kind, title=_text(raw.get("title"), path, f"section {sid}.title"),
        confirmed=bool(raw.get("confirmed", False)),
        definition=_text(raw.get("definition"), path, f"section {sid}.definition"),
        note=_text(raw["note"], path, f"section {sid}.note") if "note" in raw else None,
        categories=_categories(raw, path), field=raw.get("field"), unit_field=raw.get("unit_field"),
        derived=derived, codelist=raw.get("codelist"), group=raw.get("group"),
        age_bands=raw.get("age_bands") == "schema",
    )
    if derived == "length_of_stay":
        bounds = [c.max_days for c in section.categories if c.role == "category"]
        finite = [b for b in bounds if b is not None]
        if bounds[-1] is not None or len(finite) != len(bounds) - 1 or finite != sorted(set(finite)):
            raise _fail(path, f"section {sid}: max_days must increase and end with null",
                        f"seksjon {sid}: max_days må øke og slutte med null")
    return section


@functools.cache
def load_form_spec() -> FormSpec:
    """Load the national form's definition from ``spec/national-form.yaml``.

    Returns
    -------
    FormSpec
        Levels, sections and categories with nb/en labels; categories that come
        from a code list (sex, ICPC-2 chapters, …) are read from the code list.

    Examples
    --------
    >>> from kadindicators.reports._national_form import load_form_spec
    >>> spec = load_form_spec()
    >>> [c.code for c in spec.section("length_of_stay").categories]
    ['le1', '2', '3', '4', '5', 'gt5', 'not_discharged']
    >>> spec.section("sex").categories[2].label.nb
    'Kvinne'

    .. versionadded:: 0.2.0
    """
    path = spec_root() / FORM_FILE
    raw = _yaml.load(path)
    if not isinstance(raw, Mapping) or "sections" not in raw:
        raise _fail(path, "the form definition needs 'sections'", "skjemadefinisjonen må ha 'sections'")
    sections = tuple(_section(s, path) for s in raw["sections"])
    ids = [s.id for s in sections]
    if len(set(ids)) != len(ids) or "admissions" not in ids:
        raise _fail(path, "section ids must be unique and include 'admissions'",
                    "seksjonene må ha unike id-er og inkludere 'admissions'")
    levels = {str(lv["id"]): _text(lv.get("title"), path, f"level {lv.get('id')}") for lv in raw.get("levels", ())}
    if set(levels) != set(LEVELS):
        raise _fail(path, f"levels must be {LEVELS}", f"nivåene må være {LEVELS}")
    return FormSpec(
        id=str(raw["id"]), version=str(raw["version"]), title=_text(raw.get("title"), path, "title"),
        description=_text(raw.get("description"), path, "description"), levels=levels, sections=sections,
        attribution={str(k): _text(v, path, f"attribution.{k}") for k, v in (raw.get("attribution") or {}).items()},
        content_hash=hashlib.sha256(path.read_bytes()).hexdigest(),
    )


# ---------------------------------------------------------------------------------------------
# Computing the form
# ---------------------------------------------------------------------------------------------
def _np(a: pa.Array | pa.ChunkedArray) -> np.ndarray:
    return np.asarray(a.to_numpy(zero_copy_only=False))


def _chunk(a: pa.Array | pa.ChunkedArray) -> pa.Array:
    return a.combine_chunks() if isinstance(a, pa.ChunkedArray) else a


def _ms(col: pa.Array | pa.ChunkedArray) -> pa.Array:
    return _chunk(pc.cast(pc.cast(col, pa.timestamp("ms", tz="UTC")), pa.int64()))


def _day_number(col: pa.Array | pa.ChunkedArray) -> np.ndarray:
    """Days since 1970-01-01 of a date32 column (nulls as a far future day)."""
    return _np(pc.fill_null(pc.cast(col, pa.int32()), 2_932_896)).astype(np.int64)


def _coerce(stays: Any, units: Any) -> tuple[pa.Table, pa.Table, dict[str, int]]:
    """Tables that already have the schema are used as they are; anything else is validated together."""
    if stays is None or units is None:
        raise ValueError("national_form needs both stays= and units=")

    def typed(obj: Any, name: str) -> bool:
        return isinstance(obj, pa.Table) and obj.schema.remove_metadata().equals(
            arrow_schema(name).remove_metadata())

    if typed(stays, "stays") and typed(units, "units"):
        return stays, units, {"stays": 0, "units": 0}
    from ..validation import validate

    report = validate(stays=stays, units=units)
    return (report.valid, report.tables["units"],
            {k: int(s.rows_rejected) for k, s in report.summaries.items()})


def _unit_rows(stays: pa.Table, units: pa.Table, adm_date: pa.Array) -> np.ndarray:
    """Index of the unit row valid on each stay's admission date (else the unit's latest row; -1 unknown)."""
    n = stays.num_rows
    out = np.full(n, -1, dtype=np.int64)
    if n == 0 or units.num_rows == 0:
        return out
    far = pa.scalar(dt.date(9999, 1, 1), pa.date32())
    u = pa.table({"unit_id": units["unit_id"], "vf": units["valid_from"],
                  "vt": pc.fill_null(units["valid_to"], far), "r": pa.array(np.arange(units.num_rows))})
    probe = pa.table({"unit_id": stays["unit_id"], "d": adm_date, "i": pa.array(np.arange(n))})
    j = probe.join(u, keys="unit_id", join_type="inner")
    j = j.filter(pc.and_(pc.greater_equal(j["d"], j["vf"]), pc.less(j["d"], j["vt"])))
    j = j.sort_by([("i", "ascending"), ("r", "ascending")])  # deterministic if periods overlap
    out[_np(j["i"]).astype(np.int64)] = _np(j["r"]).astype(np.int64)
    if (out < 0).any():  # stays outside every period (only possible without validation): latest row
        order = units.append_column("r", pa.array(np.arange(units.num_rows))).sort_by(
            [("unit_id", "ascending"), ("valid_from", "descending")])
        uid = _chunk(order["unit_id"])
        first = np.ones(len(uid), dtype=bool)
        if len(uid) > 1:
            first[1:] = ~_np(pc.equal(uid.slice(1), uid.slice(0, len(uid) - 1))).astype(bool)
        latest = order.filter(pa.array(first))
        idx = _np(pc.fill_null(pc.index_in(stays["unit_id"], value_set=_chunk(latest["unit_id"])), -1))
        rows = _np(latest["r"]).astype(np.int64)
        fallback = np.where(idx >= 0, rows[np.clip(idx, 0, None)], -1)
        out = np.where(out < 0, fallback, out)
    return out


@attrs.frozen(kw_only=True)
class _Frame:
    """Per-stay derived columns (known units only), computed once."""

    stays: pa.Table
    unit_rows: pa.Table        # the unit row at admission of each stay
    adm_ms: np.ndarray
    end_ms: np.ndarray         # discharge, or as_of when not discharged by then
    completed: np.ndarray
    adm_year: np.ndarray
    municipality: pa.Array     # host municipality at admission
    unit_id: pa.Array


def _frame(stays: pa.Table, units: pa.Table, as_of_ms: int) -> tuple[_Frame, dict[str, int]]:
    """Derived columns of the stays that can be placed: a known unit, admitted before ``as_of``."""
    local = pc.local_timestamp(stays["admitted_at"])
    adm_date = _chunk(pc.cast(local, pa.date32()))
    rows = _unit_rows(stays, units, adm_date)
    adm_all = _np(pc.fill_null(_ms(stays["admitted_at"]), 0)).astype(np.int64)
    known = rows >= 0
    before = adm_all < as_of_ms
    excluded = {"unknown-unit": int((~known).sum()), "admitted-after-as-of": int((known & ~before).sum())}
    keep = known & before
    stays = stays.filter(pa.array(keep))
    rows = rows[keep]
    unit_rows = units.take(pa.array(rows, pa.int64()))
    adm = adm_all[keep]
    dis = _ms(stays["discharged_at"])
    completed = _np(pc.fill_null(pc.less_equal(dis, as_of_ms), False)).astype(bool)
    dis_np = _np(pc.fill_null(dis, as_of_ms)).astype(np.int64)
    end = np.where(completed, dis_np, as_of_ms)
    years = _np(pc.year(pc.local_timestamp(stays["admitted_at"]))).astype(np.int64) if stays.num_rows \
        else np.zeros(0, np.int64)
    return _Frame(stays=stays, unit_rows=unit_rows, adm_ms=adm, end_ms=end, completed=completed,
                  adm_year=years, municipality=_chunk(unit_rows["host_municipality"]),
                  unit_id=_chunk(stays["unit_id"])), excluded


def _residence(fr: _Frame, section: FormSection) -> np.ndarray:
    n = fr.stays.num_rows
    res = _chunk(fr.stays["municipality"])
    is_host = _np(pc.fill_null(pc.equal(res, fr.municipality), False)).astype(bool)
    served = _chunk(fr.unit_rows["municipalities"])
    flat = pc.list_flatten(served)
    parents = _np(pc.list_parent_indices(served)).astype(np.int64)
    match = _np(pc.fill_null(pc.equal(flat, pc.take(res, pa.array(parents, pa.int64()))), False)).astype(bool)
    in_served = np.bincount(parents[match], minlength=n)[:n] > 0
    missing = _np(pc.is_null(res)).astype(bool)
    out = np.where(is_host, section.index("host"),
                   np.where(in_served, section.index("cooperating"), section.index("other")))
    return np.where(missing, -1, out)


def _length_of_stay(fr: _Frame, section: FormSection) -> np.ndarray:
    bounds = np.array([c.max_days * MS_PER_DAY for c in section.categories
                       if c.role == "category" and c.max_days is not None], dtype=np.int64)
    los = np.maximum(fr.end_ms - fr.adm_ms, 0)
    # class k holds (bound[k-1], bound[k]]: "<= 1 day" includes 0 and exactly 24 hours
    return np.asarray(np.searchsorted(bounds, los, side="left"), dtype=np.int64)


def _mapped(values: pa.Array | pa.ChunkedArray, section: FormSection) -> np.ndarray:
    src: list[str] = []
    idx: list[int] = []
    for i, c in enumerate(section.categories):
        for s in c.sources:
            src.append(s)
            idx.append(i)
    if section.group == "chapter":
        values = pc.utf8_slice_codeunits(values, 0, 1)
    pos = pc.index_in(values, value_set=pa.array(src, pa.string()))
    cat = pc.take(pa.array(idx, pa.int64()), pos)
    return _np(pc.fill_null(cat, -1)).astype(np.int64)


def _categorise(fr: _Frame, section: FormSection) -> np.ndarray:
    """Index of each stay's category in ``section.categories`` (every stay gets exactly one)."""
    if section.derived == "residence":
        cat = _residence(fr, section)
    elif section.derived == "length_of_stay":
        cat = _length_of_stay(fr, section)
    elif section.age_bands:
        mins = np.array([b.min for b in load_schema().age_bands])
        age = _np(pc.fill_null(fr.stays["age"], -1)).astype(np.int64)
        cat = np.where(age >= 0, np.searchsorted(mins, age, side="right") - 1, -1)
    elif section.field is not None:
        cat = _mapped(fr.stays[section.field], section)
    elif section.unit_field is not None:
        cat = _mapped(fr.unit_rows[section.unit_field], section)
    else:  # pragma: no cover - rejected by the loader
        raise SpecError(f"section {section.id} has no source", f"seksjon {section.id} mangler kilde")
    nd = section.role("not_discharged")
    if nd is not None:
        cat = np.where(fr.completed, cat, nd)
    miss = section.role("missing")
    if miss is not None:
        cat = np.where(cat < 0, miss, cat)
    if (cat < 0).any():
        bad = sorted({str(v) for v in pc.take(fr.stays[section.field], pa.array(np.flatnonzero(cat < 0)))
                      .to_pylist()} if section.field else set())[:5]
        raise ValueError(f"national form, section {section.id}: values outside the code list {bad}; "
                         "validate the stays first (kadindicators.validate)")
    return cat


@attrs.define(kw_only=True)
class _Block:
    """The figures of one section at one level: arrays of shape (groups, categories)."""

    level: str
    section: FormSection
    count: np.ndarray | None = None     # int64, count sections
    value: np.ndarray | None = None     # float64, measures and capacity
    n: np.ndarray | None = None         # int64, stays behind each figure (the small-count rule)
    basis: np.ndarray | None = None     # float64, the figures in exact units (ms, days) for disclosure
    suppressed: np.ndarray | None = None
    reason: np.ndarray | None = None


def _groups(level: str, keys: pa.Table) -> pa.Table:
    """Distinct (municipality, unit_id) groups of a level, sorted; region is a single group."""
    if level == "region":
        return pa.table({"municipality": pa.nulls(1, pa.string()), "unit_id": pa.nulls(1, pa.string())})
    cols = ["municipality"] if level == "municipality" else ["municipality", "unit_id"]
    g = keys.select(cols).group_by(cols, use_threads=False).aggregate([]).sort_by([(c, "ascending") for c in cols])
    if level == "municipality":
        g = g.append_column("unit_id", pa.nulls(g.num_rows, pa.string()))
    return g.select(["municipality", "unit_id"])


def _group_index(level: str, municipality: pa.Array, unit_id: pa.Array, groups: pa.Table) -> np.ndarray:
    n = len(municipality)
    if level == "region":
        return np.zeros(n, dtype=np.int64)
    cols = ["municipality"] if level == "municipality" else ["municipality", "unit_id"]
    probe = pa.table({"municipality": municipality, "unit_id": unit_id, "i": pa.array(np.arange(n))}).select(
        [*cols, "i"])
    g = groups.select(cols).append_column("g", pa.array(np.arange(groups.num_rows)))
    j = probe.join(g, keys=cols, join_type="inner")
    out = np.full(n, -1, dtype=np.int64)
    out[_np(j["i"]).astype(np.int64)] = _np(j["g"]).astype(np.int64)
    return out


def _year_ms(year: int) -> tuple[int, int]:
    from ..indicators._context import local_midnight_ms

    lo, hi = local_midnight_ms([dt.date(year, 1, 1), dt.date(year + 1, 1, 1)])
    return int(lo), int(hi)


@attrs.frozen(kw_only=True)
class _Internal:
    """Everything ``national_form`` computed, before and after suppression (internal)."""

    public: pa.Table
    unsuppressed: pa.Table     # the same rows with every figure (never published)
    blocks: tuple[_Block, ...]
    groups: Mapping[str, pa.Table]
    equations: int


def _check_args(year: Any, level: Any, suppression: Any, lang: Any) -> tuple[int, tuple[str, ...]]:
    if isinstance(year, bool) or not isinstance(year, int | np.integer) or not 1900 <= int(year) <= 2200:
        raise ValueError(f"year must be a whole year such as 2024, got {year!r}")
    if isinstance(level, str):
        level = (level,)
    levels = tuple(level)
    bad = [lv for lv in levels if lv not in LEVELS]
    if bad or not levels or len(set(levels)) != len(levels):
        raise ValueError(f"level must name some of {LEVELS} once each, got {levels!r}")
    if isinstance(suppression, bool) or not isinstance(suppression, int | np.integer) or suppression < 1:
        raise ValueError("suppression must be a whole number of at least 1 (1 disables suppression)")
    if lang not in ("nb", "en"):
        raise ValueError(f"lang must be 'nb' or 'en', got {lang!r}")
    return int(year), tuple(lv for lv in LEVELS if lv in levels)


def _compute(*, stays: Any, units: Any, year: int, level: Sequence[str] | str = ("municipality", "unit"),
             suppression: int = 5, lang: str = "nb", as_of: Any = None) -> _Internal:
    from .. import disclosure
    from ..indicators import _as_of
    from ..indicators._engine import fingerprint

    year, levels = _check_args(year, level, suppression, lang)
    spec = load_form_spec()
    stays_t, units_t, rejected = _coerce(stays, units)
    when = _as_of(as_of, stays_t)
    as_of_ms = int(when.timestamp() * 1000)
    fr, excluded = _frame(stays_t, units_t, as_of_ms)
    y0, y1 = _year_ms(year)
    in_year_ms = np.clip(np.minimum(fr.end_ms, y1) - np.maximum(fr.adm_ms, y0), 0, None)
    admitted = fr.adm_year == year
    touches = admitted | (in_year_ms > 0)

    # unit rows overlapping the year (calendar days, half-open validity)
    d0 = (dt.date(year, 1, 1) - dt.date(1970, 1, 1)).days
    d1 = (dt.date(year + 1, 1, 1) - dt.date(1970, 1, 1)).days
    vf = _day_number(units_t["valid_from"])
    vt = _day_number(units_t["valid_to"])
    days = np.clip(np.minimum(vt, d1) - np.maximum(vf, d0), 0, None)
    rows_in = days > 0
    beds = _np(pc.fill_null(units_t["beds"], 0)).astype(np.int64)
    at_end = (vf <= d1 - 1) & (vt > d1 - 1)

    keys = pa.concat_tables([
        pa.table({"municipality": fr.municipality, "unit_id": fr.unit_id}).filter(pa.array(touches)),
        pa.table({"municipality": _chunk(units_t["host_municipality"]),
                  "unit_id": _chunk(units_t["unit_id"])}).filter(pa.array(rows_in)),
    ])
    cats = {s.id: _categorise(fr, s) for s in spec.sections if s.kind == "split"}
    los = spec.section("length_of_stay")
    weights = np.array([c.estimate_days or 0.0 for c in los.categories])
    groups: dict[str, pa.Table] = {}
    blocks: dict[tuple[str, str], _Block] = {}
    for lv in levels:
        g = _groups(lv, keys)
        groups[lv] = g
        G = g.num_rows
        gi = _group_index(lv, fr.municipality, fr.unit_id, g)
        ug = _group_index(lv, _chunk(units_t["host_municipality"]), _chunk(units_t["unit_id"]), g)
        sel = admitted & (gi >= 0)
        for s in spec.sections:
            C = len(s.categories)
            b = _Block(level=lv, section=s)
            if s.kind == "total":
                b.count = np.bincount(gi[sel], minlength=G).reshape(G, 1).astype(np.int64)
            elif s.kind == "split":
                b.count = np.bincount(gi[sel] * C + cats[s.id][sel], minlength=G * C).reshape(G, C).astype(np.int64)
            elif s.kind == "measure":
                done = sel & fr.completed
                pos = (in_year_ms > 0) & (gi >= 0)
                los_counts = np.bincount(gi[sel] * len(los.categories) + cats[los.id][sel],
                                         minlength=G * len(los.categories)).reshape(G, len(los.categories))
                est = (los_counts @ weights).astype(np.float64)
                in_ms = np.bincount(gi[pos], weights=in_year_ms[pos], minlength=G)
                adm_ms = np.bincount(gi[done], weights=(fr.end_ms - fr.adm_ms)[done], minlength=G)
                n_done = np.bincount(gi[done], minlength=G)
                by_code = {  # (value in days, basis for disclosure, stays behind it)
                    "in_year": (in_ms / MS_PER_DAY, in_ms, np.bincount(gi[pos], minlength=G)),
                    "admissions_exact": (adm_ms / MS_PER_DAY, adm_ms, n_done),
                    "admissions_estimated": (est, est, n_done),
                }
                b.value = np.column_stack([by_code[c.code][0] for c in s.categories]).astype(np.float64)
                b.basis = np.column_stack([by_code[c.code][1] for c in s.categories]).astype(np.float64)
                b.n = np.column_stack([by_code[c.code][2] for c in s.categories]).astype(np.int64)
            else:  # capacity, from the unit rows
                ok = rows_in & (ug >= 0)
                pairs = pa.table({"g": pa.array(ug[ok]), "u": _chunk(units_t["unit_id"]).filter(pa.array(ok))})
                distinct = pairs.group_by(["g", "u"], use_threads=False).aggregate([])
                by_cap = {
                    "units": np.bincount(_np(distinct["g"]).astype(np.int64), minlength=G).astype(np.float64),
                    "beds_mean": np.bincount(ug[ok], weights=(beds * days)[ok], minlength=G) / (d1 - d0),
                    "beds_end_of_year": np.bincount(ug[ok & at_end], weights=beds[ok & at_end], minlength=G),
                    "available_bed_days": np.bincount(ug[ok], weights=(beds * days)[ok], minlength=G),
                }
                b.value = np.column_stack([by_cap[c.code] for c in s.categories]).astype(np.float64)
            blocks[(lv, s.id)] = b

    _reconcile(spec, levels, blocks, groups)
    n_eq = _protect(spec, levels, blocks, groups, suppression, disclosure)
    unsuppressed, public = _assemble(spec, levels, blocks, groups, year, lang, _unit_names(units_t, rows_in))
    meta = {
        "kadindicators.version": __version__,
        "kadindicators.schema_version": load_schema().version,
        "kadindicators.form_id": spec.id,
        "kadindicators.form_version": spec.version,
        "kadindicators.form_hash": spec.content_hash,
        "kadindicators.input_fingerprint": fingerprint(stays_t, units_t),
        "kadindicators.as_of": when.isoformat(),
        "kadindicators.year": str(year),
        "kadindicators.levels": json.dumps(list(levels)),
        "kadindicators.suppression": str(int(suppression)),
        "kadindicators.lang": lang,
        "kadindicators.timezone": TIMEZONE,
        "kadindicators.rows_rejected": json.dumps(rejected, sort_keys=True),
        "kadindicators.excluded_by_reason": json.dumps(excluded, sort_keys=True),
        "kadindicators.reconciliation": json.dumps({"sums_checked": _n_sums(spec, levels, groups),
                                                    "failed": 0, "disclosure_equations": n_eq}),
    }
    return _Internal(public=public.replace_schema_metadata(meta),
                     unsuppressed=unsuppressed.replace_schema_metadata(meta),
                     blocks=tuple(blocks.values()), groups=groups, equations=n_eq)


def _hierarchy(levels: tuple[str, ...], groups: Mapping[str, pa.Table]) -> list[tuple[str, str, list[np.ndarray]]]:
    """(child level, parent level, children of each parent group) for every published pair of levels."""
    pairs = []
    if "unit" in levels and "municipality" in levels:
        pairs.append(("unit", "municipality"))
    if "municipality" in levels and "region" in levels:
        pairs.append(("municipality", "region"))
    if "unit" in levels and "region" in levels and "municipality" not in levels:
        pairs.append(("unit", "region"))
    out = []
    for child, parent in pairs:
        cg, pg = groups[child], groups[parent]
        pidx = _group_index(parent, _chunk(cg["municipality"]), _chunk(cg["unit_id"]), pg)
        order = np.argsort(pidx, kind="stable")
        bounds = np.searchsorted(pidx[order], np.arange(pg.num_rows + 1))
        out.append((child, parent, [order[bounds[p]:bounds[p + 1]] for p in range(pg.num_rows)]))
    return out


def _n_sums(spec: FormSpec, levels: tuple[str, ...], groups: Mapping[str, pa.Table]) -> int:
    splits = sum(1 for s in spec.sections if s.kind == "split")
    return int(sum(groups[lv].num_rows for lv in levels)) * splits


def _reconcile(spec: FormSpec, levels: tuple[str, ...], blocks: Mapping[tuple[str, str], _Block],
               groups: Mapping[str, pa.Table]) -> None:
    """Every split adds up to the total, and every level to the one above (on unsuppressed figures)."""
    for lv in levels:
        total = blocks[(lv, "admissions")].count
        assert total is not None
        for s in spec.sections:
            b = blocks[(lv, s.id)]
            if s.kind == "split":
                assert b.count is not None
                if not np.array_equal(b.count.sum(axis=1), total[:, 0]):
                    raise RuntimeError(f"national form: {lv}/{s.id} does not add up to the total")
    for child, parent, kids in _hierarchy(levels, groups):
        for s in spec.sections:
            c, p = blocks[(child, s.id)], blocks[(parent, s.id)]
            for name in ("count", "value", "n"):
                ca, pa_ = getattr(c, name), getattr(p, name)
                if ca is None:
                    continue
                sums = np.array([ca[k].sum(axis=0) for k in kids]).reshape(pa_.shape)
                if not np.allclose(sums, pa_, rtol=0, atol=1e-6):
                    raise RuntimeError(f"national form: {child} figures of {s.id} do not add up to {parent}")


def _protect(spec: FormSpec, levels: tuple[str, ...], blocks: Mapping[tuple[str, str], _Block],
             groups: Mapping[str, pa.Table], threshold: int, disclosure: Any) -> int:
    """Primary and complementary suppression, in two stages.

    Stage 1: the counts (the total and every split), with total = sum of the
    categories of every section and municipality = sum of its units (region =
    sum of municipalities) for every count. Stage 2: the bed-days, with the
    same hierarchy; the estimated bed-days are a weighted sum of the
    length-of-stay classes, so they are hidden (``secondary``) whenever a class
    with a weight is hidden in the same group; they then reveal nothing about
    the classes.
    """
    hier = _hierarchy(levels, groups)
    los = spec.section("length_of_stay")
    weighted = np.array([bool(c.estimate_days) for c in los.categories])
    est = ("bed_days", "admissions_estimated")
    n_eq = 0
    for b in blocks.values():
        shape = (groups[b.level].num_rows, len(b.section.categories))
        b.suppressed = np.zeros(shape, dtype=bool)  # capacity is not about persons: never suppressed
        b.reason = np.full(shape, None, dtype=object)
    for kinds in (COUNT_KINDS, ("measure",)):
        members = [(lv, s.id, c.code) for lv in levels for s in spec.sections if s.kind in kinds
                   for c in s.categories]
        if not members:
            continue
        base: dict[tuple[str, str, str], int] = {}
        basis, primary, derived = [], [], []
        size = 0
        for lv, sid, code in members:
            base[(lv, sid, code)] = size
            b = blocks[(lv, sid)]
            j = b.section.index(code)
            G = groups[lv].num_rows
            size += G
            if b.count is not None:
                v = b.count[:, j].astype(np.float64)
                basis.append(v)
                primary.append((v >= 1) & (v < threshold))
            else:
                assert b.basis is not None and b.n is not None
                basis.append(b.basis[:, j])
                primary.append((b.n[:, j] >= 1) & (b.n[:, j] < threshold))
            hit = np.zeros(G, dtype=bool)
            if (sid, code) == est:
                los_sup = blocks[(lv, los.id)].suppressed
                assert los_sup is not None
                hit = (los_sup & weighted).any(axis=1)
            derived.append(hit)
        equations: list[Mapping[int, int]] = []
        if kinds == COUNT_KINDS:
            # finest level first: the heuristic closes the first open equation first, and a unit's
            # own categories are better complements than a municipality's (all of which are sums)
            for lv in reversed(levels):
                tot = base[(lv, "admissions", "total")]
                for s in spec.sections:
                    if s.kind != "split":
                        continue
                    for g in range(groups[lv].num_rows):
                        equations.append(disclosure.margin(
                            tot + g, [base[(lv, s.id, c.code)] + g for c in s.categories]))
        for child, parent, kids in hier:
            for lv, sid, code in members:
                if lv != parent:
                    continue
                cb, pb = base[(child, sid, code)], base[(parent, sid, code)]
                for p, k in enumerate(kids):
                    equations.append(disclosure.margin(pb + p, [int(cb + kk) for kk in k]))
        prim, der = np.concatenate(primary), np.concatenate(derived)
        prot = disclosure.protect(np.concatenate(basis), equations, threshold=threshold, primary=prim | der)
        suppressed = np.asarray(prot.suppressed, dtype=bool)
        reason = np.asarray(prot.reason, dtype=object)
        reason[der & ~prim & suppressed] = "secondary"
        if np.asarray(prot.exposed).any():  # the marks alone would pin a count: one mark for all
            reason[suppressed] = "masked"
        for lv, sid, code in members:
            b = blocks[(lv, sid)]
            assert b.suppressed is not None and b.reason is not None
            j, o, G = b.section.index(code), base[(lv, sid, code)], groups[lv].num_rows
            b.suppressed[:, j] = suppressed[o:o + G]
            b.reason[:, j] = reason[o:o + G]
        n_eq += len(equations)
    return n_eq


def _assemble(spec: FormSpec, levels: tuple[str, ...], blocks: Mapping[tuple[str, str], _Block],
              groups: Mapping[str, pa.Table], year: int, lang: str,
              unit_names: pa.Table) -> tuple[pa.Table, pa.Table]:
    """The tidy tables: every figure (internal) and the published one (suppressed cells empty)."""
    mun_list = load_schema().codelists["municipality"]
    mun_names = {c.code: c.label.get(lang) for c in mun_list.codes}
    parts_all, parts_pub = [], []
    for lv in levels:
        g = groups[lv]
        G = g.num_rows
        muni = g["municipality"].to_pylist()
        mun_name = pa.array([mun_names.get(m) if m is not None else None for m in muni], pa.string())
        for s in spec.sections:
            b = blocks[(lv, s.id)]
            C = len(s.categories)
            gi = np.repeat(np.arange(G), C)
            ci = np.tile(np.arange(C), G)
            take = pa.array(gi, pa.int64())
            count = pa.array(b.count.ravel(), pa.int64()) if b.count is not None else pa.nulls(G * C, pa.int64())
            value = pa.array(b.value.ravel(), pa.float64()) if b.value is not None \
                else pa.nulls(G * C, pa.float64())
            assert b.suppressed is not None and b.reason is not None
            sup = pa.array(b.suppressed.ravel(), pa.bool_())
            cols = {
                "year": pa.array(np.full(G * C, year, dtype=np.int32)),
                "level": pa.array([lv] * (G * C), pa.string()),
                "municipality": pc.take(_chunk(g["municipality"]), take),
                "municipality_name": pc.take(mun_name, take),
                "unit_id": pc.take(_chunk(g["unit_id"]), take),
                "unit_name": pa.nulls(G * C, pa.string()),
                "section": pa.array([s.id] * (G * C), pa.string()),
                "section_label": pa.array([s.title.get(lang)] * (G * C), pa.string()),
                "category": pc.take(pa.array([c.code for c in s.categories], pa.string()), pa.array(ci)),
                "label": pc.take(pa.array([c.label.get(lang) for c in s.categories], pa.string()), pa.array(ci)),
                "unit_of_measure": pc.take(pa.array([c.unit_of_measure for c in s.categories], pa.string()),
                                           pa.array(ci)),
                "count": count,
                "value": value,
                "suppressed": sup,
                "reason": pa.array(b.reason.ravel().tolist(), pa.string()),
            }
            full = pa.table(cols, schema=FORM_COLUMNS)
            parts_all.append(full)
            parts_pub.append(full.set_column(FORM_COLUMNS.get_field_index("count"), "count",
                                             pc.if_else(sup, pa.nulls(G * C, pa.int64()), count))
                             .set_column(FORM_COLUMNS.get_field_index("value"), "value",
                                         pc.if_else(sup, pa.nulls(G * C, pa.float64()), value)))
    return _named(pa.concat_tables(parts_all), unit_names), _named(pa.concat_tables(parts_pub), unit_names)


def _unit_names(units: pa.Table, rows_in: np.ndarray) -> pa.Table:
    """The name of each unit: from its latest row overlapping the year, else its latest row."""
    t = pa.table({"unit_id": units["unit_id"], "name": units["name"], "in": pa.array(rows_in, pa.bool_()),
                  "vf": units["valid_from"]})
    t = t.sort_by([("unit_id", "ascending"), ("in", "descending"), ("vf", "descending")])
    uid = _chunk(t["unit_id"])
    first = np.ones(len(uid), dtype=bool)
    if len(uid) > 1:
        first[1:] = ~_np(pc.equal(uid.slice(1), uid.slice(0, len(uid) - 1))).astype(bool)
    return t.filter(pa.array(first)).select(["unit_id", "name"])


def _named(table: pa.Table, unit_names: pa.Table) -> pa.Table:
    pos = pc.index_in(table["unit_id"], value_set=_chunk(unit_names["unit_id"]))
    names = pc.take(_chunk(unit_names["name"]), pos)
    return table.set_column(FORM_COLUMNS.get_field_index("unit_name"), "unit_name", names)


def national_form(*, stays: Any, units: Any, year: int,
                  level: Sequence[str] | str = ("municipality", "unit"), suppression: int = 5,
                  lang: str = "nb", as_of: dt.datetime | dt.date | str | None = None) -> pa.Table:
    """The aggregates of the national annual ØHD form for one year, as a tidy table.

    Every figure is derived from stays and units as defined in
    ``spec/national-form.yaml``: beds, admissions (in total and by residence,
    sex, age, care track, length of stay, ICPC-2 chapter, admitted from,
    discharged to and the unit's location) and bed-days (exact from the
    timestamps, and estimated from the length-of-stay classes as the form does).
    Admissions belong to the year of their local (Europe/Oslo) admission date;
    bed-days in the year count the part of every stay inside the year.

    Parameters
    ----------
    stays, units : path or table-like
        The stays and the units (validity periods, beds, host municipality).
        Tables that already have the schema (``kad.arrow_schema``), such as
        ``report.valid`` and ``report.tables["units"]`` of
        :func:`kadindicators.validate`, are used as they are; anything else is
        validated first and only the accepted rows are used (the number of
        rejected rows is in the metadata).
    year : int
        The reporting year.
    level : sequence of {"region", "municipality", "unit"}
        The levels to report: ``municipality`` is the unit's host municipality
        on the admission date; ``unit`` is a unit within its host municipality.
    suppression : int, default 5
        Counts from 1 to ``suppression - 1`` are hidden (``reason`` ``low_n``)
        and so are the cells that would reveal them (``secondary``); 1 disables
        suppression.
    lang : {"nb", "en"}
        Language of ``section_label`` and ``label``.
    as_of : datetime, date or ISO string, optional
        The time of the extract: stays discharged later count as not discharged,
        and bed-days of open stays run to it. Default: the latest timestamp in
        the data, rounded up to the next local midnight.

    Returns
    -------
    pyarrow.Table
        One row per level × group × section × category with the columns
        ``FORM_COLUMNS``: ``year``, ``level``, ``municipality``,
        ``municipality_name``, ``unit_id``, ``unit_name``, ``section``,
        ``section_label``, ``category``, ``label``, ``unit_of_measure``,
        ``count`` (number of stays, for the count sections), ``value`` (bed-days,
        beds or units, for the other sections), ``suppressed`` and ``reason``.
        Suppressed cells have empty ``count`` and ``value``. ``reason`` tells
        small counts (``low_n``) from their complements (``secondary``); keep it
        out of anything published (``write_national_form`` does), since
        knowing which hidden cells lie between 1 and the threshold can pin them
        down through the totals. Provenance (library,
        schema and form versions, data fingerprint, ``as_of``, threshold,
        rejected rows, reconciliation) is in the schema metadata.

    Raises
    ------
    ValueError
        For an invalid ``year``, ``level``, ``suppression`` or ``lang``.
    RuntimeError
        If the figures do not reconcile (a bug: categories always add up to the
        total, and units to their municipality).

    Examples
    --------
    >>> import pyarrow.compute as pc
    >>> import kadindicators as kad
    >>> from kadindicators.reports import national_form
    >>> region = kad.synth.generate(years=(2024,), seed=1, scale=0.1)
    >>> form = national_form(stays=region.stays, units=region.units, year=2024, level=("region",))
    >>> total = form.filter(pc.equal(form["category"], "total"))
    >>> total["count"].to_pylist() == [region.stays.num_rows]
    True
    >>> sex = form.filter(pc.equal(form["section"], "sex"))
    >>> sex["label"].to_pylist()
    ['Ikke kjent', 'Mann', 'Kvinne', 'Ikke spesifisert']

    .. versionadded:: 0.2.0
    """
    return _compute(stays=stays, units=units, year=year, level=level, suppression=suppression, lang=lang,
                    as_of=as_of).public


# ---------------------------------------------------------------------------------------------
# Writers
# ---------------------------------------------------------------------------------------------
def _t(lang: str, nb: str, en: str) -> str:
    return en if lang == "en" else nb


def _meta(form: pa.Table) -> dict[str, str]:
    return {k.decode(): v.decode() for k, v in (form.schema.metadata or {}).items()}


HIDDEN = ":"  # Statistics Norway's symbol for "not shown for confidentiality"


def _display(row: Mapping[str, Any]) -> Any:
    """What a reader sees in a cell: the figure, or one mark for every hidden cell.

    Small counts and their complements get the same mark on purpose: a reader
    who could tell them apart would know that some hidden cells lie between 1
    and the threshold minus 1, and the totals could then pin them down.
    """
    if row["suppressed"]:
        return HIDDEN
    if row["count"] is not None:
        return int(row["count"])
    v = row["value"]
    if v is None:
        return None
    return int(v) if float(v).is_integer() else round(float(v), 1)


def write_national_form(form: pa.Table, path: str | os.PathLike[str], *, lang: str | None = None) -> Path:
    """Write the national form as an Excel workbook (``.xlsx``) or as CSV (``.csv``).

    The workbook has one sheet per level in the form's layout (sections and
    categories as rows, municipalities or units as columns), a reconciliation
    sheet (``Avstemming`` / ``Reconciliation``) showing for every section that
    its categories add up to the total, and ``Om`` / ``About`` with the
    provenance and the definitions. The CSV is the tidy table without
    ``reason`` and with a ``display`` column. Every hidden cell shows as ``:``
    (Statistics Norway's mark for "not shown for confidentiality"): small
    counts and their complements look the same, so a reader cannot narrow the
    small ones down to between 1 and the threshold. Text that a spreadsheet
    could run as a formula is neutralised.

    Parameters
    ----------
    form : pyarrow.Table
        The table returned by ``national_form``.
    path : path
        Output file; the suffix chooses the format.
    lang : {"nb", "en"}, optional
        Language of the sheet names and headings (default: the table's).

    Returns
    -------
    pathlib.Path
        The file written.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> import kadindicators as kad
    >>> from kadindicators.reports import national_form, write_national_form
    >>> region = kad.synth.generate(years=(2024,), seed=1, scale=0.1)
    >>> form = national_form(stays=region.stays, units=region.units, year=2024)
    >>> out = write_national_form(form, pathlib.Path(tempfile.mkdtemp()) / "form.xlsx")
    >>> import openpyxl
    >>> openpyxl.load_workbook(out).sheetnames
    ['Kommune', 'Enhet', 'Avstemming', 'Om']

    .. versionadded:: 0.2.0
    """
    out = Path(path)
    meta = _meta(form)
    lang = lang or meta.get("kadindicators.lang", "nb")
    if lang not in ("nb", "en"):
        raise ValueError(f"lang must be 'nb' or 'en', got {lang!r}")
    suffix = out.suffix.lower()
    if suffix not in (".xlsx", ".csv"):
        raise ValueError(f"the national form is written as .xlsx or .csv, not {out.name!r}")
    threshold = int(meta.get("kadindicators.suppression", "5"))
    out.parent.mkdir(parents=True, exist_ok=True)
    if suffix == ".csv":
        from ..cli._common import write_safe_csv

        shown = [_display(r) for r in form.select(["suppressed", "count", "value"]).to_pylist()]
        table = form.drop_columns(["reason"]).append_column(
            "display", pa.array([None if v is None else str(v) for v in shown], pa.string()))
        write_safe_csv(table, out)
    else:
        _write_xlsx(form, out, lang, meta, threshold)
    return out


def _write_xlsx(form: pa.Table, out: Path, lang: str, meta: Mapping[str, str], threshold: int) -> None:
    from openpyxl import Workbook
    from openpyxl.styles import Alignment, Font
    from openpyxl.utils import get_column_letter

    from ..cli._common import neutralise

    spec = load_form_spec()
    bold = Font(bold=True)
    year = meta.get("kadindicators.year", "")
    levels = [lv for lv in json.loads(meta.get("kadindicators.levels", "[]")) if lv in LEVELS]
    rows = form.to_pylist()
    cells: dict[str, dict[tuple[str | None, str | None], dict[tuple[str, str], dict[str, Any]]]] = {}
    for r in rows:
        cells.setdefault(r["level"], {}).setdefault((r["municipality"], r["unit_id"]), {})[
            (r["section"], r["category"])] = r
    legend = _t(lang,
                f"«{HIDDEN}» = vises ikke av personvernhensyn: tall fra 1 til {threshold - 1}, og tall som er "
                "skjult for at de ikke skal kunne regnes ut. * = kategoriene er ikke bekreftet i skjemaet "
                "(se «Om»).",
                f"'{HIDDEN}' = not shown to protect privacy: counts from 1 to {threshold - 1}, and figures "
                "hidden so that those cannot be worked out. * = the categories are not confirmed on the form "
                "(see 'About').")
    if threshold <= 1:
        legend = _t(lang, "Ingen tall er skjult (terskel 1).", "No figures are hidden (threshold 1).")
    sheet_names = {"region": _t(lang, "Region", "Region"), "municipality": _t(lang, "Kommune", "Municipality"),
                   "unit": _t(lang, "Enhet", "Unit")}
    wb = Workbook()
    wb.remove(wb.active)

    def put(ws: Any, row: int, col: int, value: Any, *, font: Font | None = None, fmt: str | None = None) -> None:
        c = ws.cell(row=row, column=col, value=neutralise(value))
        if font is not None:
            c.font = font
        if fmt is not None:
            c.number_format = fmt

    for lv in levels:
        ws = wb.create_sheet(sheet_names[lv])
        groups = list(cells.get(lv, {}))
        put(ws, 1, 1, f"{spec.title.get(lang)} {year}", font=Font(bold=True, size=13))
        put(ws, 2, 1, legend)
        r = 4
        if lv == "municipality":
            heads = [(_t(lang, "Kommunenummer", "Municipality number"), [g[0] for g in groups]),
                     (_t(lang, "Kommune", "Municipality"),
                      [cells[lv][g][("admissions", "total")]["municipality_name"] for g in groups])]
        elif lv == "unit":
            heads = [(_t(lang, "Enhet-ID", "Unit id"), [g[1] for g in groups]),
                     (_t(lang, "Enhet", "Unit"), [cells[lv][g][("admissions", "total")]["unit_name"] for g in groups]),
                     (_t(lang, "Vertskommune", "Host municipality"),
                      [f"{g[0]} {cells[lv][g][('admissions', 'total')]['municipality_name'] or ''}".strip()
                       for g in groups])]
        else:
            heads = [(spec.levels["region"].get(lang), [_t(lang, "Alle enheter", "All units")])]
        for title, values in heads:
            put(ws, r, 1, title, font=bold)
            for j, v in enumerate(values):
                put(ws, r, 3 + j, v, font=bold)
            r += 1
        put(ws, r, 2, _t(lang, "Kode", "Code"), font=bold)
        r += 1
        for s in spec.sections:
            r += 1
            put(ws, r, 1, s.title.get(lang) + ("" if s.confirmed else " *"), font=bold)
            r += 1
            for c in s.categories:
                put(ws, r, 1, c.label.get(lang))
                put(ws, r, 2, c.code)
                for j, g in enumerate(groups):
                    cell = cells[lv][g].get((s.id, c.code))
                    if cell is None:
                        continue
                    v = _display(cell)
                    put(ws, r, 3 + j, v, fmt="0.0" if isinstance(v, float) else None)
                r += 1
            if s.kind == "split":
                put(ws, r, 1, _t(lang, "Sum (= innleggelser i alt)", "Sum (= admissions in total)"), font=bold)
                for j, g in enumerate(groups):
                    put(ws, r, 3 + j, _display(cells[lv][g][("admissions", "total")]), font=bold)
                r += 1
        ws.column_dimensions["A"].width = 58
        ws.column_dimensions["B"].width = 16
        for j in range(len(groups)):
            ws.column_dimensions[get_column_letter(3 + j)].width = 14
        ws.freeze_panes = ws.cell(row=4 + len(heads) + 1, column=3)

    _reconciliation_sheet(wb, cells, levels, spec, lang, threshold, meta, put, bold, sheet_names)
    _about_sheet(wb, spec, lang, meta, threshold, put, bold, Alignment)
    wb.save(out)


def _reconciliation_sheet(wb: Any, cells: Mapping[str, Any], levels: Sequence[str], spec: FormSpec, lang: str,
                          threshold: int, meta: Mapping[str, str], put: Any, bold: Any,
                          sheet_names: Mapping[str, str]) -> None:
    ws = wb.create_sheet(_t(lang, "Avstemming", "Reconciliation"))
    rec = json.loads(meta.get("kadindicators.reconciliation", "{}"))
    put(ws, 1, 1, _t(lang, "Avstemming: kategoriene i hver seksjon summerer til innleggelser i alt",
                     "Reconciliation: the categories of every section add up to the admissions in total"),
        font=bold)
    put(ws, 2, 1, _t(lang,
                     f"Kontrollert på de uskjulte tallene før skjuling: {rec.get('sums_checked', '?')} summer, "
                     f"{rec.get('failed', '?')} avvik; enhetene summerer også til kommunen. Skjulte celler "
                     "vises ikke her heller.",
                     f"Checked on the unsuppressed figures before suppression: {rec.get('sums_checked', '?')} "
                     f"sums, {rec.get('failed', '?')} differences; the units also add up to the municipality. "
                     "Hidden cells are not shown here either."))
    head = [_t(lang, "Nivå", "Level"), _t(lang, "Kommune", "Municipality"), _t(lang, "Enhet", "Unit"),
            _t(lang, "Seksjon", "Section"), _t(lang, "Innleggelser i alt", "Admissions in total"),
            _t(lang, "Sum av viste kategorier", "Sum of the categories shown"),
            _t(lang, "Skjulte kategorier", "Hidden categories"), _t(lang, "Stemmer", "Adds up")]
    for j, h in enumerate(head):
        put(ws, 4, 1 + j, h, font=bold)
    r = 5
    for lv in levels:
        for g, by_cell in cells.get(lv, {}).items():
            total = by_cell[("admissions", "total")]
            for s in spec.sections:
                if s.kind != "split":
                    continue
                parts = [by_cell[(s.id, c.code)] for c in s.categories]
                shown = sum(int(p["count"]) for p in parts if not p["suppressed"])
                hidden = [p["label"] for p in parts if p["suppressed"]]
                if hidden:
                    ok = _t(lang, "ja (kontrollert på uskjulte tall)", "yes (checked on the unsuppressed figures)")
                elif not total["suppressed"] and shown == total["count"]:
                    ok = _t(lang, "ja", "yes")
                else:
                    ok = _t(lang, "ja (kontrollert på uskjulte tall)", "yes (checked on the unsuppressed figures)") \
                        if total["suppressed"] else _t(lang, "NEI", "NO")
                values = [sheet_names[lv], f"{g[0] or ''} {total['municipality_name'] or ''}".strip(),
                          f"{g[1] or ''} {total['unit_name'] or ''}".strip(), s.title.get(lang),
                          _display(total), shown, ", ".join(hidden), ok]
                for j, v in enumerate(values):
                    put(ws, r, 1 + j, v)
                r += 1
    for j, w in enumerate((12, 28, 44, 48, 18, 22, 40, 34)):
        ws.column_dimensions[chr(ord("A") + j)].width = w
    ws.freeze_panes = "A5"


def _about_sheet(wb: Any, spec: FormSpec, lang: str, meta: Mapping[str, str], threshold: int, put: Any,
                 bold: Any, alignment: Any) -> None:
    ws = wb.create_sheet(_t(lang, "Om", "About"))
    rejected = json.loads(meta.get("kadindicators.rows_rejected", "{}"))
    excluded = json.loads(meta.get("kadindicators.excluded_by_reason", "{}"))
    rows = [
        (_t(lang, "Skjema", "Form"), spec.title.get(lang)),
        (_t(lang, "År", "Year"), meta.get("kadindicators.year", "")),
        (_t(lang, "Skjemadefinisjon", "Form definition"),
         f"{meta.get('kadindicators.form_id', spec.id)} {meta.get('kadindicators.form_version', spec.version)}"
         + f" (spec/national-form.yaml, sha256 {meta.get('kadindicators.form_hash', '')[:16]}…)"),
        (_t(lang, "Bibliotek", "Library"), f"kadindicators {meta.get('kadindicators.version', '')}"),
        (_t(lang, "Rapporteringsskjema (versjon)", "Reporting schema (version)"),
         meta.get("kadindicators.schema_version", "")),
        (_t(lang, "Datafingeravtrykk (SHA-256 av inndata)", "Data fingerprint (SHA-256 of the inputs)"),
         meta.get("kadindicators.input_fingerprint", "")),
        (_t(lang, "Uttrekkstidspunkt (as_of)", "Extract time (as_of)"), meta.get("kadindicators.as_of", "")),
        (_t(lang, "Tidssone", "Time zone"), meta.get("kadindicators.timezone", "")),
        (_t(lang, "Terskel for små tall", "Small-count threshold"),
         _t(lang, f"{threshold}: tall fra 1 til {threshold - 1} vises ikke, og andre celler skjules så de "
                  f"ikke kan regnes ut; alle skjulte celler vises som «{HIDDEN}»",
            f"{threshold}: counts from 1 to {threshold - 1} are not shown, and other cells are hidden so "
            f"they cannot be worked out; every hidden cell shows as '{HIDDEN}'")),
        (_t(lang, "Avviste rader ved validering", "Rows rejected by validation"),
         ", ".join(f"{k}: {v}" for k, v in sorted(rejected.items())) or "-"),
        (_t(lang, "Utelatte opphold", "Stays left out"),
         ", ".join(f"{k}: {v}" for k, v in sorted(excluded.items())) or "-"),
        (_t(lang, "Periode", "Period"), " ".join(a.get(lang) for a in spec.attribution.values())),
    ]
    put(ws, 1, 1, _t(lang, "Om skjemaet", "About the form"), font=bold)
    r = 3
    for k, v in rows:
        put(ws, r, 1, k, font=bold)
        put(ws, r, 2, str(v))
        ws.cell(row=r, column=2).alignment = alignment(wrap_text=True, vertical="top")
        r += 1
    r += 1
    for j, h in enumerate((_t(lang, "Seksjon", "Section"), _t(lang, "Definisjon", "Definition"),
                           _t(lang, "Bekreftet i skjemaet", "Confirmed on the form"),
                           _t(lang, "Merknad", "Note"))):
        put(ws, r, 1 + j, h, font=bold)
    r += 1
    for s in spec.sections:
        for j, v in enumerate((s.title.get(lang), s.definition.get(lang),
                               _t(lang, "ja", "yes") if s.confirmed else _t(lang, "nei", "no"),
                               s.note.get(lang) if s.note else "")):
            put(ws, r, 1 + j, v)
            ws.cell(row=r, column=1 + j).alignment = alignment(wrap_text=True, vertical="top")
        r += 1
    ws.column_dimensions["A"].width = 40
    ws.column_dimensions["B"].width = 100
    ws.column_dimensions["C"].width = 14
    ws.column_dimensions["D"].width = 80
