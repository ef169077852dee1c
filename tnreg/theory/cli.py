"""``tnreg verify``: check the registered claims, or run the mutation self-test.

Examples::

    tnreg verify --quick                        # every claim at small sizes
    tnreg verify --list                         # the claims, their status and citation
    tnreg verify --claim cp-rate --claim dmf-rate --json results.json
    tnreg verify --module my_claims.py          # also the claims a file of yours registers
    tnreg verify --module mypkg.claims --claim my-claim
    tnreg verify --mutants --quick              # kill matrix: each claim under each mutant

Exit status: 0 when every claim passes (with --mutants: when every mutant is killed by at
least one claim), 1 otherwise, 2 on a bad flag, an unknown claim or a module that fails to load.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

__all__ = ["add_parser", "main_verify"]


class _Formatter(argparse.RawDescriptionHelpFormatter, argparse.ArgumentDefaultsHelpFormatter):
    """Keep the examples' layout and show every flag's default."""


def add_parser(subparsers) -> argparse.ArgumentParser:
    """Add the ``verify`` subcommand to ``tnreg``'s subparsers."""
    parser = subparsers.add_parser(
        "verify",
        help="check the theory's claims numerically (each with a negative control)",
        description=__doc__.replace("``", "").replace("Examples::", "Examples:"),
        formatter_class=_Formatter,
    )
    parser.add_argument("--quick", action="store_true", help="small sizes (tests, CI)")
    parser.add_argument(
        "--claim", action="append", metavar="NAME", default=None,
        help="run only this claim (repeatable; when absent: every claim)",
    )  # fmt: skip
    parser.add_argument(
        "--module", action="append", metavar="MODULE_OR_FILE", default=None,
        help="import a module (dotted name or .py file) whose @register claims join the run "
        "(repeatable)",
    )  # fmt: skip
    parser.add_argument("--json", metavar="FILE", default=None, help="also write the results")
    parser.add_argument("--list", action="store_true", help="list the claims and exit")
    parser.add_argument(
        "--mutants", action="store_true",
        help="run the claims under each built-in mutant and print the kill matrix",
    )  # fmt: skip
    parser.add_argument(
        "--mutant", action="append", metavar="NAME", default=None,
        help="with --mutants: only this mutant (repeatable; when absent: every mutant)",
    )  # fmt: skip
    parser.add_argument(
        "--timeout", type=float, metavar="SECONDS", default=300.0,
        help="with --mutants: stop a claim a mutant made slower than this (shown T, no kill)",
    )  # fmt: skip
    parser.add_argument(
        "--markdown", action="store_true", help="print the tables as Markdown"
    )  # fmt: skip
    parser.set_defaults(run=main_verify)
    return parser


def main_verify(args: argparse.Namespace) -> int:
    """Run the claims (or the mutation self-test) named in ``args``; returns the exit status."""
    from tnreg.theory.claims import ClaimError, get_claims, load_claims

    try:
        for module in getattr(args, "module", None) or ():
            load_claims(module)
        claims = get_claims(args.claim)
    except ClaimError as err:
        print(f"tnreg verify: {err}", file=sys.stderr)
        return 2
    if args.list:
        for c in claims:
            print(f"{c.name:<22} {c.status:<12} {c.citation}")
        return 0
    if getattr(args, "mutants", False):
        return _mutants(claims, args)
    return _verify(claims, args)


def _verify(claims, args) -> int:
    from tnreg.theory.claims import run_claims
    from tnreg.theory.report import format_table, results_to_json

    start = time.perf_counter()

    def progress(result) -> None:
        mark = "PASS" if result.passed else "FAIL"
        print(f"  {mark} {result.name} ({result.seconds:.1f}s)", file=sys.stderr, flush=True)

    results = run_claims([c.name for c in claims], quick=args.quick, progress=progress)
    print(format_table(results, markdown=getattr(args, "markdown", False)))
    for r in results:
        print(f"{r.name}: {r.detail}")
    failed = [r.name for r in results if not r.passed]
    wall = time.perf_counter() - start
    print(f"{len(results) - len(failed)}/{len(results)} claims passed in {wall:.1f}s"
          + (f"; FAILED: {', '.join(failed)}" if failed else ""))  # fmt: skip
    if args.json:
        Path(args.json).write_text(results_to_json(results) + "\n")
    return 1 if failed else 0


def _mutants(claims, args) -> int:
    from tnreg.theory.claims import run_claims
    from tnreg.theory.mutants import MUTANTS, kill_matrix
    from tnreg.theory.report import format_kill_matrix

    start = time.perf_counter()
    baseline = run_claims([c.name for c in claims], quick=args.quick)
    broken = [r.name for r in baseline if not r.passed]
    if broken:
        print(f"not used (they fail on the real code): {', '.join(broken)}")

    def progress(mutant: str, result) -> None:
        mark = "survived" if result.passed else "KILLED"
        print(f"  {mutant} / {result.name}: {mark} ({result.seconds:.1f}s)", file=sys.stderr,
              flush=True)  # fmt: skip

    chosen = _chosen_mutants(MUTANTS, getattr(args, "mutant", None))
    if chosen is None:
        return 2
    matrix = kill_matrix(
        claims, chosen, quick=args.quick, baseline=baseline, progress=progress,
        timeout=getattr(args, "timeout", None),
    )  # fmt: skip
    names = [c.name for c in claims]
    print(format_kill_matrix(matrix, names_given=names, markdown=getattr(args, "markdown", False)))
    survivors = [m for m, rs in matrix.items() if all(r is None or r.passed for r in rs)]
    wall = time.perf_counter() - start
    print(f"{len(matrix) - len(survivors)}/{len(matrix)} mutants killed in {wall:.1f}s"
          + (f"; SURVIVED every claim: {', '.join(survivors)}" if survivors else ""))  # fmt: skip
    return 1 if survivors else 0


def _chosen_mutants(mutants, names):
    if not names:
        return list(mutants)
    known = {m.name: m for m in mutants}
    unknown = [n for n in names if n not in known]
    if unknown:
        print(f"tnreg verify: unknown mutant(s) {unknown!r}; built-in mutants: {list(known)}",
              file=sys.stderr)  # fmt: skip
        return None
    return [known[n] for n in names]
