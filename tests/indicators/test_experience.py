"""The experience indicators KAD-E01 … KAD-E05 on generated experience tables linked to generated stays.

The common property tests run every indicator with stays only, where these give no rows; here
the experience table is generated too (questionnaires about the stays, some not answered, some
about stays that are not in the data) and the results are checked against a plain row-by-row
oracle written from the specs' prose.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import random
from collections import defaultdict
from typing import Any
from zoneinfo import ZoneInfo

import pyarrow as pa
import pyarrow.compute as pc
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import kadindicators as kad
from kadindicators.indicators import REGISTRY, experience
from kadindicators.indicators._context import StayContext
from kadindicators.schema import arrow_schema
from kadindicators.spec.indicators import load_indicators
from kadindicators.spec.loader import load_schema
from kadindicators.testing import strategies as st_kad

OSLO = ZoneInfo("Europe/Oslo")
AS_OF = dt.datetime(2026, 1, 1, tzinfo=OSLO)
SINCE = dt.date(2024, 1, 1)
UNITS = kad.validate(units=st_kad.default_units()).tables["units"]  # typed once, not validated per call
IDS = ("KAD-E01", "KAD-E02", "KAD-E03", "KAD-E04", "KAD-E05")
PROPORTIONS = ("KAD-E01", "KAD-E03", "KAD-E05")
MEANS = ("KAD-E02", "KAD-E04")
OUTSIDE = ("S-ELSEWHERE-1", "S-ELSEWHERE-2")  # stays that are not in the data (another partition, say)

# -- the definitions as the specs' prose states them (independent of the code list attributes) ----------
PATIENT_SIDE = ("patient", "next_of_kin")
PROFESSIONALS = ("referring_doctor", "follow_up_staff")
GSPEQ_SCORED = ("gspeq_01", "gspeq_02", "gspeq_03", "gspeq_04", "gspeq_05", "gspeq_06", "gspeq_08", "gspeq_09")
SCORED_ITEMS = {"patient": GSPEQ_SCORED, "next_of_kin": GSPEQ_SCORED,
                "referring_doctor": ("prof_right_service", "prof_admission_easy", "prof_information"),
                "follow_up_staff": ("prof_right_service", "prof_information")}
OVERALL_ITEM = {"patient": "overall_rating", "next_of_kin": "overall_rating",
                "referring_doctor": "prof_overall_rating", "follow_up_staff": "prof_overall_rating"}
WHO = {"KAD-E01": PATIENT_SIDE + PROFESSIONALS, "KAD-E02": PATIENT_SIDE, "KAD-E03": PATIENT_SIDE,
       "KAD-E04": PROFESSIONALS, "KAD-E05": PROFESSIONALS}


def _asked_of(respondent: str) -> list[str]:
    """Items the code list asks of a respondent (to generate valid questionnaires)."""
    return [c.code for c in load_schema().codelists["experience_item"].codes
            if respondent in c.attributes.get("respondents", ())]


RESPONDENTS = list(load_schema().codelists["experience_respondent"].values)
ASKED = {r: _asked_of(r) for r in RESPONDENTS}


# -- strategies ------------------------------------------------------------------------------------


@st.composite
def experience_for(draw: Any, stays: pa.Table, *, outside: bool = True) -> pa.Table:
    """Questionnaires (0-3 per stay, plus some about stays not in ``stays``) as validation would accept them.

    A quarter are not answered (one row without an item); an answered one answers 1 or more
    of the items asked of its respondent, each with a score 1-5 or empty.
    """
    rows: list[dict[str, Any]] = []
    targets = stays["stay_id"].to_pylist() + (list(OUTSIDE) if outside else [])
    for i, sid in enumerate(targets):
        for k in range(draw(st.integers(0, 3))):
            who = draw(st.sampled_from(RESPONDENTS))
            rid = f"R{i:03d}-{k}"
            if draw(st.integers(0, 3)) == 0:
                rows.append({"response_id": rid, "stay_id": sid, "respondent": who, "responded": False})
                continue
            items = draw(st.lists(st.sampled_from(ASKED[who]), min_size=1, max_size=5, unique=True))
            for item in items:
                rows.append({"response_id": rid, "stay_id": sid, "respondent": who, "responded": True,
                             "item": item, "score": draw(st.sampled_from([None, 1, 2, 3, 4, 5]))})
    return pa.Table.from_pylist(rows, schema=arrow_schema("experience"))


@st.composite
def stays_and_experience(draw: Any, *, outside: bool = True) -> tuple[pa.Table, pa.Table]:
    stays = draw(st_kad.stays(max_rows=10, patients=6, start=dt.date(2024, 1, 1), end=dt.date(2025, 12, 31)))
    return stays, draw(experience_for(stays, outside=outside))


DATA = stays_and_experience()
STRATA = st.sampled_from([(), ("respondent",), ("sex", "respondent")])


def _run(stays: pa.Table, exp: pa.Table | None, ids: tuple[str, ...] = IDS, **kw: Any) -> pa.Table:
    params: dict[str, Any] = {"by": ("unit_id",), "period": "quarter", "as_of": AS_OF, "suppression": 1, **kw}
    return kad.compute(stays=stays, units=UNITS, experience=exp, indicators=list(ids), **params)


def _cells(t: pa.Table) -> dict[tuple[Any, ...], tuple[float, float]]:
    keys = [c for c in t.column_names if c in ("indicator_id", "period", "unit_id", "sex", "respondent", "item")]
    return {tuple(r[k] for k in keys): (r["numerator"], r["denominator"]) for r in t.to_pylist()}


# -- the oracle: row by row, from the prose ------------------------------------------------------------


def _label(d: dt.date) -> str:
    return f"{d.year}-Q{(d.month - 1) // 3 + 1}"


def oracle(iid: str, stays: list[dict[str, Any]], rows: list[dict[str, Any]], strata: tuple[str, ...],
           ) -> tuple[dict[tuple[Any, ...], tuple[float, float]], dict[str, int]]:
    """(period, unit_id, *strata) -> (numerator, denominator), and the exclusions, for one indicator."""
    by_id = {s["stay_id"]: s for s in stays}
    forms: dict[str, dict[str, Any]] = {}
    for r in rows:
        f = forms.setdefault(r["response_id"], {"stay_id": r["stay_id"], "respondent": r["respondent"],
                                                "responded": False, "answers": {}})
        f["responded"] = f["responded"] or r["responded"]
        if r["item"] is not None:
            f["answers"][r["item"]] = r["score"]
    cells: dict[tuple[Any, ...], list[float]] = defaultdict(lambda: [0.0, 0.0])
    excluded: dict[str, int] = defaultdict(int)
    for f in forms.values():
        stay = by_id.get(f["stay_id"])
        who = f["respondent"]
        if stay is None or who not in WHO[iid]:
            continue  # a stay not in the data, or another indicator's respondents
        own = {"respondent": who, "sex": stay["sex"]}

        def key(item: str | None = None, stay: dict[str, Any] = stay, own: dict[str, Any] = own) -> tuple[Any, ...]:
            values = {**own, "item": item}
            adm = stay["admitted_at"].astimezone(OSLO).date()
            return (_label(adm), stay["unit_id"], *(values[s] for s in strata))

        answered, answers = f["responded"], f["answers"]
        if iid == "KAD-E01":
            cells[key()][0] += answered
            cells[key()][1] += 1
        elif iid in MEANS:
            scored = [answers[i] for i in SCORED_ITEMS[who] if answers.get(i) is not None]
            if not answered:
                excluded["not-answered"] += 1
            elif not scored:
                excluded["no-scored-item"] += 1
            if "item" in strata:  # every answer to a scored item, with or without a score
                for item in SCORED_ITEMS[who]:
                    if answered and item in answers:
                        cells[key(item)][0] += answers[item] or 0
                        cells[key(item)][1] += answers[item] is not None
            else:
                cells[key()][0] += sum(scored) / len(scored) if answered and scored else 0.0
                cells[key()][1] += bool(answered and scored)
        else:
            rating = answers.get(OVERALL_ITEM[who])
            if not answered:
                excluded["not-answered"] += 1
            elif rating is None:
                excluded["overall-not-answered"] += 1
            rated = answered and rating is not None
            cells[key()][0] += bool(rated and rating in (4, 5))
            cells[key()][1] += rated
    return {k: (v[0], v[1]) for k, v in cells.items()}, dict(excluded)


# -- properties ----------------------------------------------------------------------------------


@given(data=DATA, strata=STRATA)
def test_agrees_with_row_by_row_oracle(data: tuple[pa.Table, pa.Table], strata: tuple[str, ...]) -> None:
    """Every cell's numerator and denominator, and the exclusions, equal the oracle's."""
    stays, exp = data
    res = _run(stays, exp, strata=strata)
    meta = kad.result_metadata(res)
    got = _cells(res)
    for iid in IDS:
        want, excluded = oracle(iid, stays.to_pylist(), exp.to_pylist(), strata)
        mine = {k[1:]: v for k, v in got.items() if k[0] == iid}
        assert set(mine) == set(want), iid
        for k, (num, den) in want.items():
            assert mine[k][0] == pytest.approx(num, abs=1e-9), (iid, k)
            assert mine[k][1] == den, (iid, k)
        ran = meta["excluded_by_reason"][iid]
        assert {r: n for r, n in ran.items() if n} == excluded, iid
        assert set(ran) == set(load_indicators()[iid].exclusions), iid


@given(data=DATA)
def test_item_stratum_agrees_with_oracle(data: tuple[pa.Table, pa.Table]) -> None:
    """With the stratum item, each scored item's cell is its mean over the questionnaires that scored it."""
    stays, exp = data
    for strata in (("item",), ("respondent", "item")):
        got = _cells(_run(stays, exp, ids=MEANS, strata=strata))
        for iid in MEANS:
            want, _ = oracle(iid, stays.to_pylist(), exp.to_pylist(), strata)
            assert {k[1:]: v for k, v in got.items() if k[0] == iid} == want


