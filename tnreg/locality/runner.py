"""Train one classifier on a locality task, with or without the regularizer, resumably.

Vocabulary
----------
config
    A frozen :class:`LocalityConfig`: task and difficulty, data sizes and data seed, model,
    optimizer, the regularizer's ``reg`` (λ) and patch sampler, the stop rule, seed, device.
    Its defaults are the authors' protocol: ResNet-18, SGD (lr 1e-2, momentum 0.9, batch 64,
    constant learning rate), up to 150 epochs, stop 20 epochs after the first epoch with 100%
    train accuracy, 2×2 patches (``I`` uniform, ``J`` uniform among the positions not overlapping
    ``I``), inputs standardized with the train set's mean and std, 10,000 train and 10,000 test
    images (plus 1,000 validation images for any model selection).
difficulty
    Pathfinder's ``path_length`` or Is-Same-Class's ``distance``.
run directory
    ``config.json``, ``metrics.csv`` (one row per epoch: train loss and accuracy, penalty,
    validation and test accuracy, seconds), ``checkpoint.pt`` (written after every epoch; a
    second call on the same directory resumes from it), ``summary.json`` (the final test
    accuracy, epochs run, stop reason; written when training ends) and, with ``snapshots``,
    ``snapshots/epoch-NNN.pt`` (the model's weights after epoch ``NNN``; ``epoch-000.pt`` at
    initialization).
stop rule
    :func:`stop_reason`: ``"perfect_train_accuracy"`` ``patience`` epochs after the first epoch
    whose train accuracy (over that epoch's batches) is 1, ``"max_epochs"`` after ``epochs``.
extending a run
    ``epochs`` is the one setting a run directory lets change (:data:`EXTENDABLE`): a run that
    stopped at its epoch limit goes on from its checkpoint when called with more epochs. The
    learning rate is constant and the shuffling and patch generators are checkpointed, so the
    result is the run that would have had the larger limit from the start. A limit below the
    epochs already run is refused.

Everything runs in float32, the penalty and its double backward included.
"""

from __future__ import annotations

import csv
import functools
import hashlib
import json
import math
import os
import time
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, fields
from pathlib import Path
from typing import Any

import torch
from torch import nn

from tnreg.devices import check_device
from tnreg.locality.data import TaskData
from tnreg.locality.patches import RandomPatches
from tnreg.locality.pathfinder import pathfinder
from tnreg.locality.regularizer import LocalityRegularizer
from tnreg.locality.resnet import resnet18, resnet34
from tnreg.locality.small_cnn import SmallCNN

__all__ = [
    "EXTENDABLE",
    "MODELS",
    "OPTIMIZERS",
    "TASKS",
    "LocalityConfig",
    "make_model",
    "make_task",
    "run",
    "run_point",
    "snapshot_path",
    "stop_reason",
    "wants_more_epochs",
]

#: Accepted task names.
TASKS: tuple[str, ...] = ("pathfinder", "same-class")
#: Accepted optimizer names: SGD with momentum (the paper's), or Adam.
OPTIMIZERS: tuple[str, ...] = ("sgd", "adam")
#: Accepted model names.
MODELS: tuple[str, ...] = ("small", "resnet18", "resnet34")

#: Settings a run directory lets change: raising ``epochs`` continues a run (see above).
EXTENDABLE: tuple[str, ...] = ("epochs",)

_POSITIVE = ("path_length", "canvas", "n_train", "n_test", "epochs", "patch_size")


