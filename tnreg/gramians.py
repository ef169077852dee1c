"""Inner and outer Gramians of product-pooling tensor factorizations (CP, HTF, deep variants).

This module is the Gramian *algebra*: it sits below both :mod:`tnreg.models` (``rescale_`` reads
the Frobenius norm from it) and :mod:`tnreg.analysis`, and trusts its inputs. Public entry points
that validate what users pass are in :mod:`tnreg.analysis.gramians`.

Vocabulary
----------
mode set I(ν)
    The modes under a node ν of the mode tree.
matricization [W]_I
    The end tensor W with the modes of I on the rows and the other modes on the columns.
node matrix M_ν
    ``matrices[ν]`` with a leading ensemble axis E: ``(E, d_n, R_Pa(n))`` at a leaf n,
    ``(E, R_ν, R_Pa(ν))`` at an interior node, ``(E, R_root, 1)`` at the root (the output layer).
    The *width* of a node is its number of rows (``d_n`` at a leaf).
inner Gramian G_ν
    ``U_ν^T U_ν`` where ``[W]_ν = U_ν V_ν^T`` splits W at ν into R_ν columns; bottom-up
    ``G_ν = ∘_{c ∈ C(ν)} P_c`` (∘: Hadamard product) with the *projected Gramian*
    ``P_c = M_c^T G_c M_c`` (``M_n^T M_n`` at a leaf: ``G_leaf = I`` is never formed).
outer Gramian H_ν
    ``V_ν^T V_ν``; top-down ``H_root = M_root M_root^T`` and ``H_c = M_c K_c M_c^T`` with the
    *context* ``K_c = H_ν ∘ ∘_{s ∈ C(ν), s ≠ c} P_s`` (R_ν × R_ν, ν the parent of c).

Scaling: at order 1024 these Gramians are products of about a thousand norms and over- or
underflow any float. Every Gramian is therefore kept as a :class:`Scaled` pair: a matrix
normalized to largest diagonal entry 1 (PSD, so every entry lies in [-1, 1]) and a per-member
``log_scale``; the value is ``matrix * exp(log_scale)``. The scale factors are detached
constants, so gradients through the normalized matrices are exact. Cost: O(Σ_ν R_ν³).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import NamedTuple

import networkx as nx
import torch

from tnreg.trees import children, postorder, root
from tnreg.typing import Node

__all__ = [
    "Gramians",
    "Scaled",
    "frobenius_norm_sq",
    "gramians",
    "inner_gramians",
    "log_frobenius_norm",
    "outer_gramians",
    "sandwich",
]


class Scaled(NamedTuple):
    """A PSD matrix stored as ``matrix * exp(log_scale)``, batched over the ensemble.

    Attributes
    ----------
    matrix
        ``(E, R, R)``, largest diagonal entry 1 (or all zeros).
    log_scale
        ``(E,)`` natural-log scale factors.
    """

    matrix: torch.Tensor
    log_scale: torch.Tensor

    def value(self) -> torch.Tensor:
        """The plain matrix ``matrix * exp(log_scale)`` (may over/underflow at high order)."""
        return self.matrix * torch.exp(self.log_scale)[:, None, None]


@dataclass(frozen=True)
class Gramians:
    """All Gramians of one factorization (see the module vocabulary).

    Attributes
    ----------
    inner
        ``G_ν`` for every interior node (root included).
    projected
        ``P_c = M_c^T G_c M_c`` (R_Pa(c) × R_Pa(c)) for every non-root node.
    context
        ``K_c`` (R_Pa(c) × R_Pa(c)) for every non-root node.
    outer
        ``H_ν`` for the root and every interior node (leaves: see :func:`outer_gramians`).
    """

    inner: dict[Node, Scaled]
    projected: dict[Node, Scaled]
    context: dict[Node, Scaled]
    outer: dict[Node, Scaled]


# --------------------------------------------------------------------------- scaled algebra


def _normalize(matrix: torch.Tensor, log_scale: torch.Tensor) -> Scaled:
    """Divide by the largest diagonal entry (a detached constant), moving it to the log scale."""
    top = torch.diagonal(matrix, dim1=-2, dim2=-1).amax(dim=-1).detach()
    safe = torch.where((top > 0) & torch.isfinite(top), top, torch.ones_like(top))
    return Scaled(matrix / safe[:, None, None], log_scale + torch.log(safe))


def _hadamard(a: Scaled | None, b: Scaled | None) -> Scaled | None:
    """Hadamard product of two scaled matrices; ``None`` is the all-ones identity."""
    if a is None or b is None:
        return b if a is None else a
    return _normalize(a.matrix * b.matrix, a.log_scale + b.log_scale)


def sandwich(m: torch.Tensor, inner: Scaled, *, transpose: bool) -> Scaled:
    """``M^T X M`` (``transpose=True``) or ``M X M^T``, renormalized."""
    if transpose:
        out = m.mT @ inner.matrix @ m
    else:
        out = m @ inner.matrix @ m.mT
    return _normalize((out + out.mT) / 2, inner.log_scale)


# --------------------------------------------------------------------------- sweeps


def _inner_sweep(
    tree: nx.DiGraph, matrices: Mapping[Node, torch.Tensor]
) -> tuple[dict[Node, Scaled], dict[Node, Scaled]]:
    top = root(tree)
    zero = torch.zeros(
        matrices[top].shape[0], dtype=matrices[top].dtype, device=matrices[top].device
    )
    inner: dict[Node, Scaled] = {}
    projected: dict[Node, Scaled] = {}
    for v in postorder(tree):
        kids = children(tree, v)
        m = matrices[v]
        if not kids:
            projected[v] = _normalize(m.mT @ m, zero)
            continue
        g = None
        for c in kids:
            g = _hadamard(g, projected[c])
        assert g is not None
        inner[v] = g
        if v != top:
            projected[v] = sandwich(m, g, transpose=True)
    return inner, projected


def _outer_sweep(
    tree: nx.DiGraph, matrices: Mapping[Node, torch.Tensor], projected: Mapping[Node, Scaled]
) -> tuple[dict[Node, Scaled], dict[Node, Scaled]]:
    top = root(tree)
    m = matrices[top]
    zero = torch.zeros(m.shape[0], dtype=m.dtype, device=m.device)
    outer = {top: _normalize(m @ m.mT, zero)}
    context: dict[Node, Scaled] = {}
    for v in reversed(postorder(tree)):
        kids = children(tree, v)
        if not kids:
            continue
        # prefix[i] = ∘_{j<i} P_j and suffix[i] = ∘_{j>=i} P_j, so K_c never divides
        prefix: list[Scaled | None] = [None]
        for c in kids[:-1]:
            prefix.append(_hadamard(prefix[-1], projected[c]))
        suffix: Scaled | None = None
        for i in range(len(kids) - 1, -1, -1):
            c = kids[i]
            k = _hadamard(outer[v], _hadamard(prefix[i], suffix))
            assert k is not None
            context[c] = k
            if children(tree, c):
                outer[c] = sandwich(matrices[c], k, transpose=False)
            suffix = _hadamard(projected[c], suffix)
    return outer, context


def gramians(tree: nx.DiGraph, matrices: Mapping[Node, torch.Tensor]) -> Gramians:
    """Compute all inner, projected, context and outer Gramians (scaled), batched over E.

    Differentiable (no ``torch.no_grad`` inside). Cost O(Σ_ν R_ν³) plus O(Σ_n d_n R²) at the
    leaves. ``matrices`` must fit the tree (see :func:`tnreg.analysis.resolve.validate_matrices`).

    Examples
    --------
    >>> from tnreg.trees import star
    >>> mats = {m: torch.ones(1, 2, 1, dtype=torch.float64) for m in range(3)}
    >>> mats[(0, 1, 2)] = torch.ones(1, 1, 1, dtype=torch.float64)
    >>> g = gramians(star(3), mats)
    >>> round(g.inner[(0, 1, 2)].value().item(), 9)  # ||w||^6 for w = (1, 1)
    8.0
    """
    inner, projected = _inner_sweep(tree, matrices)
    outer, context = _outer_sweep(tree, matrices, projected)
    return Gramians(inner=inner, projected=projected, context=context, outer=outer)


def inner_gramians(tree: nx.DiGraph, matrices: Mapping[Node, torch.Tensor]) -> dict[Node, Scaled]:
    """Inner Gramians ``G_ν`` of every interior node (``G_leaf = I`` is not stored)."""
    return _inner_sweep(tree, matrices)[0]


def outer_gramians(tree: nx.DiGraph, matrices: Mapping[Node, torch.Tensor]) -> dict[Node, Scaled]:
    """Outer Gramians ``H_ν`` of every node, leaves included (``d_n × d_n`` there).

    Examples
    --------
    >>> from tnreg.trees import balanced
    >>> mats = {0: torch.eye(2)[None], 1: 2 * torch.eye(2)[None], (0, 1): torch.ones(1, 2, 1)}
    >>> outer_gramians(balanced(2), mats)[0].value()  # [W]_0 = diag(2, 2)
    tensor([[[4., 0.],
             [0., 4.]]])
    """
    g = gramians(tree, matrices)
    leaves = {
        c: sandwich(matrices[c], k, transpose=False)
        for c, k in g.context.items()
        if not children(tree, c)
    }
    return {**g.outer, **leaves}


def log_frobenius_norm(tree: nx.DiGraph, matrices: Mapping[Node, torch.Tensor]) -> torch.Tensor:
    """``log ||W||`` per ensemble member, ``(E,)``, without densifying (finite at any order).

    ``-inf`` for a zero tensor. Differentiable.

    Examples
    --------
    >>> from tnreg.trees import star
    >>> mats = {m: torch.full((1, 2, 1), 0.5) for m in range(3)}
    >>> mats[(0, 1, 2)] = torch.ones(1, 1, 1)
    >>> log_frobenius_norm(star(3), mats).exp()  # ||w||^3 with ||w|| = sqrt(0.5)
    tensor([0.3536])
    """
    quad, log_scale = _norm_sq_parts(tree, matrices)
    return 0.5 * (torch.log(quad) + log_scale)


def frobenius_norm_sq(tree: nx.DiGraph, matrices: Mapping[Node, torch.Tensor]) -> torch.Tensor:
    """``||W||² = M_root^T G_root M_root`` per ensemble member, ``(E,)``, without densifying.

    May overflow to ``inf`` (or underflow to 0) at high order where :func:`log_frobenius_norm`
    stays finite. Differentiable.

    Examples
    --------
    >>> from tnreg.trees import balanced
    >>> mats = {0: torch.eye(2)[None], 1: 2 * torch.eye(2)[None], (0, 1): torch.ones(1, 2, 1)}
    >>> frobenius_norm_sq(balanced(2), mats)  # W = diag(2, 2)
    tensor([8.])
    """
    quad, log_scale = _norm_sq_parts(tree, matrices)
    return quad * torch.exp(log_scale)


def _norm_sq_parts(
    tree: nx.DiGraph, matrices: Mapping[Node, torch.Tensor]
) -> tuple[torch.Tensor, torch.Tensor]:
    top = root(tree)
    g = _inner_sweep(tree, matrices)[0][top]
    m = matrices[top]
    return (m.mT @ g.matrix @ m)[:, 0, 0].clamp_min(0), g.log_scale
