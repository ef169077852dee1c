"""Training-step speed of the cost-based index-batch evaluator against its baselines.

Settings:
1. CP (output fixed to ones), float32, one full-batch step (forward + backward + gradient
   update): (order 4, d=10, R=1000, 2,000 entries) and (order 5, d=10, R=1000, 10,000 entries)
   against *densify then index* (build the whole tensor with one einsum every step, index it:
   the 2021 paper's method) and against a *per-sample gather* (gather each factor's row,
   multiply, sum over components). Goal: >= 2x the densify baseline.
2. Sparse CP, where densifying is out of reach: (order 8, d=10, R=1000, 10,000 entries) and
   (order 16, d=4, R=100, 20,000 entries) against the per-sample gather. Goal: >= 4x.
3. HTF reference (order 4, d=16, binary, widths 512, 2,048 entries) against the one-hot
   baseline of ``bench_models.py``. Goal: >= 10x.
Every row also times the balanced schedule (balanced pairwise merges,
``tests/models/balanced_schedule.py``).

Run: ``python bench/bench_evaluate.py [--repeats 7] [--device cpu] [--out FILE]``; prints a
markdown table (median of repeats; the columns of a row are measured in alternating rounds of a
few back-to-back steps, so they see the same load on a shared machine with warm caches).
"""

from __future__ import annotations

import argparse
import math
import platform
import random
import statistics
import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests" / "models"))

from balanced_schedule import balanced_schedule
from bench_models import PapersBaseline

from tnreg import trees
from tnreg.models import CP, HierarchicalTensorFactorization


def sync(device):
    if device.startswith("cuda"):
        torch.cuda.synchronize()


def timed(fn, repeats, device):
    return timed_many({"x": fn}, repeats, device)["x"]


def timed_many(fns, repeats, device, block=3):
    """Median time per call of each function (see :func:`timed_rounds`)."""
    rounds = timed_rounds(fns, repeats, device, block)
    return {name: statistics.median(ts) for name, ts in rounds.items()}


def with_ratios(rounds, base="tnreg"):
    """Medians per column, and ``ratio_<name>``: the median over rounds of name / base in the
    same round (both saw the same machine load: steadier than a ratio of medians here)."""
    out = {name: statistics.median(ts) for name, ts in rounds.items()}
    for name, ts in rounds.items():
        if name != base:
            out[f"ratio_{name}"] = statistics.median(t / b for t, b in zip(ts, rounds[base]))
    return out


def timed_rounds(fns, repeats, device, block=3):
    """Time per call of each function in each of ``repeats`` rounds: each round runs every
    function once to warm up, then times ``block`` calls in a row (caches warm, as in training).
    Rounds alternate between the functions in a shuffled (seeded) order, so every column sees
    the same machine load and no column always runs after the same neighbour: what one step
    leaves in the allocator and the caches changes the next one's time by up to 2x here."""
    times = {name: [] for name in fns}
    order = list(fns)
    rng = random.Random(0)
    for _ in range(repeats):
        rng.shuffle(order)  # no function always follows the same one (allocator, caches)
        for name in order:
            fn = fns[name]
            fn()
            sync(device)
            t0 = time.perf_counter()
            for _ in range(block):
                fn()
            sync(device)
            times[name].append((time.perf_counter() - t0) / block)
    return times


def step(params, forward, target, lr=1e-3):
    for p in params:
        p.grad = None
    loss = 0.5 * (forward() - target).square().mean()
    loss.backward()
    with torch.no_grad():
        for p in params:
            p.sub_(p.grad, alpha=lr)  # in place, as torch.optim does: no temporary
    return loss.detach()


def data(dims, batch, device, seed=0):
    gen = torch.Generator().manual_seed(seed)
    idx = torch.stack([torch.randint(0, d, (batch,), generator=gen) for d in dims], 1)
    return idx.to(device), torch.randn(batch, generator=gen).to(device)


def densify(factors, idx):
    letters = "abcdefghijklmnop"[: len(factors)]
    eq = ",".join(f"{c}z" for c in letters) + "->" + letters
    return torch.einsum(eq, *factors)[tuple(idx.T)]


def per_sample(factors, idx):
    out = factors[0].index_select(0, idx[:, 0])
    for n, f in enumerate(factors[1:], 1):
        out = out * f.index_select(0, idx[:, n])
    return out.sum(-1)


