"""Mode trees, their structure: builders, validation and queries.

Vocabulary
----------
mode
    One axis of an order-N tensor, an ``int`` in ``0..N-1``.
mode tree
    A rooted tree (a :class:`networkx.DiGraph` arborescence, edges point from parent to child)
    whose leaves are the modes and whose interior nodes group the modes below them. An interior
    node has one or more children, in the order of the edges; a node with a single child (a
    *unary* node) keeps its child's mode set and, in a model, applies a matrix to its child's
    channels (the papers' layout for odd orders pools a lone mode this way).
mode set of a node
    The modes under a node, its set I. The matricization [W]_I puts the modes of I on the rows
    and the rest on the columns; the ranks of [W]_I over all non-root nodes form the
    *hierarchical rank* of W.

Leaves carry the node attribute ``mode``. The builders label each leaf by its mode and each
interior node by the sorted tuple of the modes under it, so ``balanced(4)`` has root
``(0, 1, 2, 3)``, children ``(0, 1)`` and ``(2, 3)``, and leaves ``0..3``. A unary node over a
leaf m is ``(m,)``; a unary node over an interior node (whose sorted tuple is taken) is
``("unary", k, modes)``, k = 1, 2, ... counting unary levels (see :func:`from_nested`). Any other
hashable labels work in a user's own graph (see :func:`from_digraph`).

Every algorithm here is iterative (no recursion): trees of order 10,000 and depth 10,000 (a
caterpillar) build, validate and traverse.
"""

from __future__ import annotations

import itertools
import operator
import random
import reprlib
from collections.abc import Hashable, Iterable, Iterator, Sequence
from typing import Any

import networkx as nx

from tnreg.errors import TnregError
from tnreg.typing import Mode, Nested, Node

__all__ = [
    "ModeTreeError",
    "ModeTuple",
    "balanced",
    "caterpillar",
    "children",
    "depth",
    "depths",
    "from_digraph",
    "from_nested",
    "is_leaf",
    "leaves",
    "mode_sets",
    "modes_under",
    "node_mode_sets",
    "order",
    "parent",
    "postorder",
    "random_tree",
    "root",
    "star",
    "validate_node",
    "validate_tree",
]


class ModeTreeError(TnregError, ValueError):
    """A graph is not a valid mode tree."""


class ModeTuple(tuple):
    """A builder's interior-node label: the sorted tuple of the node's modes, hash cached.

    It equals, hashes and prints like the plain tuple, so ``tree.nodes[(0, 1)]`` finds it; the
    hash is computed once, so graph lookups stay O(1) when labels hold thousands of modes (a
    plain tuple rehashes all its entries at every dict lookup: quadratic time on a caterpillar
    of order 10,000).

    Examples
    --------
    >>> label = ModeTuple((0, 1))
    >>> label == (0, 1), hash(label) == hash((0, 1)), label
    (True, True, (0, 1))
    """

    _hash: int

    def __new__(cls, modes: Iterable[Mode]) -> ModeTuple:
        self = super().__new__(cls, modes)
        self._hash = tuple.__hash__(self)
        return self

    def __hash__(self) -> int:
        return self._hash


# --------------------------------------------------------------------------- builders


def _as_int(value: object) -> int | None:
    """``value`` as a Python int (numpy integers too), or None for bools and non-integers."""
    if isinstance(value, bool) or type(value).__name__ in ("bool_", "bool"):
        return None
    try:
        return operator.index(value)  # type: ignore[arg-type]
    except TypeError:
        return None


def _check_order(n: object, *, minimum: int = 1) -> int:
    value = _as_int(n)
    if value is None:
        raise ModeTreeError(
            f"tensor order must be an int, got {type(n).__name__} {_short(n)}; pass e.g. 4"
        )
    if value < minimum:
        raise ModeTreeError(f"tensor order must be >= {minimum}, got {value}")
    return value


_REPR = reprlib.Repr()
_REPR.maxlevel, _REPR.maxtuple, _REPR.maxlist, _REPR.maxother = 3, 8, 8, 60


def _short(value: object) -> str:
    """A bounded repr (deeply nested or huge entries stay short)."""
    return _REPR.repr(value)


def _is_node_entry(entry: object) -> bool:
    if isinstance(entry, (str, bytes)):
        return False
    return isinstance(entry, Sequence) or getattr(entry, "ndim", 0) == 1


def _where(path: list[int]) -> str:
    return "nested" + "".join(f"[{i}]" for i in path)


