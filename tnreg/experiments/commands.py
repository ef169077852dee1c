"""The ``tnreg plot`` and ``tnreg reproduce`` subcommands (added to :mod:`tnreg.cli`).

Each ``add_*`` function adds one subparser; its ``run`` returns the exit status: 0 on success,
2 with one line on stderr (no traceback) on a bad argument, a missing run directory or a
missing optional dependency.
"""

from __future__ import annotations

import argparse

from tnreg.errors import report_error

__all__ = ["add_plot", "add_reproduce"]

PLOT_EXAMPLE = """\
examples:
  tnreg plot runs/cp-small                       # figures into runs/cp-small/figures
  tnreg plot runs/init-5e-3 runs/init-5e-2 --out figs/inits   # overlay two runs
  tnreg plot runs/cp-small --format png
"""

REPRODUCE_EXAMPLE = """\
examples:
  tnreg reproduce cp-incremental --quick          # CPU, minutes: runs/cp-incremental-quick
  tnreg reproduce htf-incremental --out runs/htf --device cuda
  tnreg reproduce rank-complexity --quick --no-figures

presets:
{presets}
"""


def _plot(args: argparse.Namespace) -> int:
    try:
        from tnreg.plots import plot_runs

        written = plot_runs(args.run_dirs, args.out, formats=args.format or ("png", "pdf"))
    except (ValueError, TypeError, OSError, ImportError) as err:
        return report_error("plot", err)
    print(f"{len(written)} files in {written[0].parent}:")
    for path in written:
        print(f"  {path.name}")
    return 0


def add_plot(sub, formatter: type[argparse.HelpFormatter]) -> None:
    """Add ``plot RUN_DIR... [--out DIR] [--format png|pdf]``."""
    plot = sub.add_parser(
        "plot",
        help="draw the papers' figures from run directories (PNG and PDF)",
        description="Component norms, local component norms, node singular values, effective "
        "ranks, errors and the mode tree with its ranks; several runs are overlaid.",
        epilog=PLOT_EXAMPLE,
        formatter_class=formatter,
    )
    plot.add_argument("run_dirs", nargs="+", metavar="RUN_DIR", help="run directories to plot")
    plot.add_argument(
        "--out", metavar="DIR", default=None,
        help="folder for the figures (default: figures/ of the first run)",
    )  # fmt: skip
    plot.add_argument(
        "--format", action="append", choices=("png", "pdf"), default=None,
        help="file format, repeatable (default: png and pdf)",
    )  # fmt: skip
    plot.set_defaults(run=_plot)


def _reproduce(args: argparse.Namespace) -> int:
    from tnreg.experiments.reproduce import reproduce

    try:
        result = reproduce(
            args.name, quick=args.quick, out=args.out, device=args.device,
            figures=not args.no_figures,
        )  # fmt: skip
    except (ValueError, TypeError, OSError, ImportError) as err:
        return report_error("reproduce", err)
    print(f"done in {result.seconds:.0f} s; runs in {result.out}")
    return 0


def add_reproduce(sub, formatter: type[argparse.HelpFormatter]) -> None:
    """Add ``reproduce NAME [--quick] [--out DIR] [--device D] [--no-figures]``."""
    from tnreg.experiments.presets import PRESETS

    listing = "\n".join(f"  {name:<22} {p.title}" for name, p in PRESETS.items())
    rep = sub.add_parser(
        "reproduce",
        help="run a paper experiment (preset): train, plot, summarize",
        description="Train the runs of a preset, write run directories and figures, print the "
        "rise steps, final norms and errors next to the paper's.",
        epilog=REPRODUCE_EXAMPLE.format(presets=listing),
        formatter_class=formatter,
    )
    rep.add_argument("name", metavar="NAME", choices=sorted(PRESETS), help="preset (see below)")
    rep.add_argument(
        "--quick", action="store_true", help="the CPU variant: minutes (default: full setting)"
    )
    rep.add_argument(
        "--out", metavar="DIR", default=None, help="output folder (default: runs/NAME[-quick])"
    )
    rep.add_argument(
        "--device", choices=("auto", "cpu", "cuda"), default=None,
        help="device of every run (default: the preset's, auto = CUDA when available)",
    )  # fmt: skip
    rep.add_argument(
        "--no-figures", action="store_true", help="skip the figures (default: draw them)"
    )
    rep.set_defaults(run=_reproduce)
