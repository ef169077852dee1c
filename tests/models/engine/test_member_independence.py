"""An ensemble member computes bit for bit what the single model with its seed computes.

Every finish of the index-batch engine (matrix-product GEMM, sampled matrix product, fused
gathered sum) and the papers' optimizer, for CP and HTF, float64 and float32, E = 2 and 5:
``torch.equal`` on values, gradients, losses and parameters after a few steps.
"""

from __future__ import annotations

import pytest
import torch

from tnreg import trees
from tnreg.models import CP, HierarchicalTensorFactorization
from tnreg.models.engine import executor
from tnreg.models.engine.members import member_matmul, outer_merge, row_sums, scale_channels
from tnreg.train.losses import loss_function
from tnreg.train.optim import GroupRMSprop
from tnreg.train.step import train_step

# (order, dim, batch) -> the root's finish the planner picks on the CPU
FINISHES = {"gemm": (4, 4, 250), "sampled": (4, 6, 120), "gathered": (4, 6, 120)}
STDS = (0.5, 0.3, 0.7, 0.4, 0.6)


def _model(kind, members, seed, std, dtype, order, dim):
    ensemble = None if members is None else members
    common = {"ensemble": ensemble, "seed": seed, "init_std": std, "dtype": dtype}
    if kind == "cp":
        return CP(order, dim, rank=4, **common)
    return HierarchicalTensorFactorization(trees.balanced(order), dim, 4, **common)


def _batch(order, dim, batch, dtype):
    gen = torch.Generator().manual_seed(7)
    idx = torch.randint(0, dim, (batch, order), generator=gen)
    return idx, torch.randn(batch, generator=gen, dtype=dtype)


@pytest.fixture
def finish(request, monkeypatch):
    """The finish to exercise; "gathered" turns the sparse kernels off (as off the CPU)."""
    if request.param == "gathered":
        monkeypatch.setattr(executor, "usable", lambda a: False)
    return request.param


def _report(model, idx) -> str:
    return str(model.schedule_indices(idx).cost_report())


@pytest.mark.parametrize("finish", list(FINISHES), indirect=True)
@pytest.mark.parametrize("dtype", [torch.float64, torch.float32])
@pytest.mark.parametrize("kind", ["cp", "htf"])
@pytest.mark.parametrize("members", [2, 5])
def test_training_an_ensemble_is_training_its_members_one_by_one(kind, dtype, members, finish):
    order, dim, batch = FINISHES[finish]
    idx, values = _batch(order, dim, batch, dtype)
    seeds, stds = [3 + k for k in range(members)], list(STDS[:members])
    ensemble = _model(kind, members, seeds[0], stds, dtype, order, dim)
    assert ("GEMM" if finish == "gemm" else "sampled") in _report(ensemble, idx)
    singles = [_model(kind, None, s, std, dtype, order, dim) for s, std in zip(seeds, stds)]
    loss = loss_function("mse")
    opt = GroupRMSprop(ensemble.parameters(), lr=0.05)
    opts = [GroupRMSprop(m.parameters(), lr=0.05) for m in singles]
    for _ in range(4):
        losses = train_step(ensemble, idx, values, opt, loss)
        for k, (m, o) in enumerate(zip(singles, opts)):
            assert torch.equal(losses[k], train_step(m, idx, values, o, loss)[0])
    for k, m in enumerate(singles):
        for p, q in zip(ensemble.parameters(), m.parameters()):
            assert torch.equal(p[k], q[0])
        assert torch.equal(opt.step_sizes()[k], opts[k].step_sizes()[0])


@pytest.mark.parametrize("finish", list(FINISHES), indirect=True)
@pytest.mark.parametrize("kind", ["cp", "htf"])
def test_one_forward_and_backward_of_an_ensemble_is_its_members(kind, finish):
    order, dim, batch = FINISHES[finish]
    idx, values = _batch(order, dim, batch, torch.float64)
    ensemble = _model(kind, 3, [11, 5, 8], 0.5, torch.float64, order, dim)
    out = ensemble(idx)
    (out - values).square().sum().backward()
    for k, seed in enumerate([11, 5, 8]):
        single = _model(kind, None, seed, 0.5, torch.float64, order, dim)
        one = single(idx)
        (one - values).square().sum().backward()
        assert torch.equal(out[k], one)
        for p, q in zip(ensemble.parameters(), single.parameters()):
            assert torch.equal(p.grad[k], q.grad[0])


