"""A messy Norwegian EPR export with planted errors at known lines (test data, synthetic)."""

from __future__ import annotations

HEADER = ("opphold_id;pasient_id;enhet_id;kommune;innlagt;utskrevet;alder;kjønn;tilbud;"
          "innlagt_fra;undersøkt_av_lege;utskrevet_til;icpc2;dødsdato")

UNITS_CSV = (
    "unit_id,name,host_municipality,municipalities,care_track,beds,valid_from,valid_to\n"
    "U1,Drammen legevakt KAD,3301,3301|3312|3314,somatic,8,2020-01-01,\n"
    "U2,Kongsberg KAD,3303,3303,somatic,4,2024-01-01,2025-01-01\n"
    "U3,Drammen rus KAD,3301,3301,mental_health_substance,2,2020-01-01,\n"
)

# (line, field, rule) expected for each planted problem; line 1 is the header.
ROWS: list[tuple[str, list[tuple[str | None, str]]]] = [
    ("S01;p01;U1;3301;02.01.2025 10:00;04.01.2025 12:00;84;Kvinne;somatikk;Legevakt;ja;Hjem;R81;", []),
    ("S02;p02;U1;3301;03.01.2025 10:00;02.01.2025 08:00;77;Mann;somatikk;Fastlege;ja;Hjem;R81;",
     [("discharged_at", "discharge-before-admission")]),
    ("S03;p03;U1;3301;31.02.2025 10:00;04.03.2025 12:00;70;2;somatic;gp;ja;home;R81;",
     [("admitted_at", "type-invalid")]),
    ("S04;p04;U1;3301;05.01.2025 10:00;06.01.2025 12:00;130;2;somatic;gp;ja;home;R81;",
     [("age", "range-out-of-bounds")]),
    ("S05;p05;U1;3301;05.01.2025 10:00;06.01.2025 12:00;16;2;somatic;gp;ja;home;R81;",
     [("age", "age-under-18")]),
    ("S06;p06;U1;3301;05.01.2025 10:00;06.01.2025 12:00;80;7;somatic;gp;ja;home;R81;",
     [("sex", "code-unknown")]),
    ("S07;p07;U1;3301;05.01.2025 10:00;;80;2;somatic;gp;ja;home;R81;",
     [("discharged_to", "discharged-to-without-discharge")]),
    ("S08;p08;U1;3301;05.01.2025 10:00;07.01.2025 10:00;80;2;somatic;gp;ja;;R81;",
     [("discharged_to", "discharge-without-destination")]),
    ("S09;p09;U1;3301;05.01.2025 10:00;07.01.2025 10:00;80;2;somatic;gp;ja;home;R81;01.01.2025",
     [("died_at", "death-before-admission")]),
    ("S10;p10;U1;3301;05.01.2025 10:00;07.01.2025 10:00;80;2;somatic;gp;ja;home;R81;",
     [("stay_id", "duplicate-key")]),
    ("S10;p11;U1;3301;05.01.2025 10:00;07.01.2025 10:00;80;2;somatic;gp;ja;home;R81;",
     [("stay_id", "duplicate-key")]),
    ("S12;p01;U1;3301;03.01.2025 09:00;05.01.2025 12:00;84;2;somatic;gp;ja;home;R81;",
     [("admitted_at", "overlapping-stays")]),
    ("S13;p13;U9;3301;05.01.2025 10:00;07.01.2025 10:00;80;2;somatic;gp;ja;home;R81;",
     [("unit_id", "unit-unknown")]),
    ("S14;p14;U2;3303;05.03.2025 10:00;07.03.2025 10:00;80;2;somatic;gp;ja;home;R81;",
     [("unit_id", "unit-not-valid-at-admission")]),
    ("S15;p15;U1;0301;05.01.2025 10:00;07.01.2025 10:00;80;2;somatic;gp;ja;home;R81;",
     [("municipality", "patient-outside-catchment")]),
    ("S16;p16;U1;3301;05.01.2025 10:00;15.02.2025 10:00;80;2;somatic;gp;ja;home;R81;",
     [("discharged_at", "long-stay")]),
    ("S17;p17;U1;3301;05.01.2031 10:00;06.01.2031 10:00;80;2;somatic;gp;ja;home;R81;",
     [("admitted_at", "future-date"), ("discharged_at", "future-date")]),
    ("S18;p18;U1;3301;05.01.2025 10:00;07.01.2025 10:00;80;2;somatic;gp;ja;=HYPERLINK(\"x\");R81;",
     [("discharged_to", "formula-like")]),
    ("S19;p19;U1;3301;05.01.2025 10:00;07.01.2025 10:00;80;2;somatic;gp;ja;home;Q99;",
     [("diagnosis_icpc2", "code-invalid-nullified")]),
    ("S20;p20;U1;3301;05.01.2025 10:00;07.01.2025 10:00;80;2;somatic;gp;ja;home;;",
     [("diagnosis_icpc2", "recommended-missing")]),
    ("S21;p21;U1;3301;05.01.2025 10:00;07.01.2025 10:00;;2;somatic;gp;ja;home;R81;",
     [("age", "required-missing")]),
    ("S22;p22;U3;3301;05.01.2025 10:00;07.01.2025 10:00;80;2;somatic;gp;ja;home;R81;",
     [("care_track", "care-track-mismatch")]),
    ("S23;p23;U1;0602;05.01.2025 10:00;07.01.2025 10:00;80;2;somatic;gp;ja;home;R81;",
     [("municipality", "municipality-not-valid-at-admission"),
      ("municipality", "patient-outside-catchment")]),
    ("S24;p24;U1;3301;30.03.2025 02:30;31.03.2025 10:00;80;2;somatic;gp;ja;home;R81;",
     [("admitted_at", "timestamp-dst-nonexistent")]),
    ("S25;p25;U1;3301;26.10.2025 02:30;27.10.2025 10:00;80;2;somatic;gp;ja;home;R81;",
     [("admitted_at", "timestamp-dst-ambiguous")]),
    ("S26;p26;U1;3301;05.01.2025 10:00;07.01.2025 10:00;80;2;somatic;gp;kanskje;home;R81;",
     [("examined_before_admission", "code-invalid-nullified")]),
    ("S27;p27;U1;3301;05.01.2025 10:00;07.01.2025 10:00;80;2;somatic;gp;ja;died;R81;09.01.2025",
     [("died_at", "death-destination-mismatch")]),
    ("S28;p28;U1;3301;05.01.2025 10:00", [(None, "row-ragged")]),
    # a quoted newline inside a field: the record spans two lines
    ("S29;p29;U1;3301;05.01.2025 10:00;07.01.2025 10:00;80;2;somatic;\"Lege-\nvakt\";ja;home;R81;",
     [("admitted_from", "code-invalid-nullified")]),
    ("", []),  # a blank line is skipped, not counted
    ("S30;p30;U1;3301;05.01.2025 10:00;07.01.2025 10:00;80;2;somatic;gp;ja;home;R81;",
     []),
    ("S31;p31;U1;3301;05.01.2025 10:00;07.01.2025 10:00;80;2;somatic;gp;ja;home;R81;",
     [("stay_id", "duplicate-key")]),
    ("S31;p32;U1;3301;05.01.2025 10:00;07.01.2025 10:00;80;2;somatic;gp;ja;home;R81;",
     [("stay_id", "duplicate-key")]),
]


def build(newline: str = "\r\n") -> tuple[str, list[tuple[int, str | None, str]], int]:
    """Return (csv text, expected (line, field, rule) triples, number of data rows)."""
    lines = [HEADER]
    expected: list[tuple[int, str | None, str]] = []
    line_no = 1
    rows = 0
    for text, problems in ROWS:
        line_no += 1
        lines.append(text)
        if text:
            rows += 1
        for field, rule in problems:
            expected.append((line_no, field, rule))
        line_no += text.count("\n")
    text = ("\n".join(lines) + "\n").replace("\n", newline)
    return text, expected, rows
