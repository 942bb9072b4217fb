"""The independent DuckDB SQL implementations in spec/reference-sql agree with the
conformance vectors and with the library.

Each ``spec/reference-sql/<ID>.sql`` was written from the prose of
``spec/indicators/<ID>.yaml`` only; agreement is evidence that the standard can be implemented
from its text.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from zoneinfo import ZoneInfo

import pyarrow as pa
import pytest

import kadindicators
from kadindicators import _yaml
from kadindicators.testing.conformance import ConformanceCase, case_input, load_cases

duckdb = pytest.importorskip("duckdb")

SQL_DIR = Path(__file__).resolve().parents[2] / "spec" / "reference-sql"
OSLO = ZoneInfo("Europe/Oslo")
TOL = 1e-9

def _municipality_codes() -> pa.Table:
    """The municipality code list as a table (code, valid_from, valid_to), for KAD-U01."""
    raw = _yaml.load(SQL_DIR.parent / "codelists" / "municipality.yaml")
    codes = raw["codes"]
    return pa.table({"code": pa.array([str(c["code"]) for c in codes], pa.string()),
                     "valid_from": pa.array([c["valid_from"] for c in codes], pa.date32()),
                     "valid_to": pa.array([c.get("valid_to") for c in codes], pa.date32())})


MUNICIPALITY_CODES = _municipality_codes()


def _icpc2_codes() -> pa.Table:
    """The ICPC-2 code list as a table (code, component), for KAD-D01: components 1 and 7 as in the
    file, 'extension' for the Norwegian extensions, 'process' for every chapter × process code."""
    raw = _yaml.load(SQL_DIR.parent / "codelists" / "icpc2.yaml")
    rows = [(str(c["code"]), str(c["component"])) for c in raw["codes"]]
    rows += [(str(c["code"]), "extension") for c in raw["norwegian_extensions"]]
    rows += [(f"{ch['code']}{p['code']}", "process") for ch in raw["chapters"] for p in raw["process_codes"]]
    return pa.table({"code": [r[0] for r in rows], "component": [r[1] for r in rows]})


ICPC2_CODES = _icpc2_codes()

# indicator id -> the group column the SQL returns
GROUP = {"KAD-Q01": "unit_id", "KAD-U04": "unit_id", "KAD-Q02": "unit_id", "KAD-Q04": "unit_id"}
for _extra, _col in (("KAD-U03", "unit_id"), ("KAD-U01", "municipality"), ("KAD-U01S", "municipality"),
                     ("KAD-D01", "unit_id")):
    if (SQL_DIR / f"{_extra}.sql").exists():
        GROUP[_extra] = _col

CASES = [c for c in load_cases()
         if c.indicator in GROUP and list(c.parameters["by"]) == [GROUP[c.indicator]]
         and not c.parameters["strata"]]


def _as_of(value: object) -> dt.datetime | None:
    if value is None:
        return None
    if isinstance(value, str):
        value = dt.datetime.fromisoformat(value)
    if isinstance(value, dt.datetime):
        return value if value.tzinfo else value.replace(tzinfo=OSLO)
    if isinstance(value, dt.date):
        return dt.datetime.combine(value, dt.time(), OSLO)
    raise TypeError(value)


def run_sql(indicator: str, tables: dict[str, pa.Table], as_of: dt.datetime | None,
            period: str) -> dict[tuple[str, str | None], tuple[float, float]]:
    """Run the reference SQL; {(period, group): (numerator, denominator)}."""
    return {k: (v[0], v[1]) for k, v in run_sql_values(indicator, tables, as_of, period).items()}


def run_sql_values(indicator: str, tables: dict[str, pa.Table], as_of: dt.datetime | None,
                   period: str) -> dict[tuple[str, str | None], tuple[float, float, float | None]]:
    """Run the reference SQL; {(period, group): (numerator, denominator, value or None)}.

    The value is the SQL's ``value`` column where it has one (KAD-U01S: the DSR), else None.
    """
    con = duckdb.connect()
    try:
        con.execute("SET TimeZone='Europe/Oslo'")
        for name in ("stays", "units", "population"):
            if name in tables:
                con.register(name, tables[name])
            else:
                schema = kadindicators.arrow_schema(name)
                con.register(name, schema.empty_table())
        con.register("municipality_codes", MUNICIPALITY_CODES)
        con.register("icpc2_codes", ICPC2_CODES)
        con.execute("CREATE TABLE params (as_of TIMESTAMPTZ, period VARCHAR)")
        con.execute("INSERT INTO params VALUES (?, ?)", [as_of, period])
        sql = (SQL_DIR / f"{indicator}.sql").read_text(encoding="utf-8")
        cur = con.execute(sql)
        names = [d[0] for d in cur.description]
        col = GROUP[indicator]
        out = {}
        for values in cur.fetchall():
            row = dict(zip(names, values, strict=True))
            value = row.get("value")
            out[(row["period"], row[col])] = (float(row["numerator"]), float(row["denominator"]),
                                              None if value is None else float(value))
        return out
    finally:
        con.close()


def _close(a: float | None, b: float | None) -> bool:
    if a is None or b is None:
        return a is None and b is None
    return abs(float(a) - float(b)) <= TOL * max(1.0, abs(float(a)), abs(float(b)))


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_sql_matches_vector(case: ConformanceCase) -> None:
    """Numerator and denominator of the SQL equal the case's expected rows."""
    p = case.parameters
    col = GROUP[case.indicator]
    report = kadindicators.validate(**case_input(case), as_of=dt.date(2100, 1, 1))
    typed = {k: report.tables[k] for k in case.input}
    as_of = _as_of(p.get("as_of"))
    got_values = run_sql_values(case.indicator, typed, as_of, p["period"])
    got = {k: (v[0], v[1]) for k, v in got_values.items()}
    want_rows = case.expected.get("rows", [])
    want = {(str(r["period"]), None if r.get(col) is None else str(r[col])): r for r in want_rows}
    assert set(got) == set(want), f"row keys differ: sql={sorted(got, key=str)} case={sorted(want, key=str)}"
    lib = None
    problems = []
    for key, w in want.items():
        num, den = got[key]
        if w.get("suppressed"):
            if lib is None:
                res = kadindicators.compute(**typed, indicators=[case.indicator], by=(col,),
                                            period=p["period"], as_of=as_of and as_of.replace(tzinfo=None),
                                            suppression=1)
                lib = {(r["period"], r[col]): r for r in res.to_pylist()}
            ref = lib[key]
            exp_num, exp_den = ref["numerator"], ref["denominator"]
        else:
            exp_num, exp_den = w["numerator"], w["denominator"]
        if not _close(num, exp_num) or not _close(den, exp_den):
            problems.append(f"{key}: sql {num}/{den}, expected {exp_num}/{exp_den}")
        value = got_values[key][2]
        if "value" in w and value is not None and not _close(value, w["value"]):
            problems.append(f"{key}: sql value {value}, expected {w['value']}")
    assert problems == []


