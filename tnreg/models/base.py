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

import math
import numbers
from collections.abc import Mapping, Sequence
from typing import Any, Protocol, runtime_checkable

import networkx as nx
import torch

from tnreg import devices
from tnreg.typing import Node

__all__ = [
    "DEFAULT_MAX_DENSE",
    "Factorization",
    "Model",
    "ProductPoolingModel",
    "check_dense_size",
    "check_indices",
    "check_vectors",
    "gaussian_parameters",
    "member_seeds",
    "member_values",
    "mse_per_member",
    "resolve_dims",
]

DEFAULT_MAX_DENSE = 2**24


def resolve_dims(dims: int | Sequence[int], order: int) -> tuple[int, ...]:
    """One size per mode from an int or a sequence of length ``order``."""
    if _is_int(dims):
        dims = (int(dims),) * order
    if isinstance(dims, (str, bytes)) or not isinstance(dims, Sequence):
        raise TypeError(f"dims must be an int or a sequence of {order} ints; got {dims!r}")
    dims = tuple(dims)
    if len(dims) != order:
        raise ValueError(
            f"dims must have one size per mode: expected {order} for an order-{order} tree, "
            f"got {len(dims)}: {dims!r}"
        )
    bad = [(n, d) for n, d in enumerate(dims) if not _is_int(d) or d < 1]
    if bad:
        n, d = bad[0]
        raise ValueError(f"dims[{n}] must be a positive int; got {d!r}")
    return tuple(int(d) for d in dims)


def _is_int(x: Any) -> bool:
    return isinstance(x, numbers.Integral) and not isinstance(x, bool)


def member_seeds(seed: int | Sequence[int] | None, members: int) -> list[int | None]:
    """Seeds of the ensemble members (see the module docstring)."""
    if seed is None:
        return [None] * members
    if _is_int(seed):
        return [int(seed) + k for k in range(members)]
    if isinstance(seed, (str, bytes)) or not isinstance(seed, Sequence):
        raise TypeError(
            f"seed must be None, an int or a sequence of {members} ints (one per member); "
            f"got {type(seed).__name__} {seed!r}"
        )
    seeds = list(seed)
    if len(seeds) != members or not all(_is_int(s) for s in seeds):
        raise ValueError(f"seed must be an int or {members} ints (one per member); got {seed!r}")
    return [int(s) for s in seeds]


def member_values(
    value: float | Sequence[float], members: int, name: str, *, positive: bool = True
) -> list[float]:
    """A per-member finite float (e.g. an init scale), > 0 unless ``positive=False``."""
    if isinstance(value, numbers.Real) and not isinstance(value, bool):
        values = [float(value)] * members
    elif isinstance(value, (str, bytes)) or not isinstance(value, Sequence):
        raise TypeError(
            f"{name} must be a number or {members} numbers (one per member); got "
            f"{type(value).__name__} {value!r}"
        )
    else:
        values = list(value)
        if len(values) != members or not all(
            isinstance(v, numbers.Real) and not isinstance(v, bool) for v in values
        ):
            raise ValueError(
                f"{name} must be a number or {members} numbers (one per member); got {value!r}"
            )
        values = [float(v) for v in values]
    for k, v in enumerate(values):
        if not math.isfinite(v) or (positive and v <= 0):
            where = "" if members == 1 else f" (member {k})"
            need = "a finite number > 0" if positive else "a finite number"
            raise ValueError(f"{name} must be {need}{where}; got {v!r}")
    return values


def check_ensemble(ensemble: Any) -> int | None:
    """``None`` (one model) or a positive int number of members."""
    if ensemble is None:
        return None
    if not _is_int(ensemble) or ensemble < 1:
        raise ValueError(
            f"ensemble must be None (one model) or a positive int (members); got {ensemble!r}"
        )
    return int(ensemble)


def check_dtype(dtype: Any) -> torch.dtype:
    """A floating-point torch dtype for the parameters."""
    if not isinstance(dtype, torch.dtype) or not dtype.is_floating_point:
        raise TypeError(
            f"dtype must be a floating-point torch.dtype (torch.float32 or torch.float64); got "
            f"{dtype!r}"
        )
    return dtype


def check_device(device: Any) -> torch.device | None:
    """``None`` (torch's default) or an existing device (:func:`tnreg.devices.check_device`)."""
    return devices.check_device(device)


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


