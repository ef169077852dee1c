"""Training-step speed of the dense-core formats at index batches: memoized against generic.

The formats (Tucker, tensor train, hierarchical Tucker) are tree tensor networks. tnreg
evaluates a batch of multi-indices by memoized sub-tuples
(:mod:`tnreg.models.engine.rooted`: each tensor contracted once per distinct combination of its
children's rows and its own mode indices). The *generic* route (used for networks that are not
trees) gathers every tensor along its mode axes and contracts one planned network with the batch
as a hyperedge: every tensor is contracted once per sample.

One full-batch step = forward, backward and a gradient update, float32, median of repeats, both
routes in one process. Run ``python bench/bench_formats.py [--repeats 7] [--device cpu]``;
prints a markdown table.
"""

from __future__ import annotations

import argparse
import platform
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run from a checkout
import torch

from tnreg import trees
from tnreg.models import HierarchicalTucker, TensorTrain, Tucker


def sync(device: str) -> None:
    if device.startswith("cuda"):
        torch.cuda.synchronize()


def timed(fn, repeats: int, device: str) -> float:
    fn()
    sync(device)
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        sync(device)
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def step(model, forward, target, lr=1e-3):
    for p in model.params:
        p.grad = None
    loss = 0.5 * (forward() - target).square().mean()
    loss.backward()
    with torch.no_grad():
        for p in model.params:
            p.sub_(p.grad, alpha=lr)  # in place, as torch.optim does: no temporary


def _kw(std: float, device: str) -> dict:
    return {"seed": 0, "init_std": std, "device": device}  # entries of order one


SETTINGS = [
    ("Tucker order 4, d=10, ranks 8", lambda dev: Tucker(4, 10, 8, **_kw(0.35, dev)), 10_000),
    ("TT order 16, d=4, ranks 8", lambda dev: TensorTrain(16, 4, 8, **_kw(0.35, dev)), 20_000),
    (
        "HT order 16 (balanced), d=4, ranks 8",
        lambda dev: HierarchicalTucker(trees.balanced(16), 4, 8, **_kw(0.35, dev)),
        20_000,
    ),
    ("TT order 64, d=2, ranks 4", lambda dev: TensorTrain(64, 2, 4, **_kw(0.6, dev)), 20_000),
]


def row(name, make, batch, repeats, device):
    model = make(device)
    gen = torch.Generator().manual_seed(0)
    idx = torch.stack([torch.randint(0, d, (batch,), generator=gen) for d in model.dims], 1)
    idx, target = idx.to(device), torch.randn(batch, generator=gen).to(device)
    plan = model.schedule_indices(idx)
    with torch.no_grad():
        ref = model._gather(idx)
        diff = (model(plan) - ref).abs().max() / ref.abs().max()
    memo = timed(lambda: step(model, lambda: model(plan), target), repeats, device)
    generic = timed(lambda: step(model, lambda: model._gather(idx), target), repeats, device)
    top = max(plan.counts.values())
    return f"| {name}, B={batch} | {1e3 * memo:.2f} | {1e3 * generic:.2f} | " \
        f"{generic / memo:.1f}x | {top} | {float(diff):.1e} |"  # fmt: skip


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--threads", type=int, default=None)
    args = parser.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    print(
        f"`python bench/bench_formats.py` on {args.device} ({platform.processor() or 'cpu'}, "
        f"torch {torch.__version__}, {torch.get_num_threads()} threads), float32, median step "
        f"times in ms\n"
    )
    print("| setting | memoized | generic | speed-up | largest table (rows) | max rel. diff |")
    print("|---|---|---|---|---|---|")
    for name, make, batch in SETTINGS:
        print(row(name, make, batch, args.repeats, args.device), flush=True)


if __name__ == "__main__":
    main()
