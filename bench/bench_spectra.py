"""Benchmark: node spectra from Gramians against densify + SVD per node (the papers' method).

Vocabulary: the *node spectra* of a hierarchical tensor factorization are the singular values of
the matricization [W]_I of its end tensor W for every non-root node's mode set I; *Gramians*
(:mod:`tnreg.analysis.gramians`) get them from the node matrices in O(Σ R³); *densify + SVD*
builds W (Π d_n entries) and runs ``torch.linalg.svdvals`` on each node's matricization.

Run ``python bench/bench_spectra.py`` (or ``python bench/run.py bench_spectra.py``); prints
markdown. Times are medians of several repeats, both methods in the same process, float64,
N(0, 1) node matrices (scale is irrelevant: Gramians are normalized per node). Peak memory is
measured in a fresh subprocess per case: the peak resident set ``VmHWM`` of
``/proc/self/status`` (reset just before the call by writing 5 to ``/proc/self/clear_refs``)
minus the resident set just before the call, so imports and inputs are not counted.
"""

from __future__ import annotations

import json
import math
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run from a checkout
import torch

from tnreg import trees
from tnreg.analysis.spectra import dense_spectrum, node_scaled_spectra, node_spectra


def random_matrices(tree, d: int, width: int, *, seed: int) -> dict:
    """N(0, 1) node matrices (1, rows, cols), float64; root (1, width, 1)."""
    gen = torch.Generator().manual_seed(seed)
    top = trees.root(tree)
    rows = {v: d if tree.out_degree(v) == 0 else width for v in tree}
    return {
        v: torch.randn(
            1, rows[v], 1 if v == top else rows[trees.parent(tree, v)], generator=gen
        ).double()
        for v in tree
    }


def densify(tree, mats) -> torch.Tensor:
    """W (1, d, ..., d) by the defining recursion (outer products, then the node matrix)."""
    n = trees.order(tree)
    built: dict = {}
    for v in trees.postorder(tree):
        kids = trees.children(tree, v)
        if not kids:
            built[v] = (mats[v][0], [tree.nodes[v]["mode"]])
            continue
        args: list = []
        for c in kids:
            args += [built[c][0], [*built[c][1], n]]
        modes = sorted(m for c in kids for m in built.pop(c)[1])
        built[v] = (torch.einsum(*args, mats[v][0], [n, n + 1], [*modes, n + 1]), modes)
    return built[trees.root(tree)][0][None, ..., 0]


def dense_node_spectra(tree, mats) -> dict:
    w = densify(tree, mats)
    return {v: dense_spectrum(w, list(m)) for v, m in trees.node_mode_sets(tree).items()}


def median_time(fn, repeats: int) -> float:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def rss_bytes() -> int:
    pages = int(Path("/proc/self/statm").read_text().split()[1])
    return pages * resource.getpagesize()


def peak_rss_bytes() -> int:
    status = Path("/proc/self/status").read_text().splitlines()
    return 1024 * int(next(ln.split()[1] for ln in status if ln.startswith("VmHWM:")))


def child(case: str) -> None:
    """Run one case in this (fresh) process; print JSON with seconds and peak RSS delta."""
    n, d, width, method = json.loads(case)
    tree = trees.balanced(n)
    mats = random_matrices(tree, d, width, seed=0)
    fn = {"gram": node_spectra, "dense": dense_node_spectra}[method]
    fn(tree, mats)  # warm-up (lazy initialization of torch linalg)
    Path("/proc/self/clear_refs").write_text("5")  # reset the peak to the current RSS
    base = rss_bytes()
    start = time.perf_counter()
    fn(tree, mats)
    seconds = time.perf_counter() - start
    peak = peak_rss_bytes()
    print(json.dumps({"seconds": seconds, "peak_mb": max(peak - base, 0) / 2**20}))


def peak_memory(n: int, d: int, width: int, method: str) -> float:
    case = json.dumps([n, d, width, method])
    out = subprocess.run(
        [sys.executable, __file__, "--child", case], capture_output=True, text=True, check=True
    )
    return json.loads(out.stdout)["peak_mb"]


