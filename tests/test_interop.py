"""Tests for tnreg.interop: tnreg <-> Google tensornetwork, checked against numpy.einsum."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from tnreg.interop import contract_tensornetwork, from_tensornetwork, to_tensornetwork
from tnreg.network import TensorNetwork, TensorNetworkError

tn = pytest.importorskip("tensornetwork")

CASES = [
    # (equation, shapes)
    ("ab,bc->ac", [(2, 3), (3, 4)]),  # matrix product
    ("ir,jr,kr->ijk", [(2, 3), (4, 3), (5, 3)]),  # CP: hyperedge r on 3 tensors
    ("ir,jr,kr,r->kji", [(2, 3), (4, 3), (5, 3), (3,)]),  # weighted CP, permuted output
    ("bi,bj->bij", [(3, 2), (3, 4)]),  # open batch hyperedge
    ("ab->a", [(2, 3)]),  # summed index on one tensor
    ("ab,ab->", [(2, 3), (2, 3)]),  # scalar
    ("i,j->ij", [(2,), (3,)]),  # outer product (disconnected)
    ("ia,ja,kb,lb,ab->ijkl", [(2, 2), (3, 2), (2, 3), (3, 3), (2, 3)]),  # binary tree
    ("aib,bjc,cka->ijk", [(2, 3, 2), (2, 2, 2), (2, 4, 2)]),  # tensor ring
    ("xia,xjb,ab->xij", [(2, 3, 2), (2, 4, 3), (2, 3)]),  # batched, open hyperedge x
]
BACKENDS = ["numpy", "pytorch"]


def random_arrays(shapes: list[tuple[int, ...]], seed: int) -> list[np.ndarray]:
    rng = np.random.default_rng(seed)
    return [rng.standard_normal(shape).astype(np.float64) for shape in shapes]


def as_backend(arrays: list[np.ndarray], backend: str) -> list:
    if backend == "pytorch":
        return [torch.from_numpy(a) for a in arrays]
    return arrays


def to_numpy(tensor) -> np.ndarray:
    return tensor.numpy() if isinstance(tensor, torch.Tensor) else np.asarray(tensor)


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize(("eq", "shapes"), CASES)
def test_contract_matches_einsum(eq: str, shapes: list, backend: str) -> None:
    net = TensorNetwork.from_equation(eq, *shapes)
    arrays = random_arrays(shapes, seed=len(eq))
    nodes, outputs = to_tensornetwork(net, as_backend(arrays, backend), backend=backend)
    result = contract_tensornetwork(nodes, outputs)
    expected = np.einsum(net.equation()[0], *arrays)
    assert to_numpy(result).dtype == np.float64
    np.testing.assert_allclose(to_numpy(result), expected, rtol=5e-6, atol=1e-8)
    np.testing.assert_allclose(np.einsum(eq, *arrays), expected, rtol=5e-6, atol=1e-8)


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize(("eq", "shapes"), CASES)
def test_round_trip_preserves_equation_and_values(eq: str, shapes: list, backend: str) -> None:
    net = TensorNetwork.from_equation(eq, *shapes)
    arrays = random_arrays(shapes, seed=len(eq) + 1)
    nodes, outputs = to_tensornetwork(net, as_backend(arrays, backend), backend=backend)
    back, back_arrays = from_tensornetwork(nodes, outputs)
    assert back.equation()[0] == net.equation()[0]
    assert back.shapes() == net.shapes()
    assert back.output == net.output
    assert list(back.tensors) == list(net.tensors)  # integer tensor names stay ints
    assert back.hyperedges == net.hyperedges
    np.testing.assert_allclose(
        np.einsum(back.equation()[0], *[to_numpy(a) for a in back_arrays]),
        np.einsum(eq, *arrays),
        rtol=5e-6,
        atol=1e-8,
    )


def test_tuple_labels_and_mapping_arrays() -> None:
    net = TensorNetwork()
    net.add_index(("r", 0), 3)
    for n, d in enumerate((2, 4, 5)):
        net.add_tensor(("factor", n), [("mode", n), ("r", 0)], {("mode", n): d})
    net.set_output([("mode", 2), ("mode", 0), ("mode", 1)])
    arrays = random_arrays(net.shapes(), seed=3)
    mapping = {("factor", n): a for n, a in enumerate(arrays)}
    nodes, outputs = to_tensornetwork(net, mapping)
    assert [edge.name for edge in outputs] == ["('mode', 2)", "('mode', 0)", "('mode', 1)"]
    np.testing.assert_allclose(
        contract_tensornetwork(nodes, outputs),
        np.einsum("ar,br,cr->cab", *arrays),
        rtol=5e-6,
        atol=1e-8,
    )


@pytest.mark.parametrize("backend", BACKENDS)
def test_round_trip_keeps_int_and_tuple_labels(backend: str) -> None:
    net = TensorNetwork()
    net.add_tensor(0, [10, ("r", 1)], {10: 2, ("r", 1): 3})
    net.add_tensor(("core", 1), [("r", 1), 11, 12], {11: 4, 12: 2})
    net.add_tensor(2, [12, 13], {13: 3})
    net.set_output([13, 10, 11])
    arrays = as_backend(random_arrays(net.shapes(), seed=8), backend)
    back, back_arrays = from_tensornetwork(*to_tensornetwork(net, arrays, backend=backend))
    assert list(back.tensors) == [0, ("core", 1), 2]
    assert back.output == (13, 10, 11) and all(type(x) is int for x in back.output)
    assert back.tensors == net.tensors and back.size_dict == net.size_dict
    for got, want in zip(back_arrays, arrays, strict=True):
        np.testing.assert_array_equal(to_numpy(got), to_numpy(want))


def test_contract_leaves_nodes_intact() -> None:
    net = TensorNetwork.from_equation("ir,jr,kr->ijk", (2, 3), (4, 3), (5, 3))
    arrays = random_arrays(net.shapes(), seed=4)
    nodes, outputs = to_tensornetwork(net, arrays)
    first = contract_tensornetwork(nodes, outputs)
    second = contract_tensornetwork(nodes, outputs)
    np.testing.assert_allclose(first, second, rtol=0, atol=0)
    assert len(nodes) == 4


def test_from_native_tensornetwork_with_default_names() -> None:
    arrays = random_arrays([(2, 3), (4, 3), (3, 5)], seed=5)
    a, b, c = (tn.Node(x, backend="numpy") for x in arrays)
    copy = tn.CopyNode(3, 3, backend="numpy", dtype=np.float64)
    a[1] ^ copy[0]
    b[1] ^ copy[1]
    copy[2] ^ c[0]
    net, back_arrays = from_tensornetwork([a, copy, b, c], [c[1], a[0], b[0]])
    assert list(net.tensors) == [0, 1, 2]
    assert net.equation()[0] == "ab,cb,bd->dac"
    assert net.hyperedges == (1,)
    np.testing.assert_allclose(
        np.einsum(net.equation()[0], *back_arrays),
        np.einsum("ir,jr,rk->kij", *arrays),
        rtol=5e-6,
        atol=1e-8,
    )


def test_from_tensornetwork_merges_chained_copy_nodes() -> None:
    arrays = random_arrays([(2, 3), (4, 3)], seed=6)
    a, b = (tn.Node(x, name=name) for x, name in zip(arrays, "AB", strict=True))
    c1 = tn.CopyNode(3, 3, name="r")
    c2 = tn.CopyNode(2, 3, name="s")
    a[1] ^ c1[0]
    c1[1] ^ c2[0]
    c2[1] ^ b[1]
    net, _ = from_tensornetwork([a, b, c1, c2], [a[0], b[0], c1[2]])
    assert net.tensors == {"A": (0, 1), "B": (2, 1)}  # default edge names: positions
    assert net.equation()[0] == "ab,cb->acb"


# ---------------------------------------------------------------------------- errors


def test_to_tensornetwork_unknown_backend() -> None:
    net = TensorNetwork.from_equation("ab->a", (2, 3))
    with pytest.raises(TensorNetworkError, match=r"unknown backend='jax'; valid options"):
        to_tensornetwork(net, [np.zeros((2, 3))], backend="jax")


def test_to_tensornetwork_checks_arrays() -> None:
    net = TensorNetwork.from_equation("ab->a", (2, 3))
    with pytest.raises(TensorNetworkError, match=r"tensor 0 axis 1 \(index 'b'\) has size 4"):
        to_tensornetwork(net, [np.zeros((2, 4))])


def _pair() -> tuple:
    a = tn.Node(np.ones((2, 3)), name="A")
    b = tn.Node(np.ones((3, 4)), name="B")
    a[1] ^ b[0]
    return a, b


def _lonely_copy_pair() -> tuple:
    first = tn.CopyNode(1, 5, name="lonely")
    second = tn.CopyNode(1, 5, name="lonely")
    first[0] ^ second[0]
    return first, second


@pytest.mark.parametrize(
    ("build", "match"),
    [
        (lambda a, b: ([a], [a[0]]), r"node 'A' axis 1: edge .* leads to node 'B', which is not"),
        (
            lambda a, b: ([a, b], [a[0]]),
            r"dangling edges of nodes, each once; got 1; .* missing: \[\"'B'\[1\]\"\]",
        ),
        (lambda a, b: ([a, b], [a[0], b[1], a[1]]), r"not dangling or foreign"),
        (lambda a, b: ([a, b], [a[0], a[0]]), r"each once; got 2"),
        (
            lambda a, b: ([a, b, *_lonely_copy_pair()], [a[0], b[1]]),
            r"copy node\(s\) \['lonely'\] touch no ordinary node",
        ),
    ],
)
def test_from_tensornetwork_errors(build, match: str) -> None:
    nodes, outputs = build(*_pair())
    with pytest.raises(TensorNetworkError, match=match):
        from_tensornetwork(nodes, outputs)


def test_from_tensornetwork_rejects_trace_edges() -> None:
    node = tn.Node(np.ones((3, 3, 2)), name="T")
    node[0] ^ node[1]
    with pytest.raises(TensorNetworkError, match=r"tensor 'T' carries index .* twice"):
        from_tensornetwork([node], [node[2]])
