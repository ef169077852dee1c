"""Run configuration: one validated dataclass, TOML files and ``key=value`` overrides.

Vocabulary
----------
train config
    :class:`TrainConfig`: the optimizer, loss, stopping rule, tracking and device of a run,
    plus the model (:class:`ModelConfig`) and the data (a plain dict for
    :func:`tnreg.data.make_dataset`).
    It is everything ``tnreg train`` needs: a run's ``config.json`` is ``config.to_dict()``, and
    ``tnreg train RUN/config.json`` builds the same run again.
key path
    A dotted key naming one field: ``lr``, ``model.init_std``, ``data.seed``. A key that is not a
    training field but names exactly one model field may drop the prefix (``init_std``).
override
    ``key=value`` with the value read as a TOML literal (``1e-3``, ``true``, ``[4, 4]``,
    ``"cp"``); a value that is not a literal is a string (``optimizer=adam``), and ``none`` or
    ``null`` clears an optional field.

TOML layout: training fields at the top level, then ``[model]`` and ``[data]`` tables::

    optimizer = "group_rmsprop"
    lr = 1e-2
    steps = 20000

    [model]
    kind = "cp"
    order = 4
    dims = 10
    widths = 100
    init_std = 5e-3

    [data]
    task = "completion"
    num_train = 2000
    num_test = 1000

    [data.target]
    kind = "cp"
    order = 4
    dims = 10
    rank = 1
"""

from __future__ import annotations

import dataclasses
import json
import math
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch

from tnreg import trees
from tnreg.errors import TnregError

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

__all__ = [
    "DEVICES",
    "DTYPES",
    "LOSSES",
    "MODEL_KINDS",
    "OPTIMIZERS",
    "TRACKER_NAMES",
    "ConfigError",
    "ModelConfig",
    "TrainConfig",
    "apply_overrides",
    "load_config",
    "resolve_device",
    "resolve_dtype",
]

OPTIMIZERS = ("gd", "sgd", "adam", "group_rmsprop")
LOSSES = ("mse", "l1", "huber")
DEVICES = ("auto", "cpu", "cuda")
DTYPES = ("float32", "float64")
MODEL_KINDS = ("htf", "cp", "deep_mf")
TREES = ("balanced", "star", "caterpillar")
OUTPUTS = ("trainable", "ones")
TRACKER_NAMES = ("loss", "errors", "param_norm", "spectra", "components", "invariants")


class ConfigError(TnregError, ValueError):
    """A config value is missing, unknown, of the wrong type or out of range."""


def _refuse(value: Any, expected: str, key: str) -> None:
    raise ConfigError(f"config key {key!r}: expected {expected}; got {value!r}")


def _is_int(x: Any) -> bool:
    return isinstance(x, int) and not isinstance(x, bool)


def _is_num(x: Any) -> bool:
    return (_is_int(x) or isinstance(x, float)) and math.isfinite(x)


def _check_choice(value: Any, options: Sequence[str], key: str) -> None:
    if value not in options:
        raise ConfigError(
            f"config key {key!r}: unknown value {value!r}; valid options: {list(options)}"
        )


def _check_int(value: Any, low: int, key: str, *, optional: bool = False) -> None:
    if optional and value is None:
        return
    if not _is_int(value) or value < low:
        _refuse(value, f"an int >= {low}" + (" or none" if optional else ""), key)


def _check_float(
    value: Any,
    key: str,
    *,
    positive: bool = False,
    optional: bool = False,
    below: float | None = None,
) -> None:
    if optional and value is None:
        return
    ok = _is_num(value) and (value > 0 if positive else value >= 0)
    if ok and below is not None:
        ok = value < below
    if not ok:
        what = "a number " + ("> 0" if positive else ">= 0") + (f" and < {below}" if below else "")
        _refuse(value, what + (" or none" if optional else ""), key)