def compare_dense(n: int, d: int, width: int) -> str:
    tree = trees.balanced(n)
    mats = random_matrices(tree, d, width, seed=0)
    gram, dense = node_spectra(tree, mats), dense_node_spectra(tree, mats)
    diff = max(
        ((gram[v] - dense[v][:, : gram[v].shape[1]]).abs().max() / dense[v].max()).item()
        for v in gram
    )
    t_gram = median_time(lambda: node_spectra(tree, mats), 7)
    t_dense = median_time(lambda: dense_node_spectra(tree, mats), 3)
    mem_gram, mem_dense = peak_memory(n, d, width, "gram"), peak_memory(n, d, width, "dense")
    return (
        f"| order {n}, d={d}, binary, widths {width} ({d**n:.3g} entries) | {len(gram)} | "
        f"{t_gram * 1e3:.1f} ms / {mem_gram:.1f} MB | {t_dense:.2f} s / {mem_dense:.0f} MB | "
        f"{t_dense / t_gram:.0f}x | {diff:.1e} |"
    )


def gram_only(n: int, d: int, width: int, repeats: int) -> str:
    tree = trees.balanced(n)
    mats = random_matrices(tree, d, width, seed=0)
    spectra = node_scaled_spectra(tree, mats)
    ok = all(
        torch.isfinite(s.log_max).all() and not s.relative.isnan().any() for s in spectra.values()
    )
    t_gram = median_time(lambda: node_spectra(tree, mats), repeats)
    mem = peak_memory(n, d, width, "gram")
    size = f"2^{n * math.log2(d):.0f}"
    return (
        f"| order {n}, d={d}, binary, widths {width} ({size} entries) | {len(spectra)} | "
        f"{t_gram * 1e3:.1f} ms / {mem:.1f} MB | — | — | no NaN, log σ_max finite: {ok} |"
    )


def sync(device: str) -> None:
    if device.startswith("cuda"):
        torch.cuda.synchronize()


def level_sweep(devices: list[str], orders: list[int], repeats: int, out: str | None) -> None:
    """All node spectra of balanced trees, d=2, widths 8, per device: ``node_spectra`` (plain
    values) and ``node_scaled_spectra`` (σ/σ_max and log σ_max), from (tree, matrices).

    The Gramians and eigensolves are level-batched: about one batched step per tree
    level and shape. Includes validation (``resolve``) and the host-side bookkeeping.
    """
    fns = {"node_spectra": node_spectra, "scaled": node_scaled_spectra}
    lines = [
        f"### Node spectra, level-batched: all nodes, d=2, widths 8, float64, E=1 "
        f"(torch {torch.__version__}, {torch.get_num_threads()} CPU threads; median of "
        f"{repeats})\n",
        "| order | nodes | " + " | ".join(f"{d} {f} (ms)" for d in devices for f in fns) + " |",
        "|---|---|" + "---|" * (len(devices) * len(fns)),
    ]
    for n in orders:
        tree = trees.balanced(n)
        cells = []
        for device in devices:
            mats = {v: m.to(device) for v, m in random_matrices(tree, 2, 8, seed=0).items()}
            for fn in fns.values():

                def run(mats=mats, device=device, tree=tree, fn=fn):
                    fn(tree, mats)
                    sync(device)

                run()
                cells.append(f"{median_time(run, repeats) * 1e3:.1f}")
        lines.append(f"| {n} | {2 * n - 2} | " + " | ".join(cells) + " |")
        print(lines[-1], flush=True)
    text = "\n".join(lines) + "\n"
    print(text)
    if out:
        Path(out).write_text(text)


def main() -> None:
    import argparse

    parser = argparse.ArgumentParser(description="node spectra benchmarks")
    parser.add_argument("--sweep", action="store_true", help="only the level-batched sweep")
    parser.add_argument("--devices", default="cpu", help="comma-separated, e.g. cpu,cuda")
    parser.add_argument("--orders", default="64,256,1024,4096")
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--threads", type=int, default=None)
    parser.add_argument("--out", default=None)
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    if args.sweep:
        orders = [int(x) for x in args.orders.split(",")]
        level_sweep(args.devices.split(","), orders, args.repeats, args.out)
        return
    print("### Node spectra: Gramians vs densify + SVD per node\n")
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads, float64, E=1\n")
    print(
        "| case | nodes | Gramians (time / peak RSS) | densify + SVD (time / peak RSS) "
        "| speed-up | max abs diff / σ_max |"
    )
    print("|---|---|---|---|---|---|")
    print(compare_dense(12, 4, 16), flush=True)
    print(gram_only(64, 2, 16, 7), flush=True)
    print(gram_only(1024, 2, 8, 3), flush=True)


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "--child":
        child(sys.argv[2])
    else:
        main()
