"""Train classifiers on the locality tasks with and without the regularizer; sweep and plot.

Vocabulary
----------
config
    A frozen :class:`LocalityConfig`: task and difficulty, data sizes, model, optimizer, the
    regularizer's ``reg`` (λ) and patch sampler, seed, device.
difficulty
    Pathfinder's ``path_length`` or Is-Same-Class's ``distance``.
run directory
    ``config.json`` (the config), ``metrics.csv`` (one row per epoch: losses, accuracies, the
    penalty, seconds) and ``summary.json`` (final and best test accuracy, time per step).
sweep
    Every (difficulty, λ, seed) combination, one run directory each, and a tidy
    ``results.csv`` with one row per run; :func:`plot_sweep` draws test accuracy against
    difficulty, one line per λ, error bars over seeds (the paper's figure).

On CUDA the runner uses bfloat16 autocast and channels-last tensors; on CPU plain float32.
tqdm (``pip install tnreg[progress]``) draws progress bars when installed.
"""

from __future__ import annotations

import csv
import json
import math
import time
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any

import torch
from torch import nn

from tnreg.locality.data import TaskData
from tnreg.locality.patches import RandomPatches
from tnreg.locality.pathfinder import pathfinder
from tnreg.locality.probe import locality_profile
from tnreg.locality.regularizer import LocalityRegularizer
from tnreg.locality.resnet import resnet18, resnet34
from tnreg.locality.same_class import digits, same_class, split_sources
from tnreg.locality.small_cnn import SmallCNN

__all__ = [
    "MODELS",
    "OPTIMIZERS",
    "TASKS",
    "LocalityConfig",
    "make_model",
    "make_task",
    "plot_sweep",
    "run",
    "sweep",
]

#: Accepted task names.
TASKS: tuple[str, ...] = ("pathfinder", "same-class")
#: Accepted optimizer names: SGD with momentum 0.9 (the paper's), or Adam.
OPTIMIZERS: tuple[str, ...] = ("sgd", "adam")
#: Accepted model names.
MODELS: tuple[str, ...] = ("small", "resnet18", "resnet34")


@dataclass(frozen=True)
class LocalityConfig:
    """Everything one training run needs (see the module docstring); validated on creation."""

    task: str = "pathfinder"
    path_length: int = 9
    distance: int = 24
    image_size: int = 32
    n_train: int = 4000
    n_test: int = 1000
    model: str = "small"
    width: float = 1.0
    epochs: int = 10
    batch_size: int = 64
    optimizer: str = "sgd"
    lr: float = 1e-2
    reg: float = 0.0
    patch_size: int | None = None
    min_distance: float | None = None
    seed: int = 0
    device: str = "auto"
    progress: bool = True
    probe: bool = False

    def __post_init__(self) -> None:
        if self.task not in TASKS:
            raise ValueError(f"unknown task={self.task!r}; valid options: {list(TASKS)}")
        if self.optimizer not in OPTIMIZERS:
            raise ValueError(
                f"unknown optimizer={self.optimizer!r}; valid options: {list(OPTIMIZERS)}"
            )
        if self.model not in MODELS:
            raise ValueError(f"unknown model={self.model!r}; valid options: {list(MODELS)}")
        positive = (
            "path_length",
            "distance",
            "image_size",
            "n_train",
            "n_test",
            "epochs",
            "batch_size",
            "patch_size",
        )
        for name in positive:
            if getattr(self, name) is not None and getattr(self, name) < 1:
                raise ValueError(f"LocalityConfig.{name} must be >= 1; got {getattr(self, name)}")
        if self.batch_size < 2:
            raise ValueError(f"LocalityConfig.batch_size must be >= 2; got {self.batch_size}")
        for name in ("width", "lr"):
            if not getattr(self, name) > 0:
                raise ValueError(f"LocalityConfig.{name} must be > 0; got {getattr(self, name)}")
        if not (math.isfinite(self.reg) and self.reg >= 0):
            raise ValueError(f"LocalityConfig.reg must be a finite number >= 0; got {self.reg}")

    @property
    def difficulty(self) -> int:
        """Path length for Pathfinder, distance for Is-Same-Class."""
        return self.path_length if self.task == "pathfinder" else self.distance

    def name(self) -> str:
        """The run directory's name, e.g. ``pathfinder-9-reg3-seed0``."""
        return f"{self.task}-{self.difficulty}-reg{self.reg:g}-seed{self.seed}"


