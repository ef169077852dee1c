"""Tree search: planted recovery, objectives, strategies, bad inputs."""

from __future__ import annotations

import importlib.util

import numpy as np
import pytest

from tnreg import trees
from tnreg.entanglement.datasets import planted
from tnreg.entanglement.measure import EntanglementError, data_entanglement
from tnreg.entanglement.oracle import SetEntropy, abs_correlation
from tnreg.entanglement.search import fit_tree, objective_of

HAS_METIS = importlib.util.find_spec("pymetis") is not None
needs_metis = pytest.mark.skipif(not HAS_METIS, reason="pymetis not installed (extra 'metis')")


def _recovered(fit, groups) -> int:
    found = {row.modes for row in fit.report.rows}
    return sum(g in found for g in groups)


@pytest.mark.parametrize("seed", [0, 1])
def test_refined_search_recovers_planted_groups(seed: int) -> None:
    data = planted(4, 4, 256, seed=seed)
    fit = fit_tree(data.x, data.y, strategy="refined", theta=0.3, max_samples=128)
    assert _recovered(fit, data.groups) == 4
    canonical = fit_tree(data.x, data.y, strategy="canonical", theta=0.3, max_samples=128)
    assert fit.value < canonical.value


@pytest.mark.parametrize("strategy", ["agglomerative", "refined"])
@pytest.mark.parametrize("arity", [2, 3])
def test_strategies_return_valid_trees_and_their_objective(strategy: str, arity: int) -> None:
    data = planted(3, 3, 100, seed=4)
    fit = fit_tree(data.x, None, strategy=strategy, arity=arity, theta=0.3, objective="max")
    assert trees.order(fit.tree) == 9
    assert max(len(trees.children(fit.tree, v)) for v in fit.tree) <= arity
    report = data_entanglement(data.x, None, fit.tree, theta=0.3, max_samples=256)
    assert fit.value == pytest.approx(report.maximum(), abs=1e-10)
    assert fit.value == pytest.approx(objective_of(fit.report, "max"))
    assert fit.evaluations > 0


@needs_metis
def test_metis_baseline_and_metis_refined() -> None:
    data = planted(4, 4, 256, seed=2)
    metis = fit_tree(data.x, data.y, strategy="metis", theta=0.3, max_samples=128)
    refined = fit_tree(data.x, data.y, strategy="metis-refined", theta=0.3, max_samples=128)
    assert metis.evaluations == 0 and _recovered(metis, data.groups) == 4
    assert trees.order(refined.tree) == 16


def test_budget_limits_evaluations() -> None:
    data = planted(4, 2, 80, seed=0)
    fit = fit_tree(data.x, data.y, strategy="refined", theta=0.3, budget=5)
    assert fit.evaluations <= 5 + 2 * 16  # one round of candidates may finish past the budget


def test_set_entropy_matches_the_sweep() -> None:
    rng = np.random.default_rng(0)
    x, y = rng.random((40, 7)), rng.choice([-1.0, 1.0], size=40)
    tree = trees.random_tree(7, seed=2)
    oracle = SetEntropy(x, y, 0.3)
    for row in data_entanglement(x, y, tree, theta=0.3).rows:
        assert oracle(row.modes) == pytest.approx(row.entropy, abs=1e-9)


def test_abs_correlation_handles_constant_features() -> None:
    x = np.column_stack([np.linspace(0, 1, 5), np.full(5, 0.3), np.linspace(1, 0, 5)])
    w = abs_correlation(x)
    assert w[0, 2] == pytest.approx(1.0) and w[1].sum() == 0 and np.all(np.diag(w) == 0)


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"strategy": "greedy"}, r"unknown strategy='greedy'; valid options: \['refined'"),
        ({"objective": "mean"}, r"unknown objective='mean'; valid options: \['sum', 'max'\]"),
        ({"arity": 1}, "arity must be an int >= 2; got 1"),
        ({"budget": 0}, "budget must be an int >= 1"),
        ({"theta": 0.7}, r"theta in \(0, 0.5\)"),
        ({"max_samples": "all"}, "max_samples must be an int >= 1"),
    ],
)
def test_bad_options(kwargs: dict, match: str) -> None:
    x = np.random.default_rng(0).random((10, 4))
    with pytest.raises(EntanglementError, match=match):
        fit_tree(x, **kwargs)


def test_bad_data() -> None:
    with pytest.raises(EntanglementError, match=r"fit_tree: x must lie in \[0, 1\]"):
        fit_tree(np.full((3, 4), -1.0))
    with pytest.raises(EntanglementError, match="at least 2 features"):
        fit_tree(np.zeros((3, 1)))
