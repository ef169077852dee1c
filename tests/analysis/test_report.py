"""Tests of tnreg.analysis.report against dense numpy SVD references."""

from __future__ import annotations

import dataclasses
import json

import numpy as np
import pytest
import torch

from tnreg import trees
from tnreg.analysis.report import RankReport, rank_report
from tnreg.models import HierarchicalTensorFactorization
from tnreg.testing import dense_svd, random_model
from tnreg.trees import (
    balanced,
    caterpillar,
    children,
    from_nested,
    is_leaf,
    mode_sets,
    parent,
    postorder,
    root,
    star,
)

F64 = torch.float64

TREES = {
    "star-3": star(3),
    "balanced-4": balanced(4),
    "caterpillar-4": caterpillar(4),
    "three-child": from_nested(((0, 1, 2), (3, 4))),
}
DIMS = (2, 3, 2, 3, 2)


def _random_matrices(tree, width: int, seed: int, *, members: int = 2) -> dict:
    gen = torch.Generator().manual_seed(seed)
    out = {}
    for v in postorder(tree):
        rows = DIMS[tree.nodes[v]["mode"]] if is_leaf(tree, v) else width
        cols = 1 if parent(tree, v) is None else width
        out[v] = torch.randn(members, rows, cols, generator=gen, dtype=F64)
    return out


def _dense(tree, mats: dict, e: int) -> np.ndarray:
    """W by the definition: T^n = M_n; T^ν[..., r] = Σ_r' M_ν[r', r] ⊗_c T^c[..., r']."""

    def rec(v):
        m = mats[v][e].numpy()
        if is_leaf(tree, v):
            return m, [tree.nodes[v]["mode"]]
        acc, modes = None, []
        for c in children(tree, v):
            t, sub = rec(c)
            acc = (
                t
                if acc is None
                else acc.reshape(*acc.shape[:-1], *[1] * (t.ndim - 1), acc.shape[-1]) * t
            )
            modes += sub
        return acc @ m, modes

    t, modes = rec(root(tree))
    return np.transpose(t[..., 0], np.argsort(modes))


def _svd(w: np.ndarray, modes: tuple[int, ...]) -> np.ndarray:
    rest = [n for n in range(w.ndim) if n not in modes]
    rows = int(np.prod([w.shape[n] for n in modes]))
    return np.linalg.svd(np.transpose(w, [*modes, *rest]).reshape(rows, -1), compute_uv=False)


def _np_erank(s: np.ndarray) -> float:
    s = s[s > 0]
    return 0.0 if s.size == 0 else float(np.exp(-(s / s.sum() * np.log(s / s.sum())).sum()))


# ---------------------------------------------------------------- against dense SVD


@pytest.mark.parametrize("name", list(TREES))
def test_report_matches_dense_svd(name: str) -> None:
    tree = TREES[name]
    mats = _random_matrices(tree, 3, seed=len(name))
    report = rank_report(tree, mats, rtol=1e-6)
    sets = mode_sets(tree)
    assert [row.node for row in report.rows] == [v for v in postorder(tree) if v != root(tree)]
    for row in report.rows:
        assert row.modes == sets[row.node]
        for e in range(2):
            ref = _svd(_dense(tree, mats, e), row.modes)
            k = row.spectrum.shape[-1]
            np.testing.assert_allclose(row.spectrum[e].numpy(), ref[:k], rtol=1e-8, atol=1e-10)
            assert row.numerical_rank[e].item() == int((ref > 1e-6 * ref[0]).sum())
            big = ref[ref > 1e-6 * ref[0]]
            assert row.effective_rank[e].item() == pytest.approx(_np_erank(big), rel=1e-6)


@pytest.mark.parametrize("name", list(TREES))
def test_shape_bound_holds_and_is_min_of_shapes(name: str) -> None:
    tree = TREES[name]
    mats = _random_matrices(tree, 4, seed=3)
    n = len(mode_sets(tree)[root(tree)])
    for row in rank_report(tree, mats, rtol=1e-6).rows:
        inside = int(np.prod([DIMS[m] for m in row.modes]))
        outside = int(np.prod(DIMS[:n])) // inside
        m = mats[row.node]
        assert row.bound == min(m.shape[1], m.shape[2], inside, outside)
        assert row.numerical_rank.max().item() <= row.bound


