"""Tests for tnreg.network: structure, equations, array checks and min-cut rank bounds."""

from __future__ import annotations

import itertools
import math

import networkx as nx
import numpy as np
import opt_einsum
import pytest
import torch

from tnreg.network import TensorNetwork, TensorNetworkError

# ---------------------------------------------------------------------------- builders


def cp_network(dims: tuple[int, ...], rank: int) -> TensorNetwork:
    """CP / star network: factor n carries (mode n, r); r is a hyperedge of size ``rank``."""
    net = TensorNetwork()
    net.add_index("r", rank)
    for n, d in enumerate(dims):
        net.add_tensor(("factor", n), [n, "r"], {n: d})
    net.set_output(range(len(dims)))
    return net


def tree_network(dims: tuple[int, ...], ra: int, rb: int, rc: int) -> TensorNetwork:
    """Order-4 binary HTF: leaves (n, a|b), nodes {0,1}: (a, c), {2,3}: (b, c), root (c,)."""
    net = TensorNetwork()
    for label, size in zip("abc", (ra, rb, rc), strict=True):
        net.add_index(label, size)
    for n, d in enumerate(dims):
        net.add_tensor(f"W{n}", [n, "a" if n < 2 else "b"], {n: d})
    net.add_tensor("W01", ["a", "c"])
    net.add_tensor("W23", ["b", "c"])
    net.add_tensor("root", ["c"])
    net.set_output(range(4))
    return net


def ring_network(dims: tuple[int, ...], bond: int) -> TensorNetwork:
    """Tensor ring: core n carries (bond n-1, mode n, bond n), cyclically."""
    order = len(dims)
    net = TensorNetwork()
    for n, d in enumerate(dims):
        left, right = ("bond", (n - 1) % order), ("bond", n)
        net.add_tensor(n, [left, n, right], {n: d, left: bond, right: bond})
    net.set_output(range(order))
    return net


def chain_network(dims: tuple[int, ...], bond: int) -> TensorNetwork:
    """Open MPS / tensor train with end cores of order 2."""
    order = len(dims)
    net = TensorNetwork()
    for n, d in enumerate(dims):
        ix = [("bond", n - 1)] if n > 0 else []
        ix += [n] + ([("bond", n)] if n < order - 1 else [])
        net.add_tensor(n, ix, {n: d, ("bond", n): bond, ("bond", n - 1): bond})
    net.set_output(range(order))
    return net


BUILDERS = {"cp": cp_network, "tree": tree_network, "ring": ring_network, "chain": chain_network}


def random_arrays(net: TensorNetwork, seed: int) -> list[np.ndarray]:
    rng = np.random.default_rng(seed)
    return [rng.standard_normal(shape).astype(np.float64) for shape in net.shapes()]


def dense(net: TensorNetwork, arrays: list[np.ndarray]) -> np.ndarray:
    eq, _ = net.equation()
    return np.einsum(eq, *arrays)


def numerical_rank(tensor: np.ndarray, rows: list[int], output: tuple) -> int:
    row_axes = [output.index(r) for r in rows]
    col_axes = [a for a in range(tensor.ndim) if a not in row_axes]
    n_rows = math.prod(tensor.shape[a] for a in row_axes)
    matrix = np.transpose(tensor, row_axes + col_axes).reshape(n_rows, -1)
    sigma = np.linalg.svd(matrix, compute_uv=False)
    return int(np.sum(sigma > 1e-10 * sigma[0])) if sigma[0] > 0 else 0


# ---------------------------------------------------------------------------- structure


def test_empty_network() -> None:
    net = TensorNetwork()
    assert net.tensors == {}
    assert net.inputs == ()
    assert net.output == ()
    assert net.size_dict == {}
    assert net.equation() == ("->", {})
    assert net.num_parameters == 0
    assert net.output_size == 1
    assert repr(net) == "TensorNetwork(0 tensors, 0 indices, output=(), hyperedges=[])"


def test_graph_is_bipartite_with_axes_and_sizes() -> None:
    net = cp_network((2, 3, 4), rank=5)
    graph = net.graph
    assert graph.nodes[("index", "r")] == {"kind": "index", "size": 5, "open": False}
    assert graph.nodes[("index", 1)] == {"kind": "index", "size": 3, "open": True}
    assert graph.nodes[("tensor", ("factor", 2))] == {"kind": "tensor"}
    assert graph.edges[("tensor", ("factor", 2)), ("index", "r")]["axis"] == 1
    assert graph.edges[("tensor", ("factor", 2)), ("index", 2)]["axis"] == 0
    assert graph.number_of_nodes() == 3 + 4
    assert graph.number_of_edges() == 6


