"""Mode trees for people: short node names, a text drawing, a matplotlib figure.

Re-exported by :mod:`tnreg.trees` (``trees.render``, ``trees.draw``, ``trees.node_names``); the
structure itself (builders, validation, queries) is :mod:`tnreg.tree_structure`.
"""

from __future__ import annotations

import reprlib
from collections.abc import Iterator, Sequence

import networkx as nx

from tnreg.tree_structure import (
    depth,
    depths,
    from_nested,  # noqa: F401 (the doctests build trees with it)
    mode_sets,
    order,
    postorder,
    root,
    validate_node,
    validate_tree,
)
from tnreg.typing import Mode, Node

__all__ = ["draw", "layout", "node_name", "node_names", "render"]

_REPR = reprlib.Repr()
_REPR.maxlevel, _REPR.maxtuple, _REPR.maxlist, _REPR.maxother = 3, 8, 8, 60


def _span(modes: Sequence[Mode]) -> str:
    """``0-3`` for a run of consecutive modes, ``0,2,5`` otherwise (abbreviated when long).

    ``modes`` is sorted and distinct (a mode set), so a run is recognised in O(1).
    """
    if len(modes) == 1:
        return str(modes[0])
    if modes[-1] - modes[0] == len(modes) - 1:  # sorted distinct ints: a run
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
    validate_node(tree, node)
    return node_names(tree)[node]


def render(tree: nx.DiGraph) -> str:
    """A text drawing of the tree, one node a line, leaves show their mode.

    Leaves whose label differs from their mode are shown as ``label [mode m]``. The output
    stays linear in the number of nodes at any order: a tuple label of more than 8 entries is
    shown as ``(0, 1, 2, ..., 9999)``, and below depth 24 the indentation keeps its first and
    last 8 levels around a ``[+k]`` marker counting the levels left out.

    Examples
    --------
    >>> print(render(from_nested(((0, 1), (2,)))))
    (0, 1, 2)
    ├── (0, 1)
    │   ├── 0
    │   └── 1
    └── (2,)
        └── 2
    """
    validate_tree(tree)

    def name(v: Node) -> str:
        if tree.out_degree(v) == 0 and tree.nodes[v]["mode"] != v:
            return f"{_label(v)} [mode {_label(tree.nodes[v]['mode'])}]"
        return _label(v)

    top = root(tree)
    lines = [name(top)]
    segments: list[str] = []  # one indentation segment per open level
    stack: list[Iterator[tuple[bool, Node]]] = [_marked(list(tree.successors(top)))]
    while stack:
        step = next(stack[-1], None)
        if step is None:
            stack.pop()
            if segments:
                segments.pop()
            continue
        last, v = step
        lines.append(_indent(segments) + ("└── " if last else "├── ") + name(v))
        segments.append("    " if last else "│   ")
        stack.append(_marked(list(tree.successors(v))))
    return "\n".join(lines)


def _marked(kids: list[Node]) -> Iterator[tuple[bool, Node]]:
    return ((i == len(kids) - 1, k) for i, k in enumerate(kids))


def _indent(segments: list[str], keep: int = 8) -> str:
    if len(segments) <= 3 * keep:
        return "".join(segments)
    skipped = len(segments) - 2 * keep
    return "".join(segments[:keep]) + f"[+{skipped}] " + "".join(segments[-keep:])


def _label(v: object, level: int = 0) -> str:
    """``str`` of a node label (``repr`` for strings), long tuples abbreviated."""
    if isinstance(v, str):
        return repr(v)
    if not isinstance(v, tuple):
        return str(v) if level < 3 else _REPR.repr(v)
    if level >= 3:
        return "(...)"
    items = [_label(x, level + 1) for x in (v[:3] + v[-1:] if len(v) > 8 else v)]
    if len(v) > 8:
        items = [*items[:3], "...", items[-1]]
    return "(" + ", ".join(items) + ("," if len(v) == 1 else "") + ")"


def draw(tree: nx.DiGraph, ax=None, *, labels: bool = True):
    """Draw the tree top-down with matplotlib (``pip install tnreg[plot]``); returns the axes."""
    try:
        import matplotlib.pyplot as plt
    except ImportError as err:  # pragma: no cover - depends on the environment
        raise ImportError("draw() needs matplotlib: pip install 'tnreg[plot]'") from err
    validate_tree(tree)
    pos = layout(tree)
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


def layout(tree: nx.DiGraph) -> dict[Node, tuple[float, float]]:
    """Node positions of :func:`draw`: leaves evenly spaced left to right (x = 0, 1, ...),
    parents centred above their children, y = minus the depth.

    Examples
    --------
    >>> layout(from_nested(((0, 1), 2)))
    {0: (0.0, -2.0), 1: (1.0, -2.0), (0, 1): (0.5, -1.0), 2: (2.0, -1.0), (0, 1, 2): (1.25, -0.0)}
    """
    pos: dict[Node, tuple[float, float]] = {}
    x = 0.0
    for v in postorder(tree):
        kids = list(tree.successors(v))
        if kids:
            pos[v] = (sum(pos[k][0] for k in kids) / len(kids), 0.0)
        else:
            pos[v], x = (x, 0.0), x + 1.0
    levels = depths(tree)
    for v in pos:
        pos[v] = (pos[v][0], -float(levels[v]))
    return pos