@dataclass(frozen=True)
class LocalityConfig:
    """Everything one training run needs (see the module docstring); validated on creation."""

    task: str = "pathfinder"
    path_length: int = 9
    scale: float = 1.0
    window: float = 300.0
    distance: int = 160
    canvas: int = 224
    cifar_root: str = ""
    n_train: int = 10000
    n_val: int = 1000
    n_test: int = 10000
    data_seed: int = 0
    model: str = "resnet18"
    width: float = 1.0
    depth: int = 4
    epochs: int = 150
    patience: int = 20
    batch_size: int = 64
    optimizer: str = "sgd"
    lr: float = 1e-2
    momentum: float = 0.9
    reg: float = 0.0
    patch_size: int = 2
    min_distance: float = 0.0
    penalty_batch: int = 0
    snapshots: bool = False
    data_cache: str = ""
    standardize: bool = True
    seed: int = 0
    device: str = "auto"
    progress: bool = False
    probe: bool = False

    def __post_init__(self) -> None:
        for name, options in (("task", TASKS), ("optimizer", OPTIMIZERS), ("model", MODELS)):
            if getattr(self, name) not in options:
                raise ValueError(
                    f"unknown {name}={getattr(self, name)!r}; valid options: {list(options)}"
                )
        for name in _POSITIVE:
            if getattr(self, name) < 1:
                raise ValueError(f"LocalityConfig.{name} must be >= 1; got {getattr(self, name)}")
        for name in (
            "distance",
            "n_val",
            "patience",
            "data_seed",
            "seed",
            "momentum",
            "min_distance",
            "penalty_batch",
        ):
            if getattr(self, name) < 0:
                raise ValueError(f"LocalityConfig.{name} must be >= 0; got {getattr(self, name)}")
        if self.batch_size < 2:
            raise ValueError(f"LocalityConfig.batch_size must be >= 2; got {self.batch_size}")
        if self.penalty_batch == 1 or self.penalty_batch > self.batch_size:
            raise ValueError(
                "LocalityConfig.penalty_batch must be 0 (the whole batch) or in "
                f"[2, batch_size={self.batch_size}]; got {self.penalty_batch}"
            )
        for name in ("width", "lr", "scale"):
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


#: Settings that change where or how visibly a run happens, never its numbers.
_NOT_IDENTITY = ("device", "progress", "data_cache")


def _standardize(train: TaskData, *others: TaskData) -> tuple[TaskData, ...]:
    """Subtract the train set's mean and divide by its std (all sets, train statistics)."""
    mean, std = float(train.x.mean()), float(train.x.std())
    out = []
    for d in (train, *others):
        out.append(TaskData((d.x - mean) / std, d.y, {**d.meta, "mean": mean, "std": std}))
    return tuple(out)


@functools.lru_cache(maxsize=2)
def _task_cached(key: tuple[tuple[str, Any], ...]) -> tuple[TaskData, TaskData, TaskData]:
    c = dict(key)
    seeds = (3 * c["data_seed"], 3 * c["data_seed"] + 1, 3 * c["data_seed"] + 2)
    sizes = (c["n_train"], max(c["n_val"], 2), c["n_test"])
    if c["task"] == "pathfinder":
        kw = {"path_length": c["path_length"], "scale": c["scale"], "window": c["window"]}
        sets = tuple(pathfinder(n, seed=s, **kw) for n, s in zip(sizes, seeds))
    else:
        from tnreg.locality.same_class import canvases

        sets = canvases(
            sizes,
            distance=c["distance"],
            canvas=c["canvas"],
            seeds=seeds,
            cifar_root=c["cifar_root"] or None,
        )
    return _standardize(*sets) if c["standardize"] else sets


def make_task(config: LocalityConfig) -> tuple[TaskData, TaskData, TaskData]:
    """Train, validation and test sets for ``config`` (from ``data_seed``; cached in memory).

    With ``config.data_cache`` (a directory) the sets are also kept on disk, one file per data
    setting, so that every process of a grid generates each data set once.
    """
    names = (
        "task",
        "path_length",
        "scale",
        "window",
        "distance",
        "canvas",
        "cifar_root",
        "n_train",
    )
    names += ("n_val", "n_test", "data_seed", "standardize")
    key = tuple((k, getattr(config, k)) for k in names)
    if not config.data_cache:
        return _task_cached(key)
    digest = hashlib.sha256(repr(key).encode()).hexdigest()[:16]
    path = Path(config.data_cache) / f"{config.task}-{config.difficulty}-{digest}.pt"
    if path.is_file():
        return torch.load(path, weights_only=False)
    sets = _task_cached(key)
    path.parent.mkdir(parents=True, exist_ok=True)
    _save_atomic(sets, path)
    return sets


def _save_atomic(obj: Any, path: Path) -> None:
    """``torch.save`` through a file of this process, renamed into place: a killed process never
    leaves a torn file, and processes writing the same file at once both succeed."""
    tmp = path.with_name(f"{path.name}.{os.getpid()}.tmp")
    torch.save(obj, tmp)
    tmp.replace(path)