def test_views_keep_user_labels_and_order() -> None:
    net = cp_network((2, 3, 4), rank=5)
    assert list(net.tensors) == [("factor", 0), ("factor", 1), ("factor", 2)]
    assert net.inputs == ((0, "r"), (1, "r"), (2, "r"))
    assert net.output == (0, 1, 2)
    assert net.size_dict == {"r": 5, 0: 2, 1: 3, 2: 4}
    assert net.shapes() == [(2, 5), (3, 5), (4, 5)]
    assert net.num_parameters == 10 + 15 + 20
    assert net.output_size == 24
    assert net.hyperedges == ("r",)
    assert net.equation() == ("ab,cb,db->acd", {0: "a", "r": "b", 1: "c", 2: "d"})


def test_views_are_copies() -> None:
    net = cp_network((2, 3), rank=2)
    net.tensors.clear()
    net.size_dict.clear()
    assert len(net.tensors) == 2
    assert len(net.size_dict) == 3


def test_repr() -> None:
    net = TensorNetwork.from_equation("ir,jr,kr,r->ij", (2, 3), (4, 3), (5, 3), (3,))
    assert repr(net) == "TensorNetwork(4 tensors, 4 indices, output=('i', 'j'), hyperedges=['r'])"


@pytest.mark.parametrize(
    ("eq", "shapes", "hyperedges"),
    [
        ("ab,bc->ac", [(2, 3), (3, 4)], ()),
        ("ab,bc->abc", [(2, 3), (3, 4)], ("b",)),  # open index on two tensors
        ("bi,bj,bk->bijk", [(2, 3), (2, 4), (2, 5)], ("b",)),  # batch index
        ("ab->", [(2, 3)], ()),
    ],
)
def test_hyperedges(eq: str, shapes: list[tuple[int, ...]], hyperedges: tuple) -> None:
    assert TensorNetwork.from_equation(eq, *shapes).hyperedges == hyperedges


def test_add_index_same_size_is_noop() -> None:
    net = TensorNetwork()
    net.add_index("r", np.int64(3))
    net.add_index("r", 3)
    assert net.size_dict == {"r": 3}
    assert type(net.size_dict["r"]) is int


def test_add_tensor_uses_known_sizes_and_ignores_unrelated() -> None:
    net = TensorNetwork()
    net.add_index("r", 3)
    net.add_tensor("A", ["i", "r"], {"i": 2, "r": 3, "unused": 7})
    net.add_tensor("s", [])
    assert net.size_dict == {"r": 3, "i": 2}
    assert net.shapes() == [(2, 3), ()]


def test_failed_add_tensor_leaves_network_unchanged() -> None:
    net = TensorNetwork()
    with pytest.raises(TensorNetworkError, match="no size"):
        net.add_tensor("A", ["i", "j"], {"i": 2})
    assert net.size_dict == {}
    assert net.graph.number_of_nodes() == 0


def test_set_output_replaces_open_flags() -> None:
    net = TensorNetwork.from_equation("ab,bc->ac", (2, 3), (3, 4))
    net.set_output(["c", "b"])
    assert net.output == ("c", "b")
    assert [net.graph.nodes[("index", x)]["open"] for x in "abc"] == [False, True, True]
    assert net.equation()[0] == "ab,bc->cb"


# ---------------------------------------------------------------------------- equations

EQUATION_CASES = [
    # (equation, shapes)
    ("ab,bc->ac", [(2, 3), (3, 4)]),
    ("ab,bc", [(2, 3), (3, 4)]),  # implicit output
    ("ba,cb", [(3, 2), (4, 3)]),  # implicit output is sorted
    ("ir,jr,kr->ijk", [(2, 3), (4, 3), (5, 3)]),  # CP hyperedge
    ("bi,bj->bij", [(3, 2), (3, 4)]),  # batch hyperedge stays open
    ("ab,cd->", [(2, 3), (4, 5)]),  # disconnected, scalar
    ("a ,a->", [(3,), (3,)]),  # whitespace
    ("ij->ji", [(2, 3)]),
]


