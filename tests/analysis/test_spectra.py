"""Node spectra from Gramians against an independent dense float64 construction."""

from __future__ import annotations

import copy
import math

import networkx as nx
import numpy as np
import pytest
import torch

from tnreg import trees
from tnreg.analysis.gramians import (
    AnalysisError,
    frobenius_norm_sq,
    log_frobenius_norm,
    outer_gramians,
)
from tnreg.analysis.spectra import (
    dense_spectrum,
    matricization_spectrum,
    node_scaled_spectra,
    node_spectra,
)
from tnreg.models import HierarchicalTensorFactorization
from tnreg.network import TensorNetwork
from tnreg.testing import MODEL_KINDS, assert_close, dense_svd, random_model

# --------------------------------------------------------------------------- helpers


def random_matrices(tree, dims, width, *, seed, num=1, dtype=torch.float64, root_ones=False):
    """Node matrices (E, rows, cols); ``width`` is an int or a callable node -> int."""
    gen = torch.Generator().manual_seed(seed)
    rows = {}
    for v in tree:
        leaf = tree.out_degree(v) == 0
        rows[v] = dims[tree.nodes[v]["mode"]] if leaf else (width(v) if callable(width) else width)
    top = trees.root(tree)
    mats = {}
    for v in tree:
        cols = 1 if v == top else rows[trees.parent(tree, v)]
        mats[v] = torch.randn(num, rows[v], cols, generator=gen, dtype=torch.float64).to(dtype)
    if root_ones:
        mats[top] = torch.ones_like(mats[top])
    return mats


def dense_numpy(tree, mats, member=0):
    """End tensor W by the defining recursion, in numpy float64 (independent of tnreg)."""
    n = trees.order(tree)
    m = {v: mats[v][member].detach().double().numpy() for v in tree}

    def build(v):  # -> (array over sorted modes + channel of the parent, sorted modes)
        kids = list(tree.successors(v))
        if not kids:
            return m[v], [tree.nodes[v]["mode"]]
        parts = [build(c) for c in kids]
        args = []
        for arr, modes in parts:
            args += [arr, [*modes, n]]
        modes = sorted(x for _, ms in parts for x in ms)
        return np.einsum(*args, m[v], [n, n + 1], [*modes, n + 1]), modes

    w, modes = build(trees.root(tree))
    assert modes == list(range(n))
    return w[..., 0]


def numpy_svd(w, rows):
    cols = [x for x in range(w.ndim) if x not in rows]
    mat = np.transpose(w, [*rows, *cols]).reshape(math.prod(w.shape[r] for r in rows), -1)
    return np.linalg.svd(mat, compute_uv=False)


def assert_spectra_match(tree, mats, *, rtol=1e-10):
    spectra = node_spectra(tree, mats)
    sets = trees.mode_sets(tree)
    for member in range(next(iter(mats.values())).shape[0]):
        w = dense_numpy(tree, mats, member)
        for v, sigma in spectra.items():
            ref = numpy_svd(w, list(sets[v]))
            got = sigma[member].numpy()
            scale = max(ref[0], 1e-300)
            assert got.shape[0] <= ref.shape[0]
            np.testing.assert_allclose(got / scale, ref[: got.shape[0]] / scale, atol=rtol)
            assert np.all(ref[got.shape[0] :] <= rtol * scale), (v, ref)


# --------------------------------------------------------------------------- case table

