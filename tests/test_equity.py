"""kadindicators.equity: variation between municipalities (SCV) and funnel flags.

Checked against the hand-worked examples in spec/methods/equity-cases, against plain-Python
oracles written here (exact fractions for the SCV, scipy's distribution functions for the
funnel limits), and with hypothesis properties.
"""

from __future__ import annotations

import datetime as dt
import itertools
import json
import math
import random
from fractions import Fraction
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from scipy import stats as sps  # type: ignore[import-untyped]

import kadindicators as kad
from kadindicators import _yaml, equity
from kadindicators.errors import InputError
from kadindicators.testing.conformance import cell_text

ROOT = Path(__file__).resolve().parent.parent
METHOD = ROOT / "spec" / "methods" / "equity.yaml"
CASES = sorted((ROOT / "spec" / "methods" / "equity-cases").rglob("*.yaml"))
OSLO = ZoneInfo("Europe/Oslo")
BANDS = [("18-49", 18, 50), ("50-66", 50, 67), ("67-79", 67, 80), ("80-89", 80, 90), ("90+", 90, 200)]
# municipalities valid in 2024 (Buskerud and Akershus)
CODES = ["3301", "3303", "3305", "3310", "3312", "3314", "3316", "3318", "3320", "3322"]


# ============================================================================ worked examples


def _text_table(table: str, rows: list[dict[str, Any]]) -> pa.Table:
    names = kad.arrow_schema(table).names
    used = [n for n in names if any(n in r for r in rows)]
    return pa.table({n: pa.array([cell_text(r.get(n)) for r in rows], pa.string()) for n in used})


def _result_table(rows: list[dict[str, Any]], confidence: float | None) -> pa.Table:
    types = {"numerator": pa.float64(), "denominator": pa.float64(), "value": pa.float64(),
             "ci_lower": pa.float64(), "ci_upper": pa.float64(), "suppressed": pa.bool_()}
    cols = list(dict.fromkeys(k for r in rows for k in r))
    t = pa.table({c: pa.array([r.get(c) for r in rows], types.get(c, pa.string())) for c in cols})
    meta = {b"kadindicators.strata": b"[]"}
    if confidence is not None:
        meta[b"kadindicators.confidence"] = json.dumps(confidence).encode()
    return t.replace_schema_metadata(meta)


def _dotted(doc: Any, path: str) -> bool:
    for part in path.split("."):
        if not isinstance(doc, dict) or part not in doc:
            return False
        doc = doc[part]
    return True


@pytest.mark.parametrize("path", CASES, ids=[f"{p.parent.name}/{p.stem}" for p in CASES])
def test_worked_example(path: Path) -> None:
    """Every hand-checked case of the method spec gives its expected rows."""
    case = _yaml.load(path)
    assert _dotted(_yaml.load(METHOD), case["spec_ref"]), f"spec_ref {case['spec_ref']} is not in equity.yaml"
    assert case["description"]["nb"] and case["description"]["en"]
    p = case["parameters"]
    want = case["expected"]
    if case["method"] == "variation":
        tables = {k: _text_table(k, v) for k, v in case["input"].items()}
        got = equity.variation(**tables, indicator=p["indicator"], period=p["period"],
                               suppression=int(p["suppression"]), as_of=dt.datetime.fromisoformat(p["as_of"]))
        rows = got.to_pylist()
        assert [r["period"] for r in rows] == [str(w["period"]) for w in want["rows"]]
        for g, w in zip(rows, want["rows"], strict=True):
            for col in ("municipalities", "shown", "scv_status", "scv_reason", "scv_x100"):
                assert g[col] == w[col], (g["period"], col, g[col], w[col])
            for col in ("lowest", "highest", "range", "ratio", "cv"):
                if w[col] is None:
                    assert g[col] is None, (g["period"], col, g[col])
                else:
                    assert g[col] == pytest.approx(w[col], abs=1e-6), (g["period"], col)
        return
    assert case["method"] == "funnel_flags"
    table = _result_table(case["input"]["results"], p.get("confidence"))
    kw = {"levels": p["levels"], "overdispersion": p["overdispersion"], "target": p.get("target")}
    if "error" in want:
        assert want["error"] == "unsupported_indicator"
        with pytest.raises(equity.UnsupportedIndicatorError) as err:
            equity.funnel_flags(table, **kw)
        assert err.value.message("nb") != err.value.message("en")
        return
    got = equity.funnel_flags(table, **kw).to_pylist()
    for g, w in zip(got, want["rows"], strict=True):
        for col, v in w.items():
            assert g[col] == v, (w, col, g[col])


