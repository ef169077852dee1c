"""Ground-truth tensors W* for completion and sensing, evaluated from their factors.

Vocabulary
----------
target
    A ground-truth tensor of order N and mode sizes ``dims``, held in float64. Its entries are
    computed from its factors at a (B, N) batch of multi-indices (``target(indices)``) and its
    inner products with rank-one measurements x_0 ⊗ ... ⊗ x_{N-1} by ``target.sensing``; neither
    densifies, so targets of order 30+ work. ``to_dense`` builds the whole tensor for small ones.
norm
    The Frobenius norm ||W*||. Every ``random_*`` target is rescaled to ``norm`` (default 1)
    without densifying: CP through the Hadamard product of the factors' Gram matrices in log
    space, tree targets through the model's Gramians.
CP target
    W* = sum_r w_r^0 ⊗ ... ⊗ w_r^{N-1}; component r has norm σ_r = prod_n ||w_r^n|| (the norms a
    small-init CP factorization settles on).
config
    A JSON-able dict that rebuilds the same target bit for bit:
    ``tnreg.data.make_target(t.config)``.

Tree targets (low hierarchical rank, deep) live in :mod:`tnreg.data.tree_targets`.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import torch

from tnreg.data.checks import DataError, check_count, check_positive, check_seed
from tnreg.devices import check_device
from tnreg.models.base import (
    DEFAULT_MAX_DENSE,
    check_dense_size,
    check_indices,
    check_vectors,
    resolve_dims,
)

__all__ = ["CPTarget", "DenseTarget", "Target", "random_cp_target", "random_full_rank_target"]

F64 = torch.float64


def resolve_target_dims(dims: Any, order: int) -> tuple[int, ...]:
    try:
        return resolve_dims(dims, order)
    except (TypeError, ValueError) as err:
        raise DataError(f"bad dims for an order-{order} target: {err}") from None


class Target:
    """A ground-truth tensor evaluated from its factors (see the module docstring).

    Subclasses set ``dims`` and ``config`` and implement ``_entries``, ``_sensing``,
    ``_dense`` and ``norm``.
    """

    dims: tuple[int, ...]
    config: dict[str, Any]

    @property
    def order(self) -> int:
        """Number of modes N."""
        return len(self.dims)

    @property
    def norm(self) -> float:
        """Frobenius norm ||W*||, computed from the factors."""
        raise NotImplementedError

    @property
    def device(self) -> torch.device:
        """Device of the factors."""
        raise NotImplementedError

    def __call__(self, indices: torch.Tensor) -> torch.Tensor:
        """Entries W*[i_0, ..., i_{N-1}] at a (B, N) integer batch; float64, shape (B,)."""
        checked = check_indices(indices, self.dims).to(self.device)
        with torch.no_grad():
            return self._entries(checked)

    def sensing(self, vectors: Sequence[torch.Tensor] | torch.Tensor) -> torch.Tensor:
        """<W*, x_0 ⊗ ... ⊗ x_{N-1}> for one (B, d_n) tensor per mode (or one (B, N, d)).

        Returns float64, shape (B,).
        """
        xs = self._check_vectors(vectors)
        with torch.no_grad():
            return self._sensing(xs)

    def to_dense(self, *, max_entries: int = DEFAULT_MAX_DENSE) -> torch.Tensor:
        """The whole tensor (float64, shape ``dims``); refuses above ``max_entries`` entries."""
        check_dense_size(self.dims, max_entries)
        with torch.no_grad():
            return self._dense(max_entries)

    def _check_vectors(self, vectors: Any) -> list[torch.Tensor]:
        vectors = check_vectors(vectors, self.dims, error=DataError)
        return [x.to(device=self.device, dtype=F64) for x in vectors]

    def state(self) -> dict[str, torch.Tensor]:
        """The factor tensors (what a dataset file stores besides the config)."""
        raise NotImplementedError

    def to(self, device: torch.device | str) -> Target:
        """A copy with the factors on ``device`` (always float64)."""
        raise NotImplementedError

    def __repr__(self) -> str:
        items = {k: v for k, v in self.config.items() if k != "kind"}
        if self.order > 4 and len(set(self.dims)) == 1:
            items["dims"] = f"({self.dims[0]},)*{self.order}"
        if len(repr(items.get("tree", ""))) > 60:
            items["tree"] = f"<tree over {self.order} modes>"
        plain = ("dims", "tree")
        inner = ", ".join(f"{k}={v if k in plain else repr(v)}" for k, v in items.items())
        return f"{type(self).__name__}({inner})"

    # subclass hooks
    def _entries(self, indices: torch.Tensor) -> torch.Tensor:
        raise NotImplementedError

    def _sensing(self, xs: list[torch.Tensor]) -> torch.Tensor:
        raise NotImplementedError

    def _dense(self, max_entries: int) -> torch.Tensor:
        raise NotImplementedError


# ---------------------------------------------------------------------------------------- CP


def _cp_log_norm(factors: Sequence[torch.Tensor]) -> torch.Tensor:
    """log ||sum_r ⊗_n F_n[:, r]|| = 1/2 log sum(∘_n F_n^T F_n), each Gram scaled by its max."""
    log_scale = torch.zeros((), dtype=F64, device=factors[0].device)
    acc = None
    for f in factors:
        gram = f.T @ f
        scale = gram.diagonal().max()  # |G_rs| <= max diag, so acc stays in [-1, 1]
        if scale <= 0:
            return torch.tensor(-math.inf, dtype=F64)
        acc = gram / scale if acc is None else acc * (gram / scale)
        log_scale = log_scale + scale.log()
    return 0.5 * (acc.sum().clamp_min(0).log() + log_scale)


class CPTarget(Target):
    """``W* = sum_r ⊗_n factors[n][:, r]`` (no weights: component norms live in the factors).

    Parameters
    ----------
    factors
        One (d_n, R) tensor per mode (converted to float64).
    config
        The config that made it (stored by datasets); ``{"kind": "cp"}`` when built by hand.

    Examples
    --------
    >>> t = CPTarget([torch.ones(2, 1, dtype=torch.float64)] * 3)
    >>> t(torch.tensor([[0, 1, 1]])), round(t.norm, 6), t.rank
    (tensor([1.], dtype=torch.float64), 2.828427, 1)
    """

    def __init__(self, factors: Sequence[torch.Tensor], *, config: dict | None = None) -> None:
        factors = [torch.as_tensor(f).to(F64) for f in factors]
        if len(factors) < 2 or any(f.ndim != 2 for f in factors):
            shapes = [tuple(f.shape) for f in factors]
            raise DataError(f"a CP target needs >= 2 factor matrices (d_n, R); got shapes {shapes}")
        ranks = {f.shape[1] for f in factors}
        if len(ranks) != 1:
            raise DataError(f"CP factors disagree on the rank R: {[f.shape[1] for f in factors]}")
        self.factors = factors
        self.dims = tuple(int(f.shape[0]) for f in factors)
        self.config = dict(config) if config is not None else {"kind": "cp"}

    @property
    def rank(self) -> int:
        """Number of components R (the CP rank, generically exact for a Gaussian draw)."""
        return int(self.factors[0].shape[1])

    @property
    def device(self) -> torch.device:
        """Device of the factors."""
        return self.factors[0].device

    @property
    def norm(self) -> float:
        """Frobenius norm from the Gram matrices' Hadamard product (log space, any order)."""
        return math.exp(float(_cp_log_norm(self.factors)))

    def component_norms(self, *, sort: bool = False) -> torch.Tensor:
        """``σ_r = prod_n ||factors[n][:, r]||``, shape (R,); ``sort=True`` sorts descending."""
        logs = sum(torch.linalg.vector_norm(f, dim=0).log() for f in self.factors)
        out = logs.exp()
        return torch.sort(out, descending=True).values if sort else out

    def _entries(self, indices: torch.Tensor) -> torch.Tensor:
        rows = self.factors[0].index_select(0, indices[:, 0])
        for n, f in enumerate(self.factors[1:], start=1):
            rows = rows * f.index_select(0, indices[:, n])
        return rows.sum(-1)

    def _sensing(self, xs: list[torch.Tensor]) -> torch.Tensor:
        out = xs[0] @ self.factors[0]
        for x, f in zip(xs[1:], self.factors[1:]):
            out = out * (x @ f)
        return out.sum(-1)

    def _dense(self, max_entries: int) -> torch.Tensor:
        out = self.factors[0]
        for f in self.factors[1:]:
            out = (out.unsqueeze(1) * f.unsqueeze(0)).reshape(-1, self.rank)
        return out.sum(-1).reshape(self.dims)

    def state(self) -> dict[str, torch.Tensor]:
        """``{"factor/n": (d_n, R)}``."""
        return {f"factor/{n}": f for n, f in enumerate(self.factors)}

    def to(self, device: torch.device | str) -> CPTarget:
        """A copy with the factors on ``device`` (always float64)."""
        device = check_device(device)
        return CPTarget([f.to(device) for f in self.factors], config=self.config)


