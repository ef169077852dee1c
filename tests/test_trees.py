"""Mode trees: builders, queries and validation errors."""

from __future__ import annotations

import networkx as nx
import pytest

from tnreg import trees
from tnreg.trees import ModeTreeError

BUILT = {
    # balanced
    "balanced4": lambda: trees.balanced(4),
    "balanced8": lambda: trees.balanced(8),
    "ternary9": lambda: trees.balanced(9, arity=3),
    "balanced7_arity3": lambda: trees.balanced(7, arity=3),
    # caterpillar / TT
    "caterpillar5": lambda: trees.caterpillar(5),
    # CP
    "star6": lambda: trees.star(6),
    # order 2
    "order2": lambda: trees.balanced(2),
    # unbalanced, 3+ children, any leaf order
    "nested": lambda: trees.from_nested(((0, 1), (2, (3, 4)))),
    "mixed_order": lambda: trees.from_nested(((3, 0, 5), (1, (4, 2)))),
    "random": lambda: trees.random_tree(11, seed=3),
}


@pytest.mark.parametrize("name", BUILT)
def test_every_builder_gives_a_valid_tree(name):
    tree = BUILT[name]()
    top = trees.validate_tree(tree)
    n = trees.order(tree)
    assert trees.root(tree) == top
    assert trees.modes_under(tree, top) == tuple(range(n))
    assert sorted(tree.nodes[v]["mode"] for v in trees.leaves(tree)) == list(range(n))
    assert all(len(trees.children(tree, v)) >= 2 for v in tree if not trees.is_leaf(tree, v))


@pytest.mark.parametrize("name", BUILT)
def test_mode_sets_agree_with_modes_under_and_children_partition(name):
    tree = BUILT[name]()
    sets = trees.mode_sets(tree)
    for v, modes in sets.items():
        assert modes == trees.modes_under(tree, v)
        kids = trees.children(tree, v)
        if kids:
            assert sorted(m for k in kids for m in sets[k]) == list(modes)


@pytest.mark.parametrize("name", BUILT)
def test_postorder_puts_children_first(name):
    tree = BUILT[name]()
    seen = {}
    for i, v in enumerate(trees.postorder(tree)):
        assert all(k in seen for k in trees.children(tree, v))
        seen[v] = i
    assert len(seen) == tree.number_of_nodes()
    assert trees.postorder(tree)[-1] == trees.root(tree)


def test_builders_shapes():
    assert trees.children(trees.star(3), (0, 1, 2)) == [0, 1, 2]
    assert trees.children(trees.balanced(8), (0, 1, 2, 3, 4, 5, 6, 7)) == [
        (0, 1, 2, 3),
        (4, 5, 6, 7),
    ]
    cat = trees.caterpillar(4)
    assert trees.children(cat, (0, 1, 2, 3)) == [(0, 1, 2), 3]
    assert trees.depth(cat) == 3
    assert trees.depth(trees.balanced(8)) == 3
    assert trees.depth(trees.star(5)) == 1


def test_queries():
    tree = trees.from_nested(((0, 1), (2, (3, 4))))
    assert trees.parent(tree, 3) == (3, 4)
    assert trees.parent(tree, (0, 1, 2, 3, 4)) is None
    assert trees.depth(tree, 4) == 3
    assert trees.leaves(tree) == [0, 1, 2, 3, 4]
    assert trees.node_mode_sets(tree) == {
        0: (0,),
        1: (1,),
        (0, 1): (0, 1),
        2: (2,),
        3: (3,),
        4: (4,),
        (3, 4): (3, 4),
        (2, 3, 4): (2, 3, 4),
    }


def test_leaf_order_is_kept():
    tree = trees.from_nested(((3, 0), (2, 1)))
    assert trees.leaves(tree) == [3, 0, 2, 1]
    assert trees.children(tree, (0, 1, 2, 3)) == [(0, 3), (1, 2)]


def test_from_digraph_with_own_labels():
    g = nx.DiGraph()
    g.add_edges_from([("top", "left"), ("top", "right"), ("left", "a"), ("left", "b")])
    g.add_edges_from([("right", "c"), ("right", "d"), ("right", "e")])
    for mode, leaf in enumerate("abcde"):
        g.nodes[leaf]["mode"] = mode
    tree = trees.from_digraph(g)
    assert trees.modes_under(tree, "right") == (2, 3, 4)
    assert "'a' [mode 0]" in trees.render(tree)
    assert g is not tree


def test_from_digraph_edge_list_defaults_modes_to_labels():
    tree = trees.from_digraph([("r", 0), ("r", 1), ("r", 2)])
    assert trees.modes_under(tree, "r") == (0, 1, 2)


