"""Experience indicators: KAD-E01 … KAD-E05 (patient- and professional-reported experience).

The counted unit is a **questionnaire** (one ``response_id``: one respondent about one
stay, table ``experience``), not a stay: a stay may have several questionnaires (the
patient's, a next of kin's, the referring doctor's, the follow-up staff's) or none. A
questionnaire belongs to its stay's admission period and to the stay's unit,
municipality, host municipality, sex, age band, care track and admission source; the
strata ``respondent`` and ``item`` come from the questionnaire and its answers.

- KAD-E01 response rate: answered / sent questionnaires (every respondent type).
- KAD-E02 / KAD-E04 experience score of patients and next of kin / of the professionals:
  the mean over answered questionnaires of each questionnaire's mean score over its
  answered items with ``in_score: true`` in the code list ``experience_item``; with the
  stratum ``item``, each item's mean over the questionnaires that answered it.
- KAD-E03 / KAD-E05: share of questionnaires rating the stay good or very good (the
  code list's ``overall`` item, score 4-5) among those that answered that item.

Which respondents each indicator covers is read from its spec (the ``respondent`` values
of its population clause), the items and their attributes from the code list, and the
scores that count as good from the numerator clause of KAD-E03 / KAD-E05: nothing of the
definition is written again here.

Questionnaires about a stay that is not among ``ctx.stays`` are outside every
indicator's population and are not counted at all (validation rejects them with
``experience-stay-unknown``; in :func:`kadindicators.compute_partials` they belong to
another partition). The exclusion counts (``excluded_by_reason``) and the counted units
in the metadata (``stays_counted``) count questionnaires of the indicator's population.

Means are summed exactly: a questionnaire's mean over ``k`` items is stored as the
integer ``sum * L / k`` with ``L`` the least common multiple of ``1..K`` (``K`` the
largest number of scored items one respondent type of the indicator is asked: 840 for
KAD-E02, 6 for KAD-E04), and each cell's integer sum is multiplied by ``1 / L`` once, so
results do not depend on row order or partitioning (the one multiplication may leave the
last binary digit off: a single questionnaire scoring 5 shows 5.000000000000001).

The work is done with integer codes and numpy (``np.unique``, ``np.bincount``,
``np.maximum.at``) and Arrow's ``index_in``/``take``: no joins (each Acero join costs
milliseconds of fixed overhead, five indicators need many) and no loops over rows.

.. versionadded:: 0.2.0
"""

from __future__ import annotations

import functools
import math
from collections.abc import Mapping

import attrs
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from ..spec.indicators import load_indicators
from ..spec.loader import load_schema
from ._context import Contributions, StayContext, _to_np
from ._registry import indicator

__all__ = ["QUESTIONNAIRE_INDICATORS", "explain_questionnaires"]

OWN_DIMENSIONS = ("respondent", "item")
"""Strata that come from the questionnaire (``respondent``) or its answers (``item``)."""


# -- what the spec and the code list say -----------------------------------------------


def _uses(indicator_id: str, clause: str, field: str) -> tuple[object, ...] | None:
    """The ``values`` of the ``experience.<field>`` reference in a clause of the spec (None: no values)."""
    raw = load_indicators()[indicator_id].raw
    for use in raw[clause].get("uses", ()) or ():
        if use.get("table") == "experience" and use.get("field") == field:
            values = use.get("values")
            return tuple(values) if values else None
    raise LookupError(f"{indicator_id}: the {clause} clause does not name experience.{field}")


@functools.cache
def _respondents(indicator_id: str) -> tuple[str, ...]:
    """Respondent codes of the indicator's population (every code when the spec lists none)."""
    values = _uses(indicator_id, "population", "respondent")
    if values is None:
        return tuple(load_schema().codelists["experience_respondent"].values)
    return tuple(str(v) for v in values)