def test_every_case_folder_is_a_method() -> None:
    """The case folders are the two methods, and both have cases."""
    assert {p.parent.name for p in CASES} == {"variation", "funnel_flags"}


def test_method_spec_is_bilingual_and_cited() -> None:
    """Every text of the method spec has nb and en; the SCV paper is cited."""
    doc = _yaml.load(METHOD)

    def texts(node: Any) -> list[Any]:
        if isinstance(node, dict):
            found = [node] if set(node) == {"nb", "en"} else []
            return found + [t for v in node.values() for t in texts(v)]
        if isinstance(node, list):
            return [t for v in node for t in texts(v)]
        return []

    all_texts = texts(doc)
    assert len(all_texts) >= 10
    assert all(t["nb"].strip() and t["en"].strip() and t["nb"] != t["en"] for t in all_texts)
    cites = " ".join(r["citation"] for r in doc["references"])
    assert "McPherson" in cites and "1982;307" in cites and "Spiegelhalter" in cites
    assert "TODO" not in METHOD.read_text(encoding="utf-8")


# ============================================================================ an oracle for SCV


def _band(age: int) -> str | None:
    return next((b for b, lo, hi in BANDS if lo <= age < hi), None)


def _oracle_cells(stays: pa.Table, population: pa.Table) -> dict[tuple[str, str, str, str], tuple[int, int]]:
    """O_mj and n_mj by (year, municipality, sex, age band), by plain loops over the rows."""
    adult = {b for b, _, _ in BANDS}
    pop: dict[tuple[str, str, str, str], int] = {}
    for r in population.to_pylist():
        if r["sex"] in ("1", "2") and r["age_band"] in adult:
            key = (str(r["year"]), r["municipality"], r["sex"], r["age_band"])
            pop[key] = pop.get(key, 0) + int(r["population"])
    obs: dict[tuple[str, str, str, str], int] = {}
    for r in stays.to_pylist():
        year = str(r["admitted_at"].astimezone(OSLO).year)
        if r["age"] is None or r["age"] < 18 or r["sex"] not in ("1", "2") or r["municipality"] is None:
            continue
        key = (year, r["municipality"], r["sex"], _band(r["age"]) or "")
        if pop.get(key, 0) > 0:
            obs[key] = obs.get(key, 0) + 1
    return {k: (obs.get(k, 0), n) for k, n in pop.items() if n > 0}


def _oracle_scv(cells: dict[tuple[str, str, str, str], tuple[int, int]], year: str) -> Fraction | None:
    """McPherson's SCV with exact fractions, from O_mj and n_mj."""
    mine = {k: v for k, v in cells.items() if k[0] == year}
    strata = {(k[2], k[3]) for k in mine}
    rate = {}
    for s in strata:
        o = sum(v[0] for k, v in mine.items() if (k[2], k[3]) == s)
        n = sum(v[1] for k, v in mine.items() if (k[2], k[3]) == s)
        rate[s] = Fraction(o, n)
    muns = sorted({k[1] for k in mine})
    terms = []
    for m in muns:
        o = sum(v[0] for k, v in mine.items() if k[1] == m)
        e = sum(rate[(k[2], k[3])] * v[1] for k, v in mine.items() if k[1] == m)
        if e > 0:
            terms.append((Fraction(o) - e) ** 2 / e**2 - 1 / e)
    if len(terms) < 2:
        return None
    return sum(terms, Fraction(0)) / len(terms)


@pytest.fixture(scope="module")
def region() -> Any:
    return kad.synth.generate(years=(2024,), seed=5, scale=0.5)


def test_variation_agrees_with_an_exact_oracle_on_the_synthetic_region(region: Any) -> None:
    """SCV (without suppression) is McPherson's formula; lowest/highest are the shown KAD-U01S rates."""
    v = equity.variation(stays=region.stays, population=region.population, suppression=1).to_pylist()
    report = kad.validate(stays=region.stays, population=region.population)
    cells = _oracle_cells(report.valid, report.tables["population"])
    scv = _oracle_scv(cells, "2024")
    assert scv is not None
    assert v[0]["scv_status"] == "ok"
    assert v[0]["scv_x100"] == round(float(100 * scv), 1)
    assert v[0]["municipalities"] == len({k[1] for k in cells})
    rates = kad.compute(stays=region.stays, population=region.population, indicators=["KAD-U01S"],
                        by=("municipality",), suppression=1)
    shown = [r["value"] for r in rates.to_pylist() if r["status"] == "ok"]
    assert v[0]["shown"] == len(shown)
    assert v[0]["lowest"] == min(shown) and v[0]["highest"] == max(shown)
    assert v[0]["cv"] == pytest.approx(float(np.std(shown, ddof=1) / np.mean(shown)))