# ---------------------------------------------------------------- known ranks


@pytest.mark.parametrize(
    ("name", "k"),
    [("balanced-4", 1), ("balanced-4", 2), ("three-child", 2), ("star-3", 1), ("star-3", 3)],
)
def test_k_local_components_bound_the_rank(name: str, k: int) -> None:
    tree = TREES[name]
    width = 4
    mats = _random_matrices(tree, width, seed=k)
    top = root(tree)
    mats[top][:, k:] = 0  # only k non-zero local components at the root
    report = rank_report(tree, mats, rtol=1e-6)
    for row in report.rows:
        if parent(tree, row.node) == top:
            assert row.numerical_rank.max().item() <= k
    assert all(
        row.local_components is None or row.local_components.max().item() <= width
        for row in report.rows
    )
    assert report.rows[-1].node in children(tree, top)


def test_local_component_counts() -> None:
    tree = TREES["three-child"]
    mats = _random_matrices(tree, 4, seed=0)
    mats[(0, 1, 2)][1, 1:] = 0  # member 1: one local component at (0, 1, 2)
    report = rank_report(tree, mats, rtol=1e-6)
    rows = {row.node: row for row in report.rows}
    assert rows[(0, 1, 2)].local_components.tolist() == [4, 1]
    assert rows[(0, 1, 2)].numerical_rank[1].item() == 1
    assert all(rows[n].local_components is None for n in range(5))


def test_rank_one_cp_has_all_ranks_one() -> None:
    tree = star(3)
    gen = torch.Generator().manual_seed(0)
    mats = {
        n: torch.randn(1, DIMS[n], 1, generator=gen, dtype=F64).expand(1, DIMS[n], 4).clone()
        for n in range(3)
    }
    mats[(0, 1, 2)] = torch.ones(1, 4, 1, dtype=F64)
    report = rank_report(tree, mats, rtol=1e-6)
    assert report.hierarchical_rank == (1, 1, 1)
    np.testing.assert_allclose([row.effective_rank.item() for row in report.rows], 1.0, rtol=1e-6)


@pytest.mark.parametrize("name", list(TREES))
def test_zero_tensor_has_rank_zero(name: str) -> None:
    tree = TREES[name]
    mats = _random_matrices(tree, 3, seed=0, members=1)
    mats[root(tree)] = torch.zeros_like(mats[root(tree)])
    report = rank_report(tree, mats, rtol=1e-6)
    assert set(report.hierarchical_rank) == {0}
    assert all(row.effective_rank.item() == 0.0 for row in report.rows)


# ---------------------------------------------------------------- models, members, output


def test_model_bound_comes_from_the_tree_and_report_detaches(monkeypatch) -> None:
    from tnreg.analysis.report import tree_rank_bounds
    from tnreg.network import TensorNetwork

    calls = []
    monkeypatch.setattr(TensorNetwork, "rank_bound", lambda self, rows: calls.append(rows))
    tree = TREES["balanced-4"]
    model = HierarchicalTensorFactorization(tree, 3, 3, ensemble=2, seed=1, dtype=torch.float64)
    report = rank_report(model, rtol=1e-6)
    bounds = tree_rank_bounds(tree, model.matrices())
    assert [row.bound for row in report.rows] == [bounds[row.node] for row in report.rows]
    assert calls == []  # no max-flow per node
    assert not any(
        row.spectrum.requires_grad or row.effective_rank.requires_grad for row in report.rows
    )


@pytest.mark.parametrize("kind", ["tucker", "tt", "ht"])
def test_dense_core_formats_get_a_report(kind) -> None:
    """Formats: ranks from the min-cut Gram networks, bounds from max-flow, no local counts."""
    model = random_model(kind, order=4, dims=3, width=2, seed=3)
    report = rank_report(model, rtol=1e-8)
    w = model.to_dense().detach().double().numpy()
    for row in report.rows:
        ref = dense_svd(w, row.modes)
        assert row.local_components is None
        assert row.bound == model.network.rank_bound(list(row.modes))
        assert int(row.numerical_rank[0]) == int((ref > 1e-8 * ref[0]).sum()) <= row.bound


