"""Norms of components and factor vectors of product-pooling factorizations.

Vocabulary
----------
node matrices
    One tensor per mode-tree node with a leading ensemble axis E: leaf ``n``: ``(E, d_n,
    R_Pa(n))``; interior ``ν``: ``(E, R_ν, R_Pa(ν))``; root: ``(E, R_root, 1)`` (the output
    layer). For a deep node (a product ``A_1 @ ... @ A_L``) these are the *product* matrices
    ``M_v``: components are defined by the end-to-end matrices, so all norms here are of ``M_v``.
CP component
    For a star tree, component ``r`` is ``root[r] · ⊗_n M_n[:, r]``; its norm is
    ``σ_r = |root[r]| · Π_n ||M_n[:, r]||`` (``|root[r]| = 1`` for the plain CP sum output).
local component
    At an interior node ``ν`` and channel ``r < R_ν``: the row ``M_ν[r, :]`` together with the
    columns ``M_c[:, r]`` of its children ``c``; its norm is ``σ_{ν,r} = ||M_ν[r, :]|| ·
    Π_c ||M_c[:, r]||`` (Razin et al. 2022). At the root of a star tree the local components
    are exactly the CP components.

Every function takes a product-pooling model or ``(tree, matrices)``, validates once with
:func:`tnreg.analysis.resolve.resolve`, computes in float64 unless ``dtype=`` says otherwise
(``None`` keeps the parameters' dtype), and keeps autograd graphs (detach the result to log it).
Local components are defined once, in :mod:`tnreg.components`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, NamedTuple

import networkx as nx
import torch

from tnreg.analysis.ranks import numerical_rank
from tnreg.analysis.resolve import AnalysisError, Resolved, require_product_pooling, resolve
from tnreg.components import local_norms
from tnreg.trees import children, is_leaf, postorder, root
from tnreg.typing import Node

__all__ = [
    "FactorNorms",
    "component_norms",
    "count_nonnegligible",
    "factor_norms",
    "local_component_norms",
]


def star_root(tree: nx.DiGraph, caller: str, instead: str) -> Node:
    """The root of a star (CP) tree; a clear error naming ``instead`` for any other tree."""
    top = root(tree)
    inner = [c for c in children(tree, top) if not is_leaf(tree, c)]
    if inner:
        raise AnalysisError(
            f"{caller} needs a star (CP) tree; root {top!r} has interior children "
            f"{inner}. Use {instead} for hierarchical trees."
        )
    return top


def product_pooling(source: Any, matrices: Any, dtype: Any, where: str) -> Resolved:
    """Resolve ``source`` and require node matrices (CP, HTF, deep variants)."""
    return require_product_pooling(
        resolve(source, matrices, dtype=dtype, where=where),
        f"{where} reads local components",
        "use a product-pooling model (CP, HierarchicalTensorFactorization) or node_spectra / "
        "rank_report, which accept every model",
    )


def _norm(m: torch.Tensor, dim: int) -> torch.Tensor:
    return torch.linalg.vector_norm(m, dim=dim)


def _maybe_sort(x: torch.Tensor, sort: bool) -> torch.Tensor:
    return torch.sort(x, dim=-1, descending=True).values if sort else x


def component_norms(
    tree_or_model: Any,
    matrices: Mapping[Node, torch.Tensor] | None = None,
    *,
    sort: bool = False,
    dtype: torch.dtype | None = torch.float64,
) -> torch.Tensor:
    """CP component norms ``σ_r = |root[r]| · Π_n ||M_n[:, r]||`` for a star tree, ``(E, R)``.

    With a trainable root the components have ``N + 1`` factors; with the plain sum output
    (root all ones) ``|root[r]| = 1``. ``sort=True`` orders each member's norms descending.

    Raises
    ------
    AnalysisError
        If the tree is not a star (the root has a non-leaf child).

    Examples
    --------
    >>> from tnreg.trees import star
    >>> mats = {0: torch.ones(1, 2, 3), 1: 2 * torch.ones(1, 4, 3), (0, 1): torch.ones(1, 3, 1)}
    >>> component_norms(star(2), mats, dtype=None)
    tensor([[5.6569, 5.6569, 5.6569]])
    """
    r = product_pooling(tree_or_model, matrices, dtype, "component_norms")
    top = star_root(r.tree, "component_norms", "local_component_norms")
    return _maybe_sort(local_norms(r.tree, r.matrices)[top], sort)


def local_component_norms(
    tree_or_model: Any,
    matrices: Mapping[Node, torch.Tensor] | None = None,
    *,
    sort: bool = False,
    dtype: torch.dtype | None = torch.float64,
) -> dict[Node, torch.Tensor]:
    """Local component norms ``σ_{ν,r} = ||M_ν[r, :]|| · Π_c ||M_c[:, r]||``, ν -> ``(E, R_ν)``.

    One entry per interior node (root included, in postorder). At the root ``M_root[r, :]`` is
    the single output weight of channel ``r``.

    Examples
    --------
    >>> from tnreg.trees import balanced
    >>> tree = balanced(4)
    >>> mats = {v: torch.ones(1, 2, 2) for v in [0, 1, 2, 3]}
    >>> mats.update({(0, 1): torch.ones(1, 2, 3), (2, 3): torch.ones(1, 2, 3)})
    >>> mats[(0, 1, 2, 3)] = torch.ones(1, 3, 1)
    >>> {v: n.shape for v, n in local_component_norms(tree, mats).items()}
    {(0, 1): torch.Size([1, 2]), (2, 3): torch.Size([1, 2]), (0, 1, 2, 3): torch.Size([1, 3])}
    """
    r = product_pooling(tree_or_model, matrices, dtype, "local_component_norms")
    return {v: _maybe_sort(n, sort) for v, n in local_norms(r.tree, r.matrices).items()}


class FactorNorms(NamedTuple):
    """Per-vector norms of the node matrices ``M_v`` (each ``(E, ·)``).

    Attributes
    ----------
    rows
        node -> ``||M_v[i, :]||``, shape ``(E, rows)``. For an interior node, row ``r`` is
        the node's own vector in its local component ``r``; for the root, the output weight.
        For a leaf, row ``i`` is the weights of index ``i`` of the mode (no component role).
    cols
        node -> ``||M_v[:, r]||``, shape ``(E, cols)``. Column ``r`` is ``v``'s vector in the
        local component ``r`` of its parent (a CP factor vector for star-tree leaves).
    """

    rows: dict[Node, torch.Tensor]
    cols: dict[Node, torch.Tensor]


def factor_norms(
    tree_or_model: Any,
    matrices: Mapping[Node, torch.Tensor] | None = None,
    *,
    dtype: torch.dtype | None = torch.float64,
) -> FactorNorms:
    """Row and column norms of every node matrix; see :class:`FactorNorms`.

    Examples
    --------
    >>> from tnreg.trees import star
    >>> mats = {0: torch.ones(1, 4, 3), 1: torch.ones(1, 9, 3), (0, 1): torch.ones(1, 3, 1)}
    >>> fn = factor_norms(star(2), mats, dtype=None)
    >>> fn.cols[1], fn.rows[(0, 1)]
    (tensor([[3., 3., 3.]]), tensor([[1., 1., 1.]]))
    """
    r = product_pooling(tree_or_model, matrices, dtype, "factor_norms")
    nodes = postorder(r.tree)
    rows = {v: _norm(r.matrices[v], -1) for v in nodes}
    cols = {v: _norm(r.matrices[v], 1) for v in nodes}
    return FactorNorms(rows=rows, cols=cols)


def count_nonnegligible(norms: torch.Tensor, *, rtol: float, atol: float = 0.0) -> torch.Tensor:
    """Number of norms above ``max(atol, rtol · max norm)`` along the last axis (``int64``).

    The same rule as :func:`tnreg.analysis.ranks.numerical_rank`, applied to component norms
    (any order). For a dict of local norms: ``{v: count_nonnegligible(n, rtol=...) ...}``.

    Examples
    --------
    >>> count_nonnegligible(torch.tensor([[1e-9, 2.0, 0.5]]), rtol=1e-6)
    tensor([2])
    """
    return numerical_rank(norms, rtol=rtol, atol=atol)
