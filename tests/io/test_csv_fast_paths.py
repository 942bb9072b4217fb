"""The CSV reader's slice-wise byte search and block size change no value or line number."""

from __future__ import annotations

import numpy as np
import pytest

from kadindicators.io import _csv


@pytest.mark.parametrize("size", [0, 1, 1000, _csv.POSITIONS_SLICE, _csv.POSITIONS_SLICE + 1,
                                  3 * _csv.POSITIONS_SLICE + 17])
def test_positions_equal_flatnonzero(size: int) -> None:
    """Slice by slice, including a match on the last byte of a slice and of the data."""
    rng = np.random.default_rng(size)
    b = rng.choice(np.array([10, 13, 65, 59], dtype=np.uint8), size=size, p=[0.02, 0.01, 0.9, 0.07])
    if size:
        b[-1] = 10
    for at in (_csv.POSITIONS_SLICE - 1, _csv.POSITIONS_SLICE):
        if at < size:
            b[at] = 10
    for byte in (10, 13, 0):
        got = _csv._positions(b, byte)
        assert got.dtype == np.int64
        assert np.array_equal(got, np.flatnonzero(b == byte))


def test_records_across_many_blocks_keep_their_lines(monkeypatch: pytest.MonkeyPatch) -> None:
    """Small pyarrow blocks and byte slices: every row, value and line number as with one block."""
    lines = ["id;navn;kommune"]
    rng = np.random.default_rng(1)
    for i in range(3000):
        name = ["Ås", "Bø", "Øya", "x" * int(rng.integers(0, 40))][i % 4]
        lines.append(f"S{i};{name};{3301 + i % 7}")
        if i % 97 == 0:
            lines.append("")  # a blank line: not a row, but it counts as a line
    data = ("\r\n".join(lines) + "\r\n").encode("utf-8")
    whole = _csv.read_csv_bytes(data, source="x.csv")
    monkeypatch.setattr(_csv, "CSV_BLOCK_BYTES", 4096)
    monkeypatch.setattr(_csv, "POSITIONS_SLICE", 1000)
    pieces = _csv.read_csv_bytes(data, source="x.csv")
    assert pieces.table.column("id").num_chunks > 1
    assert pieces.table.equals(whole.table)
    assert pieces.lines.equals(whole.lines)
    assert whole.lines.to_pylist()[:3] == [2, 4, 5] and whole.table.num_rows == 3000  # line 3 is blank
    assert whole.table.column("navn").to_pylist()[:3] == ["Ås", "Bø", "Øya"]
