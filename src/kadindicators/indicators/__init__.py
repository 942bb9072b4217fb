"""The indicator catalogue and :func:`compute`.

Each indicator is a plain function over Arrow tables, registered against its
spec in ``spec/indicators``; the engine does grouping, statistics and
suppression for all of them at once.

.. versionadded:: 0.1.0
"""

from __future__ import annotations

import datetime as dt
import difflib
import functools
import hashlib
import json
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from ..errors import KadError
from ..schema import TIMEZONE, arrow_schema
from ..spec.indicators import IndicatorSpec, load_indicators
from ..spec.loader import load_schema
from . import documentation, hospital, pathways, quality, utilisation  # noqa: F401  (registers them)
from . import experience as _experience  # (a module; "experience" is also an argument)
from ._context import PERIODS, StayContext, _oslo, periods_from_labels
from ._engine import (
    finalise,
    fingerprint,
    is_standardised,
    merge_partials,
    metadata,
    partial,
    partial_schema,
    result_schema,
    scales,
)
from ._registry import REGISTRY, RegistryError
from ._standard import (
    StandardPopulation,
    StandardPopulationError,
    load_standard,
    shipped_standards,
    standard_from_table,
)

__all__ = ["REGISTRY", "RegistryError", "StandardPopulation", "StandardPopulationError",
           "UnknownIndicatorError", "catalogue", "compute", "compute_partials", "explain", "get_indicator",
           "merge", "result_metadata", "standard_population"]


class UnknownIndicatorError(KadError, KeyError):
    """An indicator id that is not in the catalogue.

    .. versionadded:: 0.1.0
    """

    def __str__(self) -> str:
        return self.message("en")


def catalogue(*, status: str | None = None) -> tuple[IndicatorSpec, ...]:
    """The indicator specs, optionally only those with ``status``.

    Examples
    --------
    >>> import kadindicators as kad
    >>> "KAD-Q01" in [s.id for s in kad.catalogue(status="adopted")]
    True

    .. versionadded:: 0.1.0
    """
    specs = load_indicators().values()
    return tuple(s for s in specs if status is None or s.status == status)


def get_indicator(indicator_id: str) -> IndicatorSpec:
    """The spec of one indicator, by id.

    Examples
    --------
    >>> import kadindicators as kad
    >>> kad.get_indicator("KAD-Q01").unit
    'proportion'

    .. versionadded:: 0.1.0
    """
    specs = load_indicators()
    if indicator_id not in specs:
        close = difflib.get_close_matches(indicator_id, list(specs), n=1)
        hint = f"did you mean {close[0]}?" if close else None
        raise UnknownIndicatorError(
            f"unknown indicator {indicator_id!r}", f"ukjent indikator {indicator_id!r}",
            hint_en=hint, hint_nb=f"mente du {close[0]}?" if close else None)
    return specs[indicator_id]


def _typed(obj: Any, table: str, schema_version: str, *, stays: pa.Table | None = None,
           ) -> tuple[pa.Table | None, int]:
    """Use a table that already has the schema as is; validate anything else.

    ``stays`` (already typed) is given for a table that refers to the stays, so that
    its rows are checked against them.
    """
    if obj is None:
        return None, 0
    target = arrow_schema(table, schema_version)
    if isinstance(obj, pa.Table) and obj.schema.remove_metadata().equals(target.remove_metadata()):
        return obj, 0
    from ..validation import validate

    report = validate(**{table: obj}, **({"stays": stays} if stays is not None else {}))
    return report.tables[table], report.summaries[table].rows_rejected


