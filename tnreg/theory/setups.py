"""Settings the built-in claims share: targets, observed entries, controls' models.

Every setting is float64 and seeded; nothing here checks anything.
"""

from __future__ import annotations

import torch

__all__ = [
    "F64",
    "all_entries",
    "cp_target",
    "curved_",
    "observations",
    "orthogonal_cp_target",
    "relative_error",
]

F64 = torch.float64


def cp_target(order: int, dim: int, norms, *, seed: int) -> torch.Tensor:
    """Σ_k s_k ⊗_n u_k^n with random unit vectors u_k^n: a CP-rank-len(norms) tensor.

    Examples
    --------
    >>> t = cp_target(3, 2, [2.0], seed=0)
    >>> round(float(t.norm()), 12)
    2.0
    """
    gen = torch.Generator().manual_seed(seed)
    out = torch.zeros((dim,) * order, dtype=F64)
    for s in norms:
        term = torch.tensor(s, dtype=F64)
        for _ in range(order):
            u = torch.randn(dim, generator=gen, dtype=F64)
            term = term.unsqueeze(-1) * (u / u.norm())
        out += term
    return out


def orthogonal_cp_target(order: int, dim: int, norms, *, seed: int) -> torch.Tensor:
    """Σ_k s_k u_k^{⊗N} with orthonormal u_k (a random rotation): an orthogonal decomposition.

    Examples
    --------
    >>> t = orthogonal_cp_target(3, 3, [3.0, 1.0], seed=0)
    >>> round(float(t.norm() ** 2), 10)  # orthogonal terms: squared norms add
    10.0
    """
    gen = torch.Generator().manual_seed(seed)
    q = torch.linalg.qr(torch.randn(dim, dim, generator=gen, dtype=F64))[0]
    out = torch.zeros((dim,) * order, dtype=F64)
    for k, s in enumerate(norms):
        term = torch.tensor(s, dtype=F64)
        for _ in range(order):
            term = term.unsqueeze(-1) * q[:, k]
        out += term
    return out


def all_entries(target: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Every multi-index of ``target`` (rows) and its value."""
    idx = torch.cartesian_prod(*[torch.arange(d) for d in target.shape]).reshape(-1, target.ndim)
    return idx, target[tuple(idx.T)]


def observations(dims, count: int, *, seed: int, scale: float = 1.0):
    """``count`` random observed entries (repeats allowed) and normal values times ``scale``."""
    gen = torch.Generator().manual_seed(seed)
    idx = torch.stack([torch.randint(0, d, (count,), generator=gen) for d in dims], 1)
    return idx, scale * torch.randn(count, generator=gen, dtype=F64)


def relative_error(pred: dict, meas: dict) -> float:
    """max over nodes of |pred − meas|, relative to the largest |meas|."""
    err = max(float((pred[v] - meas[v]).abs().max()) for v in meas)
    return err / max(float(m.abs().max()) for m in meas.values())


_CURVED: dict[type, type] = {}


def curved_(model: torch.nn.Module, c: float = 0.2) -> torch.nn.Module:
    """Make ``model`` non-multilinear in place: its entries become ``f + c·f²``.

    A negative control for identities that rely on multilinearity (rates, invariants): the
    model keeps its tree, layers and parameters, only its output is bent.

    Examples
    --------
    >>> from tnreg import CP
    >>> m = CP(2, 2, 1, init_std=1.0, seed=0, dtype=F64)
    >>> idx = torch.tensor([[0, 0]])
    >>> f = m(idx).detach()
    >>> bool(torch.allclose(curved_(m)(idx).detach(), f + 0.2 * f**2))
    True
    """
    base = type(model)
    if base not in _CURVED:

        def forward(self, indices):
            out = base.forward(self, indices)
            return out + self.curvature * out.square()

        _CURVED[base] = type(f"Curved{base.__name__}", (base,), {"forward": forward})
    model.__class__ = _CURVED[base]
    model.curvature = c
    return model
