"""Deterministic synthetic KAD data for a bundled region (demo, docs, tests, benchmarks).

:func:`generate` builds the tables of the reporting schema (``stays``,
``units``, ``population`` and, from schema 1.1.0, the optional ``experience`` and
``hospital_admissions``) for a region described in
``kadindicators/_data/regions/<id>.yaml`` (default: Vestre Viken). The same
arguments always give identical tables (``numpy.random.default_rng(seed)``; the
two optional tables draw from their own streams of the seed, so adding them
changed no stay).
Everything is vectorised with numpy and pyarrow: there is no Python loop per
stay, so ``n_stays=10**7`` is practical for benchmarks.

:func:`write` saves a region as plain CSV (UTF-8, comma, ISO local timestamps)
and Parquet; :func:`write_norwegian_csv` writes one table the way a Norwegian
Excel export looks (``;``, Windows-1252, CRLF, ``dd.mm.yyyy HH:MM``, ``ja``/``nei``
and Norwegian labels from the code lists).

Calibration
-----------
Targets come from the project's domain brief (background of the regional
cooperation that asked for this project), which cites Helsedirektoratet,
"Status for kommunalt døgntilbud for øyeblikkelig hjelp 2022" (Hdir 2022), a
single-unit study of transfers to hospital, and Lappegard & Hjortdahl (BMC Fam
Pract 2014) for the Hallingdal community hospital. "Derived" figures are
bed-days / admissions and admissions / beds from the same report. They are
targets for plausibility, not truth. Measured on the default region (Vestre
Viken, 2024-2025, seed 1): 6.0 admissions per 1,000 inhabitants (7.5 per 1,000
adults), 47 per bed, occupancy about 48 %, mean stay 3.7 days (median 2.8),
67+ 73 %, women 60 %, under 18 2.1 %, transferred 22 % (76 % of them within
24 hours), died 1.6 %, ICPC-2 L+R+A 55 % of coded stays.

=========================================  ===================  =======================================
measure                                    target (source)      how the generator gets there
=========================================  ===================  =======================================
admissions per 1,000 inhabitants and year  6.2 (Hdir 2022)      expected volume per municipality,
                                                                normalised to 6.2 overall
more admissions in small / host            qualitative (Hdir)   rate x1.6 below 3,000 inhabitants,
municipalities                                                  x1.3 below 10,000, x1.2 for hosts,
                                                                x2 where a sykestue serves (Hallingdal)
admissions per bed and year                ~48 (derived)        follows from the volume and the
                                                                region's beds
occupancy (beleggsprosent)                 ~47 % (Hdir 2022)    follows from volume x stay length
mean length of stay                        ~3.6 days (derived)  lognormal stays, median ~3 days,
                                                                daytime discharges; a few > 30 days
patients aged 67+                          72 % (Hdir 2022)     age mixture per patient
patients under 18                          ~2 % (Hdir 2022)     age mixture per patient
women                                      60 % (Hdir 2022)     more women among the old
transferred to hospital                    ~20-24 % (study:     logistic in sex and NEWS2; most
                                           23.6 %)              within 24 hours
died during the stay                       ~1-2 % (assumed)     rises with age
musculoskeletal + respiratory + general    ~55 % (Hdir 2022)    weighted ICPC-2 code list
(ICPC-2 L, R, A)
mental health / substance use              small share          6 % of stays where a unit with that
                                                                care track serves the municipality
=========================================  ===================  =======================================

Other features: admissions peak in the afternoon and evening and in winter;
about 12 % of stays are a further stay of an earlier patient (a chain of
non-overlapping stays, many within 30 days); stays still open at the extract
(1 January after the last year) have no discharge; deaths set ``died_at`` on
every stay of the patient; 1.5 % of patients are visitors from outside the
unit's catchment; one unit changes its number of beds mid-period (two unit
rows); municipality numbers are those valid at admission (for years before a
reform the region file's ``former`` codes are used, and population of merged
municipalities without ``parts`` is split evenly). Municipalities served only
in part (``population_in_area``) get admissions from the part in the area,
while the population table carries the whole municipality, as Statistics Norway
publishes it.

Experience questionnaires (table ``experience``)
------------------------------------------------
Every figure here is **assumed** (chosen to look like a regional survey; no
source stands behind them), so indicators computed from them show how the
indicators behave, not how KAD units perform.

- *Who is asked.* For a share (``SURVEY_SHARE``, 60 %) of completed stays a
  questionnaire about the stay goes to the patient, or to the next of kin instead
  when the patient is under 18, has dementia (ICPC-2 P70; 70 % of them), is 90 or
  older (half of them), or died during the stay or within
  ``SURVEY_DELAY_DAYS`` (14) days of discharge: a questionnaire about a stay
  never goes to a patient who died before it would have been sent. Independently,
  30 % (``PROFESSIONAL_SHARE``) of completed stays admitted from the
  out-of-hours service or a GP get a questionnaire to the referring doctor, and
  30 % of those discharged home with services or to a nursing home one to the
  staff who took over (``follow_up_staff``). Open stays get none.
- *Who answers.* Response rates (``RESPONSE_RATE``): patients 45 % (lower
  under 50, higher from 67 to 89: about 50 % overall), next of kin 40 %, referring
  doctors 35 %, follow-up staff 45 %, each shifted per unit (logit ± about 0.25),
  so units differ. Measured on the default region: 60 % of completed stays get a
  patient or next-of-kin questionnaire (about one in nine of them to the next of
  kin); about 27,000 rows for 6,300 stays.
- *What they answer.* An answered questionnaire has one row per item the code list
  ``experience_item`` asks of that respondent (its ``respondents`` attribute), in
  code list order; one that was not answered is one row with ``responded`` false
  and no item or score. Scores (1-5) come from one latent experience per
  questionnaire (standard normal, plus a unit effect of sd 0.25, minus 0.3 for a
  stay that ended in transfer to hospital) times an item loading of 0.65, plus
  item noise (sd 0.6), around an item mean (``ITEM_MEAN``: about 4.1 for most
  items where higher is better, 1.7 for waiting and 1.25 for wrong treatment,
  where lower is better), rounded and clipped to 1-5: items of one questionnaire
  correlate at about 0.5, and about 70 % of the answers to an item where higher is
  better are 4 or 5 (mean about 3.95). 3 % of items are left empty (not applicable or not
  answered), more for involvement in decisions (10 %), waiting (8 %) and the
  information at discharge (8 %).
- ``response_id`` is ``S`` and 16 hex digits, one-to-one with the stay and the
  respondent (a different mapping per seed).

Acute hospital admissions (table ``hospital_admissions``)
---------------------------------------------------------
Acute somatic admissions of adult residents, from the ``population`` table (the
same municipality numbers, valid on 1 January of each year), about
``HOSPITAL_ADMISSIONS_PER_1000`` (110, assumed) per 1,000 adults and year
over the region, spread over municipalities by their age structure (assumed
relative rates per age band, ``HOSPITAL_AGE_WEIGHT``: 18-49 0.45, 50-66 1,
67-79 2.2, 80-89 4, 90+ 4.6) and a fixed factor per municipality (lognormal, sd
0.1), and over months with a winter peak (±10 %, highest in January) and the
days of each month; monthly counts are Poisson draws (measured on the default
region: 93-146 per 1,000 adults by municipality, region 110). Like the
population table, a municipality served only in part counts all its residents.
Coverage is uneven on purpose, so that indicators must handle it: the region's
smallest municipality delivers whole-year rows only (month empty, the sum of its
months) and the next smallest lacks July of the last year.

.. versionadded:: 0.1.0
.. versionchanged:: 0.2.0
   The ``experience`` and ``hospital_admissions`` tables of schema 1.1.0.
"""

from __future__ import annotations

import datetime as dt
import functools
import math
import operator
import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import attrs
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from . import _yaml
from ._resources import data_root
from .schema import TIMEZONE, arrow_schema
from .spec.loader import load_schema
from .spec.models import CodeList, SchemaSpec

__all__ = ["SyntheticRegion", "generate", "write", "write_norwegian_csv"]

# -- calibration (see the module docstring) -------------------------------------

ADMISSIONS_PER_1000 = 6.2
SMALL_MUNICIPALITY_RATE = ((3_000, 1.6), (10_000, 1.3))  # (population below, rate factor)
HOST_RATE = 1.2
COMMUNITY_HOSPITAL_RATE = 2.0  # municipalities served by a sykestue / medical centre
MENTAL_HEALTH_SHARE = 0.06
REPEAT_PROBABILITY = 0.12  # a stay is a further stay of the previous patient
MAX_STAYS_PER_PATIENT = 5
MAX_CHAIN_DAYS = 180.0
VISITOR_SHARE = 0.015
VISITOR_NEAR = 0.6  # share of visitors from the region's own counties
TRANSFER_INTERCEPT = -1.65  # logit of transfer to hospital: + 0.5 male + 0.35 (NEWS2 - 2)
NEWS2_P = (0.21, 0.22, 0.19, 0.14, 0.09, 0.06, 0.04, 0.025, 0.015, 0.007, 0.003)
NEWS2_RECORDED = 0.85
HOUR_WEIGHTS = (1.5, 1.0, 0.8, 0.6, 0.5, 0.5, 0.6, 0.9, 1.5, 2.5, 3.5, 4.0,
                4.5, 5.0, 5.5, 6.0, 6.0, 6.0, 5.5, 5.0, 4.5, 3.8, 3.0, 2.2)
