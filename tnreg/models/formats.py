"""Standard dense-core formats as tensor networks: Tucker, tensor train, hierarchical Tucker.

Vocabulary
----------
core
    A tensor with three or more indices (Tucker's core, a TT core, an HT transfer tensor),
    unlike the matrices of product pooling.
mode index
    The open index of mode n, labelled by the int n; it sits on exactly one tensor.
index batches
    A tree network (every format here) is evaluated by memoized sub-tuples
    (:mod:`tnreg.models.engine.rooted`): each tensor is contracted once per distinct combination
    of its children's rows and its own mode indices; the index schedule is built once per batch
    (:meth:`NetworkModel.schedule_indices`). Any other network gathers every tensor along its mode
    axes, turning every mode index into one batch hyperedge of one planned contraction.

All formats are :class:`NetworkModel` instances and share the interface of
:class:`~tnreg.models.HierarchicalTensorFactorization`: ``forward``, ``forward_sensing``,
``to_dense``, ``tree``, ``network``, ``tensors()`` and ``ensemble``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import networkx as nx
import torch
from torch import nn

from tnreg import trees
from tnreg.contract import ContractionPlan, plan
from tnreg.models import base
from tnreg.models.engine import (
    RootedNetwork,
    TreeIndexSchedule,
    evaluate_tree,
    root_network,
    schedule_tree_indices,
)
from tnreg.network import TensorNetwork
from tnreg.typing import Node

__all__ = ["HierarchicalTucker", "NetworkModel", "TensorTrain", "Tucker"]

_E, _B = "ensemble", "batch"


class NetworkModel(base.Factorization):
    """A trainable tensor network: one Gaussian-initialized parameter per tensor.

    Parameters
    ----------
    network
        Open indices must be the modes ``0..N-1``, each on exactly one tensor.
    tree
        The mode tree that analysis reads (for display and node-wise reports).
    ensemble, init_std, init_mean, seed, dtype, device
        As for :class:`~tnreg.models.HierarchicalTensorFactorization`.
    """

    def __init__(
        self,
        network: TensorNetwork,
        tree: nx.DiGraph,
        *,
        ensemble: int | None = None,
        init_std: float | Sequence[float] = 1e-2,
        init_mean: float | Sequence[float] = 0.0,
        seed: int | Sequence[int] | None = None,
        dtype: torch.dtype = torch.float32,
        device: torch.device | str | None = None,
    ) -> None:
        super().__init__()
        if not isinstance(network, TensorNetwork):
            raise TypeError(f"network must be a TensorNetwork; got {type(network).__name__}")
        self.network = network
        self.tree = trees.from_digraph(tree)
        all_sizes = network.size_dict  # a copy per access: read it once
        dims = tuple(all_sizes[n] for n in network.output)
        if network.output != tuple(range(len(dims))):
            raise ValueError(
                f"open indices must be the modes 0..N-1 in order; got {network.output!r}"
            )
        if trees.order(self.tree) != len(dims):
            raise ValueError(
                f"the tree has order {trees.order(self.tree)} but the network has {len(dims)} "
                f"open modes; pass a mode tree over the modes 0..{len(dims) - 1}"
            )
        stds, means, seeds = self._setup(
            len(dims),
            dims,
            ensemble=ensemble,
            init_std=init_std,
            init_mean=init_mean,
            seed=seed,
            dtype=dtype,
            device=device,
        )
        self._names = list(network.tensors)
        self._mode_axis = self._find_mode_axes()
        self.params = nn.ParameterList(
            base.gaussian_parameters(
                network.shapes(), stds, seeds, means=means, dtype=self._dtype, device=self._device
            )
        )
        self._plans: dict[tuple[str, int], ContractionPlan] = {}
        self._rooting: tuple[RootedNetwork | None] | None = None  # rooted on first use
        self._index_schedule: TreeIndexSchedule | None = None

    def _find_mode_axes(self) -> dict[int, tuple[int, int]]:
        where: dict[int, tuple[int, int]] = {}
        modes = set(self.network.output)
        for t, idx in enumerate(self.network.inputs):
            for axis, label in enumerate(idx):
                if label in modes:
                    if label in where:
                        raise ValueError(f"mode {label!r} sits on two tensors; each mode needs one")
                    where[label] = (t, axis)
        return where

    def tensors(self) -> dict[Node, torch.Tensor]:
        """Tensors of :attr:`network` with a leading ensemble axis, by tensor name."""
        return dict(zip(self._names, self.params))

    def load_tensors_(self, values: Mapping[Node, torch.Tensor]) -> NetworkModel:
        """Copy given tensors (name -> tensor, with or without the ensemble axis) in place.

        Names not given keep their values; everything is checked before anything is copied.

        Examples
        --------
        >>> tt = TensorTrain(2, 2, 1, seed=0)
        >>> _ = tt.load_tensors_({("core", 0): torch.ones(2, 1), ("core", 1): torch.ones(1, 2)})
        >>> tt.to_dense().detach()
        tensor([[1., 1.],
                [1., 1.]])
        """
        slots = {name: [p] for name, p in zip(self._names, self.params)}
        self._load(slots, values, "tensors")
        return self

    def _plan(self, kind: str, batch: int) -> ContractionPlan:
        key = (kind, batch)
        if key not in self._plans:
            inputs = [(_E, *idx) for idx in self.network.inputs]
            sizes = {**self.network.size_dict, _E: self.members}
            if kind != "dense":
                sizes[_B] = batch
            if kind == "gather":
                inputs = [tuple(_B if i in self._mode_axis else i for i in idx) for idx in inputs]
                output = (_E, _B)
            elif kind == "sensing":
                inputs += [(_B, n) for n in range(self.order)]
                output = (_E, _B)
            else:
                output = (_E, *self.network.output)
            self._plans[key] = plan((tuple(inputs), output, sizes))
        return self._plans[key]

    @property
    def _rooted(self) -> RootedNetwork | None:
        """The network rooted for memoized evaluation (``None``: not a tree), built on first use
        so that models that are never evaluated at index batches do not pay for it."""
        if self._rooting is None:
            self._rooting = (root_network(self.network),)
        return self._rooting[0]

    def schedule_indices(self, indices: torch.Tensor) -> TreeIndexSchedule | torch.Tensor:
        """Validate a batch of multi-indices and schedule its memoized evaluation (cached).

        Returns a :class:`~tnreg.models.engine.TreeIndexSchedule` (``cost_report()`` shows the
        rows per table), or the checked indices for a network that is not a tree.
        """
        cached = self._index_schedule
        if cached is not None and cached.matches(indices):
            return cached
        checked = base.check_indices(indices, self.dims, device=self.params[0].device)
        if self._rooted is None:
            return checked
        self._index_schedule = schedule_tree_indices(self._rooted, checked, self.dims)
        return self._index_schedule

    def forward(self, indices: torch.Tensor | TreeIndexSchedule) -> torch.Tensor:
        """Entries at a (B, N) batch of multi-indices (or its schedule); shape (B,) or (E, B)."""
        if isinstance(indices, TreeIndexSchedule):
            schedule = indices
        else:
            schedule = self.schedule_indices(indices)
        if isinstance(schedule, TreeIndexSchedule):
            return self._finish(evaluate_tree(self._rooted, schedule, self.params))
        return self._gather(schedule)

    def _gather(self, indices: torch.Tensor) -> torch.Tensor:
        """The generic route: every mode index a batch hyperedge of one planned contraction."""
        arrays = list(self.params)
        for n, (t, axis) in self._mode_axis.items():
            arrays[t] = arrays[t].index_select(axis + 1, indices[:, n])
        return self._finish(self._plan("gather", indices.shape[0])(*arrays))

    def forward_sensing(self, vectors: Sequence[torch.Tensor] | torch.Tensor) -> torch.Tensor:
        """<W, x_0 ⊗ ... ⊗ x_{N-1}>: one (B, d_n) tensor per mode, or (B, N, d)."""
        xs = base.check_vectors(vectors, self.dims, like=self.params[0])
        return self._finish(self._plan("sensing", xs[0].shape[0])(*self.params, *xs))

    def to_dense(self, *, max_entries: int = base.DEFAULT_MAX_DENSE) -> torch.Tensor:
        """The whole end tensor, shape dims (or (E, *dims)); refuses above ``max_entries``."""
        base.check_dense_size((self.members, *self.dims), max_entries)
        return self._finish(self._plan("dense", 0)(*self.params))

    def extra_repr(self) -> str:
        return f"{self.network!r}, ensemble={self.ensemble}"


def _ranks(ranks, keys: list, what: str, per: str) -> dict:
    """One positive int rank per key (``per`` names the keys in messages: "mode", "bond", ...)
    from an int, a sequence or a dict that gives every key."""
    if isinstance(ranks, int) and not isinstance(ranks, bool):
        out = dict.fromkeys(keys, ranks)
    elif isinstance(ranks, Mapping):
        missing = [k for k in keys if k not in ranks]
        unknown = [k for k in ranks if k not in keys]
        if missing or unknown:
            wrong = [f"missing {per}s {missing!r}"] if missing else []
            wrong += [f"unknown keys {unknown!r}"] if unknown else []
            raise ValueError(
                f"{what} ranks as a dict need one rank per {per} {keys!r}; {', '.join(wrong)}"
            )
        out = {k: ranks[k] for k in keys}
    else:
        seq = list(ranks)
        if len(seq) != len(keys):
            raise ValueError(f"{what} needs {len(keys)} ranks; got {len(seq)}: {seq!r}")
        out = dict(zip(keys, seq))
    for k, r in out.items():
        if isinstance(r, bool) or not isinstance(r, int) or r < 1:
            raise ValueError(f"{what} rank at {k!r} must be a positive int; got {r!r}")
    return out


class Tucker(NetworkModel):
    """Tucker format: a core (R_0, ..., R_{N-1}) and one factor (d_n, R_n) per mode."""

    def __init__(self, order: int, dims: int | Sequence[int], ranks, **kwargs) -> None:
        tree = trees.star(order)
        dims = base.resolve_dims(dims, order)
        r = _ranks(ranks, list(range(order)), "Tucker", "mode")
        net = TensorNetwork()
        net.add_tensor("core", [("r", n) for n in range(order)], {("r", n): r[n] for n in r})
        for n in range(order):
            net.add_tensor(("factor", n), (n, ("r", n)), {n: dims[n]})
        net.set_output(tuple(range(order)))
        super().__init__(net, tree, **kwargs)


class TensorTrain(NetworkModel):
    """Tensor train (MPS): cores (r_{n-1}, d_n, r_n) with open ends; ranks: N - 1 bonds."""

    def __init__(self, order: int, dims: int | Sequence[int], ranks, **kwargs) -> None:
        tree = trees.caterpillar(order)
        dims = base.resolve_dims(dims, order)
        r = _ranks(ranks, list(range(order - 1)), "TensorTrain", "bond")
        net = TensorNetwork()
        for n in range(order):
            idx = ([("bond", n - 1)] if n else []) + [n] + ([("bond", n)] if n < order - 1 else [])
            sizes = {n: dims[n]}
            sizes.update({("bond", b): r[b] for b in (n - 1, n) if b in r})
            net.add_tensor(("core", n), idx, {i: sizes[i] for i in idx})
        net.set_output(tuple(range(order)))
        super().__init__(net, tree, **kwargs)


class HierarchicalTucker(NetworkModel):
    """Hierarchical Tucker: leaf bases (d_n, R_n) and transfer tensors at interior nodes.

    The transfer tensor of a non-root node v has indices (R_c for each child c, R_v); the root's
    has only its children's. ``ranks``: an int or a dict over non-root nodes.
    """

    def __init__(self, tree: nx.DiGraph, dims: int | Sequence[int], ranks, **kwargs) -> None:
        tree = trees.from_digraph(tree)
        top = trees.root(tree)
        dims = base.resolve_dims(dims, trees.order(tree))
        nodes = [v for v in trees.postorder(tree) if v != top]
        r = _ranks(ranks, nodes, "HierarchicalTucker", "non-root node")
        net = TensorNetwork()
        for v in [*nodes, top]:
            kids = list(tree.successors(v))
            own = [("r", v)] if v != top else []
            if kids:
                idx = [("r", c) for c in kids] + own
                net.add_tensor(
                    ("transfer", v), idx, {("r", c): r[c] for c in [*kids, *([v] if own else [])]}
                )
            else:
                mode = tree.nodes[v]["mode"]
                net.add_tensor(("basis", v), [mode, *own], {mode: dims[mode], ("r", v): r[v]})
        net.set_output(tuple(range(len(dims))))
        super().__init__(net, tree, **kwargs)
