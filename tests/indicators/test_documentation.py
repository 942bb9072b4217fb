"""KAD-D01 (valid main diagnosis) and KAD-D02 (data completeness): spec, hand-checked cases on
typed tables, and properties against a plain-Python oracle written here from the spec prose.

The generated tables are typed (the schema's Arrow types), so compute uses them as they are,
with values validation would have set empty (process codes, lower case, labels, blanks).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import random
import re
from collections import defaultdict
from fractions import Fraction
from typing import Any
from zoneinfo import ZoneInfo

import pyarrow as pa
import pyarrow.compute as pc
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import kadindicators as kad
from kadindicators import _yaml
from kadindicators._resources import spec_root
from kadindicators.disclosure import protect_results
from kadindicators.indicators.documentation import completeness_fields, diagnosis_codes, recorded
from kadindicators.schema import arrow_schema
from kadindicators.spec.indicators import load_indicators
from kadindicators.spec.loader import load_schema
from kadindicators.testing import strategies as st_kad

OSLO = ZoneInfo("Europe/Oslo")
UTC = dt.UTC
AS_OF = dt.datetime(2026, 1, 1, tzinfo=OSLO)
UNITS = st_kad.default_units()
SPEC = spec_root()

# -- the oracle: plain Python, row by row, from the spec prose and the YAML files --------------------

_STAYS_YAML = _yaml.load(SPEC / "schema" / "stays.yaml")
_FIELDS = {f["name"]: f for f in _STAYS_YAML["fields"]}
_ICPC2 = _yaml.load(SPEC / "codelists" / "icpc2.yaml")


def _rubric(code: str) -> int:
    return int(code[1:3])


# D01: components 1 and 7 (rubrics 01-29, 70-99) and the Norwegian extensions of those rubrics
ORACLE_DIAGNOSES = ({str(c["code"]) for c in _ICPC2["codes"]}
                    | {str(c["code"]) for c in _ICPC2["norwegian_extensions"] if not 30 <= _rubric(str(c["code"])) <= 69})
ICD10_PATTERN = re.compile(str(_FIELDS["diagnosis_icd10"]["pattern"]))
# D02: the recommended fields of stays, in schema order, then discharged_to
ORACLE_FIELDS = [f["name"] for f in _STAYS_YAML["fields"] if f.get("recommended")] + ["discharged_to"]


def _codes(codelist: str) -> set[str]:
    raw = _yaml.load(SPEC / "codelists" / f"{codelist}.yaml")
    codes = {str(c["code"]) for c in raw.get("codes", [])}
    codes |= {str(c["code"]) for c in raw.get("norwegian_extensions", []) or []}
    for ch in raw.get("chapters", []) or []:  # ICPC-2 process codes: with every chapter letter
        codes |= {f"{ch['code']}{p['code']}" for p in raw.get("process_codes", []) or []}
    return codes


CODES = {name: _codes(f["codelist"]) for name, f in _FIELDS.items() if f.get("codelist")}
BANDS = load_schema().age_bands


def _is_recorded(name: str, value: Any) -> bool:
    f = _FIELDS[name]
    if value is None or (isinstance(value, str) and not value.strip()):
        return False
    if f.get("codelist"):
        return value in CODES[name]
    if f.get("pattern"):
        return re.search(f["pattern"], value) is not None
    return True


def _label(d: dt.date, period: str) -> str:
    return {"year": f"{d.year}", "quarter": f"{d.year}-Q{(d.month - 1) // 3 + 1}",
            "month": f"{d.year}-{d.month:02d}"}[period]


def _dim(s: dict[str, Any], d: str) -> Any:
    if d == "age_band":
        return next(b.code for b in reversed(BANDS) if s["age"] >= b.min)
    return s[d]


def oracle(iid: str, stays: list[dict[str, Any]], *, by: tuple[str, ...], strata: tuple[str, ...],
           period: str = "quarter", as_of: dt.datetime = AS_OF) -> dict[tuple[Any, ...], list[Fraction]]:
    """(period, *by, *strata) -> [numerator, denominator], as exact fractions."""
    out: dict[tuple[Any, ...], list[Fraction]] = defaultdict(lambda: [Fraction(0), Fraction(0)])
    for s in stays:
        label = _label(s["admitted_at"].date(), period)
        if iid == "KAD-D01":
            icpc = s["diagnosis_icpc2"] in ORACLE_DIAGNOSES
            icd = s["diagnosis_icd10"] is not None and ICD10_PATTERN.search(s["diagnosis_icd10"]) is not None
            cell = out[(label, *(_dim(s, d) for d in (*by, *strata)))]
            cell[0] += icpc or icd
            cell[1] += 1
            continue
        done = s["discharged_at"] is not None and s["discharged_at"].astimezone(UTC) <= as_of.astimezone(UTC)
        fields = [name for name in ORACLE_FIELDS if name != "discharged_to" or done]
        if "field" not in strata:  # the stay once, with its own share of recorded fields
            cell = out[(label, *(_dim(s, d) for d in (*by, *strata)))]
            cell[0] += Fraction(sum(_is_recorded(name, s[name]) for name in fields), len(fields))
            cell[1] += 1
            continue
        for name in ORACLE_FIELDS:  # per field: the stay once in each field's cell
            cell = out[(label, *(name if d == "field" else _dim(s, d) for d in (*by, *strata)))]
            if name in fields:  # discharged_to of an open stay: still a row (0/0)
                cell[0] += _is_recorded(name, s[name])
                cell[1] += 1
    return dict(out)


# -- typed tables with messy values -----------------------------------------------------------------

ICPC2_VALUES = ["R81", "A04", "R991", "K77", "R33", "A31", "L67", "r81", "R 81", "R8", "XYZ", "", " ", None]
ICD10_VALUES = ["J18.9", "N39.0", "A41", "j18.9", "J1", "", None, None]
MUNICIPALITY_VALUES = ["3301", "3312", "0301", "9999", "", None]
ADMITTED_FROM_VALUES = ["gp", "out_of_hours", "hospital", "Legevakt", "xyz", " ", None]
DISCHARGED_TO_VALUES = ["home", "hospital", "died", "", "Hjem", None]


@st.composite
def messy_stays(draw: Any, max_rows: int = 20) -> pa.Table:
    """A typed stays table (used by compute as it is) with invalid and missing values."""
    base = draw(st_kad.stays(max_rows=max_rows, patients=8, start=dt.date(2024, 1, 1), end=dt.date(2025, 12, 31)))
    rows = base.to_pylist()
    for r in rows:
        r["diagnosis_icpc2"] = draw(st.sampled_from(ICPC2_VALUES))
        r["diagnosis_icd10"] = draw(st.sampled_from(ICD10_VALUES))
        r["municipality"] = draw(st.sampled_from(MUNICIPALITY_VALUES))
        r["admitted_from"] = draw(st.sampled_from(ADMITTED_FROM_VALUES))
        r["examined_before_admission"] = draw(st.sampled_from([True, False, None]))
        if r["discharged_at"] is not None:
            r["discharged_to"] = draw(st.sampled_from(DISCHARGED_TO_VALUES))
            if draw(st.integers(0, 9)) == 0:  # discharged after as_of: open at as_of
                r["discharged_at"] = AS_OF + dt.timedelta(hours=draw(st.integers(1, 48)))
    return _typed(rows)


def _typed(rows: list[dict[str, Any]]) -> pa.Table:
    t = pa.Table.from_pylist(rows, schema=arrow_schema("stays")) if rows else arrow_schema("stays").empty_table()
    assert t.schema.remove_metadata().equals(arrow_schema("stays").remove_metadata())  # not validated again
    return t


TABLES = messy_stays()
DIMS = st.sampled_from([(("unit_id",), ()), (("unit_id",), ("field",)), (("municipality",), ("field", "sex")),
                        ((), ("age_band", "admitted_from")), (("municipality",), ("care_track",))])


def _dims_for(iid: str, by: tuple[str, ...], strata: tuple[str, ...]) -> tuple[str, ...]:
    return strata if iid == "KAD-D02" else tuple(s for s in strata if s != "field")


def _run(stays: pa.Table, iid: str, by: tuple[str, ...] = ("unit_id",), strata: tuple[str, ...] = (),
         **kw: Any) -> pa.Table:
    params: dict[str, Any] = {"period": "quarter", "as_of": AS_OF, "suppression": 1, **kw}
    return kad.compute(stays=stays, units=UNITS, indicators=[iid], by=by, strata=_dims_for(iid, by, strata),
                       **params)


def _cells(t: pa.Table, keys: tuple[str, ...]) -> dict[tuple[Any, ...], tuple[float, float]]:
    return {tuple(r[k] for k in ("period", *keys)): (r["numerator"], r["denominator"]) for r in t.to_pylist()}


def _stay(i: int, **kw: Any) -> dict[str, Any]:
    row: dict[str, Any] = {name: None for name in arrow_schema("stays").names}
    row.update({"stay_id": f"S{i}", "patient_id": f"P{i}", "unit_id": st_kad.DEFAULT_UNIT, "age": 80, "sex": "2",
                "care_track": "somatic", "admitted_at": dt.datetime(2024, 3, 1, 10, tzinfo=OSLO) + dt.timedelta(days=i)})
    row.update(kw)
    return row


DONE = {"discharged_at": dt.datetime(2024, 6, 1, 10, tzinfo=OSLO), "discharged_to": "home"}


def _done(i: int, **kw: Any) -> dict[str, Any]:
    """A stay completed on 2024-06-01, discharged home unless ``kw`` says otherwise."""
    return _stay(i, **{**DONE, **kw})

# -- the spec and the code list ----------------------------------------------------------------------


def test_field_list_is_read_from_the_schema_and_pinned_by_the_spec() -> None:
    """The fields KAD-D02 measures come from the schema, and equal the list in its spec (numerator.uses).

    A schema version that changes the recommended fields fails here until the indicator gets a
    new major version with the new list (spec/indicators/KAD-D02.yaml, denominator).
    """
    spec = load_indicators()["KAD-D02"]
    pinned = [u["field"] for u in spec.raw["numerator"]["uses"]]
    assert pinned == list(completeness_fields())
    assert pinned == ORACLE_FIELDS
    assert completeness_fields(load_schema("1.0.0")) == completeness_fields(load_schema())


def test_diagnosis_codes_are_symptoms_and_diagnoses() -> None:
    """KAD-D01 counts ICPC-2 components 1 and 7 (and their extensions), never a process code."""
    cl = load_schema().codelists["icpc2"]
    by_component = {c.code for c in cl.codes if c.attributes.get("component") in ("symptom", "diagnosis")}
    extensions = {c.code for c in cl.codes if "component" not in c.attributes and "chapter" in c.attributes}
    process = {c.code for c in cl.codes if not c.attributes}
    codes = set(diagnosis_codes())
    assert codes == by_component | extensions == ORACLE_DIAGNOSES
    assert len(by_component) == 686 and len(process) == 17 * 40
    assert not codes & process
    assert all(not 30 <= _rubric(c) <= 69 for c in codes)


def test_recorded_follows_the_field_rules() -> None:
    """recorded(): null, blank, a label instead of a code, or a value outside the code list is not recorded."""
    stays = load_schema().tables["stays"]
    got = recorded(pa.array(["3301", "9999", " ", None, "0301"]), stays.field("municipality")).to_pylist()
    assert got == [True, False, False, False, True]
    got = recorded(pa.array([True, False, None]), stays.field("examined_before_admission")).to_pylist()
    assert got == [True, True, False]
    got = recorded(pa.array(["J18.9", "j18.9", "J1", "", None]), stays.field("diagnosis_icd10")).to_pylist()
    assert got == [True, False, False, False, False]
    # a list field: every code must be in the list, and the list must not be empty
    units = load_schema().tables["units"]
    got = recorded(pa.array([["3301"], ["3301", "xx"], [], None]), units.field("municipalities")).to_pylist()
    assert got == [True, False, False, False]


# -- hand-checked cases on typed tables (conformance cases are validated first; these are not) ------


def test_d01_invalid_codes_in_a_typed_table_do_not_count() -> None:
    """A typed table is used as it is: lower case, a short code, a process code or a blank is no diagnosis."""
    rows = [_done(0, diagnosis_icpc2="R81"),                      # valid
            _done(1, diagnosis_icpc2="r81"),                      # not a code as stored
            _done(2, diagnosis_icpc2="R8"),
            _done(3, diagnosis_icpc2="R33"),                      # process code
            _done(4, diagnosis_icpc2="R33", diagnosis_icd10="J18.9"),  # valid by ICD-10
            _done(5, diagnosis_icpc2=" ", diagnosis_icd10="j18.9"),
            _stay(6, diagnosis_icpc2="U891"),                     # open, Norwegian extension: valid
            _stay(7)]
    typed = _typed(rows)
    res = _run(typed, "KAD-D01", period="year")
    assert [(r["period"], r["numerator"], r["denominator"]) for r in res.to_pylist()] == [("2024", 3.0, 8.0)]
    # the same rows validated first: r81 is read as R81, R8 and j18.9 are set empty
    valid = kad.validate(stays=pa.Table.from_pylist(rows), as_of=dt.date(2100, 1, 1)).valid
    res = _run(valid, "KAD-D01", period="year")
    assert [(r["numerator"], r["denominator"]) for r in res.to_pylist()] == [(4.0, 8.0)]


def test_d02_typed_table_with_field_stratum_and_open_stays() -> None:
    """Per field, by hand: a label, an unknown code or a blank is not recorded; open stays skip discharged_to."""
    rows = [_done(0, municipality="3301", admitted_from="gp", examined_before_admission=False,
                  diagnosis_icpc2="R33", discharged_to="home"),
            _done(1, municipality="9999", admitted_from="Legevakt", examined_before_admission=True,
                  diagnosis_icpc2="R81", discharged_to=""),
            _done(2, municipality="3312", admitted_from=" ", diagnosis_icpc2="r81", discharged_to=None),
            _stay(3, municipality="3312", admitted_from="hospital", diagnosis_icpc2="K77",
                  discharged_at=AS_OF + dt.timedelta(hours=1), discharged_to="home")]  # open at as_of
    res = _run(_typed(rows), "KAD-D02", strata=("field",), period="year")
    got = {r["field"]: (r["numerator"], r["denominator"]) for r in res.to_pylist()}
    assert got == {"municipality": (3.0, 4.0), "admitted_from": (2.0, 4.0),
                   "examined_before_admission": (2.0, 4.0), "diagnosis_icpc2": (3.0, 4.0),
                   "discharged_to": (1.0, 3.0)}
    # overall: each stay once with its own share, S0 5/5, S1 2/5, S2 1/5, S3 (open) 3/4; not 11/19
    overall = _run(_typed(rows), "KAD-D02", period="year").to_pylist()
    assert [(r["numerator"], r["denominator"]) for r in overall] == [(pytest.approx(2.35, abs=1e-12), 4.0)]
    assert overall[0]["value"] == pytest.approx(2.35 / 4, abs=1e-12)
    meta = kad.result_metadata(_run(_typed(rows), "KAD-D02", period="year"))
    assert meta["stays_counted"]["KAD-D02"] == 4 and meta["excluded_by_reason"]["KAD-D02"] == {}


def test_d02_only_open_stays_give_a_no_data_row_for_discharged_to() -> None:
    """With the field stratum, a cell of open stays has discharged_to 0/0 with reason no_data."""
    res = _run(_typed([_stay(0, municipality="3301")]), "KAD-D02", strata=("field",), period="year")
    row = next(r for r in res.to_pylist() if r["field"] == "discharged_to")
    assert (row["denominator"], row["value"], row["reason"]) == (0.0, None, "no_data")


def test_field_is_refused_for_d01_and_both_need_no_other_table() -> None:
    """D01 has no field stratum; D02 and D01 run on stays alone."""
    with pytest.raises(ValueError, match="field"):
        kad.compute(stays=_typed([_stay(0)]), indicators=["KAD-D01"], strata=("field",))
    res = kad.compute(stays=_typed([_stay(0)]), indicators=["KAD-D01", "KAD-D02"], by=(), suppression=1)
    assert set(res["indicator_id"].to_pylist()) == {"KAD-D01", "KAD-D02"}


def test_d02_overall_counts_stays_and_suppresses_like_a_count() -> None:
    """Overall, the denominator is the number of stays (no extra column) and a fractional numerator
    from 1 to below the threshold is suppressed: 5 stays with 4.75 are, 6 stays with 5.75 are not."""
    full = {"municipality": "3301", "admitted_from": "gp", "examined_before_admission": True,
            "diagnosis_icpc2": "R81"}
    for n, shown in ((2, False), (5, False), (6, True)):
        rows = [_done(i, **full) for i in range(n - 1)] + [_stay(n, **{**full, "examined_before_admission": None})]
        res = kad.compute(stays=_typed(rows), indicators=["KAD-D02"], by=("unit_id",), suppression=5,
                          as_of=AS_OF)
        assert "stays" not in res.column_names
        row = res.to_pylist()[0]
        assert row["suppressed"] is not shown
        assert row["denominator"] == (None if n < 5 else float(n))
        assert row["numerator"] == (pytest.approx(n - 0.25, abs=1e-12) if shown else None)
    partial = kad.compute_partials(stays=_typed(rows), units=UNITS, indicators=["KAD-D02"], by=("unit_id",),
                                   since=dt.date(2024, 1, 1), as_of=AS_OF)
    # the partial's optional stays column is empty; integer numerators r * 60 / s, scaled by 1/60 at the end
    assert partial["stays"].null_count == partial.num_rows
    assert partial["numerator"].to_pylist() == [5 * 60 + 45] and partial["denominator"].to_pylist() == [6]
    assert kad.result_metadata(partial)["scales"]["KAD-D02"] == [1 / 60, 1.0, 1.0]


def test_d02_results_can_be_protected() -> None:
    """Complementary suppression works on KAD-D02 by unit and by municipality (each cell counts stays)."""
    r = kad.synth.generate(years=(2024,), seed=3, scale=0.3)
    parts = [kad.compute(stays=r.stays, units=r.units, indicators=["KAD-D02"], by=(by,), period="quarter")
             for by in ("unit_id", "municipality")]
    parts = [p.set_column(p.schema.get_field_index(c), c, pc.fill_null(p[c], "ukjent"))
             if c in p.column_names else p for p, c in zip(parts, ("unit_id", "municipality"), strict=True)]
    protected = protect_results(pa.concat_tables(parts, promote_options="default"))
    assert protected.num_rows == sum(p.num_rows for p in parts)


# -- properties ----------------------------------------------------------------------------------


@settings(max_examples=40)
@given(stays=TABLES, dims=DIMS, iid=st.sampled_from(["KAD-D01", "KAD-D02"]))
def test_agrees_with_the_oracle(stays: pa.Table, dims: tuple[tuple[str, ...], tuple[str, ...]], iid: str) -> None:
    """Numerator and denominator of every cell equal the row-by-row oracle; no other cells."""
    by, strata = dims
    strata = _dims_for(iid, by, strata)
    want = oracle(iid, stays.to_pylist(), by=by, strata=strata)
    got = _cells(_run(stays, iid, by, strata), (*by, *strata))
    assert set(got) == set(want)
    for key, (num, den) in want.items():  # the overall D02 numerator is a sum of fractions (times 1/60)
        assert got[key] == (pytest.approx(float(num), rel=1e-12, abs=1e-12), float(den))


@settings(max_examples=30)
@given(stays=TABLES, dims=DIMS, iid=st.sampled_from(["KAD-D01", "KAD-D02"]))
def test_bounds(stays: pa.Table, dims: tuple[tuple[str, ...], tuple[str, ...]], iid: str) -> None:
    """0 <= numerator <= denominator, values and limits in [0, 1], no value without a denominator."""
    res = _run(stays, iid, *dims)
    for r in res.to_pylist():
        assert 0 <= r["numerator"] <= r["denominator"]
        if r["denominator"] == 0:
            assert (r["value"], r["reason"]) == (None, "no_data")
        else:
            assert -1e-12 <= r["ci_lower"] <= r["value"] <= r["ci_upper"] <= 1 + 1e-12


@settings(max_examples=25)
@given(stays=TABLES, dims=DIMS, iid=st.sampled_from(["KAD-D01", "KAD-D02"]), seed=st.integers(0, 10**6))
def test_row_order_does_not_matter(stays: pa.Table, dims: tuple[tuple[str, ...], tuple[str, ...]], iid: str,
                                   seed: int) -> None:
    """Shuffling the stays gives the same result rows."""
    idx = list(range(stays.num_rows))
    random.Random(seed).shuffle(idx)
    assert _run(stays, iid, *dims).equals(_run(stays.take(pa.array(idx, pa.int64())), iid, *dims))


def _halves(stays: pa.Table, k: int = 2) -> list[pa.Table]:
    part = [hashlib.sha256(p.encode()).digest()[0] % k for p in stays["patient_id"].to_pylist()]
    return [stays.filter(pa.array([x == j for x in part], pa.bool_())) for j in range(k)]


@settings(max_examples=25)
@given(stays=TABLES, dims=DIMS, iid=st.sampled_from(["KAD-D01", "KAD-D02"]))
def test_additive_over_patient_partitions(stays: pa.Table, dims: tuple[tuple[str, ...], tuple[str, ...]],
                                          iid: str) -> None:
    """Numerators and denominators of patient partitions add up to the whole, cell by cell."""
    by, strata = dims
    keys = (*by, *_dims_for(iid, by, strata))
    whole = _cells(_run(stays, iid, by, strata), keys)
    parts = [_cells(_run(h, iid, by, strata), keys) for h in _halves(stays)]
    assert set(whole) == set().union(*parts)
    for key, (num, den) in whole.items():
        assert sum(p[key][0] for p in parts if key in p) == pytest.approx(num, rel=1e-12, abs=1e-12)
        assert sum(p[key][1] for p in parts if key in p) == den


@settings(max_examples=25)
@given(stays=TABLES)
def test_fields_and_the_overall_share_count_the_same_stays(stays: pa.Table) -> None:
    """KAD-D02: the overall denominator is the stays of the cell, the denominator of every recommended
    field; where all or none of the stays are completed, the overall share is the mean of the fields'."""
    per_field: dict[tuple[Any, ...], dict[str, tuple[float, float]]] = defaultdict(dict)
    for r in _run(stays, "KAD-D02", strata=("field",)).to_pylist():
        per_field[(r["period"], r["unit_id"])][r["field"]] = (r["numerator"], r["denominator"])
    overall = _cells(_run(stays, "KAD-D02"), ("unit_id",))
    assert set(per_field) == set(overall)
    for key, (num, den) in overall.items():
        fields = per_field[key]
        assert all(fields[f][1] == den for f in ORACLE_FIELDS if f != "discharged_to")
        done = fields["discharged_to"][1]
        if done in (0, den):  # every stay has the same number of fields in scope
            k = len(ORACLE_FIELDS) - (done == 0)
            assert num == pytest.approx(sum(n for n, _ in fields.values()) / k, rel=1e-12, abs=1e-12)