ADMITTED_FROM = {  # code: (somatic, mental health / substance use)
    "out_of_hours": (0.50, 0.55), "gp": (0.32, 0.20), "hospital": (0.08, 0.10),
    "nursing_home": (0.03, 0.0), "home_care": (0.05, 0.02), "other": (0.02, 0.13),
}
DISCHARGED_HOME = {  # code: share by age group (< 67, 67-79, 80+), after deaths and transfers
    "home": (0.62, 0.45, 0.30), "home_with_services": (0.25, 0.38, 0.42),
    "nursing_home": (0.05, 0.12, 0.24), "other": (0.08, 0.05, 0.04),
}
# (ICPC-2, weight, ICD-10 where a unit also codes ICD-10)
DIAGNOSES_SOMATIC = (
    ("R81", 11, "J18.9"), ("R95", 6, "J44.1"), ("R78", 4, "J20.9"), ("R74", 2, "J06.9"),
    ("R80", 2, "J11.1"), ("R96", 1, "J45.9"), ("R02", 1.5, "R06.0"), ("R05", 0.5, "R05"),
    ("L76", 4, "S22.3"), ("L75", 1, "S72.0"), ("L03", 3, "M54.5"), ("L02", 2, "M54.9"),
    ("L81", 3, "T14.3"), ("L86", 1.5, "M51.1"), ("L89", 1, "M16.9"), ("L90", 1, "M17.9"),
    ("L14", 0.5, "M79.6"),
    ("A04", 7, "R53"), ("A29", 2.5, "R68.8"), ("A28", 2, "Z74.0"), ("A85", 1.5, "T88.7"),
    ("A99", 1, "R69"), ("A03", 1, "R50.9"), ("A06", 0.5, "R55"),
    ("U71", 9, "N39.0"), ("U70", 1.5, "N10"), ("S76", 6, "A46"), ("K77", 6, "I50.9"),
    ("K78", 2.5, "I48.9"), ("K74", 1, "I20.9"), ("K90", 1, "I63.9"), ("T11", 4.5, "E86"),
    ("T90", 1.5, "E11.9"), ("D06", 3, "R10.4"), ("D70", 2.5, "A09"), ("D12", 1, "K59.0"),
    ("P70", 3, "F03"), ("N17", 2.5, "R42"),
)
DIAGNOSES_MENTAL = (
    ("P15", 20, "F10.2"), ("P19", 15, "F19.2"), ("P76", 20, "F32.9"), ("P74", 15, "F41.9"),
    ("P77", 8, "X84"), ("P98", 8, "F29"), ("P29", 14, "R45.8"),
)
DIAGNOSIS_MISSING = 0.015
ICD10_SHARE = {"hospital": 0.9, "medical_centre": 0.9}  # by unit location; else 0.2
ICD10_OTHER = 0.2
EXAMINED = (0.90, 0.08)  # true, false; the rest unknown (null)
# Single-year age structure of Norway, people per year of age in thousands
# (approximate, Statistics Norway 2024), and the share of men by age.
AGE_KNOTS = (0, 10, 17, 20, 25, 30, 35, 40, 45, 50, 55, 60, 65, 70, 75, 80, 85, 90, 95,
             100, 105)
AGE_PER_YEAR = (55, 63, 65, 66, 72, 76, 75, 73, 73, 76, 74, 68, 61, 56, 48, 33, 20, 10, 3,
                0.5, 0.05)
MALE_KNOTS = (0, 50, 65, 80, 90, 100, 105)
MALE_SHARE = (0.513, 0.512, 0.50, 0.46, 0.36, 0.22, 0.20)
OLDER_TILT = ((5_000, 0.45), (20_000, 0.2))  # small municipalities are older

SOMATIC = "somatic"
MENTAL = "mental_health_substance"
MINUTES_PER_DAY = 1440
MIN_GAP_MINUTES = 120  # shortest stay and shortest time between two stays
EPOCH = dt.date(1970, 1, 1)
LABELLED_CODELISTS = ("sex", "care_track", "admitted_from", "discharged_to", "unit_location",
                      "experience_respondent")
TABLES = ("stays", "units", "population", "experience", "hospital_admissions")
FORMATS = ("csv", "parquet")

# -- experience questionnaires (all assumed; see the module docstring) ------------

SURVEY_SHARE = 0.6
"""Share of completed stays whose patient (or next of kin) is sent a questionnaire."""
SURVEY_DELAY_DAYS = 14
"""Days after discharge the questionnaire is sent; a patient dead by then is never asked."""
PROFESSIONAL_SHARE = 0.3
"""Share of eligible completed stays whose referring doctor / follow-up staff are asked."""
RESPONDENTS = ("patient", "next_of_kin", "referring_doctor", "follow_up_staff")
RESPONSE_RATE = {"patient": 0.45, "next_of_kin": 0.40, "referring_doctor": 0.35,
                 "follow_up_staff": 0.45}
"""Response rate by respondent before the age and unit adjustments."""
PROXY_SHARE = {"dementia": 0.7, "age_90": 0.5}  # next of kin answer instead of the patient
REFERRED_BY_DOCTOR = ("out_of_hours", "gp")
FOLLOWED_UP = ("home_with_services", "nursing_home")
ITEM_MEAN = {"gspeq_03": 3.9, "gspeq_05": 3.7, "gspeq_07": 1.7, "gspeq_10": 1.25,
             "prof_admission_easy": 4.2, "prof_information": 3.7}
"""Item means on the 1-5 scale; other items 4.1 (higher is better) or 1.6 (lower is better)."""
ITEM_LOADING = {"gspeq_07": 0.35, "gspeq_10": 0.3}  # others 0.65
ITEM_NOISE = 0.6
ITEM_EMPTY = {"gspeq_05": 0.10, "gspeq_07": 0.08, "prof_information": 0.08}  # others 0.03
UNIT_EFFECT_SD = 0.25  # on the latent experience and on the logit of responding
TRANSFER_EFFECT = -0.3

# -- acute hospital admissions (assumed) -------------------------------------------

HOSPITAL_ADMISSIONS_PER_1000 = 110.0
"""Acute somatic hospital admissions per 1,000 adult residents and year, over the region."""
HOSPITAL_AGE_WEIGHT = {"18-49": 0.45, "50-66": 1.0, "67-79": 2.2, "80-89": 4.0, "90+": 4.6}
HOSPITAL_MUNICIPALITY_SD = 0.1
HOSPITAL_SEASON = 0.10  # amplitude of the winter peak (cosine, highest in January)
HOSPITAL_MISSING_MONTH = 7
HOSPITAL_SOURCE = "Norsk pasientregister (syntetiske tall)"
HOSPITAL_SOURCE_YEAR = "Helseforetaket, helårstall (syntetiske tall)"
EXPERIENCE_STREAM, HOSPITAL_STREAM = 1, 2  # random streams of the seed


# -- public API -------------------------------------------------------------------

@attrs.frozen(kw_only=True)
class SyntheticRegion:
    """A synthetic region: the tables of the reporting schema and how they were made.

    Attributes
    ----------
    stays : pyarrow.Table
        One row per stay, exactly ``arrow_schema("stays")``.
    units : pyarrow.Table
        One row per unit and validity period, exactly ``arrow_schema("units")``.
    population : pyarrow.Table
        Inhabitants by municipality, year, sex and age band, exactly
        ``arrow_schema("population")``.
    experience : pyarrow.Table
        Experience questionnaires about the stays, one row per questionnaire and
        item (one row for a questionnaire not answered), exactly
        ``arrow_schema("experience")``; empty unless made by :func:`generate`.

        .. versionadded:: 0.2.0
    hospital_admissions : pyarrow.Table
        Acute somatic hospital admissions of adult residents by municipality, year
        and month (or whole year), exactly ``arrow_schema("hospital_admissions")``;
        empty unless made by :func:`generate`.

        .. versionadded:: 0.2.0
    region : str
        The region id, e.g. ``"vestre-viken"``.
    years : tuple of int
        The calendar years generated.
    seed : int
        The random seed.

    Examples
    --------
    >>> import kadindicators as kad
    >>> r = kad.synth.generate(years=(2024,), n_stays=50)
    >>> r.region, r.years, r.stays.num_rows
    ('vestre-viken', (2024,), 50)
    >>> r.experience.schema.equals(kad.arrow_schema("experience"))
    True

    .. versionadded:: 0.1.0
    """

    stays: pa.Table
    units: pa.Table
    population: pa.Table
    region: str
    years: tuple[int, ...]
    seed: int
    experience: pa.Table = attrs.field(factory=lambda: arrow_schema("experience").empty_table())
    hospital_admissions: pa.Table = attrs.field(
        factory=lambda: arrow_schema("hospital_admissions").empty_table())


