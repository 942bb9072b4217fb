"""Output files stay in the output folder the user chose; names made from data cannot escape it.

- ``demo --out DIR`` writes only under ``DIR`` (nothing in the working folder
  or next to it), and every file it writes resolves inside ``DIR``;
- :func:`kadindicators.io.safe_filename` / :func:`~kadindicators.io.output_path`
  turn any value (a unit id such as ``../../etc/passwd``) into a name in the
  folder, distinct for distinct values;
- a static check: every f-string that builds a file name in ``src/`` uses
  only reviewed values or goes through a sanitiser, so a new
  ``out / f"{unit_id}.html"`` fails here until it uses ``safe_filename``.
"""

from __future__ import annotations

import ast
import re
import sys
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

import kadindicators as kad
from kadindicators.cli import main
from kadindicators.io import output_path, safe_filename

from .test_no_network import offline_demo

SRC = Path(kad.__file__).resolve().parent
SAFE_NAME = re.compile(r"^[A-Za-z0-9æøåÆØÅ_][A-Za-z0-9æøåÆØÅ._-]*$")

HOSTILE = ["../../etc/passwd", "..", ".", "", "-rf", "/abs/path", "C:\\Windows\\win.ini", "a\x00b", "CON",
           "nul.txt",
           "LPT1", " lead", "trail. ", ".hidden", "x" * 500, "U/1", "U_1", "U\\1", "é\u0301", "ø/å",
           "\u202etxt.exe", "a\nb", "~", "$HOME", "%APPDATA%", "*?<>|:\""]


def test_demo_writes_only_under_out() -> None:
    """Every file the demo writes is under --out; nothing lands in the working folder or beside it."""
    run = offline_demo()
    assert run["code"] == 0
    out: Path = run["out"].resolve()
    new = {p.resolve() for p in run["after"] - run["before"]}
    assert new, "the demo wrote files"
    outside = sorted(str(p) for p in new if p != run["work"].resolve() and not p.is_relative_to(out))
    assert outside == []
    for p in new:
        if p.is_file():
            assert p.resolve().is_relative_to(out)
            assert SAFE_NAME.match(p.name), p.name  # no odd characters in any file name written


@pytest.mark.parametrize("name", HOSTILE, ids=[repr(h)[:20] for h in HOSTILE])
def test_hostile_names_stay_in_the_folder(name: str, tmp_path: Path) -> None:
    """A hostile value becomes a plain file name inside the folder, and the file can be written there."""
    clean = safe_filename(name, suffix=".html")
    assert SAFE_NAME.match(clean), clean
    assert len(clean) <= 100 + len(".html")
    assert not re.match(r"(?i)^(con|prn|aux|nul|com\d|lpt\d)(\.|$)", clean)
    p = output_path(tmp_path, name, suffix=".html")
    assert p.parent == tmp_path and p.name == clean
    p.write_text("x", encoding="utf-8")
    assert sorted(x.name for x in tmp_path.iterdir()) == [clean]


@given(st.text(max_size=40), st.text(max_size=40))
def test_distinct_values_get_distinct_names(a: str, b: str) -> None:
    """Two different values never share a file (a changed name carries a hash of the original)."""
    if a != b:
        assert safe_filename(a) != safe_filename(b)
    assert safe_filename(a) == safe_filename(a)
    name = safe_filename(a)
    assert "/" not in name and "\\" not in name and name not in (".", "..")


def test_plain_ids_are_kept() -> None:
    """Ordinary unit ids and Norwegian names are used as they are."""
    for ok in ("VV-ASKER-LV", "KAD_1", "Bærum-KAD", "3301"):
        assert safe_filename(ok) == ok


def test_output_path_refuses_a_symlink_out_of_the_folder(tmp_path: Path) -> None:
    """A symbolic link in the folder pointing elsewhere is refused, not followed."""
    if sys.platform == "win32":  # pragma: no cover
        pytest.skip("symlinks need privileges on Windows")
    (tmp_path / "elsewhere").mkdir()
    folder = tmp_path / "out"
    folder.mkdir()
    (folder / "U1.html").symlink_to(tmp_path / "elsewhere" / "U1.html")
    with pytest.raises(kad.InputError, match="outside"):
        output_path(folder, "U1", suffix=".html")


