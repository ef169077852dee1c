"""Training: optimizers, losses, the loop, trackers, run directories and a gradient-flow solver.

- :mod:`tnreg.train.config`: :class:`TrainConfig` / :class:`ModelConfig`, TOML and overrides.
- :mod:`tnreg.train.build`: :func:`build_tree` and :func:`build_model`, a model config turned
  into its mode tree and its factorization.
- :mod:`tnreg.train.optim`: :class:`GroupRMSprop` (the papers' adaptive-step GD, one scalar
  per ensemble member) and :func:`make_optimizer` (``gd``, ``sgd``, ``adam``,
  ``group_rmsprop``).
- :mod:`tnreg.train.losses`: per-member ``mse`` (default), ``l1``, ``huber``.
- :mod:`tnreg.train.step`: one CUDA-graph-friendly step; the mini-batch sampler.
- :mod:`tnreg.train.loop`: :func:`fit` -> :class:`RunResult`.
- :mod:`tnreg.train.trackers`: what is recorded every ``track_every`` steps.
- :mod:`tnreg.train.tensorboard`: a :func:`fit` callback writing TensorBoard event files.
- :mod:`tnreg.train.rundir`: run directories (config, metrics, checkpoints, summary).
- :mod:`tnreg.train.flow`: adaptive Dormand–Prince integration of gradient flow.
"""

from tnreg.train.build import build_model, build_tree
from tnreg.train.config import (
    ConfigError,
    ModelConfig,
    TrainConfig,
    apply_overrides,
    load_config,
)
from tnreg.train.flow import FlowResult, gradient_flow
from tnreg.train.loop import RunResult, fit
from tnreg.train.optim import GroupRMSprop, make_optimizer
from tnreg.train.rundir import RunDir, read_metrics
from tnreg.train.trackers import TRACKERS, TrackContext

__all__ = [
    "TRACKERS",
    "ConfigError",
    "FlowResult",
    "GroupRMSprop",
    "ModelConfig",
    "RunDir",
    "RunResult",
    "TrackContext",
    "TrainConfig",
    "apply_overrides",
    "build_model",
    "build_tree",
    "fit",
    "gradient_flow",
    "load_config",
    "make_optimizer",
    "read_metrics",
]
