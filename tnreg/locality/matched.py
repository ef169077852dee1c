"""The locality probe across training: initialization, matched train accuracy, the end.

Vocabulary
----------
run directory
    What :func:`tnreg.locality.run` writes; with ``snapshots`` it keeps the weights after every
    epoch (:func:`tnreg.locality.snapshot_path`), ``epoch 0`` being the initialization.
reference and baseline
    Two runs of the same seed and task that differ in the regularizer, e.g. λ = 9 (reference)
    and λ = 0 (baseline). They start from the same weights (the seed draws the initialization).
matched train accuracy
    The baseline's snapshot whose train accuracy (``metrics.csv``: the accuracy over that epoch's
    batches) is closest to the reference's final train accuracy; ties go to the earlier epoch.
    It is chosen from train accuracy only, never from validation or test data, so a difference
    in locality between the two is not a difference in how well they fit.
"""

from __future__ import annotations

import csv
import json
from dataclasses import fields
from pathlib import Path
from typing import Any

import torch
from torch import nn

from tnreg.locality.probe import profile_model
from tnreg.locality.runner import LocalityConfig, make_model, make_task, snapshot_path

__all__ = ["compare_locality", "load_run_model", "matched_epoch", "run_config"]


def run_config(run_dir: str | Path) -> LocalityConfig:
    """The :class:`LocalityConfig` of a run directory (from its ``config.json``)."""
    path = Path(run_dir) / "config.json"
    if not path.is_file():
        raise ValueError(f"{str(run_dir)!r} is not a locality run directory: no config.json")
    known = {f.name for f in fields(LocalityConfig)}
    return LocalityConfig(**{k: v for k, v in json.loads(path.read_text()).items() if k in known})


def _train_accuracies(run_dir: Path) -> list[float]:
    """Train accuracy per finished epoch (``metrics.csv``); at least one."""
    path = run_dir / "metrics.csv"
    history = []
    if path.is_file():
        with open(path, newline="") as fh:
            history = [float(row["train_acc"]) for row in csv.DictReader(fh)]
    if not history:
        raise ValueError(f"run {str(run_dir)!r} has no finished epoch in metrics.csv")
    return history


def load_run_model(run_dir: str | Path, epoch: int | None = None) -> nn.Module:
    """The network of a run: after ``epoch`` (a snapshot; 0 = initialization) or, with ``None``,
    from the last checkpoint. Returned on the CPU, in eval mode.

    Raises
    ------
    ValueError
        If the run kept no snapshot of ``epoch`` (run it with ``snapshots=True``).
    """
    run_dir = Path(run_dir)
    config = run_config(run_dir)
    if epoch is None:
        state = torch.load(run_dir / "checkpoint.pt", map_location="cpu", weights_only=False)
        weights = state["model"]
    else:
        path = snapshot_path(run_dir, epoch)
        if not path.is_file():
            raise ValueError(
                f"run {str(run_dir)!r} has no snapshot of epoch {epoch} ({path.name}); "
                "train it with snapshots=True (tnreg locality --snapshots)"
            )
        weights = torch.load(path, map_location="cpu", weights_only=True)
    first_conv = next(w for w in weights.values() if w.ndim == 4)
    model = make_model(config, first_conv.shape[1], _image_side(config))
    model.load_state_dict(weights)
    return model.eval()


def _image_side(config: LocalityConfig) -> int:
    if config.task == "pathfinder":
        from tnreg.locality.pathfinder import image_side

        return image_side(config.scale, config.window)
    return config.canvas


def matched_epoch(run_dir: str | Path, train_accuracy: float) -> int:
    """The epoch (>= 1) of ``run_dir`` whose train accuracy is closest to ``train_accuracy``."""
    return _closest(_train_accuracies(Path(run_dir)), train_accuracy)


def _closest(history: list[float], train_accuracy: float) -> int:
    return min(range(len(history)), key=lambda k: abs(history[k] - train_accuracy)) + 1


def compare_locality(
    reference: str | Path, baseline: str | Path, *, n_images: int = 64, seed: int = 0
) -> dict[str, Any]:
    """The locality profile (:func:`~tnreg.locality.probe.profile_model`) of four networks.

    ``init`` (the common initialization), ``baseline_matched`` (the baseline at the reference's
    final train accuracy), ``baseline_final`` and ``reference_final``, each probed on the first
    ``n_images`` test images of the reference's task with the same patch pairs (``seed``).

    Returns
    -------
    dict
        ``profiles`` (name -> rows of ``distance``, ``interaction``, ``erank`` with their stds),
        ``train_accuracy`` (name -> train accuracy of that network's epoch; ``None`` at
        initialization) and ``matched_epoch``.
    """
    reference, baseline = Path(reference), Path(baseline)
    ref_config = run_config(reference)
    ref_acc = _train_accuracies(reference)[-1]
    base_acc = _train_accuracies(baseline)
    epoch = _closest(base_acc, ref_acc)
    networks = {
        "init": (load_run_model(reference, 0), None),
        "baseline_matched": (load_run_model(baseline, epoch), base_acc[epoch - 1]),
        "baseline_final": (load_run_model(baseline), base_acc[-1]),
        "reference_final": (load_run_model(reference), ref_acc),
    }
    _, _, test = make_task(ref_config)
    size = max(2, ref_config.patch_size)
    profiles = {
        name: profile_model(model, test, patch_size=size, seed=seed, n_images=n_images)
        for name, (model, _) in networks.items()
    }
    return {
        "profiles": profiles,
        "train_accuracy": {name: acc for name, (_, acc) in networks.items()},
        "matched_epoch": epoch,
    }
