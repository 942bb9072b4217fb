"""64-bit hashes of strings, computed with numpy straight from Arrow's buffers.

Used to find *candidates* for equality (duplicate keys, stays of one patient):
equal strings always get equal hashes, so every exact match is among the
candidates; the few candidates that are only hash collisions are separated by
an exact comparison afterwards. Sorting 64-bit integers is much cheaper than
hashing or sorting millions of distinct strings in a hash table, whose memory
traffic grows faster than the data.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

_C0 = np.uint64(0x9E3779B97F4A7C15)
_C1 = np.uint64(0xBF58476D1CE4E5B9)
_C2 = np.uint64(0x94D049BB133111EB)
_NULL = np.uint64(0)


def _mix(x: np.ndarray, tmp: np.ndarray | None = None) -> np.ndarray:
    """SplitMix64's finaliser, in place: every input bit affects every output bit."""
    t = np.empty_like(x) if tmp is None else tmp
    np.right_shift(x, np.uint64(30), out=t)
    np.bitwise_xor(x, t, out=x)
    np.multiply(x, _C1, out=x)
    np.right_shift(x, np.uint64(27), out=t)
    np.bitwise_xor(x, t, out=x)
    np.multiply(x, _C2, out=x)
    np.right_shift(x, np.uint64(31), out=t)
    np.bitwise_xor(x, t, out=x)
    return x


