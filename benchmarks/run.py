"""Benchmark kadindicators against pyarrow's CSV reader, DuckDB, polars and pandas.

    python benchmarks/run.py --sizes 1e4,1e5,1e6

For each size (number of stays) it makes synthetic data with
``kadindicators.synth`` (2024-2025, Vestre Viken), writes it as Arrow IPC,
Parquet and plain CSV, and measures, each step in a fresh Python process (so
peak memory, ``ru_maxrss``, belongs to that step alone):

* ``validate`` on the Parquet file and on the CSV file (rows per second, peak
  RSS over the stays' Arrow size), and ``pyarrow.csv.read_csv`` on the same CSV;
* ``compute`` of the whole adopted catalogue by unit × year and by
  municipality × year (wall time, peak RSS over the input's Arrow size);
* five core indicators (KAD-Q01, -U01, -U03, -U04, -Q02) in the library, in
  DuckDB SQL, in polars and in pandas (``benchmarks/peers.py``), with every
  numerator and denominator asserted equal to the library's;
* CLI start-up: ``kadindicators --help`` and ``kadindicators validate`` on a
  1,000-row CSV, end to end (median of several runs).

Results go to ``benchmarks/results/latest.md`` and ``latest.json``. Not part of
the test suite. Every tool runs with its defaults (see ``threads`` in the JSON).
"""

from __future__ import annotations

import argparse
import datetime as dt
import itertools
import json
import math
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
SRC = REPO / "src"
YEARS = (2024, 2025)
AS_OF = "2026-01-01"  # local midnight after the last synthetic year: closes the window for everyone
VALIDATE_AS_OF = "2026-01-02"
TILE_ROWS = 1_000_000  # sizes above --tile-above are this many generated stays, tiled


# -- helpers shared by the parent and the steps ----------------------------------------------------

def _env() -> dict[str, str]:
    """The environment of every child: the source tree benchmarked (default: this checkout's ``src``)."""
    env = dict(os.environ)
    src = os.environ.get("KADINDICATORS_BENCH_SRC") or (str(SRC) if SRC.is_dir() else "")
    env["PYTHONPATH"] = os.pathsep.join(x for x in (src, str(HERE), env.get("PYTHONPATH", "")) if x)
    return env