def standard_population(value: Any = "esp2013") -> StandardPopulation:
    """A standard population for direct standardisation, from an id or a population table.

    Parameters
    ----------
    value : str, StandardPopulation or table-like
        The id of a standard shipped in ``spec/standard-populations`` (``"esp2013"``),
        a :class:`StandardPopulation`, or a table (or file) with the population table's
        schema, whose population summed by sex and age band gives the weights.

    Returns
    -------
    StandardPopulation
        ``id`` (``"table"`` for one made from a table) and ``weights``, one per
        stratum ``"<sex>|<age band>"`` (sex 1 and 2 × the adult age bands).

    Raises
    ------
    StandardPopulationError
        Unknown id, rows of the table rejected by validation, or a stratum without
        a positive weight.

    Examples
    --------
    >>> import kadindicators as kad
    >>> from kadindicators.indicators import standard_population
    >>> standard_population("esp2013").weights["1|67-79"]
    12300.0
    >>> region = kad.synth.generate(years=(2024,), seed=1, scale=0.05)
    >>> standard_population(region.population).id
    'table'

    .. versionadded:: 0.2.0
    """
    return _resolve_standard(value)


def _resolve_standard(value: Any) -> StandardPopulation:
    if isinstance(value, StandardPopulation):
        return value
    if isinstance(value, str) and (value in shipped_standards() or not _is_file(value)):
        return load_standard(value)
    table, rejected = _typed(value, "population", load_schema().version)
    if table is None:
        raise StandardPopulationError("no standard population given", "ingen standardbefolkning oppgitt")
    if rejected:
        raise StandardPopulationError(
            f"{rejected} rows of the standard population table were rejected by validation",
            f"{rejected} rader i standardbefolkningstabellen ble avvist ved validering",
            hint_en="validate it as population and fix the rows", hint_nb="valider den som befolkning og rett radene")
    return standard_from_table(table)


def _is_file(value: str) -> bool:
    from pathlib import Path

    return Path(value).is_file()


def _default_as_of(stays: pa.Table) -> dt.datetime:
    """The latest timestamp in the data, rounded up to the next local midnight."""
    if stays.num_rows == 0:
        return dt.datetime.now(_oslo()).replace(hour=0, minute=0, second=0, microsecond=0)
    latest = max(x for x in (pc.max(stays["admitted_at"]).as_py(), pc.max(stays["discharged_at"]).as_py())
                 if x is not None)
    local = latest.astimezone(_oslo())
    return dt.datetime.combine(local.date() + dt.timedelta(days=1), dt.time(), tzinfo=_oslo())


def _as_of(value: Any, stays: pa.Table) -> dt.datetime:
    if value is None:
        return _default_as_of(stays)
    if hasattr(value, "to_pydatetime"):  # pandas Timestamp
        value = value.to_pydatetime()
    elif type(value).__module__ == "numpy":  # numpy datetime64
        value = pa.scalar(value).as_py()
    if isinstance(value, str):
        value = dt.datetime.fromisoformat(value)
    if isinstance(value, dt.datetime):
        return value if value.tzinfo else value.replace(tzinfo=_oslo())
    if isinstance(value, dt.date):
        return dt.datetime.combine(value, dt.time(), tzinfo=_oslo())
    raise TypeError(f"as_of must be a date, a datetime or an ISO string, not {type(value).__name__}")