def from_nested(nested: Nested) -> nx.DiGraph:
    """Build a mode tree from nested tuples of modes.

    Parameters
    ----------
    nested
        An ``int`` (a single mode: the order-1 tree; numpy integers work too) or a sequence of
        nested entries; each sequence is an interior node, its entries its children in order.
        A sequence of one entry is a *unary* node over that entry. Any nesting depth works (the
        walk is iterative).

    Returns
    -------
    networkx.DiGraph
        The mode tree; leaves labelled by their mode (a Python ``int``), interior nodes by the
        sorted tuple of their modes. A unary node whose mode tuple is already the label of its
        child (a unary node over an interior node) is labelled ``("unary", k, modes)``, ``k``
        counting the unary levels above the first node with that mode set.

    Raises
    ------
    ModeTreeError
        If an entry is not an int or a sequence, a sequence is empty, or the modes are not
        ``0..N-1`` each exactly once.

    Examples
    --------
    >>> tree = from_nested(((0, 1), (2, (3, 4))))
    >>> root(tree), children(tree, (2, 3, 4))
    ((0, 1, 2, 3, 4), [2, (3, 4)])
    >>> children(from_nested(((0, 1), (2,))), (0, 1, 2))  # the papers' order-3 layout
    [(0, 1), (2,)]
    >>> children(from_nested((((0, 1),), 2)), (0, 1, 2))
    [('unary', 1, (0, 1)), 2]
    """
    tree = nx.DiGraph()
    modes_of: dict[Node, tuple[Mode, ...]] = {}
    stack: list[tuple[Any, list[Node]]] = []  # open sequences and their finished children
    path: list[int] = []  # position of the current entry, for messages
    entry: Any = nested
    while True:
        mode = _as_int(entry)
        if mode is None and _is_node_entry(entry):
            if len(entry) == 0 and not path:
                raise ModeTreeError(
                    f"a mode tree needs at least one mode; got an empty {type(entry).__name__}. "
                    f"Pass nested sequences of modes, e.g. ((0, 1), (2, 3))"
                )
            if len(entry) == 0:
                raise ModeTreeError(
                    f"an interior node needs at least 1 child; got an empty sequence at "
                    f"{_where(path)}. Remove it"
                )
            stack.append((entry, []))
            path.append(0)
            entry = entry[0]
            continue
        if mode is None:
            raise ModeTreeError(
                f"nested mode tree entries must be ints (modes) or sequences (nodes); "
                f"got {type(entry).__name__} {_short(entry)} at {_where(path)}"
            )
        if mode in modes_of:
            raise ModeTreeError(f"mode {mode} appears more than once (again at {_where(path)})")
        tree.add_node(mode, mode=mode)
        modes_of[mode] = (mode,)
        done: Node = mode
        while stack and len(stack[-1][1]) + 1 == len(stack[-1][0]):  # close finished nodes
            stack[-1][1].append(done)
            done = _add_interior(tree, modes_of, stack.pop()[1])
            path.pop()
        if not stack:
            break
        stack[-1][1].append(done)
        path[-1] += 1
        entry = stack[-1][0][path[-1]]
    validate_tree(tree)
    return tree


def _merge(parts: list[tuple[Mode, ...]]) -> tuple[Mode, ...]:
    """The sorted union of disjoint sorted mode tuples (no sort when they are in order)."""
    merged: list[Mode] = []
    for part in parts:
        merged.extend(part)
    if any(a[-1] > b[0] for a, b in itertools.pairwise(parts)):
        merged.sort()
    return tuple(merged)


def _add_interior(
    tree: nx.DiGraph, modes_of: dict[Node, tuple[Mode, ...]], kids: list[Node]
) -> Node:
    """Add the interior node over ``kids`` (labelled by its sorted modes) and return its label."""
    if len(kids) == 1:
        modes = ModeTuple(modes_of[kids[0]])
    else:
        modes = ModeTuple(_merge([modes_of[k] for k in kids]))
    label: Node = modes
    if label in modes_of:  # a unary node over a node with the same mode set
        child = kids[0]
        unary = isinstance(child, tuple) and len(child) == 3 and child[0] == "unary"
        label = ("unary", child[1] + 1 if unary else 1, modes)
    modes_of[label] = modes
    tree.add_node(label)
    tree.add_edges_from((label, k) for k in kids)
    return label


