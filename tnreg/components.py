"""Local components of product-pooling factorizations, defined once.

Vocabulary
----------
layers
    The trainable matrices of each node: ``[M_v]`` for a depth-1 node, ``[A_1, ..., A_L]`` with
    ``M_v = A_1 @ ... @ A_L`` for a deep node, each ``(E, rows, cols)`` with a leading ensemble
    axis. A plain tensor stands for a depth-1 node. A root absent from ``layers`` is a fixed
    output (the plain CP/HTF sum); a node matrix mapping (``model.matrices()``) is also valid
    ``layers`` (one matrix per node).
local component (ν, r)
    At an interior node ν and channel ``r < R_ν`` (Razin, Maman & Cohen 2022; docs/design.md
    §4): the row ``r`` of ν's *first* layer (if ν is trainable) followed by the column ``r`` of
    the *last* layer of each child, in child order: ``K_ν = |C(ν)| + 1`` vectors (``|C(ν)|`` at
    a fixed root). These are the vectors a rescaling of the component touches. At the root of
    a star tree the local components are the CP components (w_r^1, ..., w_r^N).
norm σ_{ν,r}
    ``Π_j ||v_j||`` over the K_ν vectors. With node matrices (depth 1 or the products
    ``M_v``) this is the paper's ``||M_ν[r, :]|| · Π_c ||M_c[:, r]||``.

Everything that reads local components (``HierarchicalTensorFactorization.balance_``, the norms
and invariants of :mod:`tnreg.analysis`, and :mod:`tnreg.theory`) goes through
:func:`local_vectors`. This module trusts its inputs; :mod:`tnreg.analysis` validates.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import networkx as nx
import torch

from tnreg.gramians import group_by
from tnreg.schedule import schedule
from tnreg.typing import Node

__all__ = [
    "Layers",
    "as_layers",
    "local_norms",
    "local_squared_norms",
    "local_vectors",
    "node_products",
]

Layers = Mapping[Node, torch.Tensor | Sequence[torch.Tensor]]


def as_layers(layers: Layers) -> dict[Node, list[torch.Tensor]]:
    """Every value as a list of matrices (a bare tensor is a depth-1 node)."""
    return {v: [m] if isinstance(m, torch.Tensor) else list(m) for v, m in layers.items()}


def node_products(layers: Layers) -> dict[Node, torch.Tensor]:
    """The node matrices ``M_v = A_1 @ ... @ A_L`` of every node given in ``layers``.

    Examples
    --------
    >>> node_products({0: [torch.ones(1, 2, 3), torch.ones(1, 3, 1)]})[0]
    tensor([[[3.],
             [3.]]])
    """
    out: dict[Node, torch.Tensor] = {}
    for v, chain in as_layers(layers).items():
        m = chain[0]
        for nxt in chain[1:]:
            m = m @ nxt
        out[v] = m
    return out


def local_vectors(tree: nx.DiGraph, layers: Layers) -> dict[Node, list[torch.Tensor]]:
    """The K_ν vectors of every local component, interior ν -> list of ``(E, R_ν, k_j)`` views.

    Entry ``j`` of the list holds vector ``j`` of all components at ν as rows: first ν's own
    (row ``r`` of its first layer; absent at a fixed root), then one per child (column ``r`` of
    the child's last layer, transposed). The tensors are views of the layers, so scaling them in
    place rescales the parameters.

    Examples
    --------
    >>> from tnreg.trees import star
    >>> layers = {0: torch.ones(1, 2, 3), 1: torch.ones(1, 5, 3)}  # CP, fixed root
    >>> [tuple(v.shape) for v in local_vectors(star(2), layers)[(0, 1)]]
    [(1, 3, 2), (1, 3, 5)]
    """
    chains = as_layers(layers)
    s = schedule(tree)
    out: dict[Node, list[torch.Tensor]] = {}
    for v in s.postorder:
        kids = s.children[v]
        if not kids:
            continue
        own = [chains[v][0]] if v in chains else []
        out[v] = own + [chains[c][-1].mT for c in kids]
    return out


def local_squared_norms(tree: nx.DiGraph, layers: Layers) -> dict[Node, torch.Tensor]:
    """Squared norms of the local component vectors, interior ν -> ``(E, R_ν, K_ν)``.

    Their pairwise differences are conserved under gradient flow (docs/design.md §4).

    Examples
    --------
    >>> from tnreg.trees import star
    >>> layers = {0: torch.ones(1, 2, 3), 1: torch.ones(1, 5, 3)}
    >>> local_squared_norms(star(2), layers)[(0, 1)][0, 0]
    tensor([2., 5.])
    """
    return {
        v: torch.stack([x.square().sum(-1) for x in vecs], -1)
        for v, vecs in local_vectors(tree, layers).items()
    }


def local_norms(tree: nx.DiGraph, layers: Layers) -> dict[Node, torch.Tensor]:
    """Local component norms ``σ_{ν,r} = Π_j ||v_j||``, interior ν -> ``(E, R_ν)``.

    Examples
    --------
    >>> from tnreg.trees import star
    >>> mats = {0: torch.ones(1, 2, 3), 1: 2 * torch.ones(1, 4, 3), (0, 1): torch.ones(1, 3, 1)}
    >>> local_norms(star(2), mats)[(0, 1)]
    tensor([[5.6569, 5.6569, 5.6569]])
    """
    vectors = local_vectors(tree, layers)
    out: dict[Node, torch.Tensor] = {}
    # nodes whose vectors have equal shapes: one batch
    for nodes in group_by(vectors, lambda v: tuple(tuple(x.shape) for x in vectors[v])):
        norm = None
        for j in range(len(vectors[nodes[0]])):
            stacked = torch.stack([vectors[v][j] for v in nodes])
            n = torch.linalg.vector_norm(stacked, dim=-1)
            norm = n if norm is None else norm * n
        out.update(zip(nodes, norm.unbind(0)))
    return {v: out[v] for v in vectors}
