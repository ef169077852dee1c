"""A reference index schedule for product pooling: balanced pairwise merges by child count.

Independent of the cost-based planner (:mod:`tnreg.models.engine.planner`), it serves tests as
a second schedule of the same batch (both must give the same entries) and ``bench/`` as a
baseline. A product-pooling model runs the result: ``model(schedule)``.
"""

from __future__ import annotations

import networkx as nx
import torch

from tnreg.models.engine import IndexSchedule, Merge, distinct_rows
from tnreg.typing import Node

__all__ = ["balanced_schedule"]


def balanced_schedule(
    tree: nx.DiGraph,
    pooling: list[tuple[Node, list[Node]]],
    indices: torch.Tensor,
    dims: tuple[int, ...],
    *,
    outer_ratio: float = 32.0,
) -> IndexSchedule:
    """Schedule the memoized evaluation of a validated batch, bottom-up, merges balanced.

    ``pooling`` lists the interior nodes in postorder with their children; leaves are read from
    ``tree.nodes[leaf]["mode"]`` (a leaf's table has ``dims[mode]`` rows). The root's last merge
    becomes one matrix product over all pairs of rows when there are at most ``outer_ratio``
    times as many pairs as samples.
    """
    ids: dict[Node, torch.Tensor] = {}
    sizes: dict[Node, int] = {}
    merges: dict[Node, list[Merge]] = {}
    top = pooling[-1][0]
    outer = None
    for node, kids in pooling:
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
    lines = [f"IndexSchedule: batch {indices.shape[0]}, balanced pairwise merges"]
    for node, steps in merges.items():
        done = ", ".join(f"{m.kind}({m.a},{m.b})->{m.rows}" for m in steps) or "none"
        lines.append(f"  {node!r}: {done}")
    return IndexSchedule(
        merges=merges, output=ids[top], outer=outer, indices=indices, report=tuple(lines)
    )