def _run(*, stays: Any, units: Any, population: Any, experience: Any = None, hospital_admissions: Any = None,
         indicators: Sequence[str] | None,
         by: Sequence[str], period: str, strata: Sequence[str],
         as_of: dt.datetime | dt.date | str | None, reference_denominators: bool = True,
         since: dt.date | None = None, standard_population: Any = None,
         ) -> tuple[list[tuple[IndicatorSpec, pa.Table, tuple[float, float, float]]], StayContext,
                    dict[str, Any]]:
    """Validate/coerce inputs, run every indicator function, and sum its contributions."""
    if period not in PERIODS:
        raise ValueError(f"period must be one of {PERIODS}, got {period!r}")
    by_t, strata_t = _dims(by, strata)
    schema_version = load_schema().version
    stays_t, rej_s = _typed(stays, "stays", schema_version)
    units_t, rej_u = _typed(units, "units", schema_version)
    pop_t, rej_p = _typed(population, "population", schema_version)
    if stays_t is None:
        raise ValueError("stays are required")
    hosp_t, rej_h = _typed(hospital_admissions, "hospital_admissions", schema_version)
    exp_t, rej_e = _typed(experience, "experience", schema_version, stays=stays_t)
    when = _as_of(as_of, stays_t)
    explicit = indicators is not None
    ids = list(indicators) if indicators is not None else [s.id for s in catalogue(status="adopted")]
    ctx = StayContext(stays=stays_t, units=units_t, population=pop_t, as_of=when, period=period,
                      by=by_t, strata=strata_t, since=since, experience=exp_t, hospital_admissions=hosp_t)
    out: list[tuple[IndicatorSpec, pa.Table, tuple[float, float, float]]] = []
    excluded: dict[str, dict[str, int]] = {}
    counted: dict[str, int] = {}
    skipped: dict[str, str] = {}
    standards: dict[str, StandardPopulation] = {}
    given = None if standard_population is None else _resolve_standard(standard_population)
    for iid in ids:
        spec = get_indicator(iid)
        groups = set(spec.groupings) | {"region"}
        bad = [b for b in by_t if b not in groups] + [s for s in strata_t if s not in spec.stratifications]
        if bad:
            if explicit:
                raise ValueError(f"{iid} cannot be grouped or stratified by {bad}; allowed: "
                                 f"by {spec.groupings}, strata {spec.stratifications}")
            skipped[iid] = f"does not support {bad}"
            continue
        if iid not in REGISTRY:
            raise RegistryError(f"{iid} has no registered implementation",
                                f"{iid} har ingen registrert implementasjon")
        version, fn = REGISTRY[iid]
        if version != spec.version:
            raise RegistryError(f"{iid}: implementation {version} does not match spec {spec.version}",
                                f"{iid}: implementasjon {version} stemmer ikke med spesifikasjon {spec.version}")
        if is_standardised(spec):
            standards[iid] = given or load_standard(str(spec.statistics.standard_population))
        contrib = fn(ctx)
        out.append((spec, partial(spec, contrib, ctx.dims, reference_denominators=reference_denominators),
                    scales(contrib)))
        excluded[iid] = {k: int(pc.sum(v).as_py() or 0) for k, v in contrib.excluded.items()}
        for k, v in contrib.excluded_reference.items():  # reference cells: counted once, like their rows
            excluded[iid][k] = excluded[iid].get(k, 0) + (int(pc.sum(v).as_py() or 0) if reference_denominators
                                                          else 0)
        # stays that take part (denominator or numerator): with the exclusions, every stay is accounted for
        roles = [m for m in (contrib.denominator_mask, contrib.numerator_mask) if m is not None]
        counted[iid] = int(pc.sum(functools.reduce(pc.or_, roles)).as_py() or 0) if roles else 0
    info = {
        "schema_version": schema_version, "as_of": when, "excluded": excluded, "skipped": skipped,
        "fingerprint": fingerprint(stays_t, units_t, pop_t,
                                   *((exp_t, hosp_t) if exp_t is not None or hosp_t is not None else ())),
        "standards": standards,
        "extra": {"rows_rejected": {"stays": rej_s, "units": rej_u, "population": rej_p,
                                    **({"experience": rej_e} if experience is not None else {}),
                                    **({"hospital_admissions": rej_h} if hospital_admissions is not None else {})},
                  "stays_counted": counted,
                  "standard_populations": {k: v.to_json() for k, v in standards.items()},
                  "skipped": skipped, "by": list(by_t), "strata": list(strata_t), "period": period,
                  "timezone": TIMEZONE, "since": ctx.period_starts[0].isoformat(),
                  "reference_denominators": reference_denominators},
    }
    return out, ctx, info


GROUPINGS = ("unit_id", "municipality", "host_municipality", "region")
STRATA = ("sex", "age_band", "care_track", "admitted_from", "respondent", "item", "field")
"""Stratifications: the first four are columns of a stay; ``respondent`` and ``item`` split
the experience indicators (KAD-E*), ``field`` the completeness indicator (KAD-D02)."""


