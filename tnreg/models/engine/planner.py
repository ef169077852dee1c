"""The cost-based planner of index schedules: the order of the product pooling by data.

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
    the weighted sum over channels of the pooled table; the *matrix-product finish*: the root's
    value at every pair of rows of two tables as one GEMM, then one gather per sample; or, on
    the CPU, the *sampled finish*: the root's value only at the distinct pairs of rows that
    occur, as a sampled matrix product (sparse kernels, :mod:`tnreg.models.engine.sampled`).

For each interior node the planner picks the merge order and kinds and the finish with the
smallest estimated cost: exact dynamic programming over child subsets up to
``exact_limit`` children (a Pareto frontier of (cost, rows) per subset), greedy above (the
cheapest merge first). Costs are in units of one element of a broadcast multiply, forward and
backward; the constants were fitted on a 2-core CPU with ``bench/bench_evaluate.py``
(``BENCHMARKS.md``): a gathered pair costs about :data:`PAIRS` units per channel
(index_select forward, index_add backward), a multiply-add of a GEMM about :data:`GEMM`, more
for skinny ones (:data:`SKINNY`), a pair and channel of the sampled finish :data:`SAMPLED`.
The schedule depends on the batch only; it is built once and reused by every training step.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import networkx as nx
import torch

from tnreg.models.engine.rows import distinct_rows
from tnreg.models.engine.sampled import Pattern
from tnreg.models.engine.schedules import IndexSchedule, Merge
from tnreg.trees import node_names
from tnreg.typing import Node

__all__ = ["GEMM", "OUTER", "PAIRS", "SAMPLED", "schedule_evaluation"]

PAIRS = 1.25  # per row and channel: two gathers and a multiply (forward and backward)
SAMPLED = 0.45  # per distinct pair and channel of the root's sampled matrix product (CPU)
OUTER = 1.0  # per row and channel: a broadcast multiply
GEMM = 0.05  # per multiply-add of a matrix product (forward and backward)
SKINNY = 32.0  # a GEMM with m rows costs (1 + SKINNY / m) times more per multiply-add
INCUMBENT = 1.15  # the balanced pairing wins unless the optimum is estimated this much cheaper
MAX_TABLE = 2**26  # largest table (rows x members x channels) an outer merge may build
_FRONTIER = 4


@dataclass(frozen=True)
class _State:
    """One way to build a table over a subset of a node's children."""

    cost: float
    rows: int
    recipe: tuple  # ("child", i) | (kind, left _State, right _State)


def schedule_evaluation(
    tree: nx.DiGraph,
    pooling: list[tuple[Node, list[Node]]],
    indices: torch.Tensor,
    dims: tuple[int, ...],
    widths: dict[Node, int],
    *,
    members: int = 1,
    exact_limit: int = 8,
) -> IndexSchedule:
    """Schedule the evaluation of a validated (B, N) batch with the cheapest merges per node.

    ``pooling`` lists the interior nodes in postorder with their children; ``widths`` gives
    every interior node's channel count. Returns an
    :class:`~tnreg.models.engine.schedules.IndexSchedule` whose ``cost_report()`` shows the
    choice.

    Examples
    --------
    >>> from tnreg import trees
    >>> tree = trees.star(4)
    >>> idx = torch.randint(0, 10, (2000, 4), generator=torch.Generator().manual_seed(0))
    >>> pooling = [((0, 1, 2, 3), [0, 1, 2, 3])]
    >>> schedule = schedule_evaluation(tree, pooling, idx, (10,) * 4, {(0, 1, 2, 3): 1000})
    >>> schedule.outer is not None  # two Khatri-Rao halves and one matrix product at the root
    True
    """
    batch = int(indices.shape[0])
    top = pooling[-1][0]
    tables: dict[Node, tuple[torch.Tensor, int]] = {}  # node -> (row id per sample, rows)
    for leaf in tree:
        if tree.out_degree(leaf) == 0:
            mode = tree.nodes[leaf]["mode"]
            tables[leaf] = (indices[:, mode], dims[mode])
    merges: dict[Node, list[Merge]] = {}
    lines, total = [], 0.0
    outer, output = None, indices.new_zeros(batch)
    sampled = indices.device.type == "cpu"  # sparse kernels for the root's last merge
    names = node_names(tree)  # "0-3", as in rank reports and metric columns
    for node, kids in pooling:
        out_width = 0 if node == top else widths[next(iter(tree.predecessors(node)))]
        search = _exact if len(kids) <= exact_limit else _greedy
        child_ids = [tables[k][0] for k in kids]
        child_rows = [tables[k][1] for k in kids]
        width, at_root = widths[node], node == top
        choices = [
            (_finish(full, splits, pairs, width, out_width, members, at_root, sampled), w, how)
            for full, splits, pairs, w, how in search(child_ids, child_rows, width, members)
        ]
        (best, halves, cost), _, how = min(choices, key=lambda c: c[0][2] * c[1])
        total += cost
        merges[node] = []
        emit = _Emitter(len(kids), child_ids, child_rows, merges[node])
        if halves is not None:  # the matrix-product finish at the root
            (sa, ia, na), (sb, ib, nb) = emit(halves[0]), emit(halves[1])
            outer, output = (sa, sb), ia * nb + ib
            end = f"GEMM {na} x {nb} rows"
        else:
            _, ids, rows = emit(best)
            tables[node] = (ids, rows)
            output = ids
            end = "weighted sum" if at_root else f"matmul {width}->{out_width}"
            end += f" at {rows} rows"
            if at_root and sampled and merges[node] and merges[node][-1].kind == "pairs":
                merges[node][-1] = emit.sampled(merges[node][-1])
                end = f"sampled matrix product at {rows} pairs"
        lines.append(_line(names[node], how, merges[node], end, cost))
    report = _report(lines, total, batch, indices.shape[1], widths[top])
    return IndexSchedule(merges=merges, output=output, outer=outer, indices=indices, report=report)


