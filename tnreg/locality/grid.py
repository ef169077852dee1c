"""Grids of locality runs: every (difficulty, λ, seed), a results table, and the paper's figure.

Vocabulary
----------
grid
    Every (difficulty, λ, seed) combination over a base :class:`LocalityConfig`, one run
    directory each (``out/runs/<name>/``, resumable), and a tidy ``out/results.csv`` with one row
    per finished run.
figure
    :func:`plot_sweep`: final test accuracy against difficulty, one line per λ, mean over seeds
    with error bars of one standard deviation (the paper's figure).
"""

from __future__ import annotations

import csv
import json
from collections.abc import Iterable, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np

from tnreg.locality.runner import LocalityConfig, run

__all__ = ["aggregate", "plot_sweep", "read_results", "sweep"]


def _flat(summary: dict[str, Any]) -> dict[str, Any]:
    """The scalar entries of a summary (one CSV row)."""
    return {k: v for k, v in summary.items() if not isinstance(v, (list, dict))}


def sweep(
    base: LocalityConfig,
    *,
    difficulties: Iterable[int],
    regs: Iterable[float],
    seeds: Iterable[int],
    out: str | Path,
) -> list[dict[str, Any]]:
    """Run every (difficulty, λ, seed); write ``out/runs/<name>/`` and ``out/results.csv``."""
    out = Path(out)
    key = "path_length" if base.task == "pathfinder" else "distance"
    rows: list[dict[str, Any]] = []
    regs, seeds = list(regs), list(seeds)
    for d in difficulties:
        for lam in regs:
            for seed in seeds:
                config = replace(base, **{key: int(d)}, reg=float(lam), seed=int(seed))
                summary = run(config, out / "runs" / config.name())
                rows.append(summary)
                with open(out / "results.csv", "w", newline="") as fh:
                    writer = csv.DictWriter(fh, fieldnames=list(_flat(rows[0])))
                    writer.writeheader()
                    writer.writerows(_flat(r) for r in rows)
                if "probe" in summary:
                    probes = {r["name"]: r["probe"] for r in rows if "probe" in r}
                    (out / "probe.json").write_text(json.dumps(probes, indent=1))
                print(
                    f"{config.name():32s} test acc {summary['test_accuracy']:.3f} "
                    f"({summary['epochs_run']} epochs, {summary['stop_reason']}, "
                    f"{summary['seconds']:.0f} s)",
                    flush=True,
                )
    return rows


def read_results(path: str | Path) -> list[dict[str, Any]]:
    """Read a ``results.csv`` written by :func:`sweep` (numbers parsed)."""
    with open(path, newline="") as fh:
        rows = list(csv.DictReader(fh))
    for r in rows:
        for k in ("difficulty", "reg", "seed", "test_accuracy", "seconds"):
            r[k] = float(r[k])
    return rows


def aggregate(rows: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    """Mean and std (over seeds) of the final test accuracy per (difficulty, λ).

    Examples
    --------
    >>> rows = [{"difficulty": 3, "reg": 0.0, "test_accuracy": a} for a in (0.9, 1.0)]
    >>> [(r["mean"], r["n"]) for r in aggregate(rows)]
    [(0.95, 2)]
    """
    keys = sorted({(float(r["difficulty"]), float(r["reg"])) for r in rows})
    out = []
    for d, lam in keys:
        acc = np.array(
            [
                float(r["test_accuracy"])
                for r in rows
                if float(r["difficulty"]) == d and float(r["reg"]) == lam
            ]
        )
        std = float(acc.std(ddof=1)) if len(acc) > 1 else 0.0
        out.append(
            {"difficulty": d, "reg": lam, "mean": float(acc.mean()), "std": std, "n": len(acc)}
        )
    return out


def _connects(xs: Sequence[float], every: Sequence[float]) -> bool:
    """Whether a line through ``xs`` skips none of ``every`` between its ends.

    >>> _connects([3, 9], [3, 5, 7, 9]), _connects([5, 7], [3, 5, 7, 9])
    (False, True)
    """
    return all(x in xs for x in every if min(xs) <= x <= max(xs))


def plot_sweep(rows: Sequence[dict[str, Any]], path: str | Path) -> Path:
    """Test accuracy (%) against difficulty, one line per λ, error bars = std over seeds; a
    dotted line at chance (50 %, both tasks are balanced binary tasks). A λ measured at only
    some of the difficulties between its ends gets markers without a line (no interpolation)."""
    from tnreg.plots import pyplot

    plt = pyplot()

    table = aggregate(rows)
    every = sorted({r["difficulty"] for r in table})
    fig, ax = plt.subplots(figsize=(5, 3.5))
    for lam in sorted({r["reg"] for r in table}):
        part = [r for r in table if r["reg"] == lam]
        xs = [r["difficulty"] for r in part]
        ax.errorbar(
            xs,
            [100 * r["mean"] for r in part],
            [100 * r["std"] for r in part],
            marker="o",
            capsize=3,
            linestyle="-" if _connects(xs, every) else "none",
            label=f"λ = {lam:g}",
        )
    ax.axhline(50, color="grey", linestyle=":", linewidth=1, label="chance")
    ax.set_xticks(every)
    task = rows[0].get("task", "pathfinder") if rows else "pathfinder"
    ax.set_xlabel("path length" if task == "pathfinder" else "distance (pixels)")
    ax.set_ylabel("test accuracy (%)")
    ax.legend()
    fig.tight_layout()
    path = Path(path)
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return path