def _dims(by: Sequence[str], strata: Sequence[str]) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """Check ``by`` and ``strata``: sequences of known, distinct names."""
    for name, value, known in (("by", by, GROUPINGS), ("strata", strata, STRATA)):
        if isinstance(value, str):
            # a ValueError like every other unusable by/strata value
            raise ValueError(f"{name} must be a sequence of names, e.g. ({value!r},), not a string")  # noqa: TRY004
        unknown = [v for v in value if v not in known]
        if unknown:
            raise ValueError(f"unknown {name} {unknown}; expected some of {known}")
        if len(set(value)) != len(value):
            raise ValueError(f"{name} names a column twice: {list(value)}")
    by_t = tuple(b for b in by if b != "region")
    if set(by_t) & set(strata):
        raise ValueError("a column cannot be both in by and in strata")
    return by_t, tuple(strata)


def _check_stats(suppression: int, confidence: float) -> None:
    if not 0 < confidence < 1:
        raise ValueError("confidence must be between 0 and 1")
    if suppression < 1:
        raise ValueError("suppression must be at least 1 (1 disables suppression)")


def compute(
    *,
    stays: Any,
    units: Any = None,
    population: Any = None,
    experience: Any = None,
    hospital_admissions: Any = None,
    indicators: Sequence[str] | None = None,
    by: Sequence[str] = ("unit_id",),
    period: str = "year",
    strata: Sequence[str] = (),
    as_of: dt.datetime | dt.date | str | None = None,
    suppression: int = 5,
    confidence: float = 0.95,
    since: dt.date | None = None,
    standard_population: Any = None,
) -> pa.Table:
    """Compute quality indicators: one tidy row per indicator × period × group × stratum.

    Parameters
    ----------
    stays, units, population : table-like or path
        The data. Tables that already have the schema's Arrow types are used as
        they are; anything else is validated first and only accepted rows are used.
    experience, hospital_admissions : table-like or path, optional
        The optional tables of schema 1.1.0, for the experience indicators (KAD-E*)
        and the hospital indicators (KAD-H*).

        .. versionadded:: 0.2.0
    indicators : sequence of str, optional
        Indicator ids; default every adopted indicator that supports ``by`` and ``strata``.
    by : sequence of str
        Grouping columns: ``unit_id``, ``municipality``, ``host_municipality``; ``()`` or
        ``("region",)`` for all data together.
    period : {"year", "quarter", "month"}
        Period of attribution (labels ``2024``, ``2024-Q1``, ``2024-03``).
    strata : sequence of str
        Stratification columns (``sex``, ``age_band``, ``care_track``, ``admitted_from``;
        ``respondent`` and ``item`` for the experience indicators, ``field`` for the
        completeness indicator).
    as_of : datetime or date, optional
        Closes the observation window; default: the latest timestamp in the data,
        rounded up to the next midnight (local time).
    suppression : int
        Small-cell threshold: counts from 1 to ``suppression - 1`` are suppressed.
    confidence : float
        Confidence level of the intervals.
    since : date, optional
        Start of the observation window for indicators that count time or
        population (KAD-U03); default: the period of the first admission.
    standard_population : str or table-like, optional
        For directly standardised rates (KAD-U01S): the id of a shipped standard
        population, or a table with the population table's schema whose population by
        sex and age band gives the weights (see ``kadindicators.indicators.standard_population``); default:
        the standard named in each indicator's statistical policy (``esp2013``).

        .. versionadded:: 0.2.0

    Returns
    -------
    pyarrow.Table
        Columns ``indicator_id``, ``indicator_version``, ``period``, ``period_start``,
        ``period_end``, the ``by`` and ``strata`` columns, ``numerator``,
        ``denominator``, ``value``, ``ci_lower``, ``ci_upper``, ``suppressed``,
        ``status`` (``ok``, ``suppressed``, ``not_applicable``) and ``reason``
        (``low_n``, ``no_data``); provenance in the schema metadata
        (see :func:`result_metadata`).

    Examples
    --------
    >>> import kadindicators as kad
    >>> region = kad.synth.generate(years=(2024,), seed=1, scale=0.2)
    >>> res = kad.compute(stays=region.stays, units=region.units, indicators=["KAD-Q01"])
    >>> sorted(set(res["indicator_id"].to_pylist()))
    ['KAD-Q01']
    >>> bool(pc.all(pc.less_equal(res["numerator"], res["denominator"])).as_py())
    True

    .. versionadded:: 0.1.0
    """
    _check_stats(suppression, confidence)
    parts, ctx, info = _run(stays=stays, units=units, population=population, experience=experience,
                            hospital_admissions=hospital_admissions, indicators=indicators,
                            by=by, period=period, strata=strata, as_of=as_of, since=since,
                            standard_population=standard_population)
    labels = sorted({x for _, part, _ in parts for x in part["period"].to_pylist()})
    periods = periods_from_labels(labels)
    standards = info["standards"]
    results = [finalise(spec, part, periods, ctx.dims, suppression=suppression, confidence=confidence,
                        scale=scale, standard=standards[spec.id].weights if spec.id in standards else None)
               for spec, part, scale in parts]
    table = pa.concat_tables(results) if results else result_schema(list(ctx.dims)).empty_table()
    meta = metadata(specs={s.id: s for s, _, _ in parts}, schema_version=info["schema_version"],
                    fp=info["fingerprint"], as_of=info["as_of"], excluded=info["excluded"],
                    extra={**info["extra"], "suppression": suppression, "confidence": confidence})
    return table.replace_schema_metadata(meta)


