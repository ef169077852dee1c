"""Single-child (unary) nodes: a matrix applied to the child's channels (the papers' odd orders)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from tnreg import trees
from tnreg.analysis import invariants, local_component_norms, node_spectra, rank_report
from tnreg.models import HierarchicalTensorFactorization
from tnreg.testing import assert_close, dense_from_matrices, dense_svd

F64 = torch.float64

UNARY_TREES = {
    "order-3 papers' layout": ((0, 1), (2,)),
    "unary above an interior node": (((0, 1),), (2, 3)),
    "chain of unary nodes": ((((0,),),), (1, 2)),
}


@pytest.fixture(params=list(UNARY_TREES), ids=list(UNARY_TREES))
def model(request):
    tree = trees.from_nested(UNARY_TREES[request.param])
    return HierarchicalTensorFactorization(tree, 3, 4, ensemble=2, seed=1, init_std=0.7, dtype=F64)


def test_tree_has_a_unary_node(model) -> None:
    assert any(model.tree.out_degree(v) == 1 for v in model.tree)


def test_forward_and_dense_match_the_recursion(model) -> None:
    n = model.order
    idx = torch.cartesian_prod(*(torch.arange(3) for _ in range(n)))
    dense = model.to_dense()
    for e in range(2):
        ref = dense_from_matrices(model.tree, model.matrices(), member=e)
        assert_close(dense[e], ref)
        assert_close(model(idx)[e], ref.reshape(-1))


def test_spectra_match_dense_svd(model) -> None:
    spectra = node_spectra(model)
    for e in range(2):
        w = dense_from_matrices(model.tree, model.matrices(), member=e)
        for v, modes in trees.node_mode_sets(model.tree).items():
            ref = dense_svd(w, modes)
            got = spectra[v][e]
            assert_close(got, ref[: got.numel()], rtol=0, atol=1e-10, scale=float(ref[0]))
            assert np.all(ref[got.numel() :] <= 1e-10 * ref[0])


def test_unary_local_components_have_two_vectors(model) -> None:
    unary = [v for v in model.tree if model.tree.out_degree(v) == 1]
    norms = local_component_norms(model)
    inv = invariants(model)
    for v in unary:
        assert norms[v].shape == (2, model.widths[v])
        assert inv[("local", v)].shape[-2:] == (2, 2)  # own row and the child's column


def test_balance_keeps_the_tensor(model) -> None:
    before = model.to_dense().detach()
    model.balance_()
    assert_close(model.to_dense().detach(), before, rtol=1e-10, atol=1e-12)
    report = rank_report(model)
    assert len(report.rows) == model.tree.number_of_nodes() - 1


def test_gradcheck_through_a_unary_node() -> None:
    tree = trees.from_nested(((0, 1), (2,)))
    model = HierarchicalTensorFactorization(tree, 2, 2, seed=0, init_std=0.8, dtype=F64)
    idx = torch.tensor([[0, 1, 1], [1, 0, 0], [1, 1, 1]])
    names = [n for n, _ in model.named_parameters()]
    values = tuple(p.detach().clone().requires_grad_() for p in model.parameters())

    def f(*params):
        return torch.func.functional_call(model, dict(zip(names, params)), (idx,))

    assert torch.autograd.gradcheck(f, values)
