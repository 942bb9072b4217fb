"""Invariants of validation, tested with hypothesis."""

from __future__ import annotations

import datetime as dt
import tempfile
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import pyarrow.parquet as pq
from hypothesis import given
from hypothesis import strategies as st

import kadindicators as kad
from kadindicators.testing import strategies as st_kad

AS_OF = dt.date(2026, 6, 1)


@given(st_kad.stays(max_rows=15))
def test_generated_valid_stays_are_accepted(t: pa.Table) -> None:
    """Whatever the schema-derived strategy draws, validation accepts every row."""
    report = kad.validate(stays=t, units=st_kad.default_units(), as_of=AS_OF)
    errors = report.issues.filter(pc.equal(report.issues["severity"], "error"))
    assert errors.num_rows == 0, errors.to_pylist()[:3]
    assert report.rows_valid == t.num_rows


@given(st_kad.raw_stays())
def test_row_accounting_holds_for_arbitrary_text(t: pa.Table) -> None:
    """Arbitrary text never raises; every row is accepted or rejected, and rejected rows have an error."""
    report = kad.validate(stays=t, as_of=AS_OF)
    assert report.rows_read == t.num_rows == report.rows_valid + report.rows_rejected
    errors = report.issues.filter(pc.and_(pc.equal(report.issues["severity"], "error"),
                                          pc.is_valid(report.issues["row"])))
    assert len(set(errors["row"].to_pylist())) == report.rows_rejected
    assert report.valid.schema.equals(kad.arrow_schema("stays"), check_metadata=False)


@given(st.binary(max_size=400))
def test_arbitrary_bytes_give_a_report_or_an_input_error(data: bytes) -> None:
    """A file of arbitrary bytes gives a report or an InputError, nothing else."""
    with tempfile.TemporaryDirectory() as d:
        p = Path(d) / "stays.csv"
        p.write_bytes(data)
        try:
            report = kad.validate(stays=p, as_of=AS_OF)
        except kad.InputError:
            return
        assert report.rows_read == report.rows_valid + report.rows_rejected


@given(st_kad.stays(min_rows=1, max_rows=10))
def test_valid_table_round_trips_through_parquet_and_csv(t: pa.Table) -> None:
    """The accepted table read back from Parquet or CSV validates to the same table."""
    units = st_kad.default_units()
    valid = kad.validate(stays=t, units=units, as_of=AS_OF).valid
    with tempfile.TemporaryDirectory() as d:
        pq_path, csv_path = Path(d) / "v.parquet", Path(d) / "v.csv"
        pq.write_table(valid, pq_path)
        pacsv.write_csv(valid, csv_path)
        again_pq = kad.validate(stays=pq_path, units=units, as_of=AS_OF).valid
        again_csv = kad.validate(stays=csv_path, units=units, as_of=AS_OF).valid
    assert again_pq.equals(valid)
    assert again_csv.equals(valid)


@given(st_kad.stays(min_rows=2, max_rows=10), st.randoms(use_true_random=False))
def test_result_does_not_depend_on_row_order(t: pa.Table, rnd: object) -> None:
    """Shuffling the input rows gives the same accepted rows and the same issues per stay."""
    idx = list(range(t.num_rows))
    rnd.shuffle(idx)  # type: ignore[attr-defined]
    units = st_kad.default_units()
    a = kad.validate(stays=t, units=units, as_of=AS_OF)
    b = kad.validate(stays=t.take(pa.array(idx, pa.int64())), units=units, as_of=AS_OF)
    key = [("stay_id", "ascending")]
    assert a.valid.sort_by(key).equals(b.valid.sort_by(key))
    sig = lambda r: sorted((x["stay_id"] or "", x["field"] or "", x["rule"])
                           for x in r.issues.to_pylist())
    assert sig(a) == sig(b)
