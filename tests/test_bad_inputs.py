"""Bad inputs at every public boundary: one table row per case, each asserting its message.

One list per module (``TREES``, ``EINSUM``, ``NETWORK``, ``CONTRACT``, ``INTEROP``; models,
analysis, train and the CLI append theirs); a single parametrized test runs their
concatenation. A row is ``row(id, call, exception, match)``: ``call`` takes no argument and must
raise ``exception`` with a message matching the regex ``match`` (expected / received / where).
Ids read ``module/what``.
"""

from __future__ import annotations

import importlib.util

import networkx as nx
import numpy as np
import pytest
import torch

from tnreg import einsum, paths, trees
from tnreg.analysis import AnalysisError, matricization_spectrum
from tnreg.contract import contract, plan
from tnreg.data import completion_task, random_cp_target, random_tree_target
from tnreg.devices import DeviceError, check_device
from tnreg.einsum import EinsumError
from tnreg.entanglement import data_entanglement
from tnreg.locality.runner import LocalityConfig
from tnreg.locality.runner import run as run_locality
from tnreg.models import CP, HierarchicalTensorFactorization
from tnreg.network import TensorNetwork, TensorNetworkError
from tnreg.paths import PathError
from tnreg.train import build_model
from tnreg.trees import ModeTreeError

HAS_TN = importlib.util.find_spec("tensornetwork") is not None


def row(id_: str, call, error: type[BaseException], match: str, *, marks=()):
    """One table row: ``call()`` raises ``error`` with a message matching ``match``."""
    return pytest.param(call, error, match, id=id_, marks=marks)


def _graph(edges, modes=None):
    g = nx.DiGraph(edges)
    for leaf, mode in (modes or {}).items():
        g.nodes[leaf]["mode"] = mode
    return g


def _deep_bad(depth: int):
    """A caterpillar-shaped nested tuple ``depth`` levels deep with a str at the bottom."""
    nested = ("x", 0)
    for m in range(1, depth):
        nested = (nested, m)
    return nested


