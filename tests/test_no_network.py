"""No network access anywhere, and no code execution from input: the whole chain runs with sockets blocked.

Every way Python code reaches the network (``socket.connect``, ``getaddrinfo``,
``create_connection`` …) is replaced by a function that records the attempt
and raises; the demo chain, ``validate``, ``compute`` and ``spec lint`` must
all succeed and no attempt may be recorded (an attempt swallowed by a
``try``/``except`` still fails the test). An audit hook also records
``socket.*``, ``exec``/``compile``, ``pickle`` and ``subprocess`` events while
hostile files are validated: reading data never runs code.
"""

from __future__ import annotations

import functools
import socket
import sys
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

import kadindicators as kad
from kadindicators import _yaml
from kadindicators.cli import main

from .data.messy import generate as gen

BLOCKED = {
    socket: ("getaddrinfo", "gethostbyname", "gethostbyname_ex", "gethostbyaddr", "create_connection",
             "create_server", "socketpair"),
    socket.socket: ("connect", "connect_ex", "bind", "listen", "send", "sendto", "sendall", "sendmsg"),
}


_INHERITED = object()


class NetworkAttempt(OSError):
    """Raised by the blocked socket functions."""


@contextmanager
def sockets_blocked() -> Iterator[list[str]]:
    """Replace every socket entry point with one that records the call and raises; yield the records."""
    attempts: list[str] = []
    saved: list[tuple[Any, str, Any]] = []  # (owner, name, own attribute or _INHERITED)

    def refuse(name: str) -> Callable[..., Any]:
        def blocked(*args: Any, **kwargs: Any) -> Any:
            attempts.append(f"{name}{args[1:3] if name.startswith('socket.') else args[:2]}")
            raise NetworkAttempt(f"network access is blocked in this test: {name}")
        return blocked

    try:
        for owner, names in BLOCKED.items():
            for name in names:
                if hasattr(owner, name):
                    saved.append((owner, name, vars(owner).get(name, _INHERITED)))
                    qual = f"socket.{name}" if owner is socket.socket else name
                    setattr(owner, name, refuse(qual))
        yield attempts
    finally:
        for owner, name, original in reversed(saved):
            if original is _INHERITED:
                delattr(owner, name)
            else:
                setattr(owner, name, original)


# -- audit events (an audit hook cannot be removed: it only records while a run is active) ------------

_WATCHED = ("socket.", "exec", "compile", "pickle.", "marshal.loads", "subprocess.", "os.system", "os.exec",
            "os.posix_spawn", "os.spawn", "urllib.", "http.", "ftplib.", "smtplib.", "webbrowser.")
_events: list[str] | None = None


def _hook(event: str, args: tuple[Any, ...]) -> None:
    if _events is not None and event.startswith(_WATCHED):
        _events.append(event)


sys.addaudithook(_hook)


@contextmanager
def audited() -> Iterator[list[str]]:
    global _events
    _events = []
    try:
        yield _events
    finally:
        _events = None


# -- the demo chain, offline; run once and shared with test_output_paths ---------------------------------

@functools.cache
def offline_demo() -> dict[str, Any]:
    """Run ``demo`` in an empty working folder with sockets blocked; return what happened.

    Keys: ``code`` (exit code), ``attempts`` (network calls), ``out`` (the --out
    folder), ``work`` (the working folder, which holds ``out``), ``before`` and
    ``after`` (every file under the temporary root, before and after).
    """
    import atexit
    import os
    import shutil

    root = Path(tempfile.mkdtemp(prefix="kad-offline-"))
    atexit.register(shutil.rmtree, root, ignore_errors=True)  # shared by two modules: removed at exit
    work = root / "work"
    work.mkdir()
    out = work / "out"
    before = {p for p in root.rglob("*")}
    cwd = os.getcwd()
    os.chdir(work)  # anything written relative to the working folder shows up in the listing
    try:
        with sockets_blocked() as attempts:
            code = main(["--lang", "en", "demo", "--years", "2024", "--out", str(out)])
    finally:
        os.chdir(cwd)
    after = {p for p in root.rglob("*")}
    return {"code": code, "attempts": list(attempts), "out": out, "work": work, "root": root,
            "before": before, "after": after}


def test_blocking_works() -> None:
    """The blocker itself: a connection attempt is recorded and refused."""
    with sockets_blocked() as attempts:
        with pytest.raises(NetworkAttempt):
            socket.create_connection(("example.invalid", 80), timeout=1)
        with pytest.raises(NetworkAttempt), socket.socket() as s:
            s.connect(("127.0.0.1", 9))
    assert len(attempts) == 2
    assert "connect" not in vars(socket.socket) and "blocked" not in repr(socket.getaddrinfo)


def test_demo_chain_runs_offline(capsys: pytest.CaptureFixture[str]) -> None:
    """``kadindicators demo`` completes with every socket blocked and makes no network call."""
    run = offline_demo()
    err = capsys.readouterr().err
    assert run["attempts"] == []
    assert run["code"] == 0, err
    assert (run["out"] / "reports" / "indicators.parquet").is_file()


def test_validate_compute_and_lint_run_offline(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """The CLI's validate, compute and spec lint, and the library calls, make no network call."""
    region = kad.synth.generate(years=(2024,), seed=3, scale=0.2)
    paths = kad.synth.write(region, tmp_path / "data")
    stays = kad.synth.write_norwegian_csv(region.stays, tmp_path / "data" / "opphold.csv", table_name="stays")
    with sockets_blocked() as attempts:
        codes = [
            main(["validate", "--stays", str(stays), "--units", str(paths["units.csv"]),
                  "--population", str(paths["population.csv"]), "--issues", str(tmp_path / "issues.csv")]),
            main(["compute", "--stays", str(paths["stays.parquet"]), "--units", str(paths["units.parquet"]),
                  "--population", str(paths["population.parquet"]), "-o", str(tmp_path / "r.csv")]),
            main(["spec", "lint", "--no-conformance"]),
        ]
        report = kad.validate(stays=stays, units=paths["units.csv"])
        kad.compute(stays=report.valid, units=report.tables["units"])
        kad.catalogue()
    out = capsys.readouterr()
    assert attempts == []
    assert codes[0] in (0, 1) and codes[1] == 0, out.err
    assert codes[2] in (0, 1), out.err  # 1 would be a spec problem, not a network one
    assert "Traceback" not in out.err


def test_reading_hostile_files_runs_no_code(tmp_path: Path) -> None:
    """Validating the messy corpus and hostile YAML raises no exec/compile/pickle/socket/subprocess event."""
    paths = gen.write(gen.small_cases(), tmp_path)
    yaml_files = []
    for name, data in gen.yaml_cases().items():
        p = tmp_path / f"{name}.yaml"
        p.write_bytes(data)
        yaml_files.append(p)

    def read_all() -> None:
        for case in gen.small_cases():
            table: dict[str, Any] = {case.table: paths[case.name]}
            try:
                kad.validate(**table, as_of=gen.AS_OF)
            except kad.InputError:
                pass
        for p in yaml_files:
            try:
                _yaml.load(p)
            except kad.SpecError:
                pass

    read_all()  # once to import whatever is imported lazily (imports run module code)
    with audited() as events:
        read_all()
    assert sorted(set(events)) == []
