"""Benchmark: the rank report against the spectra it reports, and float32-model spectra accuracy.

Two questions:
1. Does ``rank_report`` run in time linear in the number of nodes, within 1.5x of
   ``node_scaled_spectra`` (the spectra it reports), at orders 256 and 1024? (d = 2, widths 8,
   balanced binary tree, float64.) Also ``hierarchical_rank_tuple`` at order 512.
2. How close are a float32 model's node spectra to the dense float64 SVD of the same tensor,
   analysed in float64 (the default) against the parameters' float32 (``dtype=None``)?

Run ``python bench/bench_report.py``; prints markdown. Times are medians of repeats.
"""

from __future__ import annotations

import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run from a checkout
import torch

from tnreg import trees
from tnreg.analysis.ranks import hierarchical_rank_tuple
from tnreg.analysis.report import rank_report
from tnreg.analysis.spectra import node_scaled_spectra, node_spectra
from tnreg.models import HierarchicalTensorFactorization
from tnreg.testing import dense_from_matrices, dense_svd


def _median(fn, repeats: int) -> float:
    fn()  # warm-up
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def report_vs_spectra() -> None:
    print("## rank_report against node_scaled_spectra (d=2, widths 8, balanced, float64)\n")
    print("| order | nodes | spectra s | report s | ratio | report lines | longest line |")
    print("|---|---|---|---|---|---|---|")
    for order, repeats in ((256, 5), (1024, 3)):
        model = HierarchicalTensorFactorization(
            trees.balanced(order), 2, 8, init_std=1.0, seed=0, dtype=torch.float64
        )
        t_spec = _median(lambda m=model: node_scaled_spectra(m), repeats)
        t_rep = _median(lambda m=model: rank_report(m, rtol=1e-6), repeats)
        text = str(rank_report(model, rtol=1e-6)).splitlines()
        n = model.tree.number_of_nodes()
        print(
            f"| {order} | {n} | {t_spec:.3f} | {t_rep:.3f} | {t_rep / t_spec:.2f} | "
            f"{len(text)} | {max(map(len, text))} |"
        )
    model = HierarchicalTensorFactorization(
        trees.balanced(512), 2, 8, init_std=1.0, seed=0, dtype=torch.float64
    )
    spectra = {v: s[0] for v, s in node_spectra(model).items()}
    t = _median(lambda: hierarchical_rank_tuple(model.tree, spectra, rtol=1e-6), 5)
    print(f"\nhierarchical_rank_tuple at order 512: {t:.4f} s (median of 5)\n")


def float32_accuracy() -> None:
    print("## float32 model: node spectra against the dense float64 SVD of the same tensor\n")
    print("max over nodes and singular values of |σ - σ_ref| / σ_max (order 10, d=3, widths 6)\n")
    print("| analysis dtype | max relative error |")
    print("|---|---|")
    tree = trees.balanced(10)
    model = HierarchicalTensorFactorization(tree, 3, 6, init_std=1.0, seed=3)  # float32
    w = dense_from_matrices(tree, model.matrices())  # the float32 values multiplied in float64
    for label, dtype in (("float64 (default)", torch.float64), ("float32 (dtype=None)", None)):
        spectra = node_spectra(model, dtype=dtype)
        worst = 0.0
        for v, modes in trees.node_mode_sets(tree).items():
            ref = dense_svd(w, modes)
            got = spectra[v][0].double().numpy()
            worst = max(worst, float(abs(got - ref[: got.size]).max() / ref[0]))
        print(f"| {label} | {worst:.1e} |")
    print()


def tree_network_spectra() -> None:
    print("## TensorTrain node spectra: Gram-message sweep against the min-cut route\n")
    print("d=2, ranks 2, float64; min-cut = one max-flow + one Gram network per node\n")
    print("| order | nodes | sweep s | min-cut s | ratio |")
    print("|---|---|---|---|---|")
    from tnreg.analysis.spectra import _matricization
    from tnreg.analysis.tree_networks import TreeNetworkSweep
    from tnreg.models import TensorTrain

    for order in (100, 1000, 4000):
        tt = TensorTrain(order, 2, 2, seed=0, init_std=1.0, dtype=torch.float64)
        ts = {k: v.detach() for k, v in tt.tensors().items()}
        sets = trees.node_mode_sets(tt.tree)

        def sweep(tt=tt, ts=ts, sets=sets):
            s = TreeNetworkSweep(tt.network, ts)
            keys = s.node_keys(tt.tree)
            return [s.scaled(*keys[v]) for v in sets]

        def min_cut(tt=tt, ts=ts, sets=sets):
            return [_matricization(tt.network, ts, list(m), "gram", 0) for m in sets.values()]

        t_sweep = _median(sweep, 1 if order > 100 else 3)
        if order > 100:  # the min-cut route is quadratic: minutes already at order 100
            print(f"| {order} | {len(sets)} | {t_sweep:.2f} | not run | – |")
            continue
        t_cut = _median(min_cut, 1)
        print(f"| {order} | {len(sets)} | {t_sweep:.2f} | {t_cut:.2f} | {t_cut / t_sweep:.0f}x |")
    print()


if __name__ == "__main__":
    torch.set_num_threads(2)
    report_vs_spectra()
    float32_accuracy()
    tree_network_spectra()
