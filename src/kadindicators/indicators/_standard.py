"""Standard populations for direct standardisation (``spec/standard-populations``).

The standardisation strata are fixed: sex 1 (male) and 2 (female) × the adult age
bands of the reporting schema. A standard population gives one weight per stratum;
it is either shipped with the standard (``esp2013``) or made from a table with the
population table's schema.

.. versionadded:: 0.2.0
"""

from __future__ import annotations

import functools
import hashlib
import json
from collections.abc import Mapping
from typing import Any

import attrs
import pyarrow as pa
import pyarrow.compute as pc

from .. import _yaml
from .._resources import spec_root
from ..errors import KadError, SpecError
from ..spec.loader import load_schema
from ..spec.models import Text

__all__ = [
    "STRATUM_SEP",
    "StandardPopulation",
    "StandardPopulationError",
    "load_standard",
    "shipped_standards",
    "standard_from_table",
    "standard_strata",
]

STRATUM_SEP = "|"
SEXES = ("1", "2")
FOLDER = "standard-populations"


class StandardPopulationError(KadError, ValueError):
    """A standard population that cannot be used (unknown id, missing or empty strata).

    .. versionadded:: 0.2.0
    """


@functools.cache
def standard_strata() -> tuple[str, ...]:
    """The standardisation strata, ``"<sex>|<age band>"``, sex first, bands in schema order.

    Examples
    --------
    >>> standard_strata()[:2]
    ('1|18-49', '1|50-66')
    """
    bands = [b.code for b in load_schema().age_bands if b.min >= 18]
    return tuple(f"{s}{STRATUM_SEP}{b}" for s in SEXES for b in bands)


@attrs.frozen(kw_only=True)
class StandardPopulation:
    """Weights of a standard population, one per standardisation stratum.

    Examples
    --------
    >>> esp = load_standard("esp2013")
    >>> esp.id, esp.weights["2|90+"], sum(esp.weights.values())
    ('esp2013', 1000.0, 161400.0)

    .. versionadded:: 0.2.0
    """

    id: str
    title: Text
    weights: Mapping[str, float] = attrs.field(eq=False)

    @property
    def fingerprint(self) -> str:
        """SHA-256 of the weights (identifies a standard made from a table)."""
        return hashlib.sha256(json.dumps(dict(self.weights), sort_keys=True).encode()).hexdigest()

    def to_json(self) -> dict[str, Any]:
        """Id and weights, as stored in a result's provenance metadata."""
        return {"id": self.id, "weights": {k: self.weights[k] for k in standard_strata()}}


def _checked(weights: Mapping[str, float], where_en: str, where_nb: str) -> dict[str, float]:
    strata = standard_strata()
    missing = [s for s in strata if not weights.get(s, 0) > 0]
    if missing:
        raise StandardPopulationError(
            f"{where_en}: no positive weight for the strata {missing} (sex|age band)",
            f"{where_nb}: mangler positiv vekt for stratumene {missing} (kjønn|aldersgruppe)",
            hint_en="a standard needs a weight for sex 1 and 2 in every adult age band",
            hint_nb="en standard trenger en vekt for kjønn 1 og 2 i hver aldersgruppe for voksne")
    return {s: float(weights[s]) for s in strata}


def shipped_standards() -> tuple[str, ...]:
    """Ids of the standard populations shipped in ``spec/standard-populations``.

    Examples
    --------
    >>> "esp2013" in shipped_standards()
    True
    """
    return tuple(sorted(p.stem for p in (spec_root() / FOLDER).glob("*.yaml")))


@functools.cache
def load_standard(standard_id: str) -> StandardPopulation:
    """A standard population shipped with the standard, by id (e.g. ``"esp2013"``).

    Examples
    --------
    >>> load_standard("esp2013").title.en
    'European Standard Population 2013 (ESP 2013), adults 18+'
    """
    if standard_id not in shipped_standards():
        raise StandardPopulationError(
            f"unknown standard population {standard_id!r}", f"ukjent standardbefolkning {standard_id!r}",
            hint_en=f"shipped: {', '.join(shipped_standards())}; or give a population table",
            hint_nb=f"tilgjengelige: {', '.join(shipped_standards())}; eller gi en befolkningstabell")
    path = spec_root() / FOLDER / f"{standard_id}.yaml"
    raw = _yaml.load(path)
    if not isinstance(raw, Mapping) or raw.get("id") != standard_id:
        raise SpecError(f"{path}: id must be {standard_id!r}", f"{path}: id må være {standard_id!r}")
    weights: dict[str, float] = {}
    for row in raw.get("weights") or []:
        key = f"{row['sex']}{STRATUM_SEP}{row['age_band']}"
        if key in weights or key not in standard_strata():
            raise SpecError(f"{path}: stratum {key} is repeated or unknown",
                            f"{path}: stratumet {key} er gjentatt eller ukjent")
        weights[key] = float(row["weight"])
    title = Text(nb=str(raw["title"]["nb"]).strip(), en=str(raw["title"]["en"]).strip())
    return StandardPopulation(id=standard_id, title=title,
                              weights=_checked(weights, str(path), str(path)))


def standard_from_table(population: pa.Table) -> StandardPopulation:
    """A standard population from a table with the population table's schema.

    The weight of a stratum is the population summed over every row of that sex and
    age band (all municipalities and years in the table); other sexes and the band
    ``0-17`` are ignored. Every stratum needs a positive weight.

    Examples
    --------
    >>> from kadindicators.testing.strategies import default_population
    >>> std = standard_from_table(default_population(years=(2024,)))
    >>> std.id, std.weights["1|18-49"]
    ('table', 3300.0)
    """
    sums = population.group_by(["sex", "age_band"], use_threads=False).aggregate([("population", "sum")])
    keys = pc.binary_join_element_wise(pc.cast(sums["sex"], pa.string()),
                                       pc.cast(sums["age_band"], pa.string()), STRATUM_SEP)
    weights = dict(zip(keys.to_pylist(), sums["population_sum"].to_pylist(), strict=True))
    checked = _checked({k: float(v) for k, v in weights.items() if k is not None and v is not None},
                       "standard population table", "standardbefolkningstabellen")
    return StandardPopulation(id="table", title=Text(nb="Standardbefolkning fra tabell",
                                                     en="Standard population from a table"),
                              weights=checked)
