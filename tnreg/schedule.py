"""A mode tree's schedule: its nodes in the orders every sweep needs, computed once per structure.

Vocabulary
----------
height
    0 at a leaf, else 1 + the largest height of the node's children. Nodes of equal height do
    not depend on each other bottom-up: one *level* of a bottom-up sweep (inner Gramians, model
    evaluation) can process them together, so a sweep makes about ``height(root)`` batched
    steps instead of one per node.
depth
    0 at the root, else 1 + the depth of the parent: the levels of a top-down sweep (outer
    Gramians).
structure key
    ``(node, children in tree order, mode)`` for every node: two trees with equal keys get the
    same (cached) :class:`Schedule`, so models, Gramians and reports share one.

Examples
--------
>>> from tnreg import trees
>>> s = schedule(trees.balanced(4))
>>> s.heights
((0, 1, 2, 3), ((0, 1), (2, 3)), ((0, 1, 2, 3),))
>>> schedule(trees.balanced(4)) is s
True
"""

from __future__ import annotations

import weakref
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import networkx as nx

from tnreg.trees import postorder, root
from tnreg.typing import Node

__all__ = ["Schedule", "schedule"]

_CACHE_SIZE = 64
_cache: OrderedDict[tuple, Schedule] = OrderedDict()
_by_object: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


@dataclass(frozen=True)
class Schedule:
    """Orders and links of one mode tree (read-only; shared between its users).

    Attributes
    ----------
    root
        The root node.
    postorder
        Children before parents, siblings in tree order.
    children, parent
        Children of every node (tree order; empty at leaves) and parent of every non-root node.
    heights
        ``heights[h]``: the nodes of height h, in postorder (``heights[0]``: the leaves).
    depths
        ``depths[t]``: the nodes of depth t, in postorder (``depths[0]``: the root).
    index
        Node -> its position in :attr:`postorder`. The ``*_at`` attributes repeat the links
        with positions instead of nodes, for sweeps that keep per-node values in lists or in
        stacked tensors (no hashing of node labels in the inner loops).
    children_at, parent_at, heights_at, depths_at
        Positions of the children / parent (-1 at the root) of each position, and the levels.
    """

    root: Node
    postorder: tuple[Node, ...]
    children: dict[Node, tuple[Node, ...]]
    parent: dict[Node, Node]
    heights: tuple[tuple[Node, ...], ...]
    depths: tuple[tuple[Node, ...], ...]
    index: dict[Node, int]
    children_at: tuple[tuple[int, ...], ...]
    parent_at: tuple[int, ...]
    heights_at: tuple[tuple[int, ...], ...]
    depths_at: tuple[tuple[int, ...], ...]
    _derived: dict = field(default_factory=dict, compare=False, repr=False)

    def derived(self, key: str, make: Callable[[], Any]) -> Any:
        """``make()`` once per schedule: for data that depends on the tree's structure only
        (mode sets, node names), shared like the schedule itself. Treat it as read-only."""
        if key not in self._derived:
            self._derived[key] = make()
        return self._derived[key]

    @property
    def interior(self) -> tuple[Node, ...]:
        """Interior nodes in postorder (root last)."""
        return tuple(v for v in self.postorder if self.children[v])

    @property
    def leaves(self) -> tuple[Node, ...]:
        """Leaves in postorder."""
        return self.heights[0]


def structure_key(tree: nx.DiGraph) -> tuple:
    """The canonical structure of a tree: (node, children in order, mode) per node."""
    return tuple((v, tuple(tree.successors(v)), tree.nodes[v].get("mode")) for v in tree)


def schedule(tree: nx.DiGraph) -> Schedule:
    """The (cached) :class:`Schedule` of a validated mode tree.

    Trees with the same structure key (see the module vocabulary) share one schedule; the 64
    most recently used are kept. A tree object seen before is recognised without rebuilding
    its key (by its node count): treat a tree as immutable once it is in use, as
    models do (they keep their own copy).
    """
    counts = tree.number_of_nodes()  # O(1); a tree has one edge fewer
    seen = _by_object.get(tree)
    if seen is not None and seen[0] == counts:
        return seen[1]
    key = structure_key(tree)
    hit = _cache.get(key)
    if hit is not None:
        _cache.move_to_end(key)
        _by_object[tree] = (counts, hit)
        return hit
    made = _build(tree)
    _cache[key] = made
    _by_object[tree] = (counts, made)
    if len(_cache) > _CACHE_SIZE:
        _cache.popitem(last=False)
    return made


def _build(tree: nx.DiGraph) -> Schedule:
    order = tuple(postorder(tree))
    top = root(tree)
    kids = {v: tuple(tree.successors(v)) for v in order}
    parent = {c: v for v in order for c in kids[v]}
    height: dict[Node, int] = {}
    for v in order:
        height[v] = 1 + max((height[c] for c in kids[v]), default=-1)
    depth: dict[Node, int] = {top: 0}
    for v in reversed(order):
        for c in kids[v]:
            depth[c] = depth[v] + 1
    index = {v: i for i, v in enumerate(order)}
    heights, depths = _group(order, height), _group(order, depth)
    return Schedule(
        root=top,
        postorder=order,
        children=kids,
        parent=parent,
        heights=heights,
        depths=depths,
        index=index,
        children_at=tuple(tuple(index[c] for c in kids[v]) for v in order),
        parent_at=tuple(index[parent[v]] if v in parent else -1 for v in order),
        heights_at=tuple(tuple(index[v] for v in level) for level in heights),
        depths_at=tuple(tuple(index[v] for v in level) for level in depths),
    )


def _group(order: tuple[Node, ...], level: dict[Node, int]) -> tuple[tuple[Node, ...], ...]:
    out: list[list[Node]] = [[] for _ in range(max(level.values()) + 1)]
    for v in order:
        out[level[v]].append(v)
    return tuple(tuple(vs) for vs in out)
