"""Captured (CUDA graph) training steps against tnreg's own eager step, on a CUDA GPU.

Settings (captured training steps on CUDA), float32, GroupRMSprop, full batch:
1. HTF reference: order 4, d=16, binary tree, widths 512, 2,048 observed entries. Goals: the
   captured step <= 0.4 ms and >= 7x the eager step.
2. Ensemble of 32 at widths 64 against a single model at widths 64, both captured. Goal: the
   ensemble's step within 2x of the single model's.
Step times are the median over ``--repeats`` blocks of ``--steps`` steps each (one device
synchronisation per block), after the warm-up and capture.

Run: ``python bench/bench_capture.py [--repeats 5] [--steps 200] [--out FILE]``; needs CUDA.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tnreg import trees
from tnreg.models import HierarchicalTensorFactorization
from tnreg.train.capture import CapturedStep
from tnreg.train.losses import loss_function
from tnreg.train.optim import make_optimizer
from tnreg.train.step import train_step


def setup(width, ensemble, device="cuda"):
    model = HierarchicalTensorFactorization(
        trees.balanced(4), 16, width, init_std=0.05, seed=0, ensemble=ensemble, device=device
    )
    gen = torch.Generator().manual_seed(0)
    idx = torch.stack([torch.randint(0, 16, (2048,), generator=gen) for _ in range(4)], 1)
    values = torch.randn(2048, generator=gen)
    opt = make_optimizer("group_rmsprop", list(model.parameters()), lr=1e-2)
    return model, idx.to(device), values.to(device), opt


def per_step(fn, steps, repeats):
    for _ in range(5):
        fn()
    torch.cuda.synchronize()
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        for _ in range(steps):
            fn()
        torch.cuda.synchronize()
        times.append((time.perf_counter() - t0) / steps)
    return statistics.median(times)


def measure(width, ensemble, steps, repeats):
    loss_fn = loss_function("mse")
    model, idx, values, opt = setup(width, ensemble)
    plan = model.schedule_indices(idx)
    eager = per_step(lambda: train_step(model, plan, values, opt, loss_fn), steps, repeats)
    model, idx, values, opt = setup(width, ensemble)
    step = CapturedStep(model, idx, values, opt, loss_fn)
    captured = per_step(step, steps, repeats)
    assert step.captured, step.fallback_reason
    return eager, captured


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--steps", type=int, default=200)
    parser.add_argument("--out", default=None)
    args = parser.parse_args(argv)
    if not torch.cuda.is_available():
        sys.exit("bench_capture.py needs a CUDA device")
    rows = []
    cases = [
        ("HTF widths 512, single", 512, None),
        ("HTF widths 64, single", 64, None),
        ("HTF widths 64, ensemble of 32", 64, 32),
    ]
    results = {}
    for name, width, ensemble in cases:
        eager, captured = measure(width, ensemble, args.steps, args.repeats)
        results[name] = captured
        rows.append(
            f"| {name} | {eager * 1e3:.3f} | {captured * 1e3:.3f} | {eager / captured:.1f}x |"
        )
    ratio = results["HTF widths 64, ensemble of 32"] / results["HTF widths 64, single"]
    text = "\n".join(
        [
            f"### Captured steps ({torch.cuda.get_device_name()}, torch {torch.__version__}), "
            f"order 4, d=16, B=2048, float32, GroupRMSprop; median of {args.repeats} blocks "
            f"of {args.steps} steps\n",
            "| setting | eager step (ms) | captured step (ms) | speed-up |",
            "|---|---|---|---|",
            *rows,
            "",
            f"ensemble of 32 / single model (captured, widths 64): {ratio:.2f}x",
            "",
        ]
    )
    print(text)
    if args.out:
        Path(args.out).write_text(text)


if __name__ == "__main__":
    main()
