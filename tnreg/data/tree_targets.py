"""Tree targets: ground truths of low hierarchical rank on a mode tree, shallow or deep.

Vocabulary
----------
tree target
    A hierarchical tensor factorization (:class:`tnreg.HierarchicalTensorFactorization`) with
    Gaussian N(0, 1) node matrices, rescaled to a Frobenius norm through its Gramians, held in
    float64 without gradients. Its widths (channels per interior node) bound the ranks of the
    matricizations [W*]_ν; a Gaussian draw attains the network's min-cut bound.
deep target
    The same with each node matrix a product of ``depth`` Gaussian matrices (on ``star(N)``: a
    deep CP; on ``star(2)``: a deep matrix factorization).
tree in a config
    Nested lists of modes (``[[0, 1], [2, 3]]``) or a builder name (``"balanced"``,
    ``"caterpillar"``, ``"star"``) with ``order``; per-node widths are keyed by
    :func:`tnreg.trees.node_names` (``{"0-1": 2, "2-3": 3, "0-3": 4}``).
"""

from __future__ import annotations

import copy
import math
from collections.abc import Mapping, Sequence
from typing import Any

import networkx as nx
import torch

from tnreg import trees
from tnreg.data.checks import DataError, check_choice, check_count, check_positive, check_seed
from tnreg.data.targets import F64, Target, resolve_target_dims
from tnreg.devices import check_device
from tnreg.models import HierarchicalTensorFactorization

__all__ = [
    "TREE_BUILDERS",
    "TreeTarget",
    "random_deep_target",
    "random_tree_target",
    "tree_from_config",
    "tree_to_config",
]

TREE_BUILDERS = {"balanced": trees.balanced, "caterpillar": trees.caterpillar, "star": trees.star}


def tree_to_config(tree: nx.DiGraph) -> Any:
    """A mode tree as nested lists of modes (JSON/TOML-able); inverse of :func:`tree_from_config`.

    Examples
    --------
    >>> tree_to_config(trees.balanced(4))
    [[0, 1], [2, 3]]
    """
    tree = trees.from_digraph(tree)

    def nest(v: Any) -> Any:
        kids = trees.children(tree, v)
        if not kids:
            return int(tree.nodes[v]["mode"])
        return [nest(c) for c in kids]

    return nest(trees.root(tree))


def tree_from_config(spec: Any, order: int | None = None) -> nx.DiGraph:
    """A mode tree from nested lists, or from a builder name ("balanced", "caterpillar",
    "star") with ``order``.

    Examples
    --------
    >>> trees.root(tree_from_config("balanced", 4))
    (0, 1, 2, 3)
    """
    if isinstance(spec, nx.DiGraph):
        return trees.from_digraph(spec)
    if isinstance(spec, str):
        check_choice(spec, TREE_BUILDERS, "tree")
        if order is None:
            raise DataError(f"tree={spec!r} needs the key 'order' (the number of modes)")
        return TREE_BUILDERS[spec](check_count(order, "order", minimum=2))
    try:
        return trees.from_nested(spec)
    except trees.ModeTreeError as err:
        raise DataError(
            f"tree must be nested lists of modes (e.g. [[0, 1], [2, 3]]) or one of "
            f"{list(TREE_BUILDERS)}; {err}"
        ) from None


def _names_to_nodes(tree: nx.DiGraph, given: Any, key: str) -> Any:
    """A per-node config dict keyed by node names ("0-1") -> keyed by tree nodes."""
    if not isinstance(given, Mapping):
        return given
    by_name = {name: v for v, name in trees.node_names(tree).items()}
    unknown = [k for k in given if k not in by_name and k not in tree]
    if unknown:
        raise DataError(f"{key} names unknown nodes {unknown}; node names: {sorted(by_name)}")
    return {by_name.get(k, k): w for k, w in given.items()}


def _nodes_to_names(tree: nx.DiGraph, given: Any) -> Any:
    if not isinstance(given, Mapping):
        return list(given) if isinstance(given, Sequence) else given
    names = trees.node_names(tree)
    return {names[v]: w for v, w in given.items()}