# --------------------------------------------------------------------------- trees
TREES = [
    # builders: orders, arities, seeds
    row("trees/star-order-1", lambda: trees.star(1), ModeTreeError, "must be >= 2, got 1"),
    row("trees/star-float", lambda: trees.star(2.5), ModeTreeError, "must be an int, got float"),
    row("trees/star-str", lambda: trees.star("3"), ModeTreeError, "must be an int, got str '3'"),
    row("trees/star-bool", lambda: trees.star(True), ModeTreeError, "must be an int, got bool"),
    row(
        "trees/star-numpy-float",
        lambda: trees.star(np.float64(3.0)),
        ModeTreeError,
        "must be an int, got float64",
    ),
    row("trees/balanced-0", lambda: trees.balanced(0), ModeTreeError, "must be >= 2, got 0"),
    row(
        "trees/balanced-arity-1",
        lambda: trees.balanced(4, arity=1),
        ModeTreeError,
        r"arity must be an int >= 2 \(children per node\), got int 1",
    ),
    row(
        "trees/balanced-arity-float",
        lambda: trees.balanced(4, arity=2.0),
        ModeTreeError,
        "arity must be an int >= 2 .* got float 2.0",
    ),
    row(
        "trees/caterpillar-float",
        lambda: trees.caterpillar(2.5),
        ModeTreeError,
        "must be an int, got float",
    ),
    row("trees/caterpillar-1", lambda: trees.caterpillar(1), ModeTreeError, "must be >= 2, got 1"),
    row(
        "trees/caterpillar-none",
        lambda: trees.caterpillar(None),
        ModeTreeError,
        "must be an int, got NoneType None",
    ),
    row(
        "trees/random-seed-float",
        lambda: trees.random_tree(5, seed=1.5),
        ModeTreeError,
        r"seed must be an int, got float 1.5; pass e.g. seed=0",
    ),
    row(
        "trees/random-seed-str",
        lambda: trees.random_tree(5, seed="a"),
        ModeTreeError,
        "seed must be an int, got str",
    ),
    row(
        "trees/random-max-arity",
        lambda: trees.random_tree(5, seed=0, max_arity=1),
        ModeTreeError,
        "max_arity must be an int >= 2",
    ),
    row("trees/random-0", lambda: trees.random_tree(0, seed=0), ModeTreeError, "must be >= 1"),
    # from_nested
    row(
        "trees/nested-repeated-mode",
        lambda: trees.from_nested(((0, 1), (1, 2))),
        ModeTreeError,
        r"mode 1 appears more than once \(again at nested\[1\]\[0\]\)",
    ),
    row(
        "trees/nested-missing-mode",
        lambda: trees.from_nested(((0, 2), 3)),
        ModeTreeError,
        r"missing \{1\}",
    ),
    row(
        "trees/nested-str",
        lambda: trees.from_nested(((0, 1), "2")),
        ModeTreeError,
        r"got str '2' at nested\[1\]",
    ),
    row(
        "trees/nested-float",
        lambda: trees.from_nested(((0, 1), 2.0)),
        ModeTreeError,
        r"got float 2.0 at nested\[1\]",
    ),
    row(
        "trees/nested-bool",
        lambda: trees.from_nested(((0, 1), True)),
        ModeTreeError,
        r"got bool True at nested\[1\]",
    ),
    row(
        "trees/nested-none",
        lambda: trees.from_nested(((0, 1), None)),
        ModeTreeError,
        "got NoneType None",
    ),
    row(
        "trees/nested-empty",
        lambda: trees.from_nested(((0, 1), ())),
        ModeTreeError,
        r"at least 1 child; got an empty sequence at nested\[1\]",
    ),
    row(
        "trees/nested-nothing",
        lambda: trees.from_nested(()),
        ModeTreeError,
        r"^a mode tree needs at least one mode; got an empty tuple\. Pass nested sequences of "
        r"modes, e\.g\. \(\(0, 1\), \(2, 3\)\)$",
    ),
    row(
        "trees/nested-numpy-float",
        lambda: trees.from_nested((np.int64(0), np.float32(1))),
        ModeTreeError,
        r"got float32 .*1.0.* at nested\[1\]",
    ),
    row(
        "trees/nested-deep-error-location",
        lambda: trees.from_nested(_deep_bad(3000)),
        ModeTreeError,
        r"got str 'x' at nested(\[0\]){3000}$",
    ),
    # from_digraph / validate_tree
    row(
        "trees/digraph-cycle",
        lambda: trees.from_digraph(_graph([("a", "b"), ("b", "c"), ("c", "a")])),
        ModeTreeError,
        "must not contain a cycle",
    ),
    row(
        "trees/digraph-two-roots",
        lambda: trees.from_digraph(_graph([("r", 0), ("r", 1), ("s", 2), ("s", 3)])),
        ModeTreeError,
        r"exactly one root .* got 2: \['r', 's'\]. Join them",
    ),
    row(
        "trees/digraph-two-parents",
        lambda: trees.from_digraph(
            _graph([("r", "a"), ("r", "b"), ("a", 0), ("b", 0), ("a", 1), ("b", 2)])
        ),
        ModeTreeError,
        r"node 0 has 2 parents: \['a', 'b'\]",
    ),
    row(
        "trees/digraph-wrong-modes",
        lambda: trees.from_digraph(_graph([("r", 0), ("r", 1), ("r", 3)])),
        ModeTreeError,
        r"leaf modes must be \{0, 1, 2\} .* missing \{2\}, unexpected \{3\}",
    ),
    row(
        "trees/digraph-duplicate-mode",
        lambda: trees.from_digraph(_graph([("r", "x"), ("r", "y")], {"x": 0, "y": 0})),
        ModeTreeError,
        "mode 0 appears on two leaves: 'x' and 'y'",
    ),
    row(
        "trees/digraph-str-mode",
        lambda: trees.from_digraph(_graph([("r", "x"), ("r", "y")], {"x": 0, "y": "x"})),
        ModeTreeError,
        r"unexpected \{'x'\}",
    ),
    row(
        "trees/digraph-unhashable-mode",
        lambda: trees.from_digraph(_graph([("r", "x"), ("r", "y")], {"x": 0, "y": [1]})),
        ModeTreeError,
        "unhashable mode",
    ),
    row(
        "trees/digraph-back-edge",
        lambda: trees.from_digraph(_graph([("r", 0), ("r", 1), (0, "r")])),
        ModeTreeError,
        "cycle|one root",
    ),
    row(
        "trees/digraph-undirected",
        lambda: trees.from_digraph(nx.Graph([(0, 1)])),
        ModeTreeError,
        "must be a networkx.DiGraph or a list of .parent, child. edges; got Graph",
    ),
    row(
        "trees/digraph-unhashable-edges",
        lambda: trees.from_digraph([([1], 2)]),
        ModeTreeError,
        "hashable",
    ),
    row(
        "trees/digraph-int",
        lambda: trees.from_digraph(42),
        ModeTreeError,
        "must be a networkx.DiGraph or a list",
    ),
    row(
        "trees/validate-empty",
        lambda: trees.validate_tree(nx.DiGraph()),
        ModeTreeError,
        "empty graph",
    ),
    row(
        "trees/validate-list",
        lambda: trees.validate_tree([("a", 0)]),
        ModeTreeError,
        "must be a networkx.DiGraph; got list",
    ),
    row(
        "trees/validate-no-mode",
        lambda: trees.validate_tree(nx.DiGraph([("r", "x"), ("r", "y")])),
        ModeTreeError,
        r"leaf 'x' has no 'mode' attribute; set tree.nodes\[leaf\]\['mode'\]",
    ),
    # queries
    row(
        "trees/children-unknown-node",
        lambda: trees.children(trees.star(3), "zz"),
        ModeTreeError,
        "node 'zz' is not in the mode tree; nodes are",
    ),
    row(
        "trees/parent-unknown-node",
        lambda: trees.parent(trees.star(3), 7),
        ModeTreeError,
        r"node 7 is not in the mode tree; nodes are .* \(4 in all\)",
    ),
    row(
        "trees/modes-under-unknown-node",
        lambda: trees.modes_under(trees.balanced(4), (0, 2)),
        ModeTreeError,
        r"node \(0, 2\) is not in the mode tree",
    ),
    row(
        "trees/depth-unknown-node",
        lambda: trees.depth(trees.star(3), "zz"),
        ModeTreeError,
        "node 'zz' is not in the mode tree",
    ),
    row(
        "trees/node-name-unknown-node",
        lambda: trees.node_name(trees.star(3), -1),
        ModeTreeError,
        "node -1 is not in the mode tree",
    ),
    row(
        "trees/is-leaf-not-a-graph",
        lambda: trees.is_leaf({"a": 1}, "a"),
        ModeTreeError,
        "must be a networkx.DiGraph; got dict. Build one with",
    ),
    row(
        "trees/root-not-a-graph",
        lambda: trees.root([(0, 1)]),
        ModeTreeError,
        "must be a networkx.DiGraph; got list",
    ),
    row(
        "trees/postorder-not-a-graph",
        lambda: trees.postorder(None),
        ModeTreeError,
        "must be a networkx.DiGraph; got NoneType",
    ),
    row(
        "trees/mode-sets-not-a-graph",
        lambda: trees.mode_sets("tree"),
        ModeTreeError,
        "must be a networkx.DiGraph; got str",
    ),
    row(
        "trees/root-of-a-cycle",
        lambda: trees.root(nx.DiGraph([(0, 1), (1, 0)])),
        ModeTreeError,
        "has no root .* check it with tnreg.trees.validate_tree",
    ),
    row(
        "trees/postorder-of-a-dag",
        lambda: trees.postorder(nx.DiGraph([("r", "a"), ("r", "b"), ("a", 0), ("b", 0)])),
        ModeTreeError,
        "node 0 is reached twice: the graph is not a mode tree",
    ),
]