def test_cli_outputs_go_where_asked(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """--issues, --rejected and -o write exactly the files named, creating missing folders."""
    region = kad.synth.generate(years=(2024,), seed=5, scale=0.1)
    paths = kad.synth.write(region, tmp_path / "in")
    out = tmp_path / "results" / "deep"
    before = set(tmp_path.rglob("*"))
    main(["validate", "--stays", str(paths["stays.csv"]), "--issues", str(out / "issues.csv"),
          "--rejected", str(out / "rejected.csv")])
    main(["compute", "--stays", str(paths["stays.parquet"]), "--units", str(paths["units.parquet"]),
          "-o", str(out / "r.parquet")])
    capsys.readouterr()
    new_files = {p for p in set(tmp_path.rglob("*")) - before if p.is_file()}
    assert new_files == {out / "issues.csv", out / "rejected.csv", out / "r.parquet"}


# -- static check: file names built with f-strings ------------------------------------------------------

SANITISERS = {"safe_filename", "output_path", "_safe_name"}
# (module, expression) pairs reviewed as not coming from data: constants, code-list ids, CLI choices
REVIEWED = {
    ("cli/demo.py", "lang"),  # --lang is nb or en (argparse choices)
    ("spec/loader.py", "name"), ("spec/loader.py", "table.name"),  # schema table names from spec/
    ("synth.py", "name"), ("synth.py", "fmt"),  # table names and formats: fixed tuples
    ("synth.py", "region.replace('-', '_')"),  # region names shipped with the package
    ("indicators/_standard.py", "standard_id"),  # checked against the shipped standards first
    ("spec/scaffold.py", "indicator_id"), ("spec/scaffold.py", "case"),  # id/case patterns + _inside()
    ("spec/indicators.py", "path"), ("spec/indicators.py", "spec.id"),  # message text only
    ("spec/lint.py", "spec.id"),  # message text only
}
FILE_EXT = re.compile(r"\.(html?|csv|xlsx|json|txt|parquet|arrow|feather|ya?ml|xml|svg|png|pdf|zip)$")
PATH_CALLS = {"Path", "PurePath", "joinpath", "with_name", "with_stem", "open", "write_text", "write_bytes",
              "mkdir", "output_path"}


def _file_name_fstrings(tree: ast.AST) -> list[ast.JoinedStr]:
    found: list[ast.JoinedStr] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.JoinedStr) and node.values:
            last = node.values[-1]
            if isinstance(last, ast.Constant) and FILE_EXT.search(str(last.value)):
                found.append(node)
        elif (isinstance(node, ast.BinOp) and isinstance(node.op, ast.Div)
              and isinstance(node.right, ast.JoinedStr)):
            found.append(node.right)
        elif isinstance(node, ast.Call):
            f = node.func
            called = f.id if isinstance(f, ast.Name) else f.attr if isinstance(f, ast.Attribute) else ""
            if called in PATH_CALLS:
                found += [a for a in node.args if isinstance(a, ast.JoinedStr)]
    return found


def _sanitised(expr: ast.expr) -> bool:
    if isinstance(expr, ast.Call):
        f = expr.func
        called = f.id if isinstance(f, ast.Name) else f.attr if isinstance(f, ast.Attribute) else ""
        return called in SANITISERS
    return False


def test_file_names_from_fstrings_are_reviewed_or_sanitised() -> None:
    """Every value interpolated into a file name is reviewed (not from data) or goes through safe_filename."""
    unreviewed = []
    for path in sorted(SRC.rglob("*.py")):
        module = path.relative_to(SRC).as_posix()
        for js in _file_name_fstrings(ast.parse(path.read_text(encoding="utf-8"))):
            for v in js.values:
                if isinstance(v, ast.FormattedValue) and not _sanitised(v.value):
                    expr = ast.unparse(v.value)
                    if (module, expr) not in REVIEWED:
                        unreviewed.append(f"{module}:{js.lineno}: {{{expr}}} in {ast.unparse(js)}")
    assert unreviewed == [], ("file names built from values that may come from data: use "
                              "kadindicators.io.safe_filename/output_path, or add a reviewed entry here")
