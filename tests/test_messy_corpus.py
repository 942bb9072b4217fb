"""Every messy or hostile input is read or refused cleanly, by the library and by the CLI.

The corpus is generated (``tests/data/messy/generate.py``; synthetic data only).
For each case the library either reads it (rows read = accepted + rejected,
every rejected row has a located error) or raises :class:`kadindicators.InputError`
with a bilingual message naming the file; the CLI exits 0, 1 or 3 accordingly
and never prints a traceback. The large hostile files (a 2 GB value, a zip
bomb, a million columns, a 24 MB line) run in a subprocess, with a timeout,
and their peak memory is measured.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pyarrow.compute as pc
import pytest

import kadindicators as kad
from kadindicators import _yaml
from kadindicators.cli import main

from .data.messy import generate as gen

CASES = gen.small_cases()
EXIT = {"ok": 0, "rejected": 1, "unusable": 3}
SRC = Path(kad.__file__).resolve().parents[1]
MAX_RSS_MB = 600  # peak memory of a CLI run on a hostile file (an idle run takes ~150 MB)
TIMEOUT = 120  # seconds; a run normally takes 1-3 s


@pytest.fixture(scope="module")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    return gen.write(CASES, tmp_path_factory.mktemp("messy"))


@pytest.fixture(scope="module")
def clean_stays(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A valid stays file, for the cases that are a units or population table."""
    p = tmp_path_factory.mktemp("clean") / "stays.csv"
    p.write_bytes(gen.csv_text(gen.EN_HEADER, [gen._row(1)]).encode())
    return p


def _args(case: gen.Case, path: Path, clean_stays: Path) -> list[str]:
    if case.table == "stays":
        return ["--stays", str(path)]
    return ["--stays", str(clean_stays), f"--{case.table}", str(path)]


def _check_input_error(err: kad.InputError, path: Path, where: str) -> None:
    en, nb = err.message("en"), err.message("nb")
    assert str(path) in en and str(path) in nb, "the message names the file"
    assert en != nb, "the message is in Norwegian and in English"
    assert where in en


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_library_reads_or_refuses(case: gen.Case, corpus: dict[str, Path]) -> None:
    """validate() gives a report that accounts for every row, or a located bilingual InputError."""
    path = corpus[case.name]
    table: dict[str, Any] = {case.table: path}
    if case.expect == "unusable":
        with pytest.raises(kad.InputError) as info:
            kad.validate(**table, as_of=gen.AS_OF)
        _check_input_error(info.value, path, case.where)
        return
    report = kad.validate(**table, as_of=gen.AS_OF)
    s = report.summaries[case.table]
    assert s.rows_read == s.rows_valid + s.rows_rejected
    if case.rows is not None:
        assert s.rows_read == case.rows
    assert (s.rows_rejected > 0) == (case.expect == "rejected"), report.summary_text(lang="en")
    issues = report.issues.filter(pc.equal(report.issues["table"], case.table))
    found = {(r["row"], r["rule"]) for r in issues.to_pylist()}
    assert set(case.located) <= found, sorted(found, key=str)
    errors = issues.filter(pc.equal(issues["severity"], "error"))
    assert errors["row"].null_count == 0, "a rejecting error is located at its line"
    assert len(set(errors["row"].to_pylist())) == s.rows_rejected, "every rejected row has an error"
    for r in issues.to_pylist():
        assert r["message_nb"] and r["message_en"] and r["source"] == str(path)


@pytest.mark.parametrize("lang", ["nb", "en"])
def test_cli_exit_codes_and_messages(lang: str, corpus: dict[str, Path], clean_stays: Path,
                                     capsys: pytest.CaptureFixture[str]) -> None:
    """The CLI exits 0, 1 or 3 for every case, with one located message for unusable files."""
    wrong = []
    for case in CASES:
        path = corpus[case.name]
        code = main(["--lang", lang, "validate", *_args(case, path, clean_stays), "--as-of", gen.AS_OF])
        out, err = capsys.readouterr()
        if code != EXIT[case.expect]:
            wrong.append((case.name, code, err[-300:]))
            continue
        assert "Traceback" not in err + out
        if case.expect == "unusable":
            assert err.startswith("Feil: " if lang == "nb" else "Error: ") and str(path) in err
            assert len(err.strip().splitlines()) == 1
        else:
            assert re.search(r"\d+ (rad|rader) lest" if lang == "nb" else r"\d+ rows? read", out)
            # row-level personal data never appears in the report (patient ids are P001, P002 ...)
            assert "P00" not in out
    assert wrong == []