def hash_strings(values: pa.Array) -> np.ndarray:
    """A 64-bit hash of each string (null: 0), reading 8 bytes at a time from the data buffer.

    Examples
    --------
    >>> h = hash_strings(pa.array(["a", "bb", None, "a"]))
    >>> bool(h[0] == h[3]), bool(h[0] == h[1]), int(h[2])
    (True, False, 0)
    """
    if not pa.types.is_string(values.type):
        values = pc.cast(values, pa.string())
    n = len(values)
    if n == 0:
        return np.zeros(0, dtype=np.uint64)
    _, offsets_buf, data_buf = values.buffers()
    offsets = np.frombuffer(offsets_buf, dtype=np.int32)[values.offset:values.offset + n + 1]
    # 64-bit starts and lengths only for strings of several lengths (one length needs neither)
    length32 = np.diff(offsets)
    shortest, longest = int(length32.min()), int(length32.max())
    if shortest == longest:
        start = length = np.zeros(0, dtype=np.int64)
    else:
        start = offsets[:-1].astype(np.int64)
        length = length32.astype(np.int64)
    del length32
    end = int(offsets[-1])
    data = np.frombuffer(data_buf, dtype=np.uint8)[:end] if data_buf is not None else np.zeros(0, np.uint8)
    # every 8-byte window of the data as one unsigned integer (windows overlap: stride 1 byte);
    # a short tail copy holds the windows that would run past the end
    body = max(data.size - 7, 0)
    windows = (np.ndarray((body,), dtype="<u8", buffer=data, strides=(1,)) if body
               else np.zeros(0, dtype=np.uint64))
    tail_at = body
    tail = np.zeros(data.size - tail_at + 8, dtype=np.uint8)
    tail[:data.size - tail_at] = data[tail_at:]
    tail_windows = np.ndarray((tail.size - 7,), dtype="<u8", buffer=tail, strides=(1,))

    def read(pos: np.ndarray) -> np.ndarray:  # pos ascending (offsets are)
        k = int(np.searchsorted(pos, tail_at))
        if k == pos.size:
            return np.asarray(windows[pos])
        return np.concatenate((windows[pos[:k]], tail_windows[pos[k:] - tail_at]))

    all_bits = np.uint64(2**64 - 1)
    with np.errstate(over="ignore"):
        if longest >= 8 and shortest == longest:  # one length (typical of ids)
            x = _hash_one_length(data, int(offsets[0]), n, longest)
            longest = 0  # done
        elif shortest == longest:
            x = np.full(n, np.uint64(longest) * _C0 + np.uint64(1), dtype=np.uint64)
        else:
            x = length.astype(np.uint64) * _C0 + np.uint64(1)
        if longest and shortest == longest:  # one short length: a plain reshape
            width = -(-longest // 8) * 8
            block = np.zeros((n, width), dtype=np.uint8)
            block[:, :longest] = data[int(offsets[0]):end].reshape(n, longest)
            words = block.view("<u8")
            tmp = np.empty_like(x)
            for k in range(width // 8):
                np.bitwise_xor(x, words[:, k], out=x)
                _mix(x, tmp)
            longest = 0  # done

        for j in range(0, longest, 8):
            live = length > j
            rows = None if live.all() else np.flatnonzero(live)
            rem = (length - j) if rows is None else (length[rows] - j)
            w = read(start + j if rows is None else start[rows] + j)
            if rem.min() < 8:  # keep only the string's own bytes of a last, partial word
                bits = (np.minimum(rem, 8) * 8).astype(np.uint64)
                w &= np.where(bits >= 64, all_bits, (np.uint64(1) << np.minimum(bits, np.uint64(63))) - np.uint64(1))
            if rows is None:
                np.bitwise_xor(x, w, out=x)
                _mix(x)
            else:
                x[rows] = _mix(x[rows] ^ w)
        _mix(x)
    if values.null_count:
        x[~np.asarray(values.is_valid().to_numpy(zero_copy_only=False), dtype=bool)] = _NULL
    return np.asarray(x)


def _hash_one_length(data: np.ndarray, first: int, n: int, length: int) -> np.ndarray:
    """:func:`hash_strings` of ``n`` strings of ``length`` >= 8 bytes stored back to back from ``first``.

    The words are read in place (strided views of the data buffer, no copy): whole
    words from the start of each string, and a last, partial word as the high bytes
    of the 8 bytes that end the string (the same value as the masked word).
    """
    x = np.full(n, (length * int(_C0) + 1) % 2**64, dtype=np.uint64)
    tmp = np.empty_like(x)

    def word(at: int) -> np.ndarray:
        return np.ndarray((n,), dtype="<u8", buffer=data, offset=first + at, strides=(length,))

    for k in range(length // 8):
        np.bitwise_xor(x, word(8 * k), out=x)
        _mix(x, tmp)
    rem = length % 8
    if rem:
        np.right_shift(word(length - 8), np.uint64(8 * (8 - rem)), out=tmp)
        np.bitwise_xor(x, tmp, out=x)
        _mix(x, tmp)
    return x


def repeated(h: np.ndarray) -> np.ndarray:
    """Mask of the elements whose hash (possibly) occurs more than once.

    One sort of the hashes with each element's position packed into the low bits;
    equal leading bits mark the candidates. Truncating the hash only adds candidates.

    Examples
    --------
    >>> repeated(np.array([5, 7, 5, 9], dtype=np.uint64) << np.uint64(40)).tolist()
    [True, False, True, False]
    >>> repeated(hash_strings(pa.array(["p1", "p2", "p1", None]))).tolist()[:3]
    [True, False, True]
    """
    n = h.size
    if n < 2:
        return np.zeros(n, dtype=bool)
    bits = max(int(n - 1).bit_length(), 1)
    low = np.uint64((1 << bits) - 1)
    keys = _packed_sort(h, low)
    pos = keys & low
    np.right_shift(keys, np.uint64(bits), out=keys)  # the leading bits only
    same = keys[1:] == keys[:-1]
    del keys
    hit = np.zeros(n, dtype=bool)
    hit[1:] = same
    hit[:-1] |= same
    out = np.zeros(n, dtype=bool)
    out[pos[hit]] = True
    return out


def _packed_sort(h: np.ndarray, low: np.uint64) -> np.ndarray:
    """The hashes with their low bits replaced by each element's position, sorted (in place: few copies)."""
    keys = h & ~low
    keys |= np.arange(h.size, dtype=np.uint64)
    keys.sort()
    return keys


def dense_codes(values: pa.Array) -> tuple[np.ndarray, int]:
    """An integer code for each string, equal codes for equal strings only; -1 for null.

    The codes are those of ``pc.dictionary_encode(values).indices`` (dense, numbered in
    order of first appearance), found by one sort of 64-bit hashes instead of a hash
    table of the strings: elements with the same (truncated) hash are compared exactly,
    and groups where a collision mixes different strings are split exactly.

    Returns (codes as int64, number of distinct non-null strings).

    Examples
    --------
    >>> codes, k = dense_codes(pa.array(["b", "a", None, "b"]))
    >>> k, codes.tolist()
    (2, [0, 1, -1, 0])
    """
    if not pa.types.is_string(values.type):
        values = pc.cast(values, pa.string())
    n = len(values)
    codes = np.full(n, -1, dtype=np.int64)
    if n == 0:
        return codes, 0
    h = hash_strings(values)
    rows = np.arange(n, dtype=np.int64)
    if values.null_count:
        rows = np.flatnonzero(np.asarray(values.is_valid().to_numpy(zero_copy_only=False), dtype=bool))
        h = h[rows]
    m = rows.size
    if m == 0:
        return codes, 0
    # sort the hashes with each element's position in the low bits (a plain sort, no argsort)
    bits = max(int(m - 1).bit_length(), 1)
    low = np.uint64((1 << bits) - 1)
    keys = _packed_sort(h, low)
    del h
    pos = (keys & low).astype(np.int64)
    np.right_shift(keys, np.uint64(bits), out=keys)
    new = np.ones(m, dtype=bool)
    np.not_equal(keys[1:], keys[:-1], out=new[1:])
    del keys
    run = np.cumsum(new) - 1  # candidate group of each sorted element
    # exact check: each element against the previous one of its run
    inner = np.flatnonzero(~new)
    if inner.size:
        at = rows[pos[inner]]
        before = rows[pos[inner - 1]]
        same = np.asarray(pc.equal(values.take(pa.array(at)), values.take(pa.array(before)))
                          .to_numpy(zero_copy_only=False), dtype=bool)
        mixed_runs = np.unique(run[inner[~same]])
    else:
        mixed_runs = np.zeros(0, dtype=np.int64)
    n_runs = int(run[-1]) + 1
    group = run
    if mixed_runs.size:  # hash collisions between different strings: number those rows exactly
        bad = np.isin(run, mixed_runs)
        sub = pc.dictionary_encode(values.take(pa.array(rows[pos[bad]]))).indices
        group = run.copy()
        group[bad] = n_runs + np.asarray(sub.to_numpy(zero_copy_only=False), dtype=np.int64)
        used = np.bincount(group, minlength=n_runs + len(sub)) > 0
        group = (np.cumsum(used) - 1)[group]
        n_runs = int(used.sum())
    # number the groups in order of first appearance: mark each group's first element (in
    # row order), count the marks up to it
    at = rows[pos]  # the row of each sorted element
    first = np.full(n_runs, n, dtype=np.int64)
    np.minimum.at(first, group, at)
    mark = np.zeros(n, dtype=bool)
    mark[first] = True
    number = np.cumsum(mark, dtype=np.int64)
    number -= 1
    codes[at] = number[first][group]
    return codes, n_runs