def check_indices(
    indices: object, dims: tuple[int, ...], *, device: torch.device | None = None
) -> torch.Tensor:
    """Validate a batch of multi-indices against mode sizes (and the model's ``device``, when
    given); returns a (B, N) long tensor."""
    if not isinstance(indices, torch.Tensor):
        raise TypeError(
            f"indices must be a torch integer tensor of shape (batch, {len(dims)}); "
            f"got {type(indices).__name__}"
        )
    if indices.dtype.is_floating_point or indices.dtype.is_complex or indices.dtype == torch.bool:
        raise TypeError(f"indices must have an integer dtype; got {indices.dtype}")
    if indices.ndim != 2 or indices.shape[1] != len(dims):
        raise ValueError(
            f"indices must have shape (batch, {len(dims)}) for an order-{len(dims)} tensor; "
            f"got shape {tuple(indices.shape)}"
        )
    if indices.device.type == "meta":
        raise ValueError(
            "indices are on the meta device, which holds shapes but no values; pass indices "
            "with values (e.g. on 'cpu' or the model's device)"
        )
    if indices.shape[0]:
        low = indices.amin(0).tolist()
        high = indices.amax(0).tolist()
        for n, (lo, hi, d) in enumerate(zip(low, high, dims)):
            if lo < 0 or hi >= d:
                bad = lo if lo < 0 else hi
                raise IndexError(
                    f"index {bad} out of range for mode {n} of size {d} (valid: 0..{d - 1})"
                )
    if device is not None and indices.device != device:
        raise ValueError(
            f"indices are on {indices.device} but the model is on {device}; "
            f"move them with indices.to({str(device)!r})"
        )
    return indices.long()


def check_vectors(
    vectors: object,
    dims: tuple[int, ...],
    *,
    error: type[Exception] = ValueError,
    like: torch.Tensor | None = None,
) -> list[torch.Tensor]:
    """Validate rank-one sensing vectors: one (B, d_n) tensor per mode, or one (B, N, d) tensor.

    Shape problems raise ``error``; with ``like`` (a model's parameter or buffer), a dtype or
    device other than its raises ``TypeError``. Returns the list of per-mode tensors.
    """
    order = len(dims)
    if isinstance(vectors, torch.Tensor):
        if vectors.ndim != 3 or vectors.shape[1] != order:
            raise error(
                f"sensing vectors as one tensor must have shape (batch, {order}, d); "
                f"got {tuple(vectors.shape)}"
            )
        vectors = list(vectors.unbind(1))
    if isinstance(vectors, (str, bytes)) or not hasattr(vectors, "__iter__"):
        raise error(
            f"expected {order} sensing vectors (one per mode); got {type(vectors).__name__}"
        )
    vectors = list(vectors)
    if len(vectors) != order:
        raise error(f"expected {order} sensing vectors (one per mode); got {len(vectors)}")
    for n, (x, d) in enumerate(zip(vectors, dims)):
        if not isinstance(x, torch.Tensor) or x.ndim != 2 or x.shape[1] != d:
            got = tuple(x.shape) if isinstance(x, torch.Tensor) else type(x).__name__
            raise error(
                f"sensing vectors of mode {n} must have shape (batch, {d}); got {got} "
                f"(expected {order} sensing vectors of shapes (batch, d_n), d = {dims})"
            )
        if like is not None and (x.dtype != like.dtype or x.device != like.device):
            raise TypeError(
                f"sensing vectors of mode {n} are {x.dtype} on {x.device}; the model is "
                f"{like.dtype} on {like.device}"
            )
    if len({x.shape[0] for x in vectors}) != 1:
        raise error(f"sensing vectors disagree on batch size: {[x.shape[0] for x in vectors]}")
    return vectors


