"""Tests of the synthetic region generator (kadindicators.synth)."""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pytest

import kadindicators as kad
from kadindicators import synth
from kadindicators._resources import data_root
from kadindicators._yaml import load as load_yaml
from kadindicators.spec import load_schema

TABLES = ("stays", "units", "population", "experience", "hospital_admissions")


@pytest.fixture(scope="module")
def region() -> synth.SyntheticRegion:
    """Return the default region (Vestre Viken, 2024-2025, seed 1)."""
    return synth.generate()


@pytest.fixture(scope="module")
def report(region: synth.SyntheticRegion) -> kad.ValidationReport:
    """Return the validation report of the default region, all five tables."""
    return kad.validate(stays=region.stays, units=region.units, population=region.population,
                        experience=region.experience, hospital_admissions=region.hospital_admissions)


def _rules(rep: kad.ValidationReport) -> set[str]:
    return set(rep.issues["rule"].to_pylist())


def _errors(rep: kad.ValidationReport) -> list[dict[str, object]]:
    issues = rep.issues.filter(pc.equal(rep.issues["severity"], "error"))
    return issues.slice(0, 5).to_pylist()


def _share(mask: pa.Array) -> float:
    return float(pc.mean(pc.cast(mask, pa.float64())).as_py())


def test_same_arguments_give_identical_tables() -> None:
    """Generating twice with the same arguments gives identical tables; another seed differs."""
    a = synth.generate(years=(2024,), seed=3, scale=0.2)
    b = synth.generate(years=(2024,), seed=3, scale=0.2)
    for name in TABLES:
        assert getattr(a, name).equals(getattr(b, name))
    c = synth.generate(years=(2024,), seed=4, scale=0.2)
    assert not a.stays.equals(c.stays)
    assert not a.experience.equals(c.experience)
    assert not a.hospital_admissions.equals(c.hospital_admissions)


def test_tables_have_exactly_the_arrow_schema(region: synth.SyntheticRegion) -> None:
    """Every table has exactly the Arrow schema of the reporting schema, metadata included."""
    for name in TABLES:
        assert getattr(region, name).schema.equals(kad.arrow_schema(name), check_metadata=True)
    assert (region.region, region.years, region.seed) == ("vestre-viken", (2024, 2025), 1)


def test_default_region_validates_without_errors(region: synth.SyntheticRegion,
                                                 report: kad.ValidationReport) -> None:
    """The default region passes validation: no rejected rows and no error issues in any table."""
    assert report.rows_rejected == 0
    assert report.rows_valid == region.stays.num_rows
    assert [] == _errors(report)
    for name in TABLES:
        assert report.summaries[name].rows_read == getattr(region, name).num_rows > 0
        assert report.summaries[name].rows_rejected == 0
    # data that is clean by construction: no overlaps, no DST adjustments, no death mismatch
    assert not _rules(report) & {"overlapping-stays", "death-destination-mismatch",
                                 "timestamp-dst-ambiguous", "timestamp-dst-nonexistent",
                                 "municipality-not-valid-at-admission",
                                 "municipality-not-valid-in-year", "care-track-mismatch"}
    # realistic warnings a region would see
    assert {"age-under-18", "patient-outside-catchment"} <= _rules(report)


def test_default_region_is_calibrated(region: synth.SyntheticRegion) -> None:
    """Volume, stay length, sex, age and transfers fall near the national figures."""
    s = region.stays
    done = s.filter(pc.is_valid(s["discharged_at"]))
    los_ms = pc.subtract(pc.cast(done["discharged_at"], pa.int64()),
                         pc.cast(done["admitted_at"], pa.int64()))
    los_days = pc.divide(pc.cast(los_ms, pa.float64()), 86_400_000.0)
    assert 2.5 <= pc.mean(los_days).as_py() <= 5.0
    assert 0.50 <= _share(pc.equal(s["sex"], "2")) <= 0.70
    assert 0.60 <= _share(pc.greater_equal(s["age"], 67)) <= 0.85
    assert 0.005 <= _share(pc.less(s["age"], 18)) <= 0.05
    transfer = pc.equal(done["discharged_to"], "hospital")
    assert 0.15 <= _share(transfer) <= 0.30
    within_day = pc.less_equal(los_days.filter(transfer), 1.0)
    assert _share(within_day) > 0.5
    lra = pc.is_in(pc.utf8_slice_codeunits(s["diagnosis_icpc2"], 0, 1),
                   value_set=pa.array(["L", "R", "A"]))
    assert 0.45 <= _share(pc.fill_null(lra, False)) <= 0.65
    # admissions per 1,000 adult inhabitants and year
    pop = region.population
    adults = pop.filter(pc.not_equal(pop["age_band"], "0-17"))
    per_year = pc.sum(adults["population"]).as_py() / len(region.years)
    rate = s.num_rows / len(region.years) / per_year * 1000
    assert 5.0 <= rate <= 10.0
    # occupancy over the region's beds (current bed numbers)
    beds = sum(u["beds"] for u in region.units.to_pylist() if u["valid_to"] is None)
    occupancy = pc.sum(los_days).as_py() / (beds * 731)
    assert 0.3 <= occupancy <= 0.65


