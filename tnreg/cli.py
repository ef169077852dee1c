"""The ``tnreg`` command line.

``tnreg demo`` builds a mode tree, prints it, plans a batched contraction of the hierarchical
factorization on it, prints the cost report, trains the factorization a few hundred steps from
small initialization on a low-rank completion task and prints the rank report at every node.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Sequence

__all__ = ["main"]


def _demo(args: argparse.Namespace) -> int:
    import torch

    from tnreg import trees
    from tnreg.analysis import rank_report
    from tnreg.contract import plan
    from tnreg.models import CP, HierarchicalTensorFactorization

    torch.manual_seed(args.seed)
    tree = trees.balanced(args.order)
    print(f"Mode tree: balanced binary, order {args.order}\n{trees.render(tree)}\n")

    model = HierarchicalTensorFactorization(
        tree, args.dim, args.width, init_std=args.init_std, seed=args.seed, dtype=torch.float64
    )
    net = model.network
    print(f"Tensor network of the model: {net!r}")
    batched = tuple(tuple("b" if i in net.output else i for i in idx) for idx in net.inputs)
    sizes = {**net.size_dict, "b": args.samples}
    print("\nPlanned batched forward pass (one entry per sample, hyperedge batch index b):")
    print(plan((batched, ("b",), sizes)).cost_report())

    target = CP(
        args.order,
        args.dim,
        rank=args.target_rank,
        init_std=1.0,
        seed=args.seed + 1,
        dtype=torch.float64,
    )
    target.rescale_(1.0)
    gen = torch.Generator().manual_seed(args.seed)
    idx = torch.randint(0, args.dim, (args.samples, args.order), generator=gen)
    with torch.no_grad():
        y = target(idx)
    opt = torch.optim.Adam(model.parameters(), lr=args.lr)
    print(
        f"\nTraining on {args.samples} entries of a rank-{args.target_rank} target "
        f"(||W*|| = 1), init std {args.init_std}:"
    )
    t0 = time.perf_counter()
    for step in range(args.steps + 1):
        opt.zero_grad()
        loss = 0.5 * (model(idx) - y).square().mean()
        if step % max(1, args.steps // 5) == 0:
            print(f"  step {step:5d}  loss {loss.item():.3e}")
        loss.backward()
        opt.step()
    print(f"  ({time.perf_counter() - t0:.1f} s)")
    print("\nRank report at every node (numerical rank with rtol 1e-3):")
    print(rank_report(model, rtol=1e-3))
    return 0


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="tnreg", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    demo = sub.add_parser("demo", help="tree -> network -> plan -> train -> node ranks")
    demo.add_argument("--order", type=int, default=4)
    demo.add_argument("--dim", type=int, default=6)
    demo.add_argument("--width", type=int, default=16)
    demo.add_argument("--target-rank", type=int, default=2)
    demo.add_argument("--samples", type=int, default=600)
    demo.add_argument("--steps", type=int, default=1000)
    demo.add_argument("--init-std", type=float, default=0.05)
    demo.add_argument("--lr", type=float, default=1e-2)
    demo.add_argument("--seed", type=int, default=0)
    demo.set_defaults(run=_demo)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the ``tnreg`` command line; returns the exit status."""
    args = _parser().parse_args(argv)
    return args.run(args)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
