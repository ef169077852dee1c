"""Gramians and Frobenius norms of product-pooling factorizations, validated for users.

The algebra lives in :mod:`tnreg.gramians` (below both models and analysis); these entry points
accept a model or ``(tree, matrices)``, validate once with :func:`tnreg.analysis.resolve.resolve`
and compute in float64 by default (``dtype=None`` keeps the parameters' dtype). See
:mod:`tnreg.gramians` for the vocabulary (inner, projected, context and outer Gramians).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import torch

from tnreg import gcpause
from tnreg import gramians as _algebra
from tnreg.analysis.resolve import (
    AnalysisError,
    Resolved,
    require_product_pooling,
    resolve,
    validate_matrices,
)
from tnreg.gramians import Gramians, Scaled
from tnreg.typing import Node

__all__ = [
    "AnalysisError",
    "Gramians",
    "Scaled",
    "frobenius_norm_sq",
    "gramians",
    "inner_gramians",
    "log_frobenius_norm",
    "outer_gramians",
    "validate_matrices",
]

_DEFAULT = torch.float64


def _product_pooling(source: Any, matrices: Any, dtype: Any, where: str) -> Resolved:
    return require_product_pooling(
        resolve(source, matrices, dtype=dtype, where=where),
        f"{where} needs a product-pooling model's node matrices (CP, HTF, deep variants)",
        "use tnreg.analysis.matricization_spectrum",
    )


def gramians(
    source: Any,
    matrices: Mapping[Node, torch.Tensor] | None = None,
    *,
    dtype: torch.dtype | None = _DEFAULT,
) -> Gramians:
    """All inner, projected, context and outer Gramians (scaled), batched over E.

    Differentiable. Cost O(Σ_ν R_ν³) plus O(Σ_n d_n R²) at the leaves.

    Examples
    --------
    >>> from tnreg.trees import star
    >>> mats = {m: torch.ones(1, 2, 1, dtype=torch.float64) for m in range(3)}
    >>> mats[(0, 1, 2)] = torch.ones(1, 1, 1, dtype=torch.float64)
    >>> g = gramians(star(3), mats)
    >>> round(g.inner[(0, 1, 2)].value().item(), 9)  # ||w||^6 for w = (1, 1)
    8.0
    """
    with gcpause.paused():
        r = _product_pooling(source, matrices, dtype, "gramians")
        return _algebra.gramians(r.tree, r.matrices)


def inner_gramians(
    source: Any,
    matrices: Mapping[Node, torch.Tensor] | None = None,
    *,
    dtype: torch.dtype | None = _DEFAULT,
) -> dict[Node, Scaled]:
    """Inner Gramians ``G_ν`` of every interior node (``G_leaf = I`` is not stored)."""
    with gcpause.paused():
        r = _product_pooling(source, matrices, dtype, "inner_gramians")
        return _algebra.inner_gramians(r.tree, r.matrices)


def outer_gramians(
    source: Any,
    matrices: Mapping[Node, torch.Tensor] | None = None,
    *,
    dtype: torch.dtype | None = _DEFAULT,
) -> dict[Node, Scaled]:
    """Outer Gramians ``H_ν`` of every node, leaves included (``d_n × d_n`` there).

    Examples
    --------
    >>> from tnreg.trees import balanced
    >>> mats = {0: torch.eye(2)[None], 1: 2 * torch.eye(2)[None], (0, 1): torch.ones(1, 2, 1)}
    >>> outer_gramians(balanced(2), mats, dtype=None)[0].value()  # [W]_0 = diag(2, 2)
    tensor([[[4., 0.],
             [0., 4.]]])
    """
    with gcpause.paused():
        r = _product_pooling(source, matrices, dtype, "outer_gramians")
        return _algebra.outer_gramians(r.tree, r.matrices)


def log_frobenius_norm(
    source: Any,
    matrices: Mapping[Node, torch.Tensor] | None = None,
    *,
    dtype: torch.dtype | None = _DEFAULT,
) -> torch.Tensor:
    """``log ||W||`` per ensemble member, ``(E,)``, without densifying (finite at any order).

    ``-inf`` for a zero tensor. Differentiable.

    Examples
    --------
    >>> from tnreg.trees import star
    >>> mats = {m: torch.full((1, 2, 1), 0.5) for m in range(3)}
    >>> mats[(0, 1, 2)] = torch.ones(1, 1, 1)
    >>> log_frobenius_norm(star(3), mats, dtype=None).exp()  # ||w||^3, ||w|| = sqrt(0.5)
    tensor([0.3536])
    """
    r = _product_pooling(source, matrices, dtype, "log_frobenius_norm")
    return _algebra.log_frobenius_norm(r.tree, r.matrices)


def frobenius_norm_sq(
    source: Any,
    matrices: Mapping[Node, torch.Tensor] | None = None,
    *,
    dtype: torch.dtype | None = _DEFAULT,
) -> torch.Tensor:
    """``||W||² = M_root^T G_root M_root`` per ensemble member, ``(E,)``, never densified.

    May overflow to ``inf`` (or underflow to 0) at high order where :func:`log_frobenius_norm`
    stays finite. Differentiable.

    Examples
    --------
    >>> from tnreg.trees import balanced
    >>> mats = {0: torch.eye(2)[None], 1: 2 * torch.eye(2)[None], (0, 1): torch.ones(1, 2, 1)}
    >>> frobenius_norm_sq(balanced(2), mats, dtype=None)  # W = diag(2, 2)
    tensor([8.])
    """
    r = _product_pooling(source, matrices, dtype, "frobenius_norm_sq")
    return _algebra.frobenius_norm_sq(r.tree, r.matrices)
