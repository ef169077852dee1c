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
from dataclasses import replace
from typing import Any

import torch

from tnreg import components
from tnreg.analysis.norms import star_root
from tnreg.analysis.resolve import Resolved, require_product_pooling, resolve
from tnreg.typing import Node

__all__ = [
    "balancedness",
    "bond_invariants",
    "cp_squared_norms",
    "drift",
    "invariants",
    "local_squared_norms",
    "pairwise_differences",
]

Layers = Mapping[Node, torch.Tensor | Sequence[torch.Tensor]]


def resolve_layers(
    tree_or_model: Any, layers: Layers | None, *, dtype: torch.dtype | None = torch.float64
) -> Resolved:
    """Validate a product-pooling model or ``(tree, layers)``; every layer list is 3-d, chained.

    A bare tensor value stands for a depth-1 node. Every non-root node must be present.
    """
    r = resolve(tree_or_model, layers=layers, dtype=dtype, where="invariants")
    if r.is_product_pooling and r.layers is None:  # a model given explicit matrices only
        return replace(r, layers={v: [m] for v, m in r.matrices.items()})
    return r


def local_squared_norms(
    tree_or_model: Any, layers: Layers | None = None, *, dtype: torch.dtype | None = torch.float64
) -> dict[Node, torch.Tensor]:
    """Squared norms of the local component vectors, interior ν -> ``(E, R_ν, K_ν)``.

    Entry ``[..., 0]`` is ``||row r of ν's first layer||²`` (absent at a fixed root), then one
    entry per child: ``||column r of its last layer||²`` (see :mod:`tnreg.components`).

    Examples
    --------
    >>> from tnreg.trees import star
    >>> layers = {0: torch.ones(1, 2, 3), 1: torch.ones(1, 5, 3)}  # fixed root
    >>> local_squared_norms(star(2), layers)[(0, 1)][0, 0]
    tensor([2., 5.], dtype=torch.float64)
    """
    r = _product_pooling_layers(tree_or_model, layers, dtype, "local_squared_norms")
    return components.local_squared_norms(r.tree, r.layers)


def _product_pooling_layers(source: Any, layers: Any, dtype: Any, where: str) -> Resolved:
    return require_product_pooling(
        resolve_layers(source, layers, dtype=dtype),
        f"{where} reads local components",
        "invariants() gives its bond invariants",
    )


def cp_squared_norms(
    tree_or_model: Any, layers: Layers | None = None, *, dtype: torch.dtype | None = torch.float64
) -> torch.Tensor:
    """CP factor squared norms ``||w_r^n||²`` for a star tree, ``(E, R, K)``.

    ``K = N`` with a fixed (ones) root, ``K = N + 1`` with a trainable root, whose ``|root[r]|²``
    is then entry 0. The conserved quantities are ``pairwise_differences`` of this.

    Raises
    ------
    AnalysisError
        If the tree is not a star.

    Examples
    --------
    >>> from tnreg.trees import star
    >>> layers = {0: torch.ones(1, 2, 3), 1: torch.ones(1, 5, 3), (0, 1): torch.ones(1, 3, 1)}
    >>> cp_squared_norms(star(2), layers).shape
    torch.Size([1, 3, 3])
    """
    r = _product_pooling_layers(tree_or_model, layers, dtype, "cp_squared_norms")
    top = star_root(r.tree, "cp_squared_norms", "local_squared_norms")
    return components.local_squared_norms(r.tree, r.layers)[top]


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
    tree_or_model: Any, layers: Layers | None = None, *, dtype: torch.dtype | None = torch.float64
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
    r = _product_pooling_layers(tree_or_model, layers, dtype, "balancedness")
    return _balancedness(r.layers)


def _balancedness(layers: Mapping[Node, list[torch.Tensor]]) -> dict[Node, list[torch.Tensor]]:
    out: dict[Node, list[torch.Tensor]] = {}
    for v, chain in layers.items():
        if len(chain) > 1:
            out[v] = [a.mT @ a - b @ b.mT for a, b in itertools.pairwise(chain)]
    return out


def bond_invariants(network: Any, tensors: Mapping[Hashable, torch.Tensor]) -> dict:
    """Conserved quantities of any tensor network, from its gauge symmetries.

    An index ``i`` joining exactly two tensors A and B carries a ``GL(r_i)`` symmetry (insert
    ``G`` and ``G^{-1}`` on the bond), so ``A_(i) A_(i)^T − B_(i) B_(i)^T`` is conserved under
    gradient flow, ``A_(i)`` being A matricized with ``i`` on the rows: key ``("bond", i)`` ->
    ``(E, r_i, r_i)``. An index shared by three or more tensors (a hyperedge) keeps only the
    diagonal scaling symmetry: key ``("hyper", i)`` -> ``(E, r_i, K, K)`` pairwise differences of
    the slices' squared norms (for product pooling these are the local-component invariants).
    """
    holders: dict[Hashable, list[tuple[Hashable, int]]] = {}
    for name, idx in network.tensors.items():
        for axis, i in enumerate(idx):
            holders.setdefault(i, []).append((name, axis))
    out: dict[tuple, torch.Tensor] = {}
    for i, where in holders.items():
        if i in network.output or len(where) < 2:
            continue
        mats = [tensors[name].movedim(axis + 1, 1).flatten(2) for name, axis in where]
        if len(where) == 2:
            a, b = mats
            out[("bond", i)] = a @ a.mT - b @ b.mT
        else:
            q = torch.stack([m.square().sum(-1) for m in mats], -1)
            out[("hyper", i)] = pairwise_differences(q)
    return out


def invariants(
    tree_or_model: Any, layers: Layers | None = None, *, dtype: torch.dtype | None = torch.float64
) -> dict[tuple, torch.Tensor]:
    """All conserved quantities in one flat dict (see the module docstring for the keys).

    Product-pooling models and ``(tree, layers)``: ``("local", ν)`` and ``("balance", v, j)``.
    Dense-core formats (Tucker, TensorTrain, HierarchicalTucker): the bond invariants of their
    network (:func:`bond_invariants`).

    Examples
    --------
    >>> from tnreg.trees import star
    >>> layers = {0: [torch.ones(1, 2, 4), torch.ones(1, 4, 3)], 1: torch.ones(1, 5, 3)}
    >>> sorted(invariants(star(2), layers))
    [('balance', 0, 0), ('local', (0, 1))]
    """
    r = resolve_layers(tree_or_model, layers, dtype=dtype)
    if not r.is_product_pooling:
        return bond_invariants(r.model.network, r.tensors)
    out: dict[tuple, torch.Tensor] = {
        ("local", v): pairwise_differences(q)
        for v, q in components.local_squared_norms(r.tree, r.layers).items()
    }
    for v, diffs in _balancedness(r.layers).items():
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
