"""A model config turned into its mode tree and its factorization: the one place that does it.

Vocabulary
----------
model config
    A :class:`~tnreg.train.config.ModelConfig` (the ``[model]`` table of a run's config), or a
    plain dict of its fields (a run's ``config.json`` holds one).
tree of a kind
    ``kind = "htf"`` builds on ``model.tree`` (a builder name with ``model.order``, or nested
    lists of modes); ``kind = "cp"`` is the star tree ``star(order)`` (one interior node, the
    rank on it); ``kind = "deep_mf"`` is ``star(2)`` (a matrix, ``depth`` factors per node).

``tnreg train``, ``tnreg reproduce``, ``tnreg demo`` and the figures of ``tnreg plot``
(:func:`tnreg.plots.run_tree`) all build through :func:`build_tree` and :func:`build_model`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import networkx as nx
import torch

from tnreg import trees
from tnreg.data import DataError, tree_from_config
from tnreg.devices import check_device
from tnreg.train.config import ConfigError, ModelConfig

__all__ = ["build_model", "build_tree"]


def _model_config(model_config: ModelConfig | Mapping[str, Any]) -> ModelConfig:
    if isinstance(model_config, ModelConfig):
        return model_config.validate()
    if isinstance(model_config, Mapping):
        return ModelConfig.from_dict(model_config)
    raise ConfigError(
        f"expected a ModelConfig or a dict of its fields (a [model] table); "
        f"got {type(model_config).__name__}"
    )


def build_tree(model_config: ModelConfig | Mapping[str, Any]) -> nx.DiGraph:
    """The mode tree of the model a config describes (validated first).

    Parameters
    ----------
    model_config
        A :class:`~tnreg.train.config.ModelConfig`, or a dict of its fields.

    Returns
    -------
    networkx.DiGraph
        ``star(order)`` for ``kind = "cp"``, ``star(2)`` for ``"deep_mf"``, ``model.tree`` for
        ``"htf"``.

    Raises
    ------
    ConfigError
        On an invalid field (the message names the config key).

    Examples
    --------
    >>> trees.root(build_tree(ModelConfig(kind="htf", tree=[[0, 1], [2, 3]], order=4)))
    (0, 1, 2, 3)
    >>> len(build_tree({"kind": "cp", "order": 5}))  # star(5): five leaves and the root
    6
    """
    config = _model_config(model_config)
    if config.kind == "cp":
        return trees.star(config.order)
    if config.kind == "deep_mf":
        return trees.star(2)
    try:
        return tree_from_config(config.tree, config.order)
    except DataError as err:  # validate() checked the spec; kept for trees it cannot see
        raise ConfigError(f"config key 'model.tree': {err}") from None


def build_model(
    model_config: ModelConfig | Mapping[str, Any],
    *,
    dtype: torch.dtype = torch.float64,
    device: torch.device | str = "cpu",
) -> torch.nn.Module:
    """The factorization a model config describes (validated first), on :func:`build_tree`.

    Parameters
    ----------
    model_config
        A :class:`~tnreg.train.config.ModelConfig`, or a dict of its fields.
    dtype, device
        Of the parameters.

    Raises
    ------
    ConfigError
        On an invalid field or a tree/widths combination the model rejects.
    tnreg.devices.DeviceError
        On a device this machine does not have (``"cuda"`` without a GPU).

    Examples
    --------
    >>> build_model(ModelConfig(kind="cp", order=3, dims=4, widths=2))  # doctest: +ELLIPSIS
    CP(order=3, dims=(4, 4, 4), rank=2, factors per component=3 (output fixed to ones), ...)
    """
    from tnreg.models import CP, HierarchicalTensorFactorization, deep_matrix_factorization

    config = _model_config(model_config)
    tree = build_tree(config)
    device = check_device(device)
    common = {
        "ensemble": config.ensemble,
        "init_std": config.init_std,
        "init_mean": config.init_mean,
        "seed": config.seed,
        "dtype": dtype,
        "device": device,
    }
    try:
        if config.kind == "cp":
            weighted = config.output == "trainable"
            return CP(config.order, config.dims, config.widths, weighted=weighted,
                      depth=config.depth, **common)  # fmt: skip
        if config.kind == "deep_mf":
            dims = config.dims if isinstance(config.dims, list) else [config.dims] * 2
            if config.order != 2 or len(dims) != 2 or config.depth < 2:
                raise ConfigError(
                    f"model kind 'deep_mf' needs order = 2, two dims and depth >= 2; got "
                    f"order={config.order}, dims={config.dims!r}, depth={config.depth}"
                )
            return deep_matrix_factorization(dims[0], dims[1], config.widths, config.depth,
                                             **common)  # fmt: skip
        return HierarchicalTensorFactorization(
            tree, config.dims, config.widths, depth=config.depth,
            output=config.output or "trainable", **common,
        )  # fmt: skip
    except ConfigError:
        raise
    except (ValueError, TypeError) as err:
        raise ConfigError(f"config table 'model': cannot build the model: {err}") from None
