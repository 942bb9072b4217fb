"""``kadindicators spec lint|lock|diff|new|export``: the tools of the indicator standard."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from ._common import t

EXIT_OK, EXIT_FAIL, EXIT_USAGE = 0, 1, 2


def add_parser(sub: argparse._SubParsersAction, lang: str,  # type: ignore[type-arg]
               parents: list[argparse.ArgumentParser]) -> None:
    p = sub.add_parser("spec", help=t(lang, "verktøy for indikatorspesifikasjoner",
                                      "tools for indicator specifications"),
                       parents=parents)
    ssub = p.add_subparsers(dest="spec_command", metavar="lint|lock|diff|new|export")
    ssub.required = True
    raw = argparse.RawDescriptionHelpFormatter
    ex = t(lang, "Eksempler:", "Examples:")

    lint = ssub.add_parser(
        "lint", parents=parents,
        help=t(lang, "valider spesifikasjoner (format, referanser, versjoner, konformitet)",
               "validate specs (format, references, versions, conformance)"),
        epilog=ex + """
  kadindicators spec lint
  kadindicators spec lint spec/indicators/KAD-Q01.yaml --no-conformance""",
        formatter_class=raw)
    lint.add_argument("paths", nargs="*", type=Path, metavar="PATH")
    lint.add_argument("--no-conformance", action="store_true",
                      help=t(lang, "ikke kjør konformitetstestene", "do not run the conformance cases"))
    lint.set_defaults(run=run_lint)

    lock = ssub.add_parser("lock", parents=parents,
                           help=t(lang, "skriv spec/spec.lock (ved utgivelse)", "write spec/spec.lock (at release)"))
    lock.set_defaults(run=run_lock)

    diff = ssub.add_parser(
        "diff", parents=parents,
        help=t(lang, "klassifiser en endring av en spesifikasjon (major/minor/patch)",
               "classify a change of a spec (major/minor/patch)"),
        description=t(lang,
                      "Sammenligner to versjoner av en indikatorspesifikasjon felt for felt, kjører den gamle "
                      "versjonens konformitetstester mot implementasjonen, og sier hvilken versjonsøkning "
                      "spec/VERSIONING.md krever. Avslutter med 1 når den nye versjonen er for lav.",
                      "Compares two versions of an indicator spec field by field, runs the old version's "
                      "conformance cases against the implementation, and says which version bump "
                      "spec/VERSIONING.md requires. Exits with 1 when the new version is too low."),
        epilog=ex + """
  kadindicators spec diff old/KAD-Q01.yaml spec/indicators/KAD-Q01.yaml
  kadindicators spec diff --rev HEAD
  kadindicators spec diff --rev v0.1.0 KAD-Q01 --format json""",
        formatter_class=raw)
    diff.add_argument("paths", nargs="*", metavar="OLD NEW | ID",
                      help=t(lang, "to spesifikasjonsfiler, eller med --rev: indikator-id-er (standard: alle)",
                             "two spec files, or with --rev: indicator ids (default: all)"))
    diff.add_argument("--rev", metavar="GITREV",
                      help=t(lang, "sammenlign arbeidstreet med denne git-revisjonen (uten nettverk)",
                             "compare the working tree with this git revision (no network)"))
    diff.add_argument("--old-conformance", type=Path, metavar="DIR",
                      help=t(lang, "mappen med den gamle versjonens konformitetstester",
                             "the folder of the old version's conformance cases"))
    diff.add_argument("--spec-root", type=Path, metavar="DIR",
                      help=t(lang, "spesifikasjonsmappen (standard: spec/)", "the spec root (default: spec/)"))
    diff.add_argument("--no-conformance", action="store_true",
                      help=t(lang, "ikke kjør de gamle konformitetstestene", "do not run the old conformance cases"))
    diff.add_argument("--format", choices=("text", "json"), default="text")
    diff.set_defaults(run=run_diff)

    new = ssub.add_parser(
        "new", parents=parents,
        help=t(lang, "lag et utkast til en ny indikator med konformitetsmal",
               "scaffold a draft indicator with a conformance template"),
        epilog=ex + """
  kadindicators spec new KAD-Q09 --title-nb "Andel ..." --title-en "Share of ..."
  kadindicators spec new KAD-U09 --title-nb "..." --title-en "..." --unit rate_per_1000 --type utilisation""",
        formatter_class=raw)
    new.add_argument("indicator_id", metavar="ID", help=t(lang, "ny id, f.eks. KAD-Q09", "new id, e.g. KAD-Q09"))
    new.add_argument("--title-nb", required=True, help=t(lang, "tittel på norsk", "title in Norwegian"))
    new.add_argument("--title-en", required=True, help=t(lang, "tittel på engelsk", "title in English"))
    new.add_argument("--unit", default="proportion",
                     choices=("proportion", "rate_per_1000", "mean", "median", "ratio"))
    new.add_argument("--type", dest="indicator_type", default="process",
                     choices=("structure", "process", "outcome", "patient-reported", "utilisation", "equity"))
    new.add_argument("--spec-root", type=Path, default=Path("spec"), metavar="DIR",
                     help=t(lang, "spesifikasjonsmappen det skrives i (standard: ./spec)",
                            "the spec root to write in (default: ./spec)"))
    new.set_defaults(run=run_new)

    export = ssub.add_parser(
        "export", parents=parents,
        help=t(lang, "eksporter til nasjonal mal (Markdown/HTML) eller FHIR Measure",
               "export to the national template (Markdown/HTML) or FHIR Measure"),
        epilog=ex + """
  kadindicators spec export KAD-Q01 --format national-md -o KAD-Q01.md
  kadindicators spec export --all --format national-html --lang en -o catalogue.html
  kadindicators spec export KAD-Q01 KAD-U04 --format fhir-measure -o measures.json""",
        formatter_class=raw)
    export.add_argument("ids", nargs="*", metavar="ID")
    export.add_argument("--all", action="store_true", help=t(lang, "alle indikatorer", "every indicator"))
    export.add_argument("--format", required=True, choices=("national-md", "national-html", "fhir-measure"))
    export.add_argument("-o", "--out", type=Path, metavar="OUT",
                        help=t(lang, "utfil (standard: standard ut)", "output file (default: standard output)"))
    export.add_argument("--spec-root", type=Path, metavar="DIR",
                        help=t(lang, "spesifikasjonsmappen (standard: spec/)", "the spec root (default: spec/)"))
    export.add_argument("--base-url", default=None, metavar="URL",
                        help=t(lang, "basis for kanoniske FHIR-URL-er", "base of the canonical FHIR URLs"))
    export.set_defaults(run=run_export)


def _usage(args: argparse.Namespace, nb: str, en: str) -> int:
    print(t(args.lang, "Feil i argumentene: ", "Invalid arguments: ") + t(args.lang, nb, en), file=sys.stderr)
    return EXIT_USAGE


def run_lint(args: argparse.Namespace) -> int:
    from ..spec.lint import lint

    issues = lint(args.paths or None, run_conformance=not args.no_conformance)
    for issue in issues:
        print(issue.format(args.lang))
    # a lint that marks issues with a severity: only errors fail (warnings, e.g. TODO in a draft, do not)
    errors = [i for i in issues if getattr(i, "severity", "error") == "error"]
    if errors:
        print(t(args.lang, f"{len(errors)} problem(er) funnet.", f"{len(errors)} problem(s) found."))
        return EXIT_FAIL
    if issues:
        print(t(args.lang, f"Ingen feil, {len(issues)} advarsel(er).", f"No errors, {len(issues)} warning(s)."))
        return EXIT_OK
    print(t(args.lang, "Ingen problemer funnet.", "No problems found."))
    return EXIT_OK


def run_lock(args: argparse.Namespace) -> int:
    from ..spec.indicators import load_indicators
    from ..spec.lint import write_lock

    path = write_lock(load_indicators().values())
    print(t(args.lang, f"Skrev {path}", f"Wrote {path}"))
    return EXIT_OK


def run_diff(args: argparse.Namespace) -> int:
    from ..spec.diff import diff_files, diff_revision

    if args.rev is not None:
        if args.old_conformance is not None:
            return _usage(args, "--old-conformance kan ikke brukes med --rev",
                          "--old-conformance cannot be used with --rev")
        result = diff_revision(args.rev, root=args.spec_root, ids=[str(p) for p in args.paths],
                               run_conformance=not args.no_conformance)
        ok, data, text = result.ok, result.to_dict(), result.text(args.lang)
    else:
        if len(args.paths) != 2:
            return _usage(args, "oppgi to filer (GAMMEL NY) eller --rev GITREV",
                          "give two files (OLD NEW) or --rev GITREV")
        if args.spec_root is not None:
            return _usage(args, "--spec-root brukes bare med --rev", "--spec-root is only used with --rev")
        d = diff_files(Path(args.paths[0]), Path(args.paths[1]), old_conformance=args.old_conformance,
                       run_conformance=not args.no_conformance)
        ok, data, text = d.ok, d.to_dict(), d.text(args.lang)
    if args.format == "json":
        print(json.dumps(data, ensure_ascii=False, indent=2, default=str))
    else:
        print(text)
    return EXIT_OK if ok else EXIT_FAIL


def run_new(args: argparse.Namespace) -> int:
    import re

    from ..spec.indicators import format_schema
    from ..spec.scaffold import new_indicator

    pattern = str(format_schema()["properties"]["id"]["pattern"])
    if not re.fullmatch(pattern, args.indicator_id):
        return _usage(args, f"id {args.indicator_id!r} passer ikke med {pattern} (f.eks. KAD-Q09)",
                      f"id {args.indicator_id!r} does not match {pattern} (e.g. KAD-Q09)")
    for name, value in (("--title-nb", args.title_nb), ("--title-en", args.title_en)):
        if not value.strip() or len(value) > 200 or any(ord(c) < 32 for c in value):
            return _usage(args, f"{name} må være én linje med 1 til 200 tegn",
                          f"{name} must be one line of 1 to 200 characters")
    made = new_indicator(args.indicator_id, title_nb=args.title_nb, title_en=args.title_en, unit=args.unit,
                         indicator_type=args.indicator_type, root=args.spec_root)
    print(t(args.lang, f"Skrev {made.spec_path}", f"Wrote {made.spec_path}"))
    print(t(args.lang, f"Skrev {made.case_path}", f"Wrote {made.case_path}"))
    print(t(args.lang,
            "Erstatt hver tekst som begynner med TODO, og kjør så "
            f"`kadindicators spec lint {made.spec_path} --no-conformance`.",
            "Replace every text that starts with TODO, then run "
            f"`kadindicators spec lint {made.spec_path} --no-conformance`."))
    return EXIT_OK


def run_export(args: argparse.Namespace) -> int:
    from ..spec.export import FHIR_BASE_URL, export

    if args.all and args.ids:
        return _usage(args, "oppgi id-er eller --all, ikke begge", "give ids or --all, not both")
    if not args.all and not args.ids:
        return _usage(args, "oppgi minst én indikator-id, eller --all", "give at least one indicator id, or --all")
    base = args.base_url or FHIR_BASE_URL
    if not base.startswith(("https://", "http://", "urn:")):
        return _usage(args, f"--base-url må være en URL, ikke {base!r}", f"--base-url must be a URL, not {base!r}")
    text = export([] if args.all else list(args.ids), args.format, lang=args.lang, root=args.spec_root,
                  base_url=base)
    if args.out is None or str(args.out) == "-":
        sys.stdout.write(text)
        return EXIT_OK
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(text, encoding="utf-8")
    print(t(args.lang, f"Skrev {args.out}", f"Wrote {args.out}"), file=sys.stderr)
    return EXIT_OK