@pytest.mark.parametrize(("eq", "shapes"), EQUATION_CASES)
def test_from_equation_matches_numpy_einsum(eq: str, shapes: list[tuple[int, ...]]) -> None:
    net = TensorNetwork.from_equation(eq, *shapes)
    arrays = random_arrays(net, seed=len(eq))
    np.testing.assert_allclose(dense(net, arrays), np.einsum(eq, *arrays), rtol=5e-6, atol=1e-8)
    assert net.shapes() == [tuple(s) for s in shapes]
    assert list(net.tensors) == list(range(len(shapes)))


def test_from_equation_names_and_implicit_output() -> None:
    net = TensorNetwork.from_equation("ba,cb", (3, 2), (4, 3), names=["A", "B"])
    assert net.tensors == {"A": ("b", "a"), "B": ("c", "b")}
    assert net.output == ("a", "c")
    assert net.size_dict == {"b": 3, "a": 2, "c": 4}


def test_equation_with_tuple_labels_matches_einsum() -> None:
    net = ring_network((2, 3, 4), bond=2)
    eq, symbols = net.equation()
    assert set(symbols) == {0, 1, 2, ("bond", 0), ("bond", 1), ("bond", 2)}
    assert symbols[("bond", 2)] == opt_einsum.get_symbol(0)
    arrays = random_arrays(net, seed=0)
    expected = opt_einsum.contract(eq, *arrays)
    np.testing.assert_allclose(dense(net, arrays), expected, rtol=5e-6, atol=1e-8)


# ---------------------------------------------------------------------------- check_arrays


def test_check_arrays_sequence_and_mapping() -> None:
    net = TensorNetwork.from_equation("ab,bc->ac", (2, 3), (3, 4), names=["A", "B"])
    a = np.zeros((2, 3), dtype=np.float64)
    b = torch.zeros((3, 4), dtype=torch.float64)
    assert net.check_arrays([a, b]) == [a, b]
    out = net.check_arrays({"B": b, "A": a})
    assert out[0] is a and out[1] is b


# Bad inputs (structure, equations, arrays, rows) are rows of tests/test_bad_inputs.py.


# ---------------------------------------------------------------------------- min-cut bounds

KNOWN_BOUNDS = [
    # (builder, args, rows, expected bound)
    # CP star: min(R, prod d_I, prod d_J)
    ("cp", ((4, 5, 6, 7), 3), [0], 3),
    ("cp", ((4, 5, 6, 7), 3), [1, 3], 3),
    ("cp", ((2, 5, 6, 7), 3), [0], 2),
    ("cp", ((4, 5, 6, 7), 100), [0, 1], 20),
    ("cp", ((4, 5, 6, 7), 100), [0, 1, 2], 7),
    ("cp", ((4, 5, 6), 1), [2], 1),  # size-1 hyperedge: capacity 0
    # binary tree: at a node min(width, ...); at {0, 2} a product of two widths (or dims)
    ("tree", ((5, 5, 5, 5), 3, 3, 4), [0, 1], 3),
    ("tree", ((5, 5, 5, 5), 3, 3, 2), [2, 3], 2),
    ("tree", ((5, 5, 5, 5), 3, 3, 4), [0], 3),
    ("tree", ((2, 5, 5, 5), 3, 3, 4), [0], 2),
    ("tree", ((5, 5, 5, 5), 3, 3, 4), [0, 2], 9),
    ("tree", ((5, 5, 5, 5), 3, 4, 4), [1, 3], 12),
    ("tree", ((2, 5, 5, 2), 3, 3, 4), [0, 2], 6),  # {mode 0, b}: a dim times a width
    ("tree", ((5, 5, 5, 5), 3, 3, 4), [0, 1, 2], 3),  # complement of leaf 3: its parent width
    # ring: a contiguous split cuts two bonds
    ("ring", ((5, 5, 5, 5), 2), [0, 1], 4),
    ("ring", ((5, 5, 5, 5), 2), [1, 2, 3], 4),
    ("ring", ((3, 5, 5, 5), 2), [0], 3),
    ("ring", ((5, 5, 5, 5), 2), [0, 2], 16),
    ("ring", ((5, 5, 5, 5, 5, 5), 3), [0, 1, 2], 9),
    # open chain (TT): a contiguous split cuts one bond
    ("chain", ((5, 5, 5, 5), 3), [0, 1], 3),
    ("chain", ((2, 5, 5, 5), 3), [0], 2),
    ("chain", ((5, 5, 5, 5), 3), [0, 2], 15),  # {bond 0, mode 2}: core 2 touches J twice
    # trivial splits
    ("cp", ((4, 5, 6), 3), [], 1),
    ("cp", ((4, 5, 6), 3), [2, 0, 1], 1),
]