@settings(max_examples=20)
@given(stays=TABLES, dims=DIMS, iid=st.sampled_from(["KAD-D01", "KAD-D02"]),
       suppression=st.sampled_from([1, 3, 5]))
def test_merged_partials_equal_one_run(stays: pa.Table, dims: tuple[tuple[str, ...], tuple[str, ...]], iid: str,
                                       suppression: int) -> None:
    """compute_partials on three patient partitions, then merge, gives exactly the result of compute."""
    by, strata = dims
    strata = _dims_for(iid, by, strata)
    common: dict[str, Any] = {"units": UNITS, "indicators": [iid], "by": by, "strata": strata, "period": "quarter",
                              "as_of": AS_OF}
    partials = [kad.compute_partials(stays=h, since=dt.date(2024, 1, 1), reference_denominators=j == 0, **common)
                for j, h in enumerate(_halves(stays, 3))]
    merged = kad.merge(partials, suppression=suppression)
    whole = kad.compute(stays=stays, since=dt.date(2024, 1, 1), suppression=suppression, **common)
    assert merged.equals(whole)


def test_explain_lists_the_stays_of_d01() -> None:
    """explain gives each stay of a KAD-D01 cell its role: numerator (valid diagnosis) or denominator."""
    rows = [_stay(0, diagnosis_icpc2="R81"), _stay(1, diagnosis_icpc2="R33"), _stay(2)]
    listed = kad.explain("KAD-D01", stays=_typed(rows), cell={"period": "2024"})
    assert dict(zip(listed["stay_id"].to_pylist(), listed["role"].to_pylist(), strict=True)) == {
        "S0": "numerator", "S1": "denominator", "S2": "denominator"}


