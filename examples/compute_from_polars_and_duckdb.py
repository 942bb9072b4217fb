"""Compute the catalogue from polars and DuckDB sources
=====================================================

Anything that speaks the Arrow PyCapsule interface can be passed to
``kadindicators``: here the stays come from a polars DataFrame and from a DuckDB
query over a Parquet file, and give the same results.
"""

from __future__ import annotations

import datetime as dt
import tempfile
from pathlib import Path

import duckdb
import polars as pl
import pyarrow.parquet as pq

import kadindicators as kad

region = kad.synth.generate(years=(2024, 2025), seed=11, scale=0.2)
folder = Path(tempfile.mkdtemp())
pq.write_table(region.stays, folder / "stays.parquet")
as_of = dt.date(2026, 1, 1)

from_polars = pl.read_parquet(folder / "stays.parquet")
res_pl = kad.compute(stays=from_polars, units=region.units, population=region.population, as_of=as_of)

con = duckdb.connect()
relation = con.sql(f"SELECT * FROM read_parquet('{folder / 'stays.parquet'}')")
res_db = kad.compute(stays=relation, units=region.units, population=region.population, as_of=as_of)

print(res_pl.select(["indicator_id", "period", "unit_id", "numerator", "denominator", "value"])
      .slice(0, 8).to_pandas().to_string())
assert res_pl.equals(res_db)
print(f"{res_pl.num_rows} result rows; polars and DuckDB sources agree")