CASES = {
    # CP (star): plain-sum output, trainable root
    "cp_sum": (lambda: trees.star(4), (3, 4, 2, 3), 3, True),
    "cp_root": (lambda: trees.star(4), (3, 4, 2, 3), 3, False),
    "cp_wide": (lambda: trees.star(3), (2, 3, 2), 7, False),
    # balanced binary / ternary
    "balanced4": (lambda: trees.balanced(4), (3, 3, 3, 3), 4, False),
    "balanced8": (lambda: trees.balanced(8), (2,) * 8, 3, False),
    "ternary9": (lambda: trees.balanced(9, arity=3), (2,) * 9, 3, False),
    # caterpillar / TT
    "caterpillar5": (lambda: trees.caterpillar(5), (3, 2, 3, 2, 3), 4, False),
    # 3+ children, uneven dims, any leaf order
    "mixed": (lambda: trees.from_nested(((3, 0, 5), (1, (4, 2)))), (2, 3, 2, 4, 2, 3), 3, False),
    "random7": (lambda: trees.random_tree(7, seed=1), (2, 3, 2, 2, 3, 2, 2), 3, False),
    # size-1 modes
    "size1": (lambda: trees.balanced(5), (1, 3, 1, 2, 4), 3, False),
    # order 2, widths larger than dims
    "order2": (lambda: trees.balanced(2), (5, 4), 3, False),
    "order2_wide": (lambda: trees.balanced(2), (5, 4), 9, False),
    "wide": (lambda: trees.balanced(4), (2, 2, 2, 2), 6, False),
    # per-node widths, some children wider than their parent
    "uneven_widths": (
        lambda: trees.balanced(6, arity=3),
        (3, 2, 2, 3, 2, 2),
        lambda v: 1 + len(v) % 4,
        False,
    ),
}


@pytest.mark.parametrize("name", CASES)
def test_node_spectra_match_dense_svd(name):
    make, dims, width, root_ones = CASES[name]
    tree = make()
    mats = random_matrices(tree, dims, width, seed=sum(map(ord, name)), root_ones=root_ones)
    assert_spectra_match(tree, mats)


def test_ensemble_members_are_independent():
    tree = trees.balanced(4)
    mats = random_matrices(tree, (2, 3, 2, 3), 3, seed=5, num=3)
    together = node_spectra(tree, mats)
    for k in range(3):
        alone = node_spectra(tree, {v: m[k : k + 1] for v, m in mats.items()})
        for v in alone:
            torch.testing.assert_close(together[v][k : k + 1], alone[v], rtol=0, atol=1e-12)
    assert_spectra_match(tree, mats)


def test_float32_parameters_analysed_in_float64():
    """A float32 model's spectra match the float64 SVD of the same tensor to ~1e-12 σ_max."""
    tree = trees.balanced(4)
    mats = random_matrices(tree, (3, 3, 3, 3), 4, seed=2, dtype=torch.float32)
    spectra = node_spectra(tree, mats)
    kept = node_spectra(tree, mats, dtype=None)  # the old behaviour: the parameters' dtype
    w = dense_numpy(tree, mats)  # the float32 values, multiplied out in float64
    for v, modes in trees.node_mode_sets(tree).items():
        assert spectra[v].dtype == torch.float64 and kept[v].dtype == torch.float32
        ref = numpy_svd(w, list(modes))
        got = spectra[v][0].numpy()
        np.testing.assert_allclose(got / ref[0], ref[: got.size] / ref[0], rtol=0, atol=1e-12)
        np.testing.assert_allclose(kept[v][0].double().numpy() / ref[0], got / ref[0], atol=2e-3)


def test_model_and_node_subset():
    model = HierarchicalTensorFactorization(trees.balanced(4), 2, 2, seed=0, dtype=torch.float64)
    got = node_spectra(model, nodes=[(0, 1), 3])
    assert list(got) == [(0, 1), 3]
    ref = node_spectra(model.tree, model.matrices())
    torch.testing.assert_close(got[3], ref[3], rtol=0, atol=0)
    # a model with explicit matrices reads those (checked against the model's tree)
    doubled = {v: 2 * m.detach() for v, m in model.matrices().items()}
    scale = 2.0 ** len(doubled)
    torch.testing.assert_close(node_spectra(model, doubled)[3], scale * ref[3])