@given(data=DATA, strata=STRATA)
def test_bounds(data: tuple[pa.Table, pa.Table], strata: tuple[str, ...]) -> None:
    """0 <= numerator <= denominator for the shares; scores within 1-5; no value without a denominator."""
    stays, exp = data
    res = _run(stays, exp, strata=strata)
    for r in res.to_pylist():
        assert r["denominator"] >= 0 and r["numerator"] >= 0
        if r["indicator_id"] in PROPORTIONS:
            assert r["numerator"] <= r["denominator"]
            assert r["value"] is None or 0 <= r["value"] <= 1
        elif r["value"] is not None:
            assert 1 - 1e-12 <= r["value"] <= 5 + 1e-12
        if r["denominator"] == 0:
            assert (r["value"], r["reason"], r["status"]) == (None, "no_data", "not_applicable")


@settings(max_examples=40)
@given(data=DATA, seed=st.integers(0, 10**6), strata=STRATA)
def test_row_order_does_not_matter(data: tuple[pa.Table, pa.Table], seed: int, strata: tuple[str, ...]) -> None:
    """Shuffling the stays and the experience rows gives exactly the same result (means included)."""
    stays, exp = data
    rng = random.Random(seed)

    def shuffled(t: pa.Table) -> pa.Table:
        idx = list(range(t.num_rows))
        rng.shuffle(idx)
        return t.take(pa.array(idx, pa.int64()))

    assert _run(stays, exp, strata=strata).equals(_run(shuffled(stays), shuffled(exp), strata=strata))
    item = ("item",)
    assert _run(stays, exp, ids=MEANS, strata=item).equals(_run(shuffled(stays), shuffled(exp), ids=MEANS, strata=item))


