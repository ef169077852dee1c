"""Benchmark: data entanglement at every node by the Gram sweep, against the paper's dense route.

Vocabulary: the *sweep* (:func:`tnreg.entanglement.data_entanglement`) builds every node's Gram
matrix G_I bottom-up by Hadamard products and its complement G_{I^c} top-down, then solves one
symmetric eigenvalue problem per node; the *dense route* (the paper's method) builds G_I and
G_{I^c} of one node from all N features (Π of cosines over M × M × N entries) and takes the
eigenvalues of D G_{I^c} D G_I (a nonsymmetric M × M problem, ``numpy.linalg.eigvals``).

Run ``python bench/bench_entanglement.py [--quick]`` (or ``python bench/run.py
bench_entanglement.py``); prints markdown. Inputs: uniform random x ∈ [0, 1]^(M × N), random ±1
labels, θ = 0.085, the balanced binary tree (2N − 2 non-root nodes), float64, one thread per
process (``torch.set_num_threads(1)``, ``OMP_NUM_THREADS=1`` recommended). Times are medians of
repeats, in wall-clock and in CPU time of the process (the machine is shared: CPU time is what
an idle core would take). The per-node sweep cost is the full sweep's CPU time divided by its
number of nodes; the dense route is timed on a few nodes of different sizes (same M samples).
"""

from __future__ import annotations

import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run from a checkout
import numpy as np
import torch

from tnreg import trees
from tnreg.entanglement.measure import data_entanglement, entropy


def dense_route(x: np.ndarray, y: np.ndarray, modes: list[int], theta: float) -> float:
    """The paper's method for one node: G_I, G_{I^c} from scratch, nonsymmetric eigenvalues."""
    m, n = x.shape
    inside = np.zeros(n, dtype=bool)
    inside[modes] = True
    g_in, g_out = np.ones((m, m)), np.ones((m, m))
    for f in range(n):  # one feature at a time: M × M memory
        g = np.cos(np.pi * theta * (x[:, None, f] - x[None, :, f]))
        if inside[f]:
            g_in *= g
        else:
            g_out *= g
    lam = np.linalg.eigvals((y[:, None] * g_out * y[None, :]) @ g_in).real
    return entropy(np.clip(lam, 0, None))


def _median_time(fn, repeats: int) -> tuple[float, float, object]:
    """Median wall time, median CPU time of this process (one thread), and the last result."""
    walls, cpus, out = [], [], None
    for _ in range(repeats):
        start, cpu = time.perf_counter(), time.process_time()
        out = fn()
        walls.append(time.perf_counter() - start)
        cpus.append(time.process_time() - cpu)
    return statistics.median(walls), statistics.median(cpus), out


def main(quick: bool = False) -> None:
    torch.set_num_threads(1)
    n, m, repeats = (64, 128, 1) if quick else (256, 512, 3)
    rng = np.random.default_rng(0)
    x, y = rng.random((m, n)), rng.choice([-1.0, 1.0], size=m)
    tree = trees.balanced(n)
    wall, cpu, report = _median_time(lambda: data_entanglement(x, y, tree, max_samples=m), repeats)
    nodes = len(report.rows)
    print(f"## data entanglement, N = {n} features, M = {m} samples, balanced tree\n")
    print(f"all {nodes} nodes by the sweep, median of {repeats}: {wall:.2f} s wall, "
          f"{cpu:.2f} s CPU ({1e3 * cpu / nodes:.2f} ms CPU per node)\n")  # fmt: skip
    print("| node size | dense route, CPU s | sweep per node, CPU s | ratio | abs. entropy diff. |")
    print("|---:|---:|---:|---:|---:|")
    by_size = {len(r.modes): r for r in report.rows}
    for size in sorted(by_size)[:: max(1, len(by_size) // 3)]:
        row = by_size[size]
        _, t, h = _median_time(lambda r=row: dense_route(x, y, list(r.modes), 0.085), repeats)
        print(f"| {size} | {t:.3f} | {cpu / nodes:.4f} | {t * nodes / cpu:.0f}x | "
              f"{abs(h - row.entropy):.1e} |")  # fmt: skip


if __name__ == "__main__":
    main(quick="--quick" in sys.argv)
