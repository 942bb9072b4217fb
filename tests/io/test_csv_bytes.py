"""The CSV reader's byte-level paths give what the text-level path gives.

UTF-8 files are read as bytes (checked, not decoded into a second copy); every other
encoding is decoded first. Forcing the decoding path on UTF-8 input must not change
anything: rows, line numbers, ragged lines, delimiter, errors.
"""

from __future__ import annotations

import attrs
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from kadindicators.errors import InputError
from kadindicators.io import _csv


def _read(data: bytes) -> tuple[object, ...]:
    try:
        r = _csv.read_csv_bytes(data, source="x.csv")
    except InputError as exc:
        return ("error", exc.message("en"))
    return (r.table.to_pydict(), r.table.column_names, r.lines.to_pylist(), r.encoding, r.delimiter,
            r.ragged_lines.to_pylist(), r.ragged_counts.to_pylist(), r.header_columns)


def _counted(buf: bytes, delimiter: str) -> object:
    """The layout with every record's field count (no shortcut when pyarrow keeps every row)."""
    layout = _real_layout(buf, delimiter)
    if layout.counts is None:
        counts = _csv._field_counts(np.frombuffer(buf, dtype=np.uint8), delimiter, layout.starts, layout.ends, None)
        layout = attrs.evolve(layout, counts=counts)
    return layout


_real_layout = _csv._record_layout


def _both_ways(data: bytes, monkeypatch: pytest.MonkeyPatch) -> None:
    fast = _read(data)
    with monkeypatch.context() as m:
        m.setattr(_csv, "_plain_utf8", lambda data: False)
        assert _read(data) == fast  # decoded first
    with monkeypatch.context() as m:
        m.setattr(_csv, "_record_layout", _counted)
        assert _read(data) == fast  # every field counted


CASES = [
    b"", b"\n\n", b"  \n\t\n", "\u00a0\n\u2003".encode(), "\u00a0x\n".encode(), b"a;b\n1;2", b"a;b\r\n1;2\r\n",
    b"a;b\r1;2\r", "a;b\n\u00f8;\u00e5\n".encode(), b'a,b\n"x\ny",2\n', b'a,b\n"x,2\n3,4\n', b'a,b\nx"y,2\n',
    b"a\tb\n\t\t\n1\t2\n", b"\n\na;b\n1;2;3\n4\n5;6\n", b"h", b"a;b\n \n1;2\n  \t\n", b'"a;x";b\n"1;2";3\n',
    b'a,b\n"unclosed,2\n3,4', b"a,b\r\n1,2\r\n\r\n\r\n3,4", b"\r\n\r\na,b\r\n1,2", b"\x00\x01\x02" * 50,
    b"a;b\n" + b";".join([b"x"] * 300) + b"\n1;2\n",  # a record with more than 255 delimiters
    b"a;b\n" + b" " * 300 + b"1;2\n",  # a long record that starts with a blank
    # one column: a line of spaces is a row to pyarrow, but a blank line here
    b"a\n1,2\n \n", b"a\n \n1,2\n", b"a\n1,2\n\t\n3\n", b"a;b\n1;2\n \n3;4\n", b"a,b\n1,2,3\n4,5\n\t\n",
    b"a\r\n1,2\r\n \r\n",
]


@pytest.mark.parametrize("data", CASES)
def test_cases_read_alike(data: bytes, monkeypatch: pytest.MonkeyPatch) -> None:
    _both_ways(data, monkeypatch)


cells = st.sampled_from(["1", "abc", "\u00e6\u00f8\u00e5", "", " x ", '"q;x"', '"multi\nline"', '"a""b"', 'x"y',
                         "\u2003", "\t", "2024-01-01 10:00"])


@given(delim=st.sampled_from([",", ";", "\t", "|"]), newline=st.sampled_from(["\n", "\r\n", "\r"]),
       rows=st.lists(st.lists(cells, min_size=0, max_size=5), min_size=1, max_size=12),
       last=st.booleans(), lead=st.integers(0, 2))
def test_generated_files_read_alike(delim: str, newline: str, rows: list[list[str]], last: bool, lead: int) -> None:
    text = newline * lead + newline.join(delim.join(r) for r in rows) + (newline if last else "")
    data = text.encode()
    fast = _read(data)
    plain, layout = _csv._plain_utf8, _csv._record_layout
    try:
        _csv._plain_utf8 = lambda data: False  # type: ignore[assignment]
        assert _read(data) == fast  # decoded first
        _csv._plain_utf8 = plain  # type: ignore[assignment]
        _csv._record_layout = _counted  # type: ignore[assignment]
        assert _read(data) == fast  # every field counted
    finally:
        _csv._plain_utf8, _csv._record_layout = plain, layout  # type: ignore[assignment]


def test_utf8_check_in_slices(monkeypatch: pytest.MonkeyPatch) -> None:
    """A multi-byte character across a slice boundary is still valid; a broken one is not."""
    monkeypatch.setattr(_csv, "UTF8_CHECK_BYTES", 3)
    assert _csv._is_utf8("a\u00f8\u00e5bc\u20ac".encode())
    assert not _csv._is_utf8("a\u00f8".encode()[:-1])
    assert not _csv._is_utf8(b"ab\xff")


@given(st.data())
def test_segment_helpers(data: st.DataObject) -> None:
    n = data.draw(st.integers(2, 700))
    mask = np.zeros(n + 1, dtype=bool)
    mask[:n] = np.asarray(data.draw(st.lists(st.booleans(), min_size=n, max_size=n)))
    cuts = sorted(data.draw(st.sets(st.integers(0, n), min_size=2, max_size=12)))
    cuts = cuts[:len(cuts) // 2 * 2]
    starts, ends = np.asarray(cuts[0::2], dtype=np.int64), np.asarray(cuts[1::2], dtype=np.int64)
    expected = [int(mask[a:b].sum()) for a, b in zip(starts, ends, strict=True)]
    assert _csv._count_in_segments(mask, starts, ends).tolist() == expected
    assert _csv._any_in_segments(np.array([False, True]), mask.astype(np.uint8), starts, ends).tolist() == \
        [bool(mask[a:b].any()) for a, b in zip(starts, ends, strict=True)]
