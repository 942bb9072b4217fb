"""Fuzzing validate and compute: nothing escapes, nothing is lost (hypothesis).

Invariants, over arbitrary bytes as a CSV file and over arbitrary tables
(the schema-derived strategies of :mod:`kadindicators.testing.strategies`,
mutated):

- no exception escapes :func:`kadindicators.validate` but an ``InputError``
  for an input that cannot be used at all;
- rows read = rows accepted + rows rejected, and every rejected row has a
  located error in the issue table (in-memory rows: the accepted rows are
  exactly the input rows without an error);
- the accepted table round-trips through Parquet and through CSV written with
  the library's own writer, unchanged;
- :func:`kadindicators.compute` never drops a stay silently: per indicator,
  stays counted + stays excluded (``excluded_by_reason``) = accepted stays.
"""

from __future__ import annotations

import datetime as dt
import tempfile
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
from hypothesis import given, settings
from hypothesis import strategies as st

import kadindicators as kad
from kadindicators.cli._common import write_safe_csv
from kadindicators.testing import strategies as st_kad

from .data.messy import generate as gen

AS_OF = dt.date(2026, 6, 1)
# a third of the profile's examples for the slow properties
# (20 in CI, 666 with KAD_HYPOTHESIS_PROFILE=thorough)
FEWER = settings(max_examples=max(10, settings().max_examples // 3))
UNITS = st_kad.default_units()
POPULATION = st_kad.default_population()


# -- invariants ---------------------------------------------------------------------------------------

def _check_report(report: kad.ValidationReport, n_in: int | None = None) -> set[int]:
    """Row accounting and located errors; returns the rows (lines) that were rejected."""
    s = report.summaries["stays"]
    assert s.rows_read == s.rows_valid + s.rows_rejected
    if n_in is not None:
        assert s.rows_read == n_in
    iss = report.issues
    errors = iss.filter(pc.and_(pc.equal(iss["table"], "stays"), pc.equal(iss["severity"], "error")))
    assert errors["row"].null_count == 0, "every error that rejects a row names the row"
    rejected = set(errors["row"].to_pylist())
    assert len(rejected) == s.rows_rejected, "every rejected row is in the issue table"
    assert all(r["message_nb"] and r["message_en"] for r in iss.to_pylist())
    assert report.valid.schema.equals(kad.arrow_schema("stays"), check_metadata=False)
    return rejected


def _check_round_trip(valid: pa.Table, units: pa.Table | None) -> None:
    """The accepted table, written to Parquet and to the library's CSV and validated again, is unchanged."""
    with tempfile.TemporaryDirectory() as d:
        pq_path, csv_path = Path(d) / "valid.parquet", Path(d) / "valid.csv"
        pq.write_table(valid, pq_path)
        write_safe_csv(valid, csv_path)
        for path in (pq_path, csv_path):
            again = kad.validate(stays=path, units=units, as_of=AS_OF)
            assert again.rows_rejected == 0, again.summary_text(lang="en")
            assert again.valid.equals(valid), (path.suffix, again.valid.to_pylist()[:2],
                                               valid.to_pylist()[:2])


def _validate_in_memory(t: pa.Table, units: pa.Table | None = UNITS) -> kad.ValidationReport | None:
    try:
        report = kad.validate(stays=t, units=units, as_of=AS_OF)
    except kad.InputError as exc:
        assert "required column" in exc.message("en"), "an in-memory table is unusable only without a column"
        return None
    rejected = _check_report(report, t.num_rows)
    # the accepted rows are exactly the input rows without an error, in order
    first = [i for i, c in enumerate(t.column_names) if c in ("stay_id", "opphold_id")][:1]
    ids = t.column(first[0]) if first else None  # the validator uses the first of duplicate columns
    if ids is not None and pa.types.is_string(ids.type):
        trimmed = pc.utf8_trim_whitespace(ids).to_pylist()
        kept = [trimmed[i] for i in range(t.num_rows) if i + 1 not in rejected]
        assert report.valid["stay_id"].to_pylist() == kept
    return report


# -- mutations of valid tables -----------------------------------------------------------------------

TEXT = st.one_of(st.text(max_size=10), st.sampled_from(
    ["", " ", "-1", "=1+1", "@x", "31.02.2025 10:00", "45659,5", "2025-01-02T10:00:00+01:00", "Kvinne",
     "Død", "ja", "nei", "1 084", "84,0", "\u00a0", "\x00", "S00001", "R81", "9", "somatikk", "\n", '"']))


def _as_text(t: pa.Table) -> pa.Table:
    """The table as an export would give it: every column as text (lists joined with |)."""
    cols = []
    for c in t.columns:
        if pa.types.is_list(c.type):
            c = pc.binary_join(c, "|")
        elif pa.types.is_timestamp(c.type):
            c = pc.strftime(c, format="%d.%m.%Y %H:%M")
        cols.append(pc.cast(c, pa.string()))
    return pa.table(cols, names=t.column_names)


@st.composite
def mutated_stays(draw: Any) -> pa.Table:
    """A valid stays table, then a few mutations: bad cells, duplicate rows, dropped or renamed columns."""
    t = draw(st_kad.stays(min_rows=1, max_rows=8, patients=draw(st.sampled_from([None, 3]))))
    if draw(st.booleans()):
        t = _as_text(t)
    for _ in range(draw(st.integers(0, 4))):
        kind = draw(st.sampled_from(["cell", "null", "duplicate", "drop", "rename", "extra", "swap"]))
        n = t.num_rows
        if kind in ("cell", "null") and n:
            k = draw(st.integers(0, t.num_columns - 1))  # by position: names may be duplicated
            i = draw(st.integers(0, n - 1))
            text = _as_text(t) if kind == "cell" else t
            values = text.column(k).to_pylist()
            values[i] = draw(TEXT) if kind == "cell" else None
            t = text.set_column(k, text.field(k).name, pa.array(values, text.column(k).type))
        elif kind == "duplicate" and n:
            t = pa.concat_tables([t, t.slice(draw(st.integers(0, n - 1)), 1)])
        elif kind == "drop" and t.num_columns > 1:
            t = t.remove_column(draw(st.integers(0, t.num_columns - 1)))
        elif kind == "rename":
            k = draw(st.integers(0, t.num_columns - 1))
            aliases = {"stay_id": "opphold_id", "age": "alder", "sex": "kjønn", "admitted_at": "innlagt",
                       "discharged_to": "utskrevet_til", "patient_id": "pasient_id"}
            t = t.rename_columns([aliases.get(c, c + "_x") if j == k else c
                                  for j, c in enumerate(t.column_names)])
        elif kind == "extra":
            t = t.append_column(draw(st.sampled_from(["fritekst", "stay_id", "Alder", ""])),
                                pa.array([draw(TEXT) for _ in range(n)], pa.string()))
        elif kind == "swap" and all(t.column_names.count(c) == 1 for c in ("admitted_at", "discharged_at")):
            a, b = t.schema.get_field_index("admitted_at"), t.schema.get_field_index("discharged_at")
            if t.schema.field(a).type == t.schema.field(b).type:
                ca, cb = t.column(a), t.column(b)
                t = t.set_column(a, "admitted_at", cb).set_column(b, "discharged_at", ca)
    return t


# -- arbitrary bytes ----------------------------------------------------------------------------------

TOKENS = [b",", b";", b"\t", b"|", b'"', b'""', b"\r\n", b"\n", b"\r", b"\x00", b"\xef\xbb\xbf", b"\xff\xfe",
          b"\xe6\xf8\xe5", b"\xc3\xb8", b"S1", b"P1", b"U1", b"3301", b"84", b"2", b"somatic", b"home",
          b"R81",
          b"02.01.2025 10:00", b"2025-01-03T10:00", b"45659,5", b"=cmd", b" ", b"ja"]


@st.composite
def csv_like_bytes(draw: Any) -> bytes:
    """Bytes that start like a stays CSV (a real header) and go on with CSV-ish tokens and noise."""
    sep = draw(st.sampled_from([",", ";", "\t", "|"]))
    header = draw(st.sampled_from([gen.EN_HEADER, gen.NB_HEADER]))
    nl = draw(st.sampled_from(["\n", "\r\n", "\r"]))
    enc = draw(st.sampled_from(["utf-8", "cp1252", "utf-16"]))
    head = (sep.join(header) + nl).encode(enc)
    rows = [sep.join(gen._row(i)) + nl for i in range(draw(st.integers(0, 3)))]
    body = "".join(rows).encode(enc if enc != "utf-16" else "utf-16-le")
    noise = b"".join(draw(st.lists(st.one_of(st.sampled_from(TOKENS), st.binary(max_size=4)), max_size=40)))
    cut = draw(st.integers(0, len(body)))
    return bytes(head + body[:cut] + noise + body[cut:])


def _validate_bytes(data: bytes) -> None:
    with tempfile.TemporaryDirectory() as d:
        p = Path(d) / "stays.csv"
        p.write_bytes(data)
        try:
            report = kad.validate(stays=p, as_of=AS_OF)
        except kad.InputError as exc:
            assert str(p) in exc.message("en") and str(p) in exc.message("nb")
            return
    _check_report(report)
    _check_round_trip(report.valid, None)


@given(st.binary(max_size=600))
def test_arbitrary_bytes(data: bytes) -> None:
    """Any bytes at all: a report that accounts for every row, or a located InputError."""
    _validate_bytes(data)


@given(csv_like_bytes())
def test_csv_like_bytes(data: bytes) -> None:
    """A real header followed by CSV-ish tokens and noise: the same invariants, deeper in the reader."""
    _validate_bytes(data)


@FEWER
@given(mutated_stays())
def test_mutated_tables(t: pa.Table) -> None:
    """Valid tables with bad cells, duplicates, dropped, renamed and extra columns: nothing lost."""
    report = _validate_in_memory(t)
    if report is not None:
        _check_round_trip(report.valid, UNITS)


@FEWER
@given(st_kad.raw_stays())
def test_arbitrary_text_tables(t: pa.Table) -> None:
    """Tables of arbitrary text in the schema's columns: nothing lost, the accepted rows round-trip."""
    report = _validate_in_memory(t, units=None)
    if report is not None:
        _check_round_trip(report.valid, None)


def test_subsecond_timestamps_round_trip() -> None:
    """A timestamp with milliseconds survives the trip through the library's CSV."""
    valid = kad.validate(stays={
        "stay_id": ["S1"], "patient_id": ["P1"], "unit_id": [st_kad.DEFAULT_UNIT],
        "admitted_at": pa.array([dt.datetime(2025, 1, 2, 9, 0, 0, 250_000, tzinfo=dt.UTC)],
                                pa.timestamp("ms", tz="UTC")),
        "age": [80], "sex": ["2"], "care_track": ["somatic"]}, units=UNITS, as_of=AS_OF).valid
    _check_round_trip(valid, UNITS)


# -- compute: every stay counted or excluded for a counted reason --------------------------------------

STAY_COUNTING = {"proportion": "denominator", "mean": "denominator", "median": "denominator",
                 "rate_per_1000": "numerator"}


@FEWER
@given(mutated_stays(), st.sampled_from([("region",), ("unit_id",), ("municipality",)]),
       st.sampled_from(["year", "quarter"]))
def test_compute_accounts_for_every_stay(t: pa.Table, by: tuple[str, ...], period: str) -> None:
    """Per indicator: stays in the denominator (numerator for rates) + excluded stays = stays used.

    ``compute`` validates raw input itself; rows it rejects are counted in
    ``rows_rejected``, so input rows = rejected + used.
    """
    try:
        res = kad.compute(stays=t, units=UNITS, population=POPULATION, by=by, period=period, as_of=AS_OF,
                          suppression=1)
    except kad.InputError as exc:
        assert "required column" in exc.message("en")
        return
    meta = kad.result_metadata(res)
    rejected = meta["rows_rejected"]["stays"]
    used = t.num_rows - rejected
    if rejected:
        assert rejected == kad.validate(stays=t).rows_rejected
    for iid in meta["indicator_versions"]:
        spec = kad.get_indicator(iid)
        excluded = meta["excluded_by_reason"][iid]
        assert set(excluded) <= set(spec.exclusions), "exclusions are the spec's"
        rows = res.filter(pc.equal(res["indicator_id"], iid))
        assert not pc.any(rows["suppressed"]).as_py()
        if "stays_counted" in meta:  # the stays taking part, as the metadata counts them
            assert meta["stays_counted"][iid] + sum(excluded.values()) == used, (iid, meta, used)
        counted_by = STAY_COUNTING.get(spec.unit)
        if counted_by is None:  # KAD-U03 sums bed-days: its stays can only be counted from the metadata
            assert sum(excluded.values()) <= used
            continue
        counted = pc.sum(rows[counted_by]).as_py() or 0
        assert counted + sum(excluded.values()) == used, (iid, counted, excluded, used)
