"""Dictionary-encoded input (Parquet codes, categoricals) validates exactly as its text does.

Validation reuses a column's own dictionary instead of hashing every row again
(``_reuse_dictionary``), looks codes up once per distinct value in the checks
(``CheckContext.index_in``) and skips the duplicate search for a key that is
strictly increasing. Each test compares with the plain path on the same data.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import kadindicators as kad
import kadindicators.validation as kv
from kadindicators.spec.loader import load_schema
from kadindicators.validation import _checks

AS_OF = dt.date(2026, 6, 1)


def _same_report(a: kad.ValidationReport, b: kad.ValidationReport) -> None:
    assert a.issues.drop_columns(["source"]).equals(b.issues.drop_columns(["source"])), "issues differ"
    assert a.tables.keys() == b.tables.keys()
    for name in a.tables:
        assert a.tables[name].equals(b.tables[name]), f"accepted {name} differ"
        assert a.tables[name].schema.equals(b.tables[name].schema, check_metadata=True)
    assert a.summaries == b.summaries


def _expected(values: list[str | None]) -> pa.DictionaryArray:
    return pc.dictionary_encode(pa.array(values, pa.string()), null_encoding="encode")


def _assert_same_encoding(got: pa.DictionaryArray | None, values: list[str | None]) -> None:
    want = _expected(values)
    assert got is not None
    assert got.dictionary.equals(want.dictionary)
    assert got.indices.equals(want.indices)
    assert got.indices.type == pa.int32() and got.indices.null_count == 0


@pytest.mark.parametrize("values", [
    ["a", "b", "a", "c"],
    [None, "a", None, "b"],
    ["a", None, "b", None, "a"],
    ["a", "b", None],
    [None, None],
    ["x"],
    ["", "a", ""],
])
def test_reused_dictionary_is_dictionary_encode(values: list[str | None]) -> None:
    """One chunk, nulls first, in the middle, last, only nulls, empty strings."""
    arr = pa.array(values, pa.string()).dictionary_encode()
    _assert_same_encoding(kv._reuse_dictionary(arr), values)


def test_reused_dictionary_of_chunks_with_their_own_dictionaries() -> None:
    """Row groups have dictionaries of their own: unified, numbered by first appearance."""
    parts = [["b", "a", None], ["c", "a"], [None, "d", "b"]]
    chunked = pa.chunked_array([pa.array(p, pa.string()).dictionary_encode() for p in parts])
    _assert_same_encoding(kv._reuse_dictionary(chunked), [v for p in parts for v in p])


def test_sliced_dictionary_arrays() -> None:
    """A slice starting at its first value is reused; one that does not is encoded again, the same."""
    values = ["a", "b", "c", None, "b", "a", "d"]
    arr = pa.array(values, pa.string()).dictionary_encode()
    assert kv._reuse_dictionary(arr.slice(2)) is None  # starts at code 2
    assert kv._reuse_dictionary(arr.slice(0, 4)) is None  # "d" is unused
    _assert_same_encoding(kv._reuse_dictionary(arr.slice(0, 7)), values)
    offset = pa.array(["a", "a", "b", None], pa.string()).dictionary_encode().slice(1)
    _assert_same_encoding(kv._reuse_dictionary(offset), ["a", "b", None])
    field = load_schema().tables["stays"].field("sex")
    big = pa.chunked_array([arr] * 400).combine_chunks().slice(2)
    enc = kv._distinct(big, field)
    _assert_same_encoding(enc, pc.cast(big, pa.string()).to_pylist())


@pytest.mark.parametrize("indices, dictionary", [
    ([1, 0, 1], ["a", "b"]),  # not numbered by first appearance
    ([0, 0, 0], ["a", "b"]),  # an unused value
    ([0, 1, 0], ["a", "a"]),  # a repeated value
    ([0, 1, 0], ["a", None]),  # a null value in the dictionary
])
def test_other_dictionaries_are_not_reused(indices: list[int], dictionary: list[str | None]) -> None:
    """Anything dictionary_encode would not give is refused; _distinct then encodes the text."""
    arr = pa.DictionaryArray.from_arrays(pa.array(indices, pa.int32()), pa.array(dictionary, pa.string()))
    assert kv._reuse_dictionary(arr) is None
    field = load_schema().tables["stays"].field("sex")
    big = pa.chunked_array([arr] * 600)  # past MIN_ROWS_FOR_DISTINCT
    enc = kv._distinct(big, field)
    text = pc.cast(big, pa.string()).combine_chunks()
    want = pc.dictionary_encode(text, null_encoding="encode")
    assert enc is not None and enc.dictionary.equals(want.dictionary) and enc.indices.equals(want.indices)


@settings(max_examples=60, deadline=None)
@given(st.lists(st.lists(st.one_of(st.none(), st.sampled_from(["a", "b", "c", "d", ""])), max_size=20),
                min_size=1, max_size=4))
def test_reused_dictionary_on_arbitrary_chunks(parts: list[list[str | None]]) -> None:
    flat = [v for p in parts for v in p]
    chunked = pa.chunked_array([pa.array(p, pa.string()).dictionary_encode() for p in parts],
                               type=pa.dictionary(pa.int32(), pa.string()))
    got = kv._reuse_dictionary(chunked)
    if not flat:
        assert got is None or len(got) == 0
        return
    _assert_same_encoding(got, flat)


def test_first_appearance_reads_past_the_first_block() -> None:
    """A value that first occurs late (past the first 65,536 rows) is still checked."""
    codes = np.zeros(200_000, dtype=np.int32)
    codes[100] = 1
    codes[150_000] = 2
    assert kv._first_appearance(codes, 3) == 3
    codes[150_000] = 3  # skips 2
    assert kv._first_appearance(codes, 4) is None
    assert kv._first_appearance(np.zeros(0, np.int32), 0) == 0


def _messy_stays(n: int = 5000) -> pa.Table:
    r = kad.synth.generate(years=(2025,), seed=11, n_stays=n)
    s = r.stays
    text = {k: pc.cast(s[k], pa.string()).to_pylist() if not pa.types.is_timestamp(s[k].type)
            else pc.strftime(pc.local_timestamp(s[k]), format="%Y-%m-%d %H:%M").to_pylist()
            for k in s.column_names}
    rng = np.random.default_rng(5)
    junk = {"sex": ["Kvinne", " mann ", "9", "", None, "=1"], "discharged_to": ["Hjem", "x", None, ""],
            "municipality": ["301", "9999", None, ""], "care_track": ["somatikk", "x", ""],
            "unit_id": ["U-UNKNOWN", None, " VV-ASKER-LV"], "diagnosis_icpc2": ["r 81", "Q99", None]}
    for col, vals in junk.items():
        for i in np.flatnonzero(rng.random(n) < 0.05):
            text[col][i] = vals[rng.integers(len(vals))]
    return pa.table({k: pa.array(v, pa.string()) for k, v in text.items()})


def test_parquet_read_as_dictionaries_validates_as_its_text(tmp_path: Path) -> None:
    """Small row groups (a dictionary per chunk), nulls, labels and bad codes: the same report."""
    region = kad.synth.generate(years=(2025,), seed=11, n_stays=5000)
    stays = _messy_stays()
    p = tmp_path / "stays.parquet"
    pq.write_table(stays, p, row_group_size=700)
    raw = kad.read_table(p, table="stays", dictionary=True)
    assert pa.types.is_dictionary(raw.table["sex"].type)
    assert not pa.types.is_dictionary(raw.table["stay_id"].type)  # nearly all distinct: plain text
    from_file = kad.validate(stays=p, units=region.units, as_of=AS_OF)
    in_memory = kad.validate(stays=stays, units=region.units, as_of=AS_OF)
    _same_report(from_file, in_memory)
    rules = set(from_file.issues["rule"].to_pylist())
    assert {"label-mapped", "code-unknown", "unit-unknown", "formula-like"} <= rules


def test_in_memory_dictionary_columns_validate_as_their_text() -> None:
    """Categoricals (pyarrow dictionary columns), chunked and sliced, give the text's report."""
    region = kad.synth.generate(years=(2025,), seed=11, n_stays=5000)
    stays = _messy_stays().slice(3, 4500)
    cols = {k: (stays[k].dictionary_encode() if k in ("sex", "municipality", "unit_id", "care_track") else stays[k])
            for k in stays.column_names}
    encoded = pa.table(cols)
    chunked = pa.concat_tables([encoded.slice(0, 1500), encoded.slice(1500)])
    plain = kad.validate(stays=stays, units=region.units, as_of=AS_OF)
    _same_report(kad.validate(stays=chunked, units=region.units, as_of=AS_OF), plain)