def test_stays_are_consistent(region: synth.SyntheticRegion) -> None:
    """Ids are unique, open stays have no destination, deaths match, mental health units only."""
    s = region.stays
    assert pc.count_distinct(s["stay_id"]).as_py() == s.num_rows
    patients = pc.count_distinct(s["patient_id"]).as_py()
    assert 0.75 * s.num_rows < patients < s.num_rows  # some patients have several stays
    open_ = pc.is_null(s["discharged_at"])
    assert 0 < pc.sum(open_).as_py() < 0.02 * s.num_rows
    assert pc.all(pc.is_null(s["discharged_to"].filter(open_))).as_py()
    last_year = pc.year(s["admitted_at"].filter(open_))
    assert set(last_year.to_pylist()) == {max(region.years)}
    died = s.filter(pc.equal(s["discharged_to"], "died"))
    assert died.num_rows > 0
    assert pc.all(pc.equal(died["died_at"], pc.cast(pc.local_timestamp(died["discharged_at"]),
                                                    pa.date32()))).as_py()
    # deaths after discharge too
    assert pc.sum(pc.is_valid(s["died_at"])).as_py() > died.num_rows
    units = {u["unit_id"]: u["care_track"] for u in region.units.to_pylist()}
    tracks = pc.binary_join_element_wise(s["unit_id"], s["care_track"], "/").unique()
    assert {t.split("/")[1] == units[t.split("/")[0]] for t in tracks.to_pylist()} == {True}
    mental = _share(pc.equal(s["care_track"], "mental_health_substance"))
    assert 0.0 < mental < 0.1
    # minute precision, no seconds
    ms = pc.cast(s["admitted_at"], pa.int64()).to_numpy()
    assert (ms % 60_000 == 0).all()


def test_one_unit_changes_beds_in_half_open_periods(region: synth.SyntheticRegion) -> None:
    """One unit has two periods that meet without overlap, with different bed numbers."""
    rows = region.units.to_pylist()
    ids = [r["unit_id"] for r in rows]
    twice = [u for u in set(ids) if ids.count(u) == 2]
    assert len(twice) == 1
    first, second = sorted((r for r in rows if r["unit_id"] == twice[0]),
                           key=lambda r: r["valid_from"])
    assert first["valid_to"] == second["valid_from"]
    assert second["valid_to"] is None
    assert first["beds"] != second["beds"]
    assert dt.date(2024, 1, 1) < second["valid_from"] < dt.date(2026, 1, 1)


def test_population_sums_to_each_municipality(region: synth.SyntheticRegion) -> None:
    """Population per municipality and year adds up to the region file, over all bands and sexes."""
    raw = load_yaml(data_root() / "regions" / "vestre_viken.yaml")
    expected = {m["code"]: m["population"] for m in raw["municipalities"]}
    pop = region.population
    sums = pop.group_by(["municipality", "year"]).aggregate([("population", "sum")])
    for row in sums.to_pylist():
        assert expected[row["municipality"]] == row["population_sum"]
    assert set(sums["year"].to_pylist()) == set(region.years)
    assert set(pop["age_band"].to_pylist()) == {b.code for b in load_schema().age_bands}
    assert set(pop["sex"].to_pylist()) == {"1", "2"}
    # Norwegian-like: about 15-25 % aged 67+
    old = pop.filter(pc.is_in(pop["age_band"], value_set=pa.array(["67-79", "80-89", "90+"])))
    share = pc.sum(old["population"]).as_py() / pc.sum(pop["population"]).as_py()
    assert 0.12 <= share <= 0.25