class TreeTarget(Target):
    """A hierarchical tensor factorization used as a ground truth (float64, no gradients).

    Parameters
    ----------
    model
        The factorization; its parameters are detached from autograd.
    config
        The config that made it.
    """

    def __init__(self, model: HierarchicalTensorFactorization, *, config: dict) -> None:
        if model.ensemble is not None:
            raise DataError(f"a tree target wraps a single model; got ensemble={model.ensemble}")
        self.model = model.to(F64).requires_grad_(False)
        self.dims = model.dims
        self.config = dict(config)

    @property
    def tree(self) -> nx.DiGraph:
        """The mode tree."""
        return self.model.tree

    @property
    def widths(self) -> dict:
        """Channels per interior node (the ranks the target was built with)."""
        return dict(self.model.widths)

    @property
    def device(self) -> torch.device:
        """Device of the factors."""
        return self.model.params[0].device

    @property
    def norm(self) -> float:
        """Frobenius norm from the model's Gramians (never densified)."""
        from tnreg.analysis import frobenius_norm_sq

        return math.sqrt(float(frobenius_norm_sq(self.model.tree, self.model.matrices())[0]))

    def hierarchical_rank(self) -> dict:
        """Rank of [W*]_ν at every non-root node ν: the network's min-cut bound.

        Products of the cut bonds (widths, mode sizes) over the cheapest cut separating ν's
        modes from the rest (:func:`tnreg.analysis.report.tree_rank_bounds`); a Gaussian draw
        attains it with probability 1 (checked against dense SVDs in the tests).
        """
        from tnreg.analysis.report import tree_rank_bounds

        return tree_rank_bounds(self.model.tree, self.model.matrices())

    def _entries(self, indices: torch.Tensor) -> torch.Tensor:
        return self.model(indices)

    def _sensing(self, xs: list[torch.Tensor]) -> torch.Tensor:
        return self.model.forward_sensing(xs)

    def _dense(self, max_entries: int) -> torch.Tensor:
        return self.model.to_dense(max_entries=max_entries)

    def state(self) -> dict[str, torch.Tensor]:
        """The model's state dict."""
        return dict(self.model.state_dict())

    def to(self, device: torch.device | str) -> TreeTarget:
        """A copy with its model on ``device`` (always float64)."""
        device = check_device(device)
        return TreeTarget(copy.deepcopy(self.model).to(device), config=self.config)


def random_tree_target(
    tree: nx.DiGraph | Any,
    dims: int | Sequence[int],
    widths: int | Sequence[int] | Mapping,
    *,
    depth: int | Mapping = 1,
    norm: float = 1.0,
    seed: int,
) -> TreeTarget:
    """A Gaussian hierarchical tensor factorization with the given widths, at norm ``norm``.

    Parameters
    ----------
    tree
        A mode tree, nested lists of modes, or a builder name ("balanced", "caterpillar",
        "star": then ``dims`` must be a sequence so the order is known).
    dims
        Mode sizes.
    widths
        Channels per interior node (an int, a per-level list root first, or a dict by node or
        node name): the hierarchical rank of [W*]_ν is min(width of ν, width of its parent,
        sizes) with probability 1 (see :meth:`TreeTarget.hierarchical_rank`).
    depth
        Matrices per node (deep targets); default 1.
    norm, seed
        Frobenius norm; seed of the N(0, 1) draw (the model's ``init_std=1, seed=seed``).

    Examples
    --------
    >>> t = random_tree_target(trees.balanced(4), 3, 2, seed=0)
    >>> round(t.norm, 12), t.to_dense().shape
    (1.0, torch.Size([3, 3, 3, 3]))
    """
    order = len(dims) if isinstance(dims, Sequence) and isinstance(tree, str) else None
    tree = tree_from_config(tree, order)
    dims = resolve_target_dims(dims, trees.order(tree))
    norm = check_positive(norm, "norm")
    seed = check_seed(seed)
    widths = _names_to_nodes(tree, widths, "widths")
    depth = _names_to_nodes(tree, depth, "depth")
    try:
        model = HierarchicalTensorFactorization(
            tree, dims, widths, depth=depth, init_std=1.0, seed=seed, dtype=F64
        )
    except (TypeError, ValueError) as err:
        raise DataError(f"cannot build the tree target: {err}") from None
    model.rescale_(norm)
    config = {
        "kind": "tree",
        "tree": tree_to_config(tree),
        "dims": list(dims),
        "widths": _nodes_to_names(tree, widths),
        "depth": _nodes_to_names(tree, depth),
        "norm": norm,
        "seed": seed,
    }
    return TreeTarget(model, config=config)


def random_deep_target(
    tree: nx.DiGraph | Any,
    dims: int | Sequence[int],
    widths: int | Sequence[int] | Mapping,
    *,
    depth: int | Mapping = 2,
    norm: float = 1.0,
    seed: int,
) -> TreeTarget:
    """A deep tree target: each node matrix a product of ``depth`` Gaussian matrices.

    Same ranks as :func:`random_tree_target`, with the more spread spectra of products of
    random matrices; on ``trees.star(N)`` this is a deep CP target, on ``trees.star(2)`` a
    deep matrix factorization.

    Examples
    --------
    >>> t = random_deep_target(trees.star(2), (5, 6), 2, depth=3, seed=0)
    >>> int(torch.linalg.matrix_rank(t.to_dense()))
    2
    """
    if isinstance(depth, int) and not isinstance(depth, bool) and depth < 2:
        raise DataError(f"a deep target needs depth >= 2; got {depth!r} (use random_tree_target)")
    return random_tree_target(tree, dims, widths, depth=depth, norm=norm, seed=seed)
