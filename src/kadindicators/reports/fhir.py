"""FHIR R4 ``MeasureReport`` resources from an indicator result table.

:func:`measure_report` turns the table that :func:`kadindicators.compute` returns into
summary ``MeasureReport`` resources for national exchange, one per indicator, period and group:

- ``type`` is ``summary`` and ``status`` ``complete``; ``measure`` is the canonical URL of the
  indicator's ``Measure`` (``kadindicators.spec.export.measure``) with its version,
  ``<base>/Measure/<id>|<version>``.
- ``period`` is the result's period. Results use half-open periods ``[period_start,
  period_end)``; a FHIR ``Period`` of dates includes its end day, so ``end`` is the day before
  ``period_end`` (the year 2024 is ``2024-01-01`` to ``2024-12-31``).
- The group (the ``by`` columns) is the report's ``subject`` when there is one grouping column
  of a known kind: a unit (``unit_id``) and a host municipality are a ``Location``, a municipality
  of residence a ``Group`` (its residents), each referenced by identifier with the system
  ``<base>/NamingSystem/<column>``. Every report also carries the extension
  ``<base>/StructureDefinition/grouping``, with a ``by`` (the column, or ``region`` for all data
  together) and a ``value`` sub-extension per grouping column.
- ``group`` (one, as in the ``Measure``) has the population counts (``numerator`` and
  ``denominator``; ``measure-observation`` and ``measure-population`` for a mean or median) and
  the ``measureScore`` (with the confidence interval as the extension
  ``<base>/StructureDefinition/confidence-interval``). A count that is not a whole number (for
  example bed-days) is given as the extension ``<base>/StructureDefinition/population-amount``
  (``valueDecimal``) instead of ``count``.
- With strata columns the counts are per stratum: one ``stratifier`` whose ``code`` names the
  strata columns, and one ``stratum`` per row, with ``value`` (one stratum column) or one
  ``component`` per column. A stratified result has no totals, so the group then has none.
- A suppressed cell (``suppressed`` true) has **no count and no score at all**: each population
  and the score carry only the core ``data-absent-reason`` extension with ``masked``, and the
  group or stratum carries our reason code (``low_n``, ``secondary``) in the extension
  ``<base>/StructureDefinition/result-reason``. A cell without data (``no_data``, denominator 0)
  shows its zero counts, and its score is ``data-absent-reason`` ``not-applicable``.

Suppression itself is decided by :func:`kadindicators.compute`; this function never shows a
value of a suppressed row, and refuses a table whose rows that are not suppressed show a count
from 1 to the suppression threshold minus 1 (the threshold of the result metadata, or of the
indicator's spec when the metadata is gone), since such a table was not suppressed as
:func:`~kadindicators.compute` does it.

.. versionadded:: 0.2.0
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import re
from collections.abc import Mapping, Sequence
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from ..errors import InputError
from ..spec.export import (
    FHIR_BASE_URL,
    IMPROVEMENT_NOTATION,
    MEASURE_POPULATION,
    code_system,
    population_codes,
)

__all__ = ["DATA_ABSENT_REASON", "measure_report"]

#: The core extension for a value that is not given, and why.
DATA_ABSENT_REASON = "http://hl7.org/fhir/StructureDefinition/data-absent-reason"
REQUIRED = ("indicator_id", "indicator_version", "period_start", "period_end", "numerator", "denominator",
            "value", "suppressed", "reason")
FIXED = (*REQUIRED, "period", "ci_lower", "ci_upper", "status")
GROUPINGS = ("unit_id", "municipality", "host_municipality")
STRATA = ("sex", "age_band", "care_track", "admitted_from")
SUBJECT_TYPE = {"unit_id": "Location", "host_municipality": "Location", "municipality": "Group"}
#: Code systems of stratum values that have a national identifier (Volven 3101 Kjønn).
STRATUM_SYSTEM = {"sex": "urn:oid:2.16.578.1.12.4.1.1.3101"}
UCUM = "http://unitsofmeasure.org"


def _meta(results: pa.Table) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for k, v in (results.schema.metadata or {}).items():
        key = k.decode().removeprefix("kadindicators.")
        try:
            out[key] = json.loads(v.decode())
        except (json.JSONDecodeError, UnicodeDecodeError):
            out[key] = v.decode(errors="replace")
    return out


def _dims(results: pa.Table, meta: Mapping[str, Any]) -> tuple[list[str], list[str]]:
    extra = [c for c in results.column_names if c not in FIXED]
    by = meta.get("by") if isinstance(meta.get("by"), list) else None
    strata = meta.get("strata") if isinstance(meta.get("strata"), list) else None
    by_cols = [c for c in (by if by is not None else GROUPINGS) if c in extra]
    strata_cols = [c for c in (strata if strata is not None else STRATA) if c in extra]
    return by_cols, strata_cols


def _spec_policy(indicator_id: str) -> tuple[str | None, int | None, tuple[str, ...], str | None]:
    """(unit, threshold, applies_to, direction) of a catalogue indicator; Nones when unknown."""
    from ..spec.indicators import load_indicators

    spec = load_indicators().get(indicator_id)
    if spec is None:
        return None, None, ("numerator", "denominator"), None
    return spec.unit, spec.statistics.threshold, spec.statistics.applies_to, spec.direction


def _check_suppressed(results: pa.Table, hidden: pa.ChunkedArray, meta: Mapping[str, Any]) -> None:
    """Refuse a table whose visible cells show a count under its suppression threshold."""
    ids = results["indicator_id"]
    num = pc.cast(results["numerator"], pa.float64())
    den = pc.cast(results["denominator"], pa.float64())
    for iid in pc.unique(ids).to_pylist():
        _, spec_t, parts, _ = _spec_policy(str(iid))
        t = meta.get("suppression", spec_t)
        if not isinstance(t, int) or t <= 1:
            continue
        small = pc.and_(pc.greater(den, 0), pc.less(den, t))
        if "numerator" in parts:
            small = pc.or_(small, pc.and_(pc.greater_equal(num, 1), pc.less(num, t)))
        bad = pc.and_(pc.and_(pc.equal(ids, iid), pc.invert(hidden)), pc.fill_null(small, False))
        if pc.any(bad).as_py():
            raise InputError(
                f"{iid}: the result table shows a count from 1 to {t - 1} in a row that is not suppressed; "
                "it was not suppressed as compute() does it, so no MeasureReport is made",
                f"{iid}: resultattabellen viser et tall fra 1 til {t - 1} i en rad som ikke er prikket; "
                "den er ikke prikket slik compute() gjør det, så ingen MeasureReport lages",
                hint_en="use the table compute() returns, with its metadata",
                hint_nb="bruk tabellen som compute() returnerer, med metadataene")


def _masked(code: str = "masked") -> dict[str, Any]:
    return {"url": DATA_ABSENT_REASON, "valueCode": code}


def _fhir_id(*parts: Any) -> str:
    digest = hashlib.sha256(json.dumps([str(p) for p in parts]).encode("utf-8")).hexdigest()[:16]
    head = re.sub(r"[^A-Za-z0-9.-]+", "-", f"{parts[0]}-{parts[2]}")[:40].strip("-")
    return f"{head}-{digest}"


def _date(value: Any) -> str:
    if isinstance(value, dt.datetime):
        return value.date().isoformat()
    if isinstance(value, dt.date):
        return value.isoformat()
    return dt.date.fromisoformat(str(value)[:10]).isoformat()


def _last_day(value: Any) -> str:
    """The last day of a half-open period ending at ``value``."""
    day = dt.date.fromisoformat(_date(value))
    return (day - dt.timedelta(days=1)).isoformat()


def measure_report(results: pa.Table, *, measure_base_url: str = FHIR_BASE_URL) -> list[dict[str, Any]]:
    """FHIR R4 ``MeasureReport`` resources (type ``summary``) from an indicator result table.

    One report per indicator, version, period and group (the ``by`` columns), in the order of
    those keys. The layout (subject, grouping extension, strata, and how suppressed cells are
    masked) is described in the module ``kadindicators.reports.fhir``.

    Parameters
    ----------
    results : pyarrow.Table
        A result table of :func:`kadindicators.compute` (or :func:`~kadindicators.merge`);
        its schema metadata names the ``by`` and ``strata`` columns and the suppression
        threshold (without it, known column names and the specs' thresholds are used).
    measure_base_url : str
        Base of the ``Measure`` canonical URLs and of the standard's code systems and
        extensions; the same as ``base_url`` of ``kadindicators.spec.export.measure``.

    Returns
    -------
    list of dict
        JSON data; ``json.dumps`` gives each resource.

    Raises
    ------
    kadindicators.InputError
        A required column is missing, or a row that is not suppressed shows a count under the
        suppression threshold.

    Examples
    --------
    >>> import kadindicators as kad
    >>> from kadindicators.reports import measure_report
    >>> r = kad.synth.generate(years=(2024,), seed=1, scale=0.2)
    >>> res = kad.compute(stays=r.stays, units=r.units, indicators=["KAD-Q01"], by=("unit_id",))
    >>> reports = measure_report(res)
    >>> rep = reports[0]
    >>> rep["type"], rep["status"], rep["measure"], rep["period"]
    ('summary', 'complete', 'https://kadindicators.example/fhir/Measure/KAD-Q01|1.0.0', {'start': '2024-01-01', 'end': '2024-12-31'})
    >>> rep["subject"]["type"], [p["code"]["coding"][0]["code"] for p in rep["group"][0]["population"]]
    ('Location', ['denominator', 'numerator'])

    .. versionadded:: 0.2.0
    """
    missing = [c for c in REQUIRED if c not in results.column_names]
    if missing:
        raise InputError(f"not an indicator result table: columns {missing} are missing",
                         f"ikke en resultattabell for indikatorer: kolonnene {missing} mangler",
                         hint_en="pass the table kadindicators.compute() returns",
                         hint_nb="bruk tabellen som kadindicators.compute() returnerer")
    base = measure_base_url.rstrip("/")
    meta = _meta(results)
    by, strata = _dims(results, meta)
    # hidden: suppressed (a missing flag counts as suppressed), decided in Arrow before any
    # value reaches Python
    hidden = pc.fill_null(pc.cast(results["suppressed"], pa.bool_()), True)
    if "status" in results.column_names:
        hidden = pc.or_(hidden, pc.fill_null(pc.equal(results["status"], "suppressed"), False))
    _check_suppressed(results, hidden, meta)
    null = pa.scalar(None, pa.float64())
    cols: dict[str, Any] = {
        "indicator_id": results["indicator_id"], "indicator_version": results["indicator_version"],
        "period": results["period"] if "period" in results.column_names else results["period_start"],
        "period_start": results["period_start"], "period_end": results["period_end"],
        "hidden": hidden, "reason": results["reason"],
    }
    for c in ("numerator", "denominator", "value", "ci_lower", "ci_upper"):
        col = pc.cast(results[c], pa.float64()) if c in results.column_names else pa.nulls(results.num_rows,
                                                                                            pa.float64())
        cols[c] = pc.if_else(hidden, null, col)
    for c in (*by, *strata):
        cols[c] = pc.cast(results[c], pa.string())
    table = pa.table(cols).sort_by([(k, "ascending") for k in
                                    ("indicator_id", "indicator_version", "period_start", *by, *strata)])
    confidence = meta.get("confidence")
    reports: list[dict[str, Any]] = []
    current: dict[str, Any] | None = None
    key: tuple[Any, ...] | None = None
    policies: dict[str, tuple[str | None, int | None, tuple[str, ...], str | None]] = {}
    for row in table.to_pylist():  # aggregated result rows (groups), already masked
        iid, version = str(row["indicator_id"]), str(row["indicator_version"])
        if iid not in policies:
            policies[iid] = _spec_policy(iid)
        unit, _, _, direction = policies[iid]
        row_key = (iid, version, str(row["period"]), *(row[c] for c in by))
        if row_key != key:
            key = row_key
            current = _report(row, by, strata, base, unit, direction)
            reports.append(current)
        assert current is not None
        cell = _cell(row, base, unit, confidence)
        group = current["group"][0]
        if strata:
            stratum: dict[str, Any] = {}
            if len(strata) == 1:
                stratum["value"] = _stratum_value(strata[0], row[strata[0]], base)
            else:
                stratum["component"] = [{"code": _stratifier_code(s, base),
                                         "value": _stratum_value(s, row[s], base)} for s in strata]
            stratum.update(cell)
            group["stratifier"][0]["stratum"].append(stratum)
        else:
            group.update(cell)
    return reports


def _stratifier_code(column: str, base: str) -> dict[str, Any]:
    return {"coding": [{"system": code_system(base, "stratifier"), "code": column}], "text": column}


def _stratum_value(column: str, value: Any, base: str) -> dict[str, Any]:
    if value is None:
        return {"extension": [_masked("unknown")]}
    return {"coding": [{"system": STRATUM_SYSTEM.get(column, code_system(base, column)), "code": str(value)}],
            "text": str(value)}


def _report(row: Mapping[str, Any], by: Sequence[str], strata: Sequence[str], base: str,
            unit: str | None, direction: str | None) -> dict[str, Any]:
    iid, version = str(row["indicator_id"]), str(row["indicator_version"])
    rep: dict[str, Any] = {
        "resourceType": "MeasureReport",
        "id": _fhir_id(iid, version, row["period"], *(row[c] for c in by)),
        "status": "complete", "type": "summary",
        "measure": f"{base}/Measure/{iid}|{version}",
    }
    grouping: list[dict[str, Any]] = []
    for c in by:
        grouping.append({"url": "by", "valueCode": c})
        v = row[c]
        grouping.append({"url": "value", "valueString": str(v)} if v is not None
                        else {"url": "value", "extension": [_masked("unknown")]})
    if not by:
        grouping.append({"url": "by", "valueCode": "region"})
    rep["extension"] = [{"url": f"{base}/StructureDefinition/grouping", "extension": grouping}]
    if len(by) == 1 and by[0] in SUBJECT_TYPE and row[by[0]] is not None:
        rep["subject"] = {"type": SUBJECT_TYPE[by[0]],
                          "identifier": {"system": f"{base}/NamingSystem/{by[0]}", "value": str(row[by[0]])},
                          "display": str(row[by[0]])}
    rep["period"] = {"start": _date(row["period_start"]), "end": _last_day(row["period_end"])}
    if direction in IMPROVEMENT_NOTATION:
        rep["improvementNotation"] = {"coding": [{
            "system": "http://terminology.hl7.org/CodeSystem/measure-improvement-notation",
            "code": IMPROVEMENT_NOTATION[str(direction)]}]}
    group: dict[str, Any] = {"code": {"coding": [{"system": code_system(base, "indicator"), "code": iid}]}}
    if strata:
        group["stratifier"] = [{"code": [_stratifier_code(s, base) for s in strata], "stratum": []}]
    rep["group"] = [group]
    return rep


def _cell(row: Mapping[str, Any], base: str, unit: str | None, confidence: Any) -> dict[str, Any]:
    """Populations, score and reason of one result row (a group or a stratum)."""
    codes = population_codes(unit or "proportion")
    hidden = bool(row["hidden"])
    pops = []
    for part in ("denominator", "numerator"):
        pop: dict[str, Any] = {"code": {"coding": [{"system": MEASURE_POPULATION, "code": codes[part]}]}}
        if unit == "median" and part == "numerator":
            continue  # a median has no numerator (its sum is internal)
        if hidden:
            pop["_count"] = {"extension": [_masked()]}
        else:
            v = row[part]
            if v is None:
                continue
            if float(v).is_integer():
                pop["count"] = int(v)
            else:
                pop["extension"] = [{"url": f"{base}/StructureDefinition/population-amount", "valueDecimal": v}]
        pops.append(pop)
    out: dict[str, Any] = {}
    reason = row["reason"] if row["reason"] is not None else ("suppressed" if hidden else None)
    if reason is not None:
        out["extension"] = [{"url": f"{base}/StructureDefinition/result-reason",
                             "valueCoding": {"system": code_system(base, "result-reason"), "code": str(reason)}}]
    out["population"] = pops
    if hidden:
        out["measureScore"] = {"extension": [_masked()]}
    elif row["value"] is None:
        out["measureScore"] = {"extension": [_masked("not-applicable")]}
    else:
        score: dict[str, Any] = {"value": row["value"]}
        if unit == "rate_per_1000":
            score.update(unit="per 1000", system=UCUM, code="/10*3")
        if row["ci_lower"] is not None and row["ci_upper"] is not None:
            ci = [{"url": "low", "valueDecimal": row["ci_lower"]}, {"url": "high", "valueDecimal": row["ci_upper"]}]
            if isinstance(confidence, int | float):
                ci.insert(0, {"url": "level", "valueDecimal": float(confidence)})
            score["extension"] = [{"url": f"{base}/StructureDefinition/confidence-interval", "extension": ci}]
        out["measureScore"] = score
    return out