def test_member_selection() -> None:
    tree = TREES["balanced-4"]
    mats = _random_matrices(tree, 3, seed=2, members=3)
    mats[(0, 1)][2, 1:] = 0
    full = rank_report(tree, mats, rtol=1e-6)
    one = rank_report(tree, mats, rtol=1e-6, member=2)
    assert one.members == (2,)
    assert one.hierarchical_rank == full.hierarchical_ranks[2]
    assert one.hierarchical_rank[postorder(tree).index((0, 1))] == 1
    with pytest.raises(ValueError, match=r"covers members \[0, 1, 2\]"):
        _ = full.hierarchical_rank


@pytest.mark.parametrize("member", [3, -1, 1.0, True])
def test_member_out_of_range(member) -> None:
    tree = TREES["star-3"]
    with pytest.raises(ValueError, match=r"member must be None or an int in 0\.\.2"):
        rank_report(tree, _random_matrices(tree, 2, seed=0, members=3), member=member)


def test_records_are_json_and_flat() -> None:
    tree = TREES["three-child"]
    report = rank_report(tree, _random_matrices(tree, 3, seed=4), rtol=1e-6)
    records = report.to_records()
    assert len(records) == 2 * len(report.rows)
    back = json.loads(json.dumps(records))
    assert back == records
    first = records[0]
    assert set(first) == {
        "member",
        "node",
        "name",
        "modes",
        "spectrum",
        "log_sigma_max",
        "effective_rank",
        "numerical_rank",
        "bound",
        "local_components",
    }
    assert isinstance(first["numerical_rank"], int) and isinstance(first["effective_rank"], float)
    assert [r["node"] for r in records if r["member"] == 0][-1] == [3, 4]


def test_str_single_member_and_ensemble() -> None:
    tree = TREES["balanced-4"]
    mats = _random_matrices(tree, 3, seed=5)
    text = str(rank_report(tree, mats, rtol=1e-6, member=0))
    lines = text.splitlines()
    assert lines[0] == "RankReport(members=[0], rtol=1e-06, atol=0)"
    assert lines[1].split() == ["node", "σ_max", "erank", "rank", "bound", "local"]
    assert lines[2].split()[0] == "0" and lines[4].split()[0] == "0-1"  # short node names
    assert len(lines) == 2 + 6
    assert "[" not in lines[2].split("  ")[-1]  # scalars for one member
    assert "[" in str(rank_report(tree, mats, rtol=1e-6)).splitlines()[2].split(")")[-1]


def test_report_is_frozen() -> None:
    tree = TREES["star-3"]
    report = rank_report(tree, _random_matrices(tree, 2, seed=0))
    assert isinstance(report, RankReport)
    with pytest.raises(dataclasses.FrozenInstanceError, match="cannot assign"):
        report.rtol = 1.0  # type: ignore[misc]


BOUND_CASES = {
    "binary": (trees.balanced(8), [2, 3, 2, 3, 2, 3, 2, 3], 4),
    "ternary_wide": (trees.balanced(9, arity=3), 2, 16),
    "caterpillar": (trees.caterpillar(6), 3, 5),
    "mixed": (
        trees.from_nested(((3, 0, 5), (1, (4, 2)))),
        [2, 3, 4, 2, 3, 5],
        {(0, 1, 2, 3, 4, 5): 7, (0, 3, 5): 3, (1, 2, 4): 30, (2, 4): 2},
    ),
    "star": (trees.star(5), 2, 40),
}


@pytest.mark.parametrize("name", BOUND_CASES)
def test_tree_rank_bounds_equal_network_min_cut(name):
    from tnreg.analysis.report import tree_rank_bounds
    from tnreg.models import HierarchicalTensorFactorization

    tree, dims, widths = BOUND_CASES[name]
    model = HierarchicalTensorFactorization(tree, dims, widths, seed=0, dtype=torch.float64)
    bounds = tree_rank_bounds(model.tree, model.matrices())
    sets = trees.node_mode_sets(model.tree)
    assert bounds == {v: model.network.rank_bound(sets[v]) for v in sets}