def _partitions(stays: pa.Table, k: int) -> list[pa.Table]:
    part = [hashlib.sha256(p.encode()).digest()[0] % k for p in stays["patient_id"].to_pylist()]
    return [stays.filter(pa.array([x == j for x in part], pa.bool_())) for j in range(k)]


@settings(max_examples=40)
@given(data=DATA, strata=STRATA)
def test_additive_over_patient_partitions(data: tuple[pa.Table, pa.Table], strata: tuple[str, ...]) -> None:
    """Partitions of the stays by patient, each given every experience row, add up to the whole."""
    stays, exp = data
    whole = _cells(_run(stays, exp, strata=strata))
    halves = [_cells(_run(half, exp, strata=strata)) for half in _partitions(stays, 2)]
    assert set().union(*halves) == set(whole)
    for key, (num, den) in whole.items():
        got = [h[key] for h in halves if key in h]
        assert sum(n for n, _ in got) == pytest.approx(num, abs=1e-9)
        assert sum(d for _, d in got) == den


@settings(max_examples=30)
@given(data=DATA, strata=st.sampled_from([(), ("respondent",), ("item",)]))
def test_merged_partials_equal_one_run(data: tuple[pa.Table, pa.Table], strata: tuple[str, ...]) -> None:
    """compute_partials on patient partitions (each with every experience row), then merge, equals compute."""
    stays, exp = data
    ids = MEANS if "item" in strata else IDS
    partials = [kad.compute_partials(stays=part, units=UNITS, experience=exp, indicators=list(ids), by=("unit_id",),
                                     period="quarter", strata=strata, as_of=AS_OF, since=SINCE,
                                     reference_denominators=j == 0)
                for j, part in enumerate(_partitions(stays, 3))]
    merged = kad.merge(partials, suppression=1)
    whole = _run(stays, exp, ids=ids, strata=strata, since=SINCE)
    assert merged.replace_schema_metadata(None).equals(whole.replace_schema_metadata(None))
    # (merge leaves out an indicator without exclusion ids, KAD-E01, from excluded_by_reason: compare the counts)
    counts = [{iid: r for iid, r in kad.result_metadata(t)["excluded_by_reason"].items() if r} for t in (merged, whole)]
    assert counts[0] == counts[1]


