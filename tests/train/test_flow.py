"""Gradient flow: a closed-form solution and conserved quantities to high accuracy."""

from __future__ import annotations

from types import SimpleNamespace

import pytest
import torch

from tnreg.analysis import drift, invariants
from tnreg.models import CP
from tnreg.testing import assert_close
from tnreg.train.flow import gradient_flow


def _one_entry(value: float) -> SimpleNamespace:
    return SimpleNamespace(
        train_indices=torch.zeros(1, 2, dtype=torch.long),
        train_values=torch.tensor([value], dtype=torch.float64),
    )


def test_scalar_factorization_follows_the_logistic_closed_form():
    # W = a·b on one entry, L = (W - y)², a = b: dW/dt = -4 W (W - y), a logistic curve
    y, w0 = 1.5, torch.tensor([1e-2, 0.3], dtype=torch.float64)
    model = CP(2, 1, rank=1, ensemble=2, dtype=torch.float64)
    with torch.no_grad():
        for p in model.params:
            p.copy_(w0.sqrt().view(2, 1, 1))
    times = [0.0, 0.25, 0.5, 1.0, 2.0, 4.0]
    result = gradient_flow(model, _one_entry(y), times, rtol=1e-11, atol=1e-14, keep_states=True)
    assert result.times == times and result.rejected >= 0
    for t, state in zip(times, result.states):
        got = state[0][:, 0, 0] * state[1][:, 0, 0]
        exact = y / (1 + (y / w0 - 1) * torch.exp(torch.tensor(-4 * y * t, dtype=torch.float64)))
        assert_close(got, exact, rtol=1e-9, atol=0.0)
    assert_close(model.params[0][:, 0, 0].detach() ** 2, exact, rtol=1e-9, atol=0.0)


def test_cp_invariants_are_conserved(cp_data):
    model = CP(3, 5, rank=3, init_std=0.3, seed=1, dtype=torch.float64)
    before = {k: v.detach().clone() for k, v in invariants(model).items()}
    result = gradient_flow(model, cp_data, [0.0, 10.0, 100.0], trackers=["loss"], rtol=1e-10)
    after = invariants(model)
    scale = max(float(v.abs().max()) for v in before.values())
    worst = max(float(d.max()) for d in drift(before, after).values())
    assert worst / scale < 1e-8
    losses = [r["loss"] for r in result.metrics]
    assert losses[-1] < losses[0]


def test_every_step_records_each_accepted_step(cp_data):
    model = CP(3, 5, rank=2, init_std=0.3, seed=0, dtype=torch.float64)
    result = gradient_flow(model, cp_data, [50.0], every_step=True, rtol=1e-6)
    assert (
        len(result.times) == result.accepted and result.times[-1] == 50.0 and len(result.times) > 3
    )
    assert all(b > a for a, b in zip(result.times, result.times[1:]))
    assert result.metrics[0].keys() == {"t", "member"}


def test_gradient_flow_rejects_bad_inputs(cp_data):
    with pytest.raises(ValueError, match="needs a float64 model"):
        gradient_flow(CP(3, 5, rank=2, seed=0), cp_data, [1.0])
    model = CP(3, 5, rank=2, init_std=0.3, seed=0, dtype=torch.float64)
    with pytest.raises(ValueError, match="times must be increasing and >= 0"):
        gradient_flow(model, cp_data, [1.0, 0.5])
    with pytest.raises(ValueError, match=r"max_steps=2 reached at t=.* raise max_steps"):
        gradient_flow(model, cp_data, [1000.0], max_steps=2, rtol=1e-12)