def mse_per_member(prediction: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """Mean squared error over the last axis, one value per member: shape prediction[..., 0].

    Sum the result to train an ensemble: members' gradients stay independent.
    """
    return (prediction - target).square().mean(-1)


def gaussian_parameters(
    shapes, stds, seeds, *, dtype, device, means=None
) -> list[torch.nn.Parameter]:
    """Member k's matrices are drawn in order from its own generator, then stacked.

    Entries are ``mean + std * N(0, 1)`` (``means``: one per member, default zeros).
    """
    means = [0.0] * len(stds) if means is None else means
    per_member = []
    for std, mean, seed in zip(stds, means, seeds):
        gen = None if seed is None else torch.Generator().manual_seed(seed)
        per_member.append(
            [torch.randn(s, generator=gen, dtype=torch.float64) * std + mean for s in shapes]
        )
    return [
        torch.nn.Parameter(torch.stack([m[i] for m in per_member]).to(dtype=dtype, device=device))
        for i in range(len(shapes))
    ]


@runtime_checkable
class Model(Protocol):
    """What analysis, training and theory read from every tnreg model.

    Attributes
    ----------
    tree
        The mode tree whose non-root nodes define the matricizations analysis reports.
    network
        The tensor network of the end tensor (open indices = the modes ``0..N-1``).
    dims
        The mode sizes.
    ensemble, members
        ``None`` / 1 for one model, else K / K (every tensor has a leading axis of size K).
    dtype, device
        Of the parameters.

    Methods
    -------
    tensors()
        The network's tensors by name, each with a leading ensemble axis.
    forward(indices), forward_sensing(vectors), to_dense()
        Entries, rank-one measurements and the whole tensor (no ensemble axis for one model).
    """

    tree: nx.DiGraph
    dims: tuple[int, ...]
    ensemble: int | None
    members: int

    @property
    def network(self) -> Any: ...

    @property
    def dtype(self) -> torch.dtype: ...

    @property
    def device(self) -> torch.device: ...

    def tensors(self) -> dict[Any, torch.Tensor]: ...

    def to_dense(self, *, max_entries: int = ...) -> torch.Tensor: ...


@runtime_checkable
class ProductPoolingModel(Model, Protocol):
    """A :class:`Model` with one matrix per tree node (CP, HTF and deep variants).

    ``matrices()`` gives node -> ``(E, rows, cols)`` (the root's output layer included, ones
    when fixed) and ``layers()`` node -> the trainable matrices whose product is the node
    matrix (a fixed root absent). Analysis reads spectra from these through Gramians.
    """

    def matrices(self) -> dict[Node, torch.Tensor]: ...

    def layers(self) -> dict[Node, list[torch.Tensor]]: ...


class Factorization(torch.nn.Module):
    """What every tnreg model shares: setup and validation, ``dims``, ensembles, loading.

    Subclasses call :meth:`_setup` first; it validates the arguments every model takes, in one
    place, so every model rejects the same bad input with the same message.
    """

    dims: tuple[int, ...]
    ensemble: int | None
    members: int
    params: torch.nn.ParameterList

    def _setup(
        self,
        order: int,
        dims: Any,
        *,
        ensemble: Any,
        init_std: Any,
        seed: Any,
        dtype: Any,
        device: Any,
        init_mean: Any = 0.0,
    ) -> tuple[list[float], list[float], list[int | None]]:
        """Validate the shared arguments; returns the members' init stds, means and seeds."""
        self.dims = resolve_dims(dims, order)
        self.ensemble = check_ensemble(ensemble)
        self.members = 1 if self.ensemble is None else self.ensemble
        self._dtype = check_dtype(dtype)
        self._device = check_device(device)
        stds = member_values(init_std, self.members, "init_std")
        means = member_values(init_mean, self.members, "init_mean", positive=False)
        return stds, means, member_seeds(seed, self.members)

    @property
    def order(self) -> int:
        """Number of modes N."""
        return len(self.dims)

    @property
    def num_matrices(self) -> int:
        """Trainable tensors in the product: the end tensor's degree of homogeneity."""
        return len(self.params)

    @property
    def dtype(self) -> torch.dtype:
        """The parameters' dtype."""
        return self.params[0].dtype

    @property
    def device(self) -> torch.device:
        """The parameters' device."""
        return self.params[0].device

    def _finish(self, out: torch.Tensor) -> torch.Tensor:
        """Drop the ensemble axis of a single model."""
        return out[0] if self.ensemble is None else out

    @torch.no_grad()
    def _load(self, slots: Mapping[Any, list[torch.Tensor]], values: Any, what: str) -> None:
        """Copy ``values`` (key -> tensor or list of tensors) into the parameters ``slots``.

        A value may omit the ensemble axis (then every member gets it). All values are checked
        before anything is copied, so a bad value leaves the model unchanged.
        """
        if not isinstance(values, Mapping):
            raise TypeError(f"{what} must be a mapping; got {type(values).__name__}")
        unknown = [k for k in values if k not in slots]
        if unknown:
            raise ValueError(f"unknown {what} keys {unknown!r}; valid keys: {list(slots)!r}")
        plan = []
        for key, value in values.items():
            targets = slots[key]
            given = [value] if isinstance(value, torch.Tensor) else value
            if not isinstance(given, Sequence) or len(given) != len(targets):
                raise ValueError(
                    f"{what}[{key!r}] must be {len(targets)} tensor(s) (the node has "
                    f"{len(targets)} trainable matrices); got {type(value).__name__}"
                )
            for j, (p, v) in enumerate(zip(targets, given)):
                plan.append((p, self._check_value(p, v, f"{what}[{key!r}][{j}]")))
        for p, v in plan:
            p.copy_(v)

    def _check_value(self, p: torch.Tensor, v: Any, where: str) -> torch.Tensor:
        if not isinstance(v, torch.Tensor):
            raise TypeError(f"{where} must be a torch.Tensor; got {type(v).__name__}")
        if tuple(v.shape) == tuple(p.shape[1:]):
            v = v.expand(p.shape)
        if tuple(v.shape) != tuple(p.shape):
            raise ValueError(
                f"{where} must have shape {tuple(p.shape[1:])} or {tuple(p.shape)} (with the "
                f"ensemble axis); got {tuple(v.shape)}"
            )
        if v.dtype.is_complex:
            raise TypeError(f"{where} must be real; got {v.dtype}")
        if not bool(torch.isfinite(v).all()):
            raise ValueError(f"{where} has non-finite entries (NaN or Inf)")
        return v.to(dtype=p.dtype, device=p.device)
