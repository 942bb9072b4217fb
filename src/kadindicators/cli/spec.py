"""``kadindicators spec lint|lock``: machine checks of the indicator standard."""

from __future__ import annotations

import argparse
from pathlib import Path

from ._common import t


def add_parser(sub: argparse._SubParsersAction, lang: str,  # type: ignore[type-arg]
               parents: list[argparse.ArgumentParser]) -> None:
    p = sub.add_parser("spec", help=t(lang, "sjekk indikatorspesifikasjoner", "check indicator specifications"),
                       parents=parents)
    ssub = p.add_subparsers(dest="spec_command", metavar="lint|lock")
    ssub.required = True
    lint = ssub.add_parser(
        "lint", parents=parents,
        help=t(lang, "valider spesifikasjoner (format, referanser, versjoner, konformitet)",
               "validate specs (format, references, versions, conformance)"),
        epilog=t(lang, "Eksempler:", "Examples:") + """
  kadindicators spec lint
  kadindicators spec lint spec/indicators/KAD-Q01.yaml --no-conformance""",
        formatter_class=argparse.RawDescriptionHelpFormatter)
    lint.add_argument("paths", nargs="*", type=Path, metavar="PATH")
    lint.add_argument("--no-conformance", action="store_true",
                      help=t(lang, "ikke kjør konformitetstestene", "do not run the conformance cases"))
    lint.set_defaults(run=run_lint)
    lock = ssub.add_parser("lock", parents=parents,
                           help=t(lang, "skriv spec/spec.lock (ved utgivelse)", "write spec/spec.lock (at release)"))
    lock.set_defaults(run=run_lock)


def run_lint(args: argparse.Namespace) -> int:
    from ..spec.lint import lint

    issues = lint(args.paths or None, run_conformance=not args.no_conformance)
    for issue in issues:
        print(issue.format(args.lang))
    if issues:
        print(t(args.lang, f"{len(issues)} problem(er) funnet.", f"{len(issues)} problem(s) found."))
        return 1
    print(t(args.lang, "Ingen problemer funnet.", "No problems found."))
    return 0


def run_lock(args: argparse.Namespace) -> int:
    from ..spec.indicators import load_indicators
    from ..spec.lint import write_lock

    path = write_lock(load_indicators().values())
    print(t(args.lang, f"Skrev {path}", f"Wrote {path}"))
    return 0
