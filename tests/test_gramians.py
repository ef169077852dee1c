"""Level-batched Gramians against a node-by-node reference of docs/design.md §3 (float64)."""

from __future__ import annotations

import pytest
import torch

from tnreg import trees
from tnreg.gramians import Scaled, Store, gramians, inner_gramians, outer_gramians

F64 = torch.float64

TREES = {
    "balanced8": trees.balanced(8),
    "ternary9": trees.balanced(9, arity=3),
    "mixed": trees.from_nested(((3, 0, 2), (1, (4, 5)), 6)),
    "caterpillar6": trees.caterpillar(6),
    "random10": trees.random_tree(10, seed=2),
}


def random_matrices(tree, *, seed, members=2):
    """Widths vary by node so that one level holds several shapes."""
    gen = torch.Generator().manual_seed(seed)
    top = trees.root(tree)
    rows = {v: 2 + (hash(v) % 3) if tree.out_degree(v) == 0 else 2 + len(v) % 3 for v in tree}
    return {
        v: torch.randn(
            members,
            rows[v],
            1 if v == top else rows[trees.parent(tree, v)],
            generator=gen,
            dtype=F64,
        )
        for v in tree
    }


def reference(tree, mats):
    """Plain (unscaled) inner/outer Gramians, one node at a time, from docs/design.md §3."""
    top = trees.root(tree)
    proj, inner = {}, {}
    for v in trees.postorder(tree):
        kids = trees.children(tree, v)
        m = mats[v]
        if not kids:
            proj[v] = m.mT @ m
            continue
        g = proj[kids[0]]
        for c in kids[1:]:
            g = g * proj[c]
        inner[v] = g
        if v != top:
            proj[v] = m.mT @ g @ m
    outer = {top: mats[top] @ mats[top].mT}
    for v in reversed(trees.postorder(tree)):
        for c in trees.children(tree, v):
            k = outer[v]
            for s in trees.children(tree, v):
                if s != c:
                    k = k * proj[s]
            outer[c] = mats[c] @ k @ mats[c].mT
    return inner, proj, outer


@pytest.mark.parametrize("name", TREES)
def test_level_batched_gramians_match_node_by_node(name):
    tree = TREES[name]
    mats = random_matrices(tree, seed=len(name))
    inner, proj, outer = reference(tree, mats)
    g = gramians(tree, mats)
    for v, want in inner.items():
        torch.testing.assert_close(g.inner[v].value(), want, rtol=1e-10, atol=1e-12)
    for v, want in proj.items():
        if v in g.projected:
            torch.testing.assert_close(g.projected[v].value(), want, rtol=1e-10, atol=1e-12)
    got_outer = outer_gramians(tree, mats)
    assert set(got_outer) == set(outer)
    for v, want in outer.items():
        torch.testing.assert_close(got_outer[v].value(), want, rtol=1e-10, atol=1e-12)
    assert set(inner_gramians(tree, mats)) == set(inner)


def test_store_gathers_across_batches_in_order():
    store = Store(5)
    a = Scaled(torch.arange(3.0)[:, None, None, None], torch.arange(3.0)[:, None])
    b = Scaled(10 + torch.arange(2.0)[:, None, None, None], 10 + torch.arange(2.0)[:, None])
    store.put([0, 2, 4], a)
    store.put([1, 3], b)
    got = store.get([3, 0, 4, 1])
    assert got.matrix.flatten().tolist() == [11.0, 0.0, 2.0, 10.0]
    assert got.log_scale.flatten().tolist() == [11.0, 0.0, 2.0, 10.0]
    assert store.get([0, 2, 4]) is a  # a whole batch in its own order: no copy
    assert store.get([4, 0]).matrix.flatten().tolist() == [2.0, 0.0]