# --------------------------------------------------------------------------- einsum parser
EINSUM = [
    row(
        "einsum/not-a-str",
        lambda: einsum.parse(3, [(2,)]),
        EinsumError,
        "equation must be a str such as 'ab,bc->ac'; received int",
    ),
    row(
        "einsum/ellipsis",
        lambda: einsum.parse("a...,a", [(2,), (2,)]),
        EinsumError,
        r"ellipsis '...' is not supported; name every index",
    ),
    row(
        "einsum/two-arrows",
        lambda: einsum.parse("a->a->a", [(2,)]),
        EinsumError,
        r"must look like 'ab,bc->ac' \(one '->' at most\)",
    ),
    row(
        "einsum/stray-dash",
        lambda: einsum.parse("a-a", [(2,)]),
        EinsumError,
        "must look like 'ab,bc->ac'",
    ),
    row(
        "einsum/stray-gt",
        lambda: einsum.parse("a>a", [(2,)]),
        EinsumError,
        "must look like 'ab,bc->ac'",
    ),
    row(
        "einsum/comma-in-output",
        lambda: einsum.parse("a,b->a,b", [(2,), (2,)]),
        EinsumError,
        "must look like 'ab,bc->ac'",
    ),
    row(
        "einsum/unknown-output",
        lambda: einsum.parse("ab->ax", [(2, 3)]),
        EinsumError,
        r"output indices \['x'\] appear in no input term",
    ),
    row(
        "einsum/repeated-output",
        lambda: einsum.parse("ab->aa", [(2, 3)]),
        EinsumError,
        "output indices must be distinct; got 'aa' with 'a' repeated",
    ),
    row(
        "einsum/trace",
        lambda: einsum.parse("aa->", [(2, 2)]),
        EinsumError,
        r"operand 0 carries index 'a' twice in 'aa->' \(axes 0 and 1\)",
    ),
    row(
        "einsum/shape-count",
        lambda: einsum.parse("ab,bc->ac", [(2, 3)]),
        EinsumError,
        r"has 2 input terms \(operands\); received 1 shapes",
    ),
    row(
        "einsum/shape-not-a-sequence",
        lambda: einsum.parse("ab,bc->ac", [(2, 3), 5]),
        EinsumError,
        "operand 1 of 'ab,bc->ac': a shape must be a sequence of ints .* received int 5",
    ),
    row(
        "einsum/shape-is-a-str",
        lambda: einsum.parse("ab->a", ["23"]),
        EinsumError,
        "a shape must be a sequence of ints .* received str '23'",
    ),
    row(
        "einsum/shape-length",
        lambda: einsum.parse("ab,b", [(2, 3), (3, 1)]),
        EinsumError,
        r"operand 1 has term 'b' \(1 indices\) in 'ab,b'; received shape \(3, 1\) \(2 axes\)",
    ),
    row(
        "einsum/size-zero",
        lambda: einsum.parse("ab->a", [(2, 0)]),
        EinsumError,
        r"operand 0 axis 1 \(index 'b'\): size must be an int >= 1; received 0",
    ),
    row(
        "einsum/size-float-names-the-right-operand",
        lambda: einsum.parse("ab,bc->ac", [(2, 3.5), (3.5, 4)]),
        EinsumError,
        r"operand 0 axis 1 \(index 'b'\): size must be an int >= 1; received 3.5 \(float\)",
    ),
    row(
        "einsum/size-nan",
        lambda: einsum.parse("a->a", [(float("nan"),)]),
        EinsumError,
        r"received nan \(float\)",
    ),
    row(
        "einsum/size-bool",
        lambda: einsum.parse("a->a", [(True,)]),
        EinsumError,
        r"received True \(bool\)",
    ),
    row(
        "einsum/conflicting-sizes",
        lambda: einsum.parse("ab,bc->ac", [(2, 3), (4, 4)]),
        EinsumError,
        r"operand 1 axis 0 \(index 'b'\) has size 4, but operand 0 axis 1 gives index 'b' "
        r"size 3",
    ),
    row(
        "einsum/names-count",
        lambda: einsum.parse("ab", [(2, 3)], names=["A", "B"]),
        EinsumError,
        "has 1 tensors but 2 names were given",
    ),
    row(
        "einsum/check-size-str",
        lambda: einsum.check_size("3", "index 'a'"),
        EinsumError,
        r"index 'a': size must be an int >= 1; received '3' \(str\)",
    ),
]


