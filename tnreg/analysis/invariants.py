"""Conserved quantities of gradient flow on product-pooling factorizations.

Vocabulary
----------
layers
    The trainable parameters per node (``model.layers()``): ``[M_v]`` for a depth-1 node,
    ``[A_1, ..., A_L]`` with ``M_v = A_1 @ ... @ A_L`` for a deep node (each ``(E, ·, ·)``). A
    root that is absent from ``layers`` is a fixed output (the plain CP/HTF sum) and takes
    no part in the invariants.
local component vectors
    At interior node ``ν`` and channel ``r``: the row ``r`` of ν's *first* layer (if ν is
    trainable) followed by column ``r`` of the *last* layer of each child, in child order —
    ``K_ν = |C(ν)| + 1`` vectors, or ``|C(ν)|`` at a fixed root. Rescaling them by factors
    whose product is 1 leaves the end tensor unchanged, so under gradient flow on any loss of
    the end tensor all differences of their squared norms are constant (Razin et al. 2021,
    2022; for CP, the star tree's root, these are ``||w_r^n||² − ||w_r^{n'}||²``).
balancedness
    For a deep node, ``A_j^T A_j − A_{j+1} A_{j+1}^T`` is constant under gradient flow (the
    ``GL(k_j)`` symmetry between consecutive layers; Arora et al. 2018).

Layout: :func:`local_squared_norms` returns ν -> ``(E, R_ν, K_ν)`` squared norms, and
:func:`pairwise_differences` turns ``(..., K)`` into ``(..., K, K)`` with entry ``[i, j] =
q_i − q_j`` (the conserved quantities). :func:`invariants` collects everything in one flat
dict keyed ``("local", ν)`` -> ``(E, R_ν, K_ν, K_ν)`` and ``("balance", v, j)`` -> ``(E, k_j,
k_j)`` (``j`` is 0-based: layers ``j`` and ``j + 1``), and :func:`drift` compares two of them.
Under plain gradient descent with step ``η`` the drift is ``O(η)`` over a fixed time.
"""

from __future__ import annotations

import itertools
from collections.abc import Hashable, Mapping, Sequence
from typing import Any

import networkx as nx
import torch

from tnreg.analysis.norms import from_model, resolve_tree, star_root
from tnreg.trees import children, is_leaf, postorder, root
from tnreg.typing import Node

__all__ = [
    "balancedness",
    "cp_squared_norms",
    "drift",
    "invariants",
    "local_squared_norms",
    "pairwise_differences",
]

Layers = Mapping[Node, torch.Tensor | Sequence[torch.Tensor]]


def resolve_layers(
    tree_or_model: Any, layers: Layers | None
) -> tuple[nx.DiGraph, dict[Node, list[torch.Tensor]]]:
    """Return ``(tree, layers)`` with every value a list of 3-d tensors, validated.

    A bare tensor value stands for a depth-1 node. Every non-root node must be present.
    """
    tree, layers = from_model(tree_or_model, layers, "layers")
    top = root(tree)
    out: dict[Node, list[torch.Tensor]] = {}
    for v in postorder(tree):
        if v not in layers:
            if v == top:
                continue
            raise ValueError(f"layers lacks node {v!r}; only the root may be absent (fixed)")
        value = layers[v]
        out[v] = [value] if isinstance(value, torch.Tensor) else list(value)
        _check_chain(v, out[v])
    return tree, out


def _check_chain(v: Node, chain: list[torch.Tensor]) -> None:
    if not chain:
        raise ValueError(f"layers of node {v!r} is empty; expected at least one matrix")
    for j, a in enumerate(chain):
        if not isinstance(a, torch.Tensor) or a.ndim != 3:
            got = tuple(a.shape) if isinstance(a, torch.Tensor) else type(a).__name__
            raise ValueError(f"layer {j} of node {v!r} must be a tensor (E, rows, cols); got {got}")
        if j and chain[j - 1].shape[2] != a.shape[1]:
            raise ValueError(
                f"layers of node {v!r} do not chain: layer {j - 1} has shape "
                f"{tuple(chain[j - 1].shape)}, layer {j} has shape {tuple(a.shape)}"
            )


def local_squared_norms(
    tree_or_model: Any, layers: Layers | None = None
) -> dict[Node, torch.Tensor]:
    """Squared norms of the local component vectors, interior ν -> ``(E, R_ν, K_ν)``.

    Entry ``[..., 0]`` is ``||row r of ν's first layer||²`` (absent at a fixed root), then one
    entry per child: ``||column r of its last layer||²``.

    Examples
    --------
    >>> from tnreg.trees import star
    >>> layers = {0: torch.ones(1, 2, 3), 1: torch.ones(1, 5, 3)}  # fixed root
    >>> local_squared_norms(star(2), layers)[(0, 1)][0, 0]
    tensor([2., 5.])
    """
    tree, layers = resolve_layers(tree_or_model, layers)
    out: dict[Node, torch.Tensor] = {}
    for v in postorder(tree):
        if is_leaf(tree, v):
            continue
        parts = [(layers[v][0] ** 2).sum(-1)] if v in layers else []
        parts += [(layers[c][-1] ** 2).sum(1) for c in children(tree, v)]
        shapes = {tuple(p.shape) for p in parts}
        if len(shapes) > 1:
            raise ValueError(
                f"local components at node {v!r} disagree on (E, R): {sorted(shapes)}; check "
                "that each child's last layer has as many columns as the node's first layer rows"
            )
        out[v] = torch.stack(parts, -1)
    return out