def test_order_one_tree():
    tree = trees.from_nested(0)
    assert trees.order(tree) == 1 and trees.root(tree) == 0 and trees.is_leaf(tree, 0)


def test_random_tree_is_seeded():
    a, b = trees.random_tree(9, seed=5), trees.random_tree(9, seed=5)
    assert list(a.edges) == list(b.edges)
    assert list(a.edges) != list(trees.random_tree(9, seed=6).edges)


def test_render_matches():
    assert trees.render(trees.balanced(4)) == "\n".join(
        [
            "(0, 1, 2, 3)",
            "├── (0, 1)",
            "│   ├── 0",
            "│   └── 1",
            "└── (2, 3)",
            "    ├── 2",
            "    └── 3",
        ]
    )


def test_draw_returns_axes():
    matplotlib = pytest.importorskip("matplotlib")
    matplotlib.use("Agg")
    ax = trees.draw(trees.from_nested(((0, 1, 2), (3, 4))))
    assert ax.get_title() == "" and len(ax.collections) >= 2


def _graph(edges, modes=None):
    g = nx.DiGraph(edges)
    for leaf, mode in (modes or {}).items():
        g.nodes[leaf]["mode"] = mode
    return g


@pytest.mark.parametrize(
    ("graph", "match"),
    [
        (_graph([("a", "b"), ("b", "c"), ("c", "a")]), "must not contain a cycle"),
        (_graph([("r", 0), ("r", 1), ("s", 2), ("s", 3)]), r"exactly one root .* got 2"),
        (
            _graph([("r", "a"), ("r", "b"), ("a", 0), ("b", 0), ("a", 1), ("b", 2)]),
            r"node 0 has 2 parents: \['a', 'b'\]",
        ),
        (_graph([("r", "a"), ("r", 2), ("a", 0)]), "node 'a' has 1"),
        (_graph([("r", 0), ("r", 1), ("r", 3)]), r"missing \{2\}, unexpected \{3\}"),
        (_graph([("r", "x"), ("r", "y")], {"x": 0, "y": 0}), "mode 0 appears on two leaves"),
        (_graph([("r", "x"), ("r", "y")], {"x": 0, "y": "x"}), r"unexpected \{'x'\}"),
        (_graph([("r", "x"), ("r", "y")], {"x": 0, "y": [1]}), "unhashable mode"),
        (_graph([("r", 0), ("r", 1), (0, "r")]), "cycle|one root"),
        (nx.Graph([(0, 1)]), "must be a networkx.DiGraph"),
        ([([1], 2)], "hashable"),
        (42, "must be a networkx.DiGraph"),
    ],
)
def test_from_digraph_errors(graph, match):
    with pytest.raises(ModeTreeError, match=match):
        trees.from_digraph(graph)


def test_cycle_below_root_is_reported():
    g = _graph([("r", "a"), ("r", 0), ("a", "b"), ("b", "a"), ("b", 1), ("a", 2)])
    with pytest.raises(ModeTreeError, match=r"2 parents|cycle"):
        trees.validate_tree(g)


def test_pure_cycle_is_reported():
    g = _graph([("r", "a"), ("a", "r"), ("r", 0), ("a", 1)])
    with pytest.raises(ModeTreeError, match="cycle"):
        trees.validate_tree(g)


@pytest.mark.parametrize(
    ("nested", "match"),
    [
        (((0, 1), (2,)), "at least 2 children; got 1 at nested\\[1\\]"),
        (((0, 1), (1, 2)), "mode 1 appears more than once"),
        (((0, 2), 3), r"missing \{1\}"),
        (((0, 1), "2"), "got str '2' at nested\\[1\\]"),
        (((0, 1), 2.0), "got float"),
    ],
)
def test_from_nested_errors(nested, match):
    with pytest.raises(ModeTreeError, match=match):
        trees.from_nested(nested)


@pytest.mark.parametrize(
    ("call", "match"),
    [
        (lambda: trees.star(1), "must be >= 2, got 1"),
        (lambda: trees.balanced(4, arity=1), "arity must be an int >= 2, got 1"),
        (lambda: trees.caterpillar(2.5), "must be an int, got float"),
        (lambda: trees.children(trees.star(3), "zz"), "node 'zz' is not in the mode tree"),
        (lambda: trees.validate_tree(nx.DiGraph()), "empty graph"),
        (lambda: trees.validate_tree([("a", 0)]), "must be a networkx.DiGraph"),
        (lambda: trees.validate_tree(nx.DiGraph([("r", "x"), ("r", "y")])), "no 'mode' attribute"),
    ],
)
def test_other_errors(call, match):
    with pytest.raises(ModeTreeError, match=match):
        call()