@settings(max_examples=20)
@given(data=stays_and_experience(outside=False))
def test_generated_tables_are_valid(data: tuple[pa.Table, pa.Table]) -> None:
    """The experience strategy draws what validation accepts (so the other tests use realistic input)."""
    stays, exp = data
    report = kad.validate(stays=stays, experience=exp, units=UNITS)
    errors = report.issues.filter(pc.equal(report.issues["severity"], "error"))
    assert errors.num_rows == 0, errors.to_pylist()[:3]


@settings(max_examples=30)
@given(data=DATA, strata=st.sampled_from([(), ("respondent",), ("item",)]))
def test_explain_lists_the_questionnaires_of_each_cell(data: tuple[pa.Table, pa.Table],
                                                        strata: tuple[str, ...]) -> None:
    """The questionnaires explain lists per cell and role add up to the cell; excluded ones to the metadata."""
    stays, exp = data
    ids = MEANS if "item" in strata else IDS
    res = _run(stays, exp, ids=ids, strata=strata)
    meta = kad.result_metadata(res)
    for iid in ids:
        listed = kad.explain(iid, stays=stays, units=UNITS, experience=exp, period="quarter", strata=strata,
                             as_of=AS_OF).to_pylist()
        assert not {r["stay_id"] for r in listed} & set(OUTSIDE)
        for row in res.filter(pc.equal(res["indicator_id"], iid)).to_pylist():
            mine = [r for r in listed if all(r[k] == row[k] for k in ("period", "unit_id", *strata))]
            counted = [r for r in mine if r["role"] in ("numerator", "denominator")]
            assert len(counted) == row["denominator"]
            if iid in PROPORTIONS:
                assert sum(r["role"] == "numerator" for r in mine) == row["numerator"]
            else:
                assert sum(r["score"] for r in counted) == pytest.approx(row["numerator"])
        if "item" not in strata:
            roles = defaultdict(int)
            for r in listed:
                if r["role"] == "excluded":
                    roles[r["criterion"]] += 1
            assert dict(roles) == {k: v for k, v in meta["excluded_by_reason"][iid].items() if v}


