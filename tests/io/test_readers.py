"""Every supported input reads to the same accepted rows."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from pyarrow import feather

import kadindicators as kad

AS_OF = dt.date(2026, 1, 1)
CSV = ("stay_id;patient_id;unit_id;admitted_at;discharged_at;age;sex;care_track;discharged_to\r\n"
       "A1;p1;U1;02.01.2025 10:00;03.01.2025 12:30;84;Kvinne;somatikk;Hjem\r\n"
       "A2;p2;U1;2025-01-05T08:00;2025-01-06T09:00;77;1;somatic;hospital\r\n")


def _csv_path(d: Path) -> Path:
    p = d / "stays.csv"
    p.write_bytes(CSV.encode("cp1252"))
    return p


def _reference(tmp_path: Path) -> pa.Table:
    return kad.validate(stays=_csv_path(tmp_path), as_of=AS_OF).valid


def test_csv_windows_1252_semicolon(tmp_path: Path) -> None:
    """A Norwegian Excel CSV reads with labels mapped and local times kept."""
    v = _reference(tmp_path)
    assert v.num_rows == 2
    first = v.to_pylist()[0]
    assert (first["sex"], first["care_track"], first["discharged_to"]) == ("2", "somatic", "home")
    assert first["admitted_at"].hour == 10 and str(first["admitted_at"].tzinfo) == "Europe/Oslo"


def test_xlsx_with_norwegian_sheet_name(tmp_path: Path) -> None:
    """An Excel workbook (sheet 'Opphold', real date cells) gives the same rows."""
    openpyxl = pytest.importorskip("openpyxl")
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "Info"
    ws2 = wb.create_sheet("Opphold")
    ws2.append(["stay_id", "patient_id", "unit_id", "admitted_at", "discharged_at", "age", "sex",
                "care_track", "discharged_to"])
    ws2.append(["A1", "p1", "U1", dt.datetime(2025, 1, 2, 10), dt.datetime(2025, 1, 3, 12, 30), 84,
                "Kvinne", "somatikk", "Hjem"])
    ws2.append(["A2", "p2", "U1", dt.datetime(2025, 1, 5, 8), dt.datetime(2025, 1, 6, 9), 77, 1,
                "somatic", "hospital"])
    p = tmp_path / "stays.xlsx"
    wb.save(p)
    rep = kad.validate(stays=p, as_of=AS_OF)
    assert rep.valid.equals(_reference(tmp_path))
    assert rep.sources[0].sheet == "Opphold"


def test_renamed_xlsx_is_read_by_content(tmp_path: Path) -> None:
    """An .xlsx saved with a .csv name is still read as Excel."""
    openpyxl = pytest.importorskip("openpyxl")
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.append(["stay_id", "patient_id", "unit_id", "admitted_at", "age", "sex", "care_track"])
    ws.append(["A1", "p1", "U1", "02.01.2025 10:00", 84, 2, "somatic"])
    p = tmp_path / "stays.csv"
    wb.save(p)
    assert kad.validate(stays=p, as_of=AS_OF).rows_valid == 1


def test_parquet_and_arrow_ipc(tmp_path: Path) -> None:
    """Parquet and Arrow IPC files of the accepted table read back unchanged."""
    ref = _reference(tmp_path)
    pq.write_table(ref, tmp_path / "v.parquet")
    feather.write_feather(ref, tmp_path / "v.arrow")
    assert kad.validate(stays=tmp_path / "v.parquet", as_of=AS_OF).valid.equals(ref)
    assert kad.validate(stays=tmp_path / "v.arrow", as_of=AS_OF).valid.equals(ref)


def test_pandas_and_polars_inputs(tmp_path: Path) -> None:
    """pandas and polars data frames (Arrow PyCapsule) give the same accepted rows."""
    pd = pytest.importorskip("pandas")
    pl = pytest.importorskip("polars")
    ref = _reference(tmp_path)
    assert kad.validate(stays=ref.to_pandas(), as_of=AS_OF).valid.equals(ref)
    assert kad.validate(stays=pl.from_arrow(ref), as_of=AS_OF).valid.equals(ref)
    naive = pd.DataFrame({"stay_id": ["A"], "patient_id": ["p"], "unit_id": ["U"],
                          "admitted_at": pd.to_datetime(["2025-01-02 10:00"]), "age": [80],
                          "sex": [2], "care_track": ["somatic"]})
    got = kad.validate(stays=naive, as_of=AS_OF).valid
    assert got["admitted_at"][0].as_py().hour == 10  # naive times are local Oslo time
    assert got["sex"].to_pylist() == ["2"]


def test_unsupported_object_is_an_input_error() -> None:
    """An object that is not a table gives an InputError with a hint."""
    with pytest.raises(kad.InputError, match="pyarrow/polars/pandas"):
        kad.validate(stays=42)


@pytest.mark.parametrize(("content", "rows", "bad_line"), [
    (b"stay_id;patient_id;unit_id;admitted_at;age;sex;care_track", 0, None),
    (b"stay_id;patient_id;unit_id;admitted_at;age;sex;care_track\n   \nA;p;U;2025-01-01T10:00;80;2;somatic\n", 1, None),
    ((b"\rstay_id;patient_id;unit_id;admitted_at;age;sex;care_track\rA;p;U;2025-01-01T10:00;80;2;somatic\r"
     b"B;q;U;2025-13-01T10:00;80;2;somatic\r"), 2, 4),
], ids=["header-only-no-newline", "whitespace-line", "cr-leading-blank"])
def test_edge_layouts(tmp_path: Path, content: bytes, rows: int, bad_line: int | None) -> None:
    """Header-only files, blank-looking lines and CR-only files read with the right line numbers."""
    p = tmp_path / "s.csv"
    p.write_bytes(content)
    rep = kad.validate(stays=p, as_of=AS_OF)
    assert rep.rows_read == rows
    errors = [r["row"] for r in rep.issues.to_pylist() if r["severity"] == "error"]
    assert errors == ([bad_line] if bad_line else [])