@pytest.mark.parametrize("n", [0, 1, 1234])
def test_n_stays_sets_the_number_of_rows(n: int) -> None:
    """n_stays gives exactly that many stays, still valid."""
    r = synth.generate(years=(2025,), n_stays=n, seed=9)
    assert r.stays.num_rows == n
    assert r.stays.schema.equals(kad.arrow_schema("stays"))
    rep = kad.validate(stays=r.stays, units=r.units)
    assert (rep.rows_read, rep.rows_rejected) == (n, 0)


def test_scale_multiplies_the_volume(region: synth.SyntheticRegion) -> None:
    """Scaling by one half halves the calibrated number of stays."""
    half = synth.generate(scale=0.5)
    assert abs(half.stays.num_rows - region.stays.num_rows / 2) <= 1


def test_earlier_years_use_the_numbers_valid_then() -> None:
    """Across the 2020 and 2024 reforms stays, units and population use the numbers valid then."""
    r = synth.generate(years=(2019, 2020, 2023, 2024), seed=2, scale=0.2)
    rep = kad.validate(stays=r.stays, units=r.units, population=r.population, experience=r.experience,
                       hospital_admissions=r.hospital_admissions)
    assert rep.rows_rejected == 0
    assert rep.summaries["hospital_admissions"].rows_read == r.hospital_admissions.num_rows > 0
    # hospital admissions use the numbers of the population table, year by year
    pop_keys = set(zip(r.population["municipality"].to_pylist(), r.population["year"].to_pylist(), strict=True))
    hosp_keys = set(zip(r.hospital_admissions["municipality"].to_pylist(),
                        r.hospital_admissions["year"].to_pylist(), strict=True))
    assert hosp_keys == pop_keys
    assert [] == _errors(rep)
    assert not _rules(rep) & {"municipality-not-valid-at-admission",
                              "municipality-not-valid-in-year", "overlapping-stays"}
    s = r.stays
    codes_2019 = set(s.filter(pc.equal(pc.year(s["admitted_at"]), 2019))["municipality"]
                     .to_pylist())
    assert {"0602", "0219"} <= codes_2019  # Drammen and Bærum before 2020
    assert pc.sum(pc.equal(s["municipality"], "3005")).as_py() > 0  # Drammen 2020-2023
    assert len({r["host_municipality"] for r in r.units.to_pylist()
                if r["unit_id"] == "VV-DRAMMEN-LV"}) == 3


def test_write_round_trips_through_validate(tmp_path: Path) -> None:
    """CSV and Parquet files written by write() validate and read back to the same tables."""
    r = synth.generate(years=(2024,), seed=5, scale=0.3)
    paths = synth.write(r, tmp_path / "out")
    assert sorted(paths) == sorted(f"{t}.{f}" for t in TABLES for f in ("csv", "parquet"))
    text = paths["stays.csv"].read_text(encoding="utf-8")
    assert re.search(r",\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:00,", text)
    assert "|" in paths["units.csv"].read_text(encoding="utf-8")
    for fmt in ("csv", "parquet"):
        rep = kad.validate(**{name: paths[f"{name}.{fmt}"] for name in TABLES})
        assert rep.rows_rejected == 0
        assert [] == _errors(rep)
        for name in TABLES:
            assert rep.tables[name].equals(getattr(r, name))
    only = synth.write(r, tmp_path / "csv", formats=["csv"])
    assert sorted(only) == ["experience.csv", "hospital_admissions.csv", "population.csv", "stays.csv",
                            "units.csv"]
    # not applicable answers and whole-year rows are empty cells
    assert ",true,gspeq_05,\n" in paths["experience.csv"].read_text(encoding="utf-8")
    assert re.search(r"\n\d{4},2024,,\d+,", paths["hospital_admissions.csv"].read_text(encoding="utf-8"))