def generate(
    *,
    years: Sequence[int] = (2024, 2025),
    seed: int = 1,
    region: str = "vestre-viken",
    scale: float = 1.0,
    n_stays: int | None = None,
) -> SyntheticRegion:
    """Generate a synthetic region: stays, units, population, experience and hospital admissions.

    The optional tables of schema 1.1.0 (``experience``, ``hospital_admissions``)
    are made from the stays and the population as the module docstring describes;
    all five validate without errors together.

    Parameters
    ----------
    years : sequence of int
        Calendar years of admissions (2000-2099). Units and population cover them.
    seed : int
        Random seed; the same arguments always give identical tables.
    region : str
        Id of a bundled region (``kadindicators/_data/regions``).
    scale : float
        Multiplies the calibrated volume (about 6.2 admissions per 1,000
        inhabitants and year). Ignored when ``n_stays`` is given.
    n_stays : int, optional
        The exact total number of stays, spread like the calibrated volume.

    Returns
    -------
    SyntheticRegion

    Raises
    ------
    ValueError
        For an unknown region, no or invalid years, a non-positive ``scale`` or
        a negative ``n_stays``.

    Examples
    --------
    >>> import kadindicators as kad
    >>> r = kad.synth.generate(years=(2024,), seed=7, scale=0.1)
    >>> r.stays.schema.equals(kad.arrow_schema("stays"))
    True
    >>> r.stays.equals(kad.synth.generate(years=(2024,), seed=7, scale=0.1).stays)
    True
    >>> kad.synth.generate(n_stays=1000).stays.num_rows
    1000
    >>> r.experience.column_names
    ['response_id', 'stay_id', 'respondent', 'responded', 'item', 'score']
    >>> report = kad.validate(stays=r.stays, units=r.units, population=r.population,
    ...                       experience=r.experience, hospital_admissions=r.hospital_admissions)
    >>> report.rows_rejected, sorted(report.summaries)[:2]
    (0, ['experience', 'hospital_admissions'])

    .. versionadded:: 0.1.0
    .. versionchanged:: 0.2.0
       Also makes ``experience`` and ``hospital_admissions``.
    """
    ys = _check_years(years)
    if not (isinstance(scale, (int, float)) and math.isfinite(scale) and scale > 0):
        raise ValueError(f"scale must be a positive number, got {scale!r}")
    if n_stays is not None and operator.index(n_stays) < 0:
        raise ValueError(f"n_stays must be zero or more, got {n_stays!r}")
    seed = operator.index(seed)
    schema = load_schema()
    reg = _load_region(region)
    history = _History.build(schema.codelists["municipality"])
    start, end = dt.date(ys[0], 1, 1), dt.date(ys[-1] + 1, 1, 1)
    bounds = _regime_starts(reg, history, start, end)
    rng = np.random.default_rng(seed)
    stays = _stays(reg=reg, history=history, bounds=bounds, years=ys, rng=rng, scale=scale,
                   n_stays=n_stays, seed=seed, schema=schema)
    population = _population(reg, history, ys, schema)
    return SyntheticRegion(
        stays=stays,
        units=_units(reg, history, bounds, start, end),
        population=population,
        experience=_experience(stays, schema, seed),
        hospital_admissions=_hospital_admissions(reg, population, ys, seed),
        region=reg.id,
        years=ys,
        seed=seed,
    )


def write(region: SyntheticRegion, out: str | os.PathLike[str], *,
          formats: Sequence[str] = FORMATS) -> dict[str, Path]:
    """Write a synthetic region's tables as CSV and/or Parquet files.

    CSV files are plain UTF-8 with commas, local ISO timestamps without offset
    (``2024-03-01T14:05:00``), ISO dates, ``true``/``false`` and lists joined with
    ``|``; values are quoted only when needed. They read back through
    :func:`kadindicators.validate` without rejected rows.

    Parameters
    ----------
    region : SyntheticRegion
        What :func:`generate` returned.
    out : path
        Folder to write into (created if needed).
    formats : sequence of {"csv", "parquet"}
        File formats to write.

    Returns
    -------
    dict of str to pathlib.Path
        The files written, keyed by file name (``"stays.csv"``, ``"units.parquet"``, ...).

    Examples
    --------
    >>> import tempfile
    >>> import kadindicators as kad
    >>> r = kad.synth.generate(years=(2024,), n_stays=100)
    >>> paths = kad.synth.write(r, tempfile.mkdtemp())
    >>> sorted(p for p in paths if p.endswith(".csv"))
    ['experience.csv', 'hospital_admissions.csv', 'population.csv', 'stays.csv', 'units.csv']
    >>> kad.validate(stays=paths["stays.csv"], units=paths["units.csv"],
    ...              experience=paths["experience.csv"]).rows_rejected
    0

    .. versionadded:: 0.1.0
    .. versionchanged:: 0.2.0
       Writes ``experience`` and ``hospital_admissions`` too.
    """
    import pyarrow.parquet as pq

    fmts = tuple(formats)
    unknown = [f for f in fmts if f not in FORMATS]
    if unknown:
        raise ValueError(f"unknown format(s) {unknown}; expected some of {list(FORMATS)}")
    folder = Path(out)
    folder.mkdir(parents=True, exist_ok=True)
    written: dict[str, Path] = {}
    for name in TABLES:
        table: pa.Table = getattr(region, name)
        for fmt in fmts:
            path = folder / f"{name}.{fmt}"
            if fmt == "csv":
                cols = [_plain_text(table.column(i)) for i in range(table.num_columns)]
                path.write_bytes(_csv_text(cols, table.column_names, ",", "\n").encode("utf-8"))
            else:
                pq.write_table(table, path)
            written[path.name] = path
    return written


def write_norwegian_csv(table: pa.Table, path: str | os.PathLike[str], *, table_name: str,
                        norwegian_headers: bool = False) -> Path:
    r"""Write a table the way a Norwegian Excel export looks.

    Semicolon-separated, Windows-1252, CRLF line ends, timestamps as local
    ``dd.mm.yyyy HH:MM``, dates as ``dd.mm.yyyy``, booleans as ``ja``/``nei``,
    lists joined with ``", "``, and the codes of some code lists (sex, care
    track, admitted from, discharged to, unit location) replaced by their
    Norwegian labels from ``spec/codelists``. Characters Windows-1252 cannot
    hold are written as ``?``, as Excel does.

    Parameters
    ----------
    table : pyarrow.Table
        A table with columns of the reporting schema (e.g. ``SyntheticRegion.stays``).
    path : path
        The file to write.
    table_name : str
        Which table of the schema this is (``"stays"``, ``"units"``, ``"population"``,
        ``"experience"``, ``"hospital_admissions"``).
    norwegian_headers : bool
        Use a Norwegian alias from the schema as the column header (e.g.
        ``kjønn``) instead of the field name.

    Returns
    -------
    pathlib.Path

    Examples
    --------
    >>> import tempfile, pathlib
    >>> import kadindicators as kad
    >>> r = kad.synth.generate(years=(2024,), n_stays=20)
    >>> p = pathlib.Path(tempfile.mkdtemp()) / "opphold.csv"
    >>> _ = kad.synth.write_norwegian_csv(r.stays, p, table_name="stays")
    >>> p.read_bytes().split(b"\r\n")[0][:32]
    b'stay_id;patient_id;unit_id;munic'
    >>> kad.validate(stays=p).rows_rejected
    0

    .. versionadded:: 0.1.0
    """
    schema = load_schema()
    if table_name not in schema.tables:
        raise ValueError(f"unknown table {table_name!r}; expected one of {sorted(schema.tables)}")
    tspec = schema.tables[table_name]
    cols: list[pa.Array] = []
    names: list[str] = []
    for name in table.column_names:
        col = _whole(table.column(name))
        codelist = tspec.field(name).codelist if name in tspec.field_names else None
        cols.append(_norwegian_text(col, schema.codelists.get(codelist) if codelist in
                                    LABELLED_CODELISTS else None))
        names.append(_norwegian_header(tspec.field(name).aliases)
                     if norwegian_headers and name in tspec.field_names else name)
    text = _csv_text(cols, names, ";", "\r\n")
    out = Path(path)
    out.write_bytes(text.encode("cp1252", errors="replace"))
    return out


# -- the region file ----------------------------------------------------------------

@attrs.frozen(kw_only=True)
class _Municipality:
    code: str
    population: int
    volume_population: int  # the inhabitants the region's units serve
    former: tuple[str, ...]
    parts: Mapping[str, tuple[int, bool]]  # former code -> (population, in the area)


@attrs.frozen(kw_only=True)
class _Unit:
    unit_id: str
    name: str
    host: str
    municipalities: tuple[str, ...]
    beds: int
    care_track: str
    location: str | None
    organisation_number: str | None


@attrs.frozen(kw_only=True)
class _Region:
    id: str
    municipalities: tuple[_Municipality, ...]
    units: tuple[_Unit, ...]


@functools.cache
def _load_region(region: str) -> _Region:
    folder = data_root() / "regions"
    path = folder / f"{region.replace('-', '_')}.yaml"
    raw: Any = _yaml.load(path) if path.is_file() else None
    if not (isinstance(raw, Mapping) and raw.get("id") == region):
        found = {}
        for p in sorted(folder.glob("*.yaml")):
            r = _yaml.load(p)
            if isinstance(r, Mapping) and "id" in r:
                found[str(r["id"])] = r
        if region not in found:
            raise ValueError(f"unknown region {region!r}; bundled regions: {sorted(found)}")
        raw = found[region]
    munis = []
    for m in raw["municipalities"]:
        population = int(m["population"])
        parts = {str(p["former"]): (int(p["population"]), bool(p.get("in_area", True)))
                 for p in m.get("parts", ()) or ()}
        munis.append(_Municipality(
            code=str(m["code"]), population=population,
            volume_population=int(m.get("population_in_area", population)),
            former=tuple(str(c) for c in m.get("former", ()) or ()), parts=parts))
    units = tuple(
        _Unit(unit_id=str(u["unit_id"]), name=str(u["name"]), host=str(u["host_municipality"]),
              municipalities=tuple(str(c) for c in u["municipalities"]), beds=int(u["beds"]),
              care_track=str(u.get("care_track", SOMATIC)), location=u.get("location"),
              organisation_number=(None if u.get("organisation_number") is None
                                   else str(u["organisation_number"])))
        for u in raw["units"])
    if not any(u.care_track == SOMATIC for u in units):
        raise ValueError(f"region {region!r} has no somatic unit")
    return _Region(id=str(raw["id"]), municipalities=tuple(munis), units=units)


