"""tnreg.theory.quantities: rate identities against autograd, γ against a dense reference."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from tnreg import CP, HierarchicalTensorFactorization, trees
from tnreg.testing import dense_from_matrices
from tnreg.theory import (
    TheoryError,
    balanced_rates,
    measured_rates,
    predicted_rates,
    projected_gradients,
    rate_bounds,
    unbalancedness,
)
from tnreg.theory.catalog_rates import rate_error
from tnreg.theory.setups import observations

F64 = torch.float64


def _htf(nested, **kw):
    return HierarchicalTensorFactorization(
        trees.from_nested(nested), 3, 3, init_std=0.7, seed=5, dtype=F64, **kw
    )


MODELS = {
    # CP (star tree): fixed output (K = N), weights (K = N + 1), deep, ensemble
    "cp": lambda: CP(3, 4, 5, init_std=0.6, seed=1, dtype=F64),
    "cp-weighted": lambda: CP(3, 4, 5, init_std=0.6, seed=1, dtype=F64, weighted=True),
    "cp-deep": lambda: CP(3, 4, 3, init_std=0.6, seed=1, dtype=F64, depth=3),
    "cp-ensemble": lambda: CP(4, 3, 3, init_std=0.8, seed=1, dtype=F64, ensemble=3),
    # HTF: a 3-child node and single-child nodes; the 2022 order-3 tree; deep, fixed output
    "htf-3-1": lambda: _htf(((0, 1, 2), (3,), 4)),
    "htf-unary": lambda: _htf(((0, 1), (2,))),
    "htf-deep-ones": lambda: _htf(((0, 1, 2), (3,), 4), depth=2, output="ones"),
    "htf-caterpillar-ensemble": lambda: _htf((((0, 1), 2), 3), ensemble=2),
}


@pytest.mark.parametrize("balanced", [False, True], ids=["general", "balanced"])
@pytest.mark.parametrize("name", list(MODELS))
def test_rate_identity_matches_autograd(name, balanced):
    """Claims 1 and 7: dσ/dt from the identity equals autograd's to 1e-9 relative (float64)."""
    model = MODELS[name]()
    if balanced:
        model.balance_(tol=1e-14)
    idx, values = observations(model.dims, 30, seed=7)
    assert rate_error(model, idx, values, balanced=balanced) < 1e-9


def test_balanced_form_differs_when_unbalanced():
    model = MODELS["cp"]()
    idx, values = observations(model.dims, 30, seed=7)
    assert rate_error(model, idx, values, balanced=False) < 1e-9
    assert rate_error(model, idx, values, balanced=True) > 1e-3


def test_projected_gradient_matches_dense_reference():
    """γ = <-∇L(W), E_{ν,r}> with E built densely from masked node matrices (numpy)."""
    model = MODELS["htf-3-1"]()
    idx, values = observations(model.dims, 30, seed=2)
    gammas = projected_gradients(model, idx, values)
    mats = {v: m.detach() for v, m in model.matrices().items()}
    dense = dense_from_matrices(model.tree, mats)
    resid = np.zeros(model.dims)
    for row, y in zip(idx.tolist(), values.tolist()):
        resid[tuple(row)] += 2 * (dense[tuple(row)] - y) / len(values)
    node = (0, 1, 2)
    kids = list(model.tree.successors(node))
    for r in range(3):
        masked = dict(mats)
        own = torch.zeros_like(mats[node])
        own[:, r] = mats[node][:, r] / mats[node][:, r].norm()
        masked[node] = own
        for c in kids:
            col = mats[c].clone()
            col[..., :, r] = col[..., :, r] / col[..., :, r].norm()
            masked[c] = col
        unit = dense_from_matrices(model.tree, masked)
        expected = -(resid * unit).sum()
        assert float(gammas[node][0, r]) == pytest.approx(expected, rel=1e-10, abs=1e-14)


def test_bounds_bracket_the_rate():
    """Claim 10 at one random unbalanced state: lower <= dσ/dt <= upper."""
    model = MODELS["cp-weighted"]()
    idx, values = observations(model.dims, 30, seed=3)
    gammas = projected_gradients(model, idx, values)
    lower, upper = rate_bounds(model, gammas, unbalancedness(model))
    rate = measured_rates(model, idx, values)
    for v, m in rate.items():
        assert bool((lower[v] <= m * (1 + 1e-12) + 1e-15).all())
        assert bool((m <= upper[v] * (1 + 1e-12) + 1e-15).all())


def test_predicted_rate_shapes_are_batched():
    model = MODELS["cp-ensemble"]()
    idx, values = observations(model.dims, 10, seed=1)
    gammas = projected_gradients(model, idx, values)
    assert gammas[trees.root(model.tree)].shape == (3, 3)
    assert predicted_rates(model, gammas)[trees.root(model.tree)].shape == (3, 3)
    assert balanced_rates(model, gammas)[trees.root(model.tree)].shape == (3, 3)


def test_rejects_a_model_without_layers():
    with pytest.raises(TheoryError, match="product-pooling model"):
        projected_gradients(torch.nn.Linear(2, 2), torch.zeros(1, 2, dtype=torch.long), None)


def test_rejects_float_indices():
    model = MODELS["cp"]()
    with pytest.raises(TheoryError, match="integer"):
        measured_rates(model, torch.zeros(3, 3), torch.zeros(3, dtype=F64))


def test_rejects_values_of_the_wrong_length():
    model = MODELS["cp"]()
    idx = torch.zeros(4, 3, dtype=torch.long)
    with pytest.raises(TheoryError, match="B=4"):
        projected_gradients(model, idx, torch.zeros(3, dtype=F64))


def test_bounds_with_eps_zero_are_the_balanced_rate():
    model = MODELS["cp"]()
    idx, values = observations(model.dims, 30, seed=4)
    gammas = projected_gradients(model, idx, values)
    lower, upper = rate_bounds(model, gammas, 0.0)
    balanced = balanced_rates(model, gammas)
    for v in balanced:
        assert torch.allclose(lower[v], balanced[v], rtol=1e-12)
        assert torch.allclose(upper[v], balanced[v], rtol=1e-12)


def test_a_global_eps_brackets_the_rate_too():
    model = MODELS["cp-weighted"]()
    idx, values = observations(model.dims, 30, seed=5)
    eps = max(float(e.max()) for e in unbalancedness(model).values())
    lower, upper = rate_bounds(model, projected_gradients(model, idx, values), eps)
    for v, m in measured_rates(model, idx, values).items():
        assert bool((lower[v] <= m * (1 + 1e-12) + 1e-15).all())
        assert bool((m <= upper[v] * (1 + 1e-12) + 1e-15).all())
