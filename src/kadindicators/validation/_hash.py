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
    start = offsets[:-1].astype(np.int64)
    length = np.diff(offsets).astype(np.int64)
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
        x = length.astype(np.uint64) * _C0 + np.uint64(1)
        longest = int(length.max())
        if longest and int(length.min()) == longest:  # one length (typical of ids): a plain reshape
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
    keys = np.sort((h & ~low) | np.arange(n, dtype=np.uint64))
    top = keys & ~low
    same = top[1:] == top[:-1]
    hit = np.zeros(n, dtype=bool)
    hit[1:] = same
    hit[:-1] |= same
    out = np.zeros(n, dtype=bool)
    out[(keys[hit] & low).astype(np.int64)] = True
    return out