def make_task(config: LocalityConfig) -> tuple[TaskData, TaskData]:
    """Train and test sets for ``config`` (disjoint seeds / source images)."""
    if config.task == "pathfinder":
        kw = {"path_length": config.path_length, "image_size": config.image_size}
        train = pathfinder(config.n_train, seed=2 * config.seed, **kw)
        return train, pathfinder(config.n_test, seed=2 * config.seed + 1, **kw)
    (xa, ya), (xb, yb) = split_sources(*digits(), seed=config.seed)
    train = same_class(xa, ya, config.n_train, distance=config.distance, seed=2 * config.seed)
    test = same_class(xb, yb, config.n_test, distance=config.distance, seed=2 * config.seed + 1)
    return train, test


def make_model(config: LocalityConfig, in_channels: int, num_classes: int = 2) -> nn.Module:
    """The classifier named by ``config.model``, initialized from ``config.seed``."""
    torch.manual_seed(config.seed)
    if config.model == "small":
        return SmallCNN(
            in_channels=in_channels, num_classes=num_classes, width=max(1, round(16 * config.width))
        )
    build = resnet18 if config.model == "resnet18" else resnet34
    stem = "imagenet" if config.image_size >= 64 else "cifar"
    return build(num_classes=num_classes, in_channels=in_channels, width=config.width, stem=stem)


def _device(name: str) -> torch.device:
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    return torch.device(name)


def _progress(total: int, enabled: bool, desc: str) -> Any:
    """A tqdm bar, or a no-op stand-in when tqdm is missing or ``enabled`` is false."""
    if enabled:
        try:
            from tqdm.auto import tqdm

            return tqdm(total=total, desc=desc, leave=False)
        except ImportError:
            pass

    class _Null:
        def update(self, n: int = 1) -> None: ...
        def set_postfix(self, **kw: Any) -> None: ...
        def close(self) -> None: ...

    return _Null()


def _accuracy(model: nn.Module, data: TaskData, device: torch.device, amp: bool) -> float:
    model.eval()
    correct = 0
    with torch.no_grad(), torch.autocast(device.type, torch.bfloat16, enabled=amp):
        for start in range(0, len(data), 1024):
            x = data.x[start : start + 1024].to(device)
            if amp:
                x = x.contiguous(memory_format=torch.channels_last)
            pred = model(x).argmax(1).cpu()
            correct += int((pred == data.y[start : start + 1024]).sum())
    model.train()
    return correct / len(data)


