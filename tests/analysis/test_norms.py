"""Tests of tnreg.analysis.norms against dense numpy references."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from tnreg.analysis.norms import (
    FactorNorms,
    component_norms,
    count_nonnegligible,
    factor_norms,
    local_component_norms,
)
from tnreg.analysis.resolve import AnalysisError
from tnreg.models import CP
from tnreg.testing import random_model
from tnreg.trees import balanced, children, from_nested, is_leaf, parent, postorder, root, star

F64 = torch.float64


def _random_matrices(tree, dims, width, seed, *, members=2, ones_root=False) -> dict:
    gen = torch.Generator().manual_seed(seed)
    out = {}
    for v in postorder(tree):
        p = parent(tree, v)
        rows = dims[tree.nodes[v]["mode"]] if is_leaf(tree, v) else width
        cols = 1 if p is None else width
        out[v] = torch.randn(members, rows, cols, generator=gen, dtype=F64)
    if ones_root:
        out[root(tree)] = torch.ones(members, width, 1, dtype=F64)
    return out


def _outer(tensors: list[np.ndarray]) -> np.ndarray:
    out = tensors[0]
    for t in tensors[1:]:
        out = np.multiply.outer(out, t)
    return out


# ---------------------------------------------------------------- CP components


@pytest.mark.parametrize(
    ("order", "seed", "ones_root"), [(2, 0, True), (3, 1, True), (4, 2, False)]
)
def test_component_norms_are_norms_of_dense_components(order, seed, ones_root) -> None:
    tree = star(order)
    mats = _random_matrices(tree, [3, 2, 4, 2][:order], 5, seed, ones_root=ones_root)
    top = root(tree)
    got = component_norms(tree, mats)
    assert got.shape == (2, 5)
    for e in range(2):  # reference: ||root[r] * outer(columns)||_F
        ref = [
            np.linalg.norm(
                mats[top][e, r, 0].item()
                * _outer([mats[n][e, :, r].numpy() for n in children(tree, top)])
            )
            for r in range(5)
        ]
        np.testing.assert_allclose(got[e].numpy(), ref, rtol=1e-12)


def test_component_norms_equal_root_local_norms() -> None:
    tree = star(3)
    mats = _random_matrices(tree, [2, 3, 4], 6, 3)
    np.testing.assert_array_equal(
        component_norms(tree, mats).numpy(), local_component_norms(tree, mats)[root(tree)].numpy()
    )


def test_component_norms_sorted_descending() -> None:
    tree = star(3)
    mats = _random_matrices(tree, [2, 3, 4], 6, 4)
    unsorted = component_norms(tree, mats)
    got = component_norms(tree, mats, sort=True)
    assert torch.all(got[:, :-1] >= got[:, 1:])
    np.testing.assert_allclose(got.numpy(), np.sort(unsorted.numpy(), -1)[:, ::-1], rtol=0)


def test_component_norms_rejects_hierarchical_tree() -> None:
    tree = balanced(4)
    mats = _random_matrices(tree, [2] * 4, 3, 0)
    with pytest.raises(AnalysisError, match="needs a star"):
        component_norms(tree, mats)


def test_component_norms_of_deep_model_use_product_matrices() -> None:
    model = CP(2, (3, 5), 2, depth={0: 2}, dtype=F64, seed=5, init_std=1.0)
    chain = [a.detach() for a in model.layers()[0]]
    leaf1 = model.layers()[1][0].detach()
    assert chain[0].shape == (1, 3, 2) and chain[1].shape == (1, 2, 2)
    product = chain[0] @ chain[1]
    ref = torch.linalg.vector_norm(product, dim=1) * torch.linalg.vector_norm(leaf1, dim=1)
    torch.testing.assert_close(component_norms(model), ref, rtol=1e-12, atol=0)


# ---------------------------------------------------------------- local components


@pytest.mark.parametrize(
    "nested", [((0, 1), (2, 3)), ((0, 1, 2), 3), (0, (1, 2, 3)), ((0, 1), (2, (3, 4)))]
)
def test_local_component_norms_are_norms_of_local_tensors(nested) -> None:
    tree = from_nested(nested)
    n = sum(1 for v in tree if is_leaf(tree, v))
    mats = _random_matrices(tree, [2, 3, 2, 3, 2][:n], 3, len(nested))
    got = local_component_norms(tree, mats)
    assert set(got) == {v for v in tree if not is_leaf(tree, v)}
    for v, norms in got.items():  # local component (ν, r): M_ν[r, :] ⊗ (⊗_c M_c[:, r])
        assert norms.shape == (2, mats[v].shape[1])
        ref = [
            np.linalg.norm(
                _outer(
                    [mats[v][0, r].numpy()] + [mats[c][0, :, r].numpy() for c in children(tree, v)]
                )
            )
            for r in range(mats[v].shape[1])
        ]
        np.testing.assert_allclose(norms[0].numpy(), ref, rtol=1e-12)


def test_local_component_norms_keep_gradients() -> None:
    tree = balanced(4)
    mats = {v: m.requires_grad_() for v, m in _random_matrices(tree, [2] * 4, 3, 7).items()}
    total = sum(n.sum() for n in local_component_norms(tree, mats).values())
    total.backward()
    assert all(m.grad is not None for m in mats.values())


# ---------------------------------------------------------------- factor norms and counts


def test_factor_norms_rows_and_cols() -> None:
    tree = balanced(4)
    mats = _random_matrices(tree, [2, 3, 4, 5], 3, 8)
    got = factor_norms(tree, mats)
    assert isinstance(got, FactorNorms)
    for v, m in mats.items():
        np.testing.assert_allclose(
            got.rows[v].numpy(), np.linalg.norm(m.numpy(), axis=2), rtol=1e-12
        )
        np.testing.assert_allclose(
            got.cols[v].numpy(), np.linalg.norm(m.numpy(), axis=1), rtol=1e-12
        )


@pytest.mark.parametrize(
    ("rtol", "atol", "expected"), [(1e-6, 0.0, [2, 0]), (0.3, 0.0, [1, 0]), (0.0, 1.0, [1, 0])]
)
def test_count_nonnegligible(rtol, atol, expected) -> None:
    norms = torch.tensor([[0.5, 1e-9, 2.0], [0.0, 0.0, 0.0]], dtype=F64)
    assert count_nonnegligible(norms, rtol=rtol, atol=atol).tolist() == expected


def test_count_nonnegligible_rejects_negative() -> None:
    with pytest.raises(ValueError, match="non-negative"):
        count_nonnegligible(torch.tensor([-1.0], dtype=F64), rtol=1e-6)


# ---------------------------------------------------------------- input validation


def _good():
    tree = star(2)
    return tree, _random_matrices(tree, [2, 3], 4, 0, members=1)


def test_model_with_given_matrices_reads_the_given_ones() -> None:
    model = CP(2, (2, 3), 4, seed=0, dtype=F64)
    mats = {v: 2 * m.detach() for v, m in model.matrices().items()}
    mats[(0, 1)] = model.matrices()[(0, 1)]  # the fixed ones output
    got = local_component_norms(model, mats)[(0, 1)]
    torch.testing.assert_close(got, 4 * local_component_norms(model)[(0, 1)].detach())


def test_tree_needs_matrices() -> None:
    with pytest.raises(AnalysisError, match="matrices are required"):
        local_component_norms(star(2))


def test_not_a_tree_or_model() -> None:
    with pytest.raises(AnalysisError, match="expected a tnreg model or a mode tree"):
        local_component_norms({"tree": 1})


@pytest.mark.parametrize("kind", ["tucker", "tt", "ht"])
def test_dense_core_formats_have_no_local_components(kind) -> None:
    with pytest.raises(AnalysisError, match="dense cores"):
        local_component_norms(random_model(kind, order=3))


@pytest.mark.parametrize(
    ("edit", "error", "match"),
    [
        (lambda m: m.pop(1), AnalysisError, r"missing \[1\]"),
        (lambda m: m.update({1: np.ones((1, 3, 4))}), AnalysisError, "must be a 3-d torch.Tensor"),
        (
            lambda m: m.update({1: torch.ones(3, 4, dtype=F64)}),
            AnalysisError,
            r"\(E, rows, cols\)",
        ),
        (
            lambda m: m.update({1: torch.ones(1, 3, 5, dtype=F64)}),
            AnalysisError,
            "expected the width of its parent",
        ),
        (
            lambda m: m.update({(0, 1): torch.ones(1, 4, 2, dtype=F64)}),
            AnalysisError,
            r"must have shape \(E, R_root, 1\)",
        ),
        (lambda m: m.update({1: torch.ones(2, 3, 4, dtype=F64)}), AnalysisError, "ensemble size"),
        (
            lambda m: m.update({1: torch.full((1, 3, 4), torch.inf, dtype=F64)}),
            AnalysisError,
            "matrix of node 1 has 12 non-finite",
        ),
    ],
)
def test_rejects_bad_matrices(edit, error, match) -> None:
    tree, mats = _good()
    edit(mats)
    with pytest.raises(error, match=match):
        local_component_norms(tree, mats)


def test_float32_smoke() -> None:
    tree = star(2)
    mats = {v: m.float() for v, m in _random_matrices(tree, [2, 3], 4, 0).items()}
    assert component_norms(tree, mats).dtype == torch.float64  # analysis runs in float64
    assert component_norms(tree, mats, dtype=None).dtype == torch.float32
