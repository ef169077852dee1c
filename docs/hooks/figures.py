"""One small figure per concept page, drawn with tnreg while the site is built (seconds)."""

from __future__ import annotations

import io
import math
from collections.abc import Callable


def _png(fig) -> bytes:
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=90, bbox_inches="tight")
    import matplotlib.pyplot as plt

    plt.close(fig)
    return buffer.getvalue()


def trees_figure(plt):
    from tnreg import trees

    shapes = {
        "star(4): CP": trees.star(4),
        "balanced(4)": trees.balanced(4),
        "caterpillar(4): TT-like": trees.caterpillar(4),
        "from_nested(((0, 1, 2), ((3,),), 4))": trees.from_nested(((0, 1, 2), ((3,),), 4)),
    }
    fig, axes = plt.subplots(1, 4, figsize=(13, 2.6))
    for ax, (title, tree) in zip(axes, shapes.items()):
        trees.draw(tree, ax=ax)
        ax.set_title(title, fontsize=9)
    return fig


def networks_figure(plt):
    import networkx as nx

    import tnreg

    model = tnreg.HierarchicalTensorFactorization(tnreg.balanced(4), dims=4, widths=3, seed=0)
    graph = model.network.graph
    fig, ax = plt.subplots(figsize=(6, 3.6))
    pos = nx.kamada_kawai_layout(graph)
    tensors = [v for v, d in graph.nodes(data=True) if d["kind"] == "tensor"]
    indices = [v for v in graph.nodes if v not in tensors]
    nx.draw_networkx_edges(graph, pos, ax=ax)
    nx.draw_networkx_nodes(graph, pos, nodelist=tensors, node_shape="s", ax=ax, node_size=260)
    nx.draw_networkx_nodes(
        graph, pos, nodelist=indices, node_color="tab:orange", node_size=60, ax=ax
    )
    ax.set_title("HTF on balanced(4): tensors (squares) and indices (dots)", fontsize=9)
    ax.set_axis_off()
    return fig


def plans_figure(plt):
    import tnreg

    orders = [4, 6, 8, 10, 12]
    flops = []
    for n in orders:
        model = tnreg.HierarchicalTensorFactorization(tnreg.balanced(n), dims=4, widths=4)
        flops.append(tnreg.plan(model.network).flops)
    naive = [4**n * 4 ** (n - 1) for n in orders]  # one sum over every index at once
    fig, ax = plt.subplots(figsize=(5, 3))
    ax.semilogy(orders, flops, "o-", label="planned (tnreg.plan)")
    ax.semilogy(orders, naive, "s--", label="one flat sum (d^N R^(N-1))")
    ax.set_xlabel("order N (balanced tree, d = R = 4)")
    ax.set_ylabel("FLOPs")
    ax.legend(fontsize=8)
    return fig


def models_figure(plt):
    import tnreg

    orders = list(range(3, 11))
    counts = {
        "CP (R = 8)": lambda n: tnreg.CP(n, 8, rank=8),
        "HTF balanced (R = 8)": lambda n: tnreg.HierarchicalTensorFactorization(
            tnreg.balanced(n), dims=8, widths=8
        ),
        "tensor train (R = 8)": lambda n: tnreg.TensorTrain(order=n, dims=8, ranks=8),
    }
    fig, ax = plt.subplots(figsize=(5, 3))
    for label, make in counts.items():
        ax.plot(orders, [sum(p.numel() for p in make(n).parameters()) for n in orders], "o-",
                label=label)  # fmt: skip
    ax.plot(orders, [8**n for n in orders], "k:", label="dense tensor (8^N)")
    ax.set_yscale("log")
    ax.set_xlabel("order N (d = 8)")
    ax.set_ylabel("parameters")
    ax.legend(fontsize=8)
    return fig


def analysis_figure(plt):
    import tnreg
    from tnreg import trees

    model = tnreg.HierarchicalTensorFactorization(tnreg.balanced(6), dims=5, widths=4, seed=0)
    names = trees.node_names(model.tree)
    spectra = tnreg.node_spectra(model)
    fig, ax = plt.subplots(figsize=(6, 3))
    for i, s in enumerate(spectra.values()):
        values = s[0].numpy()
        ax.semilogy([i] * len(values), values, "o", color="tab:blue")
    ax.set_xticks(range(len(spectra)), [names[v] for v in spectra], rotation=45, fontsize=7)
    ax.set_ylabel("singular values")
    ax.set_title("node spectra of a random HTF, from its Gramians", fontsize=9)
    return fig


