"""One training step, and the mini-batch sampler that feeds it.

Vocabulary
----------
inputs
    What the model is evaluated at: a ``(B, N)`` long tensor of multi-indices (completion), a
    precomputed :class:`tnreg.models.engine.IndexSchedule` of such a batch (full-batch training:
    the memoization bookkeeping is built once), or a ``(B, N, d)`` float tensor of rank-one
    measurement vectors (sensing, ``forward_sensing``), or a list of ``(B, d_n)`` vectors,
    one per mode (sensing, as :class:`tnreg.data.Dataset` holds them).
step
    :func:`train_step` is a function of (model, batch, optimizer state) only: static shapes, no
    ``.item()``, no Python branching on tensor values, so the performance work can capture it
    as a CUDA graph. Non-finite values are detected by the loop at tracking checks, not here.
"""

from __future__ import annotations

from typing import Any

import torch

from tnreg.train.losses import LossFn, per_member

__all__ = ["BatchSampler", "evaluate", "select", "train_step"]


def select(inputs: Any, rows: torch.Tensor) -> Any:
    """The samples ``rows`` of ``inputs`` (a tensor, or a list of per-mode sensing vectors)."""
    if isinstance(inputs, (list, tuple)):
        return [x.index_select(0, rows) for x in inputs]
    return inputs.index_select(0, rows)


def evaluate(model: torch.nn.Module, inputs: Any) -> torch.Tensor:
    """The model at ``inputs`` (see the module docstring), always as ``(E, B)``."""
    if isinstance(inputs, (list, tuple)) or (
        isinstance(inputs, torch.Tensor) and inputs.is_floating_point()
    ):
        return per_member(model.forward_sensing(inputs))
    return per_member(model(inputs))


def train_step(
    model: torch.nn.Module,
    inputs: Any,
    values: torch.Tensor,
    optimizer: torch.optim.Optimizer,
    loss_fn: LossFn,
) -> torch.Tensor:
    """One optimizer update on one batch; returns the batch loss per member ``(E,)``, detached.

    The gradient is that of the sum over members of ``loss_fn``, so members stay independent.

    Examples
    --------
    >>> from tnreg.models import CP
    >>> from tnreg.train.losses import loss_function
    >>> model = CP(2, 3, rank=2, seed=0, dtype=torch.float64)
    >>> idx = torch.tensor([[0, 1], [2, 2]])
    >>> opt = torch.optim.SGD(model.parameters(), lr=0.1)
    >>> train_step(model, idx, torch.ones(2, dtype=torch.float64), opt, loss_function("mse")).shape
    torch.Size([1])
    """
    optimizer.zero_grad(set_to_none=False)
    losses = loss_fn(evaluate(model, inputs), values)
    losses.sum().backward()
    optimizer.step()
    return losses.detach()


class BatchSampler:
    """Mini-batches of ``batch_size`` sample positions out of ``n``, without replacement.

    Each epoch is a fresh permutation from a generator seeded with ``seed``; the last
    incomplete batch of an epoch is dropped so every batch has the same shape. The state
    (generator, permutation, position) round-trips through :meth:`state_dict` so a resumed run
    draws exactly the batches an uninterrupted one would.

    Raises
    ------
    ValueError
        If ``batch_size`` is not in ``1..n``.

    Examples
    --------
    >>> sampler = BatchSampler(5, 2, seed=0)
    >>> [sampler.next().tolist() for _ in range(3)]  # two per epoch, then a new permutation
    [[4, 0], [1, 3], [3, 4]]
    """

    def __init__(self, n: int, batch_size: int, *, seed: int) -> None:
        if not 1 <= batch_size <= n:
            raise ValueError(
                f"batch_size must be between 1 and the number of training samples {n}; "
                f"got {batch_size}"
            )
        self.n, self.batch_size = n, batch_size
        self.generator = torch.Generator().manual_seed(seed)
        self.perm = torch.randperm(n, generator=self.generator)
        self.pos = 0

    def next(self) -> torch.Tensor:
        """The next batch of positions, a ``(batch_size,)`` long tensor on the CPU."""
        if self.pos + self.batch_size > self.n:
            self.perm = torch.randperm(self.n, generator=self.generator)
            self.pos = 0
        out = self.perm[self.pos : self.pos + self.batch_size]
        self.pos += self.batch_size
        return out

    def state_dict(self) -> dict[str, Any]:
        """Generator state, current permutation and position."""
        return {"rng": self.generator.get_state(), "perm": self.perm.clone(), "pos": self.pos}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Restore :meth:`state_dict`'s output."""
        self.generator.set_state(state["rng"])
        self.perm = state["perm"].clone()
        self.pos = int(state["pos"])
