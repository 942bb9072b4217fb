"""Plain-Python, row-by-row implementations of the stay-based indicators (allowed here only).

Written from the spec prose, independently of the library's vectorised code,
to compare with on random small tables.
"""

from __future__ import annotations

import datetime as dt
import functools
import re
from collections import defaultdict
from typing import Any

from kadindicators import _yaml
from kadindicators._resources import spec_root

H = dt.timedelta(hours=1)
D = dt.timedelta(days=1)


def _label(d: dt.date, period: str) -> str:
    if period == "year":
        return str(d.year)
    if period == "quarter":
        return f"{d.year}-Q{(d.month - 1) // 3 + 1}"
    return f"{d.year}-{d.month:02d}"


@functools.cache
def _documentation() -> tuple[set[str], str, list[str], dict[str, set[str]]]:
    """From the YAML files: KAD-D01's ICPC-2 diagnoses and ICD-10 pattern, KAD-D02's fields and codes."""
    root = spec_root()
    icpc2 = _yaml.load(root / "codelists" / "icpc2.yaml")
    # components 1 and 7 (rubrics 01-29, 70-99) and the Norwegian extensions of those rubrics
    diagnoses = {str(c["code"]) for c in icpc2["codes"]}
    diagnoses |= {str(c["code"]) for c in icpc2["norwegian_extensions"] if not 30 <= int(str(c["code"])[1:3]) <= 69}
    fields = {f["name"]: f for f in _yaml.load(root / "schema" / "stays.yaml")["fields"]}
    scope = [name for name, f in fields.items() if f.get("recommended")] + ["discharged_to"]
    codes: dict[str, set[str]] = {}
    for name in scope:
        if fields[name].get("codelist"):
            raw = _yaml.load(root / "codelists" / f"{fields[name]['codelist']}.yaml")
            codes[name] = {str(c["code"]) for c in raw["codes"]}
            codes[name] |= {str(c["code"]) for c in raw.get("norwegian_extensions") or []}
            codes[name] |= {f"{ch['code']}{p['code']}" for ch in raw.get("chapters") or []
                            for p in raw.get("process_codes") or []}
    return diagnoses, str(fields["diagnosis_icd10"]["pattern"]), scope, codes


def oracle(indicator: str, stays: list[dict[str, Any]], *, as_of: dt.datetime,
           period: str) -> dict[tuple[str, str], tuple[float, float]]:
    """(period, unit_id) -> (numerator, denominator) for one indicator."""
    out: dict[tuple[str, str], list[float]] = defaultdict(lambda: [0.0, 0.0])
    by_patient = defaultdict(list)
    for s in stays:
        by_patient[s["patient_id"]].append(s)
    death: dict[str, dt.date] = {}  # the patient's date of death, from any of their stays
    for s in stays:
        days = [s["died_at"]] if s["died_at"] is not None else []
        if (s["discharged_at"] is not None and s["discharged_at"].astimezone(dt.UTC) <= as_of.astimezone(dt.UTC)
                and s["discharged_to"] == "died"):
            days.append(s["discharged_at"].astimezone(as_of.tzinfo).date())
        for d in days:
            death[s["patient_id"]] = min(d, death.get(s["patient_id"], d))
    utc = dt.UTC
    for s in stays:
        adm, dis = s["admitted_at"], s["discharged_at"]
        key = (_label(adm.date(), period), s["unit_id"])
        # Elapsed time needs UTC: Python subtracts and compares two datetimes that share a
        # tzinfo (zoneinfo Europe/Oslo) on the wall clock, an hour off across a DST change.
        adm_u, dis_u = adm.astimezone(utc), None if dis is None else dis.astimezone(utc)
        done = dis_u is not None and dis_u <= as_of.astimezone(utc)
        los = (dis_u - adm_u) if dis_u is not None and done else None
        num = den = 0.0
        if indicator == "KAD-Q01":
            den = float(done)
            num = float(done and s["discharged_to"] == "hospital")
        elif indicator == "KAD-Q01A":
            den = float(done)
            num = float(done and s["discharged_to"] == "hospital" and los <= 24 * H)
        elif indicator == "KAD-U05":
            den = float(done)
            num = float(done and los > 72 * H)
        elif indicator in ("KAD-U04", "KAD-U04M"):
            den = float(done)
            num = los / D if done else 0.0
        elif indicator == "KAD-Q05":
            known = s["examined_before_admission"] is not None
            den = float(known)
            num = float(known and s["examined_before_admission"])
        elif indicator == "KAD-Q04":
            limit = adm.date() + dt.timedelta(days=30)
            followed = limit <= as_of.date()
            d = death.get(s["patient_id"])
            died = d is not None and adm.date() <= d <= limit
            den = float(followed)
            num = float(followed and died)
        elif indicator == "KAD-Q02":
            index = (done and dis_u is not None and s["discharged_to"] not in ("died", "hospital")
                     and dis_u + 30 * D <= as_of.astimezone(utc))
            den = float(index)
            if index and dis_u is not None:
                num = float(any(dis_u < o["admitted_at"].astimezone(utc) <= dis_u + 30 * D
                                for o in by_patient[s["patient_id"]]))
        elif indicator == "KAD-P01":
            alive = done and s["discharged_to"] in ("home", "home_with_services", "nursing_home", "hospital",
                                                    "other")
            den = float(alive)
            num = float(alive and s["discharged_to"] in ("home", "home_with_services"))
        elif indicator == "KAD-P02":
            known = s["admitted_from"] is not None
            den = float(known)
            num = float(known and s["admitted_from"] in ("out_of_hours", "gp"))
        elif indicator == "KAD-D01":
            diagnoses, icd10, _, _ = _documentation()
            den = 1.0
            num = float(s["diagnosis_icpc2"] in diagnoses
                        or (s["diagnosis_icd10"] is not None and re.search(icd10, s["diagnosis_icd10"]) is not None))
        elif indicator == "KAD-D02":
            # each stay once; its numerator is its own share of recorded fields among those in scope
            _, _, scope, codes = _documentation()
            fields = [name for name in scope if name != "discharged_to" or done]
            hits = sum(1 for name in fields
                       if s[name] is not None and (not isinstance(s[name], str) or s[name].strip() != "")
                       and (name not in codes or s[name] in codes[name]))
            den = 1.0
            num = hits / len(fields)
        else:
            raise KeyError(indicator)
        out[key][0] += num
        out[key][1] += den
    return {k: (v[0], v[1]) for k, v in out.items()}


ORACLE_IDS = ("KAD-D01", "KAD-D02", "KAD-P01", "KAD-P02", "KAD-Q01", "KAD-Q01A", "KAD-Q02", "KAD-Q04",
              "KAD-Q05", "KAD-U04", "KAD-U04M", "KAD-U05")
