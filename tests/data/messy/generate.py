"""Generate the corpus of messy and hostile inputs for the robustness tests (synthetic data only).

Nothing here is real data: every file is built from a few made-up rows. The
tests call :func:`small_cases` and :func:`write` to build the corpus in a
temporary folder; the large hostile files (a 2 GB cell, a zip bomb, a million
columns) are made on demand by :func:`sparse_huge_value`, :func:`xlsx_bomb`,
:func:`long_line_csv` and :func:`many_columns_csv`, and are never committed.

Each case says what a correct reader must do with it:

``ok``
    read; no row rejected (warnings and info allowed); CLI exit 0.
``rejected``
    read; some rows rejected, each with a located error; CLI exit 1.
``unusable``
    the file cannot be used at all: :class:`kadindicators.InputError` with a
    bilingual message naming the file (and the line, where there is one); CLI exit 3.

Run ``python tests/data/messy/generate.py OUT`` to write the small cases and a
``MANIFEST.json`` to look at (add ``--large`` for the large ones, ~3 GB sparse).

Examples
--------
>>> cases = small_cases()
>>> len(cases) > 30 and all(c.expect in ("ok", "rejected", "unusable") for c in cases)
True
"""

from __future__ import annotations

import io
import json
import random
import struct
import sys
import zlib
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

AS_OF = "2026-01-01"

EN_HEADER = ["stay_id", "patient_id", "unit_id", "municipality", "admitted_at", "discharged_at", "age",
             "sex", "care_track", "admitted_from", "examined_before_admission", "discharged_to",
             "diagnosis_icpc2"]
NB_HEADER = ["opphold_id", "pasient_id", "enhet_id", "kommune", "innlagt", "utskrevet", "alder", "kjønn",
             "tilbud", "innlagt_fra", "undersøkt_av_lege", "utskrevet_til", "icpc2"]


def _row(i: int, *, admitted: str = "02.01.2025 10:00", discharged: str = "04.01.2025 12:00",
         age: str = "84", sex: str = "2", mun: str = "3301", dest: str = "home",
         src: str = "gp", examined: str = "ja", icpc: str = "R81") -> list[str]:
    return [f"S{i:03d}", f"P{i:03d}", "U1", mun, admitted, discharged, age, sex, "somatic", src, examined,
            dest, icpc]


@dataclass(frozen=True)
class Case:
    """One corpus file and what a correct reader must do with it."""

    name: str
    filename: str
    content: bytes
    expect: str  # "ok" | "rejected" | "unusable"
    table: str = "stays"
    # (line, rule) pairs that must be among the issues (line None: a table-level issue)
    located: tuple[tuple[int | None, str], ...] = ()
    rows: int | None = None  # rows read, when known
    # for "unusable": text the English message must contain besides the file name (e.g. "line 3")
    where: str = ""
    note: str = ""
    tags: tuple[str, ...] = field(default_factory=tuple)


def csv_text(header: list[str], rows: list[list[str]], *, sep: str = ",", nl: str = "\n") -> str:
    """Join a header and rows as CSV text (values are not quoted: the callers choose them)."""
    return nl.join(sep.join(r) for r in [header, *rows]) + nl


def _xlsx(rows: list[list[object]], sheet: str = "Opphold") -> bytes:
    import openpyxl

    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = sheet
    for r in rows:
        ws.append(r)
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def gen_row_cells(i: int) -> list[object]:
    """One good row as Excel cells (the age as a number)."""
    r: list[object] = list(_row(i))
    r[6] = int(str(r[6]))
    return r


def _good_rows(n: int = 3) -> list[list[str]]:
    return [_row(i) for i in range(1, n + 1)]


