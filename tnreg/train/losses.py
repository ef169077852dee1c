"""Per-member training losses: squared error (default), L1 and Huber.

Vocabulary
----------
per-member loss
    Predictions have shape ``(E, B)`` (ensemble of E members, B samples; a single model's
    ``(B,)`` is read as ``E = 1``); a loss returns one value per member, shape ``(E,)``. Training
    minimizes the **sum** over members, so each member's gradient is that of its own loss and
    members stay independent.
convention
    ``"mse"`` is the papers' mean squared error ``mean_b (W(x_b) - y_b)²`` without a factor 1/2
    (gradient flow on it runs twice as fast as on ``½·mean``); it is also the train MSE of the
    stopping rule. ``"l1"`` is ``mean_b |r_b|`` and ``"huber"`` is ``mean_b h_δ(r_b)`` with
    ``h_δ(r) = r²/2`` for ``|r| <= δ`` and ``δ(|r| - δ/2)`` beyond (torch's convention).
"""

from __future__ import annotations

from collections.abc import Callable

import torch

from tnreg.models.engine.members import row_sums

__all__ = ["LossFn", "loss_function", "per_member"]

LossFn = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]


def per_member(prediction: torch.Tensor) -> torch.Tensor:
    """View a prediction as ``(E, B)``: a single model's ``(B,)`` becomes ``(1, B)``."""
    return prediction.unsqueeze(0) if prediction.ndim == 1 else prediction


def _mean(x: torch.Tensor) -> torch.Tensor:
    """Per-member mean of an (E, B) tensor, rounded alike for every E and thread count."""
    return row_sums(x) / x.shape[1]


def _mse(prediction: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    return _mean((per_member(prediction) - target).square())


def _l1(prediction: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    return _mean((per_member(prediction) - target).abs())


def loss_function(name: str, *, huber_delta: float = 1.0) -> LossFn:
    """The per-member loss ``(prediction (E, B) or (B,), target (B,)) -> (E,)`` named ``name``.

    Raises
    ------
    ValueError
        On an unknown name or a non-positive ``huber_delta``.

    Examples
    --------
    >>> pred = torch.tensor([[1.0, 2.0], [0.0, 0.0]])
    >>> loss_function("mse")(pred, torch.tensor([1.0, 0.0]))
    tensor([2.0000, 0.5000])
    >>> loss_function("huber", huber_delta=1.0)(pred, torch.tensor([1.0, 0.0]))
    tensor([0.7500, 0.2500])
    """
    if name == "mse":
        return _mse
    if name == "l1":
        return _l1
    if name == "huber":
        if not huber_delta > 0:
            raise ValueError(f"huber_delta must be > 0; got {huber_delta!r}")

        def huber(prediction: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
            pred = per_member(prediction)
            target = target.expand_as(pred)
            loss = torch.nn.functional.huber_loss(pred, target, reduction="none", delta=huber_delta)
            return _mean(loss)

        return huber
    raise ValueError(f"unknown loss {name!r}; valid options: ['mse', 'l1', 'huber']")