# --------------------------------------------------------------------------- search


def _distinct_counts(child_ids, child_rows) -> list[int]:
    """Number of distinct sub-tuples for every subset (bitmask) of the children.

    Each subset's distinct rows are numbered from those of the subset without its highest
    child, so the int64 keys stay below ``batch * rows`` (no overflow at any order).
    """
    k = len(child_ids)
    counts = [0] * (1 << k)
    inverse: list[torch.Tensor] = [child_ids[0]] * (1 << k)
    for mask in range(1, 1 << k):
        high = mask.bit_length() - 1
        rest = mask ^ (1 << high)
        key = child_ids[high] if rest == 0 else inverse[rest] * child_rows[high] + child_ids[high]
        uniq, inverse[mask] = torch.unique(key, return_inverse=True)
        counts[mask] = int(uniq.numel())
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


def _exact(child_ids, child_rows, width, members):
    """Dynamic programming over child subsets: (full-set frontier, splits of the full set)."""
    k = len(child_ids)
    counts = _distinct_counts(child_ids, child_rows)
    table: list[list[_State]] = [[] for _ in range(1 << k)]
    for i in range(k):
        table[1 << i] = [_State(0.0, child_rows[i], ("child", i))]
    for mask in range(1, 1 << k):
        if mask & (mask - 1):
            states = []
            for sub in _splits(mask):
                for s1 in table[sub]:
                    for s2 in table[mask ^ sub]:
                        states += _candidates(s1, s2, counts[mask], width, members)
            table[mask] = _prune(states)
    full = (1 << k) - 1
    splits = [(table[sub], table[full ^ sub]) for sub in _splits(full)]
    best = (table[full], splits, counts[full], 1.0, "dp")
    return [best, _balanced(k, counts, child_rows, width, members)]


def _balanced(k, counts, child_rows, width, members):
    """The balanced pairing by child count, the cheaper kind per merge.

    Offered next to the optimum with its cost discounted by :data:`INCUMBENT`: the estimates
    are rough, and the balanced order is a good default.
    """
    ops = [(1 << i, _State(0.0, child_rows[i], ("child", i))) for i in range(k)]
    while len(ops) > 2:
        nxt = []
        for (ma, a), (mb, b) in zip(ops[::2], ops[1::2]):
            cands = _candidates(a, b, counts[ma | mb], width, members)
            nxt.append((ma | mb, min(cands, key=lambda s: s.cost)))
        ops = nxt + ops[len(ops) - len(ops) % 2 :]
    if len(ops) == 1:
        return [ops[0][1]], [], ops[0][1].rows, 1.0 / INCUMBENT, "balanced"
    (ma, a), (mb, b) = ops
    full = _prune(_candidates(a, b, counts[ma | mb], width, members))
    return full, [([a], [b])], counts[ma | mb], 1.0 / INCUMBENT, "balanced"


def _splits(mask: int) -> list[int]:
    """Proper submasks of ``mask`` that hold its lowest bit (each split once)."""
    low, out = mask & -mask, []
    sub = (mask - 1) & mask
    while sub:
        if sub & low:
            out.append(sub)
        sub = (sub - 1) & mask
    return out