def star(n: int) -> nx.DiGraph:
    """The CP tree: one root with the ``n`` modes as children.

    Examples
    --------
    >>> from tnreg.trees import render
    >>> print(render(star(3)))
    (0, 1, 2)
    ├── 0
    ├── 1
    └── 2
    """
    n = _check_order(n, minimum=2)
    return from_nested(tuple(range(n)))


def balanced(n: int, arity: int = 2) -> nx.DiGraph:
    """A balanced tree over modes ``0..n-1`` in order, ``arity`` children per node.

    Modes are grouped ``arity`` at a time level by level; where a level does not divide
    evenly the last group is smaller (a group of one is passed up unchanged), so every
    interior node has between 2 and ``arity`` children.

    Examples
    --------
    >>> root(balanced(4)), children(balanced(4), (0, 1, 2, 3))
    ((0, 1, 2, 3), [(0, 1), (2, 3)])
    >>> children(balanced(5), (0, 1, 2, 3, 4))
    [(0, 1, 2, 3), 4]
    """
    n = _check_order(n, minimum=2)
    arity = _check_arity(arity, "arity")
    level: list[Nested] = list(range(n))
    while len(level) > 1:
        grouped = [level[i : i + arity] for i in range(0, len(level), arity)]
        level = [g[0] if len(g) == 1 else tuple(g) for g in grouped]
    return from_nested(level[0])


def caterpillar(n: int) -> nx.DiGraph:
    """The tensor-train (TT-like) tree: ``((((0, 1), 2), 3), ...)``.

    Examples
    --------
    >>> from tnreg.trees import render
    >>> print(render(caterpillar(3)))
    (0, 1, 2)
    ├── (0, 1)
    │   ├── 0
    │   └── 1
    └── 2
    """
    n = _check_order(n, minimum=2)
    nested: Nested = (0, 1)
    for m in range(2, n):
        nested = (nested, m)
    return from_nested(nested)


def _check_arity(arity: object, name: str) -> int:
    value = _as_int(arity)
    if value is None or value < 2:
        raise ModeTreeError(
            f"{name} must be an int >= 2 (children per node), got {type(arity).__name__} "
            f"{_short(arity)}"
        )
    return value


def random_tree(n: int, *, seed: int, max_arity: int = 3) -> nx.DiGraph:
    """A random mode tree over ``n`` modes (random leaf order, 2..max_arity children).

    ``seed`` is an int (numpy integers too); the same seed gives the same tree in every
    process.

    Examples
    --------
    >>> order(random_tree(7, seed=0))
    7
    """
    n = _check_order(n, minimum=1)
    max_arity = _check_arity(max_arity, "max_arity")
    if _as_int(seed) is None:
        raise ModeTreeError(
            f"seed must be an int, got {type(seed).__name__} {_short(seed)}; pass e.g. seed=0"
        )
    rng = random.Random(_as_int(seed))
    level: list[Nested] = list(range(n))
    rng.shuffle(level)
    while len(level) > 1:
        k = rng.randint(2, min(max_arity, len(level)))
        at = rng.randrange(len(level) - k + 1)
        level[at : at + k] = [tuple(level[at : at + k])]
    return from_nested(level[0])


def from_digraph(graph: nx.DiGraph | Iterable[tuple[Node, Node]]) -> nx.DiGraph:
    """Validate a user's DiGraph (or list of parent -> child edges) as a mode tree.

    Returns a copy in which a leaf without a ``mode`` attribute takes its node label as its
    mode (so a graph whose leaves are labelled ``0..N-1`` needs no attributes).

    Examples
    --------
    >>> g = nx.DiGraph([("root", "a"), ("root", 2), ("a", 0), ("a", 1)])
    >>> modes_under(from_digraph(g), "a")
    (0, 1)
    """
    if not isinstance(graph, nx.DiGraph):
        if isinstance(graph, nx.Graph) or not isinstance(graph, Iterable):
            raise ModeTreeError(
                f"a mode tree must be a networkx.DiGraph or a list of (parent, child) edges; "
                f"got {type(graph).__name__}"
            )
        try:
            graph = nx.DiGraph(list(graph))
        except TypeError as err:
            raise ModeTreeError(
                f"mode tree node labels must be hashable (ints, strings, tuples): {err}"
            ) from None
        except nx.NetworkXError as err:
            raise ModeTreeError(
                f"could not read the edges as (parent, child) pairs of hashable labels: {err}"
            ) from None
    tree = graph.copy()
    for node in tree.nodes:
        if tree.out_degree(node) == 0 and "mode" not in tree.nodes[node]:
            tree.nodes[node]["mode"] = node
    validate_tree(tree)
    return tree