def test_observed_counts_are_the_numerator_of_kad_u01s(region: Any) -> None:
    """Σ over strata of the counts the SCV uses equals the KAD-U01S numerator per municipality."""
    cells = kad.compute(stays=region.stays, population=region.population, indicators=["KAD-U01"],
                        by=("municipality",), strata=("sex", "age_band"), suppression=1)
    per = equity._expected(cells)
    u01s = kad.compute(stays=region.stays, population=region.population, indicators=["KAD-U01S"],
                       by=("municipality",), suppression=1)
    num = {r["municipality"]: r["numerator"] for r in u01s.to_pylist() if r["denominator"]}
    got = dict(zip(per["municipality"].to_pylist(), per["observed"].to_pylist(), strict=True))
    assert got == num
    assert sum(per["expected"].to_pylist()) == pytest.approx(sum(per["observed"].to_pylist()))


def test_variation_never_exposes_counts_and_has_provenance(region: Any) -> None:
    """Only aggregate columns come out; provenance names the method and its version."""
    v = equity.variation(stays=region.stays, population=region.population, indicator="KAD-U01")
    assert v.schema.names == equity.VARIATION_SCHEMA.names
    assert not {"numerator", "denominator", "observed", "expected", "sex", "age_band"} & set(v.column_names)
    meta = kad.result_metadata(v)
    assert meta["equity"]["method"] == "equity" and meta["equity"]["version"] == _yaml.load(METHOD)["version"]
    assert meta["equity"]["indicator"] == "KAD-U01" and meta["input_fingerprint"]
    assert meta["suppression"] == 5


def test_variation_refuses_other_indicators(region: Any) -> None:
    """Only KAD-U01 and KAD-U01S are described; the refusal is bilingual."""
    with pytest.raises(equity.UnsupportedIndicatorError) as err:
        equity.variation(stays=region.stays, population=region.population, indicator="KAD-Q01")
    assert "KAD-Q01" in err.value.message("nb") and "beskriver" in err.value.message("nb")
    assert "describes" in err.value.message("en")


def test_published_results_narrow_the_shown_set(region: Any) -> None:
    """With protected results, the range uses only what they show, and nothing else changes."""
    from kadindicators.disclosure import protect_results

    kw = {"stays": region.stays, "population": region.population, "units": region.units}
    by_mun = kad.compute(**kw, indicators=["KAD-U01S"], by=("municipality",))
    total = kad.compute(**kw, indicators=["KAD-U01S"], by=())
    prot = protect_results(pa.concat_tables([by_mun, total], promote_options="default"))
    mun_rows = prot.filter(pc.is_valid(prot["municipality"]))
    plain = equity.variation(**kw).to_pylist()[0]
    pub = equity.variation(**kw, results=mun_rows).to_pylist()[0]
    shown = [r["value"] for r in mun_rows.to_pylist() if r["status"] == "ok" and not r["suppressed"]]
    assert pub["shown"] == len(shown) <= plain["shown"]
    assert pub["lowest"] == min(shown) and pub["highest"] == max(shown)
    assert (pub["scv_x100"], pub["scv_status"]) == (plain["scv_x100"], plain["scv_status"])
    other = kad.synth.generate(years=(2024,), seed=6, scale=0.5)
    with pytest.raises(InputError, match="other data"):
        equity.variation(stays=other.stays, population=other.population, units=other.units, results=mun_rows)
    with pytest.raises(InputError, match="more than one row"):
        equity.variation(**kw, results=pa.concat_tables([mun_rows, mun_rows]))


# ============================================================================ hypothesis: SCV


@st.composite
def small_areas(draw: st.DrawFn) -> tuple[list[str], list[tuple[int, int]], list[tuple[int, int]]]:
    """k municipalities × 2 strata: populations and stays."""
    k = draw(st.integers(2, 5))
    codes = draw(st.permutations(CODES))[:k]
    pops = [(draw(st.integers(0, 3000)), draw(st.integers(0, 800))) for _ in range(k)]
    assume(all(a + b > 0 for a, b in pops))
    obs = [(draw(st.integers(0, 9)) if a else 0, draw(st.integers(0, 9)) if b else 0) for a, b in pops]
    assume(sum(a + b for a, b in obs) > 0)  # a table of stays without rows is not an input
    return codes, pops, obs


