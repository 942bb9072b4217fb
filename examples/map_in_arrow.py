"""Partials on a cluster: the function Spark's ``mapInArrow`` runs, tested here without Spark
=========================================================================================

A cluster engine hands each task an iterator of Arrow record batches (one partition of the
stays) and expects an iterator of record batches back. ``partials_in_arrow`` below has exactly
that signature: it computes the partition's additive partial results with
``kadindicators.compute_partials`` and returns them as one row holding the Arrow IPC stream
(the IPC stream keeps the schema metadata that ``merge`` checks; a plain DataFrame would drop
it). Every partition runs with ``reference_denominators=False``; the driver adds the unit and
population denominators once, from a partial over no stays, and merges.

With PySpark (not needed here)::

    stays_df.repartition(64, "patient_id") \\
            .mapInArrow(partials_in_arrow, "partial binary") \\
            .toArrow()                     # or .collect(): one row per partition

This script runs the same function over four hash partitions of a synthetic region, locally,
and checks that the merged result equals one ``compute`` over all the data.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Iterator

import pyarrow as pa
import pyarrow.compute as pc

import kadindicators as kad

region = kad.synth.generate(years=(2024, 2025), seed=5, scale=0.3)
AS_OF = dt.date(2026, 1, 1)
SINCE = dt.date(2024, 1, 1)  # every partition must cover the same window
# units and population are small: every task gets all of them (a broadcast)
SHARED = {"units": region.units, "population": region.population, "as_of": AS_OF, "since": SINCE}


def to_ipc(table: pa.Table) -> bytes:
    sink = pa.BufferOutputStream()
    with pa.ipc.new_stream(sink, table.schema) as writer:
        writer.write_table(table)
    return sink.getvalue().to_pybytes()


def partials_in_arrow(batches: Iterator[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
    """One partition of the stays in, its partial results out (as one IPC-encoded row)."""
    received = list(batches)
    if not received:  # an empty partition adds nothing
        return
    stays = pa.Table.from_batches(received)
    part = kad.compute_partials(stays=stays, reference_denominators=False, **SHARED)
    yield pa.RecordBatch.from_pydict({"partial": [to_ipc(part)]}, schema=pa.schema([("partial", pa.binary())]))


# -- what the engine does: keep each patient's stays in one partition, run the function per partition
n_partitions = 4
bucket = pa.array([hashlib.sha256(p.encode()).digest()[0] % n_partitions
                   for p in region.stays["patient_id"].to_pylist()])
rows: list[bytes] = []
for k in range(n_partitions):
    part = region.stays.filter(pc.equal(bucket, k))
    for out in partials_in_arrow(iter(part.to_batches(max_chunksize=2_000))):  # batches, as a task gets them
        rows.extend(out.column(0).to_pylist())

# -- on the driver: decode, add the reference denominators once, merge
partials = [pa.ipc.open_stream(b).read_all() for b in rows]
partials.append(kad.compute_partials(stays=region.stays.slice(0, 0), reference_denominators=True, **SHARED))
merged = kad.merge(partials)

whole = kad.compute(stays=region.stays, **SHARED)
cols = ["indicator_id", "period", "unit_id", "numerator", "denominator", "value", "ci_lower", "suppressed"]
assert merged.select(cols).equals(whole.select(cols))
assert kad.result_metadata(merged)["partitions"] == n_partitions + 1
print(f"{n_partitions} partitions through partials_in_arrow, merged: {merged.num_rows} rows, "
      "equal to a single run")
