"""Locality experiments: task generation speed and the regularizer's cost per training step.

1. Pathfinder generation: 20,000 images (path length 9) at 32×32 and at 64×64; goal: well under
   a minute on 2 CPU cores. Is-Same-Class: 20,000 digit canvases at distance 24.
2. One optimizer step (forward, cross-entropy, backward, Adam) with λ = 0 and with λ > 0 (the
   regularizer's extra forward of the doubled batch, input-gradient backward with
   create_graph, and the double backward), for the small CNN and ResNet-18; the ratio is the
   regularizer's overhead. On CUDA with bfloat16 autocast and channels-last, as the runner.

Run: ``python bench/bench_locality.py [--device cpu] [--threads 1] [--repeats 5]``; prints
markdown. CPU timings are noisy on a shared machine: say so when you record them.
"""

from __future__ import annotations

import argparse
import statistics
import time

import torch
from torch import nn

from tnreg.locality import (
    LocalityRegularizer,
    RandomPatches,
    SmallCNN,
    digits,
    pathfinder,
    resnet18,
    same_class,
)


def _time(fn, repeats: int, sync) -> float:
    fn()
    sync()
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        sync()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def bench_generation(repeats: int) -> None:
    print("| task | images | size | seconds (median) |\n|---|---|---|---|")
    for size in (32, 64):
        t = _time(
            lambda s=size: pathfinder(20000, path_length=9, image_size=s, seed=0),
            repeats,
            lambda: None,
        )
        print(f"| pathfinder, length 9 | 20000 | {size}x{size} | {t:.2f} |")
    x, y = digits()
    t = _time(lambda: same_class(x, y, 20000, distance=24, seed=0), repeats, lambda: None)
    print(f"| same-class (digits), distance 24 | 20000 | 12x36 | {t:.2f} |")


def _step_fn(model: nn.Module, reg: LocalityRegularizer, x, y, amp: bool):
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)

    def step() -> None:
        x.requires_grad_(reg.coefficient > 0)
        with torch.autocast(x.device.type, torch.bfloat16, enabled=amp):
            logits = model(x)
            loss = nn.functional.cross_entropy(logits.float(), y) + reg(model, x, y, logits=logits)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()

    return step


def bench_overhead(device: torch.device, repeats: int) -> None:
    amp = device.type == "cuda"
    sync = torch.cuda.synchronize if amp else (lambda: None)
    cases = [
        ("small CNN (width 16)", 32, 64, lambda: SmallCNN(in_channels=1)),
        ("ResNet-18 (width 1)", 32, 64, lambda: resnet18(in_channels=1, stem="cifar")),
    ]
    if amp:
        cases += [
            ("ResNet-18 (width 1)", 64, 128, lambda: resnet18(in_channels=1)),
            ("ResNet-18 (width 1)", 128, 128, lambda: resnet18(in_channels=1)),
        ]
    print("\n| model | image | batch | ms/step λ=0 | ms/step λ>0 | overhead | device |")
    print("|---|---|---|---|---|---|---|")
    for name, size, batch, build in cases:
        data = pathfinder(batch, path_length=9, image_size=size, seed=0)
        x, y = data.x.to(device), data.y.to(device)
        if amp:
            x = x.contiguous(memory_format=torch.channels_last)
        ms = []
        for lam in (0.0, 3.0):
            torch.manual_seed(0)
            model = build().to(device)
            if amp:
                model = model.to(memory_format=torch.channels_last)
            reg = LocalityRegularizer(
                lam, RandomPatches(size=max(2, size // 6), min_distance=size / 2), seed=0
            )
            ms.append(1e3 * _time(_step_fn(model, reg, x, y, amp), repeats, sync))
        print(
            f"| {name} | {size} | {batch} | {ms[0]:.1f} | {ms[1]:.1f} | "
            f"{ms[1] / ms[0]:.2f}x | {device} |"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    parser.add_argument("--threads", type=int, default=0)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--skip-generation", action="store_true")
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    if not args.skip_generation:
        bench_generation(args.repeats)
    bench_overhead(torch.device(args.device), args.repeats)


if __name__ == "__main__":
    main()
