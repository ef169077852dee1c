"""Locality experiments: generation speed, the marker-distance shortcut, the regularizer's cost.

1. Pathfinder generation (images/s; 200 images at the paper's 150×150, 2,000 at the CPU
   setting: window 160, scale 0.4, 32×32; length 9 needs window 240, 48×48), path lengths 3
   and 9, with the pixel mean and std; goal: generation never dominates an experiment (10,000
   images take less than one epoch).
2. The marker-distance shortcut: test accuracy of the best classifier of the marker distance
   alone (fitted on 2,000 images, tested on 2,000 held-out ones) at lengths 3, 5, 7, 9, with
   distance matching (the default) and with the authors' rules alone.
3. One optimizer step (forward, cross-entropy, backward, SGD) with λ = 0 and with λ > 0 (the
   extra forward of the swapped batch, input-gradient backwards with create_graph, the double
   backward), float32, 2×2 patches; the ratio is the regularizer's overhead.
   Then the CPU grid's network (40 px) at λ = 0, λ > 0 on the whole batch and λ > 0 with
   ``penalty_batch=8``.
4. ``--gradients``: the parameter-gradient norm of the cross-entropy and of the penalty
   (λ = 1) per batch of 64 at initialization (train mode), and the share of samples whose
   swapped patch ``J`` differs from their own (only those carry a penalty gradient).
   ``--setting grid`` (default): the CPU grid's network (40 px, window 200, small CNN with 6
   stages of width 8), 40 batches, the penalty on the whole batch and on 8 samples
   (``penalty_batch``). ``--setting paper``: ResNet-18 at 150 px (the paper's setting), 8
   batches, the whole batch. It says how large λ · Reg's gradient is next to the loss's.

Run: ``python bench/bench_locality.py [--device cpu] [--threads 1] [--repeats 3]``; prints
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
    pathfinder,
    resnet18,
    shortcut_accuracy,
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
    print("| task | images | side (px) | seconds (median) | images/s | pixel mean, std |")
    print("|---|---|---|---|---|---|")
    cpu = {3: {"scale": 0.4, "window": 160.0}, 9: {"scale": 0.4, "window": 240.0}}
    for length in (3, 9):
        for n, kw in ((200, {"scale": 1.0}), (2000, cpu[length])):
            t = _time(
                lambda n=n, kw=kw, length=length: pathfinder(n, path_length=length, seed=0, **kw),
                repeats,
                lambda: None,
            )
            x = pathfinder(n, path_length=length, seed=0, **kw).x
            print(
                f"| pathfinder, length {length} {kw} | {n} | {x.shape[-1]} | {t:.2f} | "
                f"{n / t:.0f} | {float(x.mean()):.4f}, {float(x.std()):.4f} |"
            )


def bench_shortcut() -> None:
    print("\n| length | shortcut accuracy, matched (default) | authors' rules alone |")
    print("|---|---|---|")
    for length in (3, 5, 7, 9):
        accs = []
        for match in (True, False):
            kw = {"path_length": length, "scale": 0.1, "supersample": 1, "match_distance": match}
            train, test = pathfinder(2000, seed=10, **kw), pathfinder(2000, seed=11, **kw)
            accs.append(shortcut_accuracy(train, test, bins=20))
        print(f"| {length} | {accs[0]:.3f} | {accs[1]:.3f} |")


def _step_fn(model: nn.Module, reg: LocalityRegularizer, x, y, penalty_batch: int = 0):
    opt = torch.optim.SGD(model.parameters(), lr=1e-2, momentum=0.9)
    sub = 0 < penalty_batch < len(x)

    def step() -> None:
        x.requires_grad_(reg.coefficient > 0 and not sub)
        logits = model(x)
        penalty = (
            reg(model, x[:penalty_batch], y[:penalty_batch])
            if sub
            else reg(model, x, y, logits=logits)
        )
        loss = nn.functional.cross_entropy(logits, y) + penalty
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()

    return step


def bench_overhead(device: torch.device, repeats: int) -> None:
    gpu = device.type == "cuda"
    sync = torch.cuda.synchronize if gpu else (lambda: None)
    cases = [("small CNN (width 16)", 0.4, 64, lambda: SmallCNN(in_channels=1))]
    if gpu:
        cases += [("ResNet-18 (width 1)", 1.0, 64, lambda: resnet18(in_channels=1))]
    print("\n| model | image | batch | ms/step λ=0 | ms/step λ>0 | overhead | device |")
    print("|---|---|---|---|---|---|---|")
    for name, scale, batch, build in cases:
        window = 160.0 if scale < 1 else 300.0
        data = pathfinder(batch, path_length=3, scale=scale, window=window, seed=0)
        x, y = data.x.to(device), data.y.to(device)
        ms = []
        for lam in (0.0, 3.0):
            torch.manual_seed(0)
            model = build().to(device)
            reg = LocalityRegularizer(lam, RandomPatches(size=2), seed=0)
            ms.append(1e3 * _time(_step_fn(model, reg, x, y), repeats, sync))
        side = x.shape[-1]
        print(
            f"| {name} | {side} | {batch} | {ms[0]:.1f} | {ms[1]:.1f} | "
            f"{ms[1] / ms[0]:.2f}x | {device} |"
        )


def bench_penalty_batch(repeats: int) -> None:
    """The CPU grid's network (40 px, 6 stages of width 8): λ = 0, λ > 0 on the whole batch and
    λ > 0 on 8 of the 64 samples (``penalty_batch=8``), side by side."""
    data = pathfinder(64, path_length=3, scale=0.4, window=200.0, seed=0)
    ms = {}
    for name, lam, sub in (("λ=0", 0.0, 0), ("λ>0, batch 64", 3.0, 0), ("λ>0, 8 of 64", 3.0, 8)):
        torch.manual_seed(0)
        model = SmallCNN(in_channels=1, width=8, depth=6)
        reg = LocalityRegularizer(lam, RandomPatches(size=2), seed=0)
        ms[name] = 1e3 * _time(_step_fn(model, reg, data.x, data.y, sub), repeats, lambda: None)
    print("\n| grid network, 40 px, batch 64 | ms/step | ratio to λ=0 |")
    print("|---|---|---|")
    for name, v in ms.items():
        print(f"| {name} | {v:.1f} | {v / ms['λ=0']:.2f}x |")


def _norm(grads) -> float:
    return float(torch.cat([g.flatten() for g in grads if g is not None]).norm())


#: ``--gradients`` settings: (config, batches, penalty batch sizes). "grid": the CPU grid's
#: network at 40 px; "paper": ResNet-18 at 150 px, the paper's setting (whole batch only).
def _gradient_settings(batches: int | None):
    from tnreg.locality.runner import LocalityConfig

    grid = LocalityConfig(
        path_length=3, window=200.0, scale=0.4, n_train=4000, n_val=2, n_test=2,
        model="small", width=0.5, depth=6, device="cpu",
    )  # fmt: skip
    n = batches or 8
    paper = LocalityConfig(path_length=3, n_train=64 * n, n_val=2, n_test=2, device="cpu")
    return {"grid": (grid, batches or 40, (64, 8)), "paper": (paper, n, (64,))}


def bench_gradients(setting: str = "grid", batches: int | None = None) -> None:
    """Parameter-gradient norms of the cross-entropy and of Reg (λ = 1) at initialization."""
    from tnreg.locality.regularizer import gradient_cosines
    from tnreg.locality.runner import make_model, make_task

    config, batches, sizes = _gradient_settings(batches)[setting]
    train, _, _ = make_task(config)
    model = make_model(config, 1, train.image_shape[-1]).train()
    params = list(model.parameters())
    gen = torch.Generator().manual_seed(0)
    sampler = RandomPatches(size=2)
    side = train.image_shape[-1]
    norms: dict[str, list[float]] = {"cross-entropy": []}
    norms.update({f"Reg, {b} of 64": [] for b in sizes})
    moved: list[float] = []  # samples of the batch whose swap changes patch J
    t0 = time.perf_counter()
    for _ in range(batches):
        idx = torch.randperm(len(train), generator=gen)[:64]
        x, y = train.x[idx].clone().requires_grad_(True), train.y[idx]
        logits = model(x)
        loss = nn.functional.cross_entropy(logits, y)
        norms["cross-entropy"].append(_norm(torch.autograd.grad(loss, params, retain_graph=True)))
        i, j = sampler.sample(side, side, generator=gen)
        rows, cols = slice(j.top, j.top + j.height), slice(j.left, j.left + j.width)
        xd = x.detach()
        swapped = xd.roll(1, 0)[..., rows, cols]
        moved.append(float((xd[..., rows, cols] != swapped).flatten(1).any(1).float().mean()))
        for b in sizes:
            if b == len(x):
                cos = gradient_cosines(model, x, i, j, y=y, logits=logits)
            else:
                cos = gradient_cosines(model, xd[:b], i, j, y=y[:b])
            grads = torch.autograd.grad(
                cos.abs().mean(), params, allow_unused=True, retain_graph=b == len(x)
            )
            norms[f"Reg, {b} of 64"].append(_norm(grads))
    seconds = time.perf_counter() - t0
    print(
        f"\n{setting}: {config.model}, {side}x{side} px, {batches} batches of 64 at "
        f"initialization, train mode ({seconds:.0f} s); share of samples whose swapped patch J "
        f"differs: median {statistics.median(moved):.2f}, mean {statistics.fmean(moved):.2f}"
    )
    print("\n| gradient norm | mean | median | 90th pct | max | zero |")
    print("|---|---|---|---|---|---|")
    for name, v in norms.items():
        q = sorted(v)
        zero = sum(1 for a in v if a < 1e-4)
        print(
            f"| {name} | {statistics.fmean(v):.3g} | {statistics.median(v):.3g} | "
            f"{q[int(0.9 * len(q))]:.3g} | "
            f"{q[-1]:.3g} | {zero}/{len(v)} |"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    parser.add_argument("--threads", type=int, default=0)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--skip-generation", action="store_true")
    parser.add_argument("--gradients", action="store_true", help="only section 4")
    parser.add_argument(
        "--setting", choices=("grid", "paper"), default="grid",
        help="with --gradients: the CPU grid's network at 40 px, or ResNet-18 at 150 px",
    )  # fmt: skip
    parser.add_argument("--batches", type=int, default=0, help="with --gradients (0: 40 / 8)")
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    if args.gradients:
        bench_gradients(args.setting, args.batches or None)
        return
    if not args.skip_generation:
        bench_generation(args.repeats)
        bench_shortcut()
    bench_overhead(torch.device(args.device), args.repeats)
    bench_penalty_batch(args.repeats)


if __name__ == "__main__":
    main()