# --------------------------------------------------------------------------- validation


def validate_tree(tree: nx.DiGraph) -> Node:
    """Check that ``tree`` is a mode tree and return its root.

    Raises
    ------
    ModeTreeError
        Naming the offending nodes: not a DiGraph, empty, unhashable labels, a cycle,
        several roots or parts, a node with several parents, a leaf without an int ``mode``,
        or leaf modes that are not ``0..N-1`` once each. Single-child (unary) nodes are valid.
    """
    if not isinstance(tree, nx.DiGraph):
        raise ModeTreeError(f"a mode tree must be a networkx.DiGraph; got {type(tree).__name__}")
    if tree.number_of_nodes() == 0:
        raise ModeTreeError("a mode tree needs at least one node; got an empty graph")
    _check_shape(tree)
    _check_modes(tree)
    return next(v for v in tree.nodes if tree.in_degree(v) == 0)


def _check_shape(tree: nx.DiGraph) -> None:
    many = next((v for v in tree if tree.in_degree(v) > 1), _NONE)
    if many is not _NONE:
        ps = sorted(map(_short, tree.predecessors(many)))
        raise ModeTreeError(
            f"mode tree must be an arborescence; node {_short(many)} has {len(ps)} parents: "
            f"[{', '.join(ps)}]"
        )
    if not nx.is_directed_acyclic_graph(tree):
        cycle = [u for u, _ in nx.find_cycle(tree)]
        raise ModeTreeError(f"mode tree must not contain a cycle; found {_short(cycle)}")
    roots = [v for v in tree.nodes if tree.in_degree(v) == 0]
    if len(roots) != 1:
        raise ModeTreeError(
            f"mode tree must have exactly one root (a node without parent); got {len(roots)}: "
            f"{_short(roots)}. Join them under a common root."
        )


_NONE = object()


def _check_modes(tree: nx.DiGraph) -> None:
    found: dict[object, Node] = {}
    for leaf in (v for v in tree.nodes if tree.out_degree(v) == 0):
        if "mode" not in tree.nodes[leaf]:
            raise ModeTreeError(
                f"leaf {_short(leaf)} has no 'mode' attribute; set tree.nodes[leaf]['mode'] or "
                f"build the tree with tnreg.trees.from_digraph"
            )
        mode = tree.nodes[leaf]["mode"]
        if not isinstance(mode, Hashable):
            raise ModeTreeError(
                f"leaf {_short(leaf)} has an unhashable mode {_short(mode)}; modes are ints 0..N-1"
            )
        if mode in found:
            raise ModeTreeError(
                f"mode {_short(mode)} appears on two leaves: {_short(found[mode])} and "
                f"{_short(leaf)}"
            )
        found[mode] = leaf
    n = len(found)
    expected = set(range(n))
    if set(found) != expected:
        missing = sorted(expected - set(found))
        unexpected = sorted((m for m in found if m not in expected), key=repr)
        raise ModeTreeError(
            f"leaf modes must be {_fmt_set(sorted(expected))} for an order-{n} tensor; "
            f"missing {_fmt_set(missing)}, unexpected {_fmt_set(unexpected)}"
        )


def _fmt_set(items: list) -> str:
    """``{0, 1, 2}``, abbreviated to ``{0, 1, ..., 9999}`` beyond 8 items."""
    shown = [*map(_short, items[:6]), "...", _short(items[-1])] if len(items) > 8 else None
    return "{" + ", ".join(shown or map(_short, items)) + "}"


# --------------------------------------------------------------------------- queries


def _digraph(tree: object) -> nx.DiGraph:
    if not isinstance(tree, nx.DiGraph):
        raise ModeTreeError(
            f"a mode tree must be a networkx.DiGraph; got {type(tree).__name__}. Build one with "
            "tnreg.trees.from_nested or from_digraph"
        )
    return tree


def root(tree: nx.DiGraph) -> Node:
    """The root node (the one without a parent)."""
    top = next((v for v in _digraph(tree).nodes if tree.in_degree(v) == 0), _NONE)
    if top is _NONE:
        raise ModeTreeError(
            "mode tree has no root (every node has a parent: a cycle or an empty graph); "
            "check it with tnreg.trees.validate_tree"
        )
    return top


def is_leaf(tree: nx.DiGraph, node: Node) -> bool:
    """Whether ``node`` is a leaf (a mode)."""
    node = validate_node(tree, node)
    return tree.out_degree(node) == 0


