"""``tnreg entanglement DATA``: the data's entanglement at every node of a tree, and tree search.

Examples (see ``tnreg entanglement --help``)::

    tnreg entanglement digits                       # canonical tree, per-node table
    tnreg entanglement breast-cancer --search refined --plot bc.png
    tnreg entanglement planted --tree planted --theta 0.3
    tnreg entanglement my.npz --tree "[[0, 1], [2, [3, 4]]]" --no-labels

DATA is ``digits``, ``breast-cancer``, ``planted`` or a ``.npz`` (arrays ``x``, optional
``y``), ``.npy`` or ``.csv`` file; features must lie in [0, 1] and labels be ±1. A bad value is
a one-line error (exit status 2).
"""

from __future__ import annotations

import argparse
import json
from typing import Any

__all__ = ["add_parser", "main_entanglement"]


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected an integer >= 1; got {text!r}")
    return value


def _theta(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = -1.0
    if not 0 < value <= 1:
        raise argparse.ArgumentTypeError(f"expected a number in (0, 1]; got {text!r}")
    return value


def add_parser(subparsers: Any) -> argparse.ArgumentParser:
    """Register the ``entanglement`` subcommand."""
    from tnreg.entanglement.search import OBJECTIVES, STRATEGIES

    p = subparsers.add_parser(
        "entanglement",
        help="data entanglement at every node of a mode tree; search a tree that lowers it",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("data", help="digits, breast-cancer, planted, or a .npz/.npy/.csv file")
    p.add_argument("--tree", default="balanced",
                   help="balanced, caterpillar, star, planted (planted data only), or nested "
                        "lists of features as JSON (default: balanced)")  # fmt: skip
    p.add_argument("--search", nargs="?", const="refined", default=None, choices=STRATEGIES,
                   help="search a tree with this strategy (default strategy: refined) and "
                        "report it next to --tree")  # fmt: skip
    p.add_argument("--objective", default="sum", choices=OBJECTIVES,
                   help="what the search lowers (default: sum)")  # fmt: skip
    p.add_argument("--arity", type=_positive_int, default=2, help="children per node (default: 2)")
    p.add_argument("--theta", type=_theta, default=0.085, help="feature-map angle (default: 0.085)")
    p.add_argument("--max-samples", type=_positive_int, default=512,
                   help="samples used, a seeded random batch (default: 512)")  # fmt: skip
    p.add_argument("--seed", type=int, default=0, help="seed of the batch (default: 0)")
    p.add_argument("--budget", type=_positive_int, default=2000,
                   help="entropy evaluations of the search (default: 2000)")  # fmt: skip
    p.add_argument("--no-labels", action="store_true", help="ignore labels (D = identity)")
    p.add_argument("--plot", default=None, help="save the tree annotated with entropies here")
    p.set_defaults(run=main_entanglement)
    return p


def _load(args: argparse.Namespace) -> Any:
    from tnreg.entanglement.datasets import DATASETS, load_data, load_file

    if args.data in DATASETS:
        return load_data(args.data, seed=args.seed)
    return load_file(args.data)


def _tree(spec: str, data: Any) -> Any:
    from tnreg.data import tree_from_config
    from tnreg.entanglement.measure import EntanglementError

    if spec == "planted":
        if data.tree is None:
            raise EntanglementError("--tree planted needs the planted data set")
        return data.tree
    if spec.lstrip().startswith("["):
        try:
            spec = json.loads(spec)
        except json.JSONDecodeError as err:
            raise EntanglementError(f"--tree is not valid JSON: {err}") from None
    return tree_from_config(spec, data.x.shape[1])


def main_entanglement(args: argparse.Namespace) -> int:
    """Run ``tnreg entanglement``; returns the exit status."""
    from tnreg.entanglement.measure import data_entanglement
    from tnreg.entanglement.search import fit_tree
    from tnreg.errors import TnregError, report_error

    try:
        data = _load(args)
        y = None if args.no_labels else data.y
        tree = _tree(args.tree, data)
        opts = {"theta": args.theta, "max_samples": args.max_samples, "seed": args.seed}
        report = data_entanglement(data.x, y, tree, **opts)
        print(f"{data.name}: {data.x.shape[0]} samples, {data.x.shape[1]} features; "
              f"tree: {args.tree}")  # fmt: skip
        print(report)
        if args.search:
            fit = fit_tree(data.x, y, strategy=args.search, arity=args.arity,
                           objective=args.objective, budget=args.budget, **opts)  # fmt: skip
            tree, report = fit.tree, data_entanglement(data.x, y, fit.tree, **opts)
            print(
                f"\nsearched tree ({args.search}, {fit.evaluations} entropy evaluations, "
                f"{args.objective} on its {fit.report.samples} samples: {fit.value:.4f})"
            )
            print(report)
        if args.plot:
            from tnreg.entanglement.plot import plot_entanglement

            plot_entanglement(tree, report).savefig(args.plot, dpi=120, bbox_inches="tight")
            print(f"wrote {args.plot}")
    except (TnregError, ValueError, OSError, ImportError) as err:
        return report_error("entanglement", err)
    return 0
