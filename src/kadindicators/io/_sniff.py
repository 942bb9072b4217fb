"""Detect what a file is and how a text table is written (encoding, delimiter)."""

from __future__ import annotations

import attrs

MAGIC = {
    b"PK\x03\x04": "xlsx",
    b"PAR1": "parquet",
    b"ARROW1": "arrow",
    b"\xd0\xcf\x11\xe0": "xls",
    b"%PDF": "pdf",
    b"\x1f\x8b": "gzip",
}


def sniff_kind(head: bytes) -> str:
    """Return the kind of file from its first bytes: csv, xlsx, parquet, arrow, or another."""
    for magic, kind in MAGIC.items():
        if head.startswith(magic):
            return kind
    if head.startswith((b"\xff\xfe", b"\xfe\xff")) or utf16_without_bom(head):
        return "csv"  # UTF-16 text (Excel's "Unicode text")
    if b"\x00" in head[:65536]:
        return "binary"
    return "csv"


def utf16_without_bom(head: bytes) -> str | None:
    """``"utf-16-le"`` or ``"utf-16-be"`` when the bytes look like UTF-16 text without a byte order mark.

    Text in Latin script has a zero high byte in (nearly) every code unit:
    zeros in the odd bytes and none in the even ones is little-endian, and the
    other way round big-endian.
    """
    sample = head[: min(len(head), 4096) & ~1]
    if len(sample) < 8:
        return None
    even, odd = sample[0::2], sample[1::2]
    half = len(sample) // 2
    zeros_even, zeros_odd = even.count(0), odd.count(0)
    if zeros_odd >= 0.9 * half and zeros_even <= 0.02 * half:
        return "utf-16-le"
    if zeros_even >= 0.9 * half and zeros_odd <= 0.02 * half:
        return "utf-16-be"
    return None


@attrs.frozen(kw_only=True)
class Decoded:
    """Text decoded from bytes, with the encoding that worked."""

    text: str
    encoding: str
    bom: bool


def decode(data: bytes) -> Decoded:
    """Decode a text file: UTF-8 (with or without BOM), UTF-16 (with or without BOM), else Windows-1252."""
    if data.startswith(b"\xef\xbb\xbf"):
        return Decoded(text=data[3:].decode("utf-8", errors="replace"), encoding="utf-8", bom=True)
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        return Decoded(text=data.decode("utf-16", errors="replace"), encoding="utf-16", bom=True)
    order = utf16_without_bom(data[:4096])
    if order is not None:
        return Decoded(text=data.decode(order, errors="replace"), encoding=order, bom=False)
    try:
        return Decoded(text=data.decode("utf-8"), encoding="utf-8", bom=False)
    except UnicodeDecodeError:
        pass
    try:
        return Decoded(text=data.decode("cp1252"), encoding="windows-1252", bom=False)
    except UnicodeDecodeError:
        # cp1252 leaves five bytes undefined; latin-1 maps every byte.
        return Decoded(text=data.decode("latin-1"), encoding="iso-8859-1", bom=False)


def sniff_delimiter(header_line: str) -> str:
    """Pick the delimiter from the header line: the most frequent of ; , tab | outside quotes."""
    counts = dict.fromkeys(";,\t|", 0)
    in_quotes = False
    for ch in header_line:
        if ch == '"':
            in_quotes = not in_quotes
        elif not in_quotes and ch in counts:
            counts[ch] += 1
    best = max(counts, key=lambda c: (counts[c], c == ";"))
    return best if counts[best] > 0 else ","