def compute_partials(
    *,
    stays: Any,
    units: Any = None,
    population: Any = None,
    experience: Any = None,
    hospital_admissions: Any = None,
    indicators: Sequence[str] | None = None,
    by: Sequence[str] = ("unit_id",),
    period: str = "year",
    strata: Sequence[str] = (),
    as_of: dt.datetime | dt.date | str,
    since: dt.date,
    reference_denominators: bool = True,
    standard_population: Any = None,
) -> pa.Table:
    """Additive partial results for one partition of the stays, to combine with :func:`merge`.

    Partition the stays so that each patient's stays stay together (e.g. by a
    hash of ``patient_id``), call this on every partition with the same
    ``as_of``, ``by``, ``period`` and ``strata``, and :func:`merge` the results.
    Give ``units`` to every partition (stays need their unit) but let only one
    partition add the denominators that come from ``units`` and ``population``
    (``reference_denominators=True`` there, ``False`` elsewhere); :func:`merge`
    checks that exactly one did. ``hospital_admissions`` are reference figures like the
    population: give them to every partition (only the one with reference denominators
    counts them). Give each partition the ``experience`` rows of its own stays, or all of
    them: rows about stays outside the partition are left out there. ``since`` (the start of the observation window)
    is required so that every partition uses the same periods. A directly
    standardised rate is kept as counts and populations per standardisation
    stratum (column ``standard_stratum``), so it merges exactly too; give every
    partition the same ``standard_population`` (recorded in the metadata and
    checked by :func:`merge`).

    Examples
    --------
    >>> import kadindicators as kad, datetime as dt
    >>> r = kad.synth.generate(years=(2024,), seed=1, scale=0.1)
    >>> last = pc.utf8_slice_codeunits(r.stays["patient_id"], -1)  # partition by patient
    >>> even = pc.is_in(last, value_set=pa.array(list("02468ace")))
    >>> w = dict(units=r.units, as_of=dt.date(2025, 1, 1), since=dt.date(2024, 1, 1), indicators=["KAD-Q01"])
    >>> a = kad.compute_partials(stays=r.stays.filter(even), **w)
    >>> b = kad.compute_partials(stays=r.stays.filter(pc.invert(even)), reference_denominators=False, **w)
    >>> whole = kad.compute(stays=r.stays, units=r.units, as_of=dt.date(2025, 1, 1), indicators=["KAD-Q01"])
    >>> kad.merge([a, b]).equals(whole)
    True

    .. versionadded:: 0.1.0
    """
    parts, ctx, info = _run(stays=stays, units=units, population=population, experience=experience,
                            hospital_admissions=hospital_admissions, indicators=indicators,
                            by=by, period=period, strata=strata, as_of=as_of,
                            reference_denominators=reference_denominators, since=since,
                            standard_population=standard_population)
    schema = partial_schema(list(ctx.dims))
    table = pa.concat_tables([p for _, p, _ in parts]) if parts else schema.empty_table()
    meta = metadata(specs={s.id: s for s, _, _ in parts}, schema_version=info["schema_version"],
                    fp=info["fingerprint"], as_of=info["as_of"], excluded=info["excluded"],
                    extra={**info["extra"], "partial": True,
                           "scales": {s.id: list(sc) for s, _, sc in parts}})
    return table.replace_schema_metadata(meta)


