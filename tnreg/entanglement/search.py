"""Searching the mode tree that makes a data set's entanglement low.

Vocabulary
----------
objective
    ``"sum"`` or ``"max"`` of the entanglement entropies over a tree's non-root nodes
    (:func:`tnreg.entanglement.data_entanglement` on the same samples).
strategy
    ``"canonical"``: the balanced tree over the features in their given order;
    ``"metis"``: the paper's baseline, recursive balanced minimum cuts of the |correlation|
    feature graph (optional ``pymetis``: ``pip install 'tnreg[metis]'``), which is the
    canonical tree over the reordered features; ``"refined"`` and ``"metis-refined"``: the
    same top-down splits, started from a spectral (or METIS) cut and improved by feature swaps
    scored with the exact entropies; ``"agglomerative"``: bottom-up merging by exact entropy.
    See :mod:`tnreg.entanglement.strategies`.
budget
    The most entropy evaluations a search may spend (each is one eigenvalue problem on the
    search's samples).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import networkx as nx
import numpy as np

from tnreg.entanglement.measure import (
    THETA,
    EntanglementError,
    EntanglementReport,
    check_data,
    data_entanglement,
    subsample,
)
from tnreg.entanglement.oracle import SetEntropy, abs_correlation
from tnreg.entanglement.strategies import (
    agglomerate,
    metis_split,
    recursive_splits,
    refine_split,
    spectral_split,
)
from tnreg.trees import balanced, from_nested

__all__ = ["OBJECTIVES", "STRATEGIES", "TreeFit", "fit_tree", "objective_of"]

STRATEGIES = ("refined", "metis-refined", "agglomerative", "metis", "canonical")
OBJECTIVES = ("sum", "max")


@dataclass(frozen=True)
class TreeFit:
    """A searched tree with its objective and its per-node report.

    Attributes
    ----------
    tree
        The mode tree (a networkx DiGraph, as every tree in tnreg).
    strategy, objective
        How it was found and which objective ``value`` is.
    value
        The objective (sum or max of node entropies) on the search's samples.
    report
        :func:`tnreg.entanglement.data_entanglement` of the tree on the same samples.
    evaluations
        Entropy evaluations the search spent (0 for ``canonical`` and ``metis``).
    """

    tree: nx.DiGraph
    strategy: str
    objective: str
    value: float
    report: EntanglementReport
    evaluations: int


def objective_of(report: EntanglementReport, objective: str) -> float:
    """The sum or the maximum of a report's node entropies."""
    _check_choice(objective, OBJECTIVES, "objective")
    return report.total() if objective == "sum" else report.maximum()


def _check_choice(value: Any, valid: tuple[str, ...], name: str) -> None:
    if value not in valid:
        raise EntanglementError(f"unknown {name}={value!r}; valid options: {list(valid)}")


def _check_int(value: Any, low: int, name: str) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < low:
        raise EntanglementError(f"{name} must be an int >= {low}; got {value!r}")
    return int(value)


def fit_tree(
    x: Any,
    y: Any = None,
    *,
    strategy: str = "refined",
    arity: int = 2,
    objective: str = "sum",
    theta: float = THETA,
    max_samples: int = 256,
    seed: int = 0,
    budget: int = 2000,
    candidates: int = 16,
) -> TreeFit:
    """A mode tree over the features of ``x`` with low data entanglement.

    Parameters
    ----------
    x, y
        Samples (M, N) in [0, 1] and optional labels in {−1, +1}.
    strategy
        One of :data:`STRATEGIES` (see the module vocabulary).
    arity
        Children per interior node (a split of fewer features has fewer).
    objective
        ``"sum"`` or ``"max"`` of node entropies: what the searches lower and what ``value``
        reports.
    theta
        Feature-map angle; in (0, 0.5) for the searching strategies.
    max_samples, seed
        The search and the report use one seeded batch of at most ``max_samples`` samples.
    budget
        The most entropy evaluations the search spends.
    candidates
        Swaps scored per round of the refined strategies.

    Returns
    -------
    TreeFit

    Raises
    ------
    EntanglementError
        For bad data or options (unknown strategy or objective, arity < 2, ...).

    Examples
    --------
    >>> from tnreg.entanglement.datasets import planted
    >>> data = planted(4, 2, 200, seed=0)
    >>> fit = fit_tree(data.x, data.y, theta=0.3)
    >>> found = {row.modes for row in fit.report.rows}
    >>> sum(group in found for group in data.groups)  # planted groups that are tree nodes
    4
    """
    xs, ys = check_data(x, y, where="fit_tree")
    _check_choice(strategy, STRATEGIES, "strategy")
    _check_choice(objective, OBJECTIVES, "objective")
    arity = _check_int(arity, 2, "arity")
    budget = _check_int(budget, 1, "budget")
    candidates = _check_int(candidates, 1, "candidates")
    if xs.shape[1] < 2:
        raise EntanglementError(f"fit_tree: x needs at least 2 features; got {xs.shape[1]}")
    rows = subsample(xs.shape[0], _check_int(max_samples, 1, "max_samples"), seed)
    xs, ys = xs[rows], (None if ys is None else ys[rows])
    trees, evaluations = _search(
        xs, ys, strategy, arity, objective, theta, seed, budget, candidates
    )
    reports = [data_entanglement(xs, ys, t, theta=theta, max_samples=len(rows)) for t in trees]
    values = [objective_of(r, objective) for r in reports]
    best = int(np.argmin(values))
    return TreeFit(trees[best], strategy, objective, values[best], reports[best], evaluations)


def _search(
    xs: np.ndarray,
    ys: np.ndarray | None,
    strategy: str,
    arity: int,
    objective: str,
    theta: float,
    seed: int,
    budget: int,
    candidates: int,
) -> tuple[list[nx.DiGraph], int]:
    """The candidate trees of one strategy and the entropy evaluations spent."""
    n = xs.shape[1]
    if strategy == "canonical":
        return [balanced(n, arity)], 0
    weights = abs_correlation(xs)
    if strategy == "metis":

        def cut(feats: list[int]) -> list[list[int]]:
            return metis_split(weights, feats, min(arity, len(feats)), seed=seed)

        return [from_nested(recursive_splits(n, cut, arity))], 0
    oracle = SetEntropy(xs, ys, theta)
    if strategy == "agglomerative":
        nested = [agglomerate(oracle, weights, arity=arity, score=score, budget=budget)
                  for score in ("union", "gain")]  # fmt: skip
        return [from_nested(t) for t in nested], oracle.evaluations

    def split(feats: list[int]) -> list[list[int]]:
        k = min(arity, len(feats))
        if strategy == "metis-refined":
            start = metis_split(weights, feats, k, seed=seed)
        else:
            start = spectral_split(weights, feats, k)
        return refine_split(start, oracle, weights, objective=objective,
                            candidates=candidates, budget=budget)  # fmt: skip

    return [from_nested(recursive_splits(n, split, arity))], oracle.evaluations
