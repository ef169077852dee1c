"""Benchmark: plan time and planned FLOPs of tnreg's default chooser against other optimizers.

Vocabulary: a *batched tree forward pass* is the hierarchical tensor factorization evaluated at a
batch of B entries (leaf factors (b, r_parent) share the batch hyperedge b, which stays in the
output; interior matrices (r_nu, r_parent); root vector (r_root,)); a *Gram network* is the
unbatched tree network joined to a copy of itself on its open mode indices; a *grid* is a PEPS-like
L x L lattice with bond dimension chi (single layer closed, or a norm <psi|psi> with physical d).

Run ``python bench/bench_planner.py`` (or ``python bench/run.py``); prints markdown tables. Each
optimizer runs 3 times: plan seconds is the median, FLOPs the worst of the 3 (random optimizers
vary), ratio is to the best FLOPs any optimizer found in any run (including a 5 s cotengra
reference). "dp" is skipped above its refusal limit (30 operands,
``paths.EXHAUSTIVE_MAX_OPERANDS``).
"""

from __future__ import annotations

import argparse
import itertools
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run from a checkout
from tnreg import paths
from tnreg.contract import _cached_plan, _normalize

Net = tuple[tuple[tuple, ...], tuple, dict]


def _split(leaves: list[int]) -> int | tuple:
    if len(leaves) == 1:
        return leaves[0]
    h = len(leaves) // 2
    return (_split(leaves[:h]), _split(leaves[h:]))


def tree_edges(n: int) -> list[tuple[int, int | None]]:
    """(node, parent) pairs of a balanced binary tree; leaves are 0..n-1, the root's parent None."""
    counter = itertools.count(n)
    out: list[tuple[int, int | None]] = []

    def rec(sub: int | tuple, parent: int | None) -> None:
        if isinstance(sub, int):
            out.append((sub, parent))
            return
        me = next(counter)
        out.append((me, parent))
        for c in sub:
            rec(c, me)

    rec(_split(list(range(n))), None)
    return out


def batched_tree(n: int, batch: int, rank: int) -> Net:
    """Batched forward pass of a binary-tree HTF with ``n`` leaves (2n-1 tensors)."""
    inputs, sizes = [], {"b": batch}
    for node, par in tree_edges(n):
        if par is None:
            inputs.append((("r", node),))
        elif node < n:
            inputs.append(("b", ("r", par)))
        else:
            inputs.append((("r", node), ("r", par)))
        if node >= n:
            sizes[("r", node)] = rank
    return tuple(inputs), ("b",), sizes


def tree_gram(n: int, dim: int, rank: int, open_modes: int = 0) -> Net:
    """Gram network <W, W> of a binary-tree HTF; the first ``open_modes`` modes stay open."""
    inputs, sizes = [], {}
    for copy in (0, 1):
        for node, par in tree_edges(n):
            if par is None:
                inputs.append((("r", copy, node),))
            elif node < n:
                lab = ("i", node) if node >= open_modes else ("i", copy, node)
                inputs.append((lab, ("r", copy, par)))
                sizes[lab] = dim
            else:
                inputs.append((("r", copy, node), ("r", copy, par)))
            if node >= n:
                sizes[("r", copy, node)] = rank
    out = tuple(("i", c, m) for c in (0, 1) for m in range(open_modes))
    return tuple(inputs), out, sizes


def grid(size: int, chi: int, phys: int | None = None) -> Net:
    """L x L grid, closed single layer; with ``phys`` the norm network (two layers)."""
    layers = (0, 1) if phys else (0,)
    inputs, sizes = [], {}
    for lay, i, j in itertools.product(layers, range(size), range(size)):
        ix = []
        for nb in ((i - 1, j), (i + 1, j), (i, j - 1), (i, j + 1)):
            if 0 <= nb[0] < size and 0 <= nb[1] < size:
                e = ("e", lay, min((i, j), nb), max((i, j), nb))
                ix.append(e)
                sizes[e] = chi
        if phys:
            ix.append(("p", i, j))
            sizes[("p", i, j)] = phys
        inputs.append(tuple(ix))
    return tuple(inputs), (), sizes


