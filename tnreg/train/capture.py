"""Captured training steps: a whole full-batch step recorded once as a CUDA graph and replayed.

Vocabulary
----------
captured step
    :func:`tnreg.train.step.train_step` (forward, backward, optimizer update) on one fixed
    batch, recorded once with ``torch.cuda.graph`` and then *replayed*: one launch instead of
    one per kernel. On a GPU an eager step of a small model is mostly launch overhead, which
    replay removes (BENCHMARKS.md, section Training, records eager against captured steps).
warm-up
    CUDA graphs need a few eager iterations on a side stream before capture (lazy state such
    as ``.grad`` tensors and optimizer buffers must exist). Here those are real training
    steps: step k of a :class:`CapturedStep` is step k of an eager run, warm-up or replay.
static tensors
    A replay reads and writes the same memory as the capture: the parameters, their ``.grad``,
    the optimizer state, the batch and the returned loss. In-place changes (``copy_``,
    ``load_state_dict`` on the model) are seen by the next replay; *replacing* a tensor
    (a new optimizer state dict, a new batch) is not: call :meth:`CapturedStep.reset` then.

The eager fallback: off the GPU, with ``enabled=False``, or when capture fails (the reason is
kept in :attr:`CapturedStep.fallback_reason`), every call is the eager ``train_step``.
"""

from __future__ import annotations

from typing import Any

import torch

from tnreg.train.inputs import schedule_inputs
from tnreg.train.losses import LossFn
from tnreg.train.step import train_step

__all__ = ["CapturedStep"]


class CapturedStep:
    """A full-batch training step, replayed from a CUDA graph when possible.

    Parameters
    ----------
    model, inputs, values, optimizer, loss_fn
        As for :func:`~tnreg.train.step.train_step`; ``inputs`` and ``values`` stay fixed
        (full-batch training). Index inputs of a model with ``schedule_indices`` are scheduled
        once here (the schedule lookup compares batches on the host, which a graph cannot do).
    enabled
        ``False`` always runs the eager step (the switch to turn capture off).
    warmup
        Eager steps on a side stream before capture (at least 1).

    Attributes
    ----------
    captured
        Whether calls replay a graph (``False`` until the warm-up is done, and on fallback).
    fallback_reason
        Why the step runs eagerly for good (``None`` while capture is possible).

    Examples
    --------
    >>> from tnreg.models import CP
    >>> from tnreg.train.losses import loss_function
    >>> model = CP(2, 3, rank=2, seed=0, dtype=torch.float64)
    >>> idx, vals = torch.tensor([[0, 1], [2, 2]]), torch.ones(2, dtype=torch.float64)
    >>> opt = torch.optim.SGD(model.parameters(), lr=0.1)
    >>> step = CapturedStep(model, idx, vals, opt, loss_function("mse"))
    >>> step().shape, step.captured, step.fallback_reason  # no GPU here: eager
    (torch.Size([1]), False, 'parameters are on cpu, not on a CUDA device')
    """

    def __init__(
        self,
        model: torch.nn.Module,
        inputs: Any,
        values: torch.Tensor,
        optimizer: torch.optim.Optimizer,
        loss_fn: LossFn,
        *,
        enabled: bool = True,
        warmup: int = 3,
    ) -> None:
        if isinstance(warmup, bool) or not isinstance(warmup, int) or warmup < 1:
            raise ValueError(
                f"warmup must be an int >= 1 (eager steps before capture); got {warmup!r}"
            )
        inputs = schedule_inputs(model, inputs)
        self.model, self.inputs, self.values = model, inputs, values
        self.optimizer, self.loss_fn = optimizer, loss_fn
        self.warmup = warmup
        self.fallback_reason = _why_not(model, enabled)
        self.reset()

    @property
    def captured(self) -> bool:
        """Whether the next call replays a graph."""
        return self._graph is not None

    def reset(self) -> None:
        """Drop the graph; the next calls warm up and capture again (eager until then)."""
        self._graph: torch.cuda.CUDAGraph | None = None
        self._loss: torch.Tensor | None = None
        self._warm = 0

    def __call__(self) -> torch.Tensor:
        """One optimizer step; returns the loss per member ``(E,)`` (a fresh tensor)."""
        if self.fallback_reason is not None:
            return self._eager()
        if self._graph is not None:
            self._graph.replay()
            return self._loss.clone()
        if self._warm < self.warmup:
            self._warm += 1
            return self._side_stream_step()
        return self._capture_and_replay()

    def _eager(self) -> torch.Tensor:
        return train_step(self.model, self.inputs, self.values, self.optimizer, self.loss_fn)

    def _side_stream_step(self) -> torch.Tensor:
        side = torch.cuda.Stream()
        side.wait_stream(torch.cuda.current_stream())
        with torch.cuda.stream(side):
            loss = self._eager()
        torch.cuda.current_stream().wait_stream(side)
        return loss

    def _capture_and_replay(self) -> torch.Tensor:
        graph = torch.cuda.CUDAGraph()
        try:
            with torch.cuda.graph(graph):
                loss = self._eager()
        except RuntimeError as err:  # an op that cannot be captured: stay eager
            self.fallback_reason = f"capture failed: {err}".splitlines()[0]
            torch.cuda.synchronize()
            return self._eager()
        self._graph, self._loss = graph, loss
        graph.replay()
        return loss.clone()


def _why_not(model: torch.nn.Module, enabled: bool) -> str | None:
    """Why this step cannot be captured, or ``None``."""
    if not enabled:
        return "capture disabled (enabled=False)"
    param = next(iter(model.parameters()), None)
    if param is None:
        return "the model has no parameters"
    if param.device.type != "cuda":
        return f"parameters are on {param.device.type}, not on a CUDA device"
    return None
