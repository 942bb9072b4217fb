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
    if head.startswith((b"\xff\xfe", b"\xfe\xff")):
        return "csv"  # UTF-16 text (Excel's "Unicode text")
    if b"\x00" in head[:65536]:
        return "binary"
    return "csv"


@attrs.frozen(kw_only=True)
class Decoded:
    """Text decoded from bytes, with the encoding that worked."""

    text: str
    encoding: str
    bom: bool


def decode(data: bytes) -> Decoded:
    """Decode a text file: UTF-8 (with or without BOM), UTF-16 with BOM, else Windows-1252."""
    if data.startswith(b"\xef\xbb\xbf"):
        return Decoded(text=data[3:].decode("utf-8", errors="replace"), encoding="utf-8", bom=True)
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        return Decoded(text=data.decode("utf-16", errors="replace"), encoding="utf-16", bom=True)
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
