"""Tree tensor networks rooted for memoized evaluation at index batches, and their schedules.

Tucker, tensor train and hierarchical Tucker are tree tensor networks.

Vocabulary
----------
rooted network
    The tensors of a tree tensor network (:func:`tnreg.network.is_tree_network`), ordered
    children before parents from a central tensor (a centroid: no side holds more than half
    the tensors); every other tensor has one *parent bond*.
table
    A tensor's value at the distinct sub-tuples of the modes on its side of its parent bond,
    laid out ``(rows, E, parent bond)`` (the root's: ``(rows, E)``). A tensor with one mode and
    one bond (a Tucker factor, an HT leaf, a TT end core) is its own table: its rows are the
    mode's indices, nothing is gathered.
memoization
    The rows of every other table are the distinct combinations (child rows ..., own mode
    indices ...) that occur in the batch (:func:`tnreg.models.engine.rows.distinct_rows`), so each
    is contracted once: a TT prefix over k modes of size d has at most d^k rows whatever the
    batch size. This is the product-pooling evaluator's idea (:mod:`tnreg.models.engine.planner`)
    with a dense core in place of the Hadamard product; a node's children are contracted in
    one einsum (opt_einsum orders them).

The schedule depends on the batch only: it is built once (:func:`schedule_tree_indices`) and
reused by every full-batch training step; :func:`tnreg.models.engine.executor.evaluate_tree`
runs it.
"""

from __future__ import annotations

from collections.abc import Hashable, Sequence
from dataclasses import dataclass

import networkx as nx
import torch
from opt_einsum import get_symbol

from tnreg.models.engine.rows import distinct_rows
from tnreg.models.engine.schedules import TreeIndexSchedule
from tnreg.network import TensorNetwork, holders, is_tree_network

__all__ = ["RootedNetwork", "TreeTensor", "root_network", "schedule_tree_indices"]


@dataclass(frozen=True)
class TreeTensor:
    """One tensor of a rooted network (positions refer to :attr:`RootedNetwork.order`)."""

    name: Hashable
    param: int  # position of the tensor in the model's parameter list
    kids: tuple[int, ...]
    modes: tuple[int, ...]  # the open modes on this tensor, in axis order
    perm: tuple[int, ...]  # ensemble-first axes -> mode axes, ensemble, the rest
    equation: str  # core, child tables -> table (empty for a leaf table)

    @property
    def is_leaf(self) -> bool:
        return not self.kids and len(self.modes) == 1


@dataclass(frozen=True)
class RootedNetwork:
    """A tree tensor network ordered children before parents (built by :func:`root_network`)."""

    order: tuple[TreeTensor, ...]


def root_network(network: TensorNetwork) -> RootedNetwork | None:
    """The network rooted at a centroid tensor, or ``None`` if it is not a tree network."""
    if not is_tree_network(network):
        return None
    tensors = network.tensors  # a copy per access: read it once
    names = list(tensors)
    slot = {name: k for k, name in enumerate(names)}
    modes = set(network.output)
    graph = nx.Graph()
    graph.add_nodes_from(names)
    bond_of: dict[frozenset, Hashable] = {}
    for index, where in holders(network).items():
        if len(where) == 2 and index not in modes:
            (a, _), (b, _) = where
            graph.add_edge(a, b)
            bond_of[frozenset((a, b))] = index
    top = _centroid(graph, names[0])
    post = list(nx.dfs_postorder_nodes(graph, top))
    parent = dict(nx.bfs_predecessors(graph, top))
    position = {name: p for p, name in enumerate(post)}
    order = []
    for name in post:
        axes = tensors[name]
        up = bond_of[frozenset((name, parent[name]))] if name in parent else None
        kids = [k for k in graph.neighbors(name) if parent.get(k) == name]
        kids.sort(key=position.__getitem__)
        mode_axes = [a for a, i in enumerate(axes) if i in modes]
        rest = [a for a in range(len(axes)) if a not in mode_axes]
        perm = (*(a + 1 for a in mode_axes), 0, *(a + 1 for a in rest))
        letter = {i: get_symbol(k + 2) for k, i in enumerate(axes)}
        row, ens = get_symbol(0), get_symbol(1)
        core = (row if mode_axes else "") + ens + "".join(letter[axes[a]] for a in rest)
        tables = [row + ens + letter[bond_of[frozenset((name, k))]] for k in kids]
        out = row + ens + (letter[up] if up is not None else "")
        order.append(
            TreeTensor(
                name=name,
                param=slot[name],
                kids=tuple(position[k] for k in kids),
                modes=tuple(axes[a] for a in mode_axes),
                perm=perm,
                equation=",".join([core, *tables]) + "->" + out,
            )
        )
    return RootedNetwork(tuple(order))


def _centroid(graph: nx.Graph, start: Hashable) -> Hashable:
    """A tensor whose removal leaves no component with more than half the tensors."""
    n = graph.number_of_nodes()
    post = list(nx.dfs_postorder_nodes(graph, start))
    parent = dict(nx.bfs_predecessors(graph, start))
    size = dict.fromkeys(post, 1)
    for v in post:
        if v in parent:
            size[parent[v]] += size[v]
    for v in post:
        largest = max([size[c] for c in graph.neighbors(v) if parent.get(c) == v] + [n - size[v]])
        if 2 * largest <= n:
            return v
    return start


def schedule_tree_indices(
    rooted: RootedNetwork, indices: torch.Tensor, dims: Sequence[int]
) -> TreeIndexSchedule:
    """The distinct rows of every table for a validated ``(B, N)`` batch.

    Examples
    --------
    >>> from tnreg.models import TensorTrain
    >>> tt = TensorTrain(6, 2, 3, seed=0)
    >>> idx = torch.randint(0, 2, (1000, 6), generator=torch.Generator().manual_seed(0))
    >>> rooted = root_network(tt.network)
    >>> schedule = schedule_tree_indices(rooted, idx, tt.dims)
    >>> max(schedule.counts.values()) <= 64  # 2^6 entries: at most 64 distinct rows anywhere
    True
    """
    ids: list[tuple[torch.Tensor, int]] = []
    rows: list[tuple[torch.Tensor, ...] | None] = []
    counts: dict[Hashable, int] = {}
    for t in rooted.order:
        if t.is_leaf:
            (mode,) = t.modes
            ids.append((indices[:, mode], int(dims[mode])))
            rows.append(None)
        else:
            columns = [ids[k][0] for k in t.kids] + [indices[:, m] for m in t.modes]
            sizes = [ids[k][1] for k in t.kids] + [int(dims[m]) for m in t.modes]
            parts, inverse = distinct_rows(columns, sizes)
            ids.append((inverse, int(parts[0].shape[0])))
            rows.append(parts)
        counts[t.name] = ids[-1][1]
    return TreeIndexSchedule(tuple(rows), ids[-1][0], counts, indices)
