"""Optimizers: GroupRMSprop against docs/design.md §6 by hand; members stay independent."""

from __future__ import annotations

import math

import pytest
import torch
from conftest import small_cp, small_htf

from tnreg.testing import assert_close
from tnreg.train import GroupRMSprop, TrainConfig, fit, make_optimizer


def _reference(thetas, grads, lr, alpha, eps):
    """docs/design.md §6 in floats: one v per member, bias-corrected, eps outside the root."""
    members = len(thetas[0])
    v = [0.0] * members
    out = [[th[e].flatten().tolist() for e in range(members)] for th in thetas]
    for t, step_grads in enumerate(grads, start=1):
        for e in range(members):
            sq = sum(float(x) ** 2 for g in step_grads for x in g[e].flatten())
            v[e] = alpha * v[e] + (1 - alpha) * sq
            step = lr / (math.sqrt(v[e] / (1 - alpha**t)) + eps)
            for i, g in enumerate(step_grads):
                flat = g[e].flatten().tolist()
                out[i][e] = [a - step * b for a, b in zip(out[i][e], flat)]
    return out


def test_group_rmsprop_matches_the_formula_written_out():
    gen = torch.Generator().manual_seed(0)
    shapes = [(3, 2, 4), (3, 5)]
    params = [
        torch.nn.Parameter(torch.randn(s, generator=gen, dtype=torch.float64)) for s in shapes
    ]
    start = [p.detach().clone() for p in params]
    # very different gradient scales per member: one shared v would couple them
    scales = torch.tensor([1e-3, 1.0, 30.0], dtype=torch.float64)
    grads = [
        [torch.randn(s, generator=gen, dtype=torch.float64) * scales.view(-1, *[1] * (len(s) - 1))
         for s in shapes]
        for _ in range(5)
    ]  # fmt: skip
    opt = GroupRMSprop(params, lr=0.1, alpha=0.99, eps=1e-6)
    for step_grads in grads:
        for p, g in zip(params, step_grads):
            p.grad = g.clone()
        opt.step()
    ref = _reference(start, grads, 0.1, 0.99, 1e-6)
    for p, r in zip(params, ref):
        got = p.detach().reshape(3, -1)
        assert_close(got, torch.tensor(r, dtype=torch.float64), rtol=1e-13, atol=1e-15)
    assert opt.state_dict()["state"][0]["v"].shape == (3,)


def test_first_step_moves_by_lr_times_the_unit_gradient():
    w = torch.nn.Parameter(torch.tensor([[3.0, 4.0]], dtype=torch.float64))
    opt = GroupRMSprop([w], lr=0.5, eps=0.0)
    w.grad = torch.tensor([[3.0, 4.0]], dtype=torch.float64)
    opt.step()
    assert_close(w.detach(), torch.tensor([[2.7, 3.6]], dtype=torch.float64), rtol=1e-14)
    assert_close(opt.step_sizes(), torch.tensor([0.1], dtype=torch.float64), rtol=1e-14)


@pytest.mark.parametrize("build", [small_cp, small_htf], ids=["cp", "htf"])
def test_ensemble_member_follows_the_single_model_with_its_seed(cp_data, build):
    config = TrainConfig(steps=120, track_every=60, lr=0.05, progress=False)
    ensemble = build(ensemble=3)
    fit(ensemble, cp_data, config)
    for k in range(3):
        single = build(seed=k)
        fit(single, cp_data, config)
        for a, b in zip(ensemble.params, single.params):
            # bit-identical on CPU float64 when measured; allow rounding for other BLAS builds
            assert_close(a[k].detach(), b[0].detach(), rtol=1e-12, atol=1e-15)


def test_per_member_false_is_one_scalar_for_everything():
    w = torch.nn.Parameter(torch.ones(2, 1, dtype=torch.float64))
    opt = GroupRMSprop([w], lr=1.0, eps=0.0, per_member=False)
    w.grad = torch.tensor([[3.0], [4.0]], dtype=torch.float64)
    opt.step()
    assert_close(w.detach(), torch.tensor([[0.4], [0.2]], dtype=torch.float64), rtol=1e-14)


def test_state_dict_round_trip_continues_identically():
    def run(split: bool) -> torch.Tensor:
        w = torch.nn.Parameter(torch.ones(2, 3, dtype=torch.float64))
        opt = GroupRMSprop([w], lr=0.1)
        for t in range(6):
            if split and t == 3:
                state = opt.state_dict()
                w2 = torch.nn.Parameter(w.detach().clone())
                opt = GroupRMSprop([w2], lr=0.1)
                opt.load_state_dict(state)
                w = w2
            w.grad = (w.detach() * (t + 1)).sin()
            opt.step()
        return w.detach()

    assert torch.equal(run(False), run(True))


@pytest.mark.parametrize("name", ["gd", "sgd", "adam", "group_rmsprop"])
def test_every_optimizer_lowers_the_loss(cp_data, name):
    config = TrainConfig(
        optimizer=name, lr=0.02, momentum=0.9, steps=60, track_every=60, progress=False
    )
    result = fit(small_cp(), cp_data, config)
    first, last = result.metrics[0]["loss"], result.metrics[-1]["loss"]
    assert last < first


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"lr": 0.0}, "lr must be > 0"),
        ({"alpha": 1.0}, r"alpha must be in \[0, 1\)"),
        ({"eps": -1.0}, "eps must be >= 0"),
    ],
)
def test_group_rmsprop_rejects_bad_hyperparameters(kwargs, match):
    with pytest.raises(ValueError, match=match):
        GroupRMSprop([torch.nn.Parameter(torch.zeros(1, 2))], **kwargs)


def test_group_rmsprop_needs_one_ensemble_size():
    params = [torch.nn.Parameter(torch.zeros(2, 3)), torch.nn.Parameter(torch.zeros(3, 3))]
    with pytest.raises(ValueError, match=r"one leading ensemble axis size .* got sizes \[2, 3\]"):
        GroupRMSprop(params)


def test_make_optimizer_rejects_unknown_names():
    with pytest.raises(ValueError, match=r"unknown optimizer 'rmsprop'; valid options"):
        make_optimizer("rmsprop", [torch.nn.Parameter(torch.zeros(1))], lr=1.0)


@pytest.mark.parametrize("name", ["gd", "sgd", "adam", "group_rmsprop"])
def test_max_weight_clamps_every_entry_after_each_step(name):
    p = torch.nn.Parameter(torch.tensor([[0.5, -0.5, 1.0]], dtype=torch.float64))
    opt = make_optimizer(name, [p], lr=10.0, max_weight=1.02)
    p.grad = torch.tensor([[-1.0, 1.0, 0.0]], dtype=torch.float64)  # pushes outward by >= 1
    opt.step()
    assert p.detach().tolist()[0][:2] == [1.02, -1.02]
    assert p.detach()[0, 2] <= 1.02


def test_max_weight_must_be_positive():
    with pytest.raises(ValueError, match=r"max_weight must be a number > 0 or None; got 0"):
        make_optimizer("gd", [torch.nn.Parameter(torch.zeros(1))], lr=1.0, max_weight=0)