def children(tree: nx.DiGraph, node: Node) -> list[Node]:
    """The children of ``node`` in order (empty for a leaf)."""
    node = validate_node(tree, node)
    return list(tree.successors(node))


def parent(tree: nx.DiGraph, node: Node) -> Node | None:
    """The parent of ``node``, or ``None`` for the root."""
    node = validate_node(tree, node)
    return next(iter(tree.predecessors(node)), None)


def validate_node(tree: nx.DiGraph, node: Node) -> Node:
    """``node`` itself if it is a node of ``tree``; raises :class:`ModeTreeError` otherwise.

    Examples
    --------
    >>> validate_node(balanced(4), (0, 1))
    (0, 1)
    """
    if node not in _digraph(tree):
        raise ModeTreeError(
            f"node {_short(node)} is not in the mode tree; nodes are {_short(list(tree))} "
            f"({tree.number_of_nodes()} in all)"
        )
    return node


def postorder(tree: nx.DiGraph) -> list[Node]:
    """All nodes, children before parents, siblings in order (the root is last).

    Raises
    ------
    ModeTreeError
        If a node is reached twice (the graph is not a tree: check it with
        :func:`validate_tree`).
    """
    top = root(tree)
    out: list[Node] = []
    seen = {top}
    stack: list[tuple[Node, Iterator[Node]]] = [(top, iter(tree.successors(top)))]
    while stack:
        node, it = stack[-1]
        child = next(it, _NONE)
        if child is _NONE:
            out.append(node)
            stack.pop()
            continue
        if child in seen:
            raise ModeTreeError(
                f"node {_short(child)} is reached twice: the graph is not a mode tree; "
                "check it with tnreg.trees.validate_tree"
            )
        seen.add(child)
        stack.append((child, iter(tree.successors(child))))
    return out


def leaves(tree: nx.DiGraph) -> list[Node]:
    """The leaves in left-to-right order (not necessarily mode order)."""
    return [v for v in postorder(tree) if tree.out_degree(v) == 0]


def order(tree: nx.DiGraph) -> int:
    """The number of modes N."""
    return sum(1 for v in tree.nodes if tree.out_degree(v) == 0)


def mode_sets(tree: nx.DiGraph) -> dict[Node, tuple[Mode, ...]]:
    """The sorted modes under every node, in postorder (one pass over the tree)."""
    out: dict[Node, tuple[Mode, ...]] = {}
    for v in postorder(tree):
        kids = list(tree.successors(v))
        if not kids:
            out[v] = (tree.nodes[v]["mode"],)
        elif len(kids) == 1:
            out[v] = out[kids[0]]
        else:
            merged_t = _merge([out[k] for k in kids])
            # share the label's tuple when it is the mode set (the builders' labels)
            out[v] = v if isinstance(v, ModeTuple) and v == merged_t else ModeTuple(merged_t)
    return out


def modes_under(tree: nx.DiGraph, node: Node) -> tuple[Mode, ...]:
    """The sorted modes under ``node``: its mode set I."""
    node = validate_node(tree, node)
    below = nx.descendants(tree, node) | {node}
    return tuple(sorted(tree.nodes[v]["mode"] for v in below if tree.out_degree(v) == 0))


def node_mode_sets(tree: nx.DiGraph) -> dict[Node, tuple[Mode, ...]]:
    """Mode sets of all non-root nodes: the matricizations that define hierarchical rank."""
    sets = mode_sets(tree)
    del sets[root(tree)]
    return sets


def depth(tree: nx.DiGraph, node: Node | None = None) -> int:
    """The depth of ``node`` (root: 0), or the height of the tree when ``node`` is None."""
    if node is None:
        return max(depths(tree).values())
    validate_node(tree, node)
    return len(nx.ancestors(tree, node))


def depths(tree: nx.DiGraph) -> dict[Node, int]:
    """The depth of every node (root: 0), in one pass; parents before children.

    Examples
    --------
    >>> depths(caterpillar(3))
    {(0, 1, 2): 0, (0, 1): 1, 2: 1, 0: 2, 1: 2}
    """
    top = root(tree)
    out: dict[Node, int] = {top: 0}
    stack = [top]
    while stack:
        v = stack.pop()
        kids = list(tree.successors(v))
        for k in kids:
            if k in out:
                raise ModeTreeError(
                    f"node {_short(k)} is reached twice: the graph is not a mode tree; "
                    "check it with tnreg.trees.validate_tree"
                )
            out[k] = out[v] + 1
        stack.extend(reversed(kids))
    return out
