"""Index schedules: how one batch of multi-indices is evaluated, computed once per batch.

Vocabulary
----------
index schedule
    The bookkeeping of one batch of multi-indices: which distinct rows of which tables to
    combine, node by node. It depends on the batch only, not on the parameters, so it is built
    once and reused by every training step on that batch. It is not a contraction plan
    (:class:`tnreg.contract.ContractionPlan`, the path of one einsum over the parameters).
:class:`IndexSchedule`
    For product pooling (HTF, CP, deep variants): the pairwise :class:`Merge` s of every node
    and the root's finish, chosen by :func:`tnreg.models.engine.planner.schedule_evaluation`.
:class:`TreeIndexSchedule`
    For tree tensor networks (Tucker, tensor train, hierarchical Tucker): the distinct rows of
    every table, built by :func:`tnreg.models.engine.rooted.schedule_tree_indices`.
"""

from __future__ import annotations

from collections.abc import Hashable
from dataclasses import dataclass

import torch

from tnreg.models.engine.rows import same_batch
from tnreg.models.engine.sampled import Pattern
from tnreg.typing import Node

__all__ = ["IndexSchedule", "Merge", "TreeIndexSchedule"]


@dataclass(frozen=True, eq=False)
class Merge:
    """One pairwise Hadamard product of two operands of a node's product pooling.

    Operands are numbered per node: ``0..k-1`` are the node's children (tree order), ``k, k+1,
    ...`` the results of earlier merges. ``kind="pairs"``: ``rows_a[u]``, ``rows_b[u]`` are the
    rows of the two operands that enter distinct pair ``u``. ``kind="outer"``: every row of ``a``
    times every row of ``b`` (row ``i * rows(b) + j``), no gathers; ``rows_a``/``rows_b`` are
    ``None``. ``count`` is the number of rows of the result. ``rows_ab``: the operands' row
    counts, when known. ``pattern``: set on a root's last pairs merge that runs as a sampled
    matrix product (:mod:`tnreg.models.engine.sampled`).
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
class IndexSchedule:
    """How to evaluate a batch of multi-indices with each distinct sub-tuple computed once.

    The product pooling at a node with k children is evaluated as a binary tree of pairwise
    :class:`Merge` s.

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
        The (B, N) batch the schedule was built for (kept to recognise it again).
    report
        Lines of :meth:`cost_report` (the cost-based planner fills them).
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
        lines = [f"IndexSchedule: batch {self.indices.shape[0]}, pairwise merges"]
        for node, merges in self.merges.items():
            steps = ", ".join(f"{m.kind}({m.a},{m.b})->{m.rows}" for m in merges) or "none"
            lines.append(f"  {node!r}: {steps}")
        return "\n".join(lines)

    def matches(self, indices: torch.Tensor) -> bool:
        """Whether ``indices`` is the batch this schedule was built for."""
        return same_batch(indices, self.indices)


@dataclass(frozen=True)
class TreeIndexSchedule:
    """Distinct rows of every table of a rooted tree network for one batch.

    Attributes
    ----------
    rows
        Per tensor in :attr:`~tnreg.models.engine.rooted.RootedNetwork.order`: ``None`` for a
        leaf table, else the child row ids and mode indices of each distinct row (one
        ``(rows,)`` tensor per child, then one per mode).
    output
        ``(B,)``: the root table's row of each sample.
    counts
        Rows of every table, by tensor name.
    indices
        The ``(B, N)`` batch the schedule was built for (kept to recognise it again).
    """

    rows: tuple[tuple[torch.Tensor, ...] | None, ...]
    output: torch.Tensor
    counts: dict[Hashable, int]
    indices: torch.Tensor

    def matches(self, indices: torch.Tensor) -> bool:
        """Whether ``indices`` is the batch this schedule was built for."""
        return same_batch(indices, self.indices)

    def cost_report(self) -> str:
        """Rows per table against the batch size (readable text)."""
        lines = [f"TreeIndexSchedule: batch {self.indices.shape[0]}, rows per table (memoized)"]
        lines += [f"  {name!r}: {n}" for name, n in self.counts.items()]
        return "\n".join(lines)