# -- examples ----------------------------------------------------------------------------------------


def _stays(*rows: tuple[str, str, str, str]) -> pa.Table:
    """(stay_id, patient_id, unit_id, admitted local ISO) -> a stays table."""
    return pa.Table.from_pylist(
        [{"stay_id": s, "patient_id": p, "unit_id": u, "municipality": "3301",
          "admitted_at": dt.datetime.fromisoformat(a).replace(tzinfo=OSLO), "age": 80, "sex": "2",
          "care_track": "somatic"} for s, p, u, a in rows], schema=arrow_schema("stays"))


def _exp(*rows: tuple[str, str, str, bool, str | None, int | None]) -> pa.Table:
    keys = ("response_id", "stay_id", "respondent", "responded", "item", "score")
    return pa.Table.from_pylist([dict(zip(keys, r, strict=True)) for r in rows], schema=arrow_schema("experience"))


STAYS = _stays(("S1", "P1", "KAD-TEST-1", "2024-03-01T10:00"), ("S2", "P2", "KAD-TEST-1", "2024-05-01T10:00"))
EXP = _exp(("R1", "S1", "patient", True, "gspeq_01", 5), ("R1", "S1", "patient", True, "overall_rating", 4),
           ("R2", "S2", "next_of_kin", False, None, None), ("R3", "S1", "referring_doctor", True, "prof_information", 4),
           ("R4", "S9", "patient", True, "gspeq_02", 1))


@pytest.mark.parametrize("iid", IDS)
def test_without_experience_table_no_rows_and_no_error(iid: str) -> None:
    """No experience table (or an empty one): the indicator gives no rows, not zeros, and excludes nothing."""
    for exp in (None, arrow_schema("experience").empty_table()):
        res = _run(STAYS, exp, ids=(iid,))
        assert res.num_rows == 0
        meta = kad.result_metadata(res)
        assert iid in meta["indicator_versions"]
        assert not any(meta["excluded_by_reason"][iid].values())


def test_questionnaire_about_a_stay_outside_the_data_is_not_counted() -> None:
    """A questionnaire whose stay is not among the stays counts nowhere: not in a cell, not as excluded."""
    with_stray = _run(STAYS, EXP)
    without = _run(STAYS, EXP.filter(pc.not_equal(EXP["stay_id"], "S9")))
    assert with_stray.equals(without)
    assert kad.result_metadata(with_stray)["excluded_by_reason"] == kad.result_metadata(without)["excluded_by_reason"]


def test_questionnaire_about_an_unknown_stay_is_rejected_when_validated() -> None:
    """Given as text, the experience table is validated against the stays: the stray rows are rejected."""
    text = pa.table({c: pa.array([None if v is None else str(v).lower() if isinstance(v, bool) else str(v)
                                  for v in EXP[c].to_pylist()], pa.string()) for c in EXP.column_names})
    res = _run(STAYS, text)
    meta = kad.result_metadata(res)
    assert meta["rows_rejected"]["experience"] == 1
    assert _cells(res) == _cells(_run(STAYS, EXP))


def test_small_example_by_hand() -> None:
    """R1 (patient, answered, overall 4), R2 (next of kin, not answered), R3 (doctor, answered)."""
    got = _cells(_run(STAYS, EXP, by=("region",), period="year", strata=("respondent",)))
    assert got == {
        ("KAD-E01", "2024", "next_of_kin"): (0, 1), ("KAD-E01", "2024", "patient"): (1, 1),
        ("KAD-E01", "2024", "referring_doctor"): (1, 1),
        ("KAD-E02", "2024", "next_of_kin"): (0, 0), ("KAD-E02", "2024", "patient"): (pytest.approx(5.0), 1),
        ("KAD-E03", "2024", "next_of_kin"): (0, 0), ("KAD-E03", "2024", "patient"): (1, 1),
        ("KAD-E04", "2024", "referring_doctor"): (4, 1),
        ("KAD-E05", "2024", "referring_doctor"): (0, 0),
    }