@pytest.mark.parametrize("kind", MODEL_KINDS)
@pytest.mark.parametrize("dtype", [torch.float64, torch.float32])
def test_every_model_kind_against_dense_svd(kind, dtype):
    """node_spectra on every model kind equals numpy's SVD of its dense float64 tensor."""
    model = random_model(kind, order=4, dims=3, width=2, seed=7, ensemble=2, dtype=dtype)
    spectra = node_spectra(model)
    dense = copy.deepcopy(model).double().to_dense().detach()  # the same values, in float64
    for v, modes in trees.node_mode_sets(model.tree).items():
        for e in range(2):
            ref = dense_svd(dense[e].numpy(), modes)
            got = spectra[v][e]
            assert got.dtype == torch.float64
            assert_close(got, ref[: got.numel()], rtol=0, atol=1e-10, scale=float(ref[0]))
            assert np.all(ref[got.numel() :] <= 1e-10 * ref[0])
    scaled = node_scaled_spectra(model)
    assert set(scaled) == set(spectra)


@pytest.mark.parametrize("kind", MODEL_KINDS)
def test_matricization_of_a_model(kind):
    """matricization_spectrum(model, rows) reads the model's network and tensors."""
    model = random_model(kind, order=4, dims=2, width=2, seed=3)
    w = model.to_dense().detach().double().numpy()
    for rows in ([0, 2], [1]):
        got = matricization_spectrum(model, rows)[0]
        ref = dense_svd(w, rows)
        assert_close(got, ref[: got.numel()], rtol=0, atol=1e-10, scale=float(ref[0]))


def test_auto_goes_dense_for_small_tensors():
    """4096 entries: auto takes the SVD and resolves small singular values the Gram route loses."""
    model = random_model("tt", order=12, dims=2, width=4, seed=0)
    w = model.to_dense().detach().double().numpy()
    rows = list(range(6))
    ref = dense_svd(w, rows)
    got = matricization_spectrum(model, rows)[0]
    assert_close(got, ref[: got.numel()], rtol=1e-9, atol=1e-14, scale=float(ref[0]))


# --------------------------------------------------------------------------- known ranks


def test_rank_from_local_components():
    tree = trees.balanced(8)
    mats = random_matrices(tree, (3,) * 8, 5, seed=11)
    node = (0, 1, 2, 3)
    mats[node][:, 2:, :] = 0  # two nonzero local components at the node
    spectra = node_spectra(tree, mats)
    for v in [node, *trees.children(tree, node)]:
        sigma = spectra[v][0]
        assert int((sigma > 1e-7 * sigma[0]).sum()) == 2, (v, sigma)
    # the Gramian route resolves exact zeros to about sqrt(eps) * sigma_max
    assert_spectra_match(tree, mats, rtol=1e-7)


def test_rank_one_cp_has_rank_one_everywhere():
    tree = trees.star(5)
    mats = random_matrices(tree, (3, 2, 4, 2, 3), 1, seed=4, root_ones=True)
    for sigma in node_spectra(tree, mats).values():
        assert torch.all(sigma[0, 1:] == 0)
    net, ts = cp_network(mats, tree)
    sigma = matricization_spectrum(net, ts, [0, 2, 4], method="gram")
    assert sigma.shape == (1, 1)


def test_zero_tensor_gives_zero_spectra():
    tree = trees.balanced(4)
    mats = {v: torch.zeros_like(m) for v, m in random_matrices(tree, (2,) * 4, 3, seed=0).items()}
    for s in node_scaled_spectra(tree, mats).values():
        assert torch.all(s.relative == 0) and torch.all(s.log_max == -math.inf)
    for sigma in node_spectra(tree, mats).values():
        assert torch.all(sigma == 0)
    assert frobenius_norm_sq(tree, mats).item() == 0


# --------------------------------------------------------------------------- high order / scale


