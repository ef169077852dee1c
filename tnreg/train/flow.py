"""Gradient flow ``dθ/dt = -∇L(θ)`` by an adaptive Dormand–Prince 5(4) Runge–Kutta method.

Vocabulary
----------
gradient flow
    The continuous-time limit of gradient descent; the dynamics of docs/design.md §4 (conserved
    quantities, rates of component norms) hold exactly along it. ``L`` is the sum over ensemble
    members of the per-member loss, so each member follows its own flow.
embedded pair
    Each step takes a 5th-order solution and a 4th-order one from the same seven gradient
    evaluations (six new ones: the last one is the next step's first, "FSAL"); their difference
    estimates the local error. A step is accepted when, for every member e,
    ``rms_e(err / (atol + rtol·max(|θ|, |θ_new|))) <= 1`` (members share the step size: the
    strictest member sets it); the next step size follows the usual ``0.9·err^(-1/5)`` rule.

Written here rather than taken from torchdiffeq: ~100 lines, no extra dependency, it works on a
model's parameter list in place (ensembles included) and is deterministic.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import torch

from tnreg.train.inputs import move_inputs, schedule_inputs, split_inputs
from tnreg.train.losses import loss_function
from tnreg.train.step import evaluate
from tnreg.train.trackers import TrackContext, Tracker, resolve_trackers, run_trackers

__all__ = ["FlowResult", "gradient_flow"]

# Dormand & Prince (1980): nodes c, stages a, 5th-order weights b, error weights b - b*.
_C = (0.0, 1 / 5, 3 / 10, 4 / 5, 8 / 9, 1.0)
_A = (
    (),
    (1 / 5,),
    (3 / 40, 9 / 40),
    (44 / 45, -56 / 15, 32 / 9),
    (19372 / 6561, -25360 / 2187, 64448 / 6561, -212 / 729),
    (9017 / 3168, -355 / 33, 46732 / 5247, 49 / 176, -5103 / 18656),
)
_B = (35 / 384, 0.0, 500 / 1113, 125 / 192, -2187 / 6784, 11 / 84)
_E = (71 / 57600, 0.0, -71 / 16695, 71 / 1920, -17253 / 339200, 22 / 525, -1 / 40)


@dataclass
class FlowResult:
    """What :func:`gradient_flow` returns.

    Attributes
    ----------
    times
        The output times (the requested ones, or every accepted step).
    metrics
        One row per (output time, member): ``t``, ``member``, then the trackers' metrics.
    states
        Parameter values at each output time (when ``keep_states``), each a list of tensors.
    accepted, rejected
        Step counts.
    """

    times: list[float]
    metrics: list[dict[str, Any]] = field(default_factory=list)
    states: list[list[torch.Tensor]] = field(default_factory=list)
    accepted: int = 0
    rejected: int = 0


def _axpy(y: list[torch.Tensor], h: float, coefs: Sequence[float], ks: list) -> list:
    """``y + h·Σ coef_j·k_j`` over the parameter list."""
    out = []
    for i, yi in enumerate(y):
        acc = yi.clone()
        for c, k in zip(coefs, ks):
            if c:
                acc.add_(k[i], alpha=h * c)
        out.append(acc)
    return out


def _dopri_step(grad, y, k1, step: float, rtol: float, atol: float, members: int):
    """One Dormand–Prince step: the 5th-order solution, its gradient and the error norm."""
    ks = [k1]
    for i in range(1, 6):
        ks.append(grad(_axpy(y, step, _A[i], ks)))
    y_new = _axpy(y, step, _B, ks)
    k7 = grad(y_new)
    err = _axpy([torch.zeros_like(v) for v in y], step, _E, [*ks, k7])
    return y_new, k7, _error_norm(y, y_new, err, rtol, atol, members)


def _error_norm(y, y_new, err, rtol: float, atol: float, members: int) -> float:
    """Largest over members of the RMS of the scaled error (one host sync per step)."""
    sq = torch.zeros(members, dtype=y[0].dtype, device=y[0].device)
    count = 0
    for a, b, e in zip(y, y_new, err):
        scale = atol + rtol * torch.maximum(a.abs(), b.abs())
        sq += (e / scale).square().reshape(members, -1).sum(1)
        count += a[0].numel()
    return float((sq / count).sqrt().max())


def gradient_flow(
    model: torch.nn.Module,
    data: Any,
    times: Sequence[float],
    *,
    loss: str = "mse",
    huber_delta: float = 1.0,
    rtol: float = 1e-8,
    atol: float = 1e-12,
    first_step: float | None = None,
    max_steps: int = 100_000,
    every_step: bool = False,
    trackers: Sequence[str] = (),
    extra_trackers: Sequence[Tracker] = (),
    keep_states: bool = False,
    top_k: int = 5,
    rank_rtol: float = 1e-3,
) -> FlowResult:
    """Integrate gradient flow on ``model`` (in place) and record it at ``times``.

    Parameters
    ----------
    model
        A float64 model (parameters with a leading ensemble axis); ends at the last time.
    data
        As for :func:`tnreg.train.fit`.
    times
        Increasing output times starting at >= 0; integration runs from 0 to ``times[-1]``.
    loss, huber_delta
        The per-member loss (see :mod:`tnreg.train.losses`).
    rtol, atol
        Local error tolerances per member.
    first_step, max_steps
        Initial step size (default: from the gradient's size) and a cap on attempted steps.
    every_step
        Also record after every accepted step.
    trackers, extra_trackers
        Built-in tracker names and extra tracker callables run at each output time.
    keep_states
        Keep a copy of the parameters at each output time.

    Raises
    ------
    ValueError
        On a non-float64 model, times that are not increasing or negative, or when
        ``max_steps`` is reached before ``times[-1]``.

    Examples
    --------
    >>> from types import SimpleNamespace
    >>> from tnreg.models import CP
    >>> model = CP(2, 1, rank=1, init_std=0.1, seed=0, dtype=torch.float64)
    >>> data = SimpleNamespace(train_indices=torch.zeros(1, 2, dtype=torch.long),
    ...                        train_values=torch.ones(1, dtype=torch.float64))
    >>> result = gradient_flow(model, data, [0.0, 5.0], trackers=["loss"])
    >>> result.metrics[-1]["loss"] < 1e-12
    True
    """
    flow = _Flow(model, data, loss_function(loss, huber_delta=huber_delta), keep_states)
    times = _check_times(times)
    flow.context.top_k, flow.context.rank_rtol = top_k, rank_rtol
    flow.trackers = resolve_trackers(list(trackers), extra_trackers)
    result = flow.result
    y = [p.detach().clone() for p in flow.params]
    k1 = flow.grad(y)
    t, pending = 0.0, list(times)
    if pending[0] == 0.0:
        flow.record(pending.pop(0), y)
    h = first_step or _initial_step(y, k1, pending[-1] if pending else 0.0)
    while pending:
        if result.accepted + result.rejected >= max_steps:
            raise ValueError(
                f"gradient_flow: max_steps={max_steps} reached at t={t:.6g} before "
                f"t={times[-1]}; raise max_steps or loosen rtol/atol"
            )
        step = min(h, pending[0] - t)
        y_new, k7, norm = _dopri_step(flow.grad, y, k1, step, rtol, atol, flow.members)
        factor = 5.0 if norm == 0 else min(5.0, max(0.2, 0.9 * norm ** (-0.2)))
        if norm > 1.0:
            result.rejected += 1
            h = step * factor
            continue
        result.accepted += 1
        t, y, k1 = t + step, y_new, k7
        reached = t >= pending[0] * (1 - 1e-13)
        if reached:
            t = pending.pop(0)
        if reached or every_step:
            flow.record(t, y)
        h = h if step < h else step * factor  # a step clipped to an output time keeps h
    flow.assign(y)
    return result


def _check_times(times: Sequence[float]) -> list[float]:
    out = [float(t) for t in times]
    if not out or out[0] < 0 or any(b <= a for a, b in itertools.pairwise(out)):
        raise ValueError(f"times must be increasing and >= 0; got {out!r}")
    return out


class _Flow:
    """The model, its data and loss as a vector field on the parameter list."""

    def __init__(self, model: torch.nn.Module, data: Any, loss_fn, keep_states: bool) -> None:
        self.model = model
        self.params = [p for p in model.parameters() if p.requires_grad]
        if any(p.dtype != torch.float64 for p in self.params):
            raise ValueError(
                "gradient_flow needs a float64 model (error control at rtol ~1e-8 is "
                "meaningless in float32); build it with dtype=torch.float64 or call model.double()"
            )
        device = self.params[0].device
        inputs, values = split_inputs(data, "train")
        self.inputs = schedule_inputs(model, move_inputs(inputs, device, torch.float64))
        self.values = values.to(device, torch.float64)
        self.loss_fn = loss_fn
        self.members = self.params[0].shape[0]
        self.keep_states = keep_states
        self.context = TrackContext(
            step=0, data=data, train_inputs=self.inputs, train_values=self.values,
            test_inputs=None, test_values=None, loss_fn=loss_fn,
        )  # fmt: skip
        self.trackers: list[Tracker] = []
        self.result = FlowResult(times=[])

    def assign(self, y: list[torch.Tensor]) -> None:
        with torch.no_grad():
            for p, yi in zip(self.params, y):
                p.copy_(yi)

    def grad(self, y: list[torch.Tensor]) -> list[torch.Tensor]:
        """``-∇L`` at ``y`` (the vector field)."""
        self.assign(y)
        total = self.loss_fn(evaluate(self.model, self.inputs), self.values).sum()
        return [-g for g in torch.autograd.grad(total, self.params)]

    def record(self, t: float, y: list[torch.Tensor]) -> None:
        self.assign(y)
        result = self.result
        self.context.step = len(result.times)
        fns = self.trackers
        metrics = run_trackers(self.model, self.context, fns, self.members) if fns else {}
        result.times.append(t)
        result.metrics += [
            {"t": t, "member": e, **{k: v[e] for k, v in metrics.items()}}
            for e in range(self.members)
        ]
        if self.keep_states:
            result.states.append([yi.clone() for yi in y])


def _initial_step(y: list[torch.Tensor], f: list[torch.Tensor], span: float) -> float:
    """``0.01·||θ|| / ||∇L||`` bounded by the span (Hairer, Nørsett & Wanner's first guess)."""
    ny = float(torch.sqrt(sum(v.square().sum() for v in y)))
    nf = float(torch.sqrt(sum(v.square().sum() for v in f)))
    guess = 1e-6 if ny < 1e-5 or nf < 1e-5 else 0.01 * ny / nf
    return min(guess, span) if span > 0 else guess