@functools.cache
def _good_scores(indicator_id: str) -> tuple[int, ...]:
    """Scores of the overall rating that count in the numerator (KAD-E03, KAD-E05)."""
    values = _uses(indicator_id, "numerator", "score")
    if not values:
        raise LookupError(f"{indicator_id}: the numerator clause lists no experience.score values")
    return tuple(int(str(v)) for v in values)


@functools.cache
def _item_pairs(respondents: tuple[str, ...], attribute: str) -> pa.Table:
    """``(item, respondent)`` pairs: items with ``attribute: true`` in the code list, asked of these respondents."""
    items, whom = [], []
    for code in load_schema().codelists["experience_item"].codes:
        if code.attributes.get(attribute) is not True:
            continue
        for r in code.attributes.get("respondents", ()) or ():
            if str(r) in respondents:
                items.append(code.code)
                whom.append(str(r))
    return pa.table({"item": pa.array(items, pa.string()), "respondent": pa.array(whom, pa.string())})


@functools.cache
def _asked(respondents: tuple[str, ...], attribute: str) -> tuple[pa.Array, np.ndarray]:
    """Every item code, and whether it (row) counts for each respondent (column) under ``attribute``."""
    codes = load_schema().codelists["experience_item"].values
    pairs = _item_pairs(respondents, attribute).to_pylist()
    matrix = np.zeros((len(codes), len(respondents)), dtype=bool)
    for p in pairs:
        matrix[codes.index(p["item"]), respondents.index(p["respondent"])] = True
    return pa.array(codes, pa.string()), matrix


@functools.cache
def _mean_multiplier(respondents: tuple[str, ...]) -> int:
    """``lcm(1..K)``: K the largest number of scored items one respondent type is asked."""
    per = _asked(respondents, "in_score")[1].sum(axis=0)
    return math.lcm(*range(1, int(max([1, *per.tolist()])) + 1))


# -- the questionnaires and their answers -------------------------------------------------


def _arr(col: pa.Array | pa.ChunkedArray) -> pa.Array:
    return col.combine_chunks() if isinstance(col, pa.ChunkedArray) else col


def _codes(col: pa.Array | pa.ChunkedArray) -> tuple[np.ndarray, pa.Array]:
    """Integer codes (0..k-1) of a column without nulls, and the k distinct values."""
    enc = pc.dictionary_encode(_arr(col))
    return np.asarray(_to_np(enc.indices), dtype=np.int64), enc.dictionary


@attrs.frozen(kw_only=True)
class _Forms:
    """Questionnaires of some respondents about stays in ``ctx.stays``, with their answer rows.

    A questionnaire is one ``(response_id, stay_id, respondent)`` (validation guarantees one
    stay and respondent per id); it is answered when any of its rows says so. ``forms`` has
    ``response_id``, ``respondent`` and ``row`` (the stay). The answers are the rows of
    answered questionnaires whose item counts for their respondent: ``a_form`` (index into
    ``forms``), ``a_item`` and ``a_score`` (-1 when empty).
    """

    forms: pa.Table
    responded: np.ndarray
    a_form: np.ndarray
    a_item: pa.Array
    a_score: np.ndarray

    @property
    def n(self) -> int:
        return int(self.forms.num_rows)