def test_order_1024_is_finite_and_scale_equivariant():
    tree = trees.balanced(1024)
    mats = random_matrices(tree, (2,) * 1024, 8, seed=3)
    base = node_scaled_spectra(tree, mats)
    leaves = {v for v in tree if tree.out_degree(v) == 0}
    scaled = node_scaled_spectra(tree, {v: m * 1e3 if v in leaves else m for v, m in mats.items()})
    shift = 1024 * math.log(1e3)
    for v, s in base.items():
        assert torch.isfinite(s.log_max).all() and not torch.isnan(s.relative).any()
        torch.testing.assert_close(scaled[v].relative, s.relative, rtol=0, atol=1e-9)
        torch.testing.assert_close(scaled[v].log_max, s.log_max + shift, rtol=1e-12, atol=0)
    assert torch.isfinite(log_frobenius_norm(tree, mats)).all()
    assert not any(torch.isnan(x).any() for x in node_spectra(tree, mats).values())


def test_frobenius_norm_and_leaf_outer_gramian():
    tree = trees.from_nested(((2, 0), (1, 3, 4)))
    mats = random_matrices(tree, (2, 3, 2, 2, 3), 3, seed=8)
    w = dense_numpy(tree, mats)
    assert frobenius_norm_sq(tree, mats).item() == pytest.approx((w**2).sum(), rel=1e-12)
    h = outer_gramians(tree, mats)[1].value()[0].numpy()
    mat = np.moveaxis(w, 1, 0).reshape(3, -1)
    np.testing.assert_allclose(h, mat @ mat.T, rtol=1e-10, atol=1e-12)


# --------------------------------------------------------------------------- gradients


def test_gradcheck_float64():
    tree = trees.balanced(4)
    mats = random_matrices(tree, (2, 2, 2, 2), 2, seed=21)
    names = list(mats)

    def f(*xs):
        spectra = node_spectra(tree, dict(zip(names, xs, strict=True)), differentiable=True)
        return tuple(spectra.values())

    inputs = tuple(m.clone().requires_grad_() for m in mats.values())
    assert torch.autograd.gradcheck(f, inputs, eps=1e-6, atol=1e-6)
    assert not node_spectra(tree, dict(zip(names, inputs, strict=True)))[0].requires_grad


def test_gradcheck_network_float64():
    net, ts = ring_network(3)
    names = list(ts)

    def f(*xs):
        arrays = dict(zip(names, xs, strict=True))
        return matricization_spectrum(net, arrays, [0, 2], method="gram", differentiable=True)

    inputs = tuple(t[:1].clone().requires_grad_() for t in ts.values())
    assert torch.autograd.gradcheck(f, inputs, eps=1e-6, atol=1e-6)
    arrays = dict(zip(names, inputs, strict=True))
    assert not matricization_spectrum(net, arrays, [0, 2]).requires_grad


# --------------------------------------------------------------------------- any matricization


def htf_network(tree, mats):
    net, tensors, top = TensorNetwork(), {}, trees.root(tree)
    for v in trees.postorder(tree):
        m = mats[v]
        pa = ("r", trees.parent(tree, v))
        own = tree.nodes[v]["mode"] if tree.out_degree(v) == 0 else ("r", v)
        ix = (own,) if v == top else (own, pa)
        net.add_tensor(v, ix, dict(zip(ix, m.shape[1:], strict=False)))
        tensors[v] = m[..., 0] if v == top else m
    net.set_output(range(trees.order(tree)))
    return net, tensors


def cp_network(mats, tree):
    leaves = [v for v in tree if tree.out_degree(v) == 0]
    net = TensorNetwork()
    for v in leaves:
        net.add_tensor(v, (tree.nodes[v]["mode"], "r"), dict(zip((v, "r"), mats[v].shape[1:])))
    net.set_output(range(len(leaves)))
    return net, {
        v: mats[v] * (mats[trees.root(tree)][:, None, :, 0] if v == 0 else 1) for v in leaves
    }


def ring_network(seed):
    gen = torch.Generator().manual_seed(seed)
    dims, bonds = (3, 2, 4, 3), (2, 3, 2, 3)
    net, ts = TensorNetwork(), {}
    for n in range(4):
        ix = (("a", n), n, ("a", (n + 1) % 4))
        net.add_tensor(n, ix, {ix[0]: bonds[n], n: dims[n], ix[2]: bonds[(n + 1) % 4]})
        ts[n] = torch.randn(
            2, bonds[n], dims[n], bonds[(n + 1) % 4], generator=gen, dtype=torch.float64
        )
    net.set_output(range(4))
    return net, ts