def _check_tree(config: ModelConfig, prefix: str) -> None:
    """``model.tree``: a builder name or nested lists of ``order`` modes, for ``kind = "htf"``."""
    key, tree = prefix + "tree", config.tree
    if isinstance(tree, str) and tree not in TREES:
        quoted = " (a list, not a string: drop the quotes)" if tree.lstrip()[:1] in "[(" else ""
        raise ConfigError(
            f"config key {key!r}: unknown value {tree!r}; valid options: {list(TREES)}, or "
            f"nested lists of modes such as [[0, 1], [2, 3]]{quoted}"
        )
    if not isinstance(tree, (str, list)):
        _refuse(tree, f"one of {list(TREES)} or a nested list of modes", key)
    if config.kind != "htf" and tree not in ("balanced", "star"):  # "balanced": the default
        shape = "star(order)" if config.kind == "cp" else "star(2)"
        raise ConfigError(
            f"config key {key!r} applies to kind = 'htf' only; kind = {config.kind!r} always "
            f"builds on the star tree {shape}; got tree = {tree!r}: remove {key}, or set "
            f"{prefix}kind = 'htf'"
        )
    if config.kind == "htf" and isinstance(tree, list):
        try:
            modes = trees.order(trees.from_nested(tree))
        except trees.ModeTreeError as err:
            raise ConfigError(f"config key {key!r}: {err}") from None
        if modes != config.order:
            raise ConfigError(
                f"config key {key!r} has {modes} modes but {prefix}order = {config.order}; "
                f"make them agree (e.g. set {prefix}order = {modes}, or list all "
                f"{config.order} modes 0..{config.order - 1} in the tree)"
            )


@dataclass
class ModelConfig:
    """Which factorization ``tnreg train`` builds (see :func:`tnreg.train.build_model`).

    Attributes
    ----------
    kind
        ``"htf"`` (hierarchical tensor factorization on ``tree``), ``"cp"`` (star tree, ``widths``
        components) or ``"deep_mf"`` (deep matrix factorization, ``depth`` matrices, order 2).
    tree
        ``"balanced"``, ``"star"``, ``"caterpillar"`` or a nested list of ``order`` modes
        (``[[0, 1], [2]]``); only for ``kind="htf"`` (CP and deep MF build on a star tree and
        refuse any other tree than the default).
    order, dims, widths, depth
        Number of modes, mode sizes (one int or one per mode), channels per interior node (an int
        or a per-level list, root first; the rank for CP) and matrices per node.
    output
        ``"trainable"`` or ``"ones"`` (the root output layer); ``None`` picks ``"ones"`` for CP
        (Razin et al. 2021) and ``"trainable"`` otherwise.
    init_std, init_mean, seed, ensemble
        Gaussian init std (one value or one per member) and mean (default 0; ``1`` puts high-order
        CP factors near one, as for the image tensors), seed of member 0, number of members
        (``None``: a single model).
    """

    kind: str = "htf"
    tree: str | list = "balanced"
    order: int = 4
    dims: int | list[int] = 8
    widths: int | list[int] = 16
    depth: int = 1
    output: str | None = None
    init_std: float | list[float] = 1e-2
    init_mean: float = 0.0
    seed: int = 0
    ensemble: int | None = None

    def validate(self, prefix: str = "model.") -> ModelConfig:
        """Check every field; raises :class:`ConfigError` naming the key."""
        _check_choice(self.kind, MODEL_KINDS, prefix + "kind")
        _check_int(self.order, 2, prefix + "order")
        _check_tree(self, prefix)
        for key in ("dims", "widths"):
            value = getattr(self, key)
            items = value if isinstance(value, list) else [value]
            if not items or not all(_is_int(v) and v >= 1 for v in items):
                _refuse(value, "a positive int or a list of positive ints", prefix + key)
        _check_int(self.depth, 1, prefix + "depth")
        if self.output is not None:
            _check_choice(self.output, OUTPUTS, prefix + "output")
        stds = self.init_std if isinstance(self.init_std, list) else [self.init_std]
        if not stds or not all(_is_num(s) and s > 0 for s in stds):
            _refuse(self.init_std, "a number > 0 or a list of them", prefix + "init_std")
        if not _is_num(self.init_mean):
            _refuse(self.init_mean, "a finite number", prefix + "init_mean")
        _check_int(self.seed, 0, prefix + "seed")
        _check_int(self.ensemble, 1, prefix + "ensemble", optional=True)
        return self

    @classmethod
    def from_dict(cls, raw: Mapping[str, Any], *, where: str = "config") -> ModelConfig:
        """Build and validate a model config from a ``[model]`` table; unknown keys are errors.

        Examples
        --------
        >>> ModelConfig.from_dict({"kind": "cp", "order": 5}).order
        5
        """
        return _build(cls, raw, "model.", where).validate()