def _run_cli(args: list[str], rss_file: Path) -> tuple[int, str, str, float, int]:
    """``python -m kadindicators ARGS`` in a subprocess; returns code, stdout, stderr, seconds, peak MB."""
    # the peak of this process's own address space (VmHWM, kB): ru_maxrss would carry over the
    # peak of the forked pytest process across exec on Linux
    code = ("import runpy, sys\n"
            "sys.argv = ['kadindicators', *sys.argv[2:]]\n"
            "try:\n"
            "    runpy.run_module('kadindicators', run_name='__main__', alter_sys=True)\n"
            "finally:\n"
            "    hwm = [ln.split()[1] for ln in open('/proc/self/status') if ln.startswith('VmHWM:')]\n"
            f"    with open({str(rss_file)!r}, 'w') as fh:\n"
            "        fh.write(hwm[0] if hwm else '-1024')\n")
    env = {**os.environ, "PYTHONPATH": str(SRC) + os.pathsep + os.environ.get("PYTHONPATH", "")}
    t0 = time.monotonic()
    proc = subprocess.run([sys.executable, "-c", code, "--", *args], capture_output=True, text=True,
                          timeout=TIMEOUT, env=env, check=False)
    took = time.monotonic() - t0
    rss_mb = int(rss_file.read_text()) // 1024 if rss_file.exists() else -1
    return proc.returncode, proc.stdout, proc.stderr, took, rss_mb


def _large_files(folder: Path) -> dict[str, tuple[Path, str]]:
    """Name -> (file, text the English message must contain); made lazily, removed by tmp_path."""
    bomb = folder / "bomb.xlsx"
    bomb.write_bytes(gen.xlsx_bomb())
    return {
        "huge-value-2gb": (gen.sparse_huge_value(folder / "huge.csv"), "536,870,912"),
        "long-line-24mb": (gen.long_line_csv(folder / "long.csv"), "line 3"),
        "million-columns": (gen.many_columns_csv(folder / "wide.csv"), "1,000,000 columns"),
        "xlsx-bomb": (bomb, "zip bomb"),
    }


def test_large_hostile_files_are_refused_quickly_with_bounded_memory(tmp_path: Path) -> None:
    """A 2 GB value, a 1.5 GB zip bomb, a million columns, a 24 MB line: exit 3, bounded memory, no hang."""
    files = _large_files(tmp_path)
    assert files["huge-value-2gb"][0].stat().st_size > 2 * 2**30
    # the library refuses each with a located bilingual message
    for path, where in files.values():
        with pytest.raises(kad.InputError) as info:
            kad.validate(stays=path, as_of=gen.AS_OF)
        _check_input_error(info.value, path, where)
    # the CLI, in subprocesses (two at a time)
    jobs = {name: ["--lang", "en", "validate", "--stays", str(p)] for name, (p, _) in files.items()}
    with ThreadPoolExecutor(max_workers=2) as pool:
        runs = dict(zip(jobs, pool.map(lambda kv: _run_cli(kv[1], tmp_path / f"{kv[0]}.rss"),
                                       jobs.items()), strict=True))
    report = {}
    for name, (code, out, err, took, rss) in runs.items():
        report[name] = {"exit": code, "seconds": round(took, 1), "peak_mb": rss}
        assert code == 3, (name, err)
        assert "Traceback" not in err and err.startswith("Error: ") and files[name][1] in err
        assert 0 < rss < MAX_RSS_MB, (name, rss)
    print(json.dumps(report))


@pytest.mark.parametrize("name", sorted(gen.yaml_cases()))
def test_hostile_yaml_is_a_located_spec_error(name: str, tmp_path: Path) -> None:
    """Deep nesting, alias blow-ups, huge integers, impossible dates, non-UTF-8: SpecError with a line."""
    path = tmp_path / f"{name}.yaml"
    path.write_bytes(gen.yaml_cases()[name])
    t0 = time.monotonic()
    with pytest.raises(kad.SpecError) as info:
        _yaml.load(path)
    assert time.monotonic() - t0 < 5
    en, nb = info.value.message("en"), info.value.message("nb")
    assert en.startswith(str(path)) and nb.startswith(str(path)) and en != nb
    if name != "too-large":
        assert en.startswith(f"{path}:"), "the message names the line"
    with pytest.raises(kad.SpecError):
        _yaml.load_with_lines(path)


def test_hostile_yaml_through_spec_lint(tmp_path: Path) -> None:
    """``spec lint`` reports each hostile file as a located issue and exits 1, never a traceback."""
    args = []
    for name, data in gen.yaml_cases().items():
        path = tmp_path / f"{name}.yaml"
        path.write_bytes(data)
        args.append(str(path))
    code, out, err, _, rss = _run_cli(["--lang", "en", "spec", "lint", "--no-conformance", *args],
                                      tmp_path / "lint.rss")
    assert code == 1, err
    assert "Traceback" not in out + err
    for a in args:
        assert a in out
    assert 0 < rss < MAX_RSS_MB


def test_subset_of_corpus_through_real_subprocess(corpus: dict[str, Path], clean_stays: Path,
                                                  tmp_path: Path) -> None:
    """A real ``python -m kadindicators`` process agrees with the in-process runs (exit code, no trace)."""
    picked = ["mixed-line-endings", "unclosed-quote", "thousands-separators-population", "utf16le-no-bom"]
    cases = {c.name: c for c in CASES}
    jobs = {n: ["validate", *_args(cases[n], corpus[n], clean_stays), "--as-of", gen.AS_OF] for n in picked}
    with ThreadPoolExecutor(max_workers=2) as pool:
        runs = dict(zip(jobs, pool.map(lambda kv: _run_cli(kv[1], tmp_path / f"{kv[0]}.rss"),
                                       jobs.items()), strict=True))
    for name, (code, out, err, _, _) in runs.items():
        assert code == EXIT[cases[name].expect], (name, err)
        assert "Traceback" not in out + err
