"""A cost-based evaluation planner for index batches: the order of the product pooling by data.

Vocabulary
----------
table
    A node's values at some rows, laid out (rows, E, channels), with one row id per sample.
    A leaf's table is its node matrix (rows = the mode's indices).
merge
    One product of two tables of the same node's pooling. ``"pairs"``: gather both tables at the
    *distinct* pairs of row ids that occur in the batch (memoization); its cost is the number of
    distinct sub-tuples it produces, the data's analogue of opt_einsum's intermediate size.
    ``"outer"``: every row of one table times every row of the other (a Khatri-Rao product,
    no gathers: densifying that part of the tensor).
finish
    How a node ends. Below the root: the channel matrix product on the pooled table. At the root:
    either the weighted sum over channels of the pooled table, or the *matrix-product finish*:
    the root's value at every pair of rows of two tables as one GEMM, then one gather per sample.

For each interior node the planner picks the merge order and kinds and the finish with the
smallest estimated cost: exact dynamic programming over child subsets up to
``exact_limit`` children (a Pareto frontier of (cost, rows) per subset), greedy above. The costs
are in units of one element of a broadcast multiply (forward and backward), measured on 2 CPU
cores (``bench/bench_evaluate.py``): a gathered pair costs about :data:`PAIRS` units per channel
(index_select forward, index_add backward), one multiply-add of a GEMM about :data:`GEMM`.
The plan depends on the batch only; it is built once and reused by every training step.
"""

from __future__ import annotations

from dataclasses import dataclass

import networkx as nx
import torch

from tnreg.models.gather import IndexPlan, Merge, distinct_rows
from tnreg.typing import Node

__all__ = ["GEMM", "OUTER", "PAIRS", "plan_evaluation"]

PAIRS = 4.0  # per row and channel: two gathers and a multiply (forward and backward)
OUTER = 1.0  # per row and channel: a broadcast multiply
GEMM = 0.03  # per multiply-add of a matrix product (forward and backward)
MAX_TABLE = 2**26  # largest table (rows x members x channels) an outer merge may build
_FRONTIER = 4


@dataclass(frozen=True)
class _State:
    """One way to build a table over a subset of a node's children."""

    cost: float
    rows: int
    recipe: tuple  # ("child", i) | (kind, left _State, right _State)


def plan_evaluation(
    tree: nx.DiGraph,
    schedule: list[tuple[Node, list[Node]]],
    indices: torch.Tensor,
    dims: tuple[int, ...],
    widths: dict[Node, int],
    *,
    members: int = 1,
    exact_limit: int = 8,
) -> IndexPlan:
    """Plan the evaluation of a validated (B, N) batch with the cheapest merges per node.

    ``schedule`` lists the interior nodes in postorder with their children (as in
    :func:`tnreg.models.gather.plan_indices`); ``widths`` gives every interior node's channel
    count. Returns an :class:`~tnreg.models.gather.IndexPlan` whose :meth:`cost_report` shows
    the choice.

    Examples
    --------
    >>> from tnreg import trees
    >>> tree = trees.star(4)
    >>> idx = torch.randint(0, 10, (2000, 4), generator=torch.Generator().manual_seed(0))
    >>> sched = [((0, 1, 2, 3), [0, 1, 2, 3])]
    >>> plan = plan_evaluation(tree, sched, idx, (10,) * 4, {(0, 1, 2, 3): 1000})
    >>> plan.outer is not None  # two Khatri-Rao halves and one matrix product at the root
    True
    """
    batch = int(indices.shape[0])
    ids: dict[Node, torch.Tensor] = {}
    sizes: dict[Node, int] = {}
    merges: dict[Node, list[Merge]] = {}
    lines: list[str] = []
    total = 0.0
    top = schedule[-1][0]
    outer = None
    output = indices.new_zeros(batch)
    for node, kids in schedule:
        for k in kids:
            if k not in ids:  # a leaf: its rows are the mode index
                mode = tree.nodes[k]["mode"]
                ids[k], sizes[k] = indices[:, mode], dims[mode]
        child_ids = [ids[k] for k in kids]
        child_rows = [sizes[k] for k in kids]
        width = widths[node]
        out_width = 0 if node == top else widths.get(_parent(tree, node), 1)
        search = _exact if len(kids) <= exact_limit else _greedy
        frontier, distinct = search(child_ids, child_rows, width, batch, members)
        best, finish, cost = _finish(
            frontier, distinct, width, out_width, batch, members, node == top
        )
        total += cost
        merges[node] = []
        emit = _Emitter(kids, child_ids, child_rows, merges[node])
        if finish is not None:  # the matrix-product finish at the root
            (sa, ia, na), (sb, ib, nb) = emit(finish[0]), emit(finish[1])
            outer, output = (sa, sb), ia * nb + ib
            lines.append(_line(node, search, merges[node], f"GEMM {na} x {nb} rows", cost))
            continue
        _, ids[node], sizes[node] = emit(best)
        end = "weighted sum" if node == top else f"matmul {width}->{out_width}"
        lines.append(_line(node, search, merges[node], f"{end} at {sizes[node]} rows", cost))
        if node == top:
            output = ids[node]
    report = _report(lines, total, batch, indices.shape[1], widths[top])
    return IndexPlan(merges=merges, output=output, outer=outer, indices=indices, report=report)


