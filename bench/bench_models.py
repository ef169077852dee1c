"""Training-step speed of tnreg models against the papers' style of evaluation.

Settings (issue "Factorization models"):
1. HTF reference: order 4, d = 16, binary tree, widths 512, 2048 observed entries, one full-batch
   gradient step (forward + backward + update), float32. Baseline: one-hot inputs, one einsum
   per level over stacked per-node matrices, product pooling (what the papers' public code does).
   Goal: tnreg >= 10x faster, same loss to 1e-5 relative.
2. Ensembles of 32 in one process against 32 single models one after another: CP (order 4, d = 10,
   R = 100, 2048 entries) and HTF (the setting above with widths 64). Goal: >= 8x throughput.
3. A small setting (order 4, d = 8, widths 16) where per-call overhead dominates.

Run: ``python bench/bench_models.py [--repeats 7] [--device cpu]``; prints a markdown table.
"""

from __future__ import annotations

import argparse
import statistics
import time

import torch

from tnreg import trees
from tnreg.models import CP, HierarchicalTensorFactorization


class PapersBaseline(torch.nn.Module):
    """Order-4 binary HTF evaluated per sample: one-hot, stacked einsums, product pooling."""

    def __init__(self, model: HierarchicalTensorFactorization) -> None:
        super().__init__()
        m = {v: t[0].detach().clone() for v, t in model.matrices().items()}
        self.leaf = torch.nn.Parameter(torch.stack([m[n] for n in range(4)]))  # (4, d, R)
        self.level = torch.nn.Parameter(torch.stack([m[(0, 1)], m[(2, 3)]]))  # (2, R, R)
        self.root = torch.nn.Parameter(m[(0, 1, 2, 3)])  # (R, 1)
        self.dim = self.leaf.shape[1]

    def forward(self, indices: torch.Tensor) -> torch.Tensor:
        onehot = torch.nn.functional.one_hot(indices, self.dim).to(self.leaf.dtype)  # (B, 4, d)
        h = torch.einsum("bnd,ndr->bnr", onehot, self.leaf)
        h = h.unflatten(1, (2, 2)).prod(2)  # product pooling over the children of each node
        h = torch.einsum("bnr,nrs->bns", h, self.level)
        return (h.prod(1) @ self.root)[:, 0]


def step(model, inputs, target, lr=1e-3):
    for p in model.parameters():
        p.grad = None
    out = model(inputs)
    loss = 0.5 * (out - target).square().mean(-1).sum()
    loss.backward()
    with torch.no_grad():
        for p in model.parameters():
            p.sub_(p.grad, alpha=lr)  # in place, as torch.optim does: no temporary
    return loss.detach()


def timed(fn, repeats):
    fn()  # warm-up (plans, caches, allocator)
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        if torch.cuda.is_available():
            torch.cuda.synchronize()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def data(dims, batch, seed=0, device="cpu"):
    gen = torch.Generator().manual_seed(seed)
    idx = torch.stack([torch.randint(0, d, (batch,), generator=gen) for d in dims], 1)
    return idx.to(device), torch.randn(batch, generator=gen).to(device)


def htf_vs_baseline(width, dim, batch, repeats, device):
    model = HierarchicalTensorFactorization(
        trees.balanced(4), dim, width, init_std=0.05, seed=0, device=device
    )
    model.rescale_(float(dim) ** 2)  # entries of order one, so the loss comparison means something
    base = PapersBaseline(model)
    idx, y = data(model.dims, batch, device=device)
    loss_t, loss_b = step(model, idx, y, lr=0.0), step(base, idx, y, lr=0.0)
    rel = abs(float(loss_t) - float(loss_b)) / abs(float(loss_b))
    t_tn = timed(lambda: step(model, idx, y), repeats)
    t_base = timed(lambda: step(base, idx, y), repeats)
    return dict(tnreg=t_tn, baseline=t_base, ratio=t_base / t_tn, loss_rel_diff=rel)


def ensemble_vs_sequential(make, dims, batch, members, repeats, device):
    idx, y = data(dims, batch, device=device)
    ens = make(ensemble=members, seed=0)
    singles = [make(ensemble=None, seed=k) for k in range(members)]
    yy = y.expand(members, -1)
    t_ens = timed(lambda: step(ens, idx, yy), repeats)
    t_seq = timed(lambda: [step(m, idx, y) for m in singles], max(1, repeats // 2))
    return dict(ensemble=t_ens, sequential=t_seq, ratio=t_seq / t_ens)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    dev, r = args.device, args.repeats
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads, device {dev}\n")
    print("| setting | tnreg step (ms) | baseline step (ms) | speed-up | loss rel. diff |")
    print("|---|---|---|---|---|")
    for name, (w, d) in {
        "HTF d=16 w=512 B=2048": (512, 16),
        "small d=8 w=16 B=2048": (16, 8),
    }.items():
        res = htf_vs_baseline(w, d, 2048, r, dev)
        print(
            f"| {name} | {1e3 * res['tnreg']:.1f} | {1e3 * res['baseline']:.1f} | "
            f"{res['ratio']:.1f}x | {res['loss_rel_diff']:.1e} |"
        )
    print(
        "\n| ensemble of 32 | one step, 32 in one (ms) | 32 steps one after another (ms) "
        "| throughput ratio |"
    )
    print("|---|---|---|---|")
    settings = {
        "CP order 4, d=10, R=100, B=2048": (
            lambda **kw: CP(4, 10, 100, init_std=0.1, device=dev, **kw),
            (10,) * 4,
        ),
        "HTF order 4, d=16, w=64, B=2048": (
            lambda **kw: HierarchicalTensorFactorization(
                trees.balanced(4), 16, 64, init_std=0.1, device=dev, **kw
            ),
            (16,) * 4,
        ),
        "small HTF d=8, w=16, B=2048": (
            lambda **kw: HierarchicalTensorFactorization(
                trees.balanced(4), 8, 16, init_std=0.1, device=dev, **kw
            ),
            (8,) * 4,
        ),
    }
    for name, (make, dims) in settings.items():
        res = ensemble_vs_sequential(make, dims, 2048, 32, r, dev)
        print(
            f"| {name} | {1e3 * res['ensemble']:.1f} | {1e3 * res['sequential']:.1f} | "
            f"{res['ratio']:.1f}x |"
        )


if __name__ == "__main__":
    main()
