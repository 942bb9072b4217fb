"""Validate a messy Norwegian EPR export
=======================================

Writes a small synthetic extract the way Excel saves it in Norway (``;``,
Windows-1252, ``dd.mm.yyyy HH:MM``, Norwegian labels), plants two errors, and
validates it: every problem is located by line, field and rule, in Norwegian
and English, and every row is accounted for.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import kadindicators as kad

out = Path(tempfile.mkdtemp())
region = kad.synth.generate(years=(2025,), seed=7, scale=0.05)
paths = kad.synth.write(region, out)
stays_csv = kad.synth.write_norwegian_csv(region.stays, out / "opphold.csv", table_name="stays")

# plant two errors: a discharge before the admission, and a formula in a code
lines = stays_csv.read_bytes().decode("cp1252").split("\r\n")
header = lines[0].split(";")
row = lines[5].split(";")
row[header.index("discharged_at")] = "01.01.2020 10:00"
lines[5] = ";".join(row)
row = lines[9].split(";")
row[header.index("discharged_to")] = "=HYPERLINK(1)"
lines[9] = ";".join(row)
stays_csv.write_bytes("\r\n".join(lines).encode("cp1252"))

report = kad.validate(stays=stays_csv, units=paths["units.csv"])
print(report.summary_text(lang="en", max_issues=5))
assert report.rows_read == report.rows_valid + report.rows_rejected
errors = [(r["row"], r["field"], r["rule"]) for r in report.issues.to_pylist() if r["severity"] == "error"]
print(errors)
assert (6, "discharged_at", "discharge-before-admission") in errors
assert (10, "discharged_to", "formula-like") in errors