def random_cp_target(
    order: int, dims: int | Sequence[int], rank: int, *, norm: float = 1.0, seed: int
) -> CPTarget:
    """A Gaussian CP-rank-``rank`` tensor rescaled to Frobenius norm ``norm``.

    Factor entries are drawn i.i.d. N(0, 1) (mode 0 first, from one generator seeded with
    ``seed``), then every factor is multiplied by the same (norm / current)^(1/N), so the
    components keep their relative norms and each component's factors keep theirs.

    Examples
    --------
    >>> t = random_cp_target(30, 2, 3, seed=0)  # 2^30 entries, never densified
    >>> round(t.norm, 12), t.component_norms().shape
    (1.0, torch.Size([3]))
    """
    order = check_count(order, "order", minimum=2)
    dims = resolve_target_dims(dims, order)
    rank = check_count(rank, "rank")
    norm = check_positive(norm, "norm")
    seed = check_seed(seed)
    gen = torch.Generator().manual_seed(seed)
    factors = [torch.randn(d, rank, generator=gen, dtype=F64) for d in dims]
    factor = ((math.log(norm) - _cp_log_norm(factors)) / order).exp()
    factors = [f * factor for f in factors]
    config = {"kind": "cp", "order": order, "dims": list(dims), "rank": rank, "norm": norm}
    return CPTarget(factors, config={**config, "seed": seed})