def _check_years(years: Sequence[int]) -> tuple[int, ...]:
    if isinstance(years, (str, bytes)):
        raise TypeError(f"years must be a sequence of years, got {years!r}")
    ys = tuple(sorted({operator.index(y) for y in years}))
    if not ys:
        raise ValueError("years must name at least one year")
    if ys[0] < 2000 or ys[-1] > 2099:
        raise ValueError(f"years must be within 2000-2099, got {list(ys)}")
    return ys


# -- municipality numbers over time ---------------------------------------------------

@attrs.frozen
class _History:
    """Validity periods of municipality numbers (from the code list)."""

    periods: Mapping[str, tuple[tuple[dt.date, dt.date], ...]]

    @classmethod
    def build(cls, cl: CodeList) -> _History:
        far_past, far_future = dt.date(1800, 1, 1), dt.date(9999, 1, 1)
        periods: dict[str, list[tuple[dt.date, dt.date]]] = {}
        for c in cl.codes:
            periods.setdefault(c.code, []).append((c.valid_from or far_past,
                                                   c.valid_to or far_future))
        return cls({k: tuple(v) for k, v in periods.items()})

    def valid(self, code: str, day: dt.date) -> bool:
        return any(f <= day < t for f, t in self.periods.get(code, ()))

    def codes_on(self, m: _Municipality, day: dt.date) -> tuple[tuple[str, int, float], ...]:
        """Return the codes covering ``m`` on ``day``: (code, population, share of admissions)."""
        own = tuple(dict.fromkeys((m.code, *m.former)))
        cands = [c for c in own if self.valid(c, day)]
        if not cands:  # before the code list starts: the earliest codes
            firsts = [f for c in own for f, _ in self.periods.get(c, ())]
            if firsts and day < min(firsts):
                cands = [c for c in own if self.valid(c, min(firsts))]
            cands = cands or [m.code]
        known = {c: m.parts[c] for c in cands if c in m.parts}
        rest = [c for c in cands if c not in known]
        remaining = max(m.population - sum(p for p, _ in known.values()), 0)
        in_area = m.volume_population / m.population if m.population else 0.0
        out = []
        for c in cands:
            if c in known:
                pop, inside = known[c]
                out.append((c, pop, float(pop if inside else 0)))
            else:
                k = rest.index(c)
                pop = remaining // len(rest) + (1 if k < remaining % len(rest) else 0)
                out.append((c, pop, pop * in_area))
        return tuple(out)


def _regime_starts(reg: _Region, history: _History, start: dt.date,
                   end: dt.date) -> tuple[dt.date, ...]:
    """Return the days on which any municipality number of the region changes (with ``start``)."""
    days = {start}
    for m in reg.municipalities:
        for c in (m.code, *m.former):
            for f, t in history.periods.get(c, ()):
                days.update(d for d in (f, t) if start < d < end)
    return tuple(sorted(days))


def _muni_lookup(reg: _Region) -> dict[str, _Municipality]:
    return {m.code: m for m in reg.municipalities}


# -- units ------------------------------------------------------------------------------

