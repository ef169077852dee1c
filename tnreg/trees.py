"""Mode trees: which modes of a tensor are grouped, in which order.

Vocabulary
----------
mode
    One axis of an order-N tensor, an ``int`` in ``0..N-1``.
mode tree
    A rooted tree (a :class:`networkx.DiGraph` arborescence, edges point from parent to child)
    whose leaves are the modes and whose interior nodes group the modes below them. Every
    interior node has at least two children; the children's order is the order of the edges.
mode set of a node
    The modes under a node, its set I. The matricization [W]_I puts the modes of I on the rows
    and the rest on the columns; the ranks of [W]_I over all non-root nodes form the
    *hierarchical rank* of W.

Leaves carry the node attribute ``mode``. The builders label each leaf by its mode and each
interior node by the sorted tuple of the modes under it, so ``balanced(4)`` has root
``(0, 1, 2, 3)``, children ``(0, 1)`` and ``(2, 3)``, and leaves ``0..3``. Any other hashable
labels work in a user's own graph (see :func:`from_digraph`).
"""

from __future__ import annotations

import random
from collections.abc import Hashable, Iterable, Iterator, Sequence

import networkx as nx

from tnreg.typing import Mode, Nested, Node

__all__ = [
    "ModeTreeError",
    "balanced",
    "caterpillar",
    "children",
    "depth",
    "draw",
    "from_digraph",
    "from_nested",
    "is_leaf",
    "leaves",
    "mode_sets",
    "modes_under",
    "node_name",
    "node_names",
    "node_mode_sets",
    "order",
    "parent",
    "postorder",
    "random_tree",
    "render",
    "root",
    "star",
    "validate_tree",
]


class ModeTreeError(ValueError):
    """A graph is not a valid mode tree."""


# --------------------------------------------------------------------------- builders


def _check_order(n: object, *, minimum: int = 1) -> int:
    if isinstance(n, bool) or not isinstance(n, int):
        raise ModeTreeError(f"tensor order must be an int, got {type(n).__name__} {n!r}")
    if n < minimum:
        raise ModeTreeError(f"tensor order must be >= {minimum}, got {n}")
    return n


def from_nested(nested: Nested) -> nx.DiGraph:
    """Build a mode tree from nested tuples of modes.

    Parameters
    ----------
    nested
        An ``int`` (a single mode: the order-1 tree) or a sequence of nested entries; each
        sequence is an interior node, its entries its children in order.

    Returns
    -------
    networkx.DiGraph
        The mode tree; leaves labelled by their mode, interior nodes by the sorted tuple of
        their modes.

    Raises
    ------
    ModeTreeError
        If an entry is not an int or a sequence, an interior node has fewer than two children,
        or the modes are not ``0..N-1`` each exactly once.

    Examples
    --------
    >>> tree = from_nested(((0, 1), (2, (3, 4))))
    >>> root(tree), children(tree, (2, 3, 4))
    ((0, 1, 2, 3, 4), [2, (3, 4)])
    """
    tree = nx.DiGraph()

    def add(entry: Nested, where: str) -> Node:
        if (
            isinstance(entry, bool)
            or not isinstance(entry, (int, Sequence))
            or isinstance(entry, str)
        ):
            raise ModeTreeError(
                f"nested mode tree entries must be ints (modes) or sequences (nodes); "
                f"got {type(entry).__name__} {entry!r} at {where}"
            )
        if isinstance(entry, int):
            if tree.has_node(entry):
                raise ModeTreeError(f"mode {entry} appears more than once (again at {where})")
            tree.add_node(entry, mode=entry)
            return entry
        if len(entry) < 2:
            raise ModeTreeError(
                f"an interior node needs at least 2 children; got {len(entry)} at {where}: "
                f"{entry!r}. Write a single mode as a plain int."
            )
        kids = [add(child, f"{where}[{i}]") for i, child in enumerate(entry)]
        label = tuple(sorted(m for k in kids for m in _label_modes(tree, k)))
        tree.add_node(label)
        tree.add_edges_from((label, k) for k in kids)
        return label

    add(nested, "nested")
    validate_tree(tree)
    return tree


