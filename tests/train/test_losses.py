"""Losses: per member, the papers' MSE convention, Huber's two branches."""

from __future__ import annotations

import pytest
import torch

from tnreg.testing import assert_close
from tnreg.train.losses import loss_function


def _pred():
    return torch.tensor([[1.0, 3.0, -2.0], [0.0, 0.5, 0.0]], dtype=torch.float64)


def _target():
    return torch.tensor([0.0, 1.0, 0.0], dtype=torch.float64)


def test_mse_is_the_plain_mean_of_squares_per_member():
    got = loss_function("mse")(_pred(), _target())
    assert_close(got, torch.tensor([(1 + 4 + 4) / 3, 0.25 / 3], dtype=torch.float64))


def test_l1_is_the_mean_absolute_residual():
    got = loss_function("l1")(_pred(), _target())
    assert_close(got, torch.tensor([5 / 3, 0.5 / 3], dtype=torch.float64))


def test_huber_is_quadratic_inside_and_linear_outside_delta():
    got = loss_function("huber", huber_delta=1.5)(_pred(), _target())
    # residuals 1, 2, -2 and 0, -0.5, 0: r²/2 inside |r| <= 1.5, 1.5 (|r| - 0.75) beyond
    first = (0.5 + 1.5 * 1.25 * 2) / 3
    assert_close(got, torch.tensor([first, 0.125 / 3], dtype=torch.float64))


def test_a_single_model_prediction_is_one_member():
    got = loss_function("mse")(_pred()[0], _target())
    assert got.shape == (1,)


def test_member_gradients_are_independent():
    pred = _pred().clone().requires_grad_(True)
    loss_function("mse")(pred, _target()).sum().backward()
    alone = _pred()[1].clone().requires_grad_(True)
    loss_function("mse")(alone, _target()).sum().backward()
    assert torch.equal(pred.grad[1], alone.grad)


def test_unknown_loss_and_bad_delta_are_rejected():
    with pytest.raises(ValueError, match=r"unknown loss 'mae'; valid options: \['mse', 'l1'"):
        loss_function("mae")
    with pytest.raises(ValueError, match="huber_delta must be > 0; got 0"):
        loss_function("huber", huber_delta=0)