@pytest.mark.parametrize(("builder", "args", "rows", "expected"), KNOWN_BOUNDS)
def test_rank_bound_known(builder: str, args: tuple, rows: list[int], expected: int) -> None:
    net = BUILDERS[builder](*args)
    bound, cut = net.min_cut(rows)
    assert bound == expected
    assert type(bound) is int
    assert math.prod(net.size_dict[label] for label in cut) == bound
    assert net.rank_bound(iter(rows)) == expected


@pytest.mark.parametrize(
    ("builder", "args", "rows", "cut"),
    [
        ("cp", ((4, 5, 6), 3), [0], {"r"}),
        ("cp", ((2, 5, 6), 3), [0], {0}),
        ("tree", ((5, 5, 5, 5), 3, 3, 4), [0, 2], {"a", "b"}),
        ("ring", ((5, 5, 5, 5), 2), [0, 1], {("bond", 1), ("bond", 3)}),
        ("cp", ((4, 5, 6), 3), [], set()),
    ],
)
def test_min_cut_labels(builder: str, args: tuple, rows: list[int], cut: set) -> None:
    assert BUILDERS[builder](*args).min_cut(rows)[1] == frozenset(cut)


@pytest.mark.parametrize(
    ("eq", "shapes", "rows", "expected"),
    [
        ("i,j->ij", [(3,), (4,)], ["i"], 1),  # outer product: disconnected
        ("bi,bj->bij", [(2, 5), (2, 6)], ["i"], 2),  # open batch hyperedge is cuttable
        ("ij,jk,kl->il", [(6, 2), (2, 7), (7, 6)], ["i"], 2),
        ("ij,jk,kl->il", [(6, 9), (9, 3), (3, 6)], ["l"], 3),
        ("ia,ja,kb,lb,ab->ijkl", [(9, 4), (9, 4), (9, 4), (9, 4), (4, 4)], ["i", "k"], 16),
    ],
)
def test_rank_bound_from_equation(eq: str, shapes: list, rows: list[str], expected: int) -> None:
    assert TensorNetwork.from_equation(eq, *shapes).rank_bound(rows) == expected


# bound >= numerical rank of the dense contraction; "tight" rows are generic-rank equalities
RANDOM_CASES = [
    # (equation, shapes, rows, seed, tight)
    ("ir,jr,kr->ijk", [(4, 3), (5, 3), (6, 3)], ["i"], 0, True),
    ("ir,jr,kr,lr->ijkl", [(3, 2), (3, 2), (3, 2), (3, 2)], ["i", "k"], 1, True),
    ("ia,ja,kb,lb,ab->ijkl", [(4, 2), (4, 2), (4, 3), (4, 3), (2, 3)], ["i", "j"], 2, True),
    ("ia,ja,kb,lb,ab->ijkl", [(4, 2), (4, 2), (4, 3), (4, 3), (2, 3)], ["i", "k"], 3, True),
    ("aib,bjc,ckd,dla->ijkl", [(2, 4, 2), (2, 4, 2), (2, 4, 2), (2, 4, 2)], ["i", "j"], 4, True),
    ("aib,bjc,ckd,dla->ijkl", [(2, 3, 2), (2, 3, 2), (2, 3, 2), (2, 3, 2)], ["i", "k"], 5, False),
    ("iab,jbc,kca,lab->ijkl", [(5, 2, 2), (5, 2, 3), (5, 3, 2), (5, 2, 2)], ["i", "j"], 6, False),
    ("xia,xjb,ab->xij", [(3, 4, 2), (3, 4, 2), (2, 2)], ["i"], 7, True),
    ("ia,ja,ka,la->ijkl", [(3, 1), (4, 1), (5, 1), (6, 1)], ["i", "j"], 8, True),
]


@pytest.mark.parametrize(("eq", "shapes", "rows", "seed", "tight"), RANDOM_CASES)
def test_rank_bound_dominates_numerical_rank(
    eq: str, shapes: list, rows: list[str], seed: int, tight: bool
) -> None:
    net = TensorNetwork.from_equation(eq, *shapes)
    rank = numerical_rank(dense(net, random_arrays(net, seed)), rows, net.output)
    bound = net.rank_bound(rows)
    assert bound >= rank
    if tight:
        assert bound == rank