def _label_modes(tree: nx.DiGraph, node: Node) -> tuple[Mode, ...]:
    return (tree.nodes[node]["mode"],) if tree.out_degree(node) == 0 else node


def star(n: int) -> nx.DiGraph:
    """The CP tree: one root with the ``n`` modes as children.

    Examples
    --------
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
    if isinstance(arity, bool) or not isinstance(arity, int) or arity < 2:
        raise ModeTreeError(f"arity must be an int >= 2, got {arity!r}")
    level: list[Nested] = list(range(n))
    while len(level) > 1:
        grouped = [level[i : i + arity] for i in range(0, len(level), arity)]
        level = [g[0] if len(g) == 1 else tuple(g) for g in grouped]
    return from_nested(level[0])


def caterpillar(n: int) -> nx.DiGraph:
    """The tensor-train (TT-like) tree: ``((((0, 1), 2), 3), ...)``.

    Examples
    --------
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


def random_tree(n: int, *, seed: int, max_arity: int = 3) -> nx.DiGraph:
    """A random mode tree over ``n`` modes (random leaf order, 2..max_arity children).

    Examples
    --------
    >>> order(random_tree(7, seed=0))
    7
    """
    n = _check_order(n, minimum=1)
    rng = random.Random(seed)
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
        several roots or parts, a node with several parents, an interior node with a single
        child, a leaf without an int ``mode``, or leaf modes that are not ``0..N-1`` once each.
    """
    if not isinstance(tree, nx.DiGraph):
        raise ModeTreeError(f"a mode tree must be a networkx.DiGraph; got {type(tree).__name__}")
    if tree.number_of_nodes() == 0:
        raise ModeTreeError("a mode tree needs at least one node; got an empty graph")
    _check_shape(tree)
    _check_modes(tree)
    return next(v for v in tree.nodes if tree.in_degree(v) == 0)


def _check_shape(tree: nx.DiGraph) -> None:
    many = {v: sorted(map(repr, tree.predecessors(v))) for v in tree if tree.in_degree(v) > 1}
    if many:
        v, ps = next(iter(many.items()))
        raise ModeTreeError(
            f"mode tree must be an arborescence; node {v!r} has {len(ps)} parents: "
            f"[{', '.join(ps)}]"
        )
    if not nx.is_directed_acyclic_graph(tree):
        cycle = [u for u, _ in nx.find_cycle(tree)]
        raise ModeTreeError(f"mode tree must not contain a cycle; found {cycle!r}")
    roots = [v for v in tree.nodes if tree.in_degree(v) == 0]
    if len(roots) != 1:
        raise ModeTreeError(
            f"mode tree must have exactly one root (a node without parent); got {len(roots)}: "
            f"{roots!r}. Join them under a common root."
        )
    single = [v for v in tree.nodes if tree.out_degree(v) == 1]
    if single:
        raise ModeTreeError(
            f"interior nodes need at least 2 children; node {single[0]!r} has 1 "
            f"({next(iter(tree.successors(single[0])))!r}). Remove the node and attach its "
            f"child to its parent."
        )


def _check_modes(tree: nx.DiGraph) -> None:
    found: dict[object, Node] = {}
    for leaf in (v for v in tree.nodes if tree.out_degree(v) == 0):
        if "mode" not in tree.nodes[leaf]:
            raise ModeTreeError(
                f"leaf {leaf!r} has no 'mode' attribute; set tree.nodes[{leaf!r}]['mode'] or "
                f"build the tree with tnreg.trees.from_digraph"
            )
        mode = tree.nodes[leaf]["mode"]
        if not isinstance(mode, Hashable):
            raise ModeTreeError(
                f"leaf {leaf!r} has an unhashable mode {mode!r}; modes are ints 0..N-1"
            )
        if mode in found:
            raise ModeTreeError(
                f"mode {mode!r} appears on two leaves: {found[mode]!r} and {leaf!r}"
            )
        found[mode] = leaf
    n = len(found)
    expected = set(range(n))
    if set(found) != expected:
        missing = sorted(expected - set(found))
        unexpected = sorted((m for m in found if m not in expected), key=repr)
        raise ModeTreeError(
            f"leaf modes must be {_fmt_set(expected)} for an order-{n} tensor; "
            f"missing {_fmt_set(missing)}, unexpected {_fmt_set(unexpected)}"
        )


def _fmt_set(items) -> str:
    return "{" + ", ".join(map(repr, items)) + "}"


# --------------------------------------------------------------------------- queries


def root(tree: nx.DiGraph) -> Node:
    """The root node (the one without a parent)."""
    return next(v for v in tree.nodes if tree.in_degree(v) == 0)


def is_leaf(tree: nx.DiGraph, node: Node) -> bool:
    """Whether ``node`` is a leaf (a mode)."""
    return tree.out_degree(_known(tree, node)) == 0


def children(tree: nx.DiGraph, node: Node) -> list[Node]:
    """The children of ``node`` in order (empty for a leaf)."""
    return list(tree.successors(_known(tree, node)))


def parent(tree: nx.DiGraph, node: Node) -> Node | None:
    """The parent of ``node``, or ``None`` for the root."""
    return next(iter(tree.predecessors(_known(tree, node))), None)


def _known(tree: nx.DiGraph, node: Node) -> Node:
    if node not in tree:
        raise ModeTreeError(f"node {node!r} is not in the mode tree; nodes are {list(tree)!r}")
    return node


def postorder(tree: nx.DiGraph) -> list[Node]:
    """All nodes, children before parents, siblings in order (the root is last)."""
    out: list[Node] = []
    stack: list[tuple[Node, Iterator[Node]]] = [(root(tree), iter(tree.successors(root(tree))))]
    while stack:
        node, it = stack[-1]
        child = next(it, None)
        if child is None:
            out.append(node)
            stack.pop()
        else:
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
        out[v] = (
            (tree.nodes[v]["mode"],) if not kids else tuple(sorted(m for k in kids for m in out[k]))
        )
    return out


def modes_under(tree: nx.DiGraph, node: Node) -> tuple[Mode, ...]:
    """The sorted modes under ``node``: its mode set I."""
    below = nx.descendants(tree, _known(tree, node)) | {node}
    return tuple(sorted(tree.nodes[v]["mode"] for v in below if tree.out_degree(v) == 0))


def _span(modes: Sequence[Mode]) -> str:
    """``0-3`` for a run of consecutive modes, ``0,2,5`` otherwise (abbreviated when long)."""
    modes = sorted(modes)
    if len(modes) == 1:
        return str(modes[0])
    if modes == list(range(modes[0], modes[-1] + 1)):
        return f"{modes[0]}-{modes[-1]}"
    if len(modes) <= 6:
        return ",".join(map(str, modes))
    return f"{modes[0]},{modes[1]},...,{modes[-1]}({len(modes)})"


def node_names(tree: nx.DiGraph) -> dict[Node, str]:
    """A short, unique, printable name for every node, in postorder.

    A node is named by the modes under it: ``"3"`` for leaf 3, ``"0-3"`` for the modes 0..3,
    ``"0,2,5"`` for a scattered set (abbreviated beyond six modes). Names stay short at any
    order (a node over 512 modes is ``"0-511"``), so they suit table columns and CSV headers.
    Nodes with equal mode sets (a single-child node and its child) get a ``'`` per level up.

    Examples
    --------
    >>> node_names(from_nested(((0, 1), (2, 3))))
    {0: '0', 1: '1', (0, 1): '0-1', 2: '2', 3: '3', (2, 3): '2-3', (0, 1, 2, 3): '0-3'}
    """
    out: dict[Node, str] = {}
    seen: dict[str, int] = {}
    for v, modes in mode_sets(tree).items():
        name = _span(modes)
        count = seen.get(name, 0)
        seen[name] = count + 1
        out[v] = name + "'" * count
    return out


def node_name(tree: nx.DiGraph, node: Node) -> str:
    """The short name of one node; see :func:`node_names`."""
    _known(tree, node)
    return node_names(tree)[node]


def node_mode_sets(tree: nx.DiGraph) -> dict[Node, tuple[Mode, ...]]:
    """Mode sets of all non-root nodes: the matricizations that define hierarchical rank."""
    sets = mode_sets(tree)
    del sets[root(tree)]
    return sets


def depth(tree: nx.DiGraph, node: Node | None = None) -> int:
    """The depth of ``node`` (root: 0), or the height of the tree when ``node`` is None."""
    if node is None:
        return int(nx.dag_longest_path_length(tree))
    _known(tree, node)
    return len(nx.ancestors(tree, node))


# --------------------------------------------------------------------------- display


def render(tree: nx.DiGraph) -> str:
    """A text drawing of the tree, one node a line, leaves show their mode.

    Leaves whose label differs from their mode are shown as ``label [mode m]``.
    """
    validate_tree(tree)
    lines: list[str] = []

    def name(v: Node) -> str:
        if tree.out_degree(v) == 0 and tree.nodes[v]["mode"] != v:
            return f"{v!r} [mode {tree.nodes[v]['mode']}]"
        return repr(v) if isinstance(v, str) else str(v)

    def walk(v: Node, prefix: str) -> None:
        kids = list(tree.successors(v))
        for i, k in enumerate(kids):
            last = i == len(kids) - 1
            lines.append(prefix + ("└── " if last else "├── ") + name(k))
            walk(k, prefix + ("    " if last else "│   "))

    top = root(tree)
    lines.append(name(top))
    walk(top, "")
    return "\n".join(lines)


def draw(tree: nx.DiGraph, ax=None, *, labels: bool = True):
    """Draw the tree top-down with matplotlib (``pip install tnreg[plot]``); returns the axes."""
    try:
        import matplotlib.pyplot as plt
    except ImportError as err:  # pragma: no cover - depends on the environment
        raise ImportError("draw() needs matplotlib: pip install 'tnreg[plot]'") from err
    validate_tree(tree)
    pos = _layout(tree)
    if ax is None:
        _, ax = plt.subplots(figsize=(max(4.0, 0.6 * order(tree)), 1.2 + depth(tree)))
    nx.draw_networkx_edges(tree, pos, ax=ax, arrows=False)
    kinds = [tree.out_degree(v) == 0 for v in tree.nodes]
    nx.draw_networkx_nodes(
        tree,
        pos,
        ax=ax,
        node_size=300,
        node_color=["tab:orange" if leaf else "tab:blue" for leaf in kinds],
    )
    if labels:
        text = {v: str(tree.nodes[v]["mode"]) for v in tree.nodes if tree.out_degree(v) == 0}
        nx.draw_networkx_labels(tree, pos, labels=text, ax=ax, font_size=8)
    ax.set_axis_off()
    return ax


def _layout(tree: nx.DiGraph) -> dict[Node, tuple[float, float]]:
    """Leaves evenly spaced left to right, parents centred above their children."""
    pos: dict[Node, tuple[float, float]] = {}
    x = 0.0
    for v in postorder(tree):
        kids = list(tree.successors(v))
        if kids:
            pos[v] = (sum(pos[k][0] for k in kids) / len(kids), 0.0)
        else:
            pos[v], x = (x, 0.0), x + 1.0
    for v in pos:
        pos[v] = (pos[v][0], -float(depth(tree, v)))
    return pos