def _each_member(fn, *args, axes):
    """fn on the whole ensemble and on each member alone (member axis per argument)."""
    whole = fn(*args)
    members = args[0].shape[axes[0]]
    alone = [fn(*(a.narrow(ax, k, 1) for a, ax in zip(args, axes))) for k in range(members)]
    return whole, alone


@pytest.mark.parametrize("dtype", [torch.float64, torch.float32])
def test_member_kernels_match_each_member_alone_and_the_plain_formula(dtype) -> None:
    gen = torch.Generator().manual_seed(0)
    a = torch.randn(6, 5, 3, generator=gen, dtype=dtype, requires_grad=True)
    b = torch.randn(7, 5, 3, generator=gen, dtype=dtype, requires_grad=True)
    w = torch.randn(5, 3, generator=gen, dtype=dtype, requires_grad=True)
    cases = [
        (lambda x, y: member_matmul(x.transpose(0, 1), y.permute(1, 2, 0)), (a, b), (1, 1), 0),
        (outer_merge, (a, b), (1, 1), 1),
        (scale_channels, (a, w), (1, 0), 1),
    ]
    for fn, args, axes, out_axis in cases:
        whole, alone = _each_member(fn, *args, axes=axes)
        for k, one in enumerate(alone):
            assert torch.equal(whole.narrow(out_axis, k, 1), one)
        grads = torch.autograd.grad(whole.square().sum(), args)
        for k in range(whole.shape[out_axis]):
            parts = [x.narrow(ax, k, 1).detach().requires_grad_() for x, ax in zip(args, axes)]
            mine = torch.autograd.grad(fn(*parts).square().sum(), parts)
            for g, m, ax in zip(grads, mine, axes):
                assert torch.equal(g.narrow(ax, k, 1), m)
    plain = (a.unsqueeze(1) * b.unsqueeze(0)).flatten(0, 1)
    torch.testing.assert_close(outer_merge(a, b), plain)
    torch.testing.assert_close(scale_channels(a, w), a * w)


def test_member_kernels_gradcheck() -> None:
    gen = torch.Generator().manual_seed(1)
    a = torch.randn(3, 2, 2, generator=gen, dtype=torch.float64, requires_grad=True)
    b = torch.randn(4, 2, 2, generator=gen, dtype=torch.float64, requires_grad=True)
    m = torch.randn(2, 2, 3, generator=gen, dtype=torch.float64, requires_grad=True)
    w = torch.randn(2, 2, generator=gen, dtype=torch.float64, requires_grad=True)
    for fn, args in (
        (member_matmul, (a.transpose(0, 1), m)),
        (outer_merge, (a, b)),
        (scale_channels, (a, w)),
    ):
        assert torch.autograd.gradcheck(fn, args)
        assert torch.autograd.gradgradcheck(fn, args)


@pytest.mark.parametrize("threads", [1, 2])
def test_row_sums_do_not_depend_on_rows_or_threads(threads) -> None:
    before = torch.get_num_threads()
    torch.set_num_threads(threads)
    try:
        x = torch.randn(3, 70_001, generator=torch.Generator().manual_seed(2))
        whole = row_sums(x)
        for k in range(3):
            assert torch.equal(whole[k], row_sums(x[k : k + 1].clone())[0])
        torch.testing.assert_close(whole, x.double().sum(1).float())
    finally:
        torch.set_num_threads(before)


@pytest.mark.parametrize("case", ["sensing", "deep"])
def test_sensing_and_deep_node_matrices_are_member_independent(case) -> None:
    gen = torch.Generator().manual_seed(3)
    idx = torch.randint(0, 5, (150, 4), generator=gen)
    vectors = torch.randn(80, 4, 5, generator=gen, dtype=torch.float64)

    def build(members, seed):
        depth = 2 if case == "deep" else 1
        tree = trees.balanced(4)
        return HierarchicalTensorFactorization(
            tree, 5, 4, depth=depth, ensemble=members, seed=seed, init_std=0.5, dtype=torch.float64
        )

    def run(model):
        return model.forward_sensing(vectors) if case == "sensing" else model(idx)

    ensemble = build(3, [4, 9, 2])
    out = run(ensemble)
    out.square().sum().backward()
    for k, seed in enumerate([4, 9, 2]):
        single = build(None, seed)
        one = run(single)
        one.square().sum().backward()
        assert torch.equal(out[k], one)
        for p, q in zip(ensemble.parameters(), single.parameters()):
            assert torch.equal(p.grad[k], q.grad[0])