def _rss_now() -> int:
    """Current resident set size in bytes (Linux /proc; else the peak so far)."""
    try:
        with open("/proc/self/statm") as fh:
            return int(fh.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except OSError:  # pragma: no cover - not Linux
        return _rss_peak()


def _rss_peak() -> int:
    import resource

    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return int(peak if sys.platform == "darwin" else peak * 1024)


def _as_of() -> dt.datetime:
    from zoneinfo import ZoneInfo

    return dt.datetime.combine(dt.date.fromisoformat(AS_OF), dt.time(), ZoneInfo("Europe/Oslo"))


def _read_arrow(path: Path) -> Any:
    import pyarrow as pa

    with pa.OSFile(str(path), "rb") as fh:  # read into memory (not memory-mapped): RSS counts it
        return pa.ipc.open_file(fh).read_all()


def _tables(folder: Path) -> dict[str, Any]:
    return {name: _read_arrow(folder / f"{name}.arrow") for name in ("stays", "units", "population")}


# -- steps (each runs in its own process: python run.py --step NAME --data DIR) -------------------

def step_prepare(folder: Path, n: int, seed: int, tile_above: int) -> dict[str, Any]:
    """Generate the data for one size and write it as Arrow IPC, Parquet and CSV."""
    import pyarrow as pa
    import pyarrow.compute as pc
    import pyarrow.parquet as pq

    import kadindicators as kad

    t0 = time.perf_counter()
    if n > tile_above:
        tiles = math.ceil(n / TILE_ROWS)
        base = kad.synth.generate(years=YEARS, seed=seed, n_stays=math.ceil(n / tiles))
        parts = []
        for k in range(tiles):  # a copy per tile, with its own stay and patient ids
            t = base.stays
            for col in ("stay_id", "patient_id"):
                i = t.schema.get_field_index(col)
                t = t.set_column(i, t.schema.field(i), pc.binary_join_element_wise(f"t{k}-", t[col], ""))
            parts.append(t)
        stays = pa.concat_tables(parts).slice(0, n).combine_chunks()
        region = kad.synth.SyntheticRegion(stays=stays, units=base.units, population=base.population,
                                           region=base.region, years=base.years, seed=base.seed)
        how = f"{tiles} tiles of {base.stays.num_rows:,} generated stays, ids prefixed per tile"
    else:
        region = kad.synth.generate(years=YEARS, seed=seed, n_stays=n)
        how = "generated"
    t_gen = time.perf_counter() - t0
    folder.mkdir(parents=True, exist_ok=True)
    for name in ("stays", "units", "population"):
        table = getattr(region, name)
        with pa.OSFile(str(folder / f"{name}.arrow"), "wb") as fh, \
                pa.ipc.new_file(fh, table.schema) as w:
            w.write_table(table)
        pq.write_table(table, folder / f"{name}.parquet")
    # plain CSV as kadindicators.synth.write makes it, in slices (bounded memory)
    csv_path = folder / "stays.csv"
    step = 500_000
    with tempfile.TemporaryDirectory() as tmp, csv_path.open("wb") as out:
        for start in range(0, max(n, 1), step):
            part = kad.synth.SyntheticRegion(stays=region.stays.slice(start, step), units=region.units,
                                             population=region.population, region=region.region,
                                             years=region.years, seed=region.seed)
            written = kad.synth.write(part, tmp, formats=("csv",))
            data = written["stays.csv"].read_bytes()
            out.write(data if start == 0 else data[data.index(b"\n") + 1:])
    return {
        "rows": region.stays.num_rows, "how": how, "generate_s": t_gen,
        "arrow_bytes": {name: getattr(region, name).nbytes for name in ("stays", "units", "population")},
        "file_bytes": {p.name: p.stat().st_size for p in folder.iterdir() if p.is_file()},
        "seed": seed, "years": list(YEARS),
    }


def _warm_validate() -> None:
    """Load the specs, code lists and readers once (one-off costs, measured by the CLI start-up instead)."""
    import pyarrow.csv
    import pyarrow.parquet  # noqa: F401

    import kadindicators as kad

    kad.validate(stays={"stay_id": ["w"], "patient_id": ["p"], "unit_id": ["u"], "admitted_at": ["2024-01-01 10:00"],
                        "age": ["80"], "sex": ["2"], "care_track": ["somatic"]}, as_of=dt.date(2026, 1, 1))


def step_validate(folder: Path, fmt: str) -> dict[str, Any]:
    import kadindicators as kad

    _warm_validate()
    rss0 = _rss_now()
    c0, t0 = time.process_time(), time.perf_counter()
    report = kad.validate(stays=folder / f"stays.{fmt}", units=folder / "units.parquet",
                          population=folder / "population.parquet", as_of=dt.date.fromisoformat(VALIDATE_AS_OF))
    wall, cpu = time.perf_counter() - t0, time.process_time() - c0
    s = report.summaries["stays"]
    return {"wall_s": wall, "cpu_s": cpu, "rss_before_data": rss0, "peak_rss": _rss_peak(), "rows": s.rows_read,
            "rows_rejected": s.rows_rejected, "issues": report.issues.num_rows}


def step_pyarrow_csv(folder: Path) -> dict[str, Any]:
    import pyarrow.csv as pacsv

    rss0 = _rss_now()
    c0, t0 = time.process_time(), time.perf_counter()
    table = pacsv.read_csv(folder / "stays.csv")  # defaults: threads, type inference
    wall, cpu = time.perf_counter() - t0, time.process_time() - c0
    return {"wall_s": wall, "cpu_s": cpu, "rss_before_data": rss0, "peak_rss": _rss_peak(), "rows": table.num_rows}


def _warm_compute(by: str) -> int:
    """Load the libraries, specs and SciPy on 1,000 synthetic stays; returns the RSS before that."""
    import kadindicators as kad

    rss = _rss_now()
    region = kad.synth.generate(years=YEARS, seed=99, n_stays=1000)
    kad.compute(stays=region.stays, units=region.units, population=region.population, by=(by,),
                period="year", as_of=_as_of())
    del region
    return rss


def step_compute(folder: Path, by: str) -> dict[str, Any]:
    import kadindicators as kad

    as_of = _as_of()
    rss_start = _warm_compute(by)  # the libraries' own memory is not the computation's
    rss0 = _rss_now()
    tables = _tables(folder)
    small = {**tables, "stays": tables["stays"].slice(0, 1000)}
    kad.compute(**small, by=(by,), period="year", as_of=as_of)  # warm on the data's own units
    rss1 = _rss_now()
    c0, t0 = time.process_time(), time.perf_counter()
    res = kad.compute(**tables, by=(by,), period="year", as_of=as_of)
    wall, cpu = time.perf_counter() - t0, time.process_time() - c0
    return {"wall_s": wall, "cpu_s": cpu, "rss_start": rss_start, "rss_before_data": rss0, "rss_after_load": rss1,
            "peak_rss": _rss_peak(), "input_bytes": sum(t.nbytes for t in tables.values()),
            "result_rows": res.num_rows, "indicators": sorted(set(res["indicator_id"].to_pylist()))}


def step_core(folder: Path, impl: str, out: Path) -> dict[str, Any]:
    import peers
    import pyarrow as pa
    import pyarrow.parquet as pq

    as_of = _as_of()
    threads: dict[str, Any] = {"pyarrow": pa.cpu_count()}
    rss0 = _rss_now()
    tables = _tables(folder)
    if impl == "kadindicators":
        small = {**tables, "stays": tables["stays"].slice(0, 1000)}
        peers.ours_run(small, as_of)  # warm: specs, scipy
        state: Any = tables
        run = peers.ours_run
    else:
        setup, run = peers.PEERS[impl]
        state = setup(tables, peers.municipality_codes(), as_of)  # load into the tool (not timed)
        del tables
        if impl == "duckdb":
            threads["duckdb"] = state.sql("SELECT current_setting('threads')").fetchall()[0][0]
        elif impl == "polars":
            import polars as pl

            threads["polars"] = pl.thread_pool_size()
    rss1 = _rss_now()
    c0, t0 = time.process_time(), time.perf_counter()
    result = run(state, as_of)
    wall, cpu = time.perf_counter() - t0, time.process_time() - c0
    peak = _rss_peak()
    out.mkdir(parents=True, exist_ok=True)
    for iid, t in result.items():
        pq.write_table(t, out / f"{impl}-{iid}.parquet")
    return {"wall_s": wall, "cpu_s": cpu, "rss_before_data": rss0, "rss_after_load": rss1, "peak_rss": peak,
            "threads": threads, "result_rows": peers.total_rows(result)}


def step_main(args: argparse.Namespace) -> None:
    folder = Path(args.data)
    if args.step == "prepare":
        res = step_prepare(folder, args.n, args.seed, args.tile_above)
    elif args.step in ("validate-parquet", "validate-csv"):
        res = step_validate(folder, args.step.split("-")[1])
    elif args.step == "pyarrow-csv":
        res = step_pyarrow_csv(folder)
    elif args.step in ("compute-unit_id", "compute-municipality"):
        res = step_compute(folder, args.step.split("-", 1)[1])
    elif args.step.startswith("core-"):
        res = step_core(folder, args.step.split("-", 1)[1], Path(args.out))
    else:
        raise SystemExit(f"unknown step {args.step}")
    print("RESULT " + json.dumps(res, default=str))


# -- the parent: runs the steps, compares, writes the report -------------------------------------

def run_step(step: str, folder: Path, *extra: str, timeout: float | None = None) -> dict[str, Any]:
    cmd = [sys.executable, str(Path(__file__).resolve()), "--step", step, "--data", str(folder), *extra]
    t0 = time.perf_counter()
    proc = subprocess.run(cmd, check=False, capture_output=True, text=True, env=_env(), timeout=timeout)
    if proc.returncode != 0:
        return {"error": (proc.stderr.strip().splitlines() or ["?"])[-1], "returncode": proc.returncode}
    line = [x for x in proc.stdout.splitlines() if x.startswith("RESULT ")][-1]
    res = json.loads(line[len("RESULT "):])
    res["process_s"] = time.perf_counter() - t0
    return dict(res)


def best_of(step: str, folder: Path, repeat: int, *extra: str) -> dict[str, Any]:
    """Run a step ``repeat`` times, each in a fresh process; keep the run with the median time."""
    runs = [run_step(step, folder, *extra) for _ in range(repeat)]
    ok = [r for r in runs if "error" not in r]
    if not ok:
        return runs[0]
    ok.sort(key=lambda r: r["wall_s"])
    med = ok[len(ok) // 2]
    med["all_wall_s"] = [r["wall_s"] for r in ok]
    return med


def cli_times(runs: int, csv_path: Path) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for name, argv in (("help", ["--help"]),
                       ("validate_1000_rows", ["validate", "--stays", str(csv_path)])):
        times, codes = [], set()
        for _ in range(runs):
            t0 = time.perf_counter()
            proc = subprocess.run([sys.executable, "-m", "kadindicators", *argv], check=False,
                                  capture_output=True, env=_env())
            times.append(time.perf_counter() - t0)
            codes.add(proc.returncode)
        out[name] = {"median_s": statistics.median(times), "min_s": min(times), "runs": times,
                     "exit_codes": sorted(codes), "argv": ["kadindicators", *argv]}
    return out


def make_cli_csv(folder: Path) -> Path:
    code = ("import kadindicators as kad, sys; r = kad.synth.generate(years=(2025,), seed=2, n_stays=1000); "
            "kad.synth.write_norwegian_csv(r.stays, sys.argv[1], table_name='stays', norwegian_headers=True)")
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "opphold-1000.csv"
    subprocess.run([sys.executable, "-c", code, str(path)], check=True, env=_env())
    return path


def machine() -> dict[str, Any]:
    info: dict[str, Any] = {"cpu_count": os.cpu_count(), "platform": platform.platform(),
                            "python": platform.python_version()}
    try:
        with open("/proc/cpuinfo") as fh:
            models = [ln.split(":", 1)[1].strip() for ln in fh if ln.startswith("model name")]
        info["cpu_model"] = models[0] if models else platform.processor()
    except OSError:  # pragma: no cover
        info["cpu_model"] = platform.processor()
    try:
        with open("/proc/meminfo") as fh:
            kb = int(next(ln for ln in fh if ln.startswith("MemTotal")).split()[1])
        info["ram_gb"] = round(kb / 1024**2, 1)
    except (OSError, StopIteration):  # pragma: no cover
        info["ram_gb"] = None
    try:
        info["load_average_at_start"] = os.getloadavg()
    except OSError:  # pragma: no cover
        pass
    code = ("import json, pyarrow, numpy, kadindicators as k; v = {'pyarrow': pyarrow.__version__, "
            "'numpy': numpy.__version__, 'kadindicators': k.__version__}\n"
            "for m in ('duckdb', 'polars', 'pandas'):\n"
            "    try: v[m] = __import__(m).__version__\n"
            "    except ImportError: v[m] = None\n"
            "print(json.dumps(v))")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=_env(), check=True)
    info["versions"] = json.loads(proc.stdout)
    return info


def parse_sizes(text: str) -> list[int]:
    return [int(float(x)) for x in text.split(",") if x.strip()]


def run_size(n: int, args: argparse.Namespace, work: Path) -> dict[str, Any]:
    folder = work / f"n{n}"
    meta_path = folder / "meta.json"
    meta = json.loads(meta_path.read_text()) if meta_path.exists() and not args.fresh else None
    if not meta or meta.get("rows") != n or meta.get("seed") != args.seed:
        print(f"[{n:,}] preparing data", flush=True)
        meta = run_step("prepare", folder, "--n", str(n), "--seed", str(args.seed),
                        "--tile-above", str(args.tile_above))
        if "error" in meta:
            raise SystemExit(f"preparing {n} stays failed: {meta['error']}")
        meta_path.write_text(json.dumps(meta))
    res: dict[str, Any] = {"data": meta}
    stays_bytes = meta["arrow_bytes"]["stays"]
    input_bytes = sum(meta["arrow_bytes"].values())
    r = args.repeat
    for step in ("validate-parquet", "validate-csv", "pyarrow-csv"):
        if step in ("validate-csv", "pyarrow-csv") and n > args.csv_max:
            res[step] = {"skipped": f"above --csv-max {args.csv_max:,.0f}"}
            continue
        print(f"[{n:,}] {step}", flush=True)
        x = best_of(step, folder, r)
        if "wall_s" in x:
            x["rows_per_s"] = x["rows"] / x["wall_s"]
            x["peak_over_input"] = (x["peak_rss"] - x["rss_before_data"]) / stays_bytes
        res[step] = x
    for by in ("unit_id", "municipality"):
        print(f"[{n:,}] compute by {by}", flush=True)
        x = best_of(f"compute-{by}", folder, r)
        if "wall_s" in x:
            x["peak_over_input"] = (x["peak_rss"] - x["rss_before_data"]) / input_bytes
            x["peak_over_input_with_libraries"] = (x["peak_rss"] - x["rss_start"]) / input_bytes
            x["extra_over_input"] = (x["peak_rss"] - x["rss_after_load"]) / input_bytes
        res[f"compute-{by}"] = x
    peers_ok = args.peers_max is None or n <= args.peers_max
    impls = ["kadindicators", *[p for p in ("duckdb", "polars", "pandas") if p not in args.skip and peers_ok]]
    out = folder / "core-results"
    core: dict[str, Any] = {}
    for impl in impls:
        print(f"[{n:,}] core indicators: {impl}", flush=True)
        core[impl] = best_of(f"core-{impl}", folder, r, "--out", str(out))
    res["core"] = core
    res["core_equal"] = compare_core(out, impls) if "error" not in core["kadindicators"] else {}
    return res


def compare_core(out: Path, impls: list[str]) -> dict[str, Any]:
    import pyarrow.parquet as pq

    sys.path.insert(0, str(HERE))
    import peers

    def load(impl: str) -> dict[str, Any]:
        return {iid: pq.read_table(out / f"{impl}-{iid}.parquet") for iid in peers.CORE}

    ours = load("kadindicators")
    result: dict[str, Any] = {}
    for impl in impls[1:]:
        try:
            problems = peers.compare(ours, load(impl))
        except FileNotFoundError as exc:
            problems = [f"no result: {exc}"]
        result[impl] = {"equal": not problems, "problems": problems,
                        "rows_compared": peers.total_rows(ours)}
    return result


# -- report ---------------------------------------------------------------------------------------

def _f(x: float | None, digits: int = 2) -> str:
    if x is None or (isinstance(x, float) and not math.isfinite(x)):
        return "–"
    if abs(x) >= 100:
        return f"{x:,.0f}"
    return f"{x:.{digits}f}"


def _rate(x: float | None) -> str:
    return "–" if x is None else f"{x / 1e6:.2f} M" if x >= 1e6 else f"{x / 1e3:,.0f} k"


def _get(d: dict[str, Any], *keys: str) -> Any:
    for k in keys:
        if not isinstance(d, dict) or k not in d:
            return None
        d = d[k]
    return d


def targets(sizes: dict[int, dict[str, Any]], cli: dict[str, Any]) -> list[dict[str, Any]]:
    """Each target of issue 6, measured: met / missed / not measured, with the numbers."""
    out: list[dict[str, Any]] = []
    ns = sorted(sizes)

    def add(target: str, n: int | None, value: str, met: bool | None) -> None:
        out.append({"target": target, "size": n, "value": value,
                    "status": "not measured" if met is None else "met" if met else "missed"})

    for n in [x for x in ns if x >= 10**6]:
        s = sizes[n]
        ours = _get(s, "core", "kadindicators", "wall_s")
        for peer, rule in (("duckdb", 1.5), ("pandas", 1.0)):
            theirs = _get(s, "core", peer, "wall_s")
            ratio = ours / theirs if ours and theirs else None
            label = ("compute ≤ 1.5× DuckDB" if peer == "duckdb" else "compute faster than pandas")
            add(label, n, f"ours/{peer} = {_f(ratio)}", None if ratio is None else ratio <= rule
                if peer == "duckdb" else ratio < 1)
        for by in ("unit_id", "municipality"):
            ratio = _get(s, f"compute-{by}", "peak_over_input")
            add(f"compute peak RSS ≤ 3× input Arrow ({by})", n, f"{_f(ratio)}×",
                None if ratio is None else ratio <= 3)
        rate = _get(s, "validate-parquet", "rows_per_s")
        add("validate Parquet ≥ 1 M rows/s (target at 10^7)", n, _rate(rate), None if rate is None else rate >= 1e6)
        a, b = _get(s, "validate-csv", "wall_s"), _get(s, "pyarrow-csv", "wall_s")
        ratio = a / b if a and b else None
        add("validate CSV within 2× pyarrow.csv.read_csv", n, f"{_f(ratio)}×", None if ratio is None else ratio <= 2)
    for small, big in itertools.pairwise(ns):
        if big != 10 * small or small < 10**5:
            continue
        for by in ("unit_id", "municipality"):
            a, b = _get(sizes[small], f"compute-{by}", "wall_s"), _get(sizes[big], f"compute-{by}", "wall_s")
            ratio = b / a if a and b else None
            add(f"compute grows linearly ({by}: 10× rows ⇒ ≤ 12× time)", big, f"{_f(ratio)}×",
                None if ratio is None else ratio <= 12)
    v = _get(cli, "validate_1000_rows", "median_s")
    add("`kadindicators validate` on 1,000 CSV rows < 1 s end to end", 1000, f"{_f(v)} s",
        None if v is None else v < 1)
    return out


def markdown(report: dict[str, Any]) -> str:
    m = report["machine"]
    sizes = {int(k): v for k, v in report["sizes"].items()}
    v = m["versions"]
    lines = [
        "# kadindicators benchmark",
        "",
        f"`{report['command']}` — {report['finished']}",
        "",
        (f"Machine: {m['cpu_count']} CPUs ({m['cpu_model']}), {m['ram_gb']} GB RAM, {m['platform']}; "
         f"Python {m['python']}, kadindicators {v.get('kadindicators')}, pyarrow {v.get('pyarrow')}, "
         f"numpy {v.get('numpy')}, DuckDB {v.get('duckdb')}, polars {v.get('polars')}, pandas {v.get('pandas')}. "
         f"Load average at start: {', '.join(f'{x:.1f}' for x in m.get('load_average_at_start', []))}."),
        "",
        ("Synthetic stays (`kadindicators.synth`, Vestre Viken, 2024-2025); every step in a fresh "
         "process; times are wall clock of the step alone (data already on disk or in memory; the "
         "JSON also has its CPU time); peak memory is the process's peak RSS minus its RSS before "
         "the data (after a warm-up call that loads the libraries and the spec), over the input's "
         "Arrow size, so it includes the input itself. Every tool runs with its defaults: pyarrow, "
         "DuckDB and polars use all cores, pandas one."),
        "",
        *([f"Note: {report['note']}", ""] if report.get("note") else []),
        "## validate",
        "",
        ("| stays | Arrow MB | Parquet s | Parquet rows/s | peak/input | CSV MB | CSV s | CSV rows/s | "
         "peak/input | pyarrow read_csv s | CSV ÷ pyarrow |"),
        "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for n, s in sorted(sizes.items()):
        p, c, a = s.get("validate-parquet", {}), s.get("validate-csv", {}), s.get("pyarrow-csv", {})
        ratio = c["wall_s"] / a["wall_s"] if "wall_s" in c and "wall_s" in a else None
        lines.append(
            f"| {n:,} | {_f(s['data']['arrow_bytes']['stays'] / 1e6, 1)} | {_f(p.get('wall_s'))} | "
            f"{_rate(p.get('rows_per_s'))} | {_f(p.get('peak_over_input'), 1)} | "
            f"{_f(s['data']['file_bytes'].get('stays.csv', 0) / 1e6, 1)} | {_f(c.get('wall_s'))} | "
            f"{_rate(c.get('rows_per_s'))} | {_f(c.get('peak_over_input'), 1)} | {_f(a.get('wall_s'))} | "
            f"{_f(ratio, 1)} |")
    lines += [
        "",
        "## compute: the whole adopted catalogue (10 indicators), period = year",
        "",
        ("| stays | input Arrow MB | by unit s | peak MB | peak/input | by municipality s | peak MB | "
         "peak/input | time × vs previous size (unit / municipality) |"),
        "|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    prev: dict[str, Any] | None = None
    for n, s in sorted(sizes.items()):
        u, mu = s.get("compute-unit_id", {}), s.get("compute-municipality", {})
        growth = "–"
        if prev is not None and "wall_s" in u and "wall_s" in prev.get("compute-unit_id", {}):
            growth = (f"{_f(u['wall_s'] / prev['compute-unit_id']['wall_s'], 1)} / "
                      f"{_f(mu.get('wall_s', math.nan) / prev['compute-municipality'].get('wall_s', math.nan), 1)}")
        mb = sum(s["data"]["arrow_bytes"].values()) / 1e6
        lines.append(
            f"| {n:,} | {_f(mb, 1)} | {_f(u.get('wall_s'))} | {_f((u.get('peak_rss') or 0) / 1e6, 0)} | "
            f"{_f(u.get('peak_over_input'), 1)} | {_f(mu.get('wall_s'))} | "
            f"{_f((mu.get('peak_rss') or 0) / 1e6, 0)} | {_f(mu.get('peak_over_input'), 1)} | {growth} |")
        prev = s
    lines += [
        "",
        "## Core indicators against DuckDB, polars and pandas",
        "",
        ("KAD-Q01, KAD-U03, KAD-U04, KAD-Q02 by unit × year and KAD-U01 by municipality × year "
         "(`benchmarks/peers.py`); every numerator and denominator asserted equal to the library's "
         "(counts exactly, sums of milliseconds to 1e-12)."),
        "",
        ("| stays | kadindicators s | DuckDB s | polars s | pandas s | ours/DuckDB | ours/polars | "
         "ours/pandas | results equal |"),
        "|---:|---:|---:|---:|---:|---:|---:|---:|---|",
    ]
    for n, s in sorted(sizes.items()):
        core = s.get("core", {})
        ours = _get(core, "kadindicators", "wall_s")
        cells = [_f(_get(core, p, "wall_s")) for p in ("kadindicators", "duckdb", "polars", "pandas")]
        ratios = []
        for p in ("duckdb", "polars", "pandas"):
            t = _get(core, p, "wall_s")
            ratios.append(_f(ours / t) if ours and t else "–")
        eq = s.get("core_equal", {})
        equal = ", ".join(f"{p}: {'yes' if r['equal'] else 'NO'}" for p, r in eq.items()) or "–"
        lines.append(f"| {n:,} | {' | '.join(cells)} | {' | '.join(ratios)} | {equal} |")
    cli = report.get("cli", {})
    lines += [
        "",
        f"## CLI start-up (end to end, median of {len(_get(cli, 'help', 'runs') or [])} runs)",
        "",
        "| command | median s | min s |",
        "|---|---:|---:|",
    ]
    for key, label in (("help", "`kadindicators --help`"),
                       ("validate_1000_rows", ("`kadindicators validate --stays opphold-1000.csv` "
                                               "(1,000 rows, Norwegian Excel CSV)"))):
        c = cli.get(key, {})
        lines.append(f"| {label} | {_f(c.get('median_s'))} | {_f(c.get('min_s'))} |")
    lines += ["", "## Targets (issue 6)", "", "| target | stays | measured | status |", "|---|---:|---|---|"]
    for t in report["targets"]:
        lines.append(f"| {t['target']} | {t['size']:,} | {t['value']} | {t['status']} |")
    errors = [(n, k, x["error"]) for n, s in sizes.items() for k, x in s.items()
              if isinstance(x, dict) and "error" in x]
    errors += [(n, f"core-{k}", x["error"]) for n, s in sizes.items()
               for k, x in s.get("core", {}).items() if "error" in x]
    if errors:
        lines += ["", "## Errors", ""] + [f"- {n:,} {k}: {e}" for n, k, e in errors]
    return "\n".join(lines) + "\n"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sizes", default="1e4,1e5,1e6", help="numbers of stays, comma-separated (1e4,1e5,1e6,1e7)")
    ap.add_argument("--repeat", type=int, default=1, help="fresh processes per step; the median is kept")
    ap.add_argument("--cli-runs", type=int, default=7, help="runs of each CLI command (median)")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--skip", default="", help="peers to leave out, comma-separated (duckdb,polars,pandas)")
    ap.add_argument("--csv-max", type=float, default=10**7, help="skip validate on CSV above this size")
    ap.add_argument("--peers-max", type=float, default=None,
                    help="run DuckDB, polars and pandas only up to this size")
    ap.add_argument("--src", default=None,
                    help="source tree to benchmark (a folder holding the kadindicators package); "
                         "default: this checkout's src")
    ap.add_argument("--note", default="", help="a note printed with the results (e.g. what --src holds)")
    ap.add_argument("--tile-above", type=int, default=2_000_000,
                    help="above this size, generate 1e6 stays and tile them with fresh ids")
    ap.add_argument("--work", default=str(Path(tempfile.gettempdir()) / "kadindicators-bench"),
                    help="folder for the generated data (reused between runs)")
    ap.add_argument("--fresh", action="store_true", help="regenerate the data")
    ap.add_argument("--out", default=str(HERE / "results"), help="folder for latest.md and latest.json")
    # internal: one step in this process
    ap.add_argument("--step", help=argparse.SUPPRESS)
    ap.add_argument("--data", help=argparse.SUPPRESS)
    ap.add_argument("--n", type=int, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.step:
        step_main(args)
        return
    args.skip = {x.strip() for x in args.skip.split(",") if x.strip()}
    if args.src:
        os.environ["KADINDICATORS_BENCH_SRC"] = str(Path(args.src).resolve())
    work = Path(args.work)
    started = time.time()
    report: dict[str, Any] = {"command": "python benchmarks/run.py " + " ".join(sys.argv[1:]),
                              "machine": machine(), "as_of": AS_OF, "validate_as_of": VALIDATE_AS_OF,
                              "src": os.environ.get("KADINDICATORS_BENCH_SRC") or str(SRC),
                              "note": args.note, "sizes": {}}
    print("machine:", json.dumps(report["machine"]), flush=True)
    print("CLI start-up", flush=True)
    report["cli"] = cli_times(args.cli_runs, make_cli_csv(work / "cli"))
    for n in parse_sizes(args.sizes):
        report["sizes"][str(n)] = run_size(n, args, work)
        write(report, Path(args.out), started)  # partial results survive an interrupted run
    write(report, Path(args.out), started)
    print((Path(args.out) / "latest.md").read_text())


def write(report: dict[str, Any], out: Path, started: float) -> None:
    report["finished"] = dt.datetime.now().astimezone().isoformat(timespec="seconds")
    report["duration_s"] = time.time() - started
    report["targets"] = targets({int(k): v for k, v in report["sizes"].items()}, report.get("cli", {}))
    out.mkdir(parents=True, exist_ok=True)
    (out / "latest.json").write_text(json.dumps(report, indent=1, default=str) + "\n")
    (out / "latest.md").write_text(markdown(report))


if __name__ == "__main__":
    main()
