"""Gram matrices of samples under the feature map, and the eigenvalue step of one node.

Vocabulary
----------
feature map
    φ(x) = (cos πθx, sin πθx) ∈ R² for a feature value x, so ⟨φ(a), φ(b)⟩ = cos(πθ(a − b)).
Gram matrix
    G_I[m, m'] = Π_{f ∈ I} cos(πθ(x_mf − x_m'f)) for a mode set I (M × M, unit diagonal),
    stored either as a *factor* F (G = F Fᵀ, M × r with r < M: row-wise Kronecker products of
    the φ's) or densely. Hadamard products of Gram matrices are Gram matrices of unions.
node matrix
    A symmetric PSD matrix whose nonzero eigenvalues are those of D G_{I^c} D G_I (D =
    diag(y)): the squared singular values of the data tensor's matricization [A]_I.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch

__all__ = ["Gram", "feature_map", "hadamard", "node_matrix", "node_spectrum"]


def feature_map(x: torch.Tensor, theta: float) -> torch.Tensor:
    """φ(x) = (cos πθx, sin πθx) for every entry: shape ``(*x.shape, 2)``."""
    angle = math.pi * theta * x
    return torch.stack((torch.cos(angle), torch.sin(angle)), dim=-1)


@dataclass(frozen=True)
class Gram:
    """A Gram matrix: ``factor @ factor.T`` (``dense`` None) or ``dense`` (``factor`` None)."""

    factor: torch.Tensor | None = None
    dense: torch.Tensor | None = None

    def full(self) -> torch.Tensor:
        """The M × M matrix."""
        if self.dense is not None:
            return self.dense
        assert self.factor is not None
        return self.factor @ self.factor.T


def hadamard(a: Gram, b: Gram) -> Gram:
    """a ∘ b: the row-wise Kronecker product of factors while narrower than M, else dense."""
    if a.factor is not None and b.factor is not None:
        m, ra, rb = a.factor.shape[0], a.factor.shape[1], b.factor.shape[1]
        if ra * rb < m:
            return Gram(factor=(a.factor[:, :, None] * b.factor[:, None, :]).reshape(m, ra * rb))
    return Gram(dense=a.full() * b.full())


def _psd_factor(g: torch.Tensor) -> torch.Tensor:
    """F with F Fᵀ = g (g symmetric PSD), eigenvalues below the float noise floor dropped."""
    lam, vec = torch.linalg.eigh(g)
    floor = lam[-1].clamp(min=0) * g.shape[0] * torch.finfo(g.dtype).eps
    keep = lam > floor
    return vec[:, keep] * lam[keep].sqrt()


def node_matrix(inner: Gram, outer: Gram, y: torch.Tensor | None) -> torch.Tensor:
    """A symmetric PSD matrix whose nonzero eigenvalues are those of D G_out D G_in."""
    if inner.factor is None and outer.factor is not None:
        inner, outer = outer, inner  # eig(D Go D Gi) = eig(D Gi D Go) up to zeros (D² = I)
    f = inner.factor if inner.factor is not None else _psd_factor(inner.full())
    if y is not None:
        f = f * y[:, None]
    if outer.factor is not None:
        b = outer.factor.T @ f
        return b.T @ b
    k = f.T @ outer.full() @ f
    return (k + k.T) / 2


def node_spectrum(inner: Gram, outer: Gram, y: torch.Tensor | None) -> np.ndarray:
    """The squared singular values of [A]_I (descending, unnormalized) from G_I and G_{I^c}."""
    lam = torch.linalg.eigvalsh(node_matrix(inner, outer, y)).clamp(min=0).cpu().numpy()
    return lam[::-1].copy()