def test_read_table_dictionary_keeps_the_values(tmp_path: Path) -> None:
    """dictionary=True changes the type of repetitive Parquet text columns, never a value."""
    stays = _messy_stays(3000)
    p = tmp_path / "stays.parquet"
    pq.write_table(stays, p, row_group_size=1000)
    plain = kad.read_table(p, table="stays")
    encoded = kad.read_table(p, table="stays", dictionary=True)
    assert not any(pa.types.is_dictionary(t) for t in plain.table.schema.types)
    assert any(pa.types.is_dictionary(t) for t in encoded.table.schema.types)
    for name in plain.table.column_names:
        assert pc.cast(encoded.table[name], plain.table[name].type).equals(plain.table[name]), name
    assert encoded.lines.equals(plain.lines)


@pytest.mark.parametrize("ids, duplicated", [
    (["a", "b", "c", "d"], []),
    (["a", "b", "b", "c"], [1, 2]),  # sorted, but not strictly
    (["a", None, "b", None, "c"], []),  # nulls are no key
    (["b", "a", "b"], [0, 2]),  # not sorted: the hash search
    ([None, None], []),
    (["a"], []),
])
def test_duplicate_keys_sorted_or_not(ids: list[str | None], duplicated: list[int]) -> None:
    class Collector:
        def __init__(self) -> None:
            self.mask: list[bool] = []

        def add(self, rule: str, field: str, mask: pa.Array, **kw: object) -> None:
            self.mask = mask.to_pylist()

    c = Collector()
    kv._flag_duplicates(c, pa.table({"stay_id": pa.array(ids, pa.string())}), ["stay_id"])  # type: ignore[arg-type]
    assert [i for i, m in enumerate(c.mask) if m] == duplicated


