"""Memoized index-batch evaluation of tree tensor networks against numpy.einsum in float64."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from test_formats import ht, reference, tt, tucker

from tnreg.models import NetworkModel, TensorTrain
from tnreg.models.engine import TreeIndexSchedule, root_network
from tnreg.network import TensorNetwork

F64 = torch.float64
FORMATS = {"tucker": tucker, "tt": tt, "ht": ht}


def batch(dims, n, seed=0):
    gen = torch.Generator().manual_seed(seed)
    return torch.stack([torch.randint(0, d, (n,), generator=gen) for d in dims], 1)


@pytest.mark.parametrize("make", FORMATS.values(), ids=FORMATS.keys())
def test_entries_match_numpy_einsum(make):
    model = make()
    idx = torch.cat([batch(model.dims, 60), batch(model.dims, 5)])  # repeats on purpose
    plan = model.schedule_indices(idx)
    assert isinstance(plan, TreeIndexSchedule)
    dense = reference(model)
    expected = dense[tuple(idx.numpy().T)]
    np.testing.assert_allclose(model(plan).detach().numpy(), expected, rtol=1e-12, atol=1e-12)
    # the generic route (every mode a batch hyperedge) agrees too
    np.testing.assert_allclose(model._gather(idx).detach().numpy(), expected, rtol=1e-12)


@pytest.mark.parametrize("make", FORMATS.values(), ids=FORMATS.keys())
def test_gradcheck_through_the_memoized_route(make):
    model = make()
    idx = batch(model.dims, 12, seed=1)
    plan = model.schedule_indices(idx)
    params = [p.detach().clone().requires_grad_(True) for p in model.params]

    def f(*ps):
        from tnreg.models.engine import evaluate_tree

        return evaluate_tree(model._rooted, plan, ps)

    assert torch.autograd.gradcheck(f, tuple(params))


def test_ensemble_members_are_independent_models():
    model = TensorTrain(5, 3, 2, ensemble=3, seed=4, dtype=F64)
    idx = batch(model.dims, 40, seed=2)
    out = model(idx)
    for e in range(3):
        single = TensorTrain(5, 3, 2, seed=4 + e, dtype=F64)
        torch.testing.assert_close(out[e], single(idx), rtol=1e-12, atol=1e-14)


def test_high_order_train_memoizes_prefixes():
    """Order 40, d=2: far beyond densifying; every table has at most min(2^k, B) rows, and the
    memoized route equals the generic per-sample contraction."""
    model = TensorTrain(40, 2, 3, seed=0, dtype=F64, init_std=0.6)
    idx = batch(model.dims, 500, seed=3)
    plan = model.schedule_indices(idx)
    assert plan.counts[("core", 0)] == 2 and max(plan.counts.values()) <= 500
    torch.testing.assert_close(model(plan), model._gather(idx), rtol=1e-10, atol=1e-300)


def test_plan_is_cached_and_reported():
    model = tt()
    idx = batch(model.dims, 30)
    assert model.schedule_indices(idx) is model.schedule_indices(idx.clone())
    assert model.schedule_indices(idx).cost_report().startswith("TreeIndexSchedule: batch 30")


def test_a_ring_is_no_tree_and_takes_the_generic_route():
    net = TensorNetwork()
    for k in range(3):
        net.add_index(("b", k), 2)
    for k in range(3):
        net.add_tensor(k, (k, ("b", k), ("b", (k + 1) % 3)), {k: 2})
    net.set_output((0, 1, 2))
    from tnreg import trees

    model = NetworkModel(net, trees.star(3), seed=0, dtype=F64)
    assert root_network(net) is None
    idx = batch(model.dims, 10)
    assert isinstance(model.schedule_indices(idx), torch.Tensor)
    dense = model.to_dense().detach()
    torch.testing.assert_close(model(idx).detach(), dense[tuple(idx.T)])


def test_bad_indices_are_refused_before_planning():
    model = tt()
    with pytest.raises(ValueError, match=r"indices must have shape \(batch, 4\)"):
        model(torch.zeros(3, 2, dtype=torch.long))


@pytest.mark.gpu
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
@pytest.mark.parametrize("make", FORMATS.values(), ids=FORMATS.keys())
def test_cuda_memoized_route_matches_cpu(make):
    model = make()
    idx = batch(model.dims, 80)
    ref = model(idx).detach()
    grads = torch.autograd.grad(model(idx).square().sum(), list(model.params))
    model = model.to("cuda")
    out = model(idx.cuda())
    torch.testing.assert_close(out.detach().cpu(), ref)
    got = torch.autograd.grad(out.square().sum(), list(model.params))
    for g, r in zip(got, grads):
        torch.testing.assert_close(g.cpu(), r)