def _tables(codes: list[str], pops: list[tuple[int, int]], obs: list[tuple[int, int]],
            order: list[int] | None = None) -> tuple[pa.Table, pa.Table]:
    stays, population = [], []
    i = 0
    for m, (n1, n2), (o1, o2) in zip(codes, pops, obs, strict=True):
        population += [{"municipality": m, "year": 2024, "sex": "1", "age_band": "18-49", "population": n1},
                       {"municipality": m, "year": 2024, "sex": "2", "age_band": "67-79", "population": n2}]
        for sex, age, count in (("1", 30, o1), ("2", 70, o2)):
            for _ in range(count):
                i += 1
                stays.append({"stay_id": f"S{i}", "patient_id": f"P{i}", "unit_id": "U1", "municipality": m,
                              "admitted_at": f"2024-03-{1 + i % 27:02d}T10:00",
                              "discharged_at": f"2024-03-{2 + i % 27:02d}T10:00", "age": age, "sex": sex,
                              "care_track": "somatic", "discharged_to": "home"})
    if order is not None:
        stays = [stays[j % len(stays)] for j in order[: len(stays)]] if stays else stays
    return _text_table("stays", stays), _text_table("population", population)


AS_OF = dt.datetime(2025, 1, 1)


@settings(max_examples=15)
@given(small_areas(), st.randoms(use_true_random=False))
def test_scv_is_exact_and_invariant_to_municipality_order(areas: Any, rnd: random.Random) -> None:
    """SCV equals the exact oracle, and renaming/reordering municipalities or stays changes nothing."""
    codes, pops, obs = areas
    stays, population = _tables(codes, pops, obs)
    a = equity.variation(stays=stays, population=population, suppression=1, as_of=AS_OF).to_pylist()[0]
    cells = {("2024", m, s, b): (o, n)
             for m, (n1, n2), (o1, o2) in zip(codes, pops, obs, strict=True)
             for s, b, o, n in (("1", "18-49", o1, n1), ("2", "67-79", o2, n2)) if n > 0}
    exact = _oracle_scv(cells, "2024")
    if exact is None:
        assert (a["scv_x100"], a["scv_status"], a["scv_reason"]) == (None, "not_applicable", "no_data")
    else:
        x = 100 * exact
        assume(abs(x * 10 - math.floor(x * 10) - Fraction(1, 2)) > Fraction(1, 10**6))  # no rounding tie
        assert a["scv_x100"] == round(float(x), 1) and a["scv_status"] == "ok"
    perm = list(range(len(codes)))
    rnd.shuffle(perm)
    renamed = [codes[j] for j in perm]  # municipality i gets another municipality's code
    n_stays = sum(o1 + o2 for o1, o2 in obs)
    order = list(range(n_stays))
    rnd.shuffle(order)
    stays2, population2 = _tables(renamed, pops, obs, order)
    population2 = population2.take(pa.array(list(reversed(range(population2.num_rows)))))
    b = equity.variation(stays=stays2, population=population2, suppression=1, as_of=AS_OF).to_pylist()[0]
    for col in ("municipalities", "shown", "lowest", "highest", "range", "ratio", "scv_x100", "scv_status"):
        assert a[col] == b[col] or (a[col] is not None and b[col] == pytest.approx(a[col], rel=1e-12)), col


def _brute_force(o: list[int], e: list[Fraction], hidden: list[bool], adults: list[int], t: int
                 ) -> tuple[Fraction, set[int]]:
    """The attacker, in plain Python with exact fractions: which hidden counts are determined."""
    k = len(o)

    def scv(values: list[int]) -> Fraction:
        return sum(((Fraction(v) - ei) / ei) ** 2 - 1 / ei for v, ei in zip(values, e, strict=True)) / k

    hid = [i for i in range(k) if hidden[i]]
    total = sum(o[i] for i in hid)
    ranges = [range(1, t) if adults[i] >= t else range(total + 1) for i in hid]
    truth = scv(o)
    target = round(100 * truth, 1)  # Fraction rounding: half to even, exact
    feasible = []
    for combo in itertools.product(*ranges):
        if sum(combo) != total:
            continue
        values = list(o)
        for i, v in zip(hid, combo, strict=True):
            values[i] = v
        if round(100 * scv(values), 1) == target:
            feasible.append(combo)
    determined = {hid[j] for j in range(len(hid)) if len({c[j] for c in feasible}) == 1}
    return truth, determined


