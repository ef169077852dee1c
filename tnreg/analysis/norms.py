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

Every function takes either ``(tree, matrices)`` or an object with ``.tree`` and
``.matrices()`` (a tnreg model), and keeps autograd graphs (detach the result to log it).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, NamedTuple

import networkx as nx
import torch

from tnreg.analysis.ranks import numerical_rank
from tnreg.trees import children, is_leaf, parent, postorder, root
from tnreg.typing import Node

__all__ = [
    "FactorNorms",
    "component_norms",
    "count_nonnegligible",
    "factor_norms",
    "local_component_norms",
]


def resolve_tree(tree_or_model: Any) -> nx.DiGraph:
    """The mode tree of a tree or of a model-like object (``.tree``)."""
    if isinstance(tree_or_model, nx.DiGraph):
        return tree_or_model
    tree = getattr(tree_or_model, "tree", None)
    if not isinstance(tree, nx.DiGraph):
        raise TypeError(
            "expected a mode tree (networkx.DiGraph) or a model with .tree and .matrices(); "
            f"got {type(tree_or_model).__name__}"
        )
    return tree


def from_model(tree_or_model: Any, given: Any, what: str) -> tuple[nx.DiGraph, Any]:
    """``(tree, values)`` where values are ``given`` or read from the model's ``what()``."""
    tree = resolve_tree(tree_or_model)
    if not isinstance(tree_or_model, nx.DiGraph):
        if given is not None:
            raise ValueError(f"got a model and {what}; pass either a model or (tree, {what})")
        given = getattr(tree_or_model, what)()
    if given is None:
        raise ValueError(f"{what} are required with a plain tree: pass (tree, {what})")
    return tree, given


def star_root(tree: nx.DiGraph, caller: str, instead: str) -> Node:
    """The root of a star (CP) tree; a clear error naming ``instead`` for any other tree."""
    top = root(tree)
    inner = [c for c in children(tree, top) if not is_leaf(tree, c)]
    if inner:
        raise ValueError(
            f"{caller} needs a star (CP) tree; root {top!r} has interior children "
            f"{inner}. Use {instead} for hierarchical trees."
        )
    return top


def resolve_matrices(
    tree_or_model: Any, matrices: Mapping[Node, torch.Tensor] | None
) -> tuple[nx.DiGraph, dict[Node, torch.Tensor]]:
    """Return ``(tree, matrices)`` from a tree + matrices or a model, validated.

    Raises
    ------
    TypeError
        If the first argument is neither a tree nor a model, or a matrix is not a tensor.
    ValueError
        If matrices are missing or given twice, or their shapes do not fit the tree.
    """
    tree, matrices = from_model(tree_or_model, matrices, "matrices")
    check_matrices(tree, matrices)
    return tree, dict(matrices)


def check_matrices(tree: nx.DiGraph, matrices: Mapping[Node, torch.Tensor]) -> None:
    """Check node matrices against the tree: 3-d, one ensemble size, chained shapes."""
    missing = [v for v in postorder(tree) if v not in matrices]
    if missing:
        raise ValueError(f"matrices lacks nodes {missing}; expected one matrix per tree node")
    ensembles = set()
    for v in postorder(tree):
        m = matrices[v]
        if not isinstance(m, torch.Tensor):
            raise TypeError(f"matrix of node {v!r} must be a torch.Tensor; got {type(m).__name__}")
        if m.ndim != 3:
            raise ValueError(
                f"matrix of node {v!r} must have shape (E, rows, cols); got {tuple(m.shape)}"
            )
        ensembles.add(m.shape[0])
        p = parent(tree, v)
        want = 1 if p is None else matrices[p].shape[1]
        if m.shape[2] != want:
            where = "the root" if p is None else f"rows of its parent {p!r}"
            raise ValueError(
                f"matrix of node {v!r} has shape {tuple(m.shape)}; expected {want} columns "
                f"(= {where})"
            )
    if len(ensembles) > 1:
        raise ValueError(f"node matrices disagree on the ensemble size E: {sorted(ensembles)}")


def _norm(m: torch.Tensor, dim: int) -> torch.Tensor:
    return torch.linalg.vector_norm(m, dim=dim)


def _maybe_sort(x: torch.Tensor, sort: bool) -> torch.Tensor:
    return torch.sort(x, dim=-1, descending=True).values if sort else x


def component_norms(
    tree_or_model: Any,
    matrices: Mapping[Node, torch.Tensor] | None = None,
    *,
    sort: bool = False,
) -> torch.Tensor:
    """CP component norms ``σ_r = |root[r]| · Π_n ||M_n[:, r]||`` for a star tree, ``(E, R)``.

    With a trainable root the components have ``N + 1`` factors; with the plain sum output
    (root all ones) ``|root[r]| = 1``. ``sort=True`` orders each member's norms descending.

    Raises
    ------
    ValueError
        If the tree is not a star (the root has a non-leaf child).

    Examples
    --------
    >>> from tnreg.trees import star
    >>> mats = {0: torch.ones(1, 2, 3), 1: 2 * torch.ones(1, 4, 3), (0, 1): torch.ones(1, 3, 1)}
    >>> component_norms(star(2), mats)
    tensor([[5.6569, 5.6569, 5.6569]])
    """
    tree, matrices = resolve_matrices(tree_or_model, matrices)
    top = star_root(tree, "component_norms", "local_component_norms")
    return local_component_norms(tree, matrices, sort=sort)[top]


def local_component_norms(
    tree_or_model: Any,
    matrices: Mapping[Node, torch.Tensor] | None = None,
    *,
    sort: bool = False,
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
    tree, matrices = resolve_matrices(tree_or_model, matrices)
    out: dict[Node, torch.Tensor] = {}
    for v in postorder(tree):
        kids = children(tree, v)
        if not kids:
            continue
        norm = _norm(matrices[v], -1)
        for c in kids:
            norm = norm * _norm(matrices[c], 1)
        out[v] = _maybe_sort(norm, sort)
    return out


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
    tree_or_model: Any, matrices: Mapping[Node, torch.Tensor] | None = None
) -> FactorNorms:
    """Row and column norms of every node matrix; see :class:`FactorNorms`.

    Examples
    --------
    >>> from tnreg.trees import star
    >>> mats = {0: torch.ones(1, 4, 3), 1: torch.ones(1, 9, 3), (0, 1): torch.ones(1, 3, 1)}
    >>> fn = factor_norms(star(2), mats)
    >>> fn.cols[1], fn.rows[(0, 1)]
    (tensor([[3., 3., 3.]]), tensor([[1., 1., 1.]]))
    """
    tree, matrices = resolve_matrices(tree_or_model, matrices)
    nodes = postorder(tree)
    rows = {v: _norm(matrices[v], -1) for v in nodes}
    cols = {v: _norm(matrices[v], 1) for v in nodes}
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