def make_model(config: LocalityConfig, in_channels: int, image_side: int) -> nn.Module:
    """The classifier named by ``config.model`` (two logits), initialized from ``config.seed``."""
    torch.manual_seed(config.seed)
    if config.model == "small":
        width = max(1, round(16 * config.width))
        return SmallCNN(in_channels=in_channels, num_classes=2, width=width, depth=config.depth)
    build = resnet18 if config.model == "resnet18" else resnet34
    stem = "imagenet" if image_side >= 64 else "cifar"
    return build(num_classes=2, in_channels=in_channels, width=config.width, stem=stem)


def stop_reason(train_accuracies: Sequence[float], *, epochs: int, patience: int) -> str | None:
    """Why training stops after these epochs, or ``None`` to go on (see the module docstring).

    Examples
    --------
    >>> stop_reason([0.9, 1.0, 0.99, 1.0], epochs=150, patience=2)
    'perfect_train_accuracy'
    >>> stop_reason([0.9, 1.0], epochs=150, patience=2) is None
    True
    >>> stop_reason([0.5, 0.6], epochs=2, patience=20)
    'max_epochs'
    """
    first = next((i for i, a in enumerate(train_accuracies, 1) if a >= 1.0), None)
    if first is not None and len(train_accuracies) >= first + patience:
        return "perfect_train_accuracy"
    if len(train_accuracies) >= epochs:
        return "max_epochs"
    return None


def _device(name: str) -> torch.device:
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    return check_device(name)


def _accuracy(model: nn.Module, data: TaskData, device: torch.device) -> float:
    model.eval()
    correct = 0
    with torch.no_grad():
        for start in range(0, len(data), 1024):
            pred = model(data.x[start : start + 1024].to(device)).argmax(1).cpu()
            correct += int((pred == data.y[start : start + 1024]).sum())
    model.train()
    return correct / len(data)


def _optimizer(config: LocalityConfig, model: nn.Module) -> torch.optim.Optimizer:
    if config.optimizer == "sgd":
        return torch.optim.SGD(model.parameters(), lr=config.lr, momentum=config.momentum)
    return torch.optim.Adam(model.parameters(), lr=config.lr)


@dataclass
class _State:
    """What a checkpoint holds besides the model and optimizer."""

    metrics: list[dict[str, float]]
    order: torch.Generator
    reg: LocalityRegularizer
    step_time: float = 0.0
    steps: int = 0