def test_explain_lists_each_field_of_a_stay_for_d02() -> None:
    """explain gives KAD-D02 one row per stay and field in scope (a stay's share is its fields' roles);
    with the field stratum it lists the stays of the field's cell."""
    rows = [_done(0, municipality="3301", admitted_from="gp", diagnosis_icpc2="R81"), _stay(1, municipality="xx")]
    listed = kad.explain("KAD-D02", stays=_typed(rows), cell={"period": "2024"})
    got = {(r["stay_id"], r["field"]): r["role"] for r in listed.to_pylist()}
    assert got == {("S0", "municipality"): "numerator", ("S0", "admitted_from"): "numerator",
                   ("S0", "examined_before_admission"): "denominator", ("S0", "diagnosis_icpc2"): "numerator",
                   ("S0", "discharged_to"): "numerator",
                   ("S1", "municipality"): "denominator", ("S1", "admitted_from"): "denominator",
                   ("S1", "examined_before_admission"): "denominator", ("S1", "diagnosis_icpc2"): "denominator"}
    by_field = kad.explain("KAD-D02", stays=_typed(rows), strata=("field",),
                           cell={"period": "2024", "field": "municipality"})
    assert by_field["role"].to_pylist() == ["numerator", "denominator"]


def test_on_the_synthetic_region() -> None:
    """On the synthetic region both run by every grouping; D02 by field has one row per field."""
    r = kad.synth.generate(years=(2024,), seed=4, scale=0.1)
    for by in (("unit_id",), ("municipality",), ("host_municipality",), ("region",)):
        res = kad.compute(stays=r.stays, units=r.units, indicators=["KAD-D01", "KAD-D02"], by=by)
        assert set(res["indicator_id"].to_pylist()) == {"KAD-D01", "KAD-D02"}
        shown = res.filter(pc.equal(res["status"], "ok"))
        assert bool(pc.all(pc.less_equal(shown["numerator"], shown["denominator"])).as_py())
    res = kad.compute(stays=r.stays, units=r.units, indicators=["KAD-D02"], by=(), strata=("field",))
    assert res["field"].to_pylist() == sorted(completeness_fields())
    region = kad.compute(stays=r.stays, units=r.units, indicators=["KAD-D02"], by=()).to_pylist()[0]
    assert region["denominator"] == r.stays.num_rows  # each stay once
    assert 0.8 < region["value"] <= 1.0
