"""Tests of tnreg.data.tree_targets against dense numpy references in float64."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from tnreg import HierarchicalTensorFactorization, trees
from tnreg.data import DataError, TreeTarget, random_deep_target, random_tree_target
from tnreg.data.tree_targets import tree_from_config, tree_to_config

F64 = torch.float64


def _all_indices(dims) -> torch.Tensor:
    return torch.tensor(list(np.ndindex(*dims)), dtype=torch.long)


def _htf_dense_balanced4(target: TreeTarget) -> np.ndarray:
    """Independent reference for balanced(4): the recursion of docs/design.md §2 in numpy."""
    m = {v: x[0].numpy() for v, x in target.model.matrices().items()}
    return np.einsum(
        "ar,br,rs,cq,dq,qs,s->abcd",
        m[0],
        m[1],
        m[(0, 1)],
        m[2],
        m[3],
        m[(2, 3)],
        m[(0, 1, 2, 3)][:, 0],
    )


def test_tree_target_entries_norm_sensing_match_numpy():
    t = random_tree_target(trees.balanced(4), (3, 4, 2, 3), 3, norm=0.5, seed=2)
    ref = _htf_dense_balanced4(t)
    idx = _all_indices(t.dims)
    np.testing.assert_allclose(t(idx).numpy(), ref[tuple(idx.T.numpy())], rtol=1e-10, atol=1e-14)
    np.testing.assert_allclose(t.to_dense().numpy(), ref, rtol=1e-10, atol=1e-14)
    assert t.norm == pytest.approx(np.linalg.norm(ref), rel=1e-10)
    assert t.norm == pytest.approx(0.5, rel=1e-10)
    gen = torch.Generator().manual_seed(1)
    xs = [torch.randn(5, d, generator=gen, dtype=F64) for d in t.dims]
    expected = np.einsum("abcd,za,zb,zc,zd->z", ref, *[x.numpy() for x in xs])
    np.testing.assert_allclose(t.sensing(xs).numpy(), expected, rtol=1e-10, atol=1e-14)


def test_tree_target_hierarchical_rank_matches_dense_matricizations():
    tree = trees.from_nested(((0, 1), (2, 3), 4))
    widths = {(0, 1): 2, (2, 3): 3, (0, 1, 2, 3, 4): 4}
    t = random_tree_target(tree, 3, widths, seed=0)
    dense = t.to_dense().numpy()
    for v, expected in t.hierarchical_rank().items():
        rows = trees.modes_under(tree, v)
        cols = [m for m in range(5) if m not in rows]
        mat = dense.transpose(*rows, *cols).reshape(3 ** len(rows), -1)
        assert np.linalg.matrix_rank(mat, tol=1e-10) == expected, v
    assert t.hierarchical_rank()[(0, 1)] == 2 and t.hierarchical_rank()[(2, 3)] == 3
    assert t.widths == widths


def test_tree_target_order_32_finite_at_unit_norm():
    t = random_tree_target(trees.balanced(32), 2, 2, seed=0)
    assert t.norm == pytest.approx(1.0, rel=1e-10)
    gen = torch.Generator().manual_seed(0)
    assert torch.isfinite(t(torch.randint(0, 2, (64, 32), generator=gen))).all()


def test_tree_target_is_float64_without_gradients():
    t = random_tree_target("caterpillar", (2, 3, 4), 2, seed=0)
    assert all(p.dtype == F64 and not p.requires_grad for p in t.model.parameters())
    assert trees.root(t.tree) == (0, 1, 2)


def test_deep_target_keeps_the_rank():
    t = random_deep_target(trees.star(2), (5, 6), 2, depth=3, seed=0)
    assert np.linalg.matrix_rank(t.to_dense().numpy(), tol=1e-10) == 2
    assert t.config["depth"] == 3 and t.norm == pytest.approx(1.0, rel=1e-10)
    with pytest.raises(DataError, match=r"a deep target needs depth >= 2; got 1"):
        random_deep_target(trees.star(2), (5, 6), 2, depth=1, seed=0)


def test_tree_target_errors():
    with pytest.raises(DataError, match=r"cannot build the tree target: .*positive int"):
        random_tree_target(trees.balanced(4), 3, 0, seed=0)
    with pytest.raises(DataError, match=r"widths names unknown nodes \['9-9'\]"):
        random_tree_target(trees.balanced(4), 3, {"9-9": 2}, seed=0)
    with pytest.raises(DataError, match=r"tree='balanced' needs the key 'order'"):
        random_tree_target("balanced", 3, 2, seed=0)


def test_tree_config_round_trip_and_errors():
    for tree in [trees.balanced(5), trees.caterpillar(4), trees.from_nested(((0, 2), (1, 3, 4)))]:
        spec = tree_to_config(tree)
        assert trees.postorder(tree_from_config(spec)) == trees.postorder(tree)
    with pytest.raises(DataError, match=r"unknown tree='bushy'; valid options"):
        tree_from_config("bushy", 4)
    with pytest.raises(DataError, match=r"tree must be nested lists of modes"):
        tree_from_config([[0, 1], [1, 2]])


def test_tree_target_wraps_a_single_model_and_copies_on_move():
    with pytest.raises(DataError, match=r"a tree target wraps a single model; got ensemble=2"):
        TreeTarget(HierarchicalTensorFactorization(trees.balanced(4), 2, 2, ensemble=2), config={})
    t = random_tree_target(trees.balanced(4), 2, 2, seed=0)
    moved = t.to("cpu")
    assert moved is not t and moved.model is not t.model and moved.config == t.config
