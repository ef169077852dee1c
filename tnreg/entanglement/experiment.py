"""Canonical vs METIS vs searched tree: entanglement and accuracy at equal width.

Run ``python -m tnreg.entanglement.experiment accuracy DATA [--width R] [--seeds K]
[--steps S] [--theta T]`` (DATA: ``breast-cancer``, ``digits`` or ``planted``). The data is
split once (seed 0, 30 % test); the METIS and ``refined`` trees are searched on the training
part only; each tree's summed entanglement is measured on the training part; a sensing model of
the same width is trained on each tree with every seed (:mod:`tnreg.entanglement.accuracy`).

``python -m tnreg.entanglement.experiment search DATA [--seeds K] [--theta T]`` runs every
search strategy (METIS ones when pymetis is installed) with seeds 0..K-1 (the planted data set's
seed and the sample batch's seed) and prints each tree's summed and maximal entropy, and for
the planted data set the planted groups found as tree nodes.
"""

from __future__ import annotations

import argparse
import importlib.util
import statistics

import networkx as nx
import numpy as np

from tnreg.entanglement.accuracy import TreeAccuracy, compare_trees, split_data
from tnreg.entanglement.datasets import load_data
from tnreg.entanglement.measure import THETA
from tnreg.entanglement.search import fit_tree
from tnreg.trees import balanced

__all__ = ["candidate_trees", "run_comparison", "search_table", "summary_table"]


def candidate_trees(
    x_train: np.ndarray, y_train: np.ndarray, *, theta: float, max_samples: int = 256
) -> dict[str, nx.DiGraph]:
    """The canonical tree, METIS's tree (when pymetis is installed) and the refined search's."""
    out = {"canonical": balanced(x_train.shape[1])}
    if importlib.util.find_spec("pymetis") is not None:
        out["metis"] = fit_tree(x_train, y_train, strategy="metis", max_samples=max_samples,
                                theta=theta).tree  # fmt: skip
    out["refined"] = fit_tree(x_train, y_train, strategy="refined", max_samples=max_samples,
                              theta=theta).tree  # fmt: skip
    return out


def run_comparison(
    name: str, *, width: int, seeds: int, steps: int, theta: float = THETA
) -> list[TreeAccuracy]:
    """Split, search on the training part, train on every tree; returns one row per run."""
    data = load_data(name, seed=0)
    x_tr, y_tr, x_te, y_te = split_data(data.x, data.y, test_fraction=0.3, seed=0)
    trees = candidate_trees(x_tr, y_tr, theta=theta)
    return compare_trees(trees, x_tr, y_tr, x_te, y_te, width=width, seeds=tuple(range(seeds)),
                         theta=theta, steps=steps)  # fmt: skip


def summary_table(rows: list[TreeAccuracy]) -> str:
    """Markdown: per tree, summed entanglement and mean ± std of loss and accuracies."""
    lines = ["| tree | entanglement (sum) | train loss | train acc | test acc | seeds |",
             "|---|---:|---:|---:|---:|---:|"]  # fmt: skip
    for tree in dict.fromkeys(r.tree for r in rows):
        mine = [r for r in rows if r.tree == tree]

        def stat(values: list[float]) -> str:
            spread = statistics.stdev(values) if len(values) > 1 else 0.0
            return f"{statistics.mean(values):.3f} ± {spread:.3f}"

        lines.append(
            f"| {tree} | {mine[0].entanglement_sum:.3f} | {stat([r.train_loss for r in mine])} | "
            f"{stat([r.train_accuracy for r in mine])} | {stat([r.test_accuracy for r in mine])} "
            f"| {len(mine)} |"
        )
    return "\n".join(lines)


def search_table(name: str, *, seeds: int, theta: float = THETA, max_samples: int = 256) -> str:
    """Markdown: every strategy on ``name`` with seeds 0..seeds-1 (see the module docstring)."""
    from tnreg.entanglement.search import STRATEGIES

    usable = [s for s in STRATEGIES if "metis" not in s or importlib.util.find_spec("pymetis")]
    lines = ["| strategy | seed | sum | max | evaluations | planted groups found |",
             "|---|---:|---:|---:|---:|---:|"]  # fmt: skip
    for seed in range(seeds):
        data = load_data(name, seed=seed)
        for strategy in usable:
            fit = fit_tree(data.x, data.y, strategy=strategy, theta=theta, seed=seed,
                           max_samples=max_samples)  # fmt: skip
            found = {row.modes for row in fit.report.rows}
            groups = "" if data.groups is None else sum(g in found for g in data.groups)
            total = f"{groups}/{len(data.groups)}" if data.groups else "-"
            lines.append(f"| {strategy} | {seed} | {fit.report.total():.4f} | "
                         f"{fit.report.maximum():.4f} | {fit.evaluations} | {total} |")  # fmt: skip
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    """The command line described in the module docstring."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("task", choices=["accuracy", "search"])
    parser.add_argument("data", choices=["breast-cancer", "digits", "planted"])
    parser.add_argument("--width", type=int, default=2)
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--steps", type=int, default=300)
    parser.add_argument("--theta", type=float, default=THETA)
    args = parser.parse_args(argv)
    if args.task == "search":
        print(f"{args.data}, theta {args.theta}, 256 samples per search")
        print(search_table(args.data, seeds=args.seeds, theta=args.theta))
        return
    rows = run_comparison(args.data, width=args.width, seeds=args.seeds, steps=args.steps,
                          theta=args.theta)  # fmt: skip
    print(f"{args.data}, width {args.width}, {args.steps} steps, theta {args.theta}")
    print(summary_table(rows))


if __name__ == "__main__":  # pragma: no cover
    main()