def _bed_change(reg: _Region, start: dt.date, end: dt.date) -> tuple[str, dt.date, int]:
    """Choose the unit that changes its beds mid-period: (unit_id, day, beds before)."""
    somatic = [u for u in reg.units if u.care_track == SOMATIC]
    unit = max(somatic, key=lambda u: u.beds)
    mid = start + (end - start) / 2 + dt.timedelta(days=15)
    day = dt.date(mid.year, mid.month, 1)  # the first of a month nearest the middle
    if day <= start:  # a period shorter than two months: the next first of a month
        day = dt.date(start.year + start.month // 12, start.month % 12 + 1, 1)
    before = unit.beds - 2 if unit.beds > 2 else unit.beds + 1
    return unit.unit_id, day, before


def _units(reg: _Region, history: _History, bounds: tuple[dt.date, ...], start: dt.date,
           end: dt.date) -> pa.Table:
    lookup = _muni_lookup(reg)
    changed, change_day, beds_before = _bed_change(reg, start, end)
    rows: list[dict[str, Any]] = []

    def codes(code: str, day: dt.date) -> list[str]:
        m = lookup.get(code) or _Municipality(code=code, population=0, volume_population=0,
                                              former=(), parts={})
        return [c for c, _, _ in history.codes_on(m, day)]

    for u in reg.units:
        cuts = sorted(set(bounds) | ({change_day} if u.unit_id == changed else set()))
        unit_rows: list[dict[str, Any]] = []
        for i, day in enumerate(cuts):
            row = {
                "unit_id": u.unit_id, "name": u.name, "host_municipality": codes(u.host, day)[0],
                "municipalities": list(dict.fromkeys(c for m in u.municipalities
                                                     for c in codes(m, day))),
                "care_track": u.care_track,
                "beds": beds_before if u.unit_id == changed and day < change_day else u.beds,
                "valid_from": day, "valid_to": cuts[i + 1] if i + 1 < len(cuts) else None,
                "location": u.location, "organisation_number": u.organisation_number,
            }
            same = unit_rows and all(unit_rows[-1][k] == row[k] for k in row
                                     if k not in ("valid_from", "valid_to"))
            if same:
                unit_rows[-1]["valid_to"] = row["valid_to"]
            else:
                unit_rows.append(row)
        rows.extend(unit_rows)
    schema = arrow_schema("units")
    return pa.Table.from_pylist(rows, schema=schema)


# -- population -------------------------------------------------------------------------

def _age_shares(population: int, schema: SchemaSpec) -> np.ndarray:
    """Return the expected share of inhabitants per (sex 1/2, age band), a 2 x bands array."""
    ages = np.arange(0, 106)
    per_year = np.interp(ages, AGE_KNOTS, AGE_PER_YEAR)
    tilt = next((t for limit, t in OLDER_TILT if population < limit), 0.0)
    per_year = per_year * (1 + tilt * np.clip((ages - 45) / 40, -0.5, 1.0))
    male = np.interp(ages, MALE_KNOTS, MALE_SHARE)
    shares = np.zeros((2, len(schema.age_bands)))
    for j, band in enumerate(schema.age_bands):
        inside = (ages >= band.min) & (ages < (band.max if band.max is not None else 10**6))
        shares[0, j] = (per_year * male)[inside].sum()
        shares[1, j] = (per_year * (1 - male))[inside].sum()
    out: np.ndarray = shares / shares.sum()
    return out


def _round_to_total(expected: np.ndarray, total: int) -> np.ndarray:
    """Round to integers summing exactly to ``total`` (largest remainder)."""
    floor: np.ndarray = np.floor(expected).astype(np.int64)
    short = total - int(floor.sum())
    order = np.argsort(-(expected - floor).ravel(), kind="stable")
    floor.flat[order[:short]] += 1
    return floor


def _population(reg: _Region, history: _History, years: tuple[int, ...],
                schema: SchemaSpec) -> pa.Table:
    cells: dict[tuple[str, int, str, str], int] = {}
    bands = [b.code for b in schema.age_bands]
    for year in years:
        for m in reg.municipalities:
            shares = _age_shares(m.population, schema)
            for code, pop, _ in history.codes_on(m, dt.date(year, 1, 1)):
                counts = _round_to_total(shares * pop, pop)
                for s, sex in enumerate(("1", "2")):
                    for j, band in enumerate(bands):
                        key = (code, year, sex, band)
                        cells[key] = cells.get(key, 0) + int(counts[s, j])
    keys = list(cells)
    return pa.Table.from_arrays(
        [pa.array([k[0] for k in keys], pa.string()), pa.array([k[1] for k in keys], pa.int64()),
         pa.array([k[2] for k in keys], pa.string()), pa.array([k[3] for k in keys], pa.string()),
         pa.array(list(cells.values()), pa.int64())],
        schema=arrow_schema("population"))


# -- stays ------------------------------------------------------------------------------

def _epoch_day(day: dt.date) -> int:
    return (day - EPOCH).days


def _dst_windows(first_year: int, last_year: int) -> np.ndarray:
    """Return the local minutes at which the 02:00-03:00 hour of a daylight-saving switch starts.

    In Europe/Oslo (EU rule) that hour does not exist on the last Sunday of
    March and occurs twice on the last Sunday of October.
    """
    out = []
    for year in range(first_year, last_year + 1):
        for month in (3, 10):
            last = dt.date(year, month, 31)
            sunday = last - dt.timedelta(days=(last.weekday() + 1) % 7)
            out.append(_epoch_day(sunday) * MINUTES_PER_DAY + 120)
    return np.array(sorted(out), dtype=np.int64)


def _avoid_dst(local: np.ndarray, windows: np.ndarray) -> np.ndarray:
    """Move local times inside a DST switch hour one hour later (never earlier)."""
    i = np.searchsorted(windows, local, side="right") - 1
    inside = (i >= 0) & (local - windows[np.clip(i, 0, None)] < 60)
    return np.where(inside, local + 60, local)


def _pick(rng: np.random.Generator, p: Sequence[float] | np.ndarray, size: int) -> np.ndarray:
    w = np.asarray(p, dtype=float)
    return rng.choice(len(w), size=size, p=w / w.sum())


def _chains(cont: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Return chain number, position and chain starts; ``cont`` marks a further stay."""
    head = ~cont
    chain = np.cumsum(head) - 1
    heads = np.flatnonzero(head)
    pos = np.arange(len(cont)) - heads[chain] if len(cont) else np.zeros(0, np.int64)
    return chain, pos, heads


def _admission_days(years: tuple[int, ...]) -> tuple[np.ndarray, np.ndarray]:
    """Return the epoch days of the years and their weights (winter peak, quieter weekends)."""
    days = np.concatenate([np.arange(_epoch_day(dt.date(y, 1, 1)),
                                     _epoch_day(dt.date(y + 1, 1, 1))) for y in years])
    doy = days - np.array([_epoch_day(dt.date(y, 1, 1)) for y in years]).repeat(
        [_epoch_day(dt.date(y + 1, 1, 1)) - _epoch_day(dt.date(y, 1, 1)) for y in years])
    weekday = (days + 3) % 7  # 1970-01-01 was a Thursday; 0 = Monday
    w = (1 + 0.18 * np.cos(2 * np.pi * (doy - 20) / 365.25)) * np.where(weekday >= 5, 0.85, 1.0)
    return days, w / w.sum()


def _stays(*, reg: _Region, history: _History, bounds: tuple[dt.date, ...],
           years: tuple[int, ...], rng: np.random.Generator, scale: float,
           n_stays: int | None, seed: int, schema: SchemaSpec) -> pa.Table:
    munis, units = reg.municipalities, reg.units
    nm = len(munis)
    # -- volume: expected admissions per municipality over all years
    vol = np.array([m.volume_population for m in munis], dtype=float)
    factor = np.ones(nm)
    for limit, f in reversed(SMALL_MUNICIPALITY_RATE):
        factor = np.where(np.array([m.population for m in munis]) < limit, f, factor)
    hosts = {u.host for u in units if u.care_track == SOMATIC}
    factor *= np.where([m.code in hosts for m in munis], HOST_RATE, 1.0)
    rural = {c for u in units if u.location == "medical_centre" for c in u.municipalities}
    factor *= np.where([m.code in rural for m in munis], COMMUNITY_HOSPITAL_RATE, 1.0)
    rate = ADMISSIONS_PER_1000 / 1000 * factor * vol.sum() / max((factor * vol).sum(), 1e-9)
    lam = rate * vol * len(years)
    n = int(n_stays) if n_stays is not None else round(float(scale * lam.sum()))
    if n == 0:
        return arrow_schema("stays").empty_table()
    counts = rng.multinomial(n, lam / lam.sum())
    muni = np.repeat(np.arange(nm), counts)
    # -- unit and care track, by the municipality's units (beds as weights)
    unit = np.zeros(n, dtype=np.int64)
    first = np.concatenate(([0], np.cumsum(counts)))
    for i, m in enumerate(munis):
        k = int(counts[i])
        som = [j for j, u in enumerate(units) if u.care_track == SOMATIC
               and m.code in u.municipalities]
        som = som or [j for j, u in enumerate(units) if u.care_track == SOMATIC]
        mhs = [j for j, u in enumerate(units) if u.care_track == MENTAL
               and m.code in u.municipalities]
        pick = np.array(som)[_pick(rng, [units[j].beds + 1e-9 for j in som], k)]
        if mhs:
            to_mhs = rng.random(k) < MENTAL_HEALTH_SHARE
            alt = np.array(mhs)[_pick(rng, [units[j].beds + 1e-9 for j in mhs], k)]
            pick = np.where(to_mhs, alt, pick)
        unit[first[i]:first[i + 1]] = pick
    order = np.argsort(unit * nm + muni, kind="stable")
    unit, muni = unit[order], muni[order]
    mental = np.array([u.care_track == MENTAL for u in units])[unit]
    # -- patients: chains of stays in the same unit and municipality
    cell = unit * nm + muni
    same_cell = np.concatenate(([False], cell[1:] == cell[:-1]))
    cont = same_cell & (rng.random(n) < REPEAT_PROBABILITY)
    _, pos, _ = _chains(cont)
    cont &= pos % MAX_STAYS_PER_PATIENT != 0
    # -- per-patient attributes (drawn per stay, then taken from the chain's first stay)
    u_age, u_kind = rng.random(n), rng.random(n)
    young = 12 + np.floor(rng.random(n) * 6)
    adult = 18 + np.floor(rng.beta(2.2, 1.4, n) * 49)
    old = 67 + np.floor(rng.beta(1.5, 2.6, n) * 38)
    mh_age = 18 + np.floor(rng.beta(1.6, 2.6, n) * 62)
    age_draw = np.where(u_kind < 0.02, young, np.where(u_kind < 0.25, adult, old))
    age_draw = np.where(mental, mh_age, age_draw).astype(np.int64)
    p_female = np.where(mental, 0.42, np.where(age_draw >= 67, 0.64, 0.52))
    male_draw = u_age >= p_female
    visitor_draw = (rng.random(n) < VISITOR_SHARE) & ~mental
    visitor_near, visitor_pick = rng.random(n) < VISITOR_NEAR, rng.random(n)
    u_shift = rng.random(n)
    code_u = rng.random(n)
    # -- per-stay clinical attributes
    news_draw = _pick(rng, NEWS2_P, n)
    news_known = rng.random(n) < NEWS2_RECORDED
    src_som = _pick(rng, [v[0] for v in ADMITTED_FROM.values()], n)
    src_mhs = _pick(rng, [v[1] for v in ADMITTED_FROM.values()], n)
    source = np.where(mental, src_mhs, src_som)
    u_exam = rng.random(n)
    diag_som = _pick(rng, [d[1] for d in DIAGNOSES_SOMATIC], n)
    diag_mhs = _pick(rng, [d[1] for d in DIAGNOSES_MENTAL], n)
    diag_missing = rng.random(n) < DIAGNOSIS_MISSING
    u_icd = rng.random(n)
    u_died, u_transfer, u_dest = rng.random(n), rng.random(n), rng.random(n)
    z_los = rng.standard_normal(n)
    gap_days = np.where(rng.random(n) < 0.6, 0.25 + rng.exponential(9.0, n),
                        rng.uniform(30, 120, n))
    tod = _pick(rng, HOUR_WEIGHTS, n) * 60 + rng.integers(0, 60, n)
    discharge_tod = np.clip(rng.normal(13 * 60, 120, n), 8 * 60, 21 * 60).astype(np.int64)
    u_post, post_days = rng.random(n), rng.integers(1, 91, n)

    # -- outcome and stay length
    chain, pos, heads = _chains(cont)
    age, male = age_draw[heads][chain], male_draw[heads][chain]
    news = np.where(news_known, news_draw, -1)
    news_eff = np.where(news_known, news_draw, 2)
    p_died = np.where(mental, 0.001, np.clip(0.004 + 0.0008 * (age - 60), 0.001, 0.06))
    logit = TRANSFER_INTERCEPT + 0.5 * male + 0.35 * (news_eff - 2)
    p_transfer = np.where(mental, 0.5, 1.0) / (1 + np.exp(-logit))
    died = u_died < p_died
    transfer = ~died & (u_transfer < p_transfer)
    home_codes = list(DISCHARGED_HOME)
    group = np.where(age < 67, 0, np.where(age < 80, 1, 2))
    cum = np.cumsum(np.array(list(DISCHARGED_HOME.values())), axis=0)  # codes x groups
    home_pick = np.zeros(n, dtype=np.int64)
    for g in range(cum.shape[1]):
        in_group = group == g
        home_pick[in_group] = np.minimum(np.searchsorted(cum[:, g], u_dest[in_group]),
                                         len(cum) - 1)
    nursing = home_pick == home_codes.index("nursing_home")
    median = np.where(transfer, 0.55, np.where(
        died, 3.0, np.where(mental, 1.8, 3.7 * np.clip(1 + 0.01 * (age - 78), 0.7, 1.3)
                            * np.where(nursing, 1.3, 1.0))))
    sigma = np.where(transfer, 0.85, np.where(died, 0.9, 0.7))
    los = np.clip(median * np.exp(sigma * z_los), MIN_GAP_MINUTES / MINUTES_PER_DAY, 90.0)
    # break chains that would span more than MAX_CHAIN_DAYS (or the period)
    period_days = (_epoch_day(dt.date(years[-1] + 1, 1, 1)) - _epoch_day(dt.date(years[0], 1, 1)))
    span_limit = min(MAX_CHAIN_DAYS, period_days - 3.0)
    step = np.zeros(n)
    step[1:] = np.where(cont[1:], los[:-1] + gap_days[1:] + 2.2, 0.0)
    csum = np.cumsum(step)
    cont &= csum - csum[heads][chain] <= span_limit
    chain, pos, heads = _chains(cont)
    age, male = age_draw[heads][chain], male_draw[heads][chain]
    is_last = np.concatenate((~cont[1:], [True]))
    # only a patient's last stay can end in death (otherwise home with services)
    home_pick = np.where(died & ~is_last, home_codes.index("home_with_services"), home_pick)
    died &= is_last

    # -- times, in local wall-clock minutes since 1970-01-01 00:00
    day_pool, day_w = _admission_days(years)
    windows = _dst_windows(years[0] - 1, years[-1] + 2)
    end_min = _epoch_day(dt.date(years[-1] + 1, 1, 1)) * MINUTES_PER_DAY
    start_min = _epoch_day(dt.date(years[0], 1, 1)) * MINUTES_PER_DAY
    adm = np.zeros(n, dtype=np.int64)
    dis = np.zeros(n, dtype=np.int64)
    head_day = rng.choice(day_pool, size=len(heads), p=day_w)
    daytime = ~(transfer | died)
    los_min = np.round(los * MINUTES_PER_DAY).astype(np.int64)
    gap_min = np.round(gap_days * MINUTES_PER_DAY).astype(np.int64)
    for p in range(MAX_STAYS_PER_PATIENT):
        at = np.flatnonzero(pos == p)
        if not at.size:
            break
        if p == 0:
            a = head_day * MINUTES_PER_DAY + tod[at]
        else:
            earliest = dis[at - 1] + gap_min[at]
            a = (earliest // MINUTES_PER_DAY) * MINUTES_PER_DAY + tod[at]
            a = np.where(a < earliest, a + MINUTES_PER_DAY, a)
        a = _avoid_dst(a, windows)
        raw = a + los_min[at]
        day_out = (raw // MINUTES_PER_DAY) * MINUTES_PER_DAY + discharge_tod[at]
        day_out = np.where(day_out < a + MIN_GAP_MINUTES, day_out + MINUTES_PER_DAY, day_out)
        d = np.where(daytime[at], day_out, np.maximum(raw, a + MIN_GAP_MINUTES))
        adm[at], dis[at] = a, _avoid_dst(d, windows)
    # move a chain back so its last admission falls before the extract
    # (by the overflow plus a random part of the room left, so they do not pile up at the end)
    overflow = adm[is_last] - (end_min - MIN_GAP_MINUTES)
    need = -(-overflow // MINUTES_PER_DAY)
    room = np.maximum((adm[heads] - start_min) // MINUTES_PER_DAY - need, 0)
    extra = np.floor(u_shift[heads] * (np.minimum(room, 365) + 1)).astype(np.int64)
    back = np.where(overflow > 0, need + extra, 0) * MINUTES_PER_DAY
    adm = _avoid_dst(adm - back[chain], windows)
    dis = _avoid_dst(dis - back[chain], windows)
    open_ = dis >= end_min
    discharged = ~open_
    # -- deaths: at discharge, or (a few) within 90 days after the last discharge
    dis_day = dis // MINUTES_PER_DAY
    end_day = end_min // MINUTES_PER_DAY
    p_post = np.clip(0.01 + 0.001 * (age - 70), 0.002, 0.06)
    post = is_last & discharged & ~died & (u_post < p_post) & (dis_day + post_days < end_day)
    died &= discharged
    death_stay = np.where(died, dis_day, np.where(post, dis_day + post_days, -1))
    chain_death = np.full(len(heads), -1, dtype=np.int64)
    has_death = death_stay >= 0
    chain_death[chain[has_death]] = death_stay[has_death]
    died_at = chain_death[chain]
    # -- discharge destination
    dest_codes = [*home_codes, "hospital", "died"]
    dest = np.where(died, len(home_codes) + 1, np.where(transfer, len(home_codes), home_pick))

    # -- municipality number valid at admission (the region's numbers over time)
    muni_code, vocab = _municipality_codes(reg, history, bounds, muni, adm, code_u[heads][chain])
    near, far = _visitor_codes(reg, history, bounds[0], dt.date(years[-1] + 1, 1, 1))
    if far:
        near = near or far
        from_near = visitor_near[heads][chain]
        pick = visitor_pick[heads][chain]
        which = np.where(from_near, np.floor(pick * len(near)),
                         len(near) + np.floor(pick * len(far))).astype(np.int64)
        muni_code = np.where(visitor_draw[heads][chain], len(vocab) + which, muni_code)
        vocab = vocab + near + far

    # -- order by admission and build the columns
    order = np.lexsort((unit, adm))
    adm, dis, unit, chain = adm[order], dis[order], unit[order], chain[order]
    open_, mental, age, male = open_[order], mental[order], age[order], male[order]
    adm_year = _year_of(adm // MINUTES_PER_DAY)
    first_of_year = np.searchsorted(adm_year, adm_year, side="left")
    seq = np.arange(n) - first_of_year + 1
    width = max(6, len(str(int(seq.max()))))
    prefix = "".join(w[0] for w in reg.id.split("-") if w).upper() + "-"
    stay_id = _ascii([_const(prefix, n), _digits(adm_year, 4), _const("-", n),
                      _digits(seq, width)])
    patient_id = _ascii([_const("P", n), _hex(_mix(chain.astype(np.uint64), seed))])
    diag_som, diag_mhs = diag_som[order], diag_mhs[order]
    icpc_vocab = [d[0] for d in DIAGNOSES_SOMATIC] + [d[0] for d in DIAGNOSES_MENTAL]
    icd_vocab = [d[2] for d in DIAGNOSES_SOMATIC] + [d[2] for d in DIAGNOSES_MENTAL]
    diag = np.where(mental, len(DIAGNOSES_SOMATIC) + diag_mhs, diag_som)
    icd_share = np.array([ICD10_SHARE.get(u.location or "", ICD10_OTHER) for u in units])
    has_icd = (u_icd[order] < icd_share[unit]) & ~diag_missing[order]
    src = source[order]
    examined = np.where(u_exam[order] < EXAMINED[0], 1,
                        np.where(u_exam[order] < EXAMINED[0] + EXAMINED[1], 0, -1))
    examined = np.where(src == list(ADMITTED_FROM).index("hospital"), 1, examined)
    _check_codes(schema, {"admitted_from": list(ADMITTED_FROM), "discharged_to": dest_codes,
                          "icpc2": icpc_vocab, "municipality": vocab,
                          "care_track": [SOMATIC, MENTAL]})
    columns = {
        "stay_id": stay_id,
        "patient_id": patient_id,
        "unit_id": _take([u.unit_id for u in units], unit),
        "municipality": _take(vocab, muni_code[order]),
        "admitted_at": _timestamps(adm, np.ones(n, bool)),
        "discharged_at": _timestamps(dis, ~open_),
        "age": pa.array(age, pa.int64()),
        "sex": _take(["1", "2"], np.where(male, 0, 1)),
        "care_track": _take([SOMATIC, MENTAL], mental.astype(np.int64)),
        "admitted_from": _take(list(ADMITTED_FROM), src),
        "examined_before_admission": pa.array(examined == 1, pa.bool_(), mask=examined < 0),
        "discharged_to": _take(dest_codes, np.where(open_, -1, dest[order])),
        "diagnosis_icpc2": _take(icpc_vocab, np.where(diag_missing[order], -1, diag)),
        "diagnosis_icd10": _take(icd_vocab, np.where(has_icd, diag, -1)),
        "died_at": pa.array(died_at[order].astype(np.int32), pa.date32(),
                            mask=died_at[order] < 0),
        "news2_at_admission": pa.array(news[order], pa.int64(), mask=news[order] < 0),
    }
    target = arrow_schema("stays")
    return pa.Table.from_arrays([columns[f.name] for f in target], schema=target)


def _municipality_codes(reg: _Region, history: _History, bounds: tuple[dt.date, ...],
                        muni: np.ndarray, adm: np.ndarray,
                        u: np.ndarray) -> tuple[np.ndarray, list[str]]:
    """Return, per stay, the index (into a vocabulary) of the number valid at admission.

    Where several former numbers cover today's municipality, a patient keeps the
    same one (chosen by admission share) for all stays under that numbering.
    """
    nm = len(reg.municipalities)
    options = [[history.codes_on(m, b) for m in reg.municipalities] for b in bounds]
    vocab = list(dict.fromkeys(c for per_b in options for per_m in per_b for c, _, _ in per_m))
    width = max(len(per_m) for per_b in options for per_m in per_b)
    cum = np.ones((len(bounds) * nm, width))
    idx = np.zeros((len(bounds) * nm, width), dtype=np.int64)
    for r, per_b in enumerate(options):
        for i, per_m in enumerate(per_b):
            w = np.array([max(v, 0.0) for _, _, v in per_m]) + 1e-12
            row = r * nm + i
            cum[row, :len(per_m)] = np.cumsum(w) / w.sum()
            idx[row, :len(per_m)] = [vocab.index(c) for c, _, _ in per_m]
            idx[row, len(per_m):] = idx[row, len(per_m) - 1]
    bound_days = np.array([_epoch_day(b) for b in bounds])
    regime = np.clip(np.searchsorted(bound_days, adm // MINUTES_PER_DAY, side="right") - 1,
                     0, None)
    row = regime * nm + muni
    k = np.minimum((u[:, None] > cum[row]).sum(axis=1), width - 1)
    return idx[row, k], vocab


def _visitor_codes(reg: _Region, history: _History, start: dt.date,
                   end: dt.date) -> tuple[list[str], list[str]]:
    """Return municipality numbers outside the region valid through the whole period.

    Returns those in the region's counties (same first two digits) and all of them.
    """
    own = {c for m in reg.municipalities for c in (m.code, *m.former)}
    last = end - dt.timedelta(days=1)
    every = sorted(c for c in history.periods if c not in own
                   and history.valid(c, start) and history.valid(c, last))
    counties = {m.code[:2] for m in reg.municipalities}
    return [c for c in every if c[:2] in counties], every


def _check_codes(schema: SchemaSpec, used: Mapping[str, Sequence[str]]) -> None:
    for list_id, codes in used.items():
        known = set(schema.codelists[list_id].values)
        bad = sorted(set(codes) - known)
        if bad:  # pragma: no cover - a code list changed under the generator
            raise ValueError(f"synthetic generator uses codes not in code list {list_id}: {bad}")


def _year_of(epoch_days: np.ndarray) -> np.ndarray:
    return epoch_days.astype("datetime64[D]").astype("datetime64[Y]").astype(np.int64) + 1970


def _mix(x: np.ndarray, seed: int) -> np.ndarray:
    """Map 64-bit integers one-to-one to hash-like ones (splitmix64 finaliser), by seed."""
    with np.errstate(over="ignore"):
        z = x + np.uint64((seed * 0x9E3779B97F4A7C15 + 0x632BE59BD9B4E019) % 2**64)
        z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
        z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
        out: np.ndarray = z ^ (z >> np.uint64(31))
        return out


def _const(text: str, n: int) -> np.ndarray:
    return np.broadcast_to(np.frombuffer(text.encode("ascii"), dtype=np.uint8), (n, len(text)))


def _digits(values: np.ndarray, width: int) -> np.ndarray:
    out = np.empty((len(values), width), dtype=np.uint8)
    v = values.astype(np.int64)
    for i in range(width - 1, -1, -1):
        out[:, i] = 48 + v % 10
        v = v // 10
    return out


def _hex(values: np.ndarray) -> np.ndarray:
    table = np.frombuffer(b"0123456789abcdef", dtype=np.uint8)
    raw = values.astype(">u8").view(np.uint8).reshape(-1, 8)
    out = np.empty((len(values), 16), dtype=np.uint8)
    out[:, 0::2] = table[raw >> 4]
    out[:, 1::2] = table[raw & 15]
    return out


def _ascii(parts: list[np.ndarray]) -> pa.Array:
    """Fixed-width ASCII strings from (n, width) byte blocks, without Python strings."""
    data = np.concatenate(parts, axis=1)
    n, width = data.shape
    small = (n + 1) * width < 2**31
    offsets = np.arange(0, (n + 1) * width, width, dtype=np.int32 if small else np.int64)
    arr = pa.Array.from_buffers(pa.string() if small else pa.large_string(), n,
                                [None, pa.py_buffer(offsets), pa.py_buffer(data)])
    return arr if small else arr.cast(pa.string())


def _take(vocab: Sequence[str], index: np.ndarray) -> pa.Array:
    """Take strings from a small vocabulary; a negative index gives null."""
    idx = pa.array(np.where(index < 0, 0, index).astype(np.int32), mask=index < 0)
    return pc.take(pa.array(list(vocab), pa.string()), idx)


def _timestamps(local_minutes: np.ndarray, present: np.ndarray) -> pa.Array:
    naive = pa.array(np.where(present, local_minutes, 0) * 60_000, pa.timestamp("ms"),
                     mask=~present)
    return pc.assume_timezone(naive, timezone=TIMEZONE, ambiguous="raise", nonexistent="raise")


# -- experience questionnaires ----------------------------------------------------------

def _sigmoid(x: np.ndarray) -> np.ndarray:
    out: np.ndarray = 1.0 / (1.0 + np.exp(-x))
    return out


def _logit(p: float) -> float:
    return math.log(p / (1 - p))


def _bools(col: pa.ChunkedArray | pa.Array) -> np.ndarray:
    out: np.ndarray = pc.fill_null(col, False).to_numpy(zero_copy_only=False).astype(bool)
    return out


def _experience(stays: pa.Table, schema: SchemaSpec, seed: int) -> pa.Table:
    """Questionnaires about the stays and their answers (see the module docstring)."""
    target = arrow_schema("experience")
    n = stays.num_rows
    items_cl = schema.codelists["experience_item"]
    _check_codes(schema, {"experience_respondent": RESPONDENTS,
                          "admitted_from": REFERRED_BY_DOCTOR, "discharged_to": FOLLOWED_UP})
    if n == 0:
        return target.empty_table()
    rng = np.random.default_rng(np.random.SeedSequence([seed, EXPERIENCE_STREAM]))
    # -- the stays, as numpy
    completed = _bools(pc.is_valid(stays["discharged_at"]))
    local = pc.local_timestamp(stays["discharged_at"])
    dis_day = pc.fill_null(pc.cast(pc.cast(local, pa.date32()), pa.int32()), 0).to_numpy(
        zero_copy_only=False).astype(np.int64)
    died_day = pc.fill_null(pc.cast(stays["died_at"], pa.int32()), -1).to_numpy(
        zero_copy_only=False).astype(np.int64)
    age = pc.fill_null(stays["age"], 50).to_numpy(zero_copy_only=False).astype(np.int64)
    dementia = _bools(pc.equal(stays["diagnosis_icpc2"], "P70"))
    transferred = _bools(pc.equal(stays["discharged_to"], "hospital"))
    by_doctor = _bools(pc.is_in(stays["admitted_from"], value_set=pa.array(REFERRED_BY_DOCTOR)))
    followed = _bools(pc.is_in(stays["discharged_to"], value_set=pa.array(FOLLOWED_UP)))
    unit_codes = pc.dictionary_encode(stays["unit_id"].combine_chunks())
    unit = unit_codes.indices.to_numpy(zero_copy_only=False).astype(np.int64)
    n_units = len(unit_codes.dictionary)
    # -- draws of fixed sizes per stay and per unit first; those per answer row come last
    u_survey, u_proxy, u_ref, u_fu = (rng.random(n) for _ in range(4))
    u_answer = rng.random((n, len(RESPONDENTS)))
    z = rng.standard_normal((n, len(RESPONDENTS)))
    unit_quality = rng.normal(0.0, UNIT_EFFECT_SD, n_units)
    unit_response = rng.normal(0.0, UNIT_EFFECT_SD, n_units)
    # -- who is asked
    dead_by_survey = (died_day >= 0) & (died_day <= dis_day + SURVEY_DELAY_DAYS)
    proxy = (dead_by_survey | (age < 18) | (dementia & (u_proxy < PROXY_SHARE["dementia"]))
             | ((age >= 90) & (u_proxy < PROXY_SHARE["age_90"])))
    asked = np.zeros((n, len(RESPONDENTS)), dtype=bool)
    surveyed = completed & (u_survey < SURVEY_SHARE)
    asked[:, 0] = surveyed & ~proxy
    asked[:, 1] = surveyed & proxy
    asked[:, 2] = completed & by_doctor & (u_ref < PROFESSIONAL_SHARE)
    asked[:, 3] = completed & followed & (u_fu < PROFESSIONAL_SHARE)
    stay_q, resp_q = np.nonzero(asked)  # row-major: by stay, then respondent
    if not stay_q.size:
        return target.empty_table()
    # -- who answers
    base = np.array([_logit(RESPONSE_RATE[r]) for r in RESPONDENTS])[resp_q]
    age_q = age[stay_q]
    age_shift = np.where(resp_q == 0, np.where(age_q < 50, -0.4, np.where((age_q >= 67) & (age_q < 90),
                                                                            0.2, 0.0)), 0.0)
    p_answer = _sigmoid(base + age_shift + unit_response[unit[stay_q]])
    answered = u_answer[stay_q, resp_q] < p_answer
    # -- items asked of each respondent, in code list order
    codes = list(items_cl.values)
    first = {c.code: c for c in reversed(items_cl.codes)}  # a code's first entry in the list
    item_attrs = [first[code].attributes for code in codes]
    allowed = np.array([[r in tuple(a.get("respondents", ()) or ()) for a in item_attrs] for r in RESPONDENTS])
    n_items = allowed.sum(axis=1)
    padded = np.zeros((len(RESPONDENTS), max(int(n_items.max()), 1)), dtype=np.int64)
    for r in range(len(RESPONDENTS)):
        padded[r, :n_items[r]] = np.flatnonzero(allowed[r])
    rows_q = np.where(answered, n_items[resp_q], 1)
    q = np.repeat(np.arange(len(stay_q)), rows_q)
    starts = np.concatenate(([0], np.cumsum(rows_q)[:-1]))
    position = np.arange(len(q)) - starts[q]
    has_item = answered[q]
    item = np.where(has_item, padded[resp_q[q], position], -1)
    # -- scores: one latent experience per questionnaire, item noise, rounded to 1-5
    lower = np.array([a.get("direction") == "lower_is_better" for a in item_attrs])
    mean = np.array([ITEM_MEAN.get(c, 1.6 if lo else 4.1) for c, lo in zip(codes, lower, strict=True)])
    loading = np.array([ITEM_LOADING.get(c, 0.65) for c in codes]) * np.where(lower, -1.0, 1.0)
    empty = np.array([ITEM_EMPTY.get(c, 0.03) for c in codes])
    latent = (z[stay_q, resp_q] + unit_quality[unit[stay_q]]
              + np.where(transferred[stay_q], TRANSFER_EFFECT, 0.0))
    it = np.maximum(item, 0)
    noise = rng.standard_normal(len(q))
    u_empty = rng.random(len(q))
    raw = mean[it] + loading[it] * latent[q] + ITEM_NOISE * noise
    score = np.clip(np.rint(raw), 1, 5).astype(np.int64)
    no_score = ~has_item | (u_empty < empty[it])
    # -- ids: one-to-one with (stay row, respondent), opaque, by seed
    key = (stay_q.astype(np.uint64) * np.uint64(len(RESPONDENTS)) + resp_q.astype(np.uint64))
    response_id = _ascii([_const("S", len(stay_q)), _hex(_mix(key, seed ^ 0x5EED))])
    stay_id = pc.take(stays["stay_id"], pa.array(stay_q[q]))
    columns = {
        "response_id": pc.take(response_id, pa.array(q)),
        "stay_id": stay_id.combine_chunks() if isinstance(stay_id, pa.ChunkedArray) else stay_id,
        "respondent": _take(RESPONDENTS, resp_q[q]),
        "responded": pa.array(has_item, pa.bool_()),
        "item": _take(codes, item),
        "score": pa.array(score, pa.int64(), mask=no_score),
    }
    return pa.Table.from_arrays([columns[f.name] for f in target], schema=target)


# -- acute hospital admissions ----------------------------------------------------------

def _hospital_admissions(reg: _Region, population: pa.Table, years: tuple[int, ...],
                         seed: int) -> pa.Table:
    """Acute somatic hospital admissions of adults by municipality and month (see the module docstring)."""
    target = arrow_schema("hospital_admissions")
    rng = np.random.default_rng(np.random.SeedSequence([seed, HOSPITAL_STREAM]))
    weight = pc.take(pa.array([*HOSPITAL_AGE_WEIGHT.values(), 0.0], pa.float64()),
                     pc.fill_null(pc.index_in(population["age_band"],
                                              value_set=pa.array(list(HOSPITAL_AGE_WEIGHT))),
                                  len(HOSPITAL_AGE_WEIGHT)))
    adult = pc.cast(pc.greater(weight, 0.0), pa.float64())
    pop = pc.cast(population["population"], pa.float64())
    cells = pa.table({"municipality": population["municipality"], "year": population["year"],
                      "weighted": pc.multiply(pop, weight), "adults": pc.multiply(pop, adult)})
    g = cells.group_by(["municipality", "year"]).aggregate([("weighted", "sum"), ("adults", "sum")])
    g = g.sort_by([("municipality", "ascending"), ("year", "ascending")])
    if g.num_rows == 0:
        return target.empty_table()
    code = g["municipality"].to_pylist()
    year = g["year"].to_numpy().astype(np.int64)
    weighted = g["weighted_sum"].to_numpy()
    adults = g["adults_sum"].to_numpy()
    # each code belongs to one of the region's municipalities (its factor and coverage role)
    owner = {c: i for i, m in enumerate(reg.municipalities) for c in (m.code, *m.former)}
    muni = np.array([owner.get(c, -1) for c in code])
    factor = np.exp(rng.normal(0.0, HOSPITAL_MUNICIPALITY_SD, len(reg.municipalities) + 1))[muni]
    # per year: the region's rate per adult, shared out by age structure and factor
    expected = np.zeros(len(code))
    for y in np.unique(year):
        here = year == y
        share = weighted[here] * factor[here]
        expected[here] = (HOSPITAL_ADMISSIONS_PER_1000 / 1000 * adults[here].sum()
                          * share / max(share.sum(), 1e-9))
    months = np.arange(1, 13)
    days = np.array([[(dt.date(int(y) + m // 12, m % 12 + 1, 1) - dt.date(int(y), m, 1)).days
                      for m in months] for y in year], dtype=float)
    season = 1 + HOSPITAL_SEASON * np.cos(2 * np.pi * (months - 1) / 12)
    w = days * season
    counts = rng.poisson(expected[:, None] * w / w.sum(axis=1, keepdims=True))
    # coverage: the smallest municipality reports whole years, the next smallest misses a month
    by_size = sorted(range(len(reg.municipalities)), key=lambda i: (reg.municipalities[i].population, i))
    whole = muni == by_size[0]
    gap = (muni == (by_size[1] if len(by_size) > 1 else -2)) & (year == years[-1])
    keep = np.ones(counts.shape, dtype=bool)
    keep[whole] = False
    keep[gap, HOSPITAL_MISSING_MONTH - 1] = False
    r_month, c_month = np.nonzero(keep)
    r_whole = np.flatnonzero(whole)
    rows = np.concatenate((r_month, r_whole))
    month = np.concatenate((c_month + 1, np.zeros(len(r_whole), dtype=np.int64)))
    n_adm = np.concatenate((counts[r_month, c_month], counts[r_whole].sum(axis=1)))
    order = np.lexsort((month, year[rows], rows))
    rows, month, n_adm = rows[order], month[order], n_adm[order]
    src = np.where(month == 0, 1, 0)
    columns = {
        "municipality": pc.take(g["municipality"], pa.array(rows)).combine_chunks(),
        "year": pa.array(year[rows], pa.int64()),
        "month": pa.array(month, pa.int64(), mask=month == 0),
        "admissions": pa.array(n_adm.astype(np.int64), pa.int64()),
        "source": _take([HOSPITAL_SOURCE, HOSPITAL_SOURCE_YEAR], src),
    }
    return pa.Table.from_arrays([columns[f.name] for f in target], schema=target)


# -- writing ------------------------------------------------------------------------------

def _whole(col: pa.ChunkedArray | pa.Array) -> pa.Array:
    return col.combine_chunks() if isinstance(col, pa.ChunkedArray) else col


def _plain_text(col: pa.ChunkedArray | pa.Array) -> pa.Array:
    """Format a column as CSV text: ISO local timestamps and dates, true/false, lists with |."""
    col = _whole(col)
    t = col.type
    if pa.types.is_timestamp(t):
        local = pc.local_timestamp(col) if t.tz else col
        return pc.strftime(pc.cast(local, pa.timestamp("s"), safe=False),
                           format="%Y-%m-%dT%H:%M:%S")
    if pa.types.is_list(t) or pa.types.is_large_list(t):
        return pc.binary_join(pc.cast(col, pa.list_(pa.string())), "|")
    return pc.cast(col, pa.string())


def _norwegian_text(col: pa.Array, codelist: CodeList | None) -> pa.Array:
    """Format a column as a Norwegian Excel export writes it."""
    t = col.type
    if pa.types.is_timestamp(t):
        local = pc.local_timestamp(col) if t.tz else col
        return pc.strftime(local, format="%d.%m.%Y %H:%M")
    if pa.types.is_date(t):
        return pc.strftime(pc.cast(col, pa.timestamp("s")), format="%d.%m.%Y")
    if pa.types.is_boolean(t):
        return pc.if_else(col, "ja", "nei")
    if pa.types.is_list(t) or pa.types.is_large_list(t):
        return pc.binary_join(pc.cast(col, pa.list_(pa.string())), ", ")
    text = pc.cast(col, pa.string())
    if codelist is not None:
        codes = pa.array(list(codelist.values), pa.string())
        labels = pa.array([codelist.label(c, "nb") for c in codelist.values], pa.string())
        label = pc.take(labels, pc.index_in(text, value_set=codes))
        text = pc.if_else(pc.is_valid(label), label, text)
    return text


def _norwegian_header(aliases: Sequence[str]) -> str:
    """Return the first alias with a Norwegian letter, else the first alias."""
    return next((a for a in aliases if not a.isascii()), aliases[0] if aliases else "")


def _quoted(text: pa.Array, delimiter: str) -> pa.Array:
    """Quote values that need it (delimiter, quote or line break inside)."""
    need = pc.fill_null(pc.match_substring_regex(text, f'[{delimiter}"\r\n]'), False)
    escaped = pc.binary_join_element_wise('"', pc.replace_substring(text, '"', '""'), '"', "")
    return pc.if_else(need, escaped, text)


def _csv_text(cols: Sequence[pa.Array], names: Sequence[str], delimiter: str, eol: str) -> str:
    header = delimiter.join(_quoted(pa.array(list(names), pa.string()), delimiter).to_pylist())
    if not cols or len(cols[0]) == 0:
        return header + eol
    fields = [pc.fill_null(_quoted(c, delimiter), "") for c in cols]
    lines = pc.binary_join_element_wise(*fields, delimiter)
    lines = pc.binary_join_element_wise(lines, eol, "")
    # the string data buffer of the lines is the body of the file
    lines = lines.cast(pa.large_string())
    offsets = np.frombuffer(lines.buffers()[1], dtype=np.int64)[lines.offset:
                                                                lines.offset + len(lines) + 1]
    body: bytes = lines.buffers()[2].to_pybytes()[offsets[0]:offsets[-1]]
    return header + eol + body.decode("utf-8")
