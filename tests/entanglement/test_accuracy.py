"""Closing the loop: sensing models trained on trees, the comparison table, the verify claim."""

from __future__ import annotations

import numpy as np
import pytest

from tnreg import trees
from tnreg.entanglement.accuracy import TreeAccuracy, compare_trees, split_data, train_on_tree
from tnreg.entanglement.datasets import planted
from tnreg.entanglement.experiment import summary_table


def test_split_is_seeded_and_disjoint() -> None:
    x, y = np.arange(20.0).reshape(10, 2) / 20, np.array([1.0, -1.0] * 5)
    a = split_data(x, y, test_fraction=0.3, seed=1)
    b = split_data(x, y, test_fraction=0.3, seed=1)
    assert len(a[0]) == 7 and len(a[2]) == 3
    np.testing.assert_array_equal(a[0], b[0])
    assert not set(map(tuple, a[0])) & set(map(tuple, a[2]))


def test_a_sensing_model_learns_the_planted_labels() -> None:
    data = planted(2, 2, 120, seed=0)  # label: the sign of one group's latent minus 1/2
    x_tr, y_tr, x_te, y_te = split_data(data.x, data.y, test_fraction=0.25, seed=0)
    loss, acc_train, acc_test = train_on_tree(
        data.tree, x_tr, y_tr, x_te, y_te, width=2, theta=0.4, steps=150, lr=1e-2, seed=0
    )
    assert loss < 0.6 and acc_train > 0.8 and acc_test > 0.7


def test_compare_trees_rows_and_table() -> None:
    data = planted(2, 2, 60, seed=1)
    split = split_data(data.x, data.y, test_fraction=0.3, seed=0)
    rows = compare_trees({"planted": data.tree, "canonical": trees.balanced(4)}, *split,
                         width=2, seeds=(0, 1), theta=0.3, steps=5)  # fmt: skip
    assert [r.tree for r in rows] == ["planted", "planted", "canonical", "canonical"]
    assert all(0 <= r.test_accuracy <= 1 for r in rows)
    table = summary_table(rows)
    assert "| planted |" in table and table.count("\n") == 3


def test_summary_table_spread() -> None:
    rows = [TreeAccuracy("t", s, 1.0, 0.5, 0.8 + 0.1 * s, 0.7) for s in range(2)]
    assert "0.850 ± 0.071" in summary_table(rows)


def test_the_claim_is_a_builtin_hypothesis() -> None:
    pytest.importorskip("sklearn", reason="the claim uses scikit-learn's breast cancer set")
    from tnreg.theory import get_claims

    (claim,) = get_claims(["entanglement-accuracy"])
    assert claim.status == "hypothesis" and "Razin" in claim.citation
    assert "random tree" in claim.setting
