"""Executors: run an index schedule (or rank-one sensing vectors) through a model's tensors.

Vocabulary
----------
pooling
    A product-pooling model's interior nodes in postorder, each with its children: the order in
    which :func:`evaluate_pooling` builds tables, children before parents.
table
    A node's values at some rows, laid out ``(rows, E, channels)`` (E: ensemble members).

:func:`evaluate_pooling` runs an :class:`~tnreg.models.engine.schedules.IndexSchedule` with the
kernels of :mod:`tnreg.models.engine.kernels` and :mod:`tnreg.models.engine.sampled`;
:func:`evaluate_tree` runs a :class:`~tnreg.models.engine.schedules.TreeIndexSchedule` over a
rooted tree network.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch

from tnreg.models.engine.kernels import PairMerge, channel_matmul, outer_finish
from tnreg.models.engine.members import outer_merge, scale_channels
from tnreg.models.engine.rooted import RootedNetwork
from tnreg.models.engine.sampled import sampled_dot, usable
from tnreg.models.engine.schedules import IndexSchedule, Merge, TreeIndexSchedule
from tnreg.typing import Node

__all__ = ["evaluate_pooling", "evaluate_tree"]


def evaluate_pooling(
    pooling: list[tuple[Node, list[Node]]],
    mats: dict[Node, torch.Tensor],
    values: dict[Node, torch.Tensor],
    schedule: IndexSchedule | None,
    *,
    weighted: bool,
) -> torch.Tensor:
    """Product pooling then the node matrix, children before parents; the root's table.

    ``mats`` holds the node matrices ``(E, rows, cols)``; ``values`` the leaves' tables (it is
    consumed). With an index schedule, pooling runs the schedule's pairwise merges at distinct
    rows only, and the result is the root's ``(rows, E, 1)`` table, or ``(E, B)`` values at the
    samples when the schedule ends with the matrix-product finish; without one (sensing) every
    child value is already per sample. ``weighted``: the root has a trained output layer
    (``mats[root]``), else its output is fixed to ones.
    """
    root = pooling[-1][0]
    for node, kids in pooling:
        operands = [values.pop(k) for k in kids]
        if schedule is None:
            pooled = operands[0]
            for t in operands[1:]:
                pooled = pooled * t
        elif node == root and _finishes(schedule, node):
            weights = mats[node] if weighted else None
            return _finish_root(schedule.merges[node], schedule, operands, weights)
        else:
            pooled = _merge(schedule.merges[node], operands)
        if node == root:  # (R, 1) output layer: a weighted sum over channels
            if weighted:
                pooled = scale_channels(pooled, mats[node][..., 0])
            values[node] = pooled.sum(-1, keepdim=True)
        else:
            values[node] = channel_matmul(pooled, mats[node])
    return values[root]


def _finishes(schedule: IndexSchedule, root: Node) -> bool:
    """Whether the root ends with a fused or matrix-product finish (not a plain weighted sum)."""
    merges = schedule.merges[root]
    return schedule.outer is not None or bool(merges and merges[-1].kind == "pairs")


def _merge(merges: list[Merge], operands: list[torch.Tensor]) -> torch.Tensor:
    """Run a node's merges, appending each result to ``operands``; returns the last."""
    for m in merges:
        a, b = operands[m.a], operands[m.b]
        if m.kind == "outer":  # every row of a times every row of b
            operands.append(outer_merge(a, b))
        else:
            operands.append(PairMerge.apply(a, b, m.rows_a, m.rows_b, False))
    return operands[-1]


def _finish_root(
    merges: list[Merge],
    schedule: IndexSchedule,
    operands: list[torch.Tensor],
    weights: torch.Tensor | None,
) -> torch.Tensor:
    """The root's merges then its finish: the matrix-product finish, or the last merge fused
    with the weighted sum over channels (in chunks, or as a sampled matrix product)."""
    if schedule.outer is not None:
        _merge(merges, operands)
        a, b = (operands[i] for i in schedule.outer)
        return outer_finish(a, b, weights, schedule.output)
    *first, last = merges
    _merge(first, operands)
    a, b = operands[last.a], operands[last.b]
    if weights is not None:
        a = scale_channels(a, weights[..., 0])
    if last.pattern is not None and usable(a):
        return sampled_dot(a, b, last.pattern).unsqueeze(-1)
    return PairMerge.apply(a, b, last.rows_a, last.rows_b, True).unsqueeze(-1)


def evaluate_tree(
    rooted: RootedNetwork, schedule: TreeIndexSchedule, params: Sequence[torch.Tensor]
) -> torch.Tensor:
    """Entries at the schedule's batch: ``(E, B)`` from ensemble-first tensors ``params``."""
    tables: list[torch.Tensor] = []
    for t, spec in zip(rooted.order, schedule.rows):
        core = params[t.param].permute(t.perm)
        if spec is None:  # a leaf table: (d, E, bond), every row
            tables.append(core)
            continue
        kids = [tables[k].index_select(0, r) for k, r in zip(t.kids, spec)]
        if t.modes:  # gather the core at each distinct row's mode indices
            core = core[spec[len(t.kids) :]]
        tables.append(torch.einsum(t.equation, core, *kids))
    return tables[-1].index_select(0, schedule.output).T
