"""Indicator specifications (``spec/indicators/<ID>.yaml``): loading, checking, hashing.

.. versionadded:: 0.1.0
"""

from __future__ import annotations

import datetime as dt
import functools
import hashlib
import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import attrs

from .. import _yaml
from .._cache import DocumentCache
from .._resources import spec_root
from ..errors import SpecError
from .models import Text

# The parts of a spec that define what is counted: a change to any of them
# needs a major version (see spec/VERSIONING.md).
DEFINITION_KEYS = ("population", "numerator", "denominator", "exclusions", "period_attribution",
                   "unit")


def jsonable(obj: Any) -> Any:
    """Turn YAML-loaded data into JSON data (dates become ISO strings)."""
    if isinstance(obj, Mapping):
        return {str(k): jsonable(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [jsonable(v) for v in obj]
    if isinstance(obj, dt.date):
        return obj.isoformat()
    return obj


def _text(raw: Mapping[str, Any]) -> Text:
    return Text(nb=str(raw["nb"]).strip(), en=str(raw["en"]).strip())


@attrs.frozen(kw_only=True)
class Statistics:
    """The statistical policy of an indicator (part of its spec, not of the code)."""

    interval: str
    confidence: float
    minimum_denominator: int
    threshold: int
    applies_to: tuple[str, ...]
    complementary: bool
    funnel_levels: tuple[float, ...]
    funnel_limits: str
    standard_population: str | None
    multiplier: float


@attrs.frozen(kw_only=True)
class IndicatorSpec:
    """One indicator specification, as loaded from ``spec/indicators``.

    The full document is in ``raw``; the attributes are the parts the engine uses.

    Examples
    --------
    >>> from kadindicators.spec.indicators import load_indicators
    >>> q01 = load_indicators()["KAD-Q01"]
    >>> q01.unit, q01.direction, q01.statistics.interval
    ('proportion', 'lower_is_better', 'wilson')

    .. versionadded:: 0.1.0
    """

    id: str
    version: str
    status: str
    title: Text
    type: str
    unit: str
    direction: str
    groupings: tuple[str, ...]
    stratifications: tuple[str, ...]
    exclusions: tuple[str, ...]
    period_basis: str
    follow_up_days: int | None
    statistics: Statistics
    targets: Mapping[str, Any] | None = attrs.field(eq=False)
    path: Path = attrs.field(eq=False)
    raw: Mapping[str, Any] = attrs.field(eq=False, repr=False)

    @property
    def definition_hash(self) -> str:
        """SHA-256 of the defining parts (numerator, denominator, exclusions, period, unit)."""
        part = {k: self.raw.get(k) for k in DEFINITION_KEYS}
        return hashlib.sha256(json.dumps(part, sort_keys=True, ensure_ascii=False)
                              .encode("utf-8")).hexdigest()

    @property
    def content_hash(self) -> str:
        """SHA-256 of the whole spec document (canonical JSON)."""
        return hashlib.sha256(json.dumps(self.raw, sort_keys=True, ensure_ascii=False)
                              .encode("utf-8")).hexdigest()


def _build(raw: Mapping[str, Any], path: Path) -> IndicatorSpec:
    st = raw["statistics"]
    sup = st["suppression"]
    return IndicatorSpec(
        id=raw["id"],
        version=raw["version"],
        status=raw["status"],
        title=_text(raw["title"]),
        type=raw["type"],
        unit=raw["unit"],
        direction=raw["direction"],
        groupings=tuple(raw["groupings"]),
        stratifications=tuple(raw["stratifications"]),
        exclusions=tuple(e["id"] for e in raw["exclusions"]),
        period_basis=raw["period_attribution"]["basis"],
        follow_up_days=raw["period_attribution"].get("follow_up_days"),
        statistics=Statistics(
            interval=st["interval"],
            confidence=float(st["confidence"]),
            minimum_denominator=int(st["minimum_denominator"]),
            threshold=int(sup["threshold"]),
            applies_to=tuple(sup["applies_to"]),
            complementary=bool(sup.get("complementary", False)),
            funnel_levels=tuple(float(x) for x in st["funnel"]["levels"]),
            funnel_limits=st["funnel"]["limits"],
            standard_population=st.get("standard_population"),
            multiplier=float(st.get("multiplier", 1000.0 if raw["unit"] == "rate_per_1000" else 1.0)),
        ),
        targets=raw.get("targets"),
        path=path,
        raw=raw,
    )


@functools.cache
def format_schema() -> Mapping[str, Any]:
    """The JSON Schema of the indicator format (``spec/indicator.schema.json``)."""
    return json.loads((spec_root() / "indicator.schema.json").read_text(encoding="utf-8"))  # type: ignore[no-any-return]


@functools.cache
def _validator() -> Any:
    import jsonschema  # imported lazily: only loading and lint need it

    return jsonschema.Draft202012Validator(format_schema())  # built once, not once per file


def schema_errors(raw: Any) -> list[tuple[str, str]]:
    """Validate a loaded spec against the JSON Schema; return (json path, message) pairs."""
    validator = _validator()
    out = []
    for err in sorted(validator.iter_errors(jsonable(raw)), key=lambda e: list(e.absolute_path)):
        path = ".".join(str(p) for p in err.absolute_path) or "(top level)"
        out.append((path, err.message))
    return out


def load_indicator_file(path: Path, docs: DocumentCache | None = None) -> IndicatorSpec:
    """Load and check one spec file; raise :class:`SpecError` with the location on failure.

    With ``docs``, the parsed file comes from that cache when unchanged, and a file
    that passed the schema check before (same text, same JSON Schema) is not checked again.
    """
    raw = _yaml.load(path) if docs is None else docs.load(path)
    errors = [] if docs is not None and docs.from_cache(path) else schema_errors(raw)
    if errors:
        where, msg = errors[0]
        more = f" (+{len(errors) - 1} more)" if len(errors) > 1 else ""
        raise SpecError(f"{path}: {where}: {msg}{more}", f"{path}: {where}: {msg}{more}",
                        hint_en="run `kadindicators spec lint` for every problem with its line",
                        hint_nb="kjør `kadindicators spec lint` for alle feil med linjenummer")
    return _build(jsonable(raw), path)


@functools.cache
def _load_all(root: Path) -> dict[str, IndicatorSpec]:
    out: dict[str, IndicatorSpec] = {}
    docs = DocumentCache(root, name="indicators", depends=(root / "indicator.schema.json",))
    for path in sorted((root / "indicators").glob("*.yaml")):
        spec = load_indicator_file(path, docs)
        if spec.id in out:
            raise SpecError(f"{path}: indicator id {spec.id} is also defined in {out[spec.id].path}",
                            f"{path}: indikator-id {spec.id} er også definert i {out[spec.id].path}")
        if path.stem != spec.id:
            raise SpecError(f"{path}: file name must be {spec.id}.yaml",
                            f"{path}: filnavnet må være {spec.id}.yaml")
        out[spec.id] = spec
    docs.save()  # only specs that all passed their checks
    return out


def load_indicators() -> Mapping[str, IndicatorSpec]:
    """All indicator specs of the standard, by id.

    Examples
    --------
    >>> "KAD-Q01" in load_indicators()
    True
    """
    return _load_all(spec_root())
