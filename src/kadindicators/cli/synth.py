"""``kadindicators synth``: write a synthetic region (CSV and Parquet)."""

from __future__ import annotations

import argparse
from pathlib import Path

from ._common import progress, t


def parse_years(text: str) -> tuple[int, ...]:
    """Parse ``2024`` or ``2024-2025`` into a tuple of years."""
    a, _, b = text.partition("-")
    lo, hi = int(a), int(b or a)
    if hi < lo or lo < 2000 or hi > 2100:
        raise argparse.ArgumentTypeError(f"invalid year range {text!r}")
    return tuple(range(lo, hi + 1))


def add_parser(sub: argparse._SubParsersAction, lang: str,  # type: ignore[type-arg]
               parents: list[argparse.ArgumentParser]) -> None:
    p = sub.add_parser(
        "synth",
        help=t(lang, "lag en syntetisk region (bare syntetiske data)",
               "make a synthetic region (synthetic data only)"),
        epilog=t(lang, "Eksempel:", "Example:") + "\n  kadindicators synth --out data --years 2024-2025 --seed 1",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        parents=parents,
    )
    p.add_argument("--out", required=True, type=Path, metavar="DIR")
    p.add_argument("--years", type=parse_years, default=(2024, 2025), metavar="YYYY[-YYYY]")
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--scale", type=float, default=1.0,
                   help=t(lang, "volumfaktor (1.0 = kalibrert)", "volume factor (1.0 = calibrated)"))
    p.add_argument("--norwegian-csv", action="store_true",
                   help=t(lang, "skriv også opphold som norsk Excel-CSV (; og Windows-1252)",
                          "also write stays as a Norwegian Excel CSV (; and Windows-1252)"))
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from .. import synth

    region = synth.generate(years=args.years, seed=args.seed, scale=args.scale)
    paths = synth.write(region, args.out)
    if args.norwegian_csv:
        paths["stays_no.csv"] = synth.write_norwegian_csv(region.stays, args.out / "stays_no.csv",
                                                         table_name="stays")
    for name, path in paths.items():
        progress(f"  {name}: {path}")
    progress(t(args.lang, f"{region.stays.num_rows} syntetiske opphold skrevet til {args.out}",
               f"{region.stays.num_rows} synthetic stays written to {args.out}"))
    return 0
