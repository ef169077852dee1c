"""Shared pieces of every tnreg model: argument checks, seeding, ensembles, size limits.

Vocabulary
----------
ensemble
    K independent copies of a model trained in one contraction: every parameter carries a
    leading run index of size K, outputs have shape (K, B) and the loss is the sum over members,
    so each member's gradient is that of its own loss. ``ensemble=None`` is a single model
    (outputs of shape (B,)); internally it is an ensemble of one.
member seed
    Member k of an ensemble built with ``seed=s`` draws its parameters from ``s + k`` (or from
    ``seed[k]`` when a list is given), exactly as a single model built with that seed does.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch

__all__ = [
    "DEFAULT_MAX_DENSE",
    "Factorization",
    "check_dense_size",
    "gaussian_parameters",
    "member_seeds",
    "member_values",
    "mse_per_member",
    "resolve_dims",
]

DEFAULT_MAX_DENSE = 2**24


def resolve_dims(dims: int | Sequence[int], order: int) -> tuple[int, ...]:
    """One size per mode from an int or a sequence of length ``order``."""
    if isinstance(dims, int) and not isinstance(dims, bool):
        dims = (dims,) * order
    if isinstance(dims, (str, bytes)) or not isinstance(dims, Sequence):
        raise TypeError(f"dims must be an int or a sequence of {order} ints; got {dims!r}")
    dims = tuple(dims)
    if len(dims) != order:
        raise ValueError(
            f"dims must have one size per mode: expected {order} for an order-{order} tree, "
            f"got {len(dims)}: {dims!r}"
        )
    bad = [(n, d) for n, d in enumerate(dims) if isinstance(d, bool) or not isinstance(d, int)]
    bad += [(n, d) for n, d in enumerate(dims) if isinstance(d, int) and d < 1]
    if bad:
        n, d = bad[0]
        raise ValueError(f"dims[{n}] must be a positive int; got {d!r}")
    return dims


def member_seeds(seed: int | Sequence[int] | None, members: int) -> list[int | None]:
    """Seeds of the ensemble members (see the module docstring)."""
    if seed is None:
        return [None] * members
    if isinstance(seed, int) and not isinstance(seed, bool):
        return [seed + k for k in range(members)]
    seeds = list(seed)
    if len(seeds) != members:
        raise ValueError(f"seed must be an int or {members} ints (one per member); got {seed!r}")
    return seeds


def member_values(value: float | Sequence[float], members: int, name: str) -> list[float]:
    """A per-member float (e.g. an init scale) from one value or one value per member."""
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return [float(value)] * members
    values = [float(v) for v in value]
    if len(values) != members:
        raise ValueError(
            f"{name} must be a number or {members} numbers (one per member); got {value!r}"
        )
    return values


def check_dense_size(shape: Sequence[int], max_entries: int) -> None:
    """Refuse to build a dense tensor with more than ``max_entries`` entries."""
    total = 1
    for s in shape:
        total *= s
    if total > max_entries:
        raise ValueError(
            f"to_dense() would build {total:,} entries (shape {tuple(shape)}), above the limit "
            f"max_entries={max_entries:,}; pass a larger max_entries if you have the memory, or "
            f"use forward() at the entries you need and tnreg.analysis for spectra"
        )


def mse_per_member(prediction: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """Mean squared error over the last axis, one value per member: shape prediction[..., 0].

    Sum the result to train an ensemble: members' gradients stay independent.
    """
    return (prediction - target).square().mean(-1)


def gaussian_parameters(shapes, stds, seeds, *, dtype, device) -> list[torch.nn.Parameter]:
    """Member k's matrices are drawn in order from its own generator, then stacked."""
    per_member = []
    for std, seed in zip(stds, seeds):
        gen = None if seed is None else torch.Generator().manual_seed(seed)
        per_member.append(
            [torch.randn(s, generator=gen, dtype=torch.float64) * std for s in shapes]
        )
    return [
        torch.nn.Parameter(torch.stack([m[i] for m in per_member]).to(dtype=dtype, device=device))
        for i in range(len(shapes))
    ]


class Factorization(torch.nn.Module):
    """What every tnreg model shares: ``dims``, ``ensemble``, ``params`` and the output shape."""

    dims: tuple[int, ...]
    ensemble: int | None
    params: torch.nn.ParameterList

    @property
    def order(self) -> int:
        """Number of modes N."""
        return len(self.dims)

    @property
    def num_matrices(self) -> int:
        """Trainable tensors in the product: the end tensor's degree of homogeneity."""
        return len(self.params)

    def _finish(self, out: torch.Tensor) -> torch.Tensor:
        """Drop the ensemble axis of a single model."""
        return out[0] if self.ensemble is None else out