# --------------------------------------------------------------------------- network
def _net() -> TensorNetwork:
    return TensorNetwork.from_equation("ar,br->ab", (2, 3), (4, 3))


NETWORK = [
    row(
        "network/index-size-0",
        lambda: _net().add_index("x", 0),
        TensorNetworkError,
        r"index 'x': size must be an int >= 1; received 0",
    ),
    row(
        "network/index-size-bool",
        lambda: _net().add_index("x", True),
        TensorNetworkError,
        r"index 'x': size must be an int >= 1; received True \(bool\)",
    ),
    row(
        "network/index-size-float",
        lambda: _net().add_index("x", 2.5),
        TensorNetworkError,
        r"index 'x': size must be an int >= 1; received 2.5 \(float\)",
    ),
    row(
        "network/index-size-nan",
        lambda: _net().add_index("x", float("nan")),
        TensorNetworkError,
        r"received nan \(float\)",
    ),
    row(
        "network/index-label-unhashable",
        lambda: _net().add_index(["x"], 2),
        TensorNetworkError,
        r"an index label must be hashable \(str, int, tuple\); received list \['x'\]",
    ),
    row(
        "network/index-resized",
        lambda: _net().add_index("r", 4),
        TensorNetworkError,
        r"index 'r' already has size 3; cannot re-add it with size 4",
    ),
    row(
        "network/tensor-exists",
        lambda: _net().add_tensor(0, ["a"]),
        TensorNetworkError,
        r"tensor 0 already exists with indices \('a', 'r'\); choose a new name",
    ),
    row(
        "network/tensor-name-unhashable",
        lambda: _net().add_tensor({"T"}, ["a"]),
        TensorNetworkError,
        "a tensor name must be hashable .* received set",
    ),
    row(
        "network/tensor-indices-not-a-sequence",
        lambda: _net().add_tensor("T", 5),
        TensorNetworkError,
        r"tensor 'T' indices must be a sequence of index labels such as \['i', 'r'\]; "
        "received int 5",
    ),
    row(
        "network/tensor-index-unhashable",
        lambda: _net().add_tensor("T", ["a", ["b"]]),
        TensorNetworkError,
        r"tensor 'T' indices\[1\] must be hashable .* received list",
    ),
    row(
        "network/tensor-sizes-not-a-mapping",
        lambda: _net().add_tensor("T", ["z"], [("z", 2)]),
        TensorNetworkError,
        r"tensor 'T': sizes must be a mapping index -> size .* received list",
    ),
    row(
        "network/tensor-trace",
        lambda: _net().add_tensor("T", ["a", "a"]),
        TensorNetworkError,
        r"tensor 'T' carries index 'a' twice \(axis 1",
    ),
    row(
        "network/tensor-index-without-size",
        lambda: _net().add_tensor("T", ["a", "z"]),
        TensorNetworkError,
        r"tensor 'T' axis 1: index 'z' has no size; pass sizes=\{'z': ...\}",
    ),
    row(
        "network/tensor-size-conflict",
        lambda: _net().add_tensor("T", ["r"], {"r": 5}),
        TensorNetworkError,
        r"tensor 'T' axis 0: index 'r' has size 3, but sizes gives 5",
    ),
    row(
        "network/tensor-negative-size",
        lambda: _net().add_tensor("T", ["z"], {"z": -1}),
        TensorNetworkError,
        r"index 'z': size must be an int >= 1; received -1",
    ),
    row(
        "network/output-unknown",
        lambda: _net().set_output(["q"]),
        TensorNetworkError,
        r"output index 'q' is unknown; known indices: \['a'",
    ),
    row(
        "network/output-on-no-tensor",
        lambda: (n := _net(), n.add_index("q", 2), n.set_output(["q"])),
        TensorNetworkError,
        "output index 'q' is on no tensor; add a tensor that carries it first",
    ),
    row(
        "network/output-repeated",
        lambda: _net().set_output(["a", "b", "a"]),
        TensorNetworkError,
        r"output indices must be distinct; got \('a', 'b', 'a'\) with 'a' repeated",
    ),
    row(
        "network/output-not-a-sequence",
        lambda: _net().set_output(3),
        TensorNetworkError,
        "output indices must be a sequence of index labels .* received int 3",
    ),
    row(
        "network/arrays-count",
        lambda: _net().check_arrays([np.zeros((2, 3))]),
        TensorNetworkError,
        r"expected 2 arrays \(one per tensor \[0, 1\]\), got 1",
    ),
    row(
        "network/arrays-keys",
        lambda: _net().check_arrays({0: np.zeros((2, 3)), 5: np.zeros((4, 3))}),
        TensorNetworkError,
        r"keyed by the tensor names \[0, 1\]; missing \[1\], unknown \[5\]",
    ),
    row(
        "network/arrays-not-a-collection",
        lambda: _net().check_arrays(np.float64(1.0)),
        TensorNetworkError,
        "arrays must be a sequence in tensor order or a mapping .* received float64",
    ),
    row(
        "network/array-without-shape",
        lambda: _net().check_arrays([[1.0, 2.0], np.zeros((4, 3))]),
        TensorNetworkError,
        r"tensor 0: expected an array with .shape, got list",
    ),
    row(
        "network/array-ndim",
        lambda: _net().check_arrays([np.zeros((2, 3, 1)), np.zeros((4, 3))]),
        TensorNetworkError,
        r"tensor 0 has 3 axes \(shape \(2, 3, 1\)\), expected 2 for indices \('a', 'r'\)",
    ),
    row(
        "network/array-size",
        lambda: _net().check_arrays([np.zeros((2, 3)), torch.zeros(4, 4, dtype=torch.float64)]),
        TensorNetworkError,
        r"tensor 1 axis 1 \(index 'r'\) has size 4, expected 3",
    ),
    row(
        "network/rows-unknown",
        lambda: _net().min_cut(["z"]),
        TensorNetworkError,
        r"rows: unknown index 'z'; open indices are \('a', 'b'\)",
    ),
    row(
        "network/rows-not-open",
        lambda: _net().rank_bound(["r"]),
        TensorNetworkError,
        "rows: index 'r' is not open; open indices",
    ),
    row(
        "network/rows-repeated",
        lambda: _net().min_cut(["a", "a"]),
        TensorNetworkError,
        r"rows must be distinct; got \('a', 'a'\) with 'a' repeated",
    ),
    row(
        "network/rows-not-a-sequence",
        lambda: _net().min_cut(7),
        TensorNetworkError,
        "rows must be a sequence of index labels .* received int 7",
    ),
    # from_equation goes through the shared parser, naming tensors by name
    row(
        "network/equation-not-a-str",
        lambda: TensorNetwork.from_equation(3, (2,)),
        TensorNetworkError,
        "equation must be a str such as 'ab,bc->ac'; received int",
    ),
    row(
        "network/equation-shape-count",
        lambda: TensorNetwork.from_equation("ab,bc->ac", (2, 3)),
        TensorNetworkError,
        r"has 2 input terms \(operands\); received 1 shapes",
    ),
    row(
        "network/equation-names-count",
        lambda: TensorNetwork.from_equation("ab", (2, 3), names=["A", "B"]),
        TensorNetworkError,
        "has 1 tensors but 2 names were given",
    ),
    row(
        "network/equation-shape-length",
        lambda: TensorNetwork.from_equation("ab,b", (2, 3), (3, 1)),
        TensorNetworkError,
        r"tensor 1 has term 'b' \(1 indices\) in 'ab,b'; received shape \(3, 1\) \(2 axes\)",
    ),
    row(
        "network/equation-size-conflict-names-tensors",
        lambda: TensorNetwork.from_equation("ab,cb", (2, 3), (5, 4), names=["A", "B"]),
        TensorNetworkError,
        r"tensor 'B' axis 1 \(index 'b'\) has size 4, but tensor 'A' axis 1 gives index 'b' "
        r"size 3",
    ),
    row(
        "network/equation-trace",
        lambda: TensorNetwork.from_equation("aa->", (2, 2)),
        TensorNetworkError,
        "tensor 0 carries index 'a' twice",
    ),
    row(
        "network/equation-float-size",
        lambda: TensorNetwork.from_equation("ab,bc->ac", (2, 3.5), (3.5, 4)),
        TensorNetworkError,
        r"tensor 0 axis 1 \(index 'b'\): size must be an int >= 1; received 3.5",
    ),
]