@pytest.mark.parametrize("norwegian_headers", [False, True])
def test_norwegian_csv_is_excel_like_and_validates(tmp_path: Path,
                                                   norwegian_headers: bool) -> None:
    """The Norwegian export is cp1252, ';', CRLF, dd.mm.yyyy and labels, and validates."""
    r = synth.generate(years=(2024,), seed=6, scale=0.2)
    paths = {name: synth.write_norwegian_csv(getattr(r, name), tmp_path / f"{name}.csv",
                                             table_name=name, norwegian_headers=norwegian_headers)
             for name in TABLES}
    units = paths["units"].read_bytes()
    with pytest.raises(UnicodeDecodeError):
        units.decode("utf-8")  # Bærum, Øvre Eiker: Windows-1252 bytes
    assert "Bærum" in units.decode("cp1252")
    stays = paths["stays"].read_bytes()
    assert stays.count(b"\n") == stays.count(b"\r\n") == r.stays.num_rows + 1
    text = stays.decode("cp1252")
    header = text.split("\r\n")[0]
    assert header.count(";") == r.stays.num_columns - 1
    assert ("kjønn" in header) is norwegian_headers
    assert re.search(r";\d{2}\.\d{2}\.2024 \d{2}:\d{2};", text)
    for written in (";Kvinne;", ";Mann;", ";Legevakt;", ";Hjem;", ";ja;", ";nei;"):
        assert written in text
    rep = kad.validate(**paths)
    assert rep.rows_rejected == 0
    assert [] == _errors(rep)
    assert "label-mapped" in _rules(rep)
    experience = paths["experience"].read_bytes().decode("cp1252")
    assert ";Pårørende (på vegne av pasienten);" in experience and ";ja;gspeq_01;" in experience
    assert ("spørreskjema_id" in experience.split("\r\n")[0]) is norwegian_headers
    for name in TABLES:
        assert rep.tables[name].equals(getattr(r, name))


def test_invalid_arguments_raise() -> None:
    """Unknown regions, empty years, bad scale or count and unknown formats raise ValueError."""
    with pytest.raises(ValueError, match="unknown region"):
        synth.generate(region="nowhere")
    with pytest.raises(ValueError, match="at least one year"):
        synth.generate(years=())
    with pytest.raises(ValueError, match="2000-2099"):
        synth.generate(years=(1999,))
    with pytest.raises(ValueError, match="scale"):
        synth.generate(scale=0)
    with pytest.raises(ValueError, match="n_stays"):
        synth.generate(n_stays=-1)
    r = synth.generate(years=(2024,), n_stays=5)
    with pytest.raises(ValueError, match="format"):
        synth.write(r, "unused", formats=["xlsx"])
    with pytest.raises(ValueError, match="unknown table"):
        synth.write_norwegian_csv(r.stays, "unused.csv", table_name="nope")


def test_admissions_avoid_dst_gaps() -> None:
    """No local time falls in the hour skipped or repeated at a daylight-saving switch."""
    r = synth.generate(years=(2024, 2025), n_stays=40_000, seed=11)
    for name in ("admitted_at", "discharged_at"):
        local = pc.local_timestamp(r.stays[name])
        hours = pc.fill_null(pc.hour(local), -1).to_numpy(zero_copy_only=False)
        days = pc.strftime(local, format="%Y-%m-%d").to_pylist()
        switch = {"2024-03-31", "2024-10-27", "2025-03-30", "2025-10-26"}
        at_switch = np.array([d in switch for d in days])
        assert not (at_switch & (hours == 2)).any()


# -- the optional tables of schema 1.1.0 ----------------------------------------------------

def _questionnaires(region: synth.SyntheticRegion) -> pa.Table:
    """One row per questionnaire: response_id, stay_id, respondent, responded and its number of rows."""
    e = region.experience
    return e.group_by(["response_id", "stay_id", "respondent", "responded"]).aggregate(
        [("item", "count"), ("score", "count"), ("response_id", "count")])


def test_experience_questionnaires_follow_the_code_lists(region: synth.SyntheticRegion) -> None:
    """Answered questionnaires hold exactly their respondent's items; unanswered ones one empty row."""
    e = region.experience
    q = _questionnaires(region)
    assert pc.count_distinct(e["response_id"]).as_py() == q.num_rows  # one stay, respondent, responded each
    unanswered = q.filter(pc.invert(q["responded"]))
    assert unanswered.num_rows > 0
    assert set(unanswered["response_id_count"].to_pylist()) == {1}
    assert set(unanswered["item_count"].to_pylist()) == {0}
    assert set(unanswered["score_count"].to_pylist()) == {0}
    items = load_schema().codelists["experience_item"]
    expected = {r: [c.code for c in items.codes if r in c.attributes["respondents"]]
                for r in synth.RESPONDENTS}
    answered = e.filter(e["responded"])
    per_q = answered.group_by(["response_id", "respondent"], use_threads=False).aggregate([("item", "list")])
    for row in per_q.to_pylist():
        assert row["item_list"] == expected[row["respondent"]], row["response_id"]
    scores = pc.drop_null(answered["score"])
    assert pc.min(scores).as_py() == 1 and pc.max(scores).as_py() == 5
    # one questionnaire per stay and respondent, never to both the patient and the next of kin
    pairs = q.group_by(["stay_id", "respondent"]).aggregate([("response_id", "count")])
    assert set(pairs["response_id_count"].to_pylist()) == {1}
    side = q.filter(pc.is_in(q["respondent"], value_set=pa.array(["patient", "next_of_kin"])))
    assert pc.count_distinct(side["stay_id"]).as_py() == side.num_rows


