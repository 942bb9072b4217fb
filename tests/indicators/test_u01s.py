"""KAD-U01S, the directly age- and sex-standardised use rate: oracle, standards, merge."""

from __future__ import annotations

import datetime as dt
import hashlib
from collections import defaultdict
from fractions import Fraction
from typing import Any
from zoneinfo import ZoneInfo

import pyarrow as pa
import pyarrow.compute as pc
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.stats import gamma

import kadindicators as kad
from kadindicators import _yaml
from kadindicators._resources import spec_root
from kadindicators.indicators import StandardPopulationError, standard_population
from kadindicators.schema import arrow_schema
from kadindicators.spec.loader import load_schema
from kadindicators.testing import strategies as st_kad

OSLO = ZoneInfo("Europe/Oslo")
AS_OF = dt.datetime(2026, 1, 1, tzinfo=OSLO)
MUNS = st_kad.DEFAULT_MUNICIPALITIES
BANDS = [b for b in load_schema().age_bands]
ADULT = [b.code for b in BANDS if b.min >= 18]
ESP = {"18-49": 41700, "50-66": 21700, "67-79": 12300, "80-89": 4000, "90+": 1000}
IID = "KAD-U01S"


def _band(age: int) -> str:
    return next(b.code for b in reversed(BANDS) if age >= b.min)


def _population(sizes: list[int]) -> pa.Table:
    """A population table for MUNS × 2024-2025 × sex 1/2 × every band, sizes drawn in order."""
    rows, k = [], 0
    for m in MUNS:
        for y in (2024, 2025):
            for s in ("1", "2"):
                for b in BANDS:
                    rows.append({"municipality": m, "year": y, "sex": s, "age_band": b.code,
                                 "population": sizes[k % len(sizes)]})
                    k += 1
    return pa.Table.from_pylist(rows, schema=arrow_schema("population"))


POPS = st.lists(st.sampled_from([0, 1, 3, 40, 900, 12000]), min_size=1, max_size=120).map(_population)
STAYS = st_kad.stays(max_rows=30, patients=10, start=dt.date(2024, 1, 1), end=dt.date(2025, 12, 31))


def _label(d: dt.date) -> str:
    return f"{d.year}-Q{(d.month - 1) // 3 + 1}"


def _oracle(stays: list[dict[str, Any]], pop: list[dict[str, Any]], weights: dict[tuple[str, str], float],
            ) -> dict[tuple[str, str], tuple[float, float, float | None, float | None, float | None]]:
    """(period, municipality) -> (numerator, denominator, DSR, lower, upper), row by row from the prose."""
    n: dict[tuple[str, int, str, str], float] = defaultdict(float)
    for r in pop:
        if r["age_band"] in ADULT and r["sex"] in ("1", "2"):
            n[(r["municipality"], r["year"], r["sex"], r["age_band"])] += r["population"]
    cells: dict[tuple[str, str], dict[str, Any]] = {}
    for (m, y, _, _), size in n.items():
        for q in range(4):
            start = dt.date(y, 3 * q + 1, 1)
            if size > 0 and start < AS_OF.date():
                cells.setdefault((_label(start), m), defaultdict(float))
    for s in stays:
        day = s["admitted_at"].astimezone(OSLO).date()
        if s["age"] < 18 or s["municipality"] is None:
            continue
        cell = cells.setdefault((_label(day), s["municipality"]), defaultdict(float))
        key = (s["municipality"], day.year, s["sex"], _band(s["age"]))
        if s["sex"] in ("1", "2") and n.get(key, 0) > 0:
            cell[(s["sex"], _band(s["age"]))] += 1
    out = {}
    total_w = sum(weights.values())
    for (period, m), obs in cells.items():
        year = int(period[:4])
        num = sum(obs.values())
        den = sum(v for (mm, yy, _, _), v in n.items() if mm == m and yy == year)
        if den == 0:
            out[(period, m)] = (num, den, None, None, None)
            continue
        y = var = 0.0
        wm = 0.0
        for (sex, band), w in weights.items():
            size = n.get((m, year, sex, band), 0)
            if size > 0:  # an empty stratum has rate 0 and keeps its weight
                o = obs.get((sex, band), 0)
                y += w * o / size / total_w
                var += w * w * o / size**2 / total_w**2
                wm = max(wm, w / size / total_w)
        lo = 0.0 if y == 0 else gamma.ppf(0.025, y * y / var, scale=var / y)
        hi = gamma.ppf(0.975, (y + wm) ** 2 / (var + wm * wm), scale=(var + wm * wm) / (y + wm))
        out[(period, m)] = (num, den, 1000 * y, 1000 * lo, 1000 * hi)
    return out