# --------------------------------------------------------------------------- contract
NET = ((("i", "r"), ("j", "r")), ("i", "j"), {"i": 2, "j": 3, "r": 4})


def _chain(n: int):
    """A chain of ``n`` matrices as an (inputs, output, size_dict) triple."""
    inputs = tuple((k, k + 1) for k in range(n))
    return inputs, (0, n), {k: 2 for k in range(n + 1)}


def _call(*arrays):
    return plan(NET)(*arrays)


CONTRACT = [
    row(
        "contract/unknown-optimizer",
        lambda: plan(NET, optimize="gredy"),
        ValueError,
        r"unknown optimize='gredy'; valid options: \['auto'",
    ),
    row(
        "contract/optimizer-not-a-str",
        lambda: plan(NET, optimize=5),
        ValueError,
        "unknown optimize=5; valid options",
    ),
    row(
        "contract/memory-limit-0",
        lambda: plan(NET, memory_limit=0),
        ValueError,
        "memory_limit must be a positive number of elements or None; received 0",
    ),
    row(
        "contract/memory-limit-nan",
        lambda: plan(NET, memory_limit=float("nan")),
        ValueError,
        "memory_limit must be a positive number .* received nan",
    ),
    row(
        "contract/memory-limit-str",
        lambda: plan(NET, memory_limit="1GB"),
        ValueError,
        "memory_limit must be a positive number .* received str '1GB'",
    ),
    row(
        "contract/memory-limit-unreachable",
        lambda: plan("ij,jk,kl->il", (3, 4), (4, 5), (5, 6), memory_limit=1),
        PathError,
        r"no contraction path found by optimize='auto' keeps every intermediate within "
        r"memory_limit=1 elements; the smallest intermediate possible is 18 elements .*: raise "
        r"memory_limit to at least 18",
    ),
    row(
        "contract/optimal-too-large",
        lambda: plan(_chain(16), optimize="optimal"),
        PathError,
        r"optimize='optimal' is exhaustive and refused above 8 operands .* this network has "
        r"16. Use optimize='auto'",
    ),
    row(
        "contract/branch-all-too-large",
        lambda: plan(_chain(10), optimize="branch-all"),
        PathError,
        "optimize='branch-all' is exhaustive and refused above 9 operands",
    ),
    row(
        "contract/dp-too-large",
        lambda: plan(_chain(31), optimize="dp"),
        PathError,
        "optimize='dp' is exhaustive and refused above 30 operands",
    ),
    row(
        "contract/equation-shape-count",
        lambda: plan("ab,bc->ac", (2, 3)),
        ValueError,
        r"has 2 input terms \(operands\); received 1 shapes",
    ),
    row(
        "contract/equation-shape-length",
        lambda: plan("ab,bc->ac", (2, 3), (3,)),
        ValueError,
        r"operand 1 has term 'bc' .* received shape \(3,\)",
    ),
    row(
        "contract/equation-size-conflict",
        lambda: plan("ab,bc->ac", (2, 3), (4, 4)),
        ValueError,
        r"operand 1 axis 0 \(index 'b'\) has size 4, but operand 0 axis 1 gives index 'b' size 3",
    ),
    row(
        "contract/equation-float-size-names-the-right-operand",
        lambda: plan("ab,bc->ac", (2, 3.5), (3.5, 4)),
        ValueError,
        r"operand 0 axis 1 \(index 'b'\): size must be an int >= 1; received 3.5",
    ),
    row(
        "contract/equation-ellipsis",
        lambda: plan("...a,a->a", (2,), (2,)),
        ValueError,
        "ellipsis",
    ),
    row(
        "contract/shapes-with-network",
        lambda: plan(NET, (2, 3)),
        TypeError,
        "shapes are only accepted with an einsum string",
    ),
    row("contract/not-a-network", lambda: plan(42), TypeError, "received int"),
    row(
        "contract/no-operands",
        lambda: plan(((), (), {})),
        ValueError,
        "a contraction needs at least one operand; received none",
    ),
    row(
        "contract/inputs-a-str",
        lambda: plan(("ij", (), {"i": 2, "j": 2})),
        TypeError,
        "inputs must be a sequence of index-label sequences.* received str",
    ),
    row(
        "contract/operand-not-a-sequence",
        lambda: plan(((5,), (), {})),
        TypeError,
        "operand 0 must be a sequence of hashable index labels; received int 5",
    ),
    row(
        "contract/label-unhashable",
        lambda: plan(((("i", ["r"]),), (), {"i": 2})),
        TypeError,
        r"operand 0 axis 1: index labels must be hashable .* received list \['r'\]",
    ),
    row(
        "contract/size-dict-not-a-mapping",
        lambda: plan(((("i",),), ("i",), [("i", 2)])),
        TypeError,
        "size_dict must be a mapping index -> size; received list",
    ),
    row(
        "contract/missing-size",
        lambda: plan(((("i", "q"),), ("i",), {"i": 2})),
        ValueError,
        r"index 'q' of operand 0 \(axis 1\) has no size in size_dict; add size_dict\['q'\]",
    ),
    row(
        "contract/repeated-on-operand",
        lambda: plan(((("i", "i"),), (), {"i": 2})),
        ValueError,
        "index 'i' repeats on operand 0",
    ),
    row(
        "contract/output-on-no-operand",
        lambda: plan(((("i",),), ("k",), {"i": 2})),
        ValueError,
        r"output index 'k' is on no operand; operand indices: \['i'\]",
    ),
    row(
        "contract/output-repeated",
        lambda: plan(((("i", "j"),), ("i", "i"), {"i": 2, "j": 2})),
        ValueError,
        "repeats an index; each output index appears once",
    ),
    row(
        "contract/size-0",
        lambda: plan(((("i",),), ("i",), {"i": 0})),
        ValueError,
        r"size_dict\['i'\]: size must be an int >= 1; received 0",
    ),
    row(
        "contract/size-float",
        lambda: plan(((("i",),), ("i",), {"i": 2.5})),
        ValueError,
        r"size_dict\['i'\]: size must be an int >= 1; received 2.5 \(float\)",
    ),
    # calling a plan
    row(
        "contract/call-count",
        lambda: _call(np.ones((2, 4))),
        ValueError,
        r"plan expects 2 operands for 'ab,cb->ac'; received 1",
    ),
    row(
        "contract/call-ndim",
        lambda: _call(np.ones((2, 4)), np.ones(3)),
        ValueError,
        r"operand 1 must have 2 axes \('j', 'r'\) with shape \(3, 4\); received 1 axes",
    ),
    row(
        "contract/call-size",
        lambda: _call(np.ones((2, 4)), np.ones((3, 5))),
        ValueError,
        r"operand 1 axis 1 \(index 'r'\) must have size 4; received 5",
    ),
    row(
        "contract/call-not-an-array",
        lambda: _call([[1.0] * 4] * 2, np.ones((3, 4))),
        TypeError,
        r"operand 0 must be a numpy array or torch tensor; received list. Convert it first",
    ),
    row(
        "contract/call-mixed-dtypes",
        lambda: _call(torch.ones(2, 4, dtype=torch.float64), torch.ones(3, 4)),
        ValueError,
        "operands must share one dtype; operand 0 is float64 but operand 1 is float32. Cast",
    ),
    row(
        "contract/call-mixed-numpy-dtypes",
        lambda: _call(np.ones((2, 4)), np.ones((3, 4), dtype=np.float32)),
        ValueError,
        "operand 0 is float64 but operand 1 is float32",
    ),
    row(
        "contract/call-numpy-and-torch",
        lambda: _call(np.ones((2, 4)), torch.ones(3, 4, dtype=torch.float64)),
        ValueError,
        "operands must all be numpy arrays or all torch tensors; operand 0 is ndarray but "
        "operand 1 is Tensor",
    ),
    row(
        "contract/call-meta-device",
        lambda: _call(
            torch.ones(2, 4, dtype=torch.float64),
            torch.ones(3, 4, dtype=torch.float64, device="meta"),
        ),
        ValueError,
        "operand 1 is on the 'meta' device, which holds no data",
    ),
    row(
        "contract/call-all-meta",
        lambda: _call(*(torch.ones(s, device="meta") for s in ((2, 4), (3, 4)))),
        ValueError,
        "operand 0 is on the 'meta' device",
    ),
    row(
        "contract/contract-list-operands",
        lambda: contract("ab,bc->ac", [[1.0, 2.0]], np.ones((2, 2))),
        TypeError,
        "operand 0 must be a numpy array or torch tensor; received list",
    ),
    row(
        "contract/contract-mixed-dtypes",
        lambda: contract("ab,bc->ac", np.ones((2, 2)), np.ones((2, 2), dtype=np.float32)),
        ValueError,
        "operands must share one dtype; operand 0 is float64 but operand 1 is float32",
    ),
    row(
        "contract/find-path-unknown-optimizer",
        lambda: paths.find_path("ab,bc->ac", [(2, 2), (2, 2)], optimize="fast", memory_limit=None),
        ValueError,
        r"unknown optimize='fast'; valid options: \['auto'",
    ),
]