def _forms(ctx: StayContext, respondents: tuple[str, ...], attribute: str | None) -> _Forms:
    """The questionnaires of ``respondents`` and (for ``attribute``) their counted answers."""
    exp = ctx.experience
    assert exp is not None
    who = pa.array(respondents, pa.string())
    exp = exp.filter(pc.is_in(exp["respondent"], value_set=who))
    n = exp.num_rows
    if n == 0:
        empty = np.zeros(0, dtype=np.int64)
        forms = pa.table({"response_id": pa.array([], pa.string()), "respondent": pa.array([], pa.string()),
                          "row": pa.array([], pa.int64())})
        return _Forms(forms=forms, responded=empty.astype(bool), a_form=empty, a_item=pa.array([], pa.string()),
                      a_score=empty)
    rid, rid_values = _codes(exp["response_id"])
    sid, sid_values = _codes(exp["stay_id"])
    resp = np.asarray(_to_np(pc.index_in(exp["respondent"], value_set=who)), dtype=np.int64)
    k = len(respondents)
    key = rid * (len(sid_values) * k) + sid * k + resp  # one integer per (response_id, stay_id, respondent)
    _, first, form = np.unique(key, return_index=True, return_inverse=True)
    form = form.reshape(-1)
    stay_of = np.asarray(_to_np(pc.fill_null(pc.index_in(sid_values, value_set=_arr(ctx.stays["stay_id"])), -1)),
                         dtype=np.int64)
    row = stay_of[sid[first]]
    answered_row = np.asarray(_to_np(exp["responded"]), dtype=bool)
    responded = np.bincount(form, weights=answered_row, minlength=len(first)) > 0
    # questionnaires about a stay that is not among the stays are left out altogether
    inside = np.flatnonzero(row >= 0)
    renumber = np.full(len(first), -1, dtype=np.int64)
    renumber[inside] = np.arange(len(inside))
    forms = pa.table({"response_id": pc.take(rid_values, pa.array(rid[first[inside]])),
                      "respondent": pc.take(who, pa.array(resp[first[inside]])),
                      "row": pa.array(row[inside], pa.int64())})
    if attribute is None:
        a_form = np.zeros(0, dtype=np.int64)
        return _Forms(forms=forms, responded=responded[inside], a_form=a_form, a_item=pa.array([], pa.string()),
                      a_score=a_form)
    items, counts = _asked(respondents, attribute)
    item = np.asarray(_to_np(pc.fill_null(pc.index_in(exp["item"], value_set=items), -1)), dtype=np.int64)
    counted = (item >= 0) & answered_row & (renumber[form] >= 0)
    counted[counted] = counts[item[counted], resp[counted]]
    score = np.asarray(_to_np(pc.fill_null(exp["score"], -1)), dtype=np.int64)
    return _Forms(forms=forms, responded=responded[inside], a_form=renumber[form[counted]],
                  a_item=pc.take(items, pa.array(item[counted])), a_score=score[counted])


# -- what one indicator computes, shared by compute and explain --------------------------------


@attrs.frozen(kw_only=True)
class _Detail:
    """One indicator's counted units (questionnaires, or answers when stratified by item).

    ``units`` has ``response_id``, ``respondent``, ``row`` and (per answer) ``item``;
    ``numerator``, ``denominator``, ``sumsq`` and ``score`` are per unit. ``excluded`` and
    the counted masks ``q_numerator`` / ``q_denominator`` are over the questionnaires of the
    population.
    """

    units: pa.Table
    numerator: np.ndarray
    denominator: np.ndarray
    sumsq: np.ndarray | None
    score: np.ndarray | None
    excluded: Mapping[str, np.ndarray]
    q_numerator: np.ndarray
    q_denominator: np.ndarray
    per_answer: bool = False
    numerator_scale: float = 1.0
    sumsq_scale: float = 1.0


def _response_rate(ctx: StayContext, indicator_id: str) -> _Detail:
    f = _forms(ctx, _respondents(indicator_id), None)
    ones = np.ones(f.n, dtype=np.int64)
    return _Detail(units=f.forms, numerator=f.responded.astype(np.int64), denominator=ones, sumsq=None, score=None,
                   excluded={}, q_numerator=f.responded, q_denominator=ones.astype(bool))