def merge(partials: Sequence[pa.Table], *, suppression: int = 5, confidence: float = 0.95) -> pa.Table:
    """Combine :func:`compute_partials` results of disjoint partitions into final results.

    The partials must agree on ``as_of``, ``by``, ``strata``, ``period`` and the
    indicator versions; the result is the same as :func:`compute` on all the data.

    Examples
    --------
    >>> import kadindicators as kad, datetime as dt
    >>> r = kad.synth.generate(years=(2024,), seed=2, scale=0.1)
    >>> parts = [kad.compute_partials(stays=r.stays.slice(0, 100), units=r.units, as_of=dt.date(2025, 1, 1),
    ...                               since=dt.date(2024, 1, 1), indicators=["KAD-U04M"])]
    >>> kad.merge(parts)["indicator_id"][0].as_py()
    'KAD-U04M'

    .. versionadded:: 0.1.0
    """
    _check_stats(suppression, confidence)
    if not partials:
        raise ValueError("merge needs at least one partial result")
    metas = [result_metadata(p) for p in partials]
    for key in ("as_of", "by", "strata", "period", "indicator_versions", "schema_version", "scales",
                "since", "standard_populations"):
        values = {json.dumps(m.get(key), sort_keys=True) for m in metas}
        if len(values) > 1:
            raise ValueError(f"partials disagree on {key}: {sorted(values)}")
    with_refs = sum(1 for m in metas if m.get("reference_denominators", True))
    if with_refs != 1:
        raise ValueError(f"exactly one partial must carry the unit and population denominators "
                         f"(reference_denominators=True); {with_refs} do")
    first = metas[0]
    dims = [*first["by"], *first["strata"]]
    merged = merge_partials(partials, dims)
    periods = periods_from_labels(sorted(set(merged["period"].to_pylist())))
    results = []
    specs = {}
    for iid in first["indicator_versions"]:
        spec = get_indicator(iid)
        specs[iid] = spec
        part = merged.filter(pc.equal(merged["indicator_id"], iid))
        sc = first.get("scales", {}).get(iid, [1.0, 1.0, 1.0])
        std = (first.get("standard_populations") or {}).get(iid)
        results.append(finalise(spec, part, periods, dims, suppression=suppression, confidence=confidence,
                                scale=(float(sc[0]), float(sc[1]), float(sc[2])),
                                standard={k: float(v) for k, v in std["weights"].items()} if std else None))
    excluded: dict[str, dict[str, int]] = {}
    for m in metas:
        for iid, reasons in m["excluded_by_reason"].items():
            excluded.setdefault(iid, {})  # also an indicator without exclusion ids (KAD-E01)
            for reason, n in reasons.items():
                excluded.setdefault(iid, {}).setdefault(reason, 0)
                excluded[iid][reason] += n
    table = pa.concat_tables(results) if results else result_schema(dims).empty_table()
    fp = hashlib.sha256("".join(sorted(m["input_fingerprint"] for m in metas)).encode()).hexdigest()
    extra = {k: first[k] for k in ("by", "strata", "period", "timezone")}
    if first.get("standard_populations"):
        extra["standard_populations"] = first["standard_populations"]
    rejected: dict[str, int] = {}
    counted: dict[str, int] = {}
    for m in metas:
        for k, v in m.get("rows_rejected", {}).items():
            rejected[k] = rejected.get(k, 0) + v
        for k, v in m.get("stays_counted", {}).items():
            counted[k] = counted.get(k, 0) + v
    meta = metadata(specs=specs, schema_version=first["schema_version"], fp=fp,
                    as_of=dt.datetime.fromisoformat(first["as_of"]), excluded=excluded,
                    extra={**extra, "rows_rejected": rejected, "stays_counted": counted,
                           "skipped": first.get("skipped", {}),
                           "suppression": suppression, "confidence": confidence,
                           "partitions": len(partials)})
    return table.replace_schema_metadata(meta)