def _patch_size(config: LocalityConfig, height: int, width: int) -> int:
    """``config.patch_size``, or by default a sixth of the shorter side (at least 2 pixels)."""
    return config.patch_size or max(2, min(height, width) // 6)


def _sampler(config: LocalityConfig, height: int, width: int) -> RandomPatches:
    d = width / 2 if config.min_distance is None else config.min_distance
    return RandomPatches(size=_patch_size(config, height, width), min_distance=d)


def _probe(model: nn.Module, config: LocalityConfig, test: TaskData) -> list[dict[str, float]]:
    """The locality profile at five horizontal distances, on 64 test images."""
    _, height, width = test.image_shape
    size = _patch_size(config, height, width)
    distances = sorted({round(size + k * (width - 2 * size) / 4) for k in range(5)})
    x = test.x[:64].to(next(model.parameters()).device)
    return locality_profile(
        model, x, patch_size=size, distances=distances, n_samples=16, n_bases=8, seed=config.seed
    )


def _write_csv(path: Path, rows: Sequence[dict[str, Any]]) -> None:
    with open(path, "w", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)


def run(config: LocalityConfig, out: str | Path | None = None) -> dict[str, Any]:
    """Train one classifier; returns the summary (also written to ``out`` when given).

    SGD (momentum 0.9) or Adam with a cosine learning-rate schedule, cross-entropy on two logits,
    plus
    ``reg · Reg`` (the locality regularizer on random patch pairs, score = logit difference)
    when ``reg > 0``.
    """
    device = _device(config.device)
    amp = device.type == "cuda"
    train, test = make_task(config)
    model = make_model(config, train.image_shape[0]).to(device)
    if amp:
        model = model.to(memory_format=torch.channels_last)
    sampler = _sampler(config, *train.image_shape[1:])
    reg = LocalityRegularizer(config.reg, sampler, seed=config.seed)
    steps_per_epoch = len(train) // config.batch_size
    if config.optimizer == "sgd":
        opt = torch.optim.SGD(model.parameters(), lr=config.lr, momentum=0.9)
    else:
        opt = torch.optim.Adam(model.parameters(), lr=config.lr)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, config.epochs * steps_per_epoch)
    gen = torch.Generator().manual_seed(config.seed)
    bar = _progress(config.epochs * steps_per_epoch, config.progress, config.name())
    metrics, t_start, step_time = [], time.perf_counter(), 0.0
    for epoch in range(1, config.epochs + 1):
        order = torch.randperm(len(train), generator=gen)
        sums = torch.zeros(3)
        for k in range(steps_per_epoch):
            idx = order[k * config.batch_size : (k + 1) * config.batch_size]
            x, y = train.x[idx].to(device), train.y[idx].to(device)
            if amp:
                x = x.contiguous(memory_format=torch.channels_last)
            t0 = time.perf_counter()
            x.requires_grad_(config.reg > 0)
            with torch.autocast(device.type, torch.bfloat16, enabled=amp):
                logits = model(x)
                loss = nn.functional.cross_entropy(logits.float(), y)
                penalty = reg(model, x, y, logits=logits)
            opt.zero_grad(set_to_none=True)
            (loss + penalty).backward()
            opt.step()
            sched.step()
            step_time += time.perf_counter() - t0
            acc = (logits.argmax(1) == y).float().mean()
            sums += torch.tensor(
                [float(loss.detach()), float(acc), reg.last_penalty if config.reg else 0.0]
            )
            bar.update()
        row = {
            "epoch": epoch,
            **dict(zip(["train_loss", "train_acc", "penalty"], (sums / steps_per_epoch).tolist())),
        }
        row["test_acc"] = _accuracy(model, test, device, amp)
        row["seconds"] = time.perf_counter() - t_start
        metrics.append(row)
        bar.set_postfix(test_acc=f"{row['test_acc']:.3f}")
    bar.close()
    summary = {
        "name": config.name(),
        "task": config.task,
        "difficulty": config.difficulty,
        "reg": config.reg,
        "seed": config.seed,
        "model": config.model,
        "test_acc": metrics[-1]["test_acc"],
        "best_test_acc": max(m["test_acc"] for m in metrics),
        "train_acc": metrics[-1]["train_acc"],
        "penalty": metrics[-1]["penalty"],
        "seconds": metrics[-1]["seconds"],
        "sec_per_step": step_time / (config.epochs * steps_per_epoch),
        "device": str(device),
    }
    if config.probe:
        summary["probe"] = _probe(model, config, test)
    if out is not None:
        out = Path(out)
        out.mkdir(parents=True, exist_ok=True)
        (out / "config.json").write_text(json.dumps(asdict(config), indent=2))
        _write_csv(out / "metrics.csv", metrics)
        (out / "summary.json").write_text(json.dumps(summary, indent=2))
    return summary


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
    rows = []
    for d in difficulties:
        for lam in regs:
            for seed in seeds:
                config = replace(base, **{key: int(d)}, reg=float(lam), seed=int(seed))
                summary = run(config, out / "runs" / config.name())
                rows.append(summary)
                _write_csv(out / "results.csv", [_flat(r) for r in rows])
                if "probe" in summary:
                    probes = {r["name"]: r["probe"] for r in rows if "probe" in r}
                    (out / "probe.json").write_text(json.dumps(probes, indent=1))
                print(
                    f"{config.name():32s} test acc {summary['test_acc']:.3f} "
                    f"({summary['seconds']:.0f} s, {1e3 * summary['sec_per_step']:.1f} ms/step)",
                    flush=True,
                )
    return rows


def read_results(path: str | Path) -> list[dict[str, Any]]:
    """Read a ``results.csv`` written by :func:`sweep` (numbers parsed)."""
    with open(path, newline="") as fh:
        rows = list(csv.DictReader(fh))
    for r in rows:
        for k in ("difficulty", "reg", "seed", "test_acc", "best_test_acc", "seconds"):
            r[k] = float(r[k])
    return rows


def plot_sweep(rows: Sequence[dict[str, Any]], path: str | Path) -> Path:
    """Test accuracy against difficulty, one line per λ, error bars = std over seeds."""
    import matplotlib

    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(5, 3.5))
    for lam in sorted({float(r["reg"]) for r in rows}):
        ds = sorted({float(r["difficulty"]) for r in rows if float(r["reg"]) == lam})
        accs = [
            torch.tensor(
                [
                    100 * float(r["test_acc"])
                    for r in rows
                    if float(r["reg"]) == lam and float(r["difficulty"]) == d
                ]
            )
            for d in ds
        ]
        ax.errorbar(
            ds,
            [float(a.mean()) for a in accs],
            [float(a.std()) if len(a) > 1 else 0.0 for a in accs],
            marker="o",
            capsize=3,
            label=f"λ = {lam:g}",
        )
    task = rows[0]["task"] if rows else ""
    ax.set_xlabel("path length" if task == "pathfinder" else "distance (pixels)")
    ax.set_ylabel("test accuracy (%)")
    ax.legend()
    fig.tight_layout()
    path = Path(path)
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return path