def training_figure(plt):
    import torch

    from tnreg.data import completion_task, random_cp_target
    from tnreg.models import CP
    from tnreg.train import TrainConfig, fit

    torch.set_num_threads(1)
    data = completion_task(random_cp_target(4, 6, 3, seed=0), 600, 0, seed=0)
    model = CP(4, 6, rank=20, init_std=5e-3, seed=0)
    config = TrainConfig(steps=3000, track_every=50, lr=1e-2, eps=1e-14, progress=False)
    result = fit(model, data, config)
    steps = [r["step"] for r in result.metrics]
    fig, ax = plt.subplots(figsize=(5, 3))
    for k in range(4):
        ax.plot(steps, [r[f"component/{k}"] for r in result.metrics], label=f"component {k}")
    ax.set_xlabel("step")
    ax.set_ylabel("component norm")
    ax.set_title("CP from small init: the first two of three components rise", fontsize=9)
    ax.legend(fontsize=8)
    return fig


def theory_figure(plt):
    fig, ax = plt.subplots(figsize=(5, 3))
    t = [i * 0.01 for i in range(1, 600)]
    for n in (2, 3, 4):
        # balanced rate dσ/dt = N γ σ^(2-2/N) with γ = 1, σ(0) = 0.05, integrated in closed form
        sigma0, p = 0.05, 2 - 2 / n
        values = []
        for s in t:
            if p == 1:
                values.append(sigma0 * math.exp(n * s))
            else:
                base = sigma0 ** (1 - p) - (1 - p) * n * s
                values.append(base ** (1 / (1 - p)) if base > 0 else math.nan)
        ax.semilogy(t, values, label=f"N = {n}")
    ax.set_xlabel("time t (γ = 1)")
    ax.set_ylabel("σ(t)")
    ax.set_ylim(1e-2, 1e3)
    ax.set_title("dσ/dt = N γ σ^(2-2/N): slow start, fast rise", fontsize=9)
    ax.legend(fontsize=8)
    return fig


def locality_figure(plt):
    from tnreg.locality.pathfinder import pathfinder

    task = pathfinder(4, path_length=6, seed=0, scale=0.5)
    fig, axes = plt.subplots(1, 4, figsize=(9, 2.5))
    for ax, image, label in zip(axes, task.x, task.y):
        ax.imshow(image.squeeze().numpy(), cmap="gray")
        ax.set_title("connected" if int(label) == 1 else "not connected", fontsize=9)
        ax.set_axis_off()
    return fig


FIGURES: dict[str, Callable] = {
    "trees": trees_figure,
    "networks": networks_figure,
    "plans": plans_figure,
    "models": models_figure,
    "analysis": analysis_figure,
    "training": training_figure,
    "theory": theory_figure,
    "locality": locality_figure,
}


def concept_figures() -> dict[str, bytes]:
    """Concept name -> PNG bytes."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return {name: _png(draw(plt)) for name, draw in FIGURES.items()}


def readme_figure() -> bytes:
    """The README's figure: ``examples/cp.toml`` trained (about a minute), its component norms."""
    from pathlib import Path

    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import torch

    from tnreg.data import make_dataset
    from tnreg.train import build_model, fit, load_config

    torch.set_num_threads(1)
    config = load_config(Path(__file__).resolve().parents[2] / "examples" / "cp.toml", [])
    config.progress = False
    result = fit(build_model(config.model), make_dataset(config.data), config)
    steps = [r["step"] for r in result.metrics]
    fig, ax = plt.subplots(figsize=(6, 3))
    for k in range(4):
        ax.plot(steps, [r[f"component/{k}"] for r in result.metrics], label=f"component {k}")
    ax.set_xlabel("step")
    ax.set_ylabel("component norm (sorted)")
    ax.set_title("tnreg train examples/cp.toml: components rise one at a time", fontsize=9)
    ax.legend(fontsize=8)
    return _png(fig)


if __name__ == "__main__":  # the README's figure: python docs/hooks/figures.py
    from pathlib import Path

    target = Path(__file__).resolve().parents[1] / "assets" / "cp-components.png"
    target.parent.mkdir(exist_ok=True)
    target.write_bytes(readme_figure())
    print(f"wrote {target}")