def test_rank_bound_can_be_strict() -> None:
    # the bound depends only on the structure; zero arrays have rank 0
    net = cp_network((4, 5, 6), rank=3)
    arrays = [np.zeros(shape, dtype=np.float64) for shape in net.shapes()]
    assert numerical_rank(dense(net, arrays) + 0.0, [0], net.output) == 0
    assert net.rank_bound([0]) == 3


def random_network(seed: int) -> TensorNetwork:
    """Random hypergraph network: 6 indices of sizes 1..4 on 1-3 of 4 tensors, 4 open."""
    rng = np.random.default_rng(seed)
    carriers: dict[int, list[str]] = {t: [] for t in range(4)}
    sizes = {}
    for label in "abcdef":
        sizes[label] = int(rng.integers(1, 5))
        for t in rng.choice(4, size=int(rng.integers(1, 4)), replace=False):
            carriers[int(t)].append(label)
    net = TensorNetwork()
    for t, labels in carriers.items():
        net.add_tensor(t, labels, sizes)
    used = [label for label in "abcdef" if net.graph.degree(("index", label)) > 0]
    net.set_output(used[:4])
    return net


def brute_force_bound(net: TensorNetwork, rows: list) -> int:
    """Smallest product over all index sets whose removal separates rows from the other outputs."""
    cols = [x for x in net.output if x not in rows]
    best = math.prod(net.size_dict[x] for x in rows)
    labels = list(net.size_dict)
    for k in range(len(labels) + 1):
        for cut in itertools.combinations(labels, k):
            graph = net.graph.copy()
            graph.remove_nodes_from(("index", x) for x in cut)
            sources = [("index", x) for x in rows if x not in cut]
            reach = set().union(*(nx.node_connected_component(graph, s) for s in sources))
            if not any(("index", x) in reach for x in cols):
                best = min(best, math.prod(net.size_dict[x] for x in cut))
    return best


@pytest.mark.parametrize("seed", range(12))
def test_rank_bound_matches_brute_force(seed: int) -> None:
    net = random_network(seed)
    rows = list(net.output[: 1 + seed % 2])
    assert net.rank_bound(rows) == brute_force_bound(net, rows)
    rank = numerical_rank(dense(net, random_arrays(net, seed)), rows, net.output)
    assert net.rank_bound(rows) >= rank


# ---------------------------------------------------------------------------- any order


def htf_network(tree, rank: int) -> TensorNetwork:
    """The HTF network of a mode tree: a tensor per node carrying its bond and its parent's."""
    from tnreg import trees

    net = TensorNetwork()
    names = trees.node_names(tree)
    for v in trees.postorder(tree):
        up = trees.parent(tree, v)
        ix = [("m", tree.nodes[v]["mode"])] if trees.is_leaf(tree, v) else [("r", names[v])]
        ix += [] if up is None else [("r", names[up])]
        net.add_tensor(names[v], ix, dict.fromkeys(ix, rank))
    net.set_output([("m", m) for m in range(trees.order(tree))])
    return net


@pytest.mark.parametrize(
    ("shape", "n"), [("balanced", 1024), ("caterpillar", 1200), ("random_tree", 1024)]
)
def test_min_cut_at_high_order(shape: str, n: int) -> None:
    from tnreg import trees

    tree = getattr(trees, shape)(n, **({"seed": 2} if shape == "random_tree" else {}))
    net = htf_network(tree, 3)
    sets = trees.mode_sets(tree)
    for v in trees.children(tree, trees.root(tree)):
        assert net.rank_bound([("m", m) for m in sets[v]]) == (1 if len(sets[v]) == n else 3)
    assert len(net.hyperedges) == sum(1 for v in tree if tree.out_degree(v) >= 2)
    rows = [("m", m) for m in range(0, n, 2)]  # scattered modes: a product of several bonds
    bound, cut = net.min_cut(rows)
    assert bound == 3 ** len(cut) and bound > 3


@pytest.mark.slow
def test_min_cut_at_order_10000() -> None:
    from tnreg import trees

    tree = trees.balanced(10_000)
    net = htf_network(tree, 2)
    left = trees.children(tree, trees.root(tree))[0]
    assert net.rank_bound([("m", m) for m in trees.mode_sets(tree)[left]]) == 2
