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

import networkx as nx
import torch

from tnreg.typing import Node

__all__ = ["IndexPlan", "check_indices", "plan_indices"]

_KEY_LIMIT = 2**62


@dataclass(frozen=True, eq=False)
class IndexPlan:
    """Row ids of each child's table for every distinct sub-tuple at every interior node.

    Attributes
    ----------
    rows
        ``rows[node]`` is a tuple with one long tensor per child of ``node`` (tree order), each
        of shape ``(U_node,)``: which row of the child's table enters each distinct sub-tuple.
        For a leaf child the row is the mode index itself.
    output
        Shape ``(B,)``: the row of the root's table that holds each sample.
    indices
        The (B, N) batch the plan was built for (kept to recognise it again).
    """

    rows: dict[Node, tuple[torch.Tensor, ...]]
    output: torch.Tensor
    indices: torch.Tensor

    @property
    def distinct(self) -> dict[Node, int]:
        """Number of distinct sub-tuples per interior node."""
        return {node: int(r[0].shape[0]) for node, r in self.rows.items()}

    def matches(self, indices: torch.Tensor) -> bool:
        """Whether ``indices`` is the batch this plan was built for."""
        mine = self.indices
        return indices is mine or (
            indices.shape == mine.shape
            and indices.device == mine.device
            and bool(torch.equal(indices, mine))
        )


def check_indices(indices: object, dims: tuple[int, ...]) -> torch.Tensor:
    """Validate a batch of multi-indices against mode sizes; returns a (B, N) long tensor."""
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
    return indices.long()


def plan_indices(
    tree: nx.DiGraph, schedule: list[tuple[Node, list[Node]]], indices: torch.Tensor
) -> IndexPlan:
    """Find the distinct sub-tuples at every interior node, bottom-up.

    ``schedule`` lists the interior nodes in postorder with their children; leaves are read from
    ``tree.nodes[leaf]["mode"]``. ``indices`` must already be validated.
    """
    ids: dict[Node, torch.Tensor] = {}
    sizes: dict[Node, int] = {}
    rows: dict[Node, tuple[torch.Tensor, ...]] = {}
    for node, kids in schedule:
        for k in kids:
            if k not in ids:  # a leaf
                ids[k] = indices[:, tree.nodes[k]["mode"]]
                sizes[k] = int(ids[k].max()) + 1 if ids[k].numel() else 0
        key_ids, inverse = _distinct([ids[k] for k in kids], [sizes[k] for k in kids])
        rows[node] = key_ids
        ids[node] = inverse
        sizes[node] = int(key_ids[0].shape[0])
    top = schedule[-1][0]
    return IndexPlan(rows=rows, output=ids[top], indices=indices)


def _distinct(
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
