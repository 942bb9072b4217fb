"""The core indicators written the idiomatic way in DuckDB SQL, polars and pandas.

Each peer computes, by calendar year of admission (Europe/Oslo), the numerator
and denominator of

* KAD-Q01 transfer to hospital, by ``unit_id``;
* KAD-U04 mean length of stay, by ``unit_id`` (numerator in milliseconds);
* KAD-Q02 readmission within 30 days, by ``unit_id``;
* KAD-U03 bed occupancy, by ``unit_id`` (numerator and denominator in (bed-)milliseconds);
* KAD-U01 stays per 1,000 adults, by ``municipality``;

from the prose of ``spec/indicators/<ID>.yaml``, with an explicit ``as_of``. They
are written the way a competent user of each tool would write them: DuckDB SQL
over DuckDB tables, polars expressions (lazy), pandas ``groupby`` / ``merge``; no
Python loop over rows (the only loops are over the handful of indicators and
over the few calendar-year windows of KAD-U03). Every tool runs with its
defaults (threads: DuckDB and polars use every core, pandas one).

Each function returns ``{indicator_id: pyarrow.Table(period, group, numerator,
denominator)}`` with float64 numbers (counts, or whole milliseconds, exact in
float64), so :func:`compare` can check them against ``kadindicators.compute``.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping
from typing import Any
from zoneinfo import ZoneInfo

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

OSLO = ZoneInfo("Europe/Oslo")
MS_PER_DAY = 86_400_000
WINDOW_MS = 720 * 3_600_000  # KAD-Q02: 30 days of elapsed time
ADULT_BANDS = ("18-49", "50-66", "67-79", "80-89", "90+")
UNIT_INDICATORS = ("KAD-Q01", "KAD-U04", "KAD-Q02", "KAD-U03")
MUNICIPALITY_INDICATORS = ("KAD-U01",)
CORE = UNIT_INDICATORS + MUNICIPALITY_INDICATORS
# indicator -> (numerator in ms?, denominator in ms?): those are compared to a relative 1e-12,
# because the library reports days (exact integer milliseconds times 1/86,400,000)
DURATIONS = {"KAD-U04": (True, False), "KAD-U03": (True, True)}
GROUP = {**{i: "unit_id" for i in UNIT_INDICATORS}, "KAD-U01": "municipality"}


def as_of_ms(as_of: dt.datetime) -> int:
    return int(as_of.timestamp() * 1000)


def year_windows(first_year: int, as_of: dt.datetime) -> list[tuple[str, int, int]]:
    """(label, start ms, end ms) of each calendar year from ``first_year`` up to ``as_of`` (capped)."""
    last = (as_of - dt.timedelta(milliseconds=1)).astimezone(OSLO).year
    cap = as_of_ms(as_of)
    out = []
    for y in range(first_year, max(last, first_year) + 1):
        start = as_of_ms(dt.datetime(y, 1, 1, tzinfo=OSLO))
        end = min(as_of_ms(dt.datetime(y + 1, 1, 1, tzinfo=OSLO)), cap)
        if start < end:
            out.append((str(y), start, end))
    return out


def _result(period: Any, group: Any, num: Any, den: Any) -> pa.Table:
    return pa.table({"period": pc.cast(pa.array(period) if not isinstance(period, pa.Array | pa.ChunkedArray)
                                       else period, pa.string()),
                     "group": pc.cast(pa.array(group) if not isinstance(group, pa.Array | pa.ChunkedArray)
                                      else group, pa.string()),
                     "numerator": pc.cast(num, pa.float64()), "denominator": pc.cast(den, pa.float64())})


# -- DuckDB ------------------------------------------------------------------------------------

DUCKDB_SQL = {
    "KAD-Q01": """
        SELECT year(admitted_at)::VARCHAR AS period, unit_id AS "group",
               count(*) FILTER (WHERE discharged_at <= $as_of AND discharged_to = 'hospital') AS numerator,
               count(*) FILTER (WHERE discharged_at <= $as_of) AS denominator
        FROM stays GROUP BY ALL""",
    "KAD-U04": """
        SELECT year(admitted_at)::VARCHAR AS period, unit_id AS "group",
               coalesce(sum(epoch_ms(discharged_at) - epoch_ms(admitted_at))
                        FILTER (WHERE discharged_at <= $as_of), 0)::DOUBLE AS numerator,
               count(*) FILTER (WHERE discharged_at <= $as_of) AS denominator
        FROM stays GROUP BY ALL""",
    "KAD-Q02": """
        WITH s AS (
            SELECT stay_id, patient_id, unit_id, admitted_at, discharged_at,
                   coalesce(discharged_at <= $as_of
                            AND coalesce(discharged_to, '') NOT IN ('died', 'hospital')
                            AND discharged_at + INTERVAL 720 HOUR <= $as_of, false) AS is_index
            FROM stays
        ),
        readmitted AS (
            SELECT i.stay_id FROM s i SEMI JOIN stays n
              ON n.patient_id = i.patient_id
             AND n.admitted_at > i.discharged_at
             AND n.admitted_at <= i.discharged_at + INTERVAL 720 HOUR
            WHERE i.is_index
        )
        SELECT year(s.admitted_at)::VARCHAR AS period, s.unit_id AS "group",
               count(r.stay_id) AS numerator,
               count(*) FILTER (WHERE s.is_index) AS denominator
        FROM s LEFT JOIN readmitted r ON r.stay_id = s.stay_id
        GROUP BY ALL""",
    "KAD-U03": """
        WITH stay_parts AS (
            SELECT w.period, s.unit_id,
                   least(coalesce(epoch_ms(s.discharged_at), w.end_ms), w.end_ms)
                   - greatest(epoch_ms(s.admitted_at), w.start_ms) AS ms
            FROM stays s JOIN windows w
              ON epoch_ms(s.admitted_at) < w.end_ms
             AND coalesce(epoch_ms(s.discharged_at), w.end_ms) > w.start_ms
            WHERE s.unit_id IN (SELECT unit_id FROM units)
        ),
        unit_parts AS (
            SELECT w.period, u.unit_id,
                   u.beds * (least(coalesce(epoch_ms(u.valid_to::TIMESTAMPTZ), w.end_ms), w.end_ms)
                             - greatest(epoch_ms(u.valid_from::TIMESTAMPTZ), w.start_ms)) AS bed_ms
            FROM units u JOIN windows w
              ON epoch_ms(u.valid_from::TIMESTAMPTZ) < w.end_ms
             AND coalesce(epoch_ms(u.valid_to::TIMESTAMPTZ), w.end_ms) > w.start_ms
        ),
        num AS (SELECT period, unit_id, sum(ms) AS n FROM stay_parts WHERE ms > 0 GROUP BY ALL),
        den AS (SELECT period, unit_id, sum(bed_ms) AS d FROM unit_parts WHERE bed_ms > 0 GROUP BY ALL)
        SELECT coalesce(num.period, den.period) AS period, coalesce(num.unit_id, den.unit_id) AS "group",
               coalesce(n, 0)::DOUBLE AS numerator, coalesce(d, 0)::DOUBLE AS denominator
        FROM num FULL OUTER JOIN den ON num.period = den.period AND num.unit_id = den.unit_id""",
    "KAD-U01": """
        WITH adults AS (
            SELECT municipality, year, sum(population) AS adults
            FROM population
            WHERE age_band IN ('18-49', '50-66', '67-79', '80-89', '90+') AND population > 0
            GROUP BY ALL
        ),
        resident AS (  -- adult stays with a municipality valid on the admission date
            SELECT s.municipality, year(s.admitted_at) AS year
            FROM stays s SEMI JOIN municipality_codes c
              ON c.code = s.municipality AND c.vf <= s.admitted_at::DATE AND s.admitted_at::DATE < c.vt
            WHERE s.age >= 18
        ),
        num AS (
            SELECT r.year, r.municipality, count(a.adults) AS n
            FROM resident r LEFT JOIN adults a ON a.municipality = r.municipality AND a.year = r.year
            GROUP BY ALL
        ),
        den AS (SELECT * FROM adults WHERE make_date(year::INTEGER, 1, 1) < $as_of_date)
        SELECT coalesce(num.year, den.year)::VARCHAR AS period,
               coalesce(num.municipality, den.municipality) AS "group",
               coalesce(n, 0) AS numerator, coalesce(den.adults, 0)::DOUBLE AS denominator
        FROM num FULL OUTER JOIN den ON num.municipality = den.municipality AND num.year = den.year""",
}


def duckdb_setup(tables: Mapping[str, pa.Table], codes: pa.Table, as_of: dt.datetime) -> Any:
    """A DuckDB connection with the data loaded into DuckDB tables (not timed)."""
    import duckdb

    con = duckdb.connect()
    con.execute("SET TimeZone='Europe/Oslo'")
    for name, t in {**tables, "municipality_codes": codes}.items():
        con.register("_in", t)
        con.execute(f"CREATE TABLE {name} AS SELECT * FROM _in")
        con.unregister("_in")
    first = con.sql("SELECT min(year(admitted_at)) FROM stays").fetchall()[0]
    w = year_windows(int(first[0]) if first and first[0] is not None else as_of.year, as_of)
    con.execute("CREATE TABLE windows (period VARCHAR, start_ms BIGINT, end_ms BIGINT)")
    if w:
        con.executemany("INSERT INTO windows VALUES (?, ?, ?)", w)
    return con


def duckdb_run(con: Any, as_of: dt.datetime) -> dict[str, pa.Table]:
    # TIMESTAMPTZ literals, as the instants DuckDB compares with (no Python datetime round trip)
    iso = as_of.astimezone(dt.UTC).strftime("%Y-%m-%d %H:%M:%S+00")
    params = {"as_of": iso, "as_of_date": as_of.astimezone(OSLO).date().isoformat()}
    out = {}
    for iid, sql in DUCKDB_SQL.items():
        text = sql.replace("$as_of_date", f"DATE '{params['as_of_date']}'") \
                  .replace("$as_of", f"TIMESTAMPTZ '{params['as_of']}'")
        t = con.sql(text).to_arrow_table()
        out[iid] = _result(t["period"], t["group"], t["numerator"], t["denominator"])
    return out


# -- polars ------------------------------------------------------------------------------------

def polars_setup(tables: Mapping[str, pa.Table], codes: pa.Table) -> dict[str, Any]:
    import polars as pl

    return {name: pl.from_arrow(t) for name, t in {**tables, "municipality_codes": codes}.items()}


def polars_run(d: Mapping[str, Any], as_of: dt.datetime) -> dict[str, pa.Table]:
    import polars as pl

    stays, units, pop, codes = d["stays"], d["units"], d["population"], d["municipality_codes"]
    cap = as_of_ms(as_of)
    adm = pl.col("admitted_at").dt.epoch("ms")
    dis = pl.col("discharged_at").dt.epoch("ms")
    year = pl.col("admitted_at").dt.year().cast(pl.String).alias("period")
    done = dis <= cap  # null (still admitted) is not completed
    s = stays.lazy()
    out: dict[str, pl.DataFrame] = {}
    out["KAD-Q01"] = s.group_by(year, pl.col("unit_id").alias("group")).agg(
        numerator=(done & (pl.col("discharged_to") == "hospital")).fill_null(False).sum(),
        denominator=done.fill_null(False).sum()).collect()
    out["KAD-U04"] = s.group_by(year, pl.col("unit_id").alias("group")).agg(
        numerator=(dis - adm).filter(done.fill_null(False)).sum(),
        denominator=done.fill_null(False).sum()).collect()
    # KAD-Q02: index stays, and those with another stay admitted in (discharge, discharge + 720 h]
    is_index = (done & ~pl.col("discharged_to").is_in(["died", "hospital"]).fill_null(False)
                & (dis + WINDOW_MS <= cap)).fill_null(False)
    base = s.with_columns(is_index=is_index, dis_ms=dis)
    nxt = s.select("patient_id", adm_next=adm)
    readmitted = (base.filter("is_index").select("stay_id", "patient_id", "dis_ms")
                  .join(nxt, on="patient_id")
                  .filter((pl.col("adm_next") > pl.col("dis_ms"))
                          & (pl.col("adm_next") <= pl.col("dis_ms") + WINDOW_MS))
                  .select("stay_id").unique().with_columns(readmitted=pl.lit(True)))
    out["KAD-Q02"] = (base.join(readmitted, on="stay_id", how="left")
                      .group_by(year, pl.col("unit_id").alias("group"))
                      .agg(numerator=pl.col("readmitted").fill_null(False).sum(),
                           denominator=pl.col("is_index").sum())).collect()
    # KAD-U03: overlap of each stay and each unit row with the year windows
    first = stays.select(pl.col("admitted_at").dt.year().min()).item()
    w = pl.DataFrame(year_windows(int(first), as_of), schema=["period", "w_start", "w_end"], orient="row").lazy()
    known = units.select("unit_id").unique()
    stay_parts = (s.join(known.lazy(), on="unit_id", how="semi")
                  .select("unit_id", a=adm, e=dis.fill_null(cap))
                  .join(w, how="cross")
                  .with_columns(ms=pl.min_horizontal("e", "w_end") - pl.max_horizontal("a", "w_start"))
                  .filter(pl.col("ms") > 0)
                  .group_by("period", "unit_id").agg(numerator=pl.col("ms").sum()))
    vf = pl.col("valid_from").cast(pl.Datetime("ms")).dt.replace_time_zone("Europe/Oslo").dt.epoch("ms")
    vt = pl.col("valid_to").cast(pl.Datetime("ms")).dt.replace_time_zone("Europe/Oslo").dt.epoch("ms")
    unit_parts = (units.lazy().select("unit_id", "beds", f=vf, t=vt)
                  .join(w, how="cross")
                  .with_columns(ms=pl.min_horizontal(pl.col("t").fill_null(pl.col("w_end")), "w_end")
                                - pl.max_horizontal("f", "w_start"))
                  .filter(pl.col("ms") > 0)
                  .group_by("period", "unit_id").agg(denominator=(pl.col("beds") * pl.col("ms")).sum()))
    out["KAD-U03"] = (stay_parts.join(unit_parts, on=["period", "unit_id"], how="full", coalesce=True)
                      .select("period", pl.col("unit_id").alias("group"),
                              pl.col("numerator").fill_null(0), pl.col("denominator").fill_null(0))).collect()
    # KAD-U01
    adults = (pop.lazy().filter(pl.col("age_band").is_in(list(ADULT_BANDS)) & (pl.col("population") > 0))
              .group_by("municipality", "year").agg(adults=pl.col("population").sum()))
    day = pl.col("admitted_at").dt.date()
    resident = (s.filter(pl.col("age") >= 18)
                .select("municipality", day=day, year=pl.col("admitted_at").dt.year().cast(pl.Int64))
                .with_row_index("i"))
    valid = (resident.join(codes.lazy(), left_on="municipality", right_on="code")
             .filter((pl.col("vf") <= pl.col("day")) & (pl.col("day") < pl.col("vt")))
             .select("i").unique())
    num = (resident.join(valid, on="i", how="semi")
           .join(adults, on=["municipality", "year"], how="left")
           .group_by("year", "municipality").agg(n=pl.col("adults").is_not_null().sum()))
    den = adults.filter(pl.date(pl.col("year"), 1, 1) < as_of.astimezone(OSLO).date())
    out["KAD-U01"] = (num.join(den, on=["municipality", "year"], how="full", coalesce=True)
                      .select(pl.col("year").cast(pl.String).alias("period"),
                              pl.col("municipality").alias("group"),
                              numerator=pl.col("n").fill_null(0), denominator=pl.col("adults").fill_null(0))
                      ).collect()
    return {k: _result(v["period"].to_arrow(), v["group"].to_arrow(), v["numerator"].to_arrow(),
                       v["denominator"].to_arrow()) for k, v in out.items()}


# -- pandas ------------------------------------------------------------------------------------

def pandas_setup(tables: Mapping[str, pa.Table], codes: pa.Table) -> dict[str, Any]:
    return {name: t.to_pandas() for name, t in {**tables, "municipality_codes": codes}.items()}


def pandas_run(d: Mapping[str, Any], as_of: dt.datetime) -> dict[str, pa.Table]:
    import pandas as pd

    stays, units, pop, codes = d["stays"], d["units"], d["population"], d["municipality_codes"]
    cap = pd.Timestamp(as_of)
    window = pd.Timedelta(hours=720)
    ms = pd.Timedelta(milliseconds=1)
    adm, dis = stays["admitted_at"], stays["discharged_at"]
    period = adm.dt.year.astype(str)
    done = dis <= cap  # NaT compares False
    out: dict[str, pd.DataFrame] = {}
    keys = [period.rename("period"), stays["unit_id"].rename("group")]
    out["KAD-Q01"] = pd.DataFrame({"numerator": done & (stays["discharged_to"] == "hospital"),
                                   "denominator": done}).groupby(keys).sum().reset_index()
    los = ((dis - adm) // ms).where(done, 0)
    out["KAD-U04"] = pd.DataFrame({"numerator": los, "denominator": done}).groupby(keys).sum().reset_index()
    is_index = done & ~stays["discharged_to"].isin(["died", "hospital"]) & (dis + window <= cap)
    idx = stays.loc[is_index, ["stay_id", "patient_id", "discharged_at"]]
    pairs = idx.merge(stays[["patient_id", "admitted_at"]], on="patient_id")
    hit = (pairs["admitted_at"] > pairs["discharged_at"]) & (pairs["admitted_at"] <= pairs["discharged_at"] + window)
    readmitted = stays["stay_id"].isin(pairs.loc[hit, "stay_id"])
    out["KAD-Q02"] = pd.DataFrame({"numerator": is_index & readmitted,
                                   "denominator": is_index}).groupby(keys).sum().reset_index()
    # KAD-U03
    first = int(adm.dt.year.min())
    w = pd.DataFrame(year_windows(first, as_of), columns=["period", "w_start", "w_end"])
    epoch = pd.Timestamp("1970-01-01", tz="UTC")
    known = stays["unit_id"].isin(units["unit_id"])
    sp = pd.DataFrame({"unit_id": stays.loc[known, "unit_id"],
                       "a": (adm[known] - epoch) // ms,
                       "e": ((dis[known].fillna(cap)) - epoch) // ms}).merge(w, how="cross")
    sp["ms"] = np.minimum(sp["e"], sp["w_end"]) - np.maximum(sp["a"], sp["w_start"])
    num = sp[sp["ms"] > 0].groupby(["period", "unit_id"])["ms"].sum().rename("numerator")
    vf = pd.to_datetime(units["valid_from"]).dt.tz_localize("Europe/Oslo")
    vt = pd.to_datetime(units["valid_to"]).dt.tz_localize("Europe/Oslo")
    up = pd.DataFrame({"unit_id": units["unit_id"], "beds": units["beds"], "f": (vf - epoch) // ms,
                       "t": (vt - epoch) // ms}).merge(w, how="cross")
    up["ms"] = np.minimum(up["t"].fillna(up["w_end"]), up["w_end"]) - np.maximum(up["f"], up["w_start"])
    up = up[up["ms"] > 0]
    den = (up["beds"] * up["ms"]).groupby([up["period"], up["unit_id"]]).sum().rename("denominator")
    u03 = pd.concat([num, den], axis=1).fillna(0).reset_index()
    out["KAD-U03"] = u03.rename(columns={"unit_id": "group"})
    # KAD-U01
    p = pop[pop["age_band"].isin(ADULT_BANDS) & (pop["population"] > 0)]
    adults = p.groupby(["municipality", "year"], as_index=False)["population"].sum()
    adult = stays[stays["age"] >= 18]
    res = pd.DataFrame({"municipality": adult["municipality"],
                        "day": adult["admitted_at"].dt.tz_localize(None).dt.normalize(),
                        "year": adult["admitted_at"].dt.year.astype("int64")})
    c = codes.assign(vf=pd.to_datetime(codes["vf"]), vt=pd.to_datetime(codes["vt"]))
    m = res.reset_index().merge(c, left_on="municipality", right_on="code")
    ok = m.loc[(m["vf"] <= m["day"]) & (m["day"] < m["vt"]), "index"].unique()
    res = res.loc[ok]
    res = res.merge(adults, on=["municipality", "year"], how="left")
    n = res.groupby(["year", "municipality"])["population"].count().rename("numerator")
    dn = adults[pd.to_datetime(adults["year"].astype(str) + "-01-01") < pd.Timestamp(as_of.astimezone(OSLO).date())]
    dn = dn.set_index(["year", "municipality"])["population"].rename("denominator")
    u01 = pd.concat([n, dn], axis=1).fillna(0).reset_index()
    out["KAD-U01"] = u01.assign(period=u01["year"].astype(str)).rename(columns={"municipality": "group"})
    return {k: _result(pa.array(v["period"].astype(str).to_numpy()), pa.array(v["group"].astype(str).to_numpy()),
                       pa.array(v["numerator"].to_numpy(dtype="float64")),
                       pa.array(v["denominator"].to_numpy(dtype="float64"))) for k, v in out.items()}


# -- kadindicators -----------------------------------------------------------------------------

def ours_run(tables: Mapping[str, pa.Table], as_of: dt.datetime) -> dict[str, pa.Table]:
    """The library on the same indicators; suppression off, so every count is shown."""
    import kadindicators as kad

    res = {"unit_id": kad.compute(**tables, indicators=list(UNIT_INDICATORS), by=("unit_id",),
                                  period="year", as_of=as_of, suppression=1),
           "municipality": kad.compute(**tables, indicators=list(MUNICIPALITY_INDICATORS),
                                       by=("municipality",), period="year", as_of=as_of, suppression=1)}
    out = {}
    for iid in CORE:
        col = GROUP[iid]
        t = res[col].filter(pc.equal(res[col]["indicator_id"], iid))
        num_ms, den_ms = DURATIONS.get(iid, (False, False))
        num = pc.fill_null(t["numerator"], 0.0)
        den = pc.fill_null(t["denominator"], 0.0)
        if num_ms:
            num = pc.multiply(num, float(MS_PER_DAY))
        if den_ms:
            den = pc.multiply(den, float(MS_PER_DAY))
        out[iid] = _result(t["period"], t[col], num, den)
    return out


PEERS: dict[str, tuple[Callable[..., Any], Callable[..., dict[str, pa.Table]]]] = {
    "duckdb": (lambda tables, codes, as_of: duckdb_setup(tables, codes, as_of), duckdb_run),
    "polars": (lambda tables, codes, as_of: polars_setup(tables, codes), polars_run),
    "pandas": (lambda tables, codes, as_of: pandas_setup(tables, codes), pandas_run),
}


def compare(ours: Mapping[str, pa.Table], theirs: Mapping[str, pa.Table]) -> list[str]:
    """Differences between two results: [] when every numerator and denominator agrees.

    Counts must be equal exactly; sums of (bed-)milliseconds to a relative 1e-12
    (the library reports days: exact integer milliseconds times 1/86,400,000).
    """
    problems = []
    for iid in CORE:
        a, b = ours[iid], theirs[iid]
        ka = {(p, g): (n, d) for p, g, n, d in zip(*(a[c].to_pylist() for c in a.column_names), strict=True)}
        kb = {(p, g): (n, d) for p, g, n, d in zip(*(b[c].to_pylist() for c in b.column_names), strict=True)}
        if len(ka) != a.num_rows or len(kb) != b.num_rows:
            problems.append(f"{iid}: duplicate (period, group) rows")
        if set(ka) != set(kb):
            only_a = sorted(set(ka) - set(kb), key=str)[:3]
            only_b = sorted(set(kb) - set(ka), key=str)[:3]
            problems.append(f"{iid}: rows differ (only ours: {only_a}, only theirs: {only_b})")
            continue
        tol = DURATIONS.get(iid, (False, False))
        for key, (n1, d1) in ka.items():
            n2, d2 = kb[key]
            for what, x, y, dur in (("numerator", n1, n2, tol[0]), ("denominator", d1, d2, tol[1])):
                ok = abs(x - y) <= 1e-12 * max(abs(x), abs(y)) if dur else x == y
                if not ok:
                    problems.append(f"{iid} {key} {what}: ours {x!r}, theirs {y!r}")
                    break
    return problems[:20]


def total_rows(result: Mapping[str, pa.Table]) -> int:
    return int(sum(t.num_rows for t in result.values()))


def municipality_codes() -> pa.Table:
    """The municipality code list as a table (code, vf, vt), half-open validity."""
    from kadindicators import municipalities

    return municipalities.validity_table()


def check_small() -> None:  # pragma: no cover - a manual self-test: python benchmarks/peers.py
    import kadindicators as kad

    r = kad.synth.generate(years=(2024, 2025), seed=3, n_stays=20_000)
    tables = {"stays": r.stays, "units": r.units, "population": r.population}
    as_of = dt.datetime(2026, 1, 1, tzinfo=OSLO)
    ours = ours_run(tables, as_of)
    codes = municipality_codes()
    for name, (setup, run) in PEERS.items():
        state = setup(tables, codes, as_of)
        got = run(state, as_of)
        print(name, compare(ours, got) or "equal", total_rows(got), "rows")


if __name__ == "__main__":  # pragma: no cover
    check_small()
