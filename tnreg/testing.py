"""Test helpers: seeded random trees, matrices and models, dense references, ``assert_close``.

Used by tnreg's own tests and meant for users checking their runs. It never imports pytest.

Vocabulary
----------
dense reference
    The end tensor computed by the defining recursion of docs/design.md §2 in numpy float64,
    independently of tnreg's contraction code (:func:`dense_from_matrices`), and the
    matricization spectrum from numpy's SVD (:func:`dense_svd`).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import networkx as nx
import numpy as np
import torch

from tnreg import trees
from tnreg.typing import Node

__all__ = [
    "MODEL_KINDS",
    "TOLERANCES",
    "assert_close",
    "dense_from_matrices",
    "dense_svd",
    "random_matrices",
    "random_model",
    "random_tree",
]

#: (rtol, atol) per dtype, as cotengra's tests use them.
TOLERANCES = {
    torch.float16: (1e-2, 1e-3),
    torch.bfloat16: (5e-2, 1e-2),
    torch.float32: (5e-3, 1e-5),
    torch.float64: (5e-6, 1e-8),
}

MODEL_KINDS = ("cp", "htf", "deep", "tucker", "tt", "ht")


def random_tree(order: int, *, seed: int, max_arity: int = 3) -> nx.DiGraph:
    """A seeded random mode tree (see :func:`tnreg.trees.random_tree`)."""
    return trees.random_tree(order, seed=seed, max_arity=max_arity)


def random_matrices(
    tree: nx.DiGraph,
    dims: int | Sequence[int],
    width: int | Mapping[Node, int],
    *,
    seed: int,
    members: int = 1,
    dtype: torch.dtype = torch.float64,
    ones_root: bool = False,
) -> dict[Node, torch.Tensor]:
    """Gaussian node matrices ``(members, rows, cols)`` for ``tree`` (root: ``(E, R, 1)``)."""
    n = trees.order(tree)
    dims = (dims,) * n if isinstance(dims, int) else tuple(dims)
    gen = torch.Generator().manual_seed(seed)
    rows = {}
    for v in trees.postorder(tree):
        if tree.out_degree(v) == 0:
            rows[v] = dims[tree.nodes[v]["mode"]]
        else:
            rows[v] = width[v] if isinstance(width, Mapping) else width
    top = trees.root(tree)
    out = {}
    for v in trees.postorder(tree):
        cols = 1 if v == top else rows[trees.parent(tree, v)]
        m = torch.randn(members, rows[v], cols, generator=gen, dtype=torch.float64)
        out[v] = m.to(dtype)
    if ones_root:
        out[top] = torch.ones_like(out[top])
    return out


def dense_from_matrices(
    tree: nx.DiGraph, matrices: Mapping[Node, torch.Tensor], member: int = 0
) -> np.ndarray:
    """End tensor W by the recursion T^ν[..., r] = Σ_r' M_ν[r', r] Π_c T^c[..., r'] (numpy f64).

    Iterative (children before parents), independent of tnreg's contraction code.
    """
    n = trees.order(tree)
    mats = {v: matrices[v][member].detach().cpu().double().numpy() for v in tree}
    values: dict[Node, tuple[np.ndarray, list[int]]] = {}
    for v in trees.postorder(tree):
        kids = list(tree.successors(v))
        if not kids:
            values[v] = (mats[v], [tree.nodes[v]["mode"]])
            continue
        args: list[Any] = []
        modes: list[int] = []
        for c in kids:
            arr, ms = values.pop(c)
            args += [arr, [*ms, n]]
            modes += ms
        modes = sorted(modes)
        values[v] = (np.einsum(*args, mats[v], [n, n + 1], [*modes, n + 1]), modes)
    w, modes = values[trees.root(tree)]
    assert modes == list(range(n))
    return w[..., 0]


def dense_svd(w: np.ndarray, rows: Sequence[int]) -> np.ndarray:
    """Singular values of the matricization ``[w]_rows`` by numpy (float64), descending."""
    rows = list(rows)
    cols = [m for m in range(w.ndim) if m not in rows]
    mat = np.transpose(w, rows + cols).reshape(math.prod(w.shape[m] for m in rows), -1)
    return np.linalg.svd(mat, compute_uv=False)


def random_model(
    kind: str,
    *,
    order: int = 4,
    dims: int = 3,
    width: int = 3,
    seed: int = 0,
    ensemble: int | None = None,
    dtype: torch.dtype = torch.float64,
    init_std: float = 0.5,
) -> Any:
    """A small seeded model of one kind in :data:`MODEL_KINDS`.

    ``cp``: CP of rank ``width``; ``htf``: HTF on a random tree (a 3-child node at order >= 4);
    ``deep``: HTF of depth 2 on a balanced tree; ``tucker``, ``tt``, ``ht``: the dense-core
    formats with ranks ``width``.
    """
    from tnreg import models

    common = {"ensemble": ensemble, "seed": seed, "dtype": dtype, "init_std": init_std}
    if kind == "cp":
        return models.CP(order, dims, width, **common)
    if kind == "htf":
        return models.HierarchicalTensorFactorization(
            random_tree(order, seed=seed), dims, width, **common
        )
    if kind == "deep":
        return models.HierarchicalTensorFactorization(
            trees.balanced(order), dims, width, depth=2, **common
        )
    if kind == "tucker":
        return models.Tucker(order, dims, width, **common)
    if kind == "tt":
        return models.TensorTrain(order, dims, width, **common)
    if kind == "ht":
        return models.HierarchicalTucker(trees.balanced(order), dims, width, **common)
    raise ValueError(f"unknown model kind {kind!r}; valid kinds: {list(MODEL_KINDS)}")


def assert_close(
    actual: Any,
    expected: Any,
    *,
    dtype: torch.dtype | None = None,
    rtol: float | None = None,
    atol: float | None = None,
    scale: float | None = None,
    what: str = "values",
) -> None:
    """Assert ``|actual - expected| <= atol + rtol·|expected|`` with tolerances per dtype.

    ``dtype`` picks the tolerances (default: the lower precision of the two inputs, float64 for
    numpy). ``scale`` makes the absolute tolerance relative to a magnitude (e.g. σ_max), for
    values that are small only next to it. Raises ``AssertionError`` naming the worst entry.
    """
    a = _as_tensor(actual)
    b = _as_tensor(expected)
    if dtype is None:
        dtype = _lower(a.dtype, b.dtype)
    base_rtol, base_atol = TOLERANCES.get(dtype, TOLERANCES[torch.float64])
    rtol = base_rtol if rtol is None else rtol
    atol = base_atol if atol is None else atol
    if scale is not None:
        atol = atol * scale
    if a.shape != b.shape:
        raise AssertionError(f"{what}: shape {tuple(a.shape)} != expected {tuple(b.shape)}")
    a, b = a.double().cpu(), b.double().cpu()
    err = (a - b).abs()
    bound = atol + rtol * b.abs()
    bad = ~(err <= bound)
    if bool(bad.any()):
        i = int(torch.argmax((err - bound).masked_fill(~bad, -math.inf).flatten()))
        raise AssertionError(
            f"{what}: {int(bad.sum())} of {a.numel()} entries differ beyond rtol={rtol:g}, "
            f"atol={atol:g} ({dtype}); worst at flat index {i}: {a.flatten()[i].item()!r} vs "
            f"expected {b.flatten()[i].item()!r}"
        )


def _as_tensor(x: Any) -> torch.Tensor:
    if isinstance(x, torch.Tensor):
        return x.detach()
    return torch.as_tensor(np.asarray(x))


def _lower(a: torch.dtype, b: torch.dtype) -> torch.dtype:
    order = [torch.bfloat16, torch.float16, torch.float32, torch.float64]
    known = [d for d in (a, b) if d in order]
    return min(known, key=order.index) if known else torch.float64