def _run(stays: pa.Table, pop: pa.Table, **kw: Any) -> pa.Table:
    return kad.compute(stays=stays, units=st_kad.default_units(), population=pop, indicators=[IID],
                       by=("municipality",), period="quarter", as_of=AS_OF, suppression=1, **kw)


ESP_WEIGHTS = {(s, b): float(w) for s in ("1", "2") for b, w in ESP.items()}


@settings(max_examples=40)
@given(stays=STAYS, pop=POPS)
def test_agrees_with_row_by_row_oracle(stays: pa.Table, pop: pa.Table) -> None:
    """Numerator, denominator, DSR and gamma limits equal a plain Python DSR written from the spec."""
    want = _oracle(stays.to_pylist(), pop.to_pylist(), ESP_WEIGHTS)
    got = {(r["period"], r["municipality"]): r for r in _run(stays, pop).to_pylist()}
    assert set(got) == set(want)
    for key, (num, den, value, lo, hi) in want.items():
        row = got[key]
        assert (row["numerator"], row["denominator"]) == (num, den)
        for col, x in (("value", value), ("ci_lower", lo), ("ci_upper", hi)):
            if x is None:
                assert row[col] is None and row["reason"] == "no_data"
            else:
                assert row[col] == pytest.approx(x, rel=1e-9, abs=1e-12), col


def test_esp2013_weights_are_the_exact_aggregation_of_the_published_standard() -> None:
    """Each band's weight = the 5-year weights inside it + the covered share of a split group."""
    raw = _yaml.load(spec_root() / "standard-populations" / "esp2013.yaml")
    groups = raw["source_weights"]
    assert sum(g["weight"] for g in groups) == 100_000
    for band in BANDS:
        if band.min < 18:
            continue
        lo, hi = band.min, band.max if band.max is not None else 200
        total = Fraction(0)
        for g in groups:
            g_hi = g["to"] if g["to"] is not None else 200
            covered = max(0, min(hi, g_hi) - max(lo, g["from"]))
            # the open group 95+ lies wholly inside 90+
            share = Fraction(1) if g["to"] is None and lo <= g["from"] else Fraction(covered, g_hi - g["from"])
            total += share * g["weight"] if covered else 0
        for sex in ("1", "2"):
            assert standard_population("esp2013").weights[f"{sex}|{band.code}"] == float(total)
    assert standard_population("esp2013").weights["1|18-49"] == 41700.0  # 2/5 of 5500 + 39500