def _parent(tree: nx.DiGraph, node: Node) -> Node:
    return next(iter(tree.predecessors(node)))


# --------------------------------------------------------------------------- search


def _distinct_counts(child_ids, child_rows) -> list[int]:
    """Number of distinct sub-tuples for every subset (bitmask) of the children."""
    k = len(child_ids)
    counts = [0] * (1 << k)
    inverse: list[torch.Tensor | None] = [None] * (1 << k)
    for mask in range(1, 1 << k):
        high = mask.bit_length() - 1
        rest = mask ^ (1 << high)
        col, size = child_ids[high], child_rows[high]
        if rest == 0:
            inv, count = col, size
            if col.numel():
                uniq, inv = torch.unique(col, return_inverse=True)
                count = int(uniq.numel())
            else:
                count = 0
        else:
            key = inverse[rest] * size + col
            uniq, inv = torch.unique(key, return_inverse=True)
            count = int(uniq.numel())
        counts[mask], inverse[mask] = count, inv
    return counts


def _candidates(s1: _State, s2: _State, distinct: int, width: int, members: int) -> list[_State]:
    base = s1.cost + s2.cost
    out = [_State(base + PAIRS * distinct * width, distinct, ("pairs", s1, s2))]
    rows = s1.rows * s2.rows
    if rows * width * members <= MAX_TABLE:
        out.append(_State(base + OUTER * rows * width, rows, ("outer", s1, s2)))
    return out


def _prune(states: list[_State]) -> list[_State]:
    """The Pareto frontier of (cost, rows), cheapest first, at most ``_FRONTIER`` states."""
    keep: list[_State] = []
    for s in sorted(states, key=lambda s: (s.cost, s.rows)):
        if all(s.rows < t.rows for t in keep):
            keep.append(s)
    return keep[:_FRONTIER]


def _exact(child_ids, child_rows, width, batch, members):
    """Frontier of every subset by dynamic programming over splits; returns (table, counts)."""
    k = len(child_ids)
    counts = _distinct_counts(child_ids, child_rows)
    table: list[list[_State]] = [[] for _ in range(1 << k)]
    for i in range(k):
        table[1 << i] = [_State(0.0, child_rows[i], ("child", i))]
    for mask in range(1, 1 << k):
        if mask & (mask - 1) == 0:
            continue
        low = mask & -mask
        states: list[_State] = []
        sub = (mask - 1) & mask
        while sub:
            if sub & low:
                for s1 in table[sub]:
                    for s2 in table[mask ^ sub]:
                        states += _candidates(s1, s2, counts[mask], width, members)
            sub = (sub - 1) & mask
        table[mask] = _prune(states)
    return table, counts


