"""Datasets from data configs.

Vocabulary
----------
data config
    A JSON/TOML-able dict with a ``"task"`` key: ``"completion"`` or ``"sensing"`` (with a
    ``"target"`` table, see :func:`tnreg.data.make_target`), ``"digits"`` or ``"mnist"``.
    ``make_dataset(config)`` builds the dataset; the dataset's own ``config`` is the resolved
    one (every default filled in), and ``make_dataset(data.config)`` gives identical tensors,
    bit for bit.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from tnreg.data.checks import DataError, check_choice, check_keys
from tnreg.data.dataset import Dataset
from tnreg.data.images import digits_task, mnist_task
from tnreg.data.target_config import make_target
from tnreg.data.tasks import completion_task, sensing_task

__all__ = ["TASKS", "make_dataset"]

TASKS = ("completion", "sensing", "digits", "mnist")
_SYNTHETIC_KEYS = {"task", "target", "num_train", "num_test", "noise_std", "seed"}
_IMAGE_KEYS = {
    "task", "threshold", "positive", "negative", "control", "values", "test_fraction", "seed"
}  # fmt: skip
_MNIST_KEYS = _IMAGE_KEYS | {"images", "labels", "size"}


def make_dataset(config: Mapping[str, Any]) -> Dataset:
    """Build a dataset from a data config (see the module docstring).

    Keys by task (defaults in parentheses):

    - ``completion`` / ``sensing``: ``target`` (a target config; its ``seed`` defaults to the
      task's), ``num_train``, ``num_test`` (0), ``noise_std`` (0.0), ``seed`` (0).
    - ``digits``: ``threshold`` (8), ``positive`` (6), ``negative`` ("rest", or a class or
      list of classes), ``control`` ("none" | "random_images" | "random_labels"), ``values``
      ([2.0, 0.0]: positive, negative label values), ``test_fraction`` (0.0), ``seed`` (0).
    - ``mnist``: as digits plus ``images``, ``labels`` (IDX paths), ``size`` ([8, 8]; "none"
      keeps full resolution), ``threshold`` (128).

    Raises
    ------
    DataError
        Unknown task or key, or a bad value (the message names the key and the valid values).

    Examples
    --------
    >>> import torch
    >>> data = make_dataset({"task": "completion", "num_train": 100,
    ...                      "target": {"kind": "cp", "order": 3, "dims": 5, "rank": 2}})
    >>> torch.equal(make_dataset(data.config).train_values, data.train_values)
    True
    """
    if not isinstance(config, Mapping) or "task" not in config:
        raise DataError(
            f"a data config needs the key 'task' (one of {list(TASKS)}); got {config!r}"
        )
    task = check_choice(config["task"], TASKS, "data task")
    if task in ("completion", "sensing"):
        cfg = check_keys(config, _SYNTHETIC_KEYS, f"the data config (task={task!r})")
        if "target" not in cfg or "num_train" not in cfg:
            raise DataError(
                f"the data config (task={task!r}) needs the keys 'target' and 'num_train'; "
                f"got {sorted(cfg)}"
            )
        seed = cfg.get("seed", 0)
        target = make_target(cfg["target"], seed=seed)
        build = completion_task if task == "completion" else sensing_task
        return build(
            target,
            cfg["num_train"],
            cfg.get("num_test", 0),
            noise_std=cfg.get("noise_std", 0.0),
            seed=seed,
        )
    keys = _IMAGE_KEYS if task == "digits" else _MNIST_KEYS
    cfg = check_keys(config, keys, f"the data config (task={task!r})")
    del cfg["task"]
    cfg.setdefault("seed", 0)
    if task == "digits":
        return digits_task(**cfg)
    for key in ("images", "labels"):
        if key not in cfg:
            raise DataError(f"the data config (task='mnist') needs the key {key!r} (an IDX path)")
    if cfg.get("size") in ("none", [], None) and "size" in cfg:
        cfg["size"] = None
    return mnist_task(cfg.pop("images"), cfg.pop("labels"), **cfg)