@dataclass
class TrainConfig:
    """Everything a training run needs; build with :func:`load_config` or directly.

    Attributes
    ----------
    optimizer
        ``"group_rmsprop"`` (default: the papers' adaptive-step GD, docs/design.md §6, one scalar
        state per ensemble member), ``"gd"`` (plain gradient descent), ``"sgd"`` (with
        ``momentum``) or ``"adam"``.
    lr, momentum, alpha, eps
        Learning rate; momentum of ``"sgd"``; decay ``α`` and ``eps`` of ``"group_rmsprop"``.
    batch_size
        Samples per step (``None``: full batch). Mini-batches are drawn without replacement, a new
        permutation per epoch, from a generator seeded with ``seed``.
    steps
        Maximum number of optimizer steps.
    loss, huber_delta
        ``"mse"`` (mean of squared residuals, no factor 1/2), ``"l1"`` or ``"huber"``.
    tolerance, patience
        Stop when every member's train MSE is below ``tolerance`` at ``patience`` consecutive
        tracking checks (``None``: never).
    time_limit_s
        Stop (and save) after this much wall-clock time (``None``: no limit).
    track_every, checkpoint_every
        Steps between tracking checks (metrics rows), and the least number of steps between
        two writes of ``checkpoints/last.pt`` (written at the first check that far from the
        last write; also at the end, on NaN/Inf and on Ctrl-C).
    trackers
        Built-in trackers to run (see :mod:`tnreg.train.trackers`).
    top_k, rank_rtol
        Singular values / component norms kept per node; rtol of the numerical ranks.
    seed
        Seed of the mini-batch sampler (the model has its own, ``model.seed``).
    device, dtype
        ``"auto"`` (CUDA when available), ``"cpu"`` or ``"cuda"``; ``"float32"`` or ``"float64"``.
    progress
        Show a tqdm progress bar (only on a terminal).
    max_weight
        Clamp every parameter entry to ``[-max_weight, max_weight]`` after each step (``None``:
        no clamp; Razin et al. 2021 use 1.02 for the image tensors).
    capture
        On CUDA with full-batch training, capture the whole step (forward, backward, update) once
        as a CUDA graph and replay it (:class:`tnreg.train.capture.CapturedStep`; falls back to
        eager steps when capture fails). ``False`` always runs eager steps. Off CUDA it has no
        effect.
    model, data
        The model (:class:`ModelConfig`) and the data config (a dict for
        :func:`tnreg.data.make_dataset`).

    Examples
    --------
    >>> TrainConfig(lr=1e-3, steps=10).validate().optimizer
    'group_rmsprop'
    >>> TrainConfig(lr=-1.0).validate()
    Traceback (most recent call last):
    ...
    tnreg.train.config.ConfigError: config key 'lr': expected a number > 0; got -1.0
    """

    optimizer: str = "group_rmsprop"
    lr: float = 1e-2
    momentum: float = 0.0
    alpha: float = 0.99
    eps: float = 1e-6
    batch_size: int | None = None
    steps: int = 10_000
    loss: str = "mse"
    huber_delta: float = 1.0
    tolerance: float | None = None
    patience: int = 1
    time_limit_s: float | None = None
    track_every: int = 100
    checkpoint_every: int = 1000
    trackers: list[str] = field(default_factory=lambda: list(TRACKER_NAMES))
    top_k: int = 5
    rank_rtol: float = 1e-3
    seed: int = 0
    device: str = "auto"
    dtype: str = "float64"
    progress: bool = True
    capture: bool = True
    max_weight: float | None = None
    model: ModelConfig = field(default_factory=ModelConfig)
    data: dict = field(default_factory=dict)

    def validate(self) -> TrainConfig:
        """Check every field; raises :class:`ConfigError` naming the key. Returns ``self``."""
        _check_choice(self.optimizer, OPTIMIZERS, "optimizer")
        _check_float(self.lr, "lr", positive=True)
        _check_float(self.momentum, "momentum", below=1.0)
        _check_float(self.alpha, "alpha", below=1.0)
        _check_float(self.eps, "eps")
        _check_int(self.batch_size, 1, "batch_size", optional=True)
        _check_int(self.steps, 0, "steps")
        _check_choice(self.loss, LOSSES, "loss")
        _check_float(self.huber_delta, "huber_delta", positive=True)
        _check_float(self.tolerance, "tolerance", positive=True, optional=True)
        _check_int(self.patience, 1, "patience")
        _check_float(self.time_limit_s, "time_limit_s", positive=True, optional=True)
        _check_int(self.track_every, 1, "track_every")
        _check_int(self.checkpoint_every, 1, "checkpoint_every")
        if not isinstance(self.trackers, list) or not all(
            isinstance(t, str) for t in self.trackers
        ):
            _refuse(self.trackers, f"a list of names from {list(TRACKER_NAMES)}", "trackers")
        for name in self.trackers:
            _check_choice(name, TRACKER_NAMES, "trackers")
        _check_int(self.top_k, 1, "top_k")
        _check_float(self.rank_rtol, "rank_rtol", positive=True, below=1.0)
        _check_int(self.seed, 0, "seed")
        _check_choice(self.device, DEVICES, "device")
        _check_choice(self.dtype, DTYPES, "dtype")
        if not isinstance(self.progress, bool):
            _refuse(self.progress, "true or false", "progress")
        if not isinstance(self.capture, bool):
            _refuse(self.capture, "true or false", "capture")
        _check_float(self.max_weight, "max_weight", positive=True, optional=True)
        if not isinstance(self.model, ModelConfig):
            _refuse(self.model, "a ModelConfig (a [model] table)", "model")
        self.model.validate()
        if not isinstance(self.data, dict):
            _refuse(self.data, "a table of data settings", "data")
        return self

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict (what ``config.json`` holds); :meth:`from_dict` inverts it."""
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, raw: Mapping[str, Any], *, where: str = "config") -> TrainConfig:
        """Build and validate a config from a (TOML/JSON) dict; unknown keys are errors."""
        raw = dict(raw)
        model = _build(ModelConfig, raw.pop("model", {}) or {}, "model.", where)
        data = raw.pop("data", {}) or {}
        if not isinstance(data, dict):
            _refuse(data, "a table of data settings", "data")
        config = _build(cls, raw, "", where)
        config.model, config.data = model, dict(data)
        return config.validate()


def _build(cls: type, raw: Mapping[str, Any], prefix: str, where: str) -> Any:
    if not isinstance(raw, Mapping):
        _refuse(raw, "a table", prefix.rstrip("."))
    names = [f.name for f in dataclasses.fields(cls) if f.name not in ("model", "data")]
    unknown = [k for k in raw if k not in names]
    if unknown:
        raise ConfigError(
            f"unknown config key {prefix + unknown[0]!r} in {where}; valid keys: "
            f"{[prefix + n for n in names]}"
        )
    return cls(**raw)


def load_config(path: str | Path, overrides: Sequence[str] = ()) -> TrainConfig:
    """Read a TOML (or a run's ``config.json``) file, apply ``key=value`` overrides, validate.

    Raises
    ------
    ConfigError
        On a missing or unparsable file, an unknown key or an invalid value.
    """
    path = Path(path)
    try:
        text = path.read_text()
    except OSError as err:
        raise ConfigError(f"cannot read config file {str(path)!r}: {err.strerror}") from None
    try:
        raw = json.loads(text) if path.suffix == ".json" else tomllib.loads(text)
    except (ValueError, tomllib.TOMLDecodeError) as err:
        raise ConfigError(f"cannot parse config file {str(path)!r}: {err}") from None
    return apply_overrides(raw, overrides, where=str(path))


def _parse_value(text: str) -> Any:
    if text.strip().lower() in ("none", "null"):
        return None
    try:
        return tomllib.loads(f"v = {text}")["v"]
    except tomllib.TOMLDecodeError:
        return text


def _resolve_key(key: str) -> list[str]:
    parts = key.split(".")
    if len(parts) == 1:
        train = [f.name for f in dataclasses.fields(TrainConfig)]
        model = [f.name for f in dataclasses.fields(ModelConfig)]
        if key not in train and key in model:
            return ["model", key]
    if parts[0] not in ("model", "data") and len(parts) > 1:
        raise ConfigError(
            f"override key {key!r}: only 'model.' and 'data.' keys have a prefix; "
            f"write e.g. 'lr=1e-3', 'model.init_std=1e-3' or 'data.seed=1'"
        )
    return parts


def _check_override_key(parts: list[str], item: str) -> None:
    """An override naming no config field is reported as coming from ``--set``."""
    if parts[0] == "data" or parts in (["model"], ["data"]):
        return  # make_dataset checks the data keys; from_dict checks the tables' types
    prefix = "model." if parts[0] == "model" else ""
    names = [f.name for f in dataclasses.fields(ModelConfig if prefix else TrainConfig)]
    names = [n for n in names if n not in ("model", "data")]
    if ".".join(parts[1:] if prefix else parts) not in names:
        raise ConfigError(
            f"unknown config key {'.'.join(parts)!r} in --set {item!r}; valid keys: "
            f"{[prefix + n for n in names]}"
        )


def apply_overrides(
    raw: Mapping[str, Any], overrides: Sequence[str], *, where: str = "config"
) -> TrainConfig:
    """Apply ``key=value`` overrides to a raw config dict and build a :class:`TrainConfig`.

    Examples
    --------
    >>> cfg = apply_overrides({}, ["lr=1e-3", "init_std=5e-3", "batch_size=none", "loss=l1"])
    >>> cfg.lr, cfg.model.init_std, cfg.batch_size, cfg.loss
    (0.001, 0.005, None, 'l1')
    """
    raw = json.loads(json.dumps(raw))  # a deep copy
    for item in overrides:
        key, sep, text = item.partition("=")
        key = key.strip()
        if not sep or not key:
            raise ConfigError(f"override {item!r}: expected key=value, e.g. 'lr=1e-3'")
        parts = _resolve_key(key)
        _check_override_key(parts, item)
        node = raw
        for part in parts[:-1]:
            node = node.setdefault(part, {})
        node[parts[-1]] = _parse_value(text)
    config = TrainConfig.from_dict(raw, where=where)
    return _coerce_floats(config)


def _coerce_floats(config: TrainConfig) -> TrainConfig:
    """Store ints given for float fields as floats (``lr = 1`` reads as 1.0)."""
    for obj in (config, config.model):
        for f in dataclasses.fields(obj):
            value = getattr(obj, f.name)
            if "float" in str(f.type) and _is_int(value):
                setattr(obj, f.name, float(value))
    return config


def resolve_device(name: str) -> torch.device:
    """``"auto"`` -> CUDA when available else CPU; ``"cuda"`` without CUDA is an error."""
    _check_choice(name, DEVICES, "device")
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if name == "cuda" and not torch.cuda.is_available():
        raise ConfigError(
            "config key 'device': 'cuda' requested but CUDA is not available; use 'auto' or 'cpu'"
        )
    return torch.device(name)


def resolve_dtype(name: str) -> torch.dtype:
    """``"float32"`` or ``"float64"`` -> the torch dtype."""
    _check_choice(name, DTYPES, "dtype")
    return torch.float32 if name == "float32" else torch.float64
