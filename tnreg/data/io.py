"""Targets and datasets from configs, and datasets to and from one file.

Vocabulary
----------
data config
    A JSON/TOML-able dict with a ``"task"`` key: ``"completion"`` or ``"sensing"`` (with a
    ``"target"`` table, see :func:`make_target`), ``"digits"`` or ``"mnist"``.
    ``make_dataset(config)`` builds the dataset; the dataset's own ``config`` is the resolved
    one (every default filled in), and ``make_dataset(data.config)`` gives identical tensors,
    bit for bit.
dataset file
    One ``torch.save`` file holding a dict of plain types and tensors (loaded with
    ``weights_only=True``): the format tag and version, the resolved config as JSON, the
    tensors, and the target's config and factors, so a loaded dataset needs no regeneration.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from typing import Any

import torch

from tnreg.data.checks import DataError, check_choice, check_keys
from tnreg.data.targets import (
    CPTarget,
    DenseTarget,
    Target,
    random_cp_target,
    random_full_rank_target,
)
from tnreg.data.tasks import Dataset, completion_task, sensing_task
from tnreg.data.tree_targets import random_deep_target, random_tree_target, tree_from_config

__all__ = [
    "FORMAT",
    "TARGET_KEYS",
    "TASKS",
    "load_dataset",
    "make_dataset",
    "make_target",
    "save_dataset",
]

FORMAT = "tnreg.dataset"
VERSION = 1
TASKS = ("completion", "sensing", "digits", "mnist")
_SYNTHETIC_KEYS = {"task", "target", "num_train", "num_test", "noise_std", "seed"}
_IMAGE_KEYS = {
    "task", "threshold", "positive", "negative", "control", "values", "test_fraction", "seed"
}  # fmt: skip
_MNIST_KEYS = _IMAGE_KEYS | {"images", "labels", "size"}


TARGET_KEYS = {
    "cp": ({"order", "dims", "rank"}, {"norm", "seed"}),
    "tree": ({"tree", "dims", "widths"}, {"depth", "norm", "seed", "order"}),
    "deep": ({"tree", "dims", "widths"}, {"depth", "norm", "seed", "order"}),
    "full_rank": ({"dims"}, {"norm", "seed"}),
}


def make_target(config: Mapping[str, Any], *, seed: int | None = None) -> Target:
    """Build a target from a config dict (``{"kind": "cp" | "tree" | "deep" | "full_rank", ...}``).

    The keys are the arguments of :func:`random_cp_target`, :func:`random_tree_target`,
    :func:`random_deep_target` or :func:`random_full_rank_target`; ``seed`` (the keyword)
    fills a missing ``"seed"`` key. ``make_target(t.config)`` rebuilds ``t`` bit for bit.

    Examples
    --------
    >>> t = make_target({"kind": "cp", "order": 3, "dims": 4, "rank": 2, "seed": 1})
    >>> torch.equal(make_target(t.config).to_dense(), t.to_dense())
    True
    """
    if not isinstance(config, Mapping) or "kind" not in config:
        raise DataError(
            f"a target config needs the key 'kind' (one of {sorted(TARGET_KEYS)}); got {config!r}"
        )
    kind = check_choice(config["kind"], sorted(TARGET_KEYS), "target kind")
    required, optional = TARGET_KEYS[kind]
    args = {k: v for k, v in config.items() if k != "kind"}
    where = f"the target config (kind={kind!r})"
    check_keys(args, required | optional, where)
    missing = sorted(required - set(args))
    if missing:
        raise DataError(f"missing key(s) {missing} in {where}; required: {sorted(required)}")
    if "seed" not in args:
        if seed is None:
            raise DataError(f"missing key 'seed' in {where}; targets are always seeded")
        args["seed"] = seed
    if kind == "cp":
        return random_cp_target(args.pop("order"), args.pop("dims"), args.pop("rank"), **args)
    if kind == "full_rank":
        return random_full_rank_target(args.pop("dims"), **args)
    tree = tree_from_config(args.pop("tree"), args.pop("order", None))
    build = random_tree_target if kind == "tree" else random_deep_target
    target = build(tree, args.pop("dims"), args.pop("widths"), **args)
    target.config["kind"] = kind
    return target


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
    from tnreg.data import images

    keys = _IMAGE_KEYS if task == "digits" else _MNIST_KEYS
    cfg = check_keys(config, keys, f"the data config (task={task!r})")
    del cfg["task"]
    cfg.setdefault("seed", 0)
    if task == "digits":
        return images.digits_task(**cfg)
    for key in ("images", "labels"):
        if key not in cfg:
            raise DataError(f"the data config (task='mnist') needs the key {key!r} (an IDX path)")
    if cfg.get("size") in ("none", [], None) and "size" in cfg:
        cfg["size"] = None
    return images.mnist_task(cfg.pop("images"), cfg.pop("labels"), **cfg)


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