def tucker_network(seed):
    gen = torch.Generator().manual_seed(seed)
    dims, ranks = (2, 2, 5, 3), (3, 3, 5, 2)  # rows {0, 1}: the modes themselves are the cut
    net, ts = TensorNetwork(), {}
    net.add_tensor("core", [("r", n) for n in range(4)], {("r", n): ranks[n] for n in range(4)})
    ts["core"] = torch.randn(2, *ranks, generator=gen, dtype=torch.float64)
    for n in range(4):
        net.add_tensor(("U", n), (n, ("r", n)), {n: dims[n]})
        ts[("U", n)] = torch.randn(2, dims[n], ranks[n], generator=gen, dtype=torch.float64)
    net.set_output(range(4))
    return net, ts


def _htf(seed):
    tree = trees.from_nested(((0, 1), (2, 3, 4)))
    return htf_network(tree, random_matrices(tree, (2, 3, 2, 3, 2), 3, seed=seed, num=2))


def _cp(seed):
    tree = trees.star(4)
    return cp_network(random_matrices(tree, (3, 2, 3, 2), 2, seed=seed, num=2), tree)


NETWORKS = {"htf": _htf, "cp": _cp, "ring": ring_network, "tucker": tucker_network}
SPLITS = [[1, 3], [0, 2], [0, 1], [3], [1, 2, 3], [0, 3], []]


@pytest.mark.parametrize("rows", SPLITS, ids=str)
@pytest.mark.parametrize("name", NETWORKS)
def test_gram_matches_dense_on_any_split(name, rows):
    net, ts = NETWORKS[name](seed=len(rows))
    gram = matricization_spectrum(net, ts, rows, method="gram")
    dense = matricization_spectrum(net, ts, rows, method="dense")
    auto = matricization_spectrum(net, ts, rows)
    assert gram.shape == dense.shape == auto.shape
    scale = dense[:, :1]
    torch.testing.assert_close(gram / scale, dense / scale, rtol=0, atol=1e-10)
    torch.testing.assert_close(auto / scale, dense / scale, rtol=0, atol=1e-10)


def test_network_spectra_agree_with_node_spectra():
    tree = trees.random_tree(6, seed=2)
    mats = random_matrices(tree, (2, 3, 2, 2, 3, 2), 3, seed=1, num=2)
    net, ts = htf_network(tree, mats)
    sets = trees.mode_sets(tree)
    for v, sigma in node_spectra(tree, mats).items():
        other = matricization_spectrum(net, ts, sets[v], method="gram")
        k = min(sigma.shape[1], other.shape[1])
        torch.testing.assert_close(other[:, :k] / sigma[:, :1], sigma[:, :k] / sigma[:, :1])


def test_dense_spectrum_matches_numpy():
    w = torch.randn(2, 2, 3, 4, dtype=torch.float64, generator=torch.Generator().manual_seed(0))
    got = dense_spectrum(w, [2, 0])
    np.testing.assert_allclose(got[1].numpy(), numpy_svd(w[1].numpy(), [2, 0]), rtol=1e-12)


# --------------------------------------------------------------------------- errors


def _small():
    tree = trees.balanced(4)
    return tree, random_matrices(tree, (2,) * 4, 2, seed=0)


def test_error_unknown_and_root_node():
    tree, mats = _small()
    with pytest.raises(AnalysisError, match="unknown node 'x'"):
        node_spectra(tree, mats, nodes=["x"])
    with pytest.raises(AnalysisError, match=r"node \(0, 1, 2, 3\) is the root"):
        node_spectra(tree, mats, nodes=[(0, 1, 2, 3)])