# --------------------------------------------------------------------------- interop
def _tn_net() -> TensorNetwork:
    return TensorNetwork.from_equation("ab->a", (2, 3))


def _interop(name: str):
    from tnreg import interop

    return getattr(interop, name)


_needs_tn = pytest.mark.skipif(not HAS_TN, reason="needs tensornetwork (pip install tnreg[tn])")

INTEROP = [
    row(
        "interop/unknown-backend",
        lambda: _interop("to_tensornetwork")(_tn_net(), [np.zeros((2, 3))], backend="jax"),
        TensorNetworkError,
        r"unknown backend='jax'; valid options: \['numpy', 'pytorch'\]",
        marks=_needs_tn,
    ),
    row(
        "interop/backend-not-a-str",
        lambda: _interop("to_tensornetwork")(_tn_net(), [np.zeros((2, 3))], backend=None),
        TensorNetworkError,
        "unknown backend=None",
        marks=_needs_tn,
    ),
    row(
        "interop/not-a-network",
        lambda: _interop("to_tensornetwork")("ab->a", [np.zeros((2, 3))]),
        TensorNetworkError,
        "network must be a tnreg TensorNetwork; received str",
        marks=_needs_tn,
    ),
    row(
        "interop/array-size",
        lambda: _interop("to_tensornetwork")(_tn_net(), [np.zeros((2, 4))]),
        TensorNetworkError,
        r"tensor 0 axis 1 \(index 'b'\) has size 4, expected 3",
        marks=_needs_tn,
    ),
    row(
        "interop/torch-arrays-for-numpy-backend",
        lambda: _interop("to_tensornetwork")(_tn_net(), [torch.zeros(2, 3)], backend="numpy"),
        TensorNetworkError,
        r"backend='numpy' needs numpy arrays; tensor 0 is torch.Tensor. Convert it with "
        r"numpy.asarray\(x\)",
        marks=_needs_tn,
    ),
    row(
        "interop/numpy-arrays-for-pytorch-backend",
        lambda: _interop("to_tensornetwork")(_tn_net(), [np.zeros((2, 3))], backend="pytorch"),
        TensorNetworkError,
        r"backend='pytorch' needs torch arrays; tensor 0 is numpy.ndarray",
        marks=_needs_tn,
    ),
    row(
        "interop/from-nodes-not-a-list",
        lambda: _interop("from_tensornetwork")(5, []),
        TensorNetworkError,
        "nodes must be a list of tensornetwork AbstractNode objects; received int",
        marks=_needs_tn,
    ),
    row(
        "interop/from-node-of-wrong-type",
        lambda: _interop("from_tensornetwork")([np.zeros(2)], []),
        TensorNetworkError,
        r"nodes\[0\] must be a tensornetwork AbstractNode; received ndarray",
        marks=_needs_tn,
    ),
    row(
        "interop/from-edge-of-wrong-type",
        lambda: _interop("from_tensornetwork")([], ["a"]),
        TensorNetworkError,
        r"output_edges\[0\] must be a tensornetwork Edge; received str",
        marks=_needs_tn,
    ),
    row(
        "interop/contract-nodes-not-a-list",
        lambda: _interop("contract_tensornetwork")(None, []),
        TensorNetworkError,
        "nodes must be a list of tensornetwork AbstractNode objects; received NoneType",
        marks=_needs_tn,
    ),
    row(
        "interop/contract-wrong-output-edges",
        lambda: _interop("contract_tensornetwork")(
            *(lambda nodes, outs: (nodes, outs[:1]))(
                *_interop("to_tensornetwork")(
                    TensorNetwork.from_equation("ab->ab", (2, 3)), [np.zeros((2, 3))]
                )
            )
        ),
        TensorNetworkError,
        "output_edges must be the 2 dangling edges of nodes, each once; got 1",
        marks=_needs_tn,
    ),
]