def test_standardisation_keeps_a_uniform_rate_and_the_crude_rate_of_a_standard_shaped_population() -> None:
    """Equal stratum rates give that rate; a population shaped like the standard gives the crude rate."""
    # population exactly proportional to ESP (×0.1), 1 stay per 1 000 inhabitants... in expectation:
    # here one stay in each of two strata whose populations are equal to their weights / 10.
    rows = [{"municipality": "3301", "year": 2024, "sex": s, "age_band": b, "population": w // 10}
            for s in ("1", "2") for b, w in ESP.items()]
    pop = pa.Table.from_pylist(rows, schema=arrow_schema("population"))
    stays = _stays([("1", 30), ("2", 70), ("2", 75)])
    res = kad.compute(stays=stays, population=pop, indicators=[IID], by=("municipality",),
                      as_of=dt.date(2025, 1, 1), suppression=1)
    row = res.to_pylist()[0]
    assert row["value"] == pytest.approx(1000 * row["numerator"] / row["denominator"], rel=1e-12)
    # uniform rates: 1/100 in every stratum of a population of 100 per stratum
    rows = [{"municipality": "3301", "year": 2024, "sex": s, "age_band": b, "population": 100}
            for s in ("1", "2") for b in ESP]
    pop = pa.Table.from_pylist(rows, schema=arrow_schema("population"))
    ages = {"18-49": 30, "50-66": 60, "67-79": 70, "80-89": 85, "90+": 95}
    stays = _stays([(s, a) for s in ("1", "2") for a in ages.values()])
    res = kad.compute(stays=stays, population=pop, indicators=[IID], by=("municipality",),
                      as_of=dt.date(2025, 1, 1), suppression=1)
    assert res["value"][0].as_py() == pytest.approx(10.0, rel=1e-12)


def _stays(people: list[tuple[str, int]]) -> pa.Table:
    t0 = dt.datetime(2024, 3, 1, 10, tzinfo=OSLO)
    rows = [{"stay_id": f"S{i}", "patient_id": f"P{i}", "unit_id": st_kad.DEFAULT_UNIT, "municipality": "3301",
             "admitted_at": t0 + dt.timedelta(days=i), "discharged_at": t0 + dt.timedelta(days=i, hours=30),
             "age": age, "sex": sex, "care_track": "somatic", "discharged_to": "home"}
            for i, (sex, age) in enumerate(people)]
    return pa.Table.from_pylist(rows, schema=arrow_schema("stays"))


def _as_population(weights: dict[str, int]) -> pa.Table:
    rows = [{"municipality": "3301", "year": 2024, "sex": k.split("|")[0], "age_band": k.split("|")[1],
             "population": w} for k, w in weights.items()]
    return pa.Table.from_pylist(rows, schema=arrow_schema("population"))


REGION = kad.synth.generate(years=(2024,), seed=3, scale=0.1)


def _region(**kw: Any) -> pa.Table:
    return kad.compute(stays=REGION.stays, units=REGION.units, population=REGION.population, indicators=[IID],
                       by=("municipality",), as_of=dt.date(2025, 1, 1), suppression=1, **kw)


def test_a_chosen_standard_population_table() -> None:
    """standard_population= takes a population-schema table; its weights are recorded in the metadata."""
    default = _region()
    esp_table = _as_population({f"{s}|{b}": w * 3 for s in ("1", "2") for b, w in ESP.items()})
    same = _region(standard_population=esp_table)  # proportional to ESP: the same rates
    pairs = [(x, y) for x, y in zip(same["value"].to_pylist(), default["value"].to_pylist(), strict=True)
             if x is not None or y is not None]
    assert len(pairs) > 3 and all(x == pytest.approx(y, rel=1e-12) for x, y in pairs)
    assert kad.result_metadata(same)["standard_populations"][IID]["id"] == "table"
    assert kad.result_metadata(default)["standard_populations"][IID]["id"] == "esp2013"
    # the region's own population as the standard: a different, valid weighting
    own = _region(standard_population=REGION.population)
    weights = kad.result_metadata(own)["standard_populations"][IID]["weights"]
    adult = REGION.population.filter(pc.is_in(REGION.population["age_band"], value_set=pa.array(ADULT)))
    assert sum(weights.values()) == pc.sum(adult["population"]).as_py()
    assert own["value"].to_pylist() != default["value"].to_pylist()
    assert own["numerator"].to_pylist() == default["numerator"].to_pylist()
    # by name
    assert _region(standard_population="esp2013").equals(default)


def test_bad_standard_populations_are_refused_in_both_languages() -> None:
    """An unknown id or a table without every stratum is a StandardPopulationError (nb and en)."""
    with pytest.raises(StandardPopulationError) as err:
        _region(standard_population="who2000")
    assert "esp2013" in err.value.message("en") and "ukjent" in err.value.message("nb")
    partial_std = _as_population({f"2|{b}": w for b, w in ESP.items()})  # women only
    with pytest.raises(StandardPopulationError) as err:
        _region(standard_population=partial_std)
    assert "1|18-49" in err.value.message("en") and "mangler" in err.value.message("nb")
    with pytest.raises(ValueError):
        standard_population(_as_population({f"{s}|{b}": 0 for s in ("1", "2") for b in ESP}))


def test_partials_keep_strata_and_merge_exactly_with_a_chosen_standard() -> None:
    """compute_partials keeps counts per standardisation stratum; merge reproduces compute."""
    std = _as_population({f"{s}|{b}": 100 + 7 * i for i, (s, b) in enumerate(
        (s, b) for s in ("1", "2") for b in ESP)})
    part = [hashlib.sha256(p.encode()).digest()[0] % 2 for p in REGION.stays["patient_id"].to_pylist()]
    mask = pa.array([x == 0 for x in part])
    kw: dict[str, Any] = {"units": REGION.units, "population": REGION.population, "indicators": [IID],
                          "by": ("municipality",), "as_of": dt.date(2025, 1, 1), "since": dt.date(2024, 1, 1),
                          "standard_population": std}
    a = kad.compute_partials(stays=REGION.stays.filter(mask), **kw)
    b = kad.compute_partials(stays=REGION.stays.filter(pc.invert(mask)), reference_denominators=False, **kw)
    strata = set(a["standard_stratum"].drop_null().to_pylist())
    assert strata == {f"{s}|{band}" for s in ("1", "2") for band in ESP}
    whole = kad.compute(stays=REGION.stays, **kw)
    assert kad.merge([a, b]).equals(whole)
    other = kad.compute_partials(stays=REGION.stays.filter(pc.invert(mask)), reference_denominators=False,
                                 **{**kw, "standard_population": "esp2013"})
    with pytest.raises(ValueError, match="standard_populations"):
        kad.merge([a, other])