def test_experience_goes_to_the_right_people(region: synth.SyntheticRegion) -> None:
    """Only completed stays; no patient asked after dying; children via next of kin; professionals as eligible."""
    s = region.stays
    q = _questionnaires(region)
    stays = s.select(["stay_id", "discharged_at", "discharged_to", "died_at", "age", "admitted_from"])
    j = q.join(stays, "stay_id")
    assert j.num_rows == q.num_rows  # every questionnaire is about a stay of the region
    assert pc.all(pc.is_valid(j["discharged_at"])).as_py()
    patient = j.filter(pc.equal(j["respondent"], "patient"))
    discharged_day = pc.cast(pc.local_timestamp(patient["discharged_at"]), pa.date32())
    delay = pc.days_between(discharged_day, patient["died_at"])
    assert not pc.any(pc.fill_null(pc.less_equal(delay, synth.SURVEY_DELAY_DAYS), False)).as_py()
    assert pc.all(pc.not_equal(patient["discharged_to"], "died")).as_py()
    assert pc.min(patient["age"]).as_py() >= 18
    kin = j.filter(pc.equal(j["respondent"], "next_of_kin"))
    assert pc.any(pc.equal(kin["discharged_to"], "died")).as_py()  # the bereaved are asked instead
    assert pc.any(pc.less(kin["age"], 18)).as_py()
    doctor = j.filter(pc.equal(j["respondent"], "referring_doctor"))
    assert set(doctor["admitted_from"].to_pylist()) == set(synth.REFERRED_BY_DOCTOR)
    staff = j.filter(pc.equal(j["respondent"], "follow_up_staff"))
    assert set(staff["discharged_to"].to_pylist()) == set(synth.FOLLOWED_UP)


def test_experience_is_plausible(region: synth.SyntheticRegion) -> None:
    """Survey share, response rates, empty answers, score levels and correlation within a questionnaire."""
    s, e = region.stays, region.experience
    q = _questionnaires(region)
    completed = pc.sum(pc.is_valid(s["discharged_at"])).as_py()
    side = pc.sum(pc.is_in(q["respondent"], value_set=pa.array(["patient", "next_of_kin"]))).as_py()
    assert 0.5 <= side / completed <= 0.7
    rates = {}
    for who in synth.RESPONDENTS:
        mine = q.filter(pc.equal(q["respondent"], who))
        assert mine.num_rows >= 100, who
        rates[who] = _share(mine["responded"])
        assert 0.25 <= rates[who] <= 0.65, (who, rates[who])
    assert 0.35 <= _share(q["responded"]) <= 0.6
    # response rates differ between units (a unit effect), but not wildly
    j = q.join(s.select(["stay_id", "unit_id"]), "stay_id")
    by_unit = j.group_by("unit_id").aggregate([("responded", "mean"), ("responded", "count")])
    big = by_unit.filter(pc.greater_equal(by_unit["responded_count"], 200))["responded_mean"].to_pylist()
    assert len(big) >= 3 and 0.02 < max(big) - min(big) < 0.35
    answered = e.filter(e["responded"])
    assert 0.02 <= _share(pc.is_null(answered["score"])) <= 0.08
    items = load_schema().codelists["experience_item"]
    lower = {c.code for c in items.codes if c.attributes["direction"] == "lower_is_better"}
    means = answered.group_by("item").aggregate([("score", "mean")])
    for item, mean in zip(means["item"].to_pylist(), means["score_mean"].to_pylist(), strict=True):
        assert (1.0 <= mean <= 2.2) if item in lower else (3.3 <= mean <= 4.5), (item, mean)
    overall = answered.filter(pc.equal(answered["item"], "overall_rating"))["score"]
    assert 0.55 <= _share(pc.greater_equal(pc.drop_null(overall), 4)) <= 0.85
    # items of one questionnaire go together
    wide = {item: dict(zip(t["response_id"].to_pylist(), t["score"].to_pylist(), strict=True))
            for item in ("gspeq_01", "gspeq_08")
            for t in [answered.filter(pc.equal(answered["item"], item))]}
    both = [k for k, v in wide["gspeq_01"].items() if v is not None and wide["gspeq_08"].get(k) is not None]
    x = np.array([wide["gspeq_01"][k] for k in both], dtype=float)
    y = np.array([wide["gspeq_08"][k] for k in both], dtype=float)
    assert 0.3 <= np.corrcoef(x, y)[0, 1] <= 0.8


