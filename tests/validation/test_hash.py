"""String hashes and dense codes (validation/_hash.py) against plain-Python oracles."""

from __future__ import annotations

import collections

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pytest
from hypothesis import given
from hypothesis import strategies as st

from kadindicators.validation import _hash

MASK = 2**64 - 1


def _mix(x: int) -> int:
    x ^= x >> 30
    x = (x * 0xBF58476D1CE4E5B9) & MASK
    x ^= x >> 27
    x = (x * 0x94D049BB133111EB) & MASK
    return x ^ (x >> 31)


def _oracle(value: str | None) -> int:
    """The documented hash, one string at a time: length seed, each 8-byte little-endian word mixed in."""
    if value is None:
        return 0
    data = value.encode()
    x = (len(data) * 0x9E3779B97F4A7C15 + 1) & MASK
    for at in range(0, len(data), 8):
        x = _mix(x ^ int.from_bytes(data[at:at + 8], "little"))
    return _mix(x)


words = st.text(alphabet="ab0æ-", max_size=30)


@given(st.lists(st.one_of(st.none(), words), max_size=40), st.integers(0, 3))
def test_hash_strings_matches_oracle(values: list[str | None], cut: int) -> None:
    arr = pa.array(values, pa.string()).slice(min(cut, len(values)))
    assert _hash.hash_strings(arr).tolist() == [_oracle(v) for v in arr.to_pylist()]


@pytest.mark.parametrize("length", [8, 9, 15, 16, 17, 24, 31])
def test_one_length_path_matches_oracle(length: int) -> None:
    """Ids of one length are read in place (strided words); also sliced and with nulls."""
    rng = np.random.default_rng(length)
    values = ["".join(rng.choice(list("xyz0"), length)) for _ in range(300)]
    arr = pa.array(values, mask=rng.random(300) < 0.05)
    for a in (arr, arr.slice(5, 200), pa.array(values)):
        assert _hash.hash_strings(a).tolist() == [_oracle(v) for v in a.to_pylist()]


@given(st.lists(st.integers(0, 50), max_size=200), st.integers(0, 60))
def test_repeated_matches_counter(keys: list[int], shift: int) -> None:
    h = (np.asarray(keys, dtype=np.uint64) * np.uint64(0x9E3779B97F4A7C15)) << np.uint64(shift % 64)
    counts = collections.Counter(h.tolist())
    assert _hash.repeated(h).tolist() == [counts[x] > 1 for x in h.tolist()]


def _same_partition(values: pa.Array) -> None:
    """The codes are dictionary_encode's: dense, in order of first appearance, -1 for null."""
    codes, k = _hash.dense_codes(values)
    ref = pc.fill_null(pc.dictionary_encode(values).indices, -1).to_numpy().astype(np.int64)
    assert codes.tolist() == ref.tolist()
    assert k == len(pc.dictionary_encode(values).dictionary)


@given(st.lists(st.one_of(st.none(), st.text(alphabet="pq1", max_size=4)), max_size=300))
def test_dense_codes_partition(values: list[str | None]) -> None:
    _same_partition(pa.array(values, pa.string()))


@pytest.mark.parametrize("keep_bits", [0, 2, 8])
def test_dense_codes_split_hash_collisions(monkeypatch: pytest.MonkeyPatch, keep_bits: int) -> None:
    """With a hash that collides a lot (or always), different strings still get different codes."""
    real = _hash.hash_strings
    top = np.uint64((MASK >> (64 - keep_bits)) << (64 - keep_bits)) if keep_bits else np.uint64(0)
    monkeypatch.setattr(_hash, "hash_strings", lambda v: real(v) & top)
    rng = np.random.default_rng(keep_bits)
    values = [None if x % 11 == 0 else f"p{x}" for x in rng.integers(0, 400, 3000)]
    _same_partition(pa.array(values))
