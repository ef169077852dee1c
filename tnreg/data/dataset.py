"""A dataset: train and test observations of a tensor, and its one-file format.

Vocabulary
----------
dataset
    A :class:`Dataset`: tensors ``train_indices`` (B, N) long and ``train_values`` (B,) float64
    (completion), or ``train_vectors`` (one (B, d_n) tensor per mode) for sensing; the same for
    ``test_*``; the ``target`` (``None`` for real data) and the ``config`` that rebuilds it all
    (:func:`tnreg.data.make_dataset`).
dataset file
    One ``torch.save`` file holding a dict of plain types and tensors (loaded with
    ``weights_only=True``): the format tag and version, the resolved config as JSON, the
    tensors, and the target's config and factors, so a loaded dataset needs no regeneration
    (:func:`save_dataset`, :func:`load_dataset`).
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field, replace
from typing import Any

import torch

from tnreg.data.checks import DataError, check_choice
from tnreg.data.target_config import make_target
from tnreg.data.targets import CPTarget, DenseTarget, Target
from tnreg.devices import check_device

__all__ = ["FORMAT", "KINDS", "SPLITS", "VERSION", "Dataset", "load_dataset", "save_dataset"]

FORMAT = "tnreg.dataset"
VERSION = 1
KINDS = ("completion", "sensing")
SPLITS = ("train", "test")


@dataclass(eq=False)
class Dataset:
    """Train and test observations of a tensor, with the target and config that made them.

    Attributes
    ----------
    kind
        ``"completion"`` (inputs are multi-indices) or ``"sensing"`` (inputs are vectors).
    dims
        Mode sizes of the tensor.
    train_values, test_values
        Observed values, shape (B,) and (B_test,).
    train_indices, test_indices
        Completion: (B, N) long multi-indices; ``None`` for sensing.
    train_vectors, test_vectors
        Sensing: one (B, d_n) tensor per mode; ``None`` for completion.
    target
        The ground truth (``None`` for real data such as images).
    config
        JSON-able dict; ``make_dataset(config)`` rebuilds identical tensors.
    info
        Facts found while building (e.g. duplicate images); JSON-able, not needed to rebuild.
    """

    kind: str
    dims: tuple[int, ...]
    train_values: torch.Tensor
    test_values: torch.Tensor
    train_indices: torch.Tensor | None = None
    test_indices: torch.Tensor | None = None
    train_vectors: list[torch.Tensor] | None = None
    test_vectors: list[torch.Tensor] | None = None
    target: Target | None = None
    config: dict[str, Any] = field(default_factory=dict)
    info: dict[str, Any] = field(default_factory=dict)

    @property
    def order(self) -> int:
        """Number of modes N."""
        return len(self.dims)

    @property
    def num_train(self) -> int:
        """Number of training observations."""
        return int(self.train_values.shape[0])

    @property
    def num_test(self) -> int:
        """Number of test observations."""
        return int(self.test_values.shape[0])

    def inputs(self, split: str = "train") -> torch.Tensor | list[torch.Tensor]:
        """The model inputs of ``split``: indices (completion) or vectors (sensing)."""
        check_choice(split, SPLITS, "split")
        name = "indices" if self.kind == "completion" else "vectors"
        return getattr(self, f"{split}_{name}")

    def values(self, split: str = "train") -> torch.Tensor:
        """The observed values of ``split``."""
        check_choice(split, SPLITS, "split")
        return getattr(self, f"{split}_values")

    def predict(self, model: Any, split: str = "train") -> torch.Tensor:
        """A tnreg model's outputs on ``split``: ``model(indices)`` or ``model.forward_sensing``."""
        x = self.inputs(split)
        return model(x) if self.kind == "completion" else model.forward_sensing(x)

    def to(
        self, device: torch.device | str | None = None, dtype: torch.dtype | None = None
    ) -> Dataset:
        """A copy with tensors on ``device`` and values/vectors in ``dtype`` (indices stay long).

        The target moves to ``device`` and stays float64.
        """
        if dtype is not None and not dtype.is_floating_point:
            raise DataError(f"dtype must be a floating dtype (values); got {dtype}")
        device = check_device(device)

        def move(x: torch.Tensor | None) -> torch.Tensor | None:
            if x is None:
                return None
            return x.to(device=device, dtype=None if not x.is_floating_point() else dtype)

        def move_all(xs: list[torch.Tensor] | None) -> list[torch.Tensor] | None:
            return None if xs is None else [move(x) for x in xs]

        return replace(
            self,
            train_values=move(self.train_values),
            test_values=move(self.test_values),
            train_indices=move(self.train_indices),
            test_indices=move(self.test_indices),
            train_vectors=move_all(self.train_vectors),
            test_vectors=move_all(self.test_vectors),
            target=None if self.target is None or device is None else self.target.to(device),
        )

    def save(self, path: Any) -> None:
        """Save to one file (tensors + config + target factors); see :func:`load_dataset`."""
        save_dataset(self, path)

    @classmethod
    def load(cls, path: Any) -> Dataset:
        """Load a file written by :meth:`save`."""
        return load_dataset(path)

    def __repr__(self) -> str:
        task = self.config.get("task", self.kind)
        same = len(set(self.dims)) == 1 and self.order > 4
        dims = f"({self.dims[0]},)*{self.order}" if same else str(self.dims)
        return (
            f"Dataset(task={task!r}, kind={self.kind!r}, dims={dims}, "
            f"train={self.num_train}, test={self.num_test}, target={self.target!r})"
        )


