"""The ``kadindicators`` command line.

Exit codes: 0 success (warnings allowed), 1 data rejected, 2 usage error
(argparse), 3 an input cannot be used, 70 internal error.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence

from .._version import __version__
from ._common import t

EXIT_OK, EXIT_DATA, EXIT_USAGE, EXIT_INPUT, EXIT_INTERNAL = 0, 1, 2, 3, 70


def _pre_lang(argv: Sequence[str]) -> str:
    for i, a in enumerate(argv):
        if a == "--lang" and i + 1 < len(argv):
            return "en" if argv[i + 1] == "en" else "nb"
        if a.startswith("--lang="):
            return "en" if a.split("=", 1)[1] == "en" else "nb"
    env = os.environ.get("KADINDICATORS_LANG", "nb")
    return "en" if env == "en" else "nb"


def build_parser(lang: str = "nb") -> argparse.ArgumentParser:
    """Build the argument parser (help texts in ``lang``)."""
    from . import compute, demo, national_form, report, spec, synth, validate

    def common(default: bool) -> argparse.ArgumentParser:
        # Options accepted before and after the command; only the top level sets defaults,
        # so a subcommand never resets an option given before it.
        c = argparse.ArgumentParser(add_help=False)
        c.add_argument("--lang", choices=("nb", "en"),
                       default=lang if default else argparse.SUPPRESS,
                       help=t(lang, "språk for meldinger (nb eller en)", "language of messages (nb or en)"))
        c.add_argument("--debug", action="store_true",
                       default=False if default else argparse.SUPPRESS,
                       help=t(lang, "vis full feilsporing ved interne feil",
                              "show tracebacks on internal errors"))
        return c

    parser = argparse.ArgumentParser(
        prog="kadindicators", parents=[common(True)],
        description=t(lang,
                      "Enhetlig rapportering og kvalitetsindikatorer for kommunale akutte døgnplasser (KAD).",
                      "Uniform reporting and quality indicators for municipal acute beds (KAD)."),
    )
    parser.add_argument("--version", action="version", version=f"kadindicators {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True
    for mod in (validate, compute, national_form, report, spec, synth, demo):
        mod.add_parser(sub, lang, [common(False)])
    return parser


# argparse's own words (usage, options, its error messages) in Norwegian bokmål
_ARGPARSE_NB = {
    "usage: ": "bruk: ",
    "options": "valg",
    "positional arguments": "posisjonelle argumenter",
    "show this help message and exit": "vis denne hjelpeteksten og avslutt",
    "show program's version number and exit": "vis versjonsnummeret og avslutt",
    "%(prog)s: error: %(message)s\n": "%(prog)s: feil: %(message)s\n",
    "argument %(argument_name)s: %(message)s": "argumentet %(argument_name)s: %(message)s",
    "the following arguments are required: %s": "disse argumentene mangler: %s",
    "unrecognized arguments: %s": "ukjente argumenter: %s",
    "invalid choice: %(value)r (choose from %(choices)s)": "ugyldig valg: %(value)r (velg blant %(choices)s)",
    "invalid %(type)s value: %(value)r": "ugyldig %(type)s-verdi: %(value)r",
    "expected one argument": "forventet ett argument",
    "expected at least one argument": "forventet minst ett argument",
    "expected at most one argument": "forventet høyst ett argument",
    "ambiguous option: %(option)s could match %(matches)s": "tvetydig valg: %(option)s kan være %(matches)s",
    "not allowed with argument %s": "ikke tillatt sammen med argumentet %s",
    "one of the arguments %s is required": "ett av argumentene %s må gis",
}


def _parse(argv: list[str], lang: str) -> argparse.Namespace:
    """Build the parser and parse, with argparse's own words in ``lang`` (restored afterwards)."""
    original = argparse._  # type: ignore[attr-defined]
    if lang == "nb":
        argparse._ = lambda text: _ARGPARSE_NB.get(text, original(text))  # type: ignore[attr-defined]
    try:
        return build_parser(lang).parse_args(argv)  # exits with 2 on usage errors
    finally:
        argparse._ = original  # type: ignore[attr-defined]


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; return the exit code."""
    argv = list(sys.argv[1:] if argv is None else argv)
    lang = _pre_lang(argv)
    args = _parse(argv, lang)
    from ..errors import InputError, KadError, SpecError

    try:
        return int(args.run(args))
    except (InputError, SpecError) as exc:
        print(t(lang, "Feil: ", "Error: ") + exc.message(lang), file=sys.stderr)
        return EXIT_INPUT
    except KadError as exc:
        print(t(lang, "Feil: ", "Error: ") + exc.message(lang), file=sys.stderr)
        return EXIT_INPUT
    except (ValueError, TypeError) as exc:  # arguments the API refuses (a bad --by, --as-of, ...)
        print(t(lang, "Feil i argumentene: ", "Invalid arguments: ") + str(exc), file=sys.stderr)
        return EXIT_USAGE
    except BrokenPipeError:  # the reader went away (e.g. `| head`): stop quietly, as other tools do
        try:
            sys.stdout = open(os.devnull, "w")  # noqa: SIM115  (swallow Python's flush at exit)
        except OSError:
            pass
        return EXIT_OK
    except OSError as exc:  # an output or input path that cannot be used
        print(t(lang, "Feil: kan ikke bruke ", "Error: cannot use ") + f"{exc.filename}: {exc.strerror}",
              file=sys.stderr)
        return EXIT_INPUT
    except KeyboardInterrupt:
        return 130
    except Exception as exc:  # the last resort: one bilingual line, a traceback only on request
        if getattr(args, "debug", False):
            raise
        print(f"Intern feil i kadindicators ({type(exc).__name__}); meld gjerne fra med --debug-utskrift. / "
              f"Internal error in kadindicators ({type(exc).__name__}); please report it with the --debug output.",
              file=sys.stderr)
        return EXIT_INTERNAL