def small_cases() -> list[Case]:
    """Every corpus case that is small enough to build in memory (a few kB each)."""
    en = EN_HEADER
    good = _good_rows()
    base = csv_text(en, good)
    cases: list[Case] = []
    add = cases.append

    # -- encodings and byte order marks ----------------------------------------------------------
    add(Case("utf8-plain", "stays.csv", base.encode(), "ok", rows=3))
    nb_rows = [_row(1, sex="Kvinne", dest="Hjem", src="Legevakt"), _row(2, sex="Mann", dest="Sykehus")]
    nb_text = csv_text(NB_HEADER, nb_rows, sep=";", nl="\r\n")
    add(Case("utf8-bom-norwegian", "opphold.csv", b"\xef\xbb\xbf" + nb_text.encode(), "ok", rows=2,
             located=((2, "label-mapped"),), tags=("norwegian",)))
    add(Case("cp1252-excel", "opphold.csv", nb_text.encode("cp1252"), "ok", rows=2,
             located=((2, "label-mapped"),), tags=("norwegian",)))
    tab = csv_text(NB_HEADER, nb_rows, sep="\t", nl="\r\n")
    add(Case("utf16le-bom-tab", "opphold.txt", b"\xff\xfe" + tab.encode("utf-16-le"), "ok", rows=2))
    add(Case("utf16be-bom-tab", "opphold.txt", b"\xfe\xff" + tab.encode("utf-16-be"), "ok", rows=2))
    add(Case("utf16le-no-bom", "opphold.csv", tab.encode("utf-16-le"), "ok", rows=2,
             note="Excel 'Unicode text' saved without a byte order mark"))
    add(Case("double-bom", "stays.csv", b"\xef\xbb\xbf\xef\xbb\xbf" + base.encode(), "ok", rows=3))
    # bytes that are undefined in Windows-1252 (0x81, 0x8d): the reader falls back to Latin-1
    latin = base.encode().replace(b"P001", b"P\x81\x8d1")
    add(Case("latin1-undefined-bytes", "stays.csv", latin, "ok", rows=3))
    # one line in Windows-1252, one in UTF-8: decoded as Windows-1252, the UTF-8 label is mojibake
    mixed = (csv_text(NB_HEADER, [], sep=";").encode("cp1252")
             + ";".join(_row(1, sex="Kvinne", src="Legevakt")).encode("cp1252") + b"\n"
             + ";".join(_row(2, src="Kommunal tjeneste", dest="Sykehjem")).encode("cp1252") + b"\n"
             + ";".join(_row(3, sex="Kvinne", dest="Død")).encode("utf-8") + b"\n")
    add(Case("mixed-encodings", "opphold.csv", mixed, "rejected", rows=3,
             located=((4, "code-unknown"),), note="the UTF-8 'Død' reads as 'DÃ¸d' and is not a code"))

    # -- line endings, quoting, ragged rows --------------------------------------------------------
    lines = [",".join(en), ",".join(_row(1)), ",".join(_row(2, age="130")), ",".join(_row(3)),
             ",".join(_row(4, admitted="31.02.2025 10:00"))]
    mixed_nl = lines[0] + "\r\n" + lines[1] + "\n" + lines[2] + "\r" + lines[3] + "\r\n" + lines[4] + "\n"
    add(Case("mixed-line-endings", "stays.csv", mixed_nl.encode(), "rejected", rows=4,
             located=((3, "range-out-of-bounds"), (5, "type-invalid"))))
    quoted = (",".join(en) + "\r\n"
              + ",".join(_row(1)[:12]) + ',"R81"\r\n'
              + ",".join(_row(2)[:9]) + ',"Lege-\r\nvakt",ja,home,R81\r\n'
              + ",".join(_row(3)[:9]) + ',gp,ja,home,"R81\n\n"\r\n'
              + ",".join(_row(4, age="1000")) + "\r\n")
    add(Case("quoted-newlines", "stays.csv", quoted.encode(), "rejected", rows=4,
             located=((3, "code-invalid-nullified"), (8, "range-out-of-bounds")),
             note="records span lines 3-4 and 5-7; the bad age is on line 8"))
    ragged = (",".join(en) + "\n" + ",".join(_row(1)) + "\n" + ",".join(_row(2)[:5]) + "\n"
              + ",".join(_row(3) + ["extra"]) + "\n" + ",".join(_row(4)) + "\n")
    add(Case("ragged-rows", "stays.csv", ragged.encode(), "rejected", rows=4,
             located=((3, "row-ragged"), (4, "row-ragged"))))
    add(Case("blank-and-space-lines", "stays.csv",
             (",".join(en) + "\n\n  \n" + ",".join(_row(1)) + "\n\t\n" + ",".join(_row(2)) + "\n\n").encode(),
             "ok", rows=2))
    unclosed = (",".join(en) + "\n" + ",".join(_row(1)) + "\n" + ",".join(_row(2)[:12]) + ',"R81\n'
                + ",".join(_row(3)) + "\n")
    add(Case("unclosed-quote", "stays.csv", unclosed.encode(), "unusable", where="line 3",
             note="the quote would swallow the rest of the file into one value"))
    stray = (",".join(en) + "\n" + ",".join(_row(1)) + "\n"
             + ",".join(_row(2)[:11]) + ',home,R8"1\n' + ",".join(_row(3)) + "\n")
    add(Case("stray-quote-mid-field", "stays.csv", stray.encode(), "ok", rows=3,
             located=((3, "code-invalid-nullified"),), note="a quote inside a field is a character"))
    add(Case("nul-byte-late", "stays.csv",
             (base + "".join(",".join(_row(i)) + "\n" for i in range(4, 1200))).encode()
             + b"S9999,P9999,U1,3301,02.01.2025 10:00,04.01.2025 12:00,8\x004,2,somatic,gp,ja,home,R81\n",
             "rejected", rows=1200, located=((1201, "type-invalid"),),
             note="a NUL byte after the first 64 kB"))

    # -- headers ---------------------------------------------------------------------------------
    dup = csv_text(["stay_id", "opphold_id", *en[1:]], [[r[0], "X" + r[0], *r[1:]] for r in good])
    add(Case("duplicate-headers-alias", "stays.csv", dup.encode(), "ok", rows=3,
             located=((None, "column-duplicate"),)))
    dup2 = csv_text([*en, "age"], [[*r, "99"] for r in good])
    add(Case("duplicate-headers-same", "stays.csv", dup2.encode(), "ok", rows=3,
             located=((None, "column-duplicate"),)))
    odd = csv_text([" Opphold-ID ", "PASIENT ID", "Enhet", "Kommune", "Innlagt", "Utskrevet", "Alder",
                    "Kjønn", "Tilbud", "Innlagt fra", "Undersøkt av lege", "Utskrevet til", "ICPC2",
                    "Fritekst"], [[*r, "merknad"] for r in good], sep=";")
    add(Case("norwegian-headers-odd-spelling", "opphold.csv", odd.encode("cp1252"), "ok", rows=3,
             located=((None, "column-unknown"),)))
    add(Case("header-only", "stays.csv", (",".join(en) + "\n").encode(), "ok", rows=0))
    add(Case("header-missing-required", "stays.csv", csv_text(en[:3], [r[:3] for r in good]).encode(),
             "unusable", where="admitted_at"))
    add(Case("header-only-delimiters", "stays.csv", b";;;;;;\n1;2;3;4;5;6;7\n", "unusable",
             where="stay_id"))
    add(Case("header-empty-names", "stays.csv", csv_text(["", *en[1:], ""], [["", *r[1:], ""] for r in good])
             .encode(), "unusable", where="stay_id"))

    # -- numbers and dates -----------------------------------------------------------------------
    nums = [_row(1, age="84,0"), _row(2, age="84.0"), _row(3, age="84,5"), _row(4, age="1 084"),
            _row(5, age="8 4"), _row(6, age="\u00a084")]
    add(Case("decimal-comma-age", "stays.csv", csv_text(en, nums, sep=";").encode(), "rejected", rows=6,
             located=((4, "type-invalid"), (5, "range-out-of-bounds"), (6, "type-invalid"))))
    pop_rows = [["3301", "2025", "1", "80-89", "1 234"], ["3301", "2025", "2", "80-89", "1\u00a0234"],
                ["3301", "2025", "1", "67-79", "2 000,0"], ["3301", "2025", "2", "67-79", "1.234"],
                ["3301", "2025", "1", "50-66", "12 34"], ["3301", "2025", "2", "50-66", "-5"]]
    add(Case("thousands-separators-population", "befolkning.csv",
             csv_text(["kommune", "år", "kjønn", "aldersgruppe", "befolkning"], pop_rows, sep=";")
             .encode("cp1252"), "rejected", table="population", rows=6,
             located=((5, "type-invalid"), (6, "type-invalid"), (7, "range-out-of-bounds"))))
    units = [["U1", "Drammen KAD", "3301", "3301;3312", "Somatikk", "8,0", "01.01.2020", ""],
             ["U2", "Lier KAD", "3312", "3312", "rus/psykiatri", "1 2", "2020-01-01", "31.12.2019"]]
    add(Case("units-norwegian", "enheter.csv",
             csv_text(["enhet_id", "navn", "vertskommune", "kommuner", "tilbud", "plasser", "gyldig_fra",
                       "gyldig_til"], [[r[0], r[1], r[2], f'"{r[3]}"', *r[4:]] for r in units], sep=";")
             .encode("cp1252"), "rejected", table="units", rows=2, located=((3, "type-invalid"),),
             note="a quoted list with the delimiter inside; '1 2' is not a number of beds"))
    dates = [_row(1, admitted="45659,4166666667", discharged="45661.5"), _row(2, admitted="45659"),
             _row(3, admitted="31.02.2025 10:00"), _row(4, admitted="2025-02-29T10:00"),
             _row(5, admitted="29.02.2024 10:00", discharged="01.03.2024 10:00"),
             _row(6, admitted="00.01.2025 10:00"), _row(7, admitted="02.01.2025 24:00"),
             _row(8, admitted="99999")]
    add(Case("excel-serial-and-impossible-dates", "stays.csv", csv_text(en, dates, sep=";").encode(),
             "rejected",
             rows=8, located=((2, "excel-serial-date"), (3, "excel-serial-date"), (4, "type-invalid"),
                              (5, "type-invalid"), (7, "type-invalid"), (8, "type-invalid"),
                              (9, "type-invalid"))))
    stamps = [_row(1, admitted="02.01.2025 10:00", discharged="04.01.2025 12:00:30"),
              _row(2, admitted="2025-01-02T10:00:00+01:00", discharged="2025-01-04T11:00Z"),
              _row(3, admitted="2025-01-02 10:00", discharged="2025-01-04 12:00:00.250"),
              _row(4, admitted="02.01.2025 kl. 10.00", discharged="4.1.2025 12:00"),
              _row(5, admitted="2025-01-02T10:00:00-0500", discharged="2025-01-04T12:00:00+0100"),
              _row(6, admitted="2025-01-02", discharged="2025-01-04")]
    add(Case("timestamp-variants", "stays.csv", csv_text(en, stamps, sep=";").encode(), "ok", rows=6))
    bad_stamps = [_row(1, admitted="2025-01-02T10:00+25:00"), _row(2, admitted="02/01/2025 10:00"),
                  _row(3, admitted="2. januar 2025"), _row(4, admitted="1899-12-31T10:00")]
    add(Case("timestamp-unusable", "stays.csv", csv_text(en, bad_stamps, sep=";").encode(), "rejected",
             rows=4, located=((2, "type-invalid"), (3, "type-invalid"), (4, "type-invalid"),
                              (5, "type-invalid"))))
    inj = [_row(1, dest="=HYPERLINK(\"http://x\")"), _row(2, icpc="@SUM(A1)"), _row(3, src="+cmd"),
           [*_row(4)[:0], "-S004", *_row(4)[1:]]]
    add(Case("formula-injection", "stays.csv", csv_text(en, inj, sep=";").encode(), "rejected", rows=4,
             located=((2, "formula-like"), (3, "formula-like"), (4, "formula-like"), (5, "formula-like"))))

    # -- not text at all ----------------------------------------------------------------------------
    add(Case("zero-bytes", "stays.csv", b"", "unusable", where="0 bytes"))
    add(Case("whitespace-only", "stays.csv", b" \r\n\t\r\n", "unusable", where="empty"))
    rnd = random.Random(7)
    add(Case("binary-random", "stays.csv", bytes(rnd.randrange(256) for _ in range(4096)), "unusable",
             where="binary"))
    add(Case("binary-no-nul", "stays.csv", bytes(rnd.randrange(1, 256) for _ in range(4096)), "unusable",
             where="binary"))
    add(Case("png-named-csv", "stays.csv", b"\x89PNG\r\n\x1a\n" + bytes(200), "unusable", where="binary"))
    add(Case("pdf-named-csv", "stays.csv", b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj\n", "unusable",
             where="PDF"))
    add(Case("gzip-named-csv", "stays.csv", _gzip(base.encode()), "unusable", where="compressed"))
    add(Case("xls-old-excel", "stays.xls", b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(504), "unusable",
             where=".xls"))
    add(Case("parquet-damaged", "stays.parquet", b"PAR1" + bytes(100) + b"PAR1", "unusable", where="Parquet"))
    add(Case("arrow-damaged", "stays.arrow", b"ARROW1\x00\x00" + bytes(100), "unusable", where="Arrow"))

    # -- Excel -----------------------------------------------------------------------------------
    xrows: list[list[object]] = [list(EN_HEADER), *[[*r[:6], int(r[6]), *r[7:]] for r in good]]
    xlsx = _xlsx(xrows)
    add(Case("xlsx-named-csv", "stays.csv", xlsx, "ok", rows=3, note="read by content, not by name"))
    serial: list[list[object]] = [list(EN_HEADER), [*gen_row_cells(1)[:4], 45659.4166666667, 45661.5,
                                                    *gen_row_cells(1)[6:]]]
    add(Case("xlsx-serial-number-dates", "stays.xlsx", _xlsx(serial), "ok", rows=1,
             located=((2, "excel-serial-date"),), note="dates as plain numbers, without a date format"))
    add(Case("csv-named-xlsx", "stays.xlsx", base.encode(), "ok", rows=3))
    add(Case("xlsx-truncated", "stays.xlsx", xlsx[: len(xlsx) // 2], "unusable", where="Excel"))
    add(Case("zip-not-xlsx", "stays.xlsx", _zip({"readme.txt": b"hello"}), "unusable", where="Excel"))
    add(Case("xlsx-empty-sheet", "stays.xlsx", _xlsx([]), "unusable", where="empty"))
    add(Case("xlsx-bomb-lying-sizes", "stays.xlsx", xlsx_bomb_lying(), "unusable", where="Excel",
             note="the zip directory claims a small sheet; the stream inflates to 64 MB"))
    add(Case("xlsx-entity-expansion", "stays.xlsx", _xlsx_with_sheet(_LAUGHS_SHEET), "unusable",
             where="Excel",
             note="'billion laughs' XML entities in the sheet"))
    add(Case("xlsx-broken-sheet-xml", "stays.xlsx",
             _xlsx_with_sheet(SHEET_HEAD + b"stay_id</t></is></c><row>"),
             "unusable", where="Excel"))
    add(Case("xlsx-lying-dimension", "stays.xlsx", _xlsx_with_sheet(_sheet_xml(
        [EN_HEADER, *(_row(i) for i in range(1, 301))], dimension="A1:XFD1048576")), "ok", rows=300,
        note="the sheet claims 16,384 columns: rows are not padded to it (that took 7 s per 2,000 rows)"))
    add(Case("xlsx-far-cell", "stays.xlsx", _xlsx_with_sheet(
        b'<?xml version="1.0"?><worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'
        b'<dimension ref="A1:XFD1048576"/><sheetData><row r="1"><c r="XFD1" t="inlineStr"><is><t>x</t></is>'
        b'</c></row><row r="1048576"><c r="A1048576" t="inlineStr"><is><t>y</t></is></c></row></sheetData>'
        b"</worksheet>"), "unusable", where="stay_id",
        note="a dimension of 16,384 x 1,048,576 cells and a header cell in column XFD: no padding to it"))
    return cases


def _gzip(data: bytes) -> bytes:
    import gzip

    return gzip.compress(data, mtime=0)


# -- hand-made zip files (for bombs: sizes chosen freely, content streamed) -----------------------------

def _zip(members: dict[str, bytes]) -> bytes:
    import zipfile

    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, data in members.items():
            zf.writestr(name, data)
    return buf.getvalue()


def _raw_zip(members: list[tuple[str, bytes, int, int]]) -> bytes:
    """A zip of already deflated members: (name, deflated bytes, crc32, declared uncompressed size)."""
    out = io.BytesIO()
    central = io.BytesIO()
    for name, data, crc, usize in members:
        nb = name.encode()
        offset = out.tell()
        out.write(struct.pack("<IHHHHHIIIHH", 0x04034B50, 20, 0, 8, 0, 0x5A21, crc, len(data), usize,
                              len(nb), 0) + nb)
        out.write(data)
        central.write(struct.pack("<IHHHHHHIIIHHHHHII", 0x02014B50, 20, 20, 0, 8, 0, 0x5A21, crc, len(data),
                                  usize, len(nb), 0, 0, 0, 0, 0, offset) + nb)
    cd = central.getvalue()
    start = out.tell()
    out.write(cd)
    out.write(struct.pack("<IHHHHIIH", 0x06054B50, 0, 0, len(members), len(members), len(cd), start, 0))
    return out.getvalue()


def _deflate(data: bytes) -> bytes:
    c = zlib.compressobj(9, zlib.DEFLATED, -15)
    return c.compress(data) + c.flush()


SHEET_HEAD = (b'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
              b'<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'
              b'<sheetData><row r="1"><c r="A1" t="inlineStr"><is><t>')
SHEET_TAIL = b"</t></is></c></row></sheetData></worksheet>"


def _repeated_deflate(head: bytes, unit: bytes, copies: int, tail: bytes) -> tuple[bytes, int, int]:
    """Deflate head + unit * copies + tail cheaply: with a full flush, every copy deflates alike."""
    c = zlib.compressobj(9, zlib.DEFLATED, -15)
    first = c.compress(head) + c.flush(zlib.Z_FULL_FLUSH)
    block = c.compress(unit) + c.flush(zlib.Z_FULL_FLUSH)
    last = c.compress(tail) + c.flush()
    crc = zlib.crc32(head)
    for _ in range(copies):
        crc = zlib.crc32(unit, crc)
    crc = zlib.crc32(tail, crc)
    size = len(head) + len(unit) * copies + len(tail)
    return first + block * copies + last, crc, size


def _xlsx_members_except_sheet() -> list[tuple[str, bytes, int, int]]:
    import zipfile

    src = zipfile.ZipFile(io.BytesIO(_xlsx([["stay_id"]], sheet="Sheet1")))
    out = []
    for info in src.infolist():
        if info.filename == "xl/worksheets/sheet1.xml":
            continue
        data = src.read(info)
        out.append((info.filename, _deflate(data), zlib.crc32(data), len(data)))
    return out


_LAUGHS_SHEET = (b'<?xml version="1.0"?>\n<!DOCTYPE worksheet [<!ENTITY a "lollollollollollollollollollol">'
                 + b"".join(f'<!ENTITY {c} "{("&" + p + ";") * 10}">'.encode()
                            for p, c in zip("abcdefgh", "bcdefghi", strict=True))
                 + b']>\n<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'
                 b'<sheetData>'
                 b'<row r="1"><c r="A1" t="inlineStr"><is><t>&i;</t></is></c></row></sheetData></worksheet>')


def _column_letter(i: int) -> str:
    name = ""
    i += 1
    while i:
        i, r = divmod(i - 1, 26)
        name = chr(65 + r) + name
    return name


def _sheet_xml(rows: list[list[str]], *, dimension: str | None = None) -> bytes:
    """Sheet XML with inline strings (as some EPR exporters write it)."""
    body = "".join(f'<row r="{r}">' + "".join(
        f'<c r="{_column_letter(c)}{r}" t="inlineStr"><is><t>{v}</t></is></c>' for c, v in enumerate(row))
        + "</row>" for r, row in enumerate(rows, start=1))
    dim = f'<dimension ref="{dimension}"/>' if dimension else ""
    ns = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
    return (f'<?xml version="1.0"?><worksheet xmlns="{ns}">'
            f"{dim}<sheetData>{body}</sheetData></worksheet>").encode()


def _xlsx_with_sheet(sheet_xml: bytes) -> bytes:
    """A workbook whose first sheet is the given XML."""
    return _raw_zip([*_xlsx_members_except_sheet(),
                     ("xl/worksheets/sheet1.xml", _deflate(sheet_xml), zlib.crc32(sheet_xml),
                      len(sheet_xml))])


def xlsx_bomb(inflated_bytes: int = 3 * 2**30 // 2) -> bytes:
    """An .xlsx whose one sheet inflates to ``inflated_bytes`` (a cell of 'A's); ~1 kB per MB."""
    unit = b"A" * 2**20
    copies = max(1, inflated_bytes // len(unit))
    data, crc, size = _repeated_deflate(SHEET_HEAD, unit, copies, SHEET_TAIL)
    return _raw_zip([*_xlsx_members_except_sheet(), ("xl/worksheets/sheet1.xml", data, crc, size)])


def xlsx_bomb_lying() -> bytes:
    """An .xlsx whose directory says the sheet is 10 kB while its stream inflates to 64 MB."""
    unit = b"A" * 2**20
    data, crc, _ = _repeated_deflate(SHEET_HEAD, unit, 64, SHEET_TAIL)
    return _raw_zip([*_xlsx_members_except_sheet(), ("xl/worksheets/sheet1.xml", data, crc, 10_000)])


# -- large text files, written lazily -----------------------------------------------------------------

def sparse_huge_value(path: Path, size: int = 2 * 2**30 + 17) -> Path:
    """A CSV whose second line is one quoted value of ~``size`` bytes.

    The first and last MiB are letters; the middle is a hole (sparse where the
    file system allows, so it takes no disk space), which reads as NUL bytes.
    """
    with path.open("wb") as fh:
        fh.write((",".join(EN_HEADER) + "\n" + 'S001,"').encode() + b"A" * 2**20)
        fh.seek(size - 2**20 - 2)
        fh.write(b"A" * 2**20 + b'"\n')
    return path


def long_line_csv(path: Path, value_bytes: int = 24 * 2**20) -> Path:
    """A CSV with one real (not sparse) value of ``value_bytes`` letters on line 3."""
    with path.open("wb") as fh:
        fh.write((",".join(EN_HEADER) + "\n" + ",".join(_row(1)) + "\n").encode())
        fh.write(b"S002,P002,U1,3301,02.01.2025 10:00,04.01.2025 12:00,84,2,somatic,gp,ja,home,")
        chunk = b"X" * 2**20
        for _ in range(value_bytes // len(chunk)):
            fh.write(chunk)
        fh.write(b"X" * (value_bytes % len(chunk)))
        fh.write(b"\n" + ",".join(_row(3)).encode() + b"\n")
    return path


def many_columns_csv(path: Path, columns: int = 1_000_000) -> Path:
    """A CSV with a header of ``columns`` column names and one short data line."""
    with path.open("wb") as fh:
        fh.write(",".join(EN_HEADER).encode())
        fh.write("".join(f",x{i}" for i in range(columns - len(EN_HEADER))).encode())
        fh.write(b"\n" + ",".join(_row(1)).encode() + b"\n")
    return path


# -- YAML (spec files) ----------------------------------------------------------------------------------

def yaml_cases() -> dict[str, bytes]:
    """Hostile YAML documents, for the safe loader and ``spec lint``: name -> file content."""
    laughs = ["a0: &a0 [lol, lol, lol, lol, lol, lol, lol, lol, lol]"]
    laughs += [f"a{i}: &a{i} [{', '.join([f'*a{i - 1}'] * 9)}]" for i in range(1, 10)]
    return {
        "deep-flow": ("x: " + "[" * 100_000 + "]" * 100_000 + "\n").encode(),
        "deep-block": "".join(" " * i + f"k{i}:\n" for i in range(200)).encode() + b" " * 200 + b"v: 1\n",
        "billion-laughs": ("\n".join(laughs) + "\n").encode(),
        "merge-key-alias": b"base: &b {x: 1}\nother:\n  <<: *b\n",
        "huge-integer": b"n: " + b"9" * 100_000 + b"\n",
        "impossible-date": b"date: 2025-02-31\n",
        "python-object": b"x: !!python/object/apply:os.system ['echo pwned']\n",
        "binary-nul": b"x: \x00\x01\x02\n",
        "not-utf8": "navn: Tr\u00f8ndelag\n".encode("cp1252"),
        "two-documents": b"a: 1\n---\nb: 2\n",
        "too-large": b"x: '" + b"a" * (6 * 2**20) + b"'\n",
        "unhashable-key": b"? [1, 2]\n: x\n",
    }


# -- writing --------------------------------------------------------------------------------------------

def write(cases: list[Case], folder: Path) -> dict[str, Path]:
    """Write each case to ``folder/<name>/<filename>``; return name -> path."""
    out = {}
    for c in cases:
        d = folder / c.name
        d.mkdir(parents=True, exist_ok=True)
        p = d / c.filename
        p.write_bytes(c.content)
        out[c.name] = p
    return out


def main(argv: list[str]) -> int:
    """Write the corpus to the folder given (``--large`` adds the large hostile files)."""
    if not argv or argv[0] in ("-h", "--help"):
        print(__doc__)
        return 2
    folder = Path(argv[0])
    cases = small_cases()
    write(cases, folder)
    if "--large" in argv:
        large: list[tuple[str, Callable[[Path], Path], str]] = [
            ("huge-value-2gb", sparse_huge_value, "stays.csv"),
            ("long-line-24mb", long_line_csv, "stays.csv"),
            ("million-columns", many_columns_csv, "stays.csv"),
        ]
        for name, fn, fname in large:
            (folder / name).mkdir(parents=True, exist_ok=True)
            fn(folder / name / fname)
        (folder / "xlsx-bomb").mkdir(exist_ok=True)
        (folder / "xlsx-bomb" / "stays.xlsx").write_bytes(xlsx_bomb())
    for name, data in yaml_cases().items():
        (folder / "yaml").mkdir(parents=True, exist_ok=True)
        (folder / "yaml" / f"{name}.yaml").write_bytes(data)
    manifest = [{"name": c.name, "file": f"{c.name}/{c.filename}", "table": c.table, "expect": c.expect,
                 "located": c.located, "rows": c.rows, "where": c.where, "note": c.note} for c in cases]
    (folder / "MANIFEST.json").write_text(json.dumps(manifest, indent=1, ensure_ascii=False),
                                          encoding="utf-8")
    print(f"{len(cases)} cases written to {folder}" + (" (with the large ones)" if "--large" in argv else ""),
          file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))

__all__ = ["AS_OF", "Case", "long_line_csv", "many_columns_csv", "small_cases", "sparse_huge_value", "write",
           "xlsx_bomb", "xlsx_bomb_lying", "yaml_cases"]