def explain(
    indicator: str,
    *,
    stays: Any,
    units: Any = None,
    population: Any = None,
    experience: Any = None,
    hospital_admissions: Any = None,
    cell: Mapping[str, str] | None = None,
    by: Sequence[str] = ("unit_id",),
    period: str = "year",
    strata: Sequence[str] = (),
    as_of: dt.datetime | dt.date | str | None = None,
) -> pa.Table:
    """List the stays behind one result cell, and the criterion that put each there.

    **For local clinical review only**: the result holds row-level personal data
    (patient ids, exact times) and must not leave the organisation.

    Parameters
    ----------
    indicator : str
        Indicator id.
    cell : mapping, optional
        The cell, e.g. ``{"period": "2024", "unit_id": "U1"}``; omitted keys match all.
    stays, units, population, experience, hospital_admissions, by, period, strata, as_of
        As for :func:`compute`.

    Returns
    -------
    pyarrow.Table
        One row per stay with ``stay_id``, ``patient_id``, ``admitted_at``,
        ``discharged_at``, ``period``, the ``by``/``strata`` columns, ``role``
        (``numerator``, ``denominator`` or ``excluded``) and ``criterion``
        (``numerator``, ``denominator`` or the exclusion id). For an indicator
        counted per stay × field (KAD-D02): one row per stay and field in scope,
        with a ``field`` column. The experience indicators (KAD-E*) count
        questionnaires, not stays: one row per questionnaire (per scored answer when
        stratified by ``item``), with ``response_id``, ``respondent`` and ``score`` too
        (``kadindicators.indicators.experience.explain_questionnaires``).

    Examples
    --------
    >>> import kadindicators as kad
    >>> r = kad.synth.generate(years=(2024,), seed=1, scale=0.05)
    >>> unit = r.stays["unit_id"][0].as_py()
    >>> rows = kad.explain("KAD-Q01", stays=r.stays, units=r.units, cell={"period": "2024", "unit_id": unit})
    >>> set(rows["role"].to_pylist()) <= {"denominator", "excluded", "numerator"}
    True

    .. versionadded:: 0.1.0
    .. versionchanged:: 0.2.0
       One row per stay and field for KAD-D02.
    """
    spec = get_indicator(indicator)
    by_t, _ = _dims(by, strata)
    schema_version = load_schema().version
    stays_t, _ = _typed(stays, "stays", schema_version)
    units_t, _ = _typed(units, "units", schema_version)
    pop_t, _ = _typed(population, "population", schema_version)
    if stays_t is None:
        raise ValueError("stays are required")
    exp_t, _ = _typed(experience, "experience", schema_version, stays=stays_t)
    hosp_t, _ = _typed(hospital_admissions, "hospital_admissions", schema_version)
    strata_t = tuple(strata)
    if "field" in spec.stratifications and "field" not in strata_t:
        strata_t = (*strata_t, "field")  # counted per stay × field (KAD-D02): list each field of a stay
    ctx = StayContext(stays=stays_t, units=units_t, population=pop_t, as_of=_as_of(as_of, stays_t),
                      period=period, by=by_t, strata=strata_t, experience=exp_t,
                      hospital_admissions=hosp_t)
    version, fn = REGISTRY[spec.id]
    if spec.id in _experience.QUESTIONNAIRE_INDICATORS:
        # they count questionnaires, not stays: one row per questionnaire (per scored answer by item)
        return _in_cell(_experience.explain_questionnaires(spec.id, ctx), cell)
    contrib = fn(ctx)
    del version
    if "field" in ctx.dims:
        return _in_cell(_explain_fields(contrib.rows, ctx, stays_t), cell)
    n = ctx.n
    role = np.full(n, "", dtype=object)
    criterion = np.full(n, "", dtype=object)
    for reason in reversed(spec.exclusions):  # the first listed exclusion wins
        mask = contrib.excluded.get(reason)
        if mask is not None:
            hit = np.asarray(mask.to_numpy(zero_copy_only=False), dtype=bool)
            role[hit], criterion[hit] = "excluded", reason
    if contrib.denominator_mask is not None:
        den = np.asarray(contrib.denominator_mask.to_numpy(zero_copy_only=False), dtype=bool)
        role[den], criterion[den] = "denominator", "denominator"
    if contrib.numerator_mask is not None:
        num = np.asarray(contrib.numerator_mask.to_numpy(zero_copy_only=False), dtype=bool)
        role[num], criterion[num] = "numerator", "numerator"
    cols: dict[str, Any] = {c: stays_t[c] for c in ("stay_id", "patient_id", "admitted_at", "discharged_at")}
    cols["period"] = ctx.admission_period
    for d in ctx.dims:
        cols[d] = ctx.stay_column(d)
    cols["role"] = pa.array(role.tolist(), pa.string())
    cols["criterion"] = pa.array(criterion.tolist(), pa.string())
    return _in_cell(pa.table(cols), cell)