# --------------------------------------------------------------------------- devices, spectra
_no_cuda = pytest.mark.skipif(torch.cuda.is_available(), reason="checks the CPU-only answer")
_NO_CUDA = r"device='cuda(:0)?': no CUDA device is available on this machine .*; use device='cpu'"
_TARGET = random_cp_target(3, 3, 2, seed=0)
_CP = CP(3, 3, 2, dtype=torch.float64)
_TREE = trees.balanced(4)

DEVICES = [
    *(
        row(f"devices/{name}-on-cuda", call, DeviceError, _NO_CUDA, marks=_no_cuda)
        for name, call in [
            ("cp", lambda: CP(3, 3, 2, device="cuda")),
            ("htf", lambda: HierarchicalTensorFactorization(_TREE, 3, 2, device="cuda:0")),
            ("target", lambda: _TARGET.to("cuda")),
            ("tree-target", lambda: random_tree_target(_TREE, 3, 2, seed=0).to("cuda")),
            ("dataset", lambda: completion_task(_TARGET, 5, seed=0).to("cuda")),
            ("build-model", lambda: build_model({"kind": "cp", "order": 3}, device="cuda")),
            ("entanglement", lambda: data_entanglement(np.ones((8, 4)), device="cuda")),
            ("locality", lambda: run_locality(LocalityConfig(device="cuda"))),
        ]
    ),
    row(
        "devices/not-a-device",
        lambda: check_device("gpu"),
        DeviceError,
        r"device must be a torch.device or a string such as 'cpu' or 'cuda:0'; got 'gpu'",
    ),
    row(
        "analysis/spectrum-rows-an-int",
        lambda: matricization_spectrum(_CP, rows=0),
        AnalysisError,
        r"rows must be a list of the network's open indices \[0, 1, 2\]; got int 0 \(for one "
        r"index, pass a list: rows=\[0\]\)",
    ),
    row(
        "analysis/spectrum-rows-an-int-positional",
        lambda: matricization_spectrum(_CP, 0),
        AnalysisError,
        r"rows must be a list of the network's open indices \[0, 1, 2\]; got int 0",
    ),
    row(
        "analysis/spectrum-network-without-tensors",
        lambda: matricization_spectrum(_CP.network, rows=[0]),
        AnalysisError,
        r"matricization_spectrum\(network, tensors, rows\) needs the tensors",
    ),
]


ALL = [*TREES, *EINSUM, *NETWORK, *CONTRACT, *INTEROP, *DEVICES]


@pytest.mark.parametrize(("call", "error", "match"), ALL)
def test_bad_input(call, error, match) -> None:
    with pytest.raises(error, match=match):
        call()


def test_table_ids_are_unique() -> None:
    ids = [p.id for p in ALL]
    assert len(ids) == len(set(ids))
