"""``tnreg sweep report DIR``: a table over seeds and the sweep's figures (matplotlib, lazily).

Vocabulary
----------
group
    The runs of a sweep that share every axis value and differ only in seed.
table
    One line per group: its axis values, the number of finished seeds (``n``) and
    ``mean ± std`` over them (sample std, ``ddof = 1``; ``±0`` with one seed) of every chosen
    final metric. Runs that failed count in ``failed``, runs not run yet or interrupted in
    ``pending``; both are left out of the means.
final-metric figure
    A final metric against one axis (``x``), one line per value of the other axes, error bars
    one std over seeds (``final-<metric>-vs-<axis>.png``).
curve figure
    A tracked metric over steps from each run's ``metrics.csv``: one line per value of the
    axis, the mean over every run with that value (its seeds, and the values of any other
    axes), band one std (``curve-<metric>-by-<axis>.png``). A metric family such as
    ``component`` (the columns ``component/0``, ``component/1``, ...) draws one panel per axis
    value with one line per member of the family, from the first seed: the papers' component
    norms over iterations per init scale.
"""

from __future__ import annotations

import json
import math
import statistics
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from tnreg.sweep.results import FIXED, is_number, read_results
from tnreg.sweep.spec import SweepError

__all__ = ["aggregate", "format_table", "plot_curves", "plot_final", "report"]

_NOT_METRICS = {"name", "seed", "member", "steps", "wall_time_s", *FIXED}


def _sweep_info(out: Path) -> dict[str, Any]:
    path = out / "sweep.json"
    if not path.is_file():
        raise SweepError(f"no sweep.json in {str(out)!r}; is this a sweep directory?")
    return json.loads(path.read_text())


def axis_labels(info: dict[str, Any]) -> list[str]:
    """The axis columns of ``results.csv`` (labels, in order)."""
    from tnreg.sweep.points import labels

    return list(labels(info["axes"]).values())


def metric_names(rows: Sequence[dict[str, Any]], axes: Sequence[str]) -> list[str]:
    """Numeric final-metric columns of ``results.csv``."""
    names = list(dict.fromkeys(k for r in rows for k in r))
    skip = _NOT_METRICS | set(axes)
    return [n for n in names if n not in skip and any(is_number(r.get(n)) for r in rows)]


def _key(row: dict[str, Any], axes: Sequence[str]) -> tuple:
    return tuple(json.dumps(row.get(a)) for a in axes)


def aggregate(
    rows: Sequence[dict[str, Any]], axes: Sequence[str], metrics: Sequence[str]
) -> list[dict[str, Any]]:
    """One dict per group: axis values, ``n``, ``failed``, ``pending`` and ``(mean, std)`` per
    metric."""
    groups: dict[tuple, list[dict[str, Any]]] = {}
    for row in rows:
        groups.setdefault(_key(row, axes), []).append(row)
    out = []
    for members in groups.values():
        ok = [r for r in members if r.get("status") in ("done", "nonfinite")]
        entry: dict[str, Any] = {a: members[0].get(a) for a in axes}
        entry["n"] = len(ok)
        entry["failed"] = sum(1 for r in members if r.get("status") == "failed")
        entry["pending"] = len(members) - len(ok) - entry["failed"]
        for m in metrics:
            values = [float(r[m]) for r in ok if is_number(r.get(m))]
            mean = statistics.fmean(values) if values else math.nan
            std = statistics.stdev(values) if len(values) > 1 else 0.0 if values else math.nan
            entry[m] = (mean, std)
        out.append(entry)
    return out


def format_table(groups: Sequence[dict[str, Any]], axes: Sequence[str], metrics: Sequence[str]):
    """The aggregated table as aligned text."""
    head = [*axes, "n", "failed", "pending", *metrics]
    lines = [
        [str(g[a]) for a in axes]
        + [str(g["n"]), str(g["failed"]), str(g["pending"])]
        + [f"{g[m][0]:.4g} ± {g[m][1]:.2g}" for m in metrics]
        for g in groups
    ]
    widths = [
        max(len(h), *(len(r[i]) for r in lines)) if lines else len(h) for i, h in enumerate(head)
    ]
    text = ["  ".join(h.ljust(w) for h, w in zip(head, widths))]
    text += ["  ".join(c.ljust(w) for c, w in zip(r, widths)) for r in lines]
    return "\n".join(text)


def _pyplot() -> Any:
    from tnreg.plots import pyplot

    return pyplot()


def _sortable(value: Any) -> tuple:
    return (0, value, "") if is_number(value) else (1, 0, json.dumps(value))


def plot_final(rows, axes: Sequence[str], metric: str, x: str):
    """A final metric against axis ``x``, one line per value of the other axes; the figure."""
    plt = _pyplot()
    others = [a for a in axes if a != x]
    groups = aggregate(rows, axes, [metric])
    fig, ax = plt.subplots(figsize=(5, 3.5))
    lines: dict[tuple, list[dict[str, Any]]] = {}
    for g in groups:
        lines.setdefault(tuple(json.dumps(g[a]) for a in others), []).append(g)
    for key, gs in lines.items():
        gs = sorted(gs, key=lambda g: _sortable(g[x]))
        xs = [g[x] if is_number(g[x]) else str(g[x]) for g in gs]
        label = ", ".join(f"{a}={json.loads(v)}" for a, v in zip(others, key)) or None
        ax.errorbar(
            xs,
            [g[metric][0] for g in gs],
            yerr=[g[metric][1] for g in gs],
            marker="o",
            capsize=3,
            label=label,
        )
    if all(is_number(g[x]) and g[x] > 0 for g in groups) and len(groups) > 1:
        values = sorted(g[x] for g in groups)
        if values[-1] / values[0] >= 20:
            ax.set_xscale("log")
    ax.set_xlabel(x)
    ax.set_ylabel(f"final {metric}")
    if others:
        ax.legend(fontsize=7)
    ax.set_title(f"{metric} vs {x} (mean ± std over seeds)", fontsize=9)
    fig.tight_layout()
    return fig


