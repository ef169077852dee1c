"""``tnreg reproduce NAME``: train a preset's runs, draw its figures, print its summary.

Vocabulary
----------
output folder
    ``OUT/<run name>/`` is one run directory per run of the preset (with its own
    ``figures/``); ``OUT/figures/`` holds the preset's overlaid figures and ``OUT/summary.txt``
    the printed summary.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from tnreg.experiments.presets import Preset, RunSpec, get_preset
from tnreg.experiments.summary import summarize_member, summary_table

__all__ = ["ReproduceResult", "default_out", "reproduce", "train_spec"]


@dataclass
class ReproduceResult:
    """What :func:`reproduce` made: run directories, figure files and the summary text."""

    preset: str
    out: Path
    run_dirs: list[Path]
    figures: list[Path]
    summary: str
    seconds: float


def default_out(name: str, quick: bool) -> Path:
    """``runs/<name>[-quick]``."""
    return Path("runs") / (name + ("-quick" if quick else ""))


def train_spec(spec: RunSpec, run_dir: Path, *, device: str | None = None):
    """Build the model and the data of one run spec and train it into ``run_dir``.

    Returns the :class:`tnreg.train.RunResult`.
    """
    from tnreg.data import make_dataset
    from tnreg.train import TrainConfig, build_model, fit
    from tnreg.train.config import resolve_device, resolve_dtype

    config = TrainConfig.from_dict(spec.config, where=f"preset run {spec.name!r}")
    if device is not None:
        config.device = device
        config.validate()
    data = make_dataset(config.data)
    config.data = data.config
    model = build_model(
        config.model, dtype=resolve_dtype(config.dtype), device=resolve_device(config.device)
    )
    return fit(model, data, config, run_dir=run_dir)


def _summarize(preset: Preset, run_dirs: list[Path]) -> str:
    from tnreg.plots import load_series

    if preset.name == "rank-complexity":
        return _rank_table(run_dirs)
    rows = []
    for s in load_series(run_dirs):
        family = preset.family
        if family == "local/root":
            family = f"local/{s.nodes('local')[-1]}"
        rows.append(summarize_member(s, family))
    return summary_table(rows)


def _rank_records(run_dirs: list[Path]) -> dict[str, list[tuple[int, float]]]:
    from tnreg.plots import load_series

    table: dict[str, list[tuple[int, float]]] = {}
    for s in load_series(run_dirs):
        control = s.config["data"].get("control", "none")
        table.setdefault(control, []).append(
            (int(s.config["model"]["widths"]), float(s.columns["train_mse"][-1]))
        )
    return {k: sorted(v) for k, v in table.items()}


def _rank_table(run_dirs: list[Path]) -> str:
    table = _rank_records(run_dirs)
    ranks = sorted({r for rows in table.values() for r, _ in rows})
    lines = ["final train MSE by CP rank (rows) and data (columns)"]
    lines.append("rank " + "".join(f"{c:>15}" for c in table))
    for r in ranks:
        cells = [dict(rows).get(r, math.nan) for rows in table.values()]
        lines.append(f"{r:4d} " + "".join(f"{x:15.4g}" for x in cells))
    return "\n".join(lines)


def _figures(preset: Preset, run_dirs: list[Path], out: Path, formats) -> list[Path]:
    from tnreg import plots

    if preset.name == "rank-complexity":
        return plots.plot_error_vs_rank(_rank_records(run_dirs), out / "figures", formats=formats)
    written = plots.plot_runs(run_dirs, out / "figures", formats=formats)
    if len(run_dirs) > 1:
        for run in run_dirs:
            written += plots.plot_runs([run], formats=formats)
    return written


def reproduce(
    name: str,
    *,
    quick: bool = False,
    out: str | Path | None = None,
    device: str | None = None,
    figures: bool = True,
    formats: Sequence[str] = ("png", "pdf"),
    echo: Callable[[str], None] = print,
) -> ReproduceResult:
    """Run the preset ``name``: train, plot, summarize (see the module docstring).

    Parameters
    ----------
    name
        A preset of :data:`tnreg.experiments.presets.PRESETS`.
    quick
        The CPU variant (minutes).
    out
        Output folder (default :func:`default_out`); must not hold the preset's runs yet.
    device
        Override the presets' ``device`` (``"auto"``: CUDA when available).
    figures
        Draw the figures (needs matplotlib).
    formats
        Figure file formats.
    echo
        Where progress lines and the summary go.

    Raises
    ------
    ValueError
        On an unknown preset, or a run directory that already exists.
    """
    preset = get_preset(name)
    out = Path(out) if out is not None else default_out(name, quick)
    specs = preset.runs(quick)
    t0 = time.perf_counter()
    run_dirs = []
    echo(f"{preset.name}{' (quick)' if quick else ''}: {preset.title}")
    for i, spec in enumerate(specs, 1):
        run_dir = out / spec.name
        t1 = time.perf_counter()
        result = train_spec(spec, run_dir, device=device)
        echo(
            f"  [{i}/{len(specs)}] {spec.name}: {result.message} "
            f"({time.perf_counter() - t1:.0f} s) -> {run_dir}"
        )
        run_dirs.append(run_dir)
    summary = _summarize(preset, run_dirs)
    written = _figures(preset, run_dirs, out, formats) if figures else []
    if preset.reference:
        summary += f"\nreference: {preset.reference}"
    (out / "summary.txt").write_text(summary + "\n")
    echo(summary)
    if written:
        echo(f"figures: {out / 'figures'}")
    return ReproduceResult(preset.name, out, run_dirs, written, summary, time.perf_counter() - t0)
