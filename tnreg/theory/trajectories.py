"""Trajectory analyses: recording paths, invariant drift, incremental learning, blow-up scaling.

Vocabulary
----------
path
    What a run records at its output times: ``(times, records)``, one record (anything a
    ``record(model)`` callable returns) per time. :func:`flow_path` follows gradient flow with
    :func:`tnreg.train.gradient_flow` (adaptive Dormand–Prince); :func:`gd_path` takes plain
    gradient-descent steps of a fixed size.
rise time
    The first recorded time a (local) component's norm exceeds a threshold: the moment it
    leaves its plateau. Components that rise *one at a time* have distinct rise times, and the
    number of risen components grows by at most one between consecutive records.
blow-up time
    Under the balanced rate ``dσ/dt = K γ σ^{2-2/K}`` with γ constant, σ reaches any fixed level
    after ``t ≈ σ(0)^{-(K-2)/K} / ((K-2)γ)``: on a log–log plot the time against σ(0) has slope
    ``-(K-2)/K``.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from types import SimpleNamespace
from typing import Any

import torch

from tnreg.theory.quantities import TheoryError, completion_loss

__all__ = [
    "active_counts",
    "blowup_times",
    "flow_path",
    "flow_to_level",
    "gd_path",
    "is_one_at_a_time",
    "loglog_slope",
    "rise_times",
]


def flow_path(
    model: torch.nn.Module,
    indices: torch.Tensor,
    values: torch.Tensor,
    times: Sequence[float],
    record: Callable[[torch.nn.Module], Any],
    *,
    rtol: float = 1e-9,
    atol: float = 1e-14,
    max_steps: int = 200_000,
) -> tuple[list[float], list[Any]]:
    """Integrate gradient flow on ``model`` (in place, float64) and record it at ``times``.

    Examples
    --------
    >>> from tnreg import CP
    >>> model = CP(2, 2, rank=1, init_std=0.5, seed=0, dtype=torch.float64)
    >>> idx = torch.tensor([[0, 0], [1, 1]])
    >>> ones = torch.ones(2, dtype=torch.float64)
    >>> ts, losses = flow_path(model, idx, ones, [0.0, 50.0],
    ...                        lambda m: float(completion_loss(m, idx, ones).detach()))
    >>> losses[-1] < 1e-6 < losses[0]
    True
    """
    from tnreg.train import gradient_flow

    records: list[Any] = []

    def tracker(m, _context):
        with torch.enable_grad():  # trackers run under no_grad; records may need autograd
            records.append(record(m))
        return {}

    data = SimpleNamespace(train_indices=indices, train_values=values)
    result = gradient_flow(
        model, data, times, rtol=rtol, atol=atol, max_steps=max_steps, extra_trackers=[tracker]
    )
    return list(result.times), records


def flow_to_level(
    model: torch.nn.Module,
    indices: torch.Tensor,
    values: torch.Tensor,
    quantity: Callable[[torch.nn.Module], float],
    level: float,
    *,
    guess: float,
    chunk: float,
    points: int = 20,
    growth: float = 1.0,
    max_chunks: int = 200,
    rtol: float = 1e-6,
    atol: float = 1e-14,
) -> float:
    """Time at which ``quantity(model)`` first reaches ``level`` under gradient flow.

    Flows (in place) to ``guess`` without looking, then on in chunks of length ``chunk`` with
    ``points`` records each (each chunk ``growth`` times the previous one) until the level is
    passed, and interpolates in log scale. Stopping
    right after the crossing keeps blow-up runs out of their stiff converged phase.

    Examples
    --------
    >>> from tnreg import CP
    >>> model = CP(2, 1, rank=1, init_std=0.1, seed=0, dtype=torch.float64)
    >>> idx = torch.zeros(1, 2, dtype=torch.long)
    >>> t = flow_to_level(model, idx, torch.ones(1, dtype=torch.float64),
    ...                   lambda m: float(m(idx).detach().abs()), 0.5, guess=1.0, chunk=0.5)
    >>> 1.0 < t < 10.0
    True
    """
    t0 = 0.0
    if guess > 0:
        flow_path(model, indices, values, [0.0, guess], lambda m: None, rtol=rtol, atol=atol)
        t0 = guess
    for _ in range(max_chunks):
        times = [chunk * j / points for j in range(points + 1)]
        ts, rows = flow_path(model, indices, values, times, quantity, rtol=rtol, atol=atol)
        hit = blowup_times(ts, torch.tensor(rows, dtype=torch.float64).unsqueeze(1), level)
        if math.isfinite(float(hit[0])):
            return t0 + float(hit[0])
        t0 += chunk
        chunk *= growth
    raise TheoryError(
        f"flow_to_level: the quantity did not reach {level:g} by t={t0:g} ({max_chunks} chunks); "
        f"raise max_chunks or growth, or check the setting"
    )


def gd_path(
    model: torch.nn.Module,
    indices: torch.Tensor,
    values: torch.Tensor,
    *,
    lr: float,
    steps: int,
    record: Callable[[torch.nn.Module], Any],
    every: int = 1,
) -> tuple[list[int], list[Any]]:
    """Plain gradient descent ``θ ← θ - lr ∇L`` (in place); records at steps 0, every, ...

    Examples
    --------
    >>> from tnreg import CP
    >>> model = CP(2, 2, rank=1, init_std=0.5, seed=0, dtype=torch.float64)
    >>> idx = torch.tensor([[0, 0]])
    >>> steps, _ = gd_path(model, idx, torch.ones(1, dtype=torch.float64), lr=0.1, steps=4,
    ...                    record=lambda m: None, every=2)
    >>> steps
    [0, 2, 4]
    """
    if not lr > 0 or steps < 0 or every < 1:
        raise TheoryError(
            f"gd_path needs lr > 0, steps >= 0 and every >= 1; got lr={lr!r}, steps={steps!r}, "
            f"every={every!r}"
        )
    params = [p for p in model.parameters() if p.requires_grad]
    out_steps, records = [0], [record(model)]
    for step in range(1, steps + 1):
        grads = torch.autograd.grad(completion_loss(model, indices, values), params)
        with torch.no_grad():
            for p, g in zip(params, grads):
                p.sub_(lr * g)
        if step % every == 0:
            out_steps.append(step)
            records.append(record(model))
    return out_steps, records


def rise_times(times: Sequence[float], norms: torch.Tensor, threshold: float) -> torch.Tensor:
    """First time each column of ``norms`` (T, R) exceeds ``threshold``; ``inf`` if never.

    Examples
    --------
    >>> rise_times([0, 1, 2], torch.tensor([[0.0, 0.0], [1.0, 0.0], [1.0, 1.0]]), 0.5)
    tensor([1., 2.], dtype=torch.float64)
    """
    norms = torch.as_tensor(norms)
    if norms.ndim != 2 or norms.shape[0] != len(times):
        raise TheoryError(
            f"norms must have shape (T, R) with T={len(times)} (one row per time); got "
            f"{tuple(norms.shape)}"
        )
    t = torch.as_tensor(list(times), dtype=torch.float64)
    above = norms > threshold
    first = torch.where(above.any(0), above.double().argmax(0), len(times))
    padded = torch.cat([t, torch.tensor([math.inf], dtype=torch.float64)])
    return padded[first]


def active_counts(norms: torch.Tensor, threshold: float) -> torch.Tensor:
    """Number of components above ``threshold`` at each time, ``(T,)``.

    Examples
    --------
    >>> active_counts(torch.tensor([[0.0, 0.0], [1.0, 0.0], [1.0, 1.0]]), 0.5)
    tensor([0, 1, 2])
    """
    return (torch.as_tensor(norms) > threshold).sum(-1)


def is_one_at_a_time(norms: torch.Tensor, threshold: float) -> bool:
    """Whether the count of risen components never jumps by more than one between records.

    Examples
    --------
    >>> is_one_at_a_time(torch.tensor([[0.0, 0.0], [1.0, 0.0], [1.0, 1.0]]), 0.5)
    True
    >>> is_one_at_a_time(torch.tensor([[0.0, 0.0], [1.0, 1.0]]), 0.5)
    False
    """
    counts = active_counts(norms, threshold)
    return bool((counts.diff() <= 1).all())


def blowup_times(times: Sequence[float], norms: torch.Tensor, level: float) -> torch.Tensor:
    """Time each column of ``norms`` (T, M) first reaches ``level``, interpolated in log σ.

    Examples
    --------
    >>> blowup_times([0.0, 1.0], torch.tensor([[1.0], [100.0]]), 10.0)
    tensor([0.5000], dtype=torch.float64)
    """
    norms = torch.as_tensor(norms, dtype=torch.float64)
    t = torch.as_tensor(list(times), dtype=torch.float64)
    out = []
    for col in norms.T:
        above = (col >= level).nonzero()
        if len(above) == 0:
            out.append(math.inf)
            continue
        i = int(above[0])
        if i == 0:
            out.append(float(t[0]))
            continue
        a, b = col[i - 1].log(), col[i].log()
        frac = (math.log(level) - a) / (b - a)
        out.append(float(t[i - 1] + frac * (t[i] - t[i - 1])))
    return torch.tensor(out, dtype=torch.float64)


def loglog_slope(x: Sequence[float], y: Sequence[float]) -> float:
    """Least-squares slope of ``log y`` against ``log x``.

    Examples
    --------
    >>> round(loglog_slope([1, 10, 100], [1, 0.1, 0.01]), 12)
    -1.0
    """
    lx = torch.tensor([math.log(v) for v in x], dtype=torch.float64)
    ly = torch.tensor([math.log(v) for v in y], dtype=torch.float64)
    if len(lx) < 2:
        raise TheoryError(f"a slope needs at least 2 points; got {len(lx)}")
    lx, ly = lx - lx.mean(), ly - ly.mean()
    return float((lx * ly).sum() / lx.square().sum())