# -------------------------------------------------------------------------------------- dense


class DenseTarget(Target):
    """A target held as a dense float64 tensor (full rank, or any tensor a user has).

    Examples
    --------
    >>> t = DenseTarget(torch.arange(4.0).reshape(2, 2))
    >>> t(torch.tensor([[1, 0]])), t.norm
    (tensor([2.], dtype=torch.float64), 3.7416573867739413)
    """

    def __init__(self, tensor: torch.Tensor, *, config: dict | None = None) -> None:
        tensor = torch.as_tensor(tensor).to(F64)
        if tensor.ndim < 2:
            raise DataError(f"a dense target needs order >= 2; got shape {tuple(tensor.shape)}")
        self.tensor = tensor
        self.dims = tuple(tensor.shape)
        self.config = dict(config) if config is not None else {"kind": "dense"}

    @property
    def device(self) -> torch.device:
        """Device of the tensor."""
        return self.tensor.device

    @property
    def norm(self) -> float:
        """Frobenius norm."""
        return float(torch.linalg.vector_norm(self.tensor))

    def _entries(self, indices: torch.Tensor) -> torch.Tensor:
        return self.tensor[tuple(indices.T)]

    def _sensing(self, xs: list[torch.Tensor]) -> torch.Tensor:
        out = torch.einsum("bd,d...->b...", xs[0], self.tensor)
        for x in xs[1:]:
            out = torch.einsum("bd,bd...->b...", x, out)
        return out

    def _dense(self, max_entries: int) -> torch.Tensor:
        return self.tensor.clone()

    def state(self) -> dict[str, torch.Tensor]:
        """``{"tensor": W*}``."""
        return {"tensor": self.tensor}

    def to(self, device: torch.device | str) -> DenseTarget:
        """A copy on ``device`` (always float64)."""
        return DenseTarget(self.tensor.to(check_device(device)), config=self.config)


def random_full_rank_target(
    dims: Sequence[int], *, norm: float = 1.0, seed: int, max_entries: int = DEFAULT_MAX_DENSE
) -> DenseTarget:
    """A dense Gaussian tensor (full rank at every matricization w.p. 1) at norm ``norm``.

    Dense by nature: refuses more than ``max_entries`` entries.

    Examples
    --------
    >>> round(random_full_rank_target((3, 4, 5), seed=0).norm, 12)
    1.0
    """
    if isinstance(dims, (int, str)) or not isinstance(dims, Sequence):
        raise DataError(f"dims of a full-rank target must be a sequence of sizes; got {dims!r}")
    dims = resolve_target_dims(dims, len(dims))
    if len(dims) < 2:
        raise DataError(f"a full-rank target needs order >= 2; got dims {dims}")
    norm = check_positive(norm, "norm")
    seed = check_seed(seed)
    check_dense_size(dims, max_entries)
    gen = torch.Generator().manual_seed(seed)
    tensor = torch.randn(dims, generator=gen, dtype=F64)
    tensor = tensor * (norm / torch.linalg.vector_norm(tensor))
    config = {"kind": "full_rank", "dims": list(dims), "norm": norm, "seed": seed}
    return DenseTarget(tensor, config=config)