def _greedy(child_ids, child_rows, width, members):
    """Merge the pair of tables with the cheapest merge until two are left; the finish decides
    the last. Operands are ``(serial, state, row ids)``; distinct counts are cached by serial.
    """
    ops = [
        (i, _State(0.0, n, ("child", i)), ids)
        for i, (ids, n) in enumerate(zip(child_ids, child_rows))
    ]
    serial = len(ops)
    cache: dict[tuple[int, int], tuple[int, torch.Tensor]] = {}

    def merged(x, y):
        if (x[0], y[0]) not in cache:
            (ra, _), inv = distinct_rows([x[2], y[2]], [max(x[1].rows, 1), max(y[1].rows, 1)])
            cache[x[0], y[0]] = (int(ra.shape[0]), inv)
        return cache[x[0], y[0]]

    while len(ops) > 2:
        best = None
        for i in range(len(ops)):
            for j in range(i + 1, len(ops)):
                count, inv = merged(ops[i], ops[j])
                base = ops[i][1].cost + ops[j][1].cost
                cands = _candidates(ops[i][1], ops[j][1], count, width, members)
                cand = min(cands, key=lambda s: s.cost)
                if best is None or cand.cost - base < best[0]:
                    best = (cand.cost - base, cand, i, j, inv)
        _, state, i, j, inv = best
        ia, (_, sb, ib) = ops[i][2], ops[j]
        new_ids = inv if state.recipe[0] == "pairs" else ia * sb.rows + ib
        ops = [o for t, o in enumerate(ops) if t not in (i, j)] + [(serial, state, new_ids)]
        serial += 1
    if len(ops) == 1:
        return [([ops[0][1]], [], ops[0][1].rows, 1.0, "greedy")]
    count, _ = merged(ops[0], ops[1])
    full = _prune(_candidates(ops[0][1], ops[1][1], count, width, members))
    return [(full, [([ops[0][1]], [ops[1][1]])], count, 1.0, "greedy")]


def _gemm_cost(m: int, n: int, k: int) -> float:
    """A GEMM of (m, k) by (k, n), forward and backward; skinny ones run below peak."""
    return GEMM * m * n * k * (1.0 + SKINNY / max(min(m, n), 1))


def _finish(full, splits, pairs, width, out_width, members, is_root, sampled):
    """The cheapest (state, GEMM halves or None, cost) for a node's full child set of
    ``pairs`` distinct sub-tuples. ``sampled``: the root may end with the sampled matrix
    product of two tables (:mod:`tnreg.models.engine.sampled`, CPU)."""
    per_row = OUTER * width if is_root else GEMM * width * out_width
    best = min(full, key=lambda s: s.cost + per_row * s.rows)
    choice = (best, None, best.cost + per_row * best.rows)
    if not is_root:
        return choice
    for lefts, rights in splits:
        for a in lefts:
            for b in rights:
                cost = a.cost + b.cost + SAMPLED * pairs * width
                if sampled and cost < choice[2]:
                    choice = (_State(cost, pairs, ("pairs", a, b)), None, cost)
                if a.rows * b.rows * members > MAX_TABLE:
                    continue
                gemm = _gemm_cost(a.rows, b.rows, width)
                cost = a.cost + b.cost + gemm + OUTER * min(a.rows, b.rows) * width
                if cost < choice[2]:
                    choice = (None, (a, b), cost)
    return choice


# --------------------------------------------------------------------------- emitting merges


class _Emitter:
    """Turn a chosen recipe into :class:`Merge` s; returns (slot, row ids per sample, rows)."""

    def __init__(self, k: int, child_ids, child_rows, out: list[Merge]) -> None:
        self.k, self.ids, self.rows, self.out = k, child_ids, child_rows, out

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
        self.out.append(Merge(a, b, ra, rb, count=int(ra.shape[0]), rows_ab=(na, nb)))
        return slot, inverse, int(ra.shape[0])

    @staticmethod
    def sampled(merge: Merge) -> Merge:
        """The root's last pairs merge, to be run as a sampled matrix product."""
        pattern = Pattern.from_rows(merge.rows_a, merge.rows_b, *merge.rows_ab)
        return replace(merge, pattern=pattern)


def _line(name, how, merges, finish, cost) -> str:
    steps = ", ".join(f"{m.kind}({m.a},{m.b})->{m.count}" for m in merges) or "none"
    return f"  {name} [{how}]: {steps}; {finish}; cost {cost:.3g}"


def _report(lines, total, batch, order, width) -> tuple[str, ...]:
    gathers = PAIRS / 2 * batch * order * width
    return (
        f"IndexSchedule: batch {batch}, estimated cost {total:.4g} units "
        f"(gathering every leaf row per sample alone: {gathers:.4g})",
        *lines,
    )
