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


class FakeModel:
    """Duck-typed model: .tree, .matrices(), .layers()."""

    def __init__(self, tree, layers, fixed=None):
        self.tree, self._layers, self._fixed = tree, layers, fixed or {}

    def layers(self):
        return self._layers

    def matrices(self):
        out = {}
        for v, chain in self._layers.items():
            m = chain[0]
            for a in chain[1:]:
                m = m @ a
            out[v] = m
        return {**out, **self._fixed}


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
    with pytest.raises(ValueError, match="needs a star"):
        component_norms(tree, mats)


def test_component_norms_of_deep_model_use_product_matrices() -> None:
    tree = star(2)
    gen = torch.Generator().manual_seed(5)
    chain = [
        torch.randn(1, 3, 4, generator=gen, dtype=F64),
        torch.randn(1, 4, 2, generator=gen, dtype=F64),
    ]
    leaf1 = torch.randn(1, 5, 2, generator=gen, dtype=F64)
    model = FakeModel(tree, {0: chain, 1: [leaf1]}, {(0, 1): torch.ones(1, 2, 1, dtype=F64)})
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


def test_model_and_matrices_is_ambiguous() -> None:
    tree, mats = _good()
    with pytest.raises(ValueError, match="pass either a model or"):
        local_component_norms(FakeModel(tree, {v: [m] for v, m in mats.items()}), mats)


def test_tree_needs_matrices() -> None:
    with pytest.raises(ValueError, match="matrices are required"):
        local_component_norms(star(2))


def test_not_a_tree_or_model() -> None:
    with pytest.raises(TypeError, match="expected a mode tree"):
        local_component_norms({"tree": 1})


@pytest.mark.parametrize(
    ("edit", "error", "match"),
    [
        (lambda m: m.pop(1), ValueError, r"lacks nodes \[1\]"),
        (lambda m: m.update({1: np.ones((1, 3, 4))}), TypeError, "must be a torch.Tensor"),
        (
            lambda m: m.update({1: torch.ones(3, 4, dtype=F64)}),
            ValueError,
            r"shape \(E, rows, cols\)",
        ),
        (lambda m: m.update({1: torch.ones(1, 3, 5, dtype=F64)}), ValueError, "expected 4 columns"),
        (
            lambda m: m.update({(0, 1): torch.ones(1, 4, 2, dtype=F64)}),
            ValueError,
            "expected 1 columns",
        ),
        (lambda m: m.update({1: torch.ones(2, 3, 4, dtype=F64)}), ValueError, "ensemble size"),
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
    assert component_norms(tree, mats).dtype == torch.float32