def _cpu(x: torch.Tensor) -> torch.Tensor:
    return x.detach().to("cpu").clone().contiguous()


def save_dataset(data: Dataset, path: str | os.PathLike) -> None:
    """Write ``data`` to one file; :func:`load_dataset` reads it back identically."""
    tensors: dict[str, torch.Tensor] = {}
    for split in ("train", "test"):
        tensors[f"{split}_values"] = _cpu(data.values(split))
        if data.kind == "completion":
            tensors[f"{split}_indices"] = _cpu(data.inputs(split))
        else:
            for n, x in enumerate(data.inputs(split)):
                tensors[f"{split}_vectors/{n}"] = _cpu(x)
    target = None
    if data.target is not None:
        state = {k: _cpu(v) for k, v in data.target.state().items()}
        target = {"config": json.dumps(data.target.config), "state": state}
    torch.save(
        {
            "format": FORMAT,
            "version": VERSION,
            "kind": data.kind,
            "dims": list(data.dims),
            "config": json.dumps(data.config),
            "info": json.dumps(data.info),
            "tensors": tensors,
            "target": target,
        },
        path,
    )


def _restore_target(config: dict, state: dict[str, torch.Tensor]) -> Target:
    kind = config.get("kind")
    if kind == "cp":
        return CPTarget([state[f"factor/{n}"] for n in range(len(state))], config=config)
    if kind in ("full_rank", "dense"):
        return DenseTarget(state["tensor"], config=config)
    target = make_target(config)
    target.model.load_state_dict(state)
    return target


def load_dataset(path: str | os.PathLike) -> Dataset:
    """Read a file written by :func:`save_dataset` (or ``Dataset.save``), on the CPU.

    Raises
    ------
    DataError
        If the file is not a tnreg dataset file or comes from a newer format version.
    """
    try:
        blob = torch.load(path, map_location="cpu", weights_only=True)
    except FileNotFoundError:
        raise
    except Exception as err:  # torch raises RuntimeError, UnpicklingError, EOFError, ...
        raise DataError(f"{os.fspath(path)!r} is not a tnreg dataset file: {err}") from None
    if not isinstance(blob, dict) or blob.get("format") != FORMAT:
        raise DataError(
            f"{os.fspath(path)!r} is not a tnreg dataset file (no format tag {FORMAT!r}); "
            f"write one with Dataset.save"
        )
    if blob["version"] > VERSION:
        raise DataError(
            f"{os.fspath(path)!r} has dataset format version {blob['version']}; this tnreg "
            f"reads up to {VERSION}: upgrade tnreg"
        )
    t = blob["tensors"]
    fields: dict[str, Any] = {}
    for split in ("train", "test"):
        fields[f"{split}_values"] = t[f"{split}_values"]
        if blob["kind"] == "completion":
            fields[f"{split}_indices"] = t[f"{split}_indices"]
        else:
            fields[f"{split}_vectors"] = [
                t[f"{split}_vectors/{n}"] for n in range(len(blob["dims"]))
            ]
    target = blob["target"]
    if target is not None:
        target = _restore_target(json.loads(target["config"]), target["state"])
    return Dataset(
        kind=blob["kind"],
        dims=tuple(blob["dims"]),
        target=target,
        config=json.loads(blob["config"]),
        info=json.loads(blob["info"]),
        **fields,
    )
