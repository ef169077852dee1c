"""``tnreg verify``: check the registered claims and print the table.

Examples::

    tnreg verify --quick                      # every claim at small sizes (minutes on 2 cores)
    tnreg verify --claim cp-rate --claim htf-rate --json results.json

Exit status 0 when every claim passes, 1 when any fails, 2 on a bad flag or an unknown claim.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

__all__ = ["add_parser", "main_verify"]


def add_parser(subparsers) -> argparse.ArgumentParser:
    """Add the ``verify`` subcommand to ``tnreg``'s subparsers."""
    parser = subparsers.add_parser(
        "verify",
        help="check the theory's claims numerically (rates, invariants, incremental learning)",
        description=__doc__.splitlines()[0],
    )
    parser.add_argument("--quick", action="store_true", help="small sizes (tests, CI)")
    parser.add_argument(
        "--claim", action="append", metavar="NAME", default=None,
        help="run only this claim (repeatable); default: all",
    )  # fmt: skip
    parser.add_argument("--json", metavar="FILE", default=None, help="also write the results")
    parser.add_argument("--list", action="store_true", help="list the claims and exit")
    parser.set_defaults(run=main_verify)
    return parser


def main_verify(args: argparse.Namespace) -> int:
    """Run the claims named in ``args``; returns the exit status."""
    from tnreg.theory.claims import (
        ClaimError,
        format_table,
        get_claims,
        results_to_json,
        run_claims,
    )

    try:
        claims = get_claims(args.claim)
    except ClaimError as err:
        print(f"tnreg verify: {err}", file=sys.stderr)
        return 2
    if args.list:
        for c in claims:
            print(f"{c.name:<20} {c.status:<10} {c.citation}")
        return 0
    start = time.perf_counter()

    def progress(result) -> None:
        mark = "PASS" if result.passed else "FAIL"
        print(f"  {mark} {result.name} ({result.seconds:.1f}s)", file=sys.stderr, flush=True)

    results = run_claims([c.name for c in claims], quick=args.quick, progress=progress)
    print(format_table(results))
    for r in results:
        print(f"{r.name}: {r.detail}")
    failed = [r.name for r in results if not r.passed]
    wall = time.perf_counter() - start
    print(f"{len(results) - len(failed)}/{len(results)} claims passed in {wall:.1f}s"
          + (f"; FAILED: {', '.join(failed)}" if failed else ""))  # fmt: skip
    if args.json:
        Path(args.json).write_text(results_to_json(results) + "\n")
    return 1 if failed else 0
