"""Targets from configs: the ``{"kind": ..., ...}`` dicts that rebuild a target bit for bit.

Vocabulary
----------
target config
    A JSON/TOML-able dict with a ``"kind"`` key, ``"cp"``, ``"tree"``, ``"deep"`` or
    ``"full_rank"``, and the arguments of the matching ``random_*_target`` function
    (:data:`TARGET_KEYS` lists the required and optional keys of each kind). Every target's
    own ``config`` is such a dict: ``make_target(t.config)`` rebuilds ``t``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from tnreg.data.checks import DataError, check_choice, check_keys
from tnreg.data.targets import Target, random_cp_target, random_full_rank_target
from tnreg.data.tree_targets import random_deep_target, random_tree_target, tree_from_config

__all__ = ["TARGET_KEYS", "make_target"]

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
    >>> import torch
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
