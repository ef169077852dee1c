"""Tree schedules: levels by height and depth, positions, caching on the structure."""

from __future__ import annotations

import networkx as nx

from tnreg import trees
from tnreg.schedule import schedule, structure_key


def test_levels_of_an_unbalanced_tree():
    tree = trees.from_nested(((3, 0, 2), (1, (4, 5))))
    s = schedule(tree)
    assert s.root == (0, 1, 2, 3, 4, 5)
    assert s.heights[0] == s.leaves and set(s.leaves) == {0, 1, 2, 3, 4, 5}
    assert set(s.heights[1]) == {(0, 2, 3), (4, 5)} and s.heights[2] == ((1, 4, 5),)
    assert s.depths[0] == (s.root,) and set(s.depths[1]) == {(0, 2, 3), (1, 4, 5)}
    assert s.interior[-1] == s.root and list(s.postorder) == trees.postorder(tree)


def test_positions_mirror_the_nodes():
    tree = trees.random_tree(9, seed=4)
    s = schedule(tree)
    for v, i in s.index.items():
        assert s.postorder[i] == v
        assert [s.postorder[c] for c in s.children_at[i]] == list(tree.successors(v))
        parent = s.parent_at[i]
        assert (parent == -1) == (v == s.root)
        if parent >= 0:
            assert s.postorder[parent] == s.parent[v]
    for level, nodes in zip(s.heights_at, s.heights):
        assert tuple(s.postorder[i] for i in level) == nodes


def test_equal_structures_share_one_schedule():
    a, b = trees.balanced(8), trees.balanced(8)
    assert a is not b and schedule(a) is schedule(b)
    assert schedule(a) is schedule(a)


def _two_leaves(first, second):
    tree = nx.DiGraph()
    tree.add_node(0, mode=0)
    tree.add_node(1, mode=1)
    tree.add_edges_from([((0, 1), first), ((0, 1), second)])
    return tree


def test_child_order_is_part_of_the_structure():
    a, b = _two_leaves(0, 1), _two_leaves(1, 0)
    assert structure_key(a) != structure_key(b)
    assert schedule(a).children[(0, 1)] == (0, 1) and schedule(b).children[(0, 1)] == (1, 0)