@st.composite
def hidden_areas(draw: st.DrawFn) -> tuple[list[int], list[Fraction], list[bool], list[int]]:
    k = draw(st.integers(2, 7))
    t = 5
    hidden = [draw(st.booleans()) for _ in range(k)]
    adults = [draw(st.sampled_from([3, 800, 1500, 4000])) for _ in range(k)]
    o = [draw(st.integers(1, t - 1)) if h and a >= t else draw(st.integers(t, 30)) if not h else
         draw(st.integers(0, 6)) for h, a in zip(hidden, adults, strict=True)]
    e = [Fraction(draw(st.integers(5, 400)), 20) for _ in range(k)]
    return o, e, hidden, adults


@settings(max_examples=60)
@given(hidden_areas())
def test_scv_disclosure_check_agrees_with_a_brute_force_attacker(case: Any) -> None:
    """SCV is published exactly when no suppressed count can be worked out from it."""
    o, e, hidden, adults = case
    truth, determined = _brute_force(o, e, hidden, adults, 5)
    x = 100 * truth
    assume(abs(x * 10 - math.floor(x * 10) - Fraction(1, 2)) > Fraction(1, 10**6))
    value, reason = equity._scv_checked(np.array(o, dtype=float), np.array([float(v) for v in e]),
                                        np.array(hidden), np.array(adults, dtype=float), 5,
                                        scale=100.0, digits=1, limit=1 << 20)
    assert value == round(float(x), 1)
    assert (reason is None) == (not determined and sum(hidden) != 1)
    if reason is not None:
        assert reason == "disclosive"


def test_scv_check_gives_up_safely_when_there_are_too_many_combinations() -> None:
    """Above the enumeration limit the SCV is withheld as not_checked, never published unchecked."""
    o = np.array([2.0, 3.0, 1.0, 40.0])
    e = np.array([2.5, 2.5, 2.5, 38.5])
    hidden = np.array([True, True, True, False])
    _, reason = equity._scv_checked(o, e, hidden, np.full(4, 1000.0), 5, scale=100.0, digits=1, limit=3)
    assert reason == "not_checked"


def test_one_hidden_municipality_always_withholds() -> None:
    """With one suppressed municipality the region's total gives it away: SCV is withheld."""
    _, reason = equity._scv_checked(np.array([2.0, 30.0, 40.0]), np.array([5.0, 30.0, 37.0]),
                                    np.array([True, False, False]), np.full(3, 900.0), 5,
                                    scale=100.0, digits=1, limit=1 << 20)
    assert reason == "disclosive"


# ============================================================================ funnel flags


def _oracle_limit(p: float, n: float, target: float, family: str) -> float:
    """Spiegelhalter's interpolated quantile, searched step by step with scipy's cdf/pmf."""
    dist = sps.binom(int(n), target) if family == "binomial" else sps.poisson(n * target)
    top = int(n) if family == "binomial" else int(n * target + 12 * math.sqrt(n * target) + 30)
    cdf = dist.cdf(np.arange(top + 1))
    r = int(np.argmax(cdf >= p))  # the smallest r with P(X <= r) >= p
    assert cdf[r] >= p
    alpha = (cdf[r] - p) / dist.pmf(r)
    limit = (r - alpha) / n
    return min(max(limit, 0.0), 1.0) if family == "binomial" else max(limit, 0.0)


def _oracle_flag(y: float, lo: float, hi: float) -> str | None:
    if abs(y - lo) < 1e-9 or abs(y - hi) < 1e-9:
        return "tie"
    return "high" if y > hi else "low" if y < lo else "within"


@st.composite
def proportion_results(draw: st.DrawFn) -> pa.Table:
    k = draw(st.integers(1, 8))
    rows = []
    for i in range(k):
        n = draw(st.integers(0, 300))
        x = draw(st.integers(0, n))
        sup = draw(st.booleans()) and n > 0
        status = "suppressed" if sup else "ok" if n > 0 else "not_applicable"
        rows.append({"indicator_id": "KAD-Q01", "indicator_version": "1.0.0", "period": "2024",
                     "unit_id": f"U{i}",
                     "numerator": None if sup else float(x), "denominator": float(n),
                     "value": None if sup or n == 0 else x / n, "suppressed": sup, "status": status})
    return _result_table(rows, 0.95)