def _curve_columns(run: Path, metric: str) -> tuple[list[float], dict[str, list[float]]]:
    from tnreg.train import read_metrics

    rows = [r for r in read_metrics(run) if r.get("member", 0) == 0]
    columns = [c for c in (rows[0] if rows else {}) if c == metric or c.startswith(metric + "/")]
    return [r["step"] for r in rows], {c: [float(r[c]) for r in rows] for c in columns}


def plot_curves(out: Path, rows, axes: Sequence[str], metric: str, by: str):
    """A tracked metric over steps, one line per value of ``by`` (see the module docstring)."""
    import numpy as np

    plt = _pyplot()
    values = sorted({json.dumps(r.get(by)) for r in rows}, key=lambda v: _sortable(json.loads(v)))
    done = [r for r in rows if r.get("status") in ("done", "nonfinite", "interrupted")]
    family = False
    fig, axs = plt.subplots(1, len(values), figsize=(4 * len(values), 3.2), squeeze=False)
    for i, value in enumerate(values):
        runs = [r for r in done if json.dumps(r.get(by)) == value]
        curves = [_curve_columns(out / r["name"], metric) for r in runs]
        curves = [c for c in curves if c[1]]
        ax = axs[0][min(i, len(values) - 1)]
        if not curves:
            continue
        family = family or metric not in curves[0][1]
        if family:  # one panel per value: every column of the family, first seed
            steps, cols = curves[0]
            for name, ys in cols.items():
                ax.plot(steps, ys, label=name.rsplit("/", 1)[-1])
            ax.set_title(f"{by}={json.loads(value)} (seed {runs[0]['seed']})", fontsize=9)
            ax.set_yscale("log") if all(y > 0 for ys in cols.values() for y in ys) else None
        else:
            n = min(len(c[0]) for c in curves)
            ys = np.array([c[1][metric][:n] for c in curves])
            mean, std = ys.mean(0), ys.std(0)
            target = axs[0][0]
            target.plot(curves[0][0][:n], mean, label=f"{by}={json.loads(value)}")
            target.fill_between(curves[0][0][:n], mean - std, mean + std, alpha=0.2)
        ax.set_xlabel("step")
    if not family:
        for ax in axs[0][1:]:
            ax.set_visible(False)
        axs[0][0].legend(fontsize=7)
        axs[0][0].set_ylabel(metric)
        fig.set_size_inches(5, 3.5)
    fig.suptitle(f"{metric} over steps by {by}", fontsize=9)
    fig.tight_layout()
    return fig


def report(
    out: str | Path,
    *,
    metrics: Sequence[str] = (),
    x: str | None = None,
    curve: str | None = None,
    figures: bool = True,
    formats: Sequence[str] = ("png",),
) -> tuple[str, list[Path]]:
    """The aggregated table (text) and the written figure files of the sweep in ``out``.

    Parameters
    ----------
    out
        The sweep directory.
    metrics
        Final metrics of the table and figures (default: the sweep's ``metrics``, else all).
    x
        Axis of the figures (default: the first axis).
    curve
        Tracked metric (or family) drawn over steps (default: the sweep's ``curve``).
    figures, formats
        Whether to draw the figures (into ``out/figures``) and in which formats.

    Raises
    ------
    SweepError
        If ``out`` is not a sweep directory, or a metric or axis is unknown.
    """
    out = Path(out)
    info, rows = _sweep_info(out), read_results(out)
    axes = axis_labels(info)
    known = metric_names(rows, axes)
    chosen = list(metrics) or [m for m in info.get("metrics", []) if m in known] or known
    bad = [m for m in chosen if m not in known]
    if bad:
        raise SweepError(f"unknown metric {bad[0]!r} in {str(out)!r}; valid options: {known}")
    if x is not None and x not in axes:
        raise SweepError(f"unknown axis {x!r} in {str(out)!r}; valid options: {axes}")
    text = format_table(aggregate(rows, axes, chosen), axes, chosen)
    written: list[Path] = []
    if figures and axes:
        written = _draw(out, rows, axes, chosen, x or axes[0], curve or info.get("curve"), formats)
    return text, written


def _draw(out, rows, axes, metrics, x, curve, formats) -> list[Path]:
    folder = out / "figures"
    folder.mkdir(exist_ok=True)
    figs = {f"final-{m.replace('/', '_')}-vs-{x}": plot_final(rows, axes, m, x) for m in metrics}
    if curve:
        figs[f"curve-{curve.replace('/', '_')}-by-{x}"] = plot_curves(out, rows, axes, curve, x)
    from tnreg.plots import save_figures

    return save_figures(figs, folder, formats, dpi=110)