def _experience_score(ctx: StayContext, indicator_id: str) -> _Detail:
    respondents = _respondents(indicator_id)
    f = _forms(ctx, respondents, "in_score")
    has = f.a_score >= 0
    k = np.bincount(f.a_form[has], minlength=f.n).astype(np.int64)
    total = np.rint(np.bincount(f.a_form[has], weights=f.a_score[has], minlength=f.n)).astype(np.int64)
    counted = f.responded & (k > 0)
    excluded = {"not-answered": ~f.responded, "no-scored-item": f.responded & (k == 0)}
    if "item" in ctx.dims:  # each answer to a scored item is one observation of its item
        score = np.where(has, f.a_score, 0)
        units = f.forms.take(pa.array(f.a_form, pa.int64())).append_column("item", f.a_item)
        return _Detail(units=units, numerator=score, denominator=has.astype(np.int64), sumsq=score * score,
                       score=np.where(has, f.a_score, np.nan), excluded=excluded, q_numerator=counted,
                       q_denominator=counted, per_answer=True)
    mult = _mean_multiplier(respondents)
    # the questionnaire's mean times L: an exact integer for k <= K (validated input); floored otherwise
    scaled = np.where(counted, (total * mult) // np.maximum(k, 1), 0).astype(np.int64)
    mean = np.where(counted, total / np.maximum(k, 1), np.nan)
    return _Detail(units=f.forms, numerator=scaled, denominator=counted.astype(np.int64), sumsq=scaled * scaled,
                   score=mean, excluded=excluded, q_numerator=counted, q_denominator=counted,
                   numerator_scale=1.0 / mult, sumsq_scale=1.0 / (mult * mult))


def _overall_rating(ctx: StayContext, indicator_id: str) -> _Detail:
    f = _forms(ctx, _respondents(indicator_id), "overall")
    has = f.a_score >= 0
    # validated input has at most one overall item per questionnaire; otherwise the best answer counts
    best = np.full(f.n, -1, dtype=np.int64)
    np.maximum.at(best, f.a_form[has], f.a_score[has])
    rated = f.responded & (best >= 0)
    good = rated & np.isin(best, np.asarray(_good_scores(indicator_id), dtype=np.int64))
    return _Detail(units=f.forms, numerator=good.astype(np.int64), denominator=rated.astype(np.int64), sumsq=None,
                   score=np.where(rated, best, np.nan),
                   excluded={"not-answered": ~f.responded, "overall-not-answered": f.responded & ~rated},
                   q_numerator=good, q_denominator=rated)


_DETAILS = {
    "KAD-E01": _response_rate,
    "KAD-E02": _experience_score,
    "KAD-E03": _overall_rating,
    "KAD-E04": _experience_score,
    "KAD-E05": _overall_rating,
}
QUESTIONNAIRE_INDICATORS = frozenset(_DETAILS)
"""The indicators that count questionnaires: :func:`kadindicators.explain` lists those, not stays."""


def _dimension(ctx: StayContext, units: pa.Table, name: str, indicator_id: str) -> pa.Array:
    """A ``by`` or ``strata`` column for each unit: from the questionnaire or from its stay."""
    if name in OWN_DIMENSIONS:
        if name not in units.column_names:
            raise ValueError(f"{indicator_id} cannot be stratified by {name}")
        return _arr(units[name])
    if name not in ("unit_id", "municipality", "host_municipality", "sex", "age_band", "care_track",
                    "admitted_from"):
        raise ValueError(f"{indicator_id} cannot be grouped or stratified by {name}")
    return pc.take(ctx.stay_column(name), _arr(units["row"]))


def _empty_rows(ctx: StayContext, *, sumsq: bool) -> pa.Table:
    cols: dict[str, pa.Array] = {"period": pa.array([], pa.string())}
    for d in ctx.dims:
        cols[d] = pa.array([], pa.string())
    cols["numerator"] = pa.array([], pa.int64())
    cols["denominator"] = pa.array([], pa.int64())
    if sumsq:
        cols["sumsq"] = pa.array([], pa.int64())
    cols["row"] = pa.array([], pa.int64())
    return pa.table(cols)


def _contributions(ctx: StayContext, indicator_id: str, *, mean: bool) -> Contributions:
    """The engine's view of one indicator: one row per counted unit, attributed by the stay's admission."""
    if ctx.experience is None:  # no experience table: no rows (not zeros), and nothing excluded
        return Contributions(rows=_empty_rows(ctx, sumsq=mean))
    d = _DETAILS[indicator_id](ctx, indicator_id)
    row = _arr(d.units["row"])
    cols: dict[str, pa.Array] = {"period": pc.take(ctx.admission_period, row)}
    for name in ctx.dims:
        cols[name] = _dimension(ctx, d.units, name, indicator_id)
    cols["numerator"] = pa.array(d.numerator, pa.int64())
    cols["denominator"] = pa.array(d.denominator, pa.int64())
    if d.sumsq is not None:
        cols["sumsq"] = pa.array(d.sumsq, pa.int64())
    cols["row"] = row
    return Contributions(rows=pa.table(cols), excluded={k: pa.array(v, pa.bool_()) for k, v in d.excluded.items()},
                         numerator_scale=d.numerator_scale, sumsq_scale=d.sumsq_scale,
                         numerator_mask=pa.array(d.q_numerator, pa.bool_()),
                         denominator_mask=pa.array(d.q_denominator, pa.bool_()))


# -- the indicators -------------------------------------------------------------------------


@indicator("KAD-E01", version="1.0.0")
def response_rate(ctx: StayContext) -> Contributions:
    """Share of questionnaires sent that were answered, every respondent type (KAD-E01)."""
    return _contributions(ctx, "KAD-E01", mean=False)


@indicator("KAD-E02", version="1.0.0")
def patient_experience_score(ctx: StayContext) -> Contributions:
    """Mean experience score of patients and next of kin, 1-5 (KAD-E02)."""
    return _contributions(ctx, "KAD-E02", mean=True)


@indicator("KAD-E03", version="1.0.0")
def patient_overall_good(ctx: StayContext) -> Contributions:
    """Share of patients and next of kin rating the stay good or very good (KAD-E03)."""
    return _contributions(ctx, "KAD-E03", mean=False)


@indicator("KAD-E04", version="1.0.0")
def professional_experience_score(ctx: StayContext) -> Contributions:
    """Mean experience score of the referring doctors and the follow-up staff, 1-5 (KAD-E04)."""
    return _contributions(ctx, "KAD-E04", mean=True)


@indicator("KAD-E05", version="1.0.0")
def professional_overall_good(ctx: StayContext) -> Contributions:
    """Share of referring doctors and follow-up staff rating the stay good or very good (KAD-E05)."""
    return _contributions(ctx, "KAD-E05", mean=False)


# -- explain ---------------------------------------------------------------------------------


def _explain_schema(ctx: StayContext) -> pa.Schema:
    stays = ctx.stays.schema
    fields = [stays.field(c).remove_metadata() for c in ("stay_id", "patient_id", "admitted_at", "discharged_at")]
    fields += [pa.field("response_id", pa.string()), pa.field("period", pa.string())]
    fields += [pa.field(d, pa.string()) for d in ctx.dims]
    if "respondent" not in ctx.dims:
        fields.append(pa.field("respondent", pa.string()))
    fields += [pa.field("role", pa.string()), pa.field("criterion", pa.string()), pa.field("score", pa.float64())]
    return pa.schema(fields)


def explain_questionnaires(indicator_id: str, ctx: StayContext) -> pa.Table:
    """The questionnaires behind an experience indicator, with the criterion that put each there.

    The experience indicators count questionnaires, not stays, so :func:`kadindicators.explain`
    lists one row per questionnaire (one per answer to a scored item when stratified by
    ``item``) instead of one per stay. **Row-level personal data, for local clinical review
    only.**

    Parameters
    ----------
    indicator_id : str
        ``KAD-E01`` … ``KAD-E05``.
    ctx : StayContext
        The call's tables and options.

    Returns
    -------
    pyarrow.Table
        ``stay_id``, ``patient_id``, ``admitted_at``, ``discharged_at`` (of the stay),
        ``response_id``, ``period``, the ``by``/``strata`` columns, ``respondent``,
        ``role`` (``numerator``, ``denominator`` or ``excluded``), ``criterion``
        (``numerator``, ``denominator`` or the exclusion id) and ``score`` (the
        questionnaire's mean score for KAD-E02/E04, the item's score when stratified by
        item, the overall rating for KAD-E03/E05; empty for KAD-E01). Excluded
        questionnaires are listed only without the stratum ``item`` (they have no scored
        item to belong to); answers without a score are not listed.

    Raises
    ------
    ValueError
        ``indicator_id`` is not an experience indicator, or a dimension it does not have.

    Examples
    --------
    >>> import datetime as dt
    >>> import pyarrow as pa
    >>> import kadindicators as kad
    >>> from kadindicators.indicators._context import StayContext
    >>> from kadindicators.testing import strategies as st_kad
    >>> stays = pa.Table.from_pylist([{
    ...     "stay_id": "S1", "patient_id": "P1", "unit_id": "U1", "admitted_at": dt.datetime(2024, 3, 1, 10),
    ...     "age": 80, "sex": "2", "care_track": "somatic"}], schema=kad.arrow_schema("stays"))
    >>> exp = pa.Table.from_pylist([
    ...     {"response_id": "R1", "stay_id": "S1", "respondent": "patient", "responded": True,
    ...      "item": "overall_rating", "score": 5},
    ...     {"response_id": "R2", "stay_id": "S1", "respondent": "next_of_kin", "responded": False}],
    ...     schema=kad.arrow_schema("experience"))
    >>> ctx = StayContext(stays=stays, units=None, population=None, experience=exp, period="year",
    ...                   by=("unit_id",), strata=(), as_of=dt.datetime(2025, 1, 1, tzinfo=dt.UTC))
    >>> t = explain_questionnaires("KAD-E03", ctx)
    >>> t.select(["response_id", "role", "criterion", "score"]).to_pylist()  # doctest: +NORMALIZE_WHITESPACE
    [{'response_id': 'R1', 'role': 'numerator', 'criterion': 'numerator', 'score': 5.0},
     {'response_id': 'R2', 'role': 'excluded', 'criterion': 'not-answered', 'score': None}]

    .. versionadded:: 0.2.0
    """
    if indicator_id not in _DETAILS:
        raise ValueError(f"{indicator_id} is not an experience indicator; explain lists its stays")
    schema = _explain_schema(ctx)
    if ctx.experience is None:
        return schema.empty_table()
    d = _DETAILS[indicator_id](ctx, indicator_id)
    units = d.units
    n = units.num_rows
    role = np.where(d.numerator > 0, "numerator", np.where(d.denominator > 0, "denominator", "")).astype(object)
    criterion = role.copy()
    if not d.per_answer:  # units are the questionnaires: the first listed exclusion wins
        for reason in reversed(load_indicators()[indicator_id].exclusions):
            hit = np.asarray(d.excluded.get(reason, np.zeros(n, dtype=bool)), dtype=bool) & (role == "")
            role[hit], criterion[hit] = "excluded", reason
    row = _arr(units["row"])
    cols: dict[str, pa.Array] = {c: pc.take(_arr(ctx.stays[c]), row)
                                 for c in ("stay_id", "patient_id", "admitted_at", "discharged_at")}
    cols["response_id"] = _arr(units["response_id"])
    cols["period"] = pc.take(ctx.admission_period, row)
    for name in ctx.dims:
        cols[name] = _dimension(ctx, units, name, indicator_id)
    if "respondent" not in ctx.dims:
        cols["respondent"] = _arr(units["respondent"])
    cols["role"] = pa.array(role.tolist(), pa.string())
    cols["criterion"] = pa.array(criterion.tolist(), pa.string())
    score = np.full(n, np.nan) if d.score is None else np.asarray(d.score, dtype=np.float64)
    cols["score"] = pa.array(np.nan_to_num(score), pa.float64(), mask=np.isnan(score))
    out = pa.table(cols).cast(schema)
    out = out.filter(pc.not_equal(out["role"], ""))
    keys = ["stay_id", "response_id", *(["item"] if "item" in ctx.dims else [])]
    return out.sort_by([(k, "ascending") for k in keys])
