"""The ``tnreg sweep`` subcommand (added to :mod:`tnreg.cli`).

``tnreg sweep SWEEP.toml`` runs a sweep (``--dry-run`` lists its points and tasks);
``tnreg sweep report DIR`` prints its table over seeds and draws its figures. Both return 0 on
success, 2 with one line on stderr on a bad input, 1 when runs failed and 130 when the sweep
was interrupted (rerun the same command to go on).
"""

from __future__ import annotations

import argparse
import sys
from typing import Any

from tnreg.errors import report_error

__all__ = ["add_sweep"]

SWEEP_EXAMPLE = """\
examples:
  tnreg sweep examples/sweeps/cp-incremental-quick.toml --dry-run   # list the runs
  tnreg sweep examples/sweeps/cp-incremental-quick.toml --out runs/cp-sweep
  tnreg sweep examples/sweeps/cp-incremental-quick.toml --out runs/cp-sweep   # again: resumes
  tnreg sweep sweep.toml --engine ray                       # a local Ray instance
  tnreg sweep sweep.toml --engine ray --address auto        # the Ray cluster of this machine
  tnreg sweep report runs/cp-sweep --metric normalized_error --x init_std

A sweep file holds a base config (any `tnreg train` config, or a locality setting), [grid]
axes and/or [[points]], and seeds; see docs/sweeps.md and examples/sweeps/.
"""


def _count(text: str) -> int:
    """An argparse type: an int >= 1."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected an int >= 1; got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected an int >= 1; got {value}")
    return value


def _print_outcome(outcome: dict[str, Any]) -> None:
    extra = f" ({outcome['error']})" if outcome.get("error") else ""
    where = f" [{outcome['pack']}]" if outcome.get("pack") else ""
    print(f"  {outcome['status']:<11} {outcome['name']}{where}{extra}", flush=True)


def _dry_run(spec, pack: bool | None) -> int:
    from tnreg.sweep.execute import plan

    points, tasks = plan(spec, pack=pack)
    print(f"sweep {spec.name!r} ({spec.kind}): {len(points)} runs in {len(tasks)} tasks")
    for task in tasks:
        if task.pack is None:
            print(f"  {task.points[0].name}")
        else:
            print(f"  pack {task.pack} ({len(task.points)} members):")
            for p in task.points:
                print(f"    {p.name}")
    return 0


def _run(args: argparse.Namespace) -> int:
    from tnreg.sweep.execute import make_engine, run_sweep
    from tnreg.sweep.spec import load_sweep

    try:
        spec = load_sweep(args.spec)
        pack = False if args.no_pack else None
        if args.dry_run:
            return _dry_run(spec, pack)
        engine = make_engine(
            args.engine, workers=args.workers, threads=args.threads, address=args.address, spec=spec
        )
        out = args.out or f"runs/{spec.name}"
        print(f"sweep {spec.name!r} -> {out} on {engine!r}", flush=True)
        result = run_sweep(spec, out, engine=engine, pack=pack, on_outcome=_print_outcome)
    except (ValueError, TypeError, OSError, ImportError) as err:
        return report_error("sweep", err)
    counts = ", ".join(f"{n} {s}" for s, n in sorted(result.counts().items()))
    print(f"{counts} in {result.seconds:.1f} s; results in {result.out / 'results.csv'}")
    if result.interrupted:
        print(f"interrupted: rerun the same command to resume ({args.spec} --out {result.out})")
        return 130
    return 1 if result.counts().get("failed") else 0


def _report(args: argparse.Namespace) -> int:
    from tnreg.sweep.report import report

    try:
        if args.dir is None:
            raise ValueError("missing DIR: tnreg sweep report DIR (a sweep directory)")
        text, written = report(
            args.dir,
            metrics=args.metric or (),
            x=args.x,
            curve=args.curve,
            figures=not args.no_figures,
            formats=args.format or ("png",),
        )
    except (ValueError, TypeError, OSError, ImportError) as err:
        return report_error("sweep report", err)
    print(text)
    if written:
        print(f"\n{len(written)} figures in {written[0].parent}")
    return 0


def _dispatch(args: argparse.Namespace) -> int:
    if args.spec == "report":
        return _report(args)
    if args.dir is not None:
        print(
            f"tnreg sweep: error: unexpected argument {args.dir!r} (see tnreg sweep --help)",
            file=sys.stderr,
        )
        return 2
    return _run(args)


def add_sweep(sub, formatter: type[argparse.HelpFormatter]) -> None:
    """Add ``sweep SWEEP.toml [...]`` and ``sweep report DIR [...]``."""
    p = sub.add_parser(
        "sweep",
        help="run many trainings from one sweep file (local processes or a Ray cluster)",
        description="tnreg sweep SWEEP.toml: run every point of a sweep (axes x seeds), one run "
        "directory each, into one sweep directory with results.csv; rerunning resumes. "
        "tnreg sweep report DIR: the table over seeds (mean ± std) and the figures.",
        epilog=SWEEP_EXAMPLE,
        formatter_class=formatter,
    )
    p.add_argument("spec", metavar="SWEEP.toml|report", help="a sweep file, or 'report'")
    p.add_argument(
        "dir", nargs="?", metavar="DIR", default=None, help="with 'report': the sweep directory"
    )
    _add_run_flags(p.add_argument_group("running a sweep"))
    _add_report_flags(p.add_argument_group("report DIR"))
    p.set_defaults(run=_dispatch)


def _add_run_flags(run) -> None:
    run.add_argument(
        "--engine",
        choices=("local", "ray", "serial"),
        default="local",
        help="local processes, Ray tasks (pip install 'tnreg[ray]') or one "
        "run after another in this process",
    )
    run.add_argument(
        "--address",
        default=None,
        metavar="auto|HOST:PORT",
        help="Ray cluster to join (default: start a local Ray instance)",
    )
    run.add_argument(
        "--workers",
        type=_count,
        default=None,
        metavar="N",
        help="parallel runs (local) or CPUs of a local Ray instance (default: the number of cores)",
    )
    run.add_argument(
        "--threads",
        type=_count,
        default=None,
        metavar="N",
        help="torch threads per run (default: cores // workers; Ray: the sweep's resources.cpus)",
    )
    run.add_argument(
        "--out", metavar="DIR", default=None, help="sweep directory (default: runs/<sweep name>)"
    )
    run.add_argument("--dry-run", action="store_true", help="list the runs and packs, run nothing")
    run.add_argument(
        "--no-pack",
        action="store_true",
        help="run every point alone (default: the sweep file's pack)",
    )


def _add_report_flags(rep) -> None:
    rep.add_argument(
        "--metric",
        action="append",
        default=None,
        metavar="NAME",
        help="final metric, repeatable (default: the sweep's metrics, else all)",
    )
    rep.add_argument(
        "--x", default=None, metavar="AXIS", help="axis of the figures (default: the first axis)"
    )
    rep.add_argument(
        "--curve",
        default=None,
        metavar="METRIC",
        help="tracked metric over steps (default: the sweep's curve)",
    )
    rep.add_argument(
        "--format",
        action="append",
        choices=("png", "pdf"),
        default=None,
        help="figure format, repeatable (default: png)",
    )
    rep.add_argument("--no-figures", action="store_true", help="print the table only")