def test_mean_of_questionnaire_means_is_exact() -> None:
    """Questionnaire means of thirds and halves add up exactly (no float drift between row orders)."""
    rows = []
    for i in range(60):
        rid = f"R{i}"
        for item, score in zip(GSPEQ_SCORED, (5, 4, 4) if i % 2 else (3, 2), strict=False):
            rows.append((rid, "S1", "patient", True, item, score))
    exp = _exp(*rows)
    res = _run(STAYS, exp, ids=("KAD-E02",), by=("region",), period="year")
    # 30 × 13/3 + 30 × 5/2 = 130 + 75: summed exactly (as 840ths), then one multiplication by 1/840
    assert res["numerator"].to_pylist() == [pytest.approx(205.0, rel=1e-15)]
    assert res["value"].to_pylist() == [pytest.approx(205.0 / 60, rel=1e-15)]
    assert _run(STAYS, exp.take(pa.array(list(range(exp.num_rows))[::-1])), ids=("KAD-E02",), by=("region",),
                period="year").equals(res)


@pytest.mark.parametrize(("iid", "stratum"), [("KAD-E01", "item"), ("KAD-E03", "item"), ("KAD-E05", "item"),
                                              ("KAD-E02", "field")])
def test_unsupported_strata_are_refused(iid: str, stratum: str) -> None:
    """Naming an indicator with a stratum it does not have is an error, not an empty result."""
    with pytest.raises(ValueError, match="cannot be grouped or stratified"):
        _run(STAYS, EXP, ids=(iid,), strata=(stratum,))


def test_suppressed_cells_show_no_small_count() -> None:
    """With the default threshold, counts 1-4 of questionnaires are never shown."""
    res = _run(STAYS, EXP, suppression=5, by=("region",), period="year")
    for r in res.to_pylist():
        for col in ("numerator", "denominator"):
            assert r[col] is None or r[col] == 0 or r[col] >= 5, (r["indicator_id"], col)


def test_respondents_items_and_scores_come_from_the_specs_and_code_list() -> None:
    """The spec clauses, the code list attributes and the implementation agree on who and what is counted."""
    specs = load_indicators()
    for iid in IDS:
        assert iid in REGISTRY and REGISTRY[iid][0] == specs[iid].version
        assert specs[iid].status == "proposed"
        assert set(experience._respondents(iid)) == set(WHO[iid])
        uses = [u for u in specs[iid].raw["denominator"]["uses"] if u["field"] == "item"]
        for who in WHO[iid]:
            if iid in MEANS:
                pairs = experience._item_pairs(tuple(WHO[iid]), "in_score").to_pylist()
                assert {p["item"] for p in pairs if p["respondent"] == who} == set(SCORED_ITEMS[who])
                assert set(uses[0]["values"]) == {i for w in WHO[iid] for i in SCORED_ITEMS[w]}
            elif iid != "KAD-E01":
                pairs = experience._item_pairs(tuple(WHO[iid]), "overall").to_pylist()
                assert {p["item"] for p in pairs if p["respondent"] == who} == {OVERALL_ITEM[who]}
                assert uses[0]["values"] == [OVERALL_ITEM[who]]
                assert experience._good_scores(iid) == (4, 5)


def test_explain_refuses_other_indicators() -> None:
    """explain_questionnaires is for the experience indicators only."""
    ctx = StayContext(stays=STAYS, units=UNITS, population=None, as_of=AS_OF, period="year", by=(), strata=(),
                      experience=EXP)
    with pytest.raises(ValueError, match="not an experience indicator"):
        experience.explain_questionnaires("KAD-Q01", ctx)