def test_hospital_admissions_coverage_and_rates(region: synth.SyntheticRegion) -> None:
    """Months for every municipality and year, one whole-year municipality, one missing month; ~110 per 1,000."""
    h, pop = region.hospital_admissions, region.population
    raw = load_yaml(data_root() / "regions" / "vestre_viken.yaml")
    by_size = sorted(raw["municipalities"], key=lambda m: m["population"])
    whole_code, gap_code = by_size[0]["code"], by_size[1]["code"]
    rows = h.group_by(["municipality", "year"]).aggregate(
        [("month", "count"), ([], "count_all"), ("admissions", "sum")])
    last = max(region.years)
    for r in rows.to_pylist():
        key = (r["municipality"], r["year"])
        if r["municipality"] == whole_code:
            assert (r["month_count"], r["count_all"]) == (0, 1), key
        elif r["municipality"] == gap_code and r["year"] == last:
            assert (r["month_count"], r["count_all"]) == (11, 11), key
        else:
            assert (r["month_count"], r["count_all"]) == (12, 12), key
    assert rows.num_rows == len(raw["municipalities"]) * len(region.years)
    gap = h.filter(pc.and_(pc.equal(h["municipality"], gap_code), pc.equal(h["year"], last)))
    assert synth.HOSPITAL_MISSING_MONTH not in gap["month"].to_pylist()
    assert set(h["source"].to_pylist()) == {synth.HOSPITAL_SOURCE, synth.HOSPITAL_SOURCE_YEAR}
    # rates per 1,000 adults and year: region ~110, municipalities around it
    adults = pop.filter(pc.not_equal(pop["age_band"], "0-17")).group_by(["municipality", "year"]).aggregate(
        [("population", "sum")])
    j = rows.join(adults, ["municipality", "year"])
    assert j.num_rows == rows.num_rows
    region_rate = pc.sum(j["admissions_sum"]).as_py() / pc.sum(j["population_sum"]).as_py() * 1000
    assert 100 <= region_rate <= 120
    rate = pc.divide(pc.cast(j["admissions_sum"], pa.float64()), j["population_sum"]).to_numpy() * 1000
    assert 70 <= rate.min() and rate.max() <= 170 and rate.std() > 5
    # a winter peak over the months the region reports
    monthly = h.filter(pc.is_valid(h["month"])).group_by("month").aggregate([("admissions", "sum")])
    per = dict(zip(monthly["month"].to_pylist(), monthly["admissions_sum"].to_pylist(), strict=True))
    assert per[1] + per[12] > 1.1 * (per[6] + per[8])


def test_optional_tables_without_stays(tmp_path: Path) -> None:
    """No stays: no questionnaires (an empty table with the schema), hospital admissions still there."""
    r = synth.generate(years=(2025,), n_stays=0)
    assert r.experience.num_rows == 0
    assert r.experience.schema.equals(kad.arrow_schema("experience"), check_metadata=True)
    assert r.hospital_admissions.num_rows > 0
    # a region made by hand (as the benchmarks do) gets empty optional tables, which write() still writes
    bare = synth.SyntheticRegion(stays=r.stays, units=r.units, population=r.population, region=r.region,
                                 years=r.years, seed=r.seed)
    assert bare.hospital_admissions.num_rows == 0
    assert bare.hospital_admissions.schema.equals(kad.arrow_schema("hospital_admissions"))
    paths = synth.write(bare, tmp_path, formats=["csv"])
    assert paths["experience.csv"].read_text(encoding="utf-8").strip() == ",".join(
        kad.arrow_schema("experience").names)


def test_experience_scales_with_the_stays() -> None:
    """The questionnaires follow the number of stays (vectorised: 100,000 stays stay quick)."""
    import time

    r = synth.generate(years=(2024,), n_stays=100_000, seed=12)
    start = time.perf_counter()
    e = synth._experience(r.stays, load_schema(), 12)
    elapsed = time.perf_counter() - start
    assert e.equals(r.experience)
    assert 3.0 * r.stays.num_rows < e.num_rows < 6.0 * r.stays.num_rows
    assert elapsed < 5.0  # about 0.1 s; a loop over stays in Python would take many seconds