def _in_cell(out: pa.Table, cell: Mapping[str, str] | None) -> pa.Table:
    """explain's rows with a role, in the cell."""
    keep = pc.not_equal(out["role"], "")
    for k, v in (cell or {}).items():
        if k not in out.column_names:
            raise ValueError(f"cell key {k!r} is not a column of the result ({out.column_names})")
        keep = pc.and_(keep, pc.equal(out[k], str(v)))
    return out.filter(keep)


def _explain_fields(rows: pa.Table, ctx: StayContext, stays: pa.Table) -> pa.Table:
    """explain's rows for an indicator counted per stay × field: one per stay and field in scope."""
    rows = rows.filter(pc.is_valid(rows["row"]))
    idx = rows["row"]
    cols: dict[str, Any] = {c: stays[c].take(idx) for c in ("stay_id", "patient_id", "admitted_at", "discharged_at")}
    cols["period"] = rows["period"]
    for d in ctx.dims:
        cols[d] = rows[d]
    role = pc.if_else(pc.greater(rows["numerator"], 0), "numerator",
                      pc.if_else(pc.greater(rows["denominator"], 0), "denominator", ""))
    cols["role"] = role
    cols["criterion"] = role
    return pa.table(cols)


def result_metadata(table: pa.Table) -> dict[str, Any]:
    """Decode the provenance metadata of a result table into Python values.

    Examples
    --------
    >>> import kadindicators as kad
    >>> r = kad.synth.generate(years=(2024,), seed=1, scale=0.05)
    >>> meta = kad.result_metadata(kad.compute(stays=r.stays, units=r.units, indicators=["KAD-Q01"]))
    >>> meta["schema_version"], sorted(meta["excluded_by_reason"]["KAD-Q01"])
    ('1.1.0', ['not-completed'])

    .. versionadded:: 0.1.0
    """
    out: dict[str, Any] = {}
    for k, v in (table.schema.metadata or {}).items():
        key = k.decode().removeprefix("kadindicators.")
        text = v.decode()
        try:
            out[key] = json.loads(text)
        except json.JSONDecodeError:
            out[key] = text
    return out