def cp_row(order, dim, rank, batch, repeats, device, dense):
    model = CP(order, dim, rank=rank, init_std=1.0, seed=0, device=device)
    with torch.no_grad():  # entries of order one
        for p in model.params:
            p.mul_(rank ** (-0.5 / order))
    idx, target = data(model.dims, batch, device)
    schedule = model.schedule_indices(idx)
    balanced = balanced_schedule(model.tree, model._pooling, idx, model.dims)
    params = list(model.parameters())
    factors = [p[0].detach().clone().requires_grad_(True) for p in model.params]
    with torch.no_grad():
        ref = per_sample(factors, idx)
        diff = (model(schedule) - ref).abs().max() / ref.abs().max()
    fns = {
        "tnreg": lambda: step(params, lambda: model(schedule), target),
        "balanced": lambda: step(params, lambda: model(balanced), target),
        "gather": lambda: step(factors, lambda: per_sample(factors, idx), target),
    }
    if dense:
        fns["dense"] = lambda: step(factors, lambda: densify(factors, idx), target)
    row = {
        "setting": f"CP order {order}, d={dim}, R={rank}, B={batch}",
        "dense": math.nan,
        **with_ratios(timed_rounds(fns, repeats, device)),
        "diff": float(diff),
        "schedule": schedule.cost_report(),
    }
    return row


def htf_row(repeats, device):
    model = HierarchicalTensorFactorization(
        trees.balanced(4), 16, 512, init_std=0.05, seed=0, device=device
    )
    model.rescale_(16.0**2)
    idx, target = data(model.dims, 2048, device)
    schedule = model.schedule_indices(idx)
    balanced = balanced_schedule(model.tree, model._pooling, idx, model.dims)
    base = PapersBaseline(model).to(device)
    params, bparams = list(model.parameters()), list(base.parameters())
    with torch.no_grad():
        ref = base(idx)
        diff = (model(schedule) - ref).abs().max() / ref.abs().max()
    return {
        "setting": "HTF order 4, d=16, binary, widths 512, B=2048",
        **with_ratios(
            timed_rounds(
                {
                    "tnreg": lambda: step(params, lambda: model(schedule), target),
                    "balanced": lambda: step(params, lambda: model(balanced), target),
                    "onehot": lambda: step(bparams, lambda: base(idx), target),
                },
                repeats,
                device,
            )
        ),
        "gather": math.nan,
        "dense": math.nan,
        "diff": float(diff),
        "schedule": schedule.cost_report(),
    }


def ms(x):
    return "–" if math.isnan(x) else f"{1e3 * x:.2f}"


def ratio(row, name):
    """Median over rounds of the column's time over tnreg's in the same round."""
    value = row.get(f"ratio_{name}", math.nan)
    return "–" if math.isnan(value) else f"{value:.1f}x"


def table(rows, device):
    head = (
        f"`python bench/bench_evaluate.py` on {device} ({platform.processor() or 'cpu'}, "
        f"torch {torch.__version__}, {torch.get_num_threads()} threads), float32, median "
        f"step times in ms; ratios: median over rounds of the same round's times\n\n"
        "| setting | tnreg | balanced schedule | densify+index | per-sample gather | "
        "one-hot | vs densify | vs gather | vs one-hot | max rel. diff |\n"
        "|---|---|---|---|---|---|---|---|---|---|"
    )
    lines = [head]
    for r in rows:
        onehot = r.get("onehot", math.nan)
        lines.append(
            f"| {r['setting']} | {ms(r['tnreg'])} | {ms(r['balanced'])} | {ms(r['dense'])} | "
            f"{ms(r['gather'])} | {ms(onehot)} | {ratio(r, 'dense')} | "
            f"{ratio(r, 'gather')} | {ratio(r, 'onehot')} | "
            f"{r['diff']:.1e} |"
        )
    schedules = "\n\n".join(f"```\n{r['schedule']}\n```" for r in rows)
    return "\n".join(lines) + "\n\nChosen index schedules:\n\n" + schedules + "\n"


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--out", default=None)
    parser.add_argument("--threads", type=int, default=None, help="torch CPU threads")
    parser.add_argument("--only", default=None, help="comma-separated row numbers (1-5)")
    args = parser.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    dev = args.device
    makers = [
        lambda: cp_row(4, 10, 1000, 2000, args.repeats, dev, dense=True),
        lambda: cp_row(5, 10, 1000, 10000, args.repeats, dev, dense=True),
        lambda: cp_row(8, 10, 1000, 10000, args.repeats, dev, dense=False),
        lambda: cp_row(16, 4, 100, 20000, args.repeats, dev, dense=False),
        lambda: htf_row(args.repeats, dev),
    ]
    chosen = range(1, 6) if args.only is None else [int(x) for x in args.only.split(",")]
    rows = [makers[i - 1]() for i in chosen]
    text = table(rows, dev)
    print(text)
    if args.out:
        Path(args.out).write_text(text)


if __name__ == "__main__":
    main()