def test_strictly_increasing() -> None:
    assert kv._strictly_increasing(pa.chunked_array([pa.array(["a", "b"]), pa.array(["c"])]))
    assert not kv._strictly_increasing(pa.array(["a", "a"]))
    assert kv._strictly_increasing(pa.array([None, 1, None, 5], pa.int64()))
    assert not kv._strictly_increasing(pa.array([[1], [2]]))


def test_index_in_per_distinct_value_equals_per_row() -> None:
    """CheckContext.index_in / is_in on an encoded column equal the lookups on its rows."""
    values = pa.array(["3301", None, "0301", "3301", "9999", None, "3303"] * 50, pa.string())
    enc = pc.dictionary_encode(values, null_encoding="encode")
    value_set = pa.array(["3303", "3301"], pa.string())
    table = pa.table({"municipality": values})
    plain = _checks.CheckContext(table=table, invalid={}, collector=None, schema=None,  # type: ignore[arg-type]
                                 others={}, as_of=dt.datetime(2026, 1, 1))
    coded = _checks.CheckContext(table=table, invalid={}, collector=None, schema=None,  # type: ignore[arg-type]
                                 others={}, as_of=dt.datetime(2026, 1, 1),
                                 encoded={"municipality": (enc.indices, enc.dictionary)})
    assert coded.index_in("municipality", value_set).equals(pc.index_in(values, value_set=value_set))
    assert coded.index_in("municipality", value_set).equals(plain.index_in("municipality", value_set))
    assert coded.is_in("municipality", value_set).equals(pc.is_in(values, value_set=value_set))


@pytest.mark.parametrize("share", [0, 4, 10**9])  # always the grid, when small, never
@pytest.mark.parametrize("null_rate", [0.0, 0.1, 1.0])
def test_by_code_and_day_equals_the_rows(monkeypatch: pytest.MonkeyPatch, share: int, null_rate: float) -> None:
    """Evaluating an elementwise function once per (code, day) cell gives each row's own result."""
    rng = np.random.default_rng(int(null_rate * 10) + share % 7)
    n = 5000
    codes = rng.integers(3, 9, n)
    days = rng.integers(19000, 19400, n)
    code = pa.array(codes.astype(np.int32), mask=rng.random(n) < null_rate)
    day = pa.array(days.astype(np.int32), pa.int32(), mask=rng.random(n) < null_rate / 2).cast(pa.date32())

    def fn(c: np.ndarray, d: np.ndarray) -> np.ndarray:
        return np.asarray((c.astype(np.int64) * 7 + d) % 5, dtype=np.int64)

    monkeypatch.setattr(_checks, "GRID_SHARE", share)
    got = _checks.by_code_and_day(code, day, fn, -1)
    ok = np.asarray(pc.and_(pc.is_valid(code), pc.is_valid(day)).to_numpy(zero_copy_only=False))
    want = np.where(ok, fn(codes, days), -1)
    assert got.dtype == np.int64 and np.array_equal(got, want)
    assert _checks.by_code_and_day(code.slice(0, 0), day.slice(0, 0), fn, -1).size == 0


def test_municipality_validity_on_many_rows_by_grid_and_by_rows(monkeypatch: pytest.MonkeyPatch) -> None:
    """Municipality validity over 20,000 stays (a grid of codes × days) equals the code list's join."""
    from kadindicators import municipalities

    codes = municipalities.validity_table()["code"].to_pylist()
    rng = np.random.default_rng(9)
    n = 20_000
    picked = [codes[i] for i in rng.integers(len(codes), size=n - 3)] + [None, "9999", "301"]
    mun = pa.array(picked, pa.string())
    dates = pa.array(rng.integers(18000, 18400, size=n).astype(np.int32), pa.int32()).cast(pa.date32())
    want = municipalities.valid_on(mun, dates).tolist()
    assert 0 < sum(want) < n
    for share in (0, 10**9):  # every cell of the grid; the rows one by one
        monkeypatch.setattr(_checks, "GRID_SHARE", share)
        assert _checks._municipality_valid_on(None, mun, dates).tolist() == want


@pytest.mark.parametrize("parts", [
    [["b", "a", None], ["c", "a", "b"], [None, "d"]],
    [[], ["a"], [], [None, "a"]],
    [["x"] * 3],
])
def test_chunked_text_is_encoded_as_one_array(parts: list[list[str | None]]) -> None:
    """CSV columns come in blocks: encoding them chunk by chunk gives dictionary_encode of the whole."""
    chunked = pa.chunked_array([pa.array(p, pa.string()) for p in parts], type=pa.string())
    got = kv._encode(chunked)
    _assert_same_encoding(got, [v for p in parts for v in p])
    _assert_same_encoding(kv._encode(chunked.combine_chunks()), [v for p in parts for v in p])
