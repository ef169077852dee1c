"""Mode trees: builders, queries and validation errors."""

from __future__ import annotations

import pickle

import networkx as nx
import numpy as np
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
    # single-child (unary) nodes: the papers' order-3 layout, chains of unary nodes, unary root
    "unary_leaf": lambda: trees.from_nested(((0, 1), (2,))),
    "unary_chain": lambda: trees.from_nested(((((0, 1),),), (2,))),
    "unary_root": lambda: trees.from_nested(((0, 1, 2),)),
    "unary_order1": lambda: trees.from_nested((0,)),
}


@pytest.mark.parametrize("name", BUILT)
def test_every_builder_gives_a_valid_tree(name):
    tree = BUILT[name]()
    top = trees.validate_tree(tree)
    n = trees.order(tree)
    assert trees.root(tree) == top
    assert trees.modes_under(tree, top) == tuple(range(n))
    assert sorted(tree.nodes[v]["mode"] for v in trees.leaves(tree)) == list(range(n))
    assert all(len(trees.children(tree, v)) >= 1 for v in tree if not trees.is_leaf(tree, v))
    names = trees.node_names(tree)
    assert len(set(names.values())) == len(names) == tree.number_of_nodes()


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


def test_cycle_below_root_is_reported():
    g = _graph([("r", "a"), ("r", 0), ("a", "b"), ("b", "a"), ("b", 1), ("a", 2)])
    with pytest.raises(ModeTreeError, match=r"2 parents|cycle"):
        trees.validate_tree(g)


def test_pure_cycle_is_reported():
    g = _graph([("r", "a"), ("a", "r"), ("r", 0), ("a", 1)])
    with pytest.raises(ModeTreeError, match="cycle"):
        trees.validate_tree(g)


# ---------------------------------------------------------------------------- unary nodes


def test_papers_order3_layout_has_a_unary_node_over_the_lone_mode():
    tree = trees.from_nested(((0, 1), (2,)))
    assert trees.children(tree, (0, 1, 2)) == [(0, 1), (2,)]
    assert trees.children(tree, (2,)) == [2]
    assert trees.mode_sets(tree)[(2,)] == (2,)
    assert trees.node_mode_sets(tree) == {0: (0,), 1: (1,), (0, 1): (0, 1), 2: (2,), (2,): (2,)}
    assert trees.node_names(tree) == {
        0: "0",
        1: "1",
        (0, 1): "0-1",
        2: "2",
        (2,): "2'",
        (0, 1, 2): "0-2",
    }


def test_unary_nodes_over_interior_nodes_get_unary_labels():
    tree = trees.from_nested(((((0, 1),),), 2))
    assert trees.children(tree, (0, 1, 2)) == [("unary", 2, (0, 1)), 2]
    assert trees.children(tree, ("unary", 2, (0, 1))) == [("unary", 1, (0, 1))]
    assert trees.children(tree, ("unary", 1, (0, 1))) == [(0, 1)]
    assert trees.modes_under(tree, ("unary", 2, (0, 1))) == (0, 1)
    names = trees.node_names(tree)
    assert [names[v] for v in [(0, 1), ("unary", 1, (0, 1)), ("unary", 2, (0, 1))]] == [
        "0-1",
        "0-1'",
        "0-1''",
    ]


def test_from_digraph_accepts_single_child_nodes():
    tree = trees.from_digraph([("r", "a"), ("r", 2), ("a", "b"), ("b", 0), ("b", 1)])
    assert trees.children(tree, "a") == ["b"]
    assert trees.modes_under(tree, "a") == (0, 1)
    assert trees.depths(tree) == {"r": 0, 2: 1, "a": 1, "b": 2, 1: 3, 0: 3}


def test_render_shows_unary_nodes():
    assert trees.render(trees.from_nested(((0, 1), (2,)))).splitlines()[-2:] == [
        "└── (2,)",
        "    └── 2",
    ]


# ---------------------------------------------------------------------------- numpy inputs


def test_numpy_integers_are_accepted_and_labels_stay_python_ints():
    tree = trees.from_nested(((np.int64(0), np.int32(1)), np.uint8(2)))
    assert all(type(v) is int for v in trees.leaves(tree))
    assert trees.root(tree) == (0, 1, 2)
    assert trees.order(trees.star(np.int64(3))) == 3
    assert trees.order(trees.balanced(np.int16(5), arity=np.int64(3))) == 5
    assert list(trees.random_tree(5, seed=np.int64(4)).edges) == list(
        trees.random_tree(5, seed=4).edges
    )
    assert trees.order(trees.from_nested(np.arange(4))) == 4


def test_mode_tuple_labels_equal_and_hash_like_tuples():
    tree = trees.balanced(4)
    top = trees.root(tree)
    assert isinstance(top, trees.ModeTuple) and top == (0, 1, 2, 3)
    assert hash(top) == hash((0, 1, 2, 3)) and repr(top) == "(0, 1, 2, 3)"
    assert tree.nodes[(0, 1)] == {} and trees.children(tree, (0, 1)) == [0, 1]
    assert pickle.loads(pickle.dumps(top)) == top


# ---------------------------------------------------------------------------- any order
# The former recursive builders failed above order ~496 (RecursionError); every algorithm is
# now iterative. Balanced, random and star trees run at order 10,000 here; the caterpillar
# (depth 10,000, labels of 10,000 modes: quadratic in size by nature) in the slow test.

LARGE = {
    "caterpillar3000": lambda: trees.caterpillar(3000),
    "balanced10000": lambda: trees.balanced(10_000),
    "random10000": lambda: trees.random_tree(10_000, seed=1),
    "star10000": lambda: trees.star(10_000),
}


def _check_large(tree, n):
    assert trees.validate_tree(tree) == trees.root(tree)
    order = trees.postorder(tree)
    assert len(order) == tree.number_of_nodes() and order[-1] == trees.root(tree)
    sets = trees.mode_sets(tree)
    assert sets[trees.root(tree)] == tuple(range(n))
    names = trees.node_names(tree)
    assert len(set(names.values())) == len(names) and names[trees.root(tree)] == f"0-{n - 1}"
    text = trees.render(tree)
    assert len(text.splitlines()) == tree.number_of_nodes()
    assert max(map(len, text.splitlines())) < 200  # abbreviated labels, trimmed indentation
    assert trees.depth(tree) == max(trees.depths(tree).values())
    assert trees.order(trees.from_digraph(tree)) == n


@pytest.mark.parametrize("name", LARGE)
def test_large_trees_without_recursion(name):
    tree = LARGE[name]()
    _check_large(tree, trees.order(tree))


@pytest.mark.slow
def test_caterpillar_of_order_10000():
    _check_large(trees.caterpillar(10_000), 10_000)


def test_render_trims_deep_indentation():
    lines = trees.render(trees.caterpillar(40)).splitlines()
    assert lines[0] == "(0, 1, 2, ..., 39)"
    deepest = next(line for line in lines if line.endswith("└── 1"))  # leaf 1, depth 39
    assert "[+22] " in deepest and len(deepest) < 100
