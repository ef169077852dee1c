"""Distinct observed sub-tuples at every node of a mode tree (memoized evaluation).

Vocabulary
----------
batch of multi-indices
    An integer tensor of shape (B, N): row b is one entry (i_0, ..., i_{N-1}) of the tensor.
sub-tuple at a node
    The restriction (i_n)_{n in I} of a multi-index to the node's mode set I. A node's value on
    a sub-tuple depends on nothing else, so it is computed once per *distinct* sub-tuple: at most
    min(B, prod_{n in I} d_n) of them (256 distinct pairs against 2048 samples at the first
    level of an order-4, d=16 completion task).

An :class:`IndexPlan` is built once per batch of indices (it depends on the data, not on the
parameters) and reused by every training step on that batch.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import networkx as nx
import torch

from tnreg.typing import Node

if TYPE_CHECKING:
    from tnreg.models.sampled import Pattern

__all__ = [
    "IndexPlan",
    "Merge",
    "check_indices",
    "distinct_rows",
    "pair_grads",
    "plan_indices",
]

_KEY_LIMIT = 2**62


@dataclass(frozen=True, eq=False)
class Merge:
    """One pairwise Hadamard product of two operands of a node's product pooling.

    Operands are numbered per node: ``0..k-1`` are the node's children (tree order), ``k, k+1,
    ...`` the results of earlier merges. ``kind="pairs"``: ``rows_a[u]``, ``rows_b[u]`` are the
    rows of the two operands that enter distinct pair ``u``. ``kind="outer"``: every row of ``a``
    times every row of ``b`` (row ``i * rows(b) + j``), no gathers; ``rows_a``/``rows_b`` are
    ``None``. ``count`` is the number of rows of the result. ``rows_ab``: the operands' row
    counts, when known. ``pattern``: set on a root's last pairs merge that runs as a sampled
    matrix product (:mod:`tnreg.models.sampled`).
    """

    a: int
    b: int
    rows_a: torch.Tensor | None
    rows_b: torch.Tensor | None
    kind: str = "pairs"
    count: int = -1
    rows_ab: tuple[int, int] | None = None
    pattern: Pattern | None = None

    @property
    def rows(self) -> int:
        """Rows of the result."""
        return self.count if self.count >= 0 else int(self.rows_a.shape[0])


@dataclass(frozen=True, eq=False)
class IndexPlan:
    """How to evaluate a batch of multi-indices with each distinct sub-tuple computed once.

    The product pooling at a node with k children is evaluated as a binary tree of pairwise
    :class:`Merge` s: :func:`plan_indices` balances it by child count, at the distinct pairs of
    rows that occur (a star over 4 modes of size 10 multiplies 100 distinct pairs twice before
    touching the batch); :func:`tnreg.models.evaluate.plan_evaluation` (what models use)
    chooses the order, the kind of each merge and the root's finish by estimated cost.

    Attributes
    ----------
    merges
        ``merges[node]``: the pairwise merges of ``node``'s product pooling, in order; the last
        result holds one row per distinct sub-tuple at ``node``.
    output
        Shape ``(B,)``: the row of the root's final result that holds each sample. When
        ``outer`` is set, the root's last merge is not done by gathering: the root's value at
        *every* pair of rows is one matrix product, and ``output`` indexes its flattened result.
    outer
        The operands ``(a, b)`` of that matrix-product finish, or ``None``.
    indices
        The (B, N) batch the plan was built for (kept to recognise it again).
    report
        Lines of :meth:`cost_report` (the cost-based planner of :mod:`tnreg.models.evaluate`
        fills them).
    """

    merges: dict[Node, list[Merge]]
    output: torch.Tensor
    outer: tuple[int, int] | None
    indices: torch.Tensor
    report: tuple[str, ...] = ()

    @property
    def distinct(self) -> dict[Node, int]:
        """Rows of each interior node's pooled table (the last merge's row count)."""
        return {node: m[-1].rows for node, m in self.merges.items() if m}

    def cost_report(self) -> str:
        """The chosen merges and finish per node, with estimated costs (readable text)."""
        if self.report:
            return "\n".join(self.report)
        lines = [f"IndexPlan: batch {self.indices.shape[0]}, balanced pairwise merges"]
        for node, merges in self.merges.items():
            steps = ", ".join(f"{m.kind}({m.a},{m.b})->{m.rows}" for m in merges) or "none"
            lines.append(f"  {node!r}: {steps}")
        return "\n".join(lines)

    def matches(self, indices: torch.Tensor) -> bool:
        """Whether ``indices`` is the batch this plan was built for."""
        return same_batch(indices, self.indices)


def same_batch(indices: torch.Tensor, planned: torch.Tensor) -> bool:
    """Whether ``indices`` is the batch a plan was built for (``planned``): cached plans use it."""
    return indices is planned or (
        indices.shape == planned.shape
        and indices.device == planned.device
        and bool(torch.equal(indices, planned))
    )


def check_indices(
    indices: object, dims: tuple[int, ...], *, device: torch.device | None = None
) -> torch.Tensor:
    """Validate a batch of multi-indices against mode sizes (and the model's ``device``, when
    given); returns a (B, N) long tensor."""
    if not isinstance(indices, torch.Tensor):
        raise TypeError(
            f"indices must be a torch integer tensor of shape (batch, {len(dims)}); "
            f"got {type(indices).__name__}"
        )
    if indices.dtype.is_floating_point or indices.dtype.is_complex or indices.dtype == torch.bool:
        raise TypeError(f"indices must have an integer dtype; got {indices.dtype}")
    if indices.ndim != 2 or indices.shape[1] != len(dims):
        raise ValueError(
            f"indices must have shape (batch, {len(dims)}) for an order-{len(dims)} tensor; "
            f"got shape {tuple(indices.shape)}"
        )
    if indices.shape[0]:
        low = indices.amin(0).tolist()
        high = indices.amax(0).tolist()
        for n, (lo, hi, d) in enumerate(zip(low, high, dims)):
            if lo < 0 or hi >= d:
                bad = lo if lo < 0 else hi
                raise IndexError(
                    f"index {bad} out of range for mode {n} of size {d} (valid: 0..{d - 1})"
                )
    if device is not None and indices.device != device:
        raise ValueError(
            f"indices are on {indices.device} but the model is on {device}; "
            f"move them with indices.to({str(device)!r})"
        )
    return indices.long()


def check_vectors(
    vectors: object,
    dims: tuple[int, ...],
    *,
    error: type[Exception] = ValueError,
    like: torch.Tensor | None = None,
) -> list[torch.Tensor]:
    """Validate rank-one sensing vectors: one (B, d_n) tensor per mode, or one (B, N, d) tensor.

    Shape problems raise ``error``; with ``like`` (a model's parameter or buffer), a dtype or
    device other than its raises ``TypeError``. Returns the list of per-mode tensors.
    """
    order = len(dims)
    if isinstance(vectors, torch.Tensor):
        if vectors.ndim != 3 or vectors.shape[1] != order:
            raise error(
                f"sensing vectors as one tensor must have shape (batch, {order}, d); "
                f"got {tuple(vectors.shape)}"
            )
        vectors = list(vectors.unbind(1))
    if isinstance(vectors, (str, bytes)) or not hasattr(vectors, "__iter__"):
        raise error(
            f"expected {order} sensing vectors (one per mode); got {type(vectors).__name__}"
        )
    vectors = list(vectors)
    if len(vectors) != order:
        raise error(f"expected {order} sensing vectors (one per mode); got {len(vectors)}")
    for n, (x, d) in enumerate(zip(vectors, dims)):
        if not isinstance(x, torch.Tensor) or x.ndim != 2 or x.shape[1] != d:
            got = tuple(x.shape) if isinstance(x, torch.Tensor) else type(x).__name__
            raise error(
                f"sensing vectors of mode {n} must have shape (batch, {d}); got {got} "
                f"(expected {order} sensing vectors of shapes (batch, d_n), d = {dims})"
            )
        if like is not None and (x.dtype != like.dtype or x.device != like.device):
            raise TypeError(
                f"sensing vectors of mode {n} are {x.dtype} on {x.device}; the model is "
                f"{like.dtype} on {like.device}"
            )
    if len({x.shape[0] for x in vectors}) != 1:
        raise error(f"sensing vectors disagree on batch size: {[x.shape[0] for x in vectors]}")
    return vectors


def plan_indices(
    tree: nx.DiGraph,
    schedule: list[tuple[Node, list[Node]]],
    indices: torch.Tensor,
    dims: tuple[int, ...],
    *,
    outer_ratio: float = 32.0,
) -> IndexPlan:
    """Plan the memoized evaluation of a batch, bottom-up.

    ``schedule`` lists the interior nodes in postorder with their children; leaves are read from
    ``tree.nodes[leaf]["mode"]`` (a leaf's table has ``dims[mode]`` rows). ``indices`` must
    already be validated. The root's last merge
    becomes one matrix product over all pairs of rows when there are at most ``outer_ratio``
    times as many pairs as samples (measured on 2 CPU cores: at 32x the pairs, one GEMM still
    beats gathering, multiplying and reducing per sample; see bench/bench_models.py).
    """
    ids: dict[Node, torch.Tensor] = {}
    sizes: dict[Node, int] = {}
    merges: dict[Node, list[Merge]] = {}
    top = schedule[-1][0]
    outer = None
    for node, kids in schedule:
        for k in kids:
            if k not in ids:  # a leaf: its rows are the mode index
                mode = tree.nodes[k]["mode"]
                ids[k], sizes[k] = indices[:, mode], dims[mode]
        operands = [(i, ids[k], sizes[k]) for i, k in enumerate(kids)]
        merges[node] = []
        while len(operands) > 1:
            nxt = []
            for j in range(0, len(operands) - 1, 2):
                (a, ia, sa), (b, ib, sb) = operands[j], operands[j + 1]
                final = len(operands) == 2
                if final and node == top and sa * sb <= outer_ratio * max(len(ia), 1):
                    outer = (a, b)
                    ids[node], sizes[node] = ia * sb + ib, sa * sb
                    break
                (ra, rb), inverse = distinct_rows([ia, ib], [sa, sb])
                slot = len(kids) + len(merges[node])
                merges[node].append(Merge(a, b, ra, rb, count=int(ra.shape[0])))
                nxt.append((slot, inverse, int(ra.shape[0])))
            else:
                nxt += operands[len(operands) - len(operands) % 2 :]
                operands = nxt
                continue
            break
        if outer is None or node != top:
            ids[node], sizes[node] = operands[0][1], operands[0][2]
    return IndexPlan(merges=merges, output=ids[top], outer=outer, indices=indices)


def distinct_rows(
    columns: list[torch.Tensor], sizes: list[int]
) -> tuple[tuple[torch.Tensor, ...], torch.Tensor]:
    """Distinct rows of the stacked columns: (per-column values of each distinct row, inverse)."""
    total = 1
    for s in sizes:
        total *= max(s, 1)
    if total < _KEY_LIMIT:  # one int64 key per row: a 1-D unique is much faster than dim=0
        key = columns[0].clone()
        for col, size in zip(columns[1:], sizes[1:]):
            key.mul_(size).add_(col)
        uniq, inverse = torch.unique(key, return_inverse=True)
        out = []
        for size in reversed(sizes[1:]):
            out.append(uniq % size)
            uniq = torch.div(uniq, size, rounding_mode="floor")
        out.append(uniq)
        return tuple(reversed(out)), inverse
    uniq, inverse = torch.unique(torch.stack(columns, 1), dim=0, return_inverse=True)
    return tuple(uniq.unbind(1)), inverse


def pair_grads(a, b, rows_a, rows_b, grad, need_a: bool, need_b: bool) -> tuple:
    """Gradients of ``out[u] = a[rows_a[u]] * b[rows_b[u]]`` (summed over channels when
    ``grad`` has a trailing axis of size 1) as differentiable gathers and scatters: the
    ``create_graph=True`` backward of the memoized merges (double backward works through it)."""
    ga = (
        torch.zeros_like(a).index_add(0, rows_a, b.index_select(0, rows_b) * grad)
        if need_a
        else None
    )
    gb = (
        torch.zeros_like(b).index_add(0, rows_b, a.index_select(0, rows_a) * grad)
        if need_b
        else None
    )
    return ga, gb