@pytest.fixture(scope="module")
def synthetic() -> kadindicators.synth.SyntheticRegion:
    return kadindicators.synth.generate(years=(2024, 2025), seed=3, scale=0.3)


@pytest.mark.parametrize("indicator", sorted(GROUP))
def test_sql_matches_library_on_synthetic(
    indicator: str, synthetic: kadindicators.synth.SyntheticRegion
) -> None:
    """On a synthetic region the SQL and the library give the same numerators and denominators."""
    col = GROUP[indicator]
    tables = {"stays": synthetic.stays, "units": synthetic.units, "population": synthetic.population}
    res = kadindicators.compute(**tables, indicators=[indicator], by=(col,), period="quarter",
                                suppression=1, as_of=None)
    lib = {(r["period"], r[col]): (r["numerator"], r["denominator"]) for r in res.to_pylist()}
    lib_values = {(r["period"], r[col]): r["value"] for r in res.to_pylist()}
    got_values = run_sql_values(indicator, tables, None, "quarter")
    got = {k: (v[0], v[1]) for k, v in got_values.items()}
    assert set(got) == set(lib), (f"only sql: {sorted(set(got) - set(lib), key=str)[:5]}; "
                                  f"only library: {sorted(set(lib) - set(got), key=str)[:5]}")
    problems = [f"{k}: sql {got[k]}, library {lib[k]}" for k in sorted(lib, key=str)
                if not (_close(got[k][0], lib[k][0]) and _close(got[k][1], lib[k][1]))]
    problems += [f"{k}: sql value {got_values[k][2]}, library {lib_values[k]}" for k in sorted(lib, key=str)
                 if got_values[k][2] is not None and not _close(got_values[k][2], lib_values[k])]
    assert problems[:10] == []