def _epoch(
    model: nn.Module,
    opt: torch.optim.Optimizer,
    train: TaskData,
    config: LocalityConfig,
    state: _State,
    device: torch.device,
) -> dict[str, float]:
    """One pass over the shuffled train set (the last partial batch dropped)."""
    batch = config.batch_size
    sub = 0 < config.penalty_batch < batch  # the penalty on the batch's first samples only
    order = torch.randperm(len(train), generator=state.order)
    loss_sum = pen_sum = 0.0
    correct = seen = 0
    for k in range(len(train) // batch):
        idx = order[k * batch : (k + 1) * batch]
        x, y = train.x[idx].to(device), train.y[idx].to(device)
        t0 = time.perf_counter()
        x.requires_grad_(config.reg > 0 and not sub)
        logits = model(x)
        loss = nn.functional.cross_entropy(logits, y)
        if sub:
            k = config.penalty_batch
            penalty = state.reg(model, x[:k], y[:k])
        else:
            penalty = state.reg(model, x, y, logits=logits)
        opt.zero_grad(set_to_none=True)
        (loss + penalty).backward()
        opt.step()
        state.step_time += time.perf_counter() - t0
        state.steps += 1
        loss_sum += float(loss.detach()) * len(idx)
        pen_sum += (state.reg.last_penalty if config.reg else 0.0) * len(idx)
        correct += int((logits.detach().argmax(1) == y).sum())
        seen += len(idx)
    return {"train_loss": loss_sum / seen, "train_acc": correct / seen, "penalty": pen_sum / seen}


def _write_csv(path: Path, rows: Sequence[dict[str, Any]]) -> None:
    with open(path, "w", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)


def _save(path: Path, model: nn.Module, opt: torch.optim.Optimizer, state: _State) -> None:
    """Write the checkpoint atomically (a killed run never leaves a torn file)."""
    _save_atomic(
        {
            "model": model.state_dict(),
            "optimizer": opt.state_dict(),
            "metrics": state.metrics,
            "order": state.order.get_state(),
            "reg": state.reg.generator.get_state(),
            "step_time": state.step_time,
            "steps": state.steps,
        },
        path,
    )


def snapshot_path(run_dir: str | Path, epoch: int) -> Path:
    """Where a run with ``snapshots`` keeps the weights after ``epoch`` (0: initialization)."""
    return Path(run_dir) / "snapshots" / f"epoch-{epoch:03d}.pt"


def _snapshot(out: Path, model: nn.Module, epoch: int) -> None:
    path = snapshot_path(out, epoch)
    path.parent.mkdir(exist_ok=True)
    _save_atomic(model.state_dict(), path)


def _load(path: Path, model: nn.Module, opt: torch.optim.Optimizer, state: _State) -> None:
    ckpt = torch.load(path, map_location="cpu", weights_only=False)
    model.load_state_dict(ckpt["model"])
    opt.load_state_dict(ckpt["optimizer"])
    state.metrics = ckpt["metrics"]
    state.order.set_state(ckpt["order"])
    state.reg.generator.set_state(ckpt["reg"])
    state.step_time, state.steps = ckpt["step_time"], ckpt["steps"]


def _epochs_run(out: Path) -> int:
    """How many epochs the run directory's ``metrics.csv`` holds (0 without one)."""
    try:
        with open(out / "metrics.csv", newline="") as fh:
            return sum(1 for _ in csv.DictReader(fh))
    except OSError:
        return 0


def _prepare(config: LocalityConfig, out: Path | None) -> None:
    """Create ``out`` and its ``config.json``; refuse a directory made by another config.

    Only :data:`EXTENDABLE` settings may differ, and ``epochs`` not below the epochs run.
    """
    if out is None:
        return
    out.mkdir(parents=True, exist_ok=True)
    path = out / "config.json"
    mine = {k: v for k, v in asdict(config).items() if k not in _NOT_IDENTITY}
    if path.exists():
        theirs = {**asdict(LocalityConfig()), **json.loads(path.read_text())}
        diff = {k: (theirs.get(k), v) for k, v in mine.items() if theirs.get(k) != v}
        fixed = {k: v for k, v in diff.items() if k not in EXTENDABLE}
        if fixed:
            raise ValueError(
                f"run directory {str(out)!r} holds another config (setting: (there, here)): "
                f"{fixed}; use a new directory"
            )
        done = _epochs_run(out) if "epochs" in diff else 0
        if config.epochs < done:
            raise ValueError(
                f"run directory {str(out)!r} has run {done} epochs; epochs={config.epochs} "
                f"asks for fewer. Use epochs >= {done} to continue it, or a new directory"
            )
    path.write_text(json.dumps(mine, indent=2))


def wants_more_epochs(summary: Mapping[str, Any], epochs: int) -> bool:
    """Whether a finished run (its ``summary.json``) stopped at an epoch limit below ``epochs``.

    Such a run goes on from its checkpoint when called with ``epochs`` (the sweep asks this too).

    >>> wants_more_epochs({"stop_reason": "max_epochs", "epochs_run": 8}, 16)
    True
    >>> wants_more_epochs({"stop_reason": "perfect_train_accuracy", "epochs_run": 8}, 16)
    False
    """
    return summary.get("stop_reason") == "max_epochs" and summary.get("epochs_run", epochs) < epochs


def run(config: LocalityConfig, out: str | Path | None = None) -> dict[str, Any]:
    """Train one classifier; returns the summary (also written to ``out`` when given).

    Cross-entropy on two logits plus ``reg · Reg`` (the locality regularizer on a fresh patch
    pair per step, score = logit difference) when ``reg > 0``; the optimizer and stop rule of
    ``config``. With ``out``, every epoch is checkpointed and a second call resumes; a finished
    run directory returns its summary without training, unless ``config`` raises the ``epochs``
    it stopped at: then training goes on from its checkpoint (see "extending a run" above).
    """
    out = None if out is None else Path(out)
    if config.snapshots and out is None:
        raise ValueError("LocalityConfig.snapshots needs a run directory: pass out=")
    _prepare(config, out)
    if out is not None and (out / "summary.json").exists():
        summary = json.loads((out / "summary.json").read_text())
        if not wants_more_epochs(summary, config.epochs):
            return summary
        (out / "summary.json").unlink()  # unfinished again until the new limit
    device = _device(config.device)
    train, val, test = make_task(config)
    model = make_model(config, train.image_shape[0], train.image_shape[-1]).to(device)
    opt = _optimizer(config, model)
    sampler = RandomPatches(size=config.patch_size, min_distance=config.min_distance)
    state = _State(
        [],
        torch.Generator().manual_seed(config.seed),
        LocalityRegularizer(config.reg, sampler, seed=config.seed),
    )
    ckpt = None if out is None else out / "checkpoint.pt"
    if ckpt is not None and ckpt.exists():
        _load(ckpt, model, opt, state)
    elif config.snapshots:
        _snapshot(out, model, 0)
    t_start = time.perf_counter() - (state.metrics[-1]["seconds"] if state.metrics else 0.0)
    history = [m["train_acc"] for m in state.metrics]
    reason = stop_reason(history, epochs=config.epochs, patience=config.patience)
    while reason is None:
        row: dict[str, float] = {"epoch": len(state.metrics) + 1}
        row.update(_epoch(model, opt, train, config, state, device))
        row["val_acc"] = _accuracy(model, val, device)
        row["test_acc"] = _accuracy(model, test, device)
        row["seconds"] = time.perf_counter() - t_start
        state.metrics.append(row)
        if config.progress:
            print(
                f"{config.name()} epoch {row['epoch']}: "
                + ", ".join(f"{k} {v:.4g}" for k, v in row.items() if k != "epoch"),
                flush=True,
            )
        if out is not None:
            if config.snapshots:
                _snapshot(out, model, int(row["epoch"]))
            _save(ckpt, model, opt, state)
            _write_csv(out / "metrics.csv", state.metrics)
        history.append(row["train_acc"])
        reason = stop_reason(history, epochs=config.epochs, patience=config.patience)
    summary = _summary(config, state, reason, device)
    summary["input_mean"] = train.meta.get("mean")
    summary["input_std"] = train.meta.get("std")
    if config.probe:
        from tnreg.locality.probe import profile_model

        summary["probe"] = profile_model(
            model, test, patch_size=max(2, config.patch_size), seed=config.seed
        )
    if out is not None:
        (out / "summary.json").write_text(json.dumps(summary, indent=2))
    return summary


def _summary(
    config: LocalityConfig, state: _State, reason: str, device: torch.device
) -> dict[str, Any]:
    last = state.metrics[-1]
    best = max(state.metrics, key=lambda m: (m["val_acc"], m["epoch"]))
    return {
        "name": config.name(),
        "task": config.task,
        "difficulty": config.difficulty,
        "reg": config.reg,
        "seed": config.seed,
        "model": config.model,
        "test_accuracy": last["test_acc"],
        "val_accuracy": last["val_acc"],
        "train_accuracy": last["train_acc"],
        "best_val_epoch": best["epoch"],
        "test_accuracy_at_best_val": best["test_acc"],
        "penalty": last["penalty"],
        "epochs_run": len(state.metrics),
        "stop_reason": reason,
        "seconds": last["seconds"],
        "sec_per_step": state.step_time / max(1, state.steps),
        "device": str(device),
    }


#: Other names :func:`run_point` accepts for settings.
ALIASES: dict[str, str] = {"length": "path_length", "gap": "distance", "lambda": "reg", "λ": "reg"}


def run_point(settings: Mapping[str, Any], run_dir: Path) -> dict[str, Any]:
    """Train one point of a grid into ``run_dir`` (resuming from its checkpoint); the summary.

    ``settings`` maps :class:`LocalityConfig` field names (or the aliases ``length``, ``gap``,
    ``lambda``) to values; the rest keep the config's defaults (the authors' protocol).

    Raises
    ------
    ValueError
        For an unknown setting (the message lists the valid names), an invalid value, or a
        ``run_dir`` that holds another config.
    """
    valid = {f.name for f in fields(LocalityConfig)}
    kw = {ALIASES.get(k, k): v for k, v in settings.items()}
    unknown = sorted(set(kw) - valid)
    if unknown:
        raise ValueError(
            f"unknown locality settings {unknown}; valid names: {sorted(valid | set(ALIASES))}"
        )
    return run(LocalityConfig(**kw), Path(run_dir))
