"""tnreg.theory.trajectories: rise times, counts, blow-up times, slopes and the path helpers."""

from __future__ import annotations

import math

import pytest
import torch

from tnreg import CP
from tnreg.theory import TheoryError
from tnreg.theory.trajectories import (
    active_counts,
    blowup_times,
    flow_path,
    flow_to_level,
    gd_path,
    is_one_at_a_time,
    loglog_slope,
    rise_times,
)

F64 = torch.float64
STAIRS = torch.tensor([[0.0, 0.0, 0.0], [2.0, 0.0, 0.0], [2.0, 0.0, 2.0], [2.0, 0.0, 2.0]])


def test_rise_times_and_counts():
    assert rise_times([0, 1, 2, 3], STAIRS, 1.0).tolist() == [1.0, math.inf, 2.0]
    assert active_counts(STAIRS, 1.0).tolist() == [0, 1, 2, 2]
    assert is_one_at_a_time(STAIRS, 1.0)
    assert not is_one_at_a_time(STAIRS[[0, 2]], 1.0)


def test_rise_times_checks_shape():
    with pytest.raises(TheoryError, match=r"shape \(T, R\) with T=2"):
        rise_times([0, 1], STAIRS, 1.0)


def test_blowup_time_interpolates_in_log_scale():
    t = blowup_times([0.0, 1.0, 2.0], torch.tensor([[1.0, 1.0], [10.0, 1.0], [100.0, 1.0]]), 100)
    assert t[0] == pytest.approx(2.0)
    assert math.isinf(t[1])


def test_loglog_slope_recovers_a_power_law():
    xs = [1e-3, 1e-2, 1e-1]
    assert loglog_slope(xs, [x ** (-1 / 3) for x in xs]) == pytest.approx(-1 / 3)
    with pytest.raises(TheoryError, match="at least 2 points"):
        loglog_slope([1.0], [1.0])


def _problem():
    model = CP(2, 2, 1, init_std=0.3, seed=0, dtype=F64)
    idx = torch.tensor([[0, 0], [1, 1]])
    return model, idx, torch.ones(2, dtype=F64)


def test_gd_path_records_every_k_steps_and_checks_arguments():
    model, idx, values = _problem()
    steps, rows = gd_path(model, idx, values, lr=0.1, steps=5, record=lambda m: 1, every=2)
    assert steps == [0, 2, 4] and rows == [1, 1, 1]
    with pytest.raises(TheoryError, match="lr > 0"):
        gd_path(model, idx, values, lr=0.0, steps=1, record=lambda m: None)


def test_flow_path_records_with_autograd_available():
    model, idx, values = _problem()
    times, rows = flow_path(model, idx, values, [0.0, 1.0], lambda m: torch.is_grad_enabled())
    assert times == [0.0, 1.0] and rows == [True, True]


def test_flow_to_level_gives_up_with_a_clear_message():
    model, idx, values = _problem()
    with pytest.raises(TheoryError, match="did not reach 100"):
        flow_to_level(model, idx, values, lambda m: 0.0, 100.0, guess=0.0, chunk=0.1, max_chunks=2)