@st.composite
def rate_results(draw: st.DrawFn) -> pa.Table:
    k = draw(st.integers(1, 8))
    rows = []
    for i in range(k):
        n = draw(st.integers(1, 20_000))
        x = draw(st.integers(0, max(1, n // 50)))
        sup = 1 <= x < 5 and draw(st.booleans())
        rows.append({"indicator_id": "KAD-U01", "indicator_version": "1.0.0", "period": "2024",
                     "municipality": CODES[i], "numerator": None if sup else float(x),
                     "denominator": float(n),
                     "value": None if sup else 1000 * x / n, "suppressed": sup,
                     "status": "suppressed" if sup else "ok"})
    return _result_table(rows, 0.95)


def _check_flags(table: pa.Table, flagged: pa.Table, family: str, target: float | None = None) -> None:
    rows = table.to_pylist()
    out = flagged.to_pylist()
    ok = [r for r in rows if r["status"] == "ok" and not r["suppressed"] and (r["denominator"] or 0) > 0]
    if target is None and ok:
        target = sum(r["numerator"] for r in ok) / sum(r["denominator"] for r in ok)
    for r, f in zip(rows, out, strict=True):
        # suppressed and empty rows are never flagged
        if r not in ok:
            assert f["funnel_95"] is None and f["funnel_998"] is None
            continue
        # flags are monotone in the level: outside 99.8 % implies outside 95 % on the same side
        if f["funnel_998"] in ("high", "low"):
            assert f["funnel_95"] == f["funnel_998"]
        if f["funnel_95"] == "within":
            assert f["funnel_998"] == "within"
        assert target is not None
        y = r["numerator"] / r["denominator"]
        for level, col in ((0.95, "funnel_95"), (0.998, "funnel_998")):
            p = (1 - level) / 2
            lo = _oracle_limit(p, r["denominator"], target, family)
            hi = _oracle_limit(1 - p, r["denominator"], target, family)
            want = _oracle_flag(y, lo, hi)
            if target in (0.0, 1.0):
                continue  # degenerate limits: checked in stats
            if want != "tie":
                assert f[col] == want, (r, col, lo, hi)


@settings(max_examples=40)
@given(proportion_results())
def test_binomial_flags_agree_with_scipy_and_are_monotone(table: pa.Table) -> None:
    """Exact binomial flags equal an independent scipy computation; suppressed rows stay unflagged."""
    _check_flags(table, equity.funnel_flags(table), "binomial")


@settings(max_examples=40)
@given(rate_results(), st.sampled_from([None, 2.5, 6.0]))
def test_poisson_flags_agree_with_scipy_and_are_monotone(table: pa.Table, target: float | None) -> None:
    """Exact Poisson flags for rates per 1,000, pooled or given target, equal scipy's."""
    flagged = equity.funnel_flags(table, target=target)
    _check_flags(table, flagged, "poisson", None if target is None else target / 1000)


@settings(max_examples=30)
@given(proportion_results(), st.randoms(use_true_random=False))
def test_flags_do_not_depend_on_row_order(table: pa.Table, rnd: random.Random) -> None:
    """Permuting the rows permutes the flags and nothing else."""
    order = list(range(table.num_rows))
    rnd.shuffle(order)
    a = equity.funnel_flags(table).to_pylist()
    b = equity.funnel_flags(table.take(pa.array(order))).to_pylist()
    assert [a[i] for i in order] == b


@st.composite
def mean_results(draw: st.DrawFn) -> tuple[pa.Table, list[tuple[float, float, float]]]:
    k = draw(st.integers(2, 12))
    rows, truth = [], []
    q = float(sps.t.ppf(0.975, 1))
    for i in range(k):
        n = draw(st.integers(1, 60))
        mean = draw(st.floats(0.5, 10))
        s = draw(st.floats(0.1, 5)) if n > 1 else 0.0
        q = float(sps.t.ppf(0.975, n - 1)) if n > 1 else math.nan
        half = q * s / math.sqrt(n) if n > 1 else None
        rows.append({"indicator_id": "KAD-U04", "indicator_version": "1.0.0", "period": "2024",
                     "unit_id": f"U{i}",
                     "numerator": mean * n, "denominator": float(n), "value": mean,
                     "ci_lower": None if half is None else mean - half,
                     "ci_upper": None if half is None else mean + half,
                     "suppressed": False, "status": "ok"})
        truth.append((float(n), mean, s))
    return _result_table(rows, 0.95), truth


@settings(max_examples=30)
@given(mean_results(), st.booleans())
def test_normal_flags_use_the_pooled_standard_deviation(case: Any, od: bool) -> None:
    """Means: σ from the rows' t intervals and means; limits θ ± z·√φ·σ/√n; monotone flags."""
    table, truth = case
    flagged = equity.funnel_flags(table, overdispersion=od)
    g = kad.result_metadata(flagged)["funnel"]["groups"][0]
    n = np.array([t[0] for t in truth])
    m = np.array([t[1] for t in truth])
    s = np.array([t[2] for t in truth])
    big = n.sum()
    theta = float((n * m).sum() / big)
    assume(big >= 2)
    sd = math.sqrt((((n - 1) * s**2).sum() + (n * (m - theta) ** 2).sum()) / (big - 1))
    assert g["target"] == pytest.approx(theta) and g["sd"] == pytest.approx(sd, rel=1e-9)
    phi = g["overdispersion"] or 1.0
    assert phi >= 1.0 and (g["overdispersion"] is None or (od and len(truth) >= 10))
    for r, (ni, mi, _) in zip(flagged.to_pylist(), truth, strict=True):
        for level, col in ((0.95, "funnel_95"), (0.998, "funnel_998")):
            half = float(sps.norm.ppf(1 - (1 - level) / 2)) * math.sqrt(phi) * sd / math.sqrt(ni)
            want = _oracle_flag(mi, theta - half, theta + half)
            if want != "tie":
                assert r[col] == want
        if r["funnel_998"] in ("high", "low"):
            assert r["funnel_95"] == r["funnel_998"]


def test_overdispersion_follows_the_spec_and_stats(region: Any) -> None:
    """φ comes from stats.overdispersion_factor over the shown rows, and only when asked for."""
    from kadindicators import stats

    res = kad.compute(stays=region.stays, units=region.units, indicators=["KAD-Q01"], suppression=1)
    rows = res.to_pylist()
    assert len(rows) >= 10  # enough units for a Winsorised factor
    x = np.array([r["numerator"] for r in rows])
    n = np.array([r["denominator"] for r in rows])
    want = stats.overdispersion_factor(x, n, x.sum() / n.sum())
    g = kad.result_metadata(equity.funnel_flags(res, overdispersion=True))["funnel"]["groups"][0]
    assert g["overdispersion"] == (want if want > 1 else None)
    plain = kad.result_metadata(equity.funnel_flags(res))["funnel"]["groups"][0]
    assert plain["overdispersion"] is None


def test_funnel_limits_reproduce_the_flags(region: Any) -> None:
    """funnel_limits() with a group's metadata gives the limits the flags were decided with."""
    res = kad.compute(stays=region.stays, units=region.units, population=region.population,
                      indicators=["KAD-U01"], by=("municipality",))
    flagged = equity.funnel_flags(res, overdispersion=True)
    g = kad.result_metadata(flagged)["funnel"]["groups"][0]
    for r in flagged.to_pylist():
        if r["funnel_95"] is None:
            continue
        lo, hi = equity.funnel_limits(g, [r["denominator"]])[0.95]
        high, low = r["value"] > hi[0] * (1 + 1e-12), r["value"] < lo[0] * (1 - 1e-12)
        want = "high" if high else "low" if low else None
        if want:
            assert r["funnel_95"] == want


def test_funnel_flags_refuse_what_they_cannot_flag(region: Any) -> None:
    """The whole catalogue is refused because of occupancy; the message is bilingual with a hint."""
    res = kad.compute(stays=region.stays, units=region.units, population=region.population)
    with pytest.raises(equity.UnsupportedIndicatorError) as err:
        equity.funnel_flags(res)
    assert isinstance(err.value, ValueError) and isinstance(err.value, kad.KadError)
    assert "kan ikke flagges" in err.value.message("nb") and "cannot be flagged" in err.value.message("en")
    assert "filter" in err.value.message("en") and "filtrer" in err.value.message("nb")
    by_mun = kad.compute(stays=region.stays, population=region.population, indicators=["KAD-U01S"],
                         by=("municipality",))
    for table in (res.filter(pc.equal(res["indicator_id"], "KAD-U04M")), by_mun):
        assert table.num_rows
        with pytest.raises(equity.UnsupportedIndicatorError):
            equity.funnel_flags(table)
    fake = res.filter(pc.equal(res["indicator_id"], "KAD-Q01"))
    fake = fake.set_column(0, "indicator_id", pa.array(["KAD-X99"] * fake.num_rows))
    with pytest.raises(equity.UnsupportedIndicatorError, match="not an indicator"):
        equity.funnel_flags(fake)
    old = res.filter(pc.equal(res["indicator_id"], "KAD-Q01"))
    old = old.set_column(1, "indicator_version", pa.array(["0.9.0"] * old.num_rows))
    with pytest.raises(equity.UnsupportedIndicatorError, match="major version"):
        equity.funnel_flags(old)
    with pytest.raises(InputError, match="lack the columns"):
        equity.funnel_flags(res.drop_columns(["status"]))
    q01 = res.filter(pc.equal(res["indicator_id"], "KAD-Q01"))
    with pytest.raises(ValueError, match="levels"):
        equity.funnel_flags(q01, levels=(0.95, 1.2))
    with pytest.raises(ValueError, match="single target"):
        equity.funnel_flags(res.filter(pc.is_in(res["indicator_id"], pa.array(["KAD-Q01", "KAD-Q05"]))),
                            target=0.2)


def test_skip_unsupported_flags_the_rest_as_if_filtered(region: Any) -> None:
    """skip_unsupported: null flags for occupancy and medians, the other rows as when filtered first."""
    res = kad.compute(stays=region.stays, units=region.units, population=region.population)
    out = equity.funnel_flags(res, skip_unsupported=True)
    info = json.loads(out.schema.metadata[b"kadindicators.funnel"])
    assert sorted(info["skipped"]) == ["KAD-U03", "KAD-U04M"]
    assert "cannot be flagged" in info["skipped"]["KAD-U03"]
    ids = out["indicator_id"].to_pylist()
    unsupported = [i in info["skipped"] for i in ids]
    assert any(unsupported) and not all(unsupported)
    assert all(f is None for f, u in zip(out["funnel_95"].to_pylist(), unsupported, strict=True) if u)
    rest = res.filter(pc.invert(pc.is_in(res["indicator_id"], pa.array(sorted(info["skipped"])))))
    alone = equity.funnel_flags(rest)
    kept = out.filter(pa.array([not u for u in unsupported]))
    for col in ("funnel_95", "funnel_998"):
        assert kept[col].to_pylist() == alone[col].to_pylist()
    assert {x for x in kept["funnel_95"].to_pylist() if x} >= {"within"}
    assert json.loads(alone.schema.metadata[b"kadindicators.funnel"])["groups"] == info["groups"]
    with pytest.raises(equity.UnsupportedIndicatorError):  # still refused without the option
        equity.funnel_flags(res)


def test_flags_keep_the_table_and_add_provenance(region: Any) -> None:
    """The input columns, rows and metadata are kept; a given target per indicator is used."""
    res = kad.compute(stays=region.stays, units=region.units, indicators=["KAD-Q01", "KAD-Q05"])
    flagged = equity.funnel_flags(res, levels=(0.9, 0.95, 0.998),
                                  target={"KAD-Q01": 0.2, ("KAD-Q05", "2024"): 0.5})
    assert flagged.column_names == [*res.column_names, "funnel_90", "funnel_95", "funnel_998"]
    assert flagged.select(res.column_names).equals(res)
    meta = kad.result_metadata(flagged)
    assert meta["input_fingerprint"] == kad.result_metadata(res)["input_fingerprint"]
    targets = {(g["indicator_id"], g["period"]): g["target"] for g in meta["funnel"]["groups"]}
    assert targets == {("KAD-Q01", "2024"): 0.2, ("KAD-Q05", "2024"): 0.5}
    with pytest.raises(InputError, match="already have"):
        equity.funnel_flags(flagged)


def test_means_need_t_intervals() -> None:
    """σ is recovered from t intervals: a mean with another interval cannot be flagged."""
    import attrs

    spec = kad.get_indicator("KAD-U04")
    assert equity._funnel_method(spec) == "normal"
    other = attrs.evolve(spec, statistics=attrs.evolve(spec.statistics, interval="bootstrap"))
    with pytest.raises(equity.UnsupportedIndicatorError, match="t intervals"):
        equity._funnel_method(other)