def _greedy(child_ids, child_rows, width, batch, members):
    """Merge the cheapest pair of tables until two are left, then let the finish decide."""
    ops = [
        (_State(0.0, n, ("child", i)), ids, n)
        for i, (ids, n) in enumerate(zip(child_ids, child_rows))
    ]
    pair_cache: dict[tuple[int, int], tuple[int, torch.Tensor]] = {}

    def merged(i, j):
        key = (id(ops[i][1]), id(ops[j][1]))
        if key not in pair_cache:
            (_, ia, na), (_, ib, nb) = ops[i], ops[j]
            _, inv = distinct_rows([ia, ib], [max(na, 1), max(nb, 1)])
            pair_cache[key] = (int(inv.max()) + 1 if inv.numel() else 0, inv)
        return pair_cache[key]

    while len(ops) > 2:
        best = None
        for i in range(len(ops)):
            for j in range(i + 1, len(ops)):
                count, inv = merged(i, j)
                cand = min(
                    _candidates(ops[i][0], ops[j][0], count, width, members), key=lambda s: s.cost
                )
                if best is None or cand.cost < best[0].cost:
                    best = (cand, i, j, inv)
        state, i, j, inv = best
        (_, ia, _), (_, ib, nb) = ops[i], ops[j]
        new_ids = inv if state.recipe[0] == "pairs" else ia * nb + ib
        ops = [o for t, o in enumerate(ops) if t not in (i, j)] + [(state, new_ids, state.rows)]
    # a two-entry "table" in the layout of _exact: singletons and the full set
    table: dict = {1: [ops[0][0]]}
    if len(ops) == 1:
        return {"full": [ops[0][0]]}, None
    count, _ = merged(0, 1)
    full = _prune(_candidates(ops[0][0], ops[1][0], count, width, members))
    return {"full": full, "halves": (ops[0][0], ops[1][0]), **table}, None


def _finish(frontier, counts, width, out_width, batch, members, is_root):
    """The cheapest (state, GEMM halves or None, cost) for a node's full child set."""
    if isinstance(frontier, dict):
        full, splits = frontier["full"], [frontier["halves"]] if "halves" in frontier else []
        splits = [([a], [b]) for a, b in splits]
    else:
        mask = len(frontier) - 1
        full, splits = frontier[mask], []
        low = mask & -mask
        sub = (mask - 1) & mask
        while sub:
            if sub & low:
                splits.append((frontier[sub], frontier[mask ^ sub]))
            sub = (sub - 1) & mask
    per_row = OUTER * width if is_root else GEMM * width * out_width
    best = min(full, key=lambda s: s.cost + per_row * s.rows)
    choice = (best, None, best.cost + per_row * best.rows)
    if not is_root:
        return choice
    for lefts, rights in splits:
        for a in lefts:
            for b in rights:
                if a.rows * b.rows * members > MAX_TABLE:
                    continue
                cost = a.cost + b.cost + GEMM * a.rows * b.rows * width + OUTER * a.rows * width
                if cost < choice[2]:
                    choice = (None, (a, b), cost)
    return choice


# --------------------------------------------------------------------------- emitting merges


class _Emitter:
    """Turn a chosen recipe into :class:`Merge` s; returns (slot, row ids per sample, rows)."""

    def __init__(self, kids, child_ids, child_rows, out: list[Merge]) -> None:
        self.k, self.ids, self.rows, self.out = len(kids), child_ids, child_rows, out

    def __call__(self, state: _State) -> tuple[int, torch.Tensor, int]:
        kind = state.recipe[0]
        if kind == "child":
            i = state.recipe[1]
            return i, self.ids[i], self.rows[i]
        a, ia, na = self(state.recipe[1])
        b, ib, nb = self(state.recipe[2])
        slot = self.k + len(self.out)
        if kind == "outer":
            self.out.append(Merge(a, b, None, None, kind="outer", count=na * nb))
            return slot, ia * nb + ib, na * nb
        (ra, rb), inverse = distinct_rows([ia, ib], [max(na, 1), max(nb, 1)])
        self.out.append(Merge(a, b, ra, rb, count=int(ra.shape[0])))
        return slot, inverse, int(ra.shape[0])


def _line(node, search, merges, finish, cost) -> str:
    how = "dp" if search is _exact else "greedy"
    steps = ", ".join(f"{m.kind}({m.a},{m.b})->{m.count}" for m in merges) or "none"
    return f"  {node!r} [{how}]: {steps}; {finish}; cost {cost:.3g}"


def _report(lines, total, batch, order, width) -> tuple[str, ...]:
    per_sample = PAIRS / 2 * batch * order * width
    return (
        f"IndexPlan: batch {batch}, estimated cost {total:.4g} units "
        f"(per-sample gather about {per_sample:.4g})",
        *lines,
    )
