"""``kadindicators validate``: check an extract and report every problem."""

from __future__ import annotations

import argparse
import datetime as dt
import sys
from pathlib import Path

from ._common import (
    add_optional_tables,
    pandas_left_unloaded,
    progress,
    running_as_program,
    t,
    write_safe_csv,
)


def add_parser(sub: argparse._SubParsersAction, lang: str,  # type: ignore[type-arg]
               parents: list[argparse.ArgumentParser]) -> None:
    p = sub.add_parser(
        "validate",
        help=t(lang, "valider et uttrekk mot rapporteringsskjemaet",
               "validate an extract against the reporting schema"),
        description=t(lang,
                      "Leser opphold (og enheter, befolkning, erfaringer og sykehusinnleggelser) fra CSV, "
                      "Excel, Parquet eller Arrow og rapporterer hvert funn med fil, linje, felt og regel. "
                      "Exit-koder: 0 ingen feil (advarsler tillatt), 1 rader avvist, 2 feil bruk, 3 filen "
                      "kan ikke brukes, 70 intern feil.",
                      "Reads stays (and units, population, experience and hospital admissions) from CSV, "
                      "Excel, Parquet or Arrow and reports every problem with file, line, field and rule. "
                      "Exit codes: 0 no errors (warnings allowed), 1 rows rejected, 2 usage error, 3 a file "
                      "cannot be used, 70 internal error."),
        epilog=t(lang, "Eksempler:", "Examples:") + """
  kadindicators validate --stays opphold.csv --units enheter.csv
  kadindicators validate --stays stays.parquet --format json > report.json
  kadindicators validate --stays stays.xlsx --lang en --issues issues.csv
  kadindicators validate --stays opphold.csv --experience erfaringer.csv \\
      --hospital-admissions sykehusinnleggelser.csv""",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        parents=parents,
    )
    p.add_argument("--stays", required=True, metavar="FILE",
                   help=t(lang, "oppholdsfil (påkrevd)", "stays file (required)"))
    p.add_argument("--units", metavar="FILE", help=t(lang, "enhetsfil", "units file"))
    p.add_argument("--population", metavar="FILE", help=t(lang, "befolkningsfil", "population file"))
    add_optional_tables(p, lang)
    p.add_argument("--format", choices=("text", "json"), default="text",
                   help=t(lang, "utdataformat (standard: text)", "output format (default: text)"))
    p.add_argument("--as-of", metavar="DATE", type=dt.date.fromisoformat,
                   help=t(lang, "uttrekksdato (ÅÅÅÅ-MM-DD); senere tidspunkt er fremtidige",
                          "extract date (YYYY-MM-DD); later times are future dates"))
    p.add_argument("--max-issues", type=int, default=50, metavar="N",
                   help=t(lang, "vis høyst N funn i tekstformatet", "show at most N issues in text format"))
    p.add_argument("--issues", metavar="OUT.csv", type=Path,
                   help=t(lang, "skriv alle funn til en CSV-fil", "write every issue to a CSV file"))
    p.add_argument("--rejected", metavar="OUT.csv", type=Path,
                   help=t(lang, "skriv avviste rader til CSV (inneholder personopplysninger!)",
                          "write rejected rows to CSV (contains personal data!)"))
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from .. import validate

    lang = args.lang
    # The command reads files only: pandas (which pyarrow would import on its first conversion of
    # Python values) is never needed, and leaving it out saves a third of the start-up.
    with pandas_left_unloaded(running_as_program()):
        report = validate(stays=args.stays, units=args.units, population=args.population,
                          experience=args.experience, hospital_admissions=args.hospital_admissions,
                          as_of=args.as_of)
        if args.format == "json":
            sys.stdout.write(report.to_json() + "\n")
        else:
            print(report.summary_text(lang=lang, max_issues=args.max_issues))
        if args.issues:
            write_safe_csv(report.issues, args.issues)
            progress(t(lang, f"Alle funn skrevet til {args.issues}", f"All issues written to {args.issues}"))
        if args.rejected:
            _write_rejected(args, report, lang)
    return 1 if report.has_errors else 0


def _write_rejected(args: argparse.Namespace, report: object, lang: str) -> None:
    import pyarrow as pa
    import pyarrow.compute as pc

    from ..io import read_table

    issues = report.issues  # type: ignore[attr-defined]
    errors = issues.filter(pc.and_(pc.equal(issues["severity"], "error"),
                                   pc.equal(issues["table"], "stays")))
    raw = read_table(args.stays, table="stays")
    bad = pc.is_in(raw.lines, value_set=errors["row"].combine_chunks())
    rows = raw.table.filter(bad)
    lines = raw.lines.filter(bad)
    by_row = errors.group_by("row").aggregate([("rule", "distinct")])
    rules = {r["row"]: ", ".join(sorted(r["rule_distinct"])) for r in by_row.to_pylist()}
    out = rows.add_column(0, "line", lines).add_column(
        1, "rules", pa.array([rules.get(x, "") for x in lines.to_pylist()], pa.string()))
    if len(raw.ragged_lines):  # lines that could not be split into the columns: listed, cells empty
        ragged = pa.table({"line": raw.ragged_lines,
                           "rules": pa.array(["row-ragged"] * len(raw.ragged_lines), pa.string())})
        ragged = pa.table({c: ragged[c] if c in ragged.column_names else pa.nulls(ragged.num_rows, out.schema.field(c).type)
                           for c in out.column_names})
        out = pa.concat_tables([out, ragged.cast(out.schema)]).sort_by("line")
    write_safe_csv(out, args.rejected)
    progress(t(lang,
               f"ADVARSEL: {args.rejected} inneholder avviste rader med personopplysninger; "
               "oppbevar og slett filen etter virksomhetens rutiner.",
               f"WARNING: {args.rejected} holds rejected rows with personal data; keep and delete "
               "it by your organisation's rules."))
