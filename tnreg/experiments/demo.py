"""What ``tnreg demo`` (``make demo``) runs: a short incremental-rank experiment, end to end.

Stages: a balanced mode tree; the hierarchical tensor factorization on it and its tensor network;
the planned batched forward pass and its cost report; a completion task on a target of
hierarchical rank ``target_rank`` at every node; training from small init with the papers'
adaptive-step GD (GroupRMSprop); the rank report of the trained model; a per-node table of the
learned numerical rank against the target's; the figures of the run directory.

Why these settings: with a small init the local components rise one at a time and stop when the
data are fit, so the learned hierarchical rank equals the target's without being asked for.
``eps = 1e-14`` keeps the adaptive step adaptive while the gradient is far below the papers'
``eps = 1e-6`` (see :mod:`tnreg.experiments.presets`). A large init with Adam instead ends with
every local component active and ranks above the target's.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

__all__ = ["DemoSettings", "run_demo"]


@dataclass
class DemoSettings:
    """The demo's knobs (the ``tnreg demo`` flags)."""

    order: int = 4
    dim: int = 6
    width: int = 16
    target_rank: int = 2
    samples: int = 600
    steps: int = 3000
    init_std: float = 0.05
    lr: float = 1e-2
    eps: float = 1e-14
    rtol: float = 1e-2
    seed: int = 0
    out: str | None = None
    figures: bool = True


def _show_structure(s: DemoSettings, tree, model) -> None:
    from tnreg import trees
    from tnreg.contract import plan

    print(f"Mode tree: balanced binary, order {s.order}\n{trees.render(tree)}\n")
    net = model.network
    print(f"Model: {model!r}\nTensor network of the model: {net!r}")
    batched = tuple(tuple("b" if i in net.output else i for i in idx) for idx in net.inputs)
    sizes = {**net.size_dict, "b": s.samples}
    print("\nPlanned batched forward pass (one entry per sample, hyperedge batch index b):")
    print(plan((batched, ("b",), sizes)).cost_report())


def _printer(names: dict, every: int):
    from tnreg.train.trackers import hierarchical_rank_of

    def show(model, context, metrics) -> None:
        if context.step % every:
            return
        loss = float(metrics["loss"][0])
        rank = hierarchical_rank_of(metrics)
        print(f"  step {context.step:5d}  loss {loss:.3e}  hierarchical rank {rank}", flush=True)

    return show


def _node_table(tree, model, target, rtol: float) -> tuple[str, bool]:
    from tnreg import trees
    from tnreg.analysis import node_spectra, numerical_rank

    wanted = target.hierarchical_rank()
    names = trees.node_names(tree)
    lines = [f"{'node':>6}  {'target rank':>11}  {'learned rank':>12}  {'σ_2/σ_1':>8}"]
    same = True
    for v, s in node_spectra(model).items():
        learned = int(numerical_rank(s[0], rtol=rtol))
        ratio = float(s[0, 1] / s[0, 0]) if s.shape[-1] > 1 and s[0, 0] > 0 else 0.0
        mark = "" if learned == wanted[v] else "  <- differs"
        same &= learned == wanted[v]
        lines.append(f"{names[v]:>6}  {wanted[v]:>11}  {learned:>12}  {ratio:8.3f}{mark}")
    return "\n".join(lines), same


def run_demo(s: DemoSettings) -> int:
    """Run the demo with settings ``s``; prints every stage, returns 0."""
    import torch

    from tnreg.analysis import rank_report
    from tnreg.data import completion_task, random_tree_target
    from tnreg.train import ModelConfig, TrainConfig, build_model, build_tree, fit

    model_config = ModelConfig(kind="htf", tree="balanced", order=s.order, dims=s.dim,
                               widths=s.width, init_std=s.init_std, seed=s.seed)  # fmt: skip
    tree = build_tree(model_config)
    model = build_model(model_config, dtype=torch.float64)
    _show_structure(s, tree, model)
    target = random_tree_target(tree, s.dim, s.target_rank, seed=s.seed + 1)
    test = max(0, min(500, s.dim**s.order - s.samples))
    data = completion_task(target, s.samples, test, seed=s.seed)
    every, track = max(1, s.steps // 10), max(1, s.steps // 30)
    every -= every % track
    config = TrainConfig(optimizer="group_rmsprop", lr=s.lr, eps=s.eps, steps=s.steps,
                         track_every=track, checkpoint_every=every * 10, rank_rtol=s.rtol,
                         device="cpu", progress=False, model=model_config,
                         data=data.config)  # fmt: skip
    out = Path(s.out) if s.out else Path("runs") / f"demo-{time.strftime('%Y%m%d-%H%M%S')}"
    print(
        f"\nTraining on {s.samples} entries of a target of hierarchical rank {s.target_rank} "
        f"(||W*|| = 1) from init std {s.init_std}\n"
        f"optimizer: group_rmsprop (the papers' adaptive-step GD), lr {s.lr}, eps {s.eps:g}, "
        f"{s.steps} steps -> {out}"
    )
    t0 = time.perf_counter()
    result = fit(model, data, config, run_dir=out, callbacks=[_printer({}, every)])
    print(f"  {result.message} ({time.perf_counter() - t0:.1f} s)")
    print(f"\nRank report at every node (numerical rank with rtol {s.rtol}):")
    print(rank_report(result.model, rtol=s.rtol))
    table, same = _node_table(tree, result.model, target, s.rtol)
    print(f"\nLearned vs target rank at every node (rtol {s.rtol}):\n{table}")
    verdict = "yes" if same else "no (train longer, or lower --init-std)"
    print(f"every node's numerical rank equals the target's: {verdict}")
    _write_figures(out, s.figures)
    return 0


def _write_figures(out: Path, wanted: bool) -> None:
    if not wanted:
        print(f"\nrun directory: {out}")
        return
    try:
        from tnreg.plots import plot_runs

        written = plot_runs([out])
    except ImportError as err:
        print(f"\nno figures ({err}); run directory: {out}")
        return
    print(f"\nfigures ({len(written)} files, PNG and PDF): {out / 'figures'}")
