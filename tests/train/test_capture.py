"""Captured training steps: eager fallback everywhere, same numbers as eager on CUDA."""

from __future__ import annotations

import pytest
import torch

from tnreg import trees
from tnreg.models import CP, HierarchicalTensorFactorization
from tnreg.train.capture import CapturedStep
from tnreg.train.losses import loss_function
from tnreg.train.optim import make_optimizer
from tnreg.train.step import train_step

needs_cuda = pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")


def problem(device, *, ensemble=None, dtype=torch.float64):
    model = HierarchicalTensorFactorization(
        trees.balanced(4),
        4,
        6,
        seed=0,
        init_std=0.5,
        ensemble=ensemble,
        dtype=dtype,
        device=device,
    )
    gen = torch.Generator().manual_seed(0)
    idx = torch.randint(0, 4, (64, 4), generator=gen).to(device)
    values = torch.randn(64, generator=gen, dtype=dtype).to(device)
    return model, idx, values


def run(model, idx, values, optimizer_name, steps, *, capture):
    opt = make_optimizer(optimizer_name, list(model.parameters()), lr=0.05)
    loss_fn = loss_function("mse")
    if capture:
        step = CapturedStep(model, idx, values, opt, loss_fn, warmup=2)
        losses = [step() for _ in range(steps)]
    else:
        plan = model.schedule_indices(idx)
        losses = [train_step(model, plan, values, opt, loss_fn) for _ in range(steps)]
    return torch.stack(losses), [p.detach().clone() for p in model.parameters()]


def test_cpu_falls_back_to_the_eager_step():
    model, idx, values = problem("cpu")
    twin, _, _ = problem("cpu")
    got, params = run(model, idx, values, "gd", 4, capture=True)
    want, ref = run(twin, idx, values, "gd", 4, capture=False)
    torch.testing.assert_close(got, want, rtol=0, atol=0)
    for a, b in zip(params, ref):
        torch.testing.assert_close(a, b, rtol=0, atol=0)


def test_switch_and_reason():
    model, idx, values = problem("cpu")
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    step = CapturedStep(model, idx, values, opt, loss_function("mse"), enabled=False)
    assert step.fallback_reason == "capture disabled (enabled=False)" and not step.captured
    step = CapturedStep(model, idx, values, opt, loss_function("mse"))
    assert step.fallback_reason == "parameters are on cpu, not on a CUDA device"
    assert step().shape == (1,)


def test_index_inputs_are_planned_once():
    model, idx, values = problem("cpu")
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    step = CapturedStep(model, idx, values, opt, loss_function("mse"))
    assert step.inputs is model.schedule_indices(idx)


@pytest.mark.parametrize("warmup", [0, -1, 1.5, True])
def test_bad_warmup(warmup):
    model, idx, values = problem("cpu")
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    with pytest.raises(ValueError, match="warmup must be an int >= 1"):
        CapturedStep(model, idx, values, opt, loss_function("mse"), warmup=warmup)


@pytest.mark.parametrize("optimizer_name", ["gd", "group_rmsprop", "adam"])
@pytest.mark.parametrize("ensemble", [None, 3])
@pytest.mark.gpu
@needs_cuda
def test_captured_matches_eager_on_cuda(optimizer_name, ensemble):
    model, idx, values = problem("cuda", ensemble=ensemble)
    twin, _, _ = problem("cuda", ensemble=ensemble)
    got, params = run(model, idx, values, optimizer_name, 8, capture=True)
    want, ref = run(twin, idx, values, optimizer_name, 8, capture=False)
    torch.testing.assert_close(got, want, rtol=1e-12, atol=1e-14)
    for a, b in zip(params, ref):
        torch.testing.assert_close(a, b, rtol=1e-12, atol=1e-14)


@pytest.mark.gpu
@needs_cuda
def test_captured_step_replays_and_sees_in_place_changes():
    model, idx, values = problem("cuda", dtype=torch.float32)
    opt = torch.optim.SGD(model.parameters(), lr=0.01)
    step = CapturedStep(model, idx, values, opt, loss_function("mse"), warmup=1)
    step()
    step()
    assert step.captured and step.fallback_reason is None
    with torch.no_grad():  # in place: the replay reads the same memory
        for p in model.parameters():
            p.zero_()
    assert float(step().sum()) == pytest.approx(float(values.square().mean()), rel=1e-5)


@pytest.mark.gpu
@needs_cuda
def test_uncapturable_step_falls_back():
    model = CP(3, 4, rank=2, seed=0, device="cuda")
    idx = torch.randint(0, 4, (16, 3)).cuda()
    values = torch.randn(16).cuda()
    opt = torch.optim.SGD(model.parameters(), lr=0.01)

    def syncing_loss(pred, target):
        _ = float(pred.detach().sum())  # a host sync: not capturable
        return (pred - target).square().mean(-1)

    step = CapturedStep(model, idx, values, opt, syncing_loss, warmup=1)
    step()
    assert step().shape == (1,)
    assert not step.captured and step.fallback_reason.startswith("capture failed")


@pytest.mark.gpu
@needs_cuda
@pytest.mark.parametrize("optimizer", ["group_rmsprop", "adam"])
def test_fit_with_capture_matches_eager_fit(optimizer, tmp_path):
    """fit() on CUDA captures full-batch steps by default; metrics equal eager fit's."""
    import csv
    from types import SimpleNamespace

    from tnreg.train import TrainConfig, fit

    gen = torch.Generator().manual_seed(0)
    idx = torch.randint(0, 4, (64, 4), generator=gen)
    data = SimpleNamespace(train_indices=idx, train_values=torch.randn(64, generator=gen))
    tables = []
    for capture in (True, False):
        model, _, _ = problem("cpu")
        config = TrainConfig(
            steps=40, track_every=10, lr=0.05, optimizer=optimizer, device="cuda",
            progress=False, capture=capture, trackers=["loss"],
        )  # fmt: skip
        fit(model, data, config, run_dir=tmp_path / str(capture))
        with open(tmp_path / str(capture) / "metrics.csv", newline="") as f:
            rows = list(csv.DictReader(f))
        tables.append([float(r["loss"]) for r in rows])
    assert tables[0] == pytest.approx(tables[1], rel=1e-9)