def test_error_mismatched_shapes():
    tree, mats = _small()
    mats[0] = torch.zeros(1, 2, 3, dtype=torch.float64)
    with pytest.raises(AnalysisError, match=r"node 0 has 3 columns \(axis 2.*parent \(0, 1\): 2"):
        node_spectra(tree, mats)
    tree, mats = _small()
    mats[1] = mats[1][0]
    with pytest.raises(AnalysisError, match="node 1 must be a 3-d"):
        node_spectra(tree, mats)
    tree, mats = _small()
    mats[2] = mats[2].expand(2, -1, -1)
    with pytest.raises(AnalysisError, match="node 2 has ensemble size 2"):
        node_spectra(tree, mats)


def test_error_missing_root_output_layer():
    tree, mats = _small()
    del mats[(0, 1, 2, 3)]
    with pytest.raises(AnalysisError, match=r"missing root output layer.*torch.ones"):
        node_spectra(tree, mats)
    tree, mats = _small()
    mats[(0, 1, 2, 3)] = torch.ones(1, 2, 2, dtype=torch.float64)
    with pytest.raises(AnalysisError, match=r"output layer must have shape \(E, R_root, 1\)"):
        node_spectra(tree, mats)
    with pytest.raises(AnalysisError, match=r"pass \(tree, matrices\) or a model"):
        node_spectra(tree)


def test_error_rows_not_subset():
    net, ts = ring_network(0)
    with pytest.raises(AnalysisError, match=r"rows must be a subset .* unknown \[7\]"):
        matricization_spectrum(net, ts, [0, 7])
    with pytest.raises(AnalysisError, match=r"repeated \[0\]"):
        dense_spectrum(torch.zeros(1, 2, 2), [0, 0])


def test_error_dense_too_large_and_bad_inputs():
    net, ts = ring_network(0)
    with pytest.raises(AnalysisError, match=r"72 entries .* above the limit max_entries=64"):
        matricization_spectrum(net, ts, [0], method="dense", max_entries=64)
    with pytest.raises(AnalysisError, match="unknown method='svd'; valid options"):
        matricization_spectrum(net, ts, [0], method="svd")
    ts[1] = ts[1][:, :, :1]
    with pytest.raises(AnalysisError, match=r"tensor 1 must have shape \(2, 3, 2, 2\)"):
        matricization_spectrum(net, ts, [0])
    with pytest.raises(AnalysisError, match="keyed by the network's tensor names"):
        matricization_spectrum(net, {0: ts[0]}, [0])


@pytest.mark.gpu
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
def test_cuda_matches_cpu():
    tree = trees.balanced(8)
    mats = random_matrices(tree, (2,) * 8, 4, seed=1)
    cpu = node_spectra(tree, mats)
    gpu = node_spectra(tree, {v: m.cuda() for v, m in mats.items()})
    for v in cpu:
        torch.testing.assert_close(gpu[v].cpu(), cpu[v], rtol=0, atol=1e-10 * cpu[v].max())


def test_networkx_tree_is_not_modified():
    tree, mats = _small()
    before = nx.to_dict_of_lists(tree)
    node_spectra(tree, mats)
    assert nx.to_dict_of_lists(tree) == before


def test_model_values_are_checked_layers_and_deep_products():
    """A model's own layers skip the structural checks (its constructor fixed them) but not the
    values: a NaN layer is named, and so is a deep node whose finite layers multiply to Inf."""
    from tnreg.analysis.resolve import AnalysisError
    from tnreg.models import HierarchicalTensorFactorization

    tree = trees.balanced(4)
    model = HierarchicalTensorFactorization(tree, 2, 3, depth={0: 2}, seed=0, dtype=torch.float64)
    with torch.no_grad():
        model.layers()[1][0].fill_(float("nan"))
    with pytest.raises(AnalysisError, match=r"layer 0 of node 1 has 6 non-finite entries"):
        node_spectra(model)
    with torch.no_grad():
        model.layers()[1][0].fill_(1.0)
        for a in model.layers()[0]:
            a.fill_(1e200)  # finite, but their product overflows
    with pytest.raises(AnalysisError, match=r"matrix of node 0 \(the product of its layers\)"):
        node_spectra(model)