NETWORKS: dict[str, Callable[[], Net]] = {
    "batched tree, 11 tensors (B=2048, R=64)": lambda: batched_tree(6, 2048, 64),
    "batched tree, 41 tensors (B=2048, R=64)": lambda: batched_tree(21, 2048, 64),
    "batched tree, 101 tensors (B=2048, R=64)": lambda: batched_tree(51, 2048, 64),
    "batched tree, 101 tensors (B=2048, R=512)": lambda: batched_tree(51, 2048, 512),
    "batched tree, 11 tensors (B=256, R=16)": lambda: batched_tree(6, 256, 16),
    "batched tree, 41 tensors (B=256, R=16)": lambda: batched_tree(21, 256, 16),
    "batched tree, 101 tensors (B=256, R=16)": lambda: batched_tree(51, 256, 16),
    "Gram of tree, 30 tensors, 2 modes open (d=16, R=64)": lambda: tree_gram(8, 16, 64, 2),
    "Gram of tree, 82 tensors (d=16, R=64)": lambda: tree_gram(21, 16, 64),
    "grid norm 5x5, 50 tensors (chi=4, d=2)": lambda: grid(5, 4, 2),
    "grid 10x10 closed, 100 tensors (chi=4)": lambda: grid(10, 4),
}

OPTIMIZERS = ("auto", "greedy", "dp", "auto-hq", "oe-auto", "cotengra")
DP_MAX = paths.EXHAUSTIVE_MAX_OPERANDS["dp"]


def _equation(net: Net) -> tuple[str, list[tuple[int, ...]]]:
    inputs, output, size_items = _normalize(net, ())
    p = _cached_plan(inputs, output, size_items, "greedy", None)  # only for eq and shapes
    return p.eq, [tuple(p.size_dict[ix] for ix in t) for t in inputs]


def _measure(eq: str, shapes: list, optimize: str, repeats: int) -> tuple[float, int, str]:
    times, flops, used = [], [], ""
    for _ in range(repeats):
        start = time.perf_counter()
        _, info, used = paths.find_path(eq, shapes, optimize=optimize, memory_limit=None)
        times.append(time.perf_counter() - start)
        flops.append(int(info.opt_cost))
    return statistics.median(times), max(flops), used


def _reference(eq: str, shapes: list) -> int:
    opt = paths.cotengra_optimizer(max_time=5.0, max_repeats=4096)
    return int(paths._run(eq, shapes, opt, None)[1].opt_cost)


def bench_network(name: str, net: Net, repeats: int = 3) -> tuple[str, bool]:
    """Return the markdown table for one network and whether "auto" met the goal."""
    eq, shapes = _equation(net)
    rows = []
    for opt in OPTIMIZERS:
        if opt == "dp" and len(shapes) > DP_MAX:
            rows.append((opt, None, None, "skipped (> 30 operands: refused)"))
            continue
        secs, flops, used = _measure(eq, shapes, opt, repeats)
        rows.append((opt, secs, flops, used))
    best = min(
        [f for _, _, f, _ in rows if f] + ([_reference(eq, shapes)] if paths.has_cotengra() else [])
    )
    lines = [
        f"### {name}",
        "",
        "| optimizer | plan s (median of 3) | FLOPs (worst of 3) | ratio to best | chosen |",
        "|---|---|---|---|---|",
    ]
    ok = True
    for opt, secs, flops, used in rows:
        if flops is None:
            lines.append(f"| {opt} | – | – | – | {used} |")
            continue
        ratio = flops / best
        if opt == "auto":
            ok = ratio <= 1.1 and secs <= 2.0
        lines.append(f"| {opt} | {secs:.4f} | {flops:.3e} | {ratio:.2f} | {used} |")
    return "\n".join(
        [*lines, "", f"best FLOPs: {best:.3e}; auto meets goal: {'yes' if ok else 'NO'}", ""]
    ), ok


def main(argv: list[str] | None = None) -> None:
    """Print one markdown table per network (``--only SUBSTRING`` to filter)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", default="", help="run networks whose name contains this")
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args(argv)
    print("## Planner\n")
    verdicts = []
    for name, build in NETWORKS.items():
        if args.only in name:
            table, ok = bench_network(name, build(), args.repeats)
            verdicts.append(ok)
            print(table, flush=True)
    print(
        f"auto meets goal (<= 1.1x best FLOPs, <= 2 s) on {sum(verdicts)}/{len(verdicts)} networks"
    )


if __name__ == "__main__":
    main()
