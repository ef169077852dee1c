"""The papers' figures from run directories (matplotlib, imported lazily).

Vocabulary
----------
run directory
    What :func:`tnreg.train.fit` writes: ``config.json`` and a tidy ``metrics.csv`` with one row
    per (tracked step, ensemble member) and one column per metric (see :mod:`tnreg.train.rundir`).
series
    One curve family: one ensemble member of one run, labelled by the run's name and, when the
    members differ in init std, by the member's init std. Several runs (init scales, seeds) are
    overlaid by passing several run directories.
metric families
    ``component/<k>`` (CP component norms, sorted descending), ``local/<node>/<k>`` (local
    component norms at interior nodes), ``sigma/<node>/<k>`` (top singular values of the node
    matricizations), ``erank/<node>`` and ``rank/<node>`` (effective and numerical rank),
    ``train_mse`` / ``test_mse`` / ``normalized_error`` (reconstruction errors).

:func:`plot_runs` writes every figure the metrics allow, as PNG and PDF; the ``plot_*`` functions
draw one figure each and return it. ``import tnreg`` never imports this module or matplotlib.
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

__all__ = [
    "FORMATS",
    "Series",
    "load_series",
    "plot_components",
    "plot_effective_ranks",
    "plot_error_vs_rank",
    "plot_errors",
    "plot_local_components",
    "plot_runs",
    "plot_singular_values",
    "plot_tree_ranks",
    "run_tree",
]

FORMATS = ("png", "pdf")
ERRORS = ("train_mse", "test_mse", "normalized_error")


def pyplot() -> Any:
    """``matplotlib.pyplot``, imported on first use, with the extra to install when it is missing.

    The backend is left to matplotlib (Agg without a display, inline in notebooks).
    """
    try:
        import matplotlib.pyplot as plt
    except ImportError as err:  # pragma: no cover - depends on the environment
        raise ImportError("tnreg.plots needs matplotlib: pip install 'tnreg[plot]'") from err
    return plt


@dataclass
class Series:
    """The metrics of one ensemble member of one run, as arrays over tracked steps.

    Attributes
    ----------
    label
        Legend text (run name, plus the member's init std when members differ).
    run
        The run directory.
    member
        The ensemble member (0 for a single model).
    steps
        ``(T,)`` tracked steps, increasing.
    columns
        Metric name -> ``(T,)`` float array (NaN where a row left the cell empty).
    config
        The run's ``config.json`` (empty when it is missing).
    """

    label: str
    run: Path
    member: int
    steps: np.ndarray
    columns: dict[str, np.ndarray]
    config: dict[str, Any] = field(default_factory=dict)

    def family(self, prefix: str) -> list[np.ndarray]:
        """The columns ``prefix/0``, ``prefix/1``, ... in order of k (empty if none)."""
        out = []
        while f"{prefix}/{len(out)}" in self.columns:
            out.append(self.columns[f"{prefix}/{len(out)}"])
        return out

    def nodes(self, kind: str) -> list[str]:
        """Node names that have a ``kind/<node>...`` column, in column order."""
        seen: dict[str, None] = {}
        for name in self.columns:
            parts = name.split("/")
            if parts[0] == kind and len(parts) >= 2:
                seen.setdefault(parts[1], None)
        return list(seen)


def _read_rows(run: Path) -> list[dict[str, float]]:
    from tnreg.train.rundir import read_metrics

    return read_metrics(run)


def _member_label(config: dict[str, Any], member: int, members: int) -> str:
    std = config.get("model", {}).get("init_std")
    if isinstance(std, list) and len(set(std)) > 1 and member < len(std):
        return f"init {std[member]:g}"
    return f"member {member}" if members > 1 else ""


def load_series(run_dirs: Sequence[str | Path]) -> list[Series]:
    """Read run directories into one :class:`Series` per (run, ensemble member).

    Raises
    ------
    ValueError
        If no run directory is given, or one has no metric rows.
    tnreg.train.rundir.RunDirError
        If a path has no ``metrics.csv``.
    """
    if not run_dirs:
        raise ValueError("plots need at least one run directory; got none")
    out: list[Series] = []
    for run in map(Path, run_dirs):
        rows = _read_rows(run)
        if not rows:
            raise ValueError(f"run directory {str(run)!r} has no metric rows yet; train first")
        config_path = run / "config.json"
        config = json.loads(config_path.read_text()) if config_path.is_file() else {}
        members = sorted({int(r.get("member", 0)) for r in rows})
        for m in members:
            mine = sorted(
                (r for r in rows if int(r.get("member", 0)) == m), key=lambda r: r["step"]
            )
            names = [k for k in mine[0] if k not in ("step", "time_s", "member")]
            columns = {k: np.array([float(r.get(k, math.nan)) for r in mine]) for k in names}
            extra = _member_label(config, m, len(members))
            label = run.name if len(run_dirs) > 1 or not extra else ""
            label = ", ".join(x for x in (label, extra) if x) or run.name
            steps = np.array([r["step"] for r in mine], dtype=float)
            out.append(Series(label, run, m, steps, columns, config))
    return out


def _as_series(runs: Sequence[Series] | Sequence[str | Path]) -> list[Series]:
    runs = list(runs)
    if runs and all(isinstance(r, Series) for r in runs):
        return runs
    return load_series(runs)


def _grid(plt: Any, panels: int, *, width: float = 4.0, height: float = 3.0) -> tuple:
    cols = min(panels, 3)
    rows = math.ceil(panels / cols)
    fig, axes = plt.subplots(rows, cols, figsize=(width * cols, height * rows), squeeze=False)
    flat = list(axes.ravel())
    for ax in flat[panels:]:
        ax.set_visible(False)
    return fig, flat[:panels]


def _run_colors(plt: Any, series: Sequence[Series]) -> list[str]:
    """One colour per series, fixed across every panel (a run keeps its colour everywhere)."""
    cycle = plt.rcParams["axes.prop_cycle"].by_key()["color"]
    return [cycle[i % len(cycle)] for i in range(len(series))]


def _run_legend(ax: Any, series: Sequence[Series], colors: Sequence[str]) -> None:
    """A legend naming every series in its colour, also those without data in ``ax``."""
    from matplotlib.lines import Line2D

    handles = [Line2D([], [], color=c, label=s.label) for s, c in zip(series, colors)]
    ax.legend(handles=handles, fontsize=7)


def _positive(y: np.ndarray) -> np.ndarray:
    return np.where(y > 0, y, np.nan)


def plot_components(runs: Sequence[Series] | Sequence[str | Path], *, prefix: str = "component"):
    """CP component norms over iterations: one panel per series, one curve per component k.

    ``prefix`` selects another family, e.g. ``"local/0-3"`` for the root's local components.
    Returns the figure.

    Raises
    ------
    ValueError
        If no series has a ``<prefix>/0`` column.
    """
    plt = pyplot()
    series = [s for s in _as_series(runs) if s.family(prefix)]
    if not series:
        raise ValueError(
            f"no '{prefix}/<k>' columns in these runs; track them with the 'components' tracker"
        )
    fig, axes = _grid(plt, len(series))
    for ax, s in zip(axes, series):
        for k, y in enumerate(s.family(prefix)):
            ax.plot(s.steps, y, label=f"{k}" if k < 10 else None)
        ax.set_title(s.label, fontsize=9)
        ax.set_xlabel("iteration")
        ax.set_ylabel("norm")
    axes[0].legend(title="k (by size)", fontsize=7)
    fig.suptitle(f"{prefix} norms (sorted descending)")
    fig.tight_layout()
    return fig


def plot_local_components(runs: Sequence[Series] | Sequence[str | Path]):
    """Local component norms: one panel per interior node, series overlaid by colour.

    Raises
    ------
    ValueError
        If the runs have no ``local/<node>/<k>`` columns.
    """
    return _per_node(runs, "local", "local component norms", log=False)


def plot_singular_values(runs: Sequence[Series] | Sequence[str | Path]):
    """Top singular values of each node's matricization: one panel per node (log scale).

    Raises
    ------
    ValueError
        If the runs have no ``sigma/<node>/<k>`` columns.
    """
    return _per_node(runs, "sigma", "top singular values", log=True)


def _per_node(runs, kind: str, title: str, *, log: bool):
    plt = pyplot()
    series = _as_series(runs)
    nodes = list(dict.fromkeys(n for s in series for n in s.nodes(kind)))
    if not nodes:
        raise ValueError(f"no '{kind}/<node>/<k>' columns in these runs; track them first")
    fig, axes = _grid(plt, len(nodes))
    colors = plt.rcParams["axes.prop_cycle"].by_key()["color"]
    runs_colors = _run_colors(plt, series)
    for ax, node in zip(axes, nodes):
        for i, s in enumerate(series):
            for k, y in enumerate(s.family(f"{kind}/{node}")):
                if len(series) == 1:  # one run: a colour per k
                    color, label, alpha = colors[k % len(colors)], f"{k}", 1.0
                else:  # several runs: a colour per run, fading with k
                    color, label = runs_colors[i], None
                    alpha = max(0.3, 1.0 - 0.15 * k)
                ax.plot(s.steps, _positive(y) if log else y, color=color, alpha=alpha,
                        label=label)  # fmt: skip
        if log:
            ax.set_yscale("log")
        ax.set_title(f"node {node}", fontsize=9)
        ax.set_xlabel("iteration")
    if len(series) > 1:
        _run_legend(axes[0], series, runs_colors)
    else:
        axes[0].legend(fontsize=7, title="k")
    fig.suptitle(title)
    fig.tight_layout()
    return fig


def plot_effective_ranks(runs: Sequence[Series] | Sequence[str | Path]):
    """Effective rank of every node's matricization over iterations, one panel per node.

    Raises
    ------
    ValueError
        If the runs have no ``erank/<node>`` columns.
    """
    plt = pyplot()
    series = _as_series(runs)
    nodes = list(dict.fromkeys(n for s in series for n in s.nodes("erank")))
    if not nodes:
        raise ValueError("no 'erank/<node>' columns in these runs; track them with 'spectra'")
    fig, axes = _grid(plt, len(nodes), height=2.6)
    colors = _run_colors(plt, series)
    for ax, node in zip(axes, nodes):
        for s, color in zip(series, colors):
            if f"erank/{node}" in s.columns:
                ax.plot(s.steps, s.columns[f"erank/{node}"], label=s.label, color=color)
        ax.set_title(f"node {node}", fontsize=9)
        ax.set_xlabel("iteration")
        ax.set_ylabel("effective rank")
    if len(series) > 1:
        _run_legend(axes[0], series, colors)
    fig.tight_layout()
    return fig


def plot_errors(runs: Sequence[Series] | Sequence[str | Path]):
    """Train/test MSE and normalized reconstruction error over iterations (log scale).

    Raises
    ------
    ValueError
        If the runs track none of ``train_mse``, ``test_mse``, ``normalized_error``.
    """
    plt = pyplot()
    series = _as_series(runs)
    present = [e for e in ERRORS if any(e in s.columns for s in series)]
    if not present:
        raise ValueError(f"none of {list(ERRORS)} in these runs; track them with 'errors'")
    fig, axes = _grid(plt, len(present))
    colors = _run_colors(plt, series)
    for ax, name in zip(axes, present):
        for s, color in zip(series, colors):
            if name in s.columns:
                ax.plot(s.steps, _positive(s.columns[name]), label=s.label, color=color)
        ax.set_yscale("log")
        ax.set_title(name.replace("_", " "), fontsize=9)
        ax.set_xlabel("iteration")
    if len(series) > 1:
        _run_legend(axes[0], series, colors)
    fig.tight_layout()
    return fig


def plot_error_vs_rank(
    table: dict[str, list[tuple[int, float]]],
    out: str | Path,
    *,
    formats: Sequence[str] = FORMATS,
) -> list[Path]:
    """Final train error against CP rank, one curve per dataset (real data and controls).

    ``table`` maps a dataset label to ``(rank, error)`` pairs; writes ``error_vs_rank.*`` to
    ``out`` and returns the files.
    """
    plt = pyplot()
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    fig, ax = plt.subplots(figsize=(5.0, 3.5))
    for label, rows in table.items():
        ranks, errors = zip(*sorted(rows)) if rows else ((), ())
        ax.plot(ranks, _positive(np.asarray(errors, dtype=float)), marker="o", label=label)
    ax.set_yscale("log")
    ax.set_xlabel("CP rank")
    ax.set_ylabel("final train MSE")
    ax.legend(fontsize=8)
    fig.tight_layout()
    written = []
    for fmt in formats:
        written.append(out / f"error_vs_rank.{fmt}")
        fig.savefig(written[-1], dpi=120)
    plt.close(fig)
    return written


def run_tree(config: dict[str, Any]):
    """The mode tree of a run, from its ``config.json`` (``model.kind``, ``tree``, ``order``).

    Raises
    ------
    ValueError
        If the config has no ``model`` table.
    """
    from tnreg.train import build_tree

    model = config.get("model")
    if not isinstance(model, dict):
        raise ValueError("config.json has no 'model' table; cannot tell which mode tree was used")
    return build_tree(model)


def plot_tree_ranks(tree, ranks: dict[str, Any], ax=None, *, title: str = ""):
    """Draw ``tree`` with every non-root node annotated by its rank.

    Parameters
    ----------
    tree
        The mode tree.
    ranks
        Node name (:func:`tnreg.trees.node_names`) -> rank (or any short text).
    ax
        Axes to draw on (default: a new figure).
    title
        Axes title.

    Returns
    -------
    matplotlib.figure.Figure
    """
    plt = pyplot()
    from tnreg import tree_display, trees

    if ax is None:
        _, ax = plt.subplots(figsize=(max(4.0, 0.9 * trees.order(tree)), 1.6 + trees.depth(tree)))
    trees.draw(tree, ax=ax)
    pos = tree_display.layout(tree)
    names = trees.node_names(tree)
    for v, (x, y) in pos.items():
        if names[v] in ranks:
            ax.annotate(f"r={ranks[names[v]]}", (x, y), xytext=(8, 4),
                        textcoords="offset points", fontsize=8, color="tab:red")  # fmt: skip
    ax.set_title(title or "numerical rank at each node", fontsize=9)
    return ax.figure


def _final_ranks(s: Series) -> dict[str, int]:
    out = {}
    for node in s.nodes("rank"):
        y = s.columns[f"rank/{node}"]
        y = y[~np.isnan(y)]
        if len(y):
            out[node] = int(y[-1])
    return out


def _tree_figure(series: list[Series]):
    plt = pyplot()
    with_ranks = [s for s in series if s.nodes("rank") and s.config.get("model")]
    if not with_ranks:
        return None
    fig, axes = _grid(plt, len(with_ranks), height=3.0)
    for ax, s in zip(axes, with_ranks):
        plot_tree_ranks(run_tree(s.config), _final_ranks(s), ax=ax, title=s.label)
    return fig


_FIGURES = {
    "components": plot_components,
    "local_components": plot_local_components,
    "singular_values": plot_singular_values,
    "effective_ranks": plot_effective_ranks,
    "errors": plot_errors,
}


def plot_runs(
    run_dirs: Sequence[str | Path],
    out: str | Path | None = None,
    *,
    formats: Sequence[str] = FORMATS,
) -> list[Path]:
    """Write every figure the runs' metrics allow; returns the written files.

    Parameters
    ----------
    run_dirs
        One or more run directories (overlaid).
    out
        Output folder (default: ``figures/`` of the first run).
    formats
        File formats among :data:`FORMATS`.

    Raises
    ------
    ValueError
        On an unknown format, or runs with nothing to plot.
    """
    bad = [f for f in formats if f not in FORMATS]
    if bad or not formats:
        raise ValueError(f"unknown figure format(s) {bad}; valid options: {list(FORMATS)}")
    pyplot()  # without matplotlib, fail before reading any run
    series = load_series(run_dirs)
    out = Path(out) if out is not None else Path(run_dirs[0]) / "figures"
    out.mkdir(parents=True, exist_ok=True)
    figures = {}
    for name, draw in _FIGURES.items():
        try:
            figures[name] = draw(series)
        except ValueError:
            continue
    tree_fig = _tree_figure(series)
    if tree_fig is not None:
        figures["tree_ranks"] = tree_fig
    if not figures:
        raise ValueError(f"nothing to plot in {[str(r) for r in run_dirs]}: no tracked metrics")
    return save_figures(figures, out, formats, dpi=120)


def save_figures(
    figures: dict[str, Any], folder: Path, formats: Sequence[str], *, dpi: int
) -> list[Path]:
    """Write each figure as ``folder/NAME.FMT`` for every format, close it; the paths written."""
    plt = pyplot()
    written = []
    for name, fig in figures.items():
        for fmt in formats:
            written.append(folder / f"{name}.{fmt}")
            fig.savefig(written[-1], dpi=dpi)
        plt.close(fig)
    return written