def cp_squared_norms(tree_or_model: Any, layers: Layers | None = None) -> torch.Tensor:
    """CP factor squared norms ``||w_r^n||²`` for a star tree, ``(E, R, K)``.

    ``K = N`` with a fixed (ones) root, ``K = N + 1`` with a trainable root, whose ``|root[r]|²``
    is then entry 0. The conserved quantities are ``pairwise_differences`` of this.

    Raises
    ------
    ValueError
        If the tree is not a star.

    Examples
    --------
    >>> from tnreg.trees import star
    >>> layers = {0: torch.ones(1, 2, 3), 1: torch.ones(1, 5, 3), (0, 1): torch.ones(1, 3, 1)}
    >>> cp_squared_norms(star(2), layers).shape
    torch.Size([1, 3, 3])
    """
    top = star_root(resolve_tree(tree_or_model), "cp_squared_norms", "local_squared_norms")
    return local_squared_norms(tree_or_model, layers)[top]


def pairwise_differences(q: torch.Tensor) -> torch.Tensor:
    """``(..., K)`` -> ``(..., K, K)`` with ``[..., i, j] = q_i − q_j``.

    Examples
    --------
    >>> pairwise_differences(torch.tensor([1.0, 3.0]))
    tensor([[ 0., -2.],
            [ 2.,  0.]])
    """
    if not isinstance(q, torch.Tensor) or q.ndim < 1:
        raise ValueError(f"q must be a tensor of shape (..., K); got {q!r:.60}")
    return q.unsqueeze(-1) - q.unsqueeze(-2)


def balancedness(
    tree_or_model: Any, layers: Layers | None = None
) -> dict[Node, list[torch.Tensor]]:
    """Deep-node invariants ``A_j^T A_j − A_{j+1} A_{j+1}^T``, node -> list of ``(E, k_j, k_j)``.

    Only nodes with two or more layers appear.

    Examples
    --------
    >>> from tnreg.trees import star
    >>> layers = {0: [torch.ones(1, 2, 4), torch.ones(1, 4, 3)], 1: torch.ones(1, 5, 3)}
    >>> balancedness(star(2), layers)[0][0].shape
    torch.Size([1, 4, 4])
    """
    _, layers = resolve_layers(tree_or_model, layers)
    out: dict[Node, list[torch.Tensor]] = {}
    for v, chain in layers.items():
        if len(chain) > 1:
            out[v] = [
                a.transpose(-1, -2) @ a - b @ b.transpose(-1, -2)
                for a, b in itertools.pairwise(chain)
            ]
    return out


def invariants(tree_or_model: Any, layers: Layers | None = None) -> dict[tuple, torch.Tensor]:
    """All conserved quantities in one flat dict (see the module docstring for the keys).

    Examples
    --------
    >>> from tnreg.trees import star
    >>> layers = {0: [torch.ones(1, 2, 4), torch.ones(1, 4, 3)], 1: torch.ones(1, 5, 3)}
    >>> sorted(invariants(star(2), layers))
    [('balance', 0, 0), ('local', (0, 1))]
    """
    out: dict[tuple, torch.Tensor] = {
        ("local", v): pairwise_differences(q)
        for v, q in local_squared_norms(tree_or_model, layers).items()
    }
    for v, diffs in balancedness(tree_or_model, layers).items():
        out.update({("balance", v, j): d for j, d in enumerate(diffs)})
    return out


def drift(
    before: Mapping[Hashable, torch.Tensor], after: Mapping[Hashable, torch.Tensor]
) -> dict[Hashable, torch.Tensor]:
    """Largest absolute change of each invariant per ensemble member, key -> ``(E,)``.

    Raises
    ------
    ValueError
        If the keys or shapes of ``before`` and ``after`` differ, or a value is 0-d.

    Examples
    --------
    >>> drift({"a": torch.zeros(2, 3)}, {"a": torch.tensor([[0.0, 1.0, 0.0], [0.0, 0.0, -2.0]])})
    {'a': tensor([1., 2.])}
    """
    if set(before) != set(after):
        raise ValueError(
            f"before and after must have the same keys; only in before: "
            f"{sorted(map(repr, set(before) - set(after)))}, only in after: "
            f"{sorted(map(repr, set(after) - set(before)))}"
        )
    out: dict[Hashable, torch.Tensor] = {}
    for key, b in before.items():
        a = after[key]
        if a.shape != b.shape:
            raise ValueError(
                f"invariant {key!r} changed shape: {tuple(b.shape)} before, {tuple(a.shape)} after"
            )
        if a.ndim == 0:
            raise ValueError(
                f"invariant {key!r} must have a leading ensemble axis; got a 0-d tensor"
            )
        out[key] = (a.detach() - b.detach()).abs().reshape(a.shape[0], -1).amax(-1)
    return out
