"""HTF, CP and deep variants against an independent float64 construction."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from balanced_schedule import balanced_schedule

from tnreg import trees
from tnreg.models import CP, HierarchicalTensorFactorization, deep_matrix_factorization
from tnreg.models.htf import resolve_widths

F64 = torch.float64

CASES = {
    # balanced
    "binary4": dict(tree=trees.balanced(4), dims=3, widths=4),
    "ternary9": dict(tree=trees.balanced(9, arity=3), dims=2, widths=3),
    # caterpillar / TT-like
    "caterpillar5": dict(tree=trees.caterpillar(5), dims=[2, 3, 2, 3, 2], widths=3),
    # unbalanced, 3+ children, shuffled leaf order, per-level widths
    "mixed": dict(tree=trees.from_nested(((3, 0, 2), (1, 4))), dims=[2, 3, 4, 2, 3], widths=[2, 5]),
    # order 2 and size-1 modes
    "order2": dict(tree=trees.balanced(2), dims=[4, 5], widths=3),
    "size1": dict(tree=trees.balanced(4), dims=[1, 3, 1, 2], widths=2),
    # widths larger than dims, deep nodes
    "wide_deep": dict(tree=trees.balanced(4), dims=2, widths=7, depth=2),
    "cp_ones": dict(tree=trees.star(4), dims=3, widths=5, output="ones"),
    "cp_deep": dict(tree=trees.star(3), dims=3, widths=4, output="ones", depth=3),
}


def build(name, **extra):
    kw = dict(CASES[name])
    return HierarchicalTensorFactorization(
        kw.pop("tree"),
        kw.pop("dims"),
        kw.pop("widths"),
        dtype=F64,
        seed=7,
        init_std=0.5,
        **kw,
        **extra,
    )


def naive_dense(model, member=0):
    """The end-tensor recursion (:mod:`tnreg.models.htf`) in numpy, without the model's code."""
    tree = model.tree
    mats = {v: m[member].detach().numpy() for v, m in model.matrices().items()}

    def value(v):  # returns (array over modes under v in sorted order, channels last)
        kids = list(tree.successors(v))
        if not kids:
            return mats[v], [tree.nodes[v]["mode"]]
        parts = [value(k) for k in kids]
        width = mats[v].shape[0]
        out = np.ones((width,))
        modes = []
        for arr, ms in parts:
            out = np.einsum("...r,Xr->...Xr", out, arr.reshape(-1, width)) if modes else arr
            out = out.reshape(*[model.dims[m] for m in modes + ms], width)
            modes = modes + ms
        out = np.tensordot(out, mats[v], axes=([-1], [0]))
        return out, modes

    arr, modes = value(trees.root(tree))
    arr = arr[..., 0]
    return np.transpose(arr, np.argsort(modes))


def all_indices(dims):
    return torch.cartesian_prod(*[torch.arange(d) for d in dims]).reshape(-1, len(dims))


@pytest.mark.parametrize("name", CASES)
def test_to_dense_matches_naive_recursion(name):
    model = build(name)
    np.testing.assert_allclose(
        model.to_dense().detach().numpy(), naive_dense(model), rtol=1e-12, atol=1e-14
    )


@pytest.mark.parametrize("name", CASES)
def test_forward_at_every_index_equals_dense(name):
    model = build(name)
    idx = all_indices(model.dims)
    dense = model.to_dense().detach()
    got = model(idx).detach()
    torch.testing.assert_close(got, dense[tuple(idx.T)], rtol=1e-12, atol=1e-14)


@pytest.mark.parametrize("name", CASES)
def test_forward_sensing_equals_contraction_with_dense(name):
    model = build(name)
    gen = torch.Generator().manual_seed(0)
    xs = [torch.randn(6, d, generator=gen, dtype=F64) for d in model.dims]
    dense = model.to_dense().detach()
    letters = "abcdefghijklm"[: model.order]
    ref = torch.einsum(f"{letters}," + ",".join(f"z{c}" for c in letters) + "->z", dense, *xs)
    torch.testing.assert_close(model.forward_sensing(xs).detach(), ref, rtol=1e-11, atol=1e-13)


def test_cp_is_sum_of_outer_products():
    model = CP(3, [2, 3, 4], rank=5, seed=1, dtype=F64, init_std=1.0)
    a, b, c = (m[0].detach().numpy() for m in list(model.matrices().values())[:3])
    ref = np.einsum("ir,jr,kr->ijk", a, b, c)
    np.testing.assert_allclose(model.to_dense().detach().numpy(), ref, rtol=1e-12)


def test_weighted_cp_has_trainable_weights():
    model = CP(3, 2, rank=4, weighted=True, seed=0, dtype=F64, init_std=1.0)
    mats = model.matrices()
    w = mats[(0, 1, 2)][0, :, 0].detach().numpy()
    a, b, c = (mats[n][0].detach().numpy() for n in range(3))
    ref = np.einsum("r,ir,jr,kr->ijk", w, a, b, c)
    np.testing.assert_allclose(model.to_dense().detach().numpy(), ref, rtol=1e-12)
    assert "trainable weights" in repr(model) and "factors per component=4" in repr(model)
    assert "output fixed to ones" in repr(CP(3, 2, rank=4))


def test_deep_matrix_factorization_is_a_product():
    model = deep_matrix_factorization(4, 5, width=3, depth=3, seed=0, dtype=F64, init_std=1.0)
    (a1, a2), (b,) = model.layers()[0], model.layers()[1]
    ref = (a1[0] @ a2[0] @ b[0].T).detach().numpy()
    np.testing.assert_allclose(model.to_dense().detach().numpy(), ref, rtol=1e-12)
    assert model.num_matrices == 3


@pytest.mark.parametrize("name", ["binary4", "mixed", "cp_ones", "wide_deep"])
def test_homogeneity(name):
    model = build(name)
    before = model.to_dense().detach()
    with torch.no_grad():
        for p in model.params:
            p.mul_(1.3)
    after = model.to_dense().detach()
    torch.testing.assert_close(after, before * 1.3**model.num_matrices, rtol=1e-12, atol=1e-14)


@pytest.mark.parametrize("name", ["binary4", "mixed", "cp_ones", "cp_deep"])
def test_gradcheck(name):
    model = build(name)
    idx = all_indices(model.dims)[::3]
    params = tuple(p.detach().clone().requires_grad_() for p in model.params)

    def g(*ps):  # forward through the functional form: swap the parameters in
        return torch.func.functional_call(
            model, {f"params.{i}": p for i, p in enumerate(ps)}, (idx,)
        )

    assert torch.autograd.gradcheck(g, params, eps=1e-6, atol=1e-8)


@pytest.mark.parametrize("name", ["binary4", "mixed", "cp_ones", "wide_deep"])
def test_ensemble_member_equals_single_model(name):
    kw = dict(CASES[name])
    tree, dims, widths = kw.pop("tree"), kw.pop("dims"), kw.pop("widths")
    ens = HierarchicalTensorFactorization(
        tree, dims, widths, ensemble=3, seed=[5, 9, 11], init_std=[0.1, 0.5, 1.0], dtype=F64, **kw
    )
    idx = all_indices(ens.dims)
    out = ens(idx)
    assert out.shape == (3, idx.shape[0])
    for k, (seed, std) in enumerate([(5, 0.1), (9, 0.5), (11, 1.0)]):
        single = HierarchicalTensorFactorization(
            tree, dims, widths, seed=seed, init_std=std, dtype=F64, **kw
        )
        torch.testing.assert_close(out[k], single(idx), rtol=1e-13, atol=1e-15)


def test_ensemble_gradients_are_independent():
    model = HierarchicalTensorFactorization(
        trees.balanced(4), 3, 4, ensemble=3, seed=0, dtype=F64, init_std=0.5
    )
    idx = all_indices(model.dims)[:40]
    out = model(idx)
    out[1].square().sum().backward()  # loss of member 1 only
    for p in model.params:
        assert p.grad[1].abs().sum() > 0
        assert p.grad[0].abs().sum() == 0 and p.grad[2].abs().sum() == 0


def test_seeded_and_reproducible():
    a = HierarchicalTensorFactorization(trees.balanced(4), 3, 4, seed=3)
    b = HierarchicalTensorFactorization(trees.balanced(4), 3, 4, seed=3)
    c = HierarchicalTensorFactorization(trees.balanced(4), 3, 4, seed=4)
    assert all(torch.equal(p, q) for p, q in zip(a.params, b.params))
    assert not torch.equal(a.params[0], c.params[0])


def test_float32_smoke():
    model = HierarchicalTensorFactorization(trees.balanced(4), 3, 4, seed=0, init_std=0.5)
    idx = all_indices(model.dims)
    dense = model.to_dense().detach()
    assert dense.dtype == torch.float32
    torch.testing.assert_close(model(idx).detach(), dense[tuple(idx.T)], rtol=5e-5, atol=1e-7)


@pytest.mark.parametrize("name", ["binary4", "mixed", "cp_ones", "wide_deep"])
def test_rescale_to_target_norm(name):
    model = build(name)
    model.rescale_(2.5)
    assert model.to_dense().norm().item() == pytest.approx(2.5, rel=1e-10)


@pytest.mark.parametrize("name", ["binary4", "mixed", "cp_ones", "wide_deep", "cp_deep"])
def test_balance_keeps_end_tensor_and_equalizes_norms(name):
    model = build(name)
    before = model.to_dense().detach()
    model.balance_()
    torch.testing.assert_close(model.to_dense().detach(), before, rtol=1e-9, atol=1e-12)
    layers = model.layers()
    for v, kids in model._pooling:
        vecs = [layers[k][-1].norm(dim=-2) for k in kids]
        if v in layers:
            vecs.append(layers[v][0].norm(dim=-1))
        norms = torch.stack(vecs)
        torch.testing.assert_close(norms, norms[:1].expand_as(norms), rtol=1e-6, atol=0)


def test_balanced_init_and_target_norm_keywords():
    model = HierarchicalTensorFactorization(
        trees.balanced(4),
        3,
        4,
        seed=0,
        dtype=F64,
        balanced=True,
        target_norm=[1.0, 2.0],
        ensemble=2,
    )
    torch.testing.assert_close(
        model.to_dense().flatten(1).norm(dim=1), torch.tensor([1.0, 2.0], dtype=F64)
    )


def test_index_schedule_is_cached_and_memoizes():
    model = build("binary4")
    idx = torch.randint(0, 3, (500, 4), generator=torch.Generator().manual_seed(0))
    plan = model.schedule_indices(idx)
    assert model.schedule_indices(idx.clone()) is plan
    assert plan.distinct[(0, 1)] <= 9 and plan.outer == (0, 1)  # 81 pairs: one GEMM at the root
    other = idx.clone()
    other[0, 0] = (other[0, 0] + 1) % 3
    assert model.schedule_indices(other) is not plan
    torch.testing.assert_close(model(plan), model(idx))


def test_widths_by_dict_and_level():
    tree = trees.from_nested(((0, 1), (2, (3, 4))))
    by_level = resolve_widths(tree, [2, 3, 4])
    assert by_level[(0, 1, 2, 3, 4)] == 2 and by_level[(0, 1)] == 3 and by_level[(3, 4)] == 4
    by_node = {(0, 1, 2, 3, 4): 2, (0, 1): 3, (2, 3, 4): 5, (3, 4): 6}
    assert resolve_widths(tree, by_node) == by_node


def test_empty_batch():
    model = build("binary4")
    assert model(torch.zeros(0, 4, dtype=torch.long)).shape == (0,)


@pytest.mark.parametrize(
    ("call", "error", "match"),
    [
        (
            lambda m: m(torch.tensor([[0, 1, 2, 3]])),
            IndexError,
            "index 3 out of range for mode 3 of size 3",
        ),
        (
            lambda m: m(torch.tensor([[0, -1, 2, 0]])),
            IndexError,
            "index -1 out of range for mode 1",
        ),
        (
            lambda m: m(torch.tensor([[0, 1, 2]])),
            ValueError,
            r"shape \(batch, 4\) .* got shape \(1, 3\)",
        ),
        (
            lambda m: m(torch.tensor([[0.0, 1, 2, 0]])),
            TypeError,
            "integer dtype; got torch.float32",
        ),
        (lambda m: m([[0, 1, 2, 0]]), TypeError, "must be a torch integer tensor"),
        (
            lambda m: m.forward_sensing([torch.zeros(2, 3, dtype=F64)] * 3),
            ValueError,
            "expected 4 sensing",
        ),
        (
            lambda m: m.forward_sensing([torch.zeros(2, 3)] * 4),
            TypeError,
            "mode 0 are torch.float32",
        ),
        (
            lambda m: m.forward_sensing([torch.zeros(2, 2, dtype=F64)] * 4),
            ValueError,
            r"shape \(batch, 3\)",
        ),
        (
            lambda m: m.forward_sensing(torch.zeros(2, 3, 3, dtype=F64)),
            ValueError,
            r"\(batch, 4, d\)",
        ),
        (lambda m: m.to_dense(max_entries=10), ValueError, "above the limit max_entries=10"),
    ],
)
def test_bad_input(call, error, match):
    with pytest.raises(error, match=match):
        call(build("binary4"))


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        (dict(widths=[2, 3, 4]), ValueError, "needs 2 entries"),
        (dict(widths={(0, 1): 2}), ValueError, "missing"),
        (dict(widths=0), ValueError, "must be a positive int; got 0"),
        (dict(widths="4"), TypeError, "widths must be an int"),
        (dict(depth=0), ValueError, r"depth must be an int >= 1"),
        (dict(depth={"nope": 2}), ValueError, "not in the tree"),
        (dict(dims=[3, 3]), ValueError, "expected 4 for an order-4 tree, got 2"),
        (dict(dims=[3, 3, 0, 3]), ValueError, r"dims\[2\] must be a positive int"),
        (
            dict(output="sum"),
            ValueError,
            r"unknown output='sum'; valid options: \['trainable', 'ones'\]",
        ),
        (dict(ensemble=0), ValueError, "ensemble must be None \\(one model\\) or a positive int"),
        (dict(ensemble=2, seed=[1]), ValueError, "2 ints"),
        (
            dict(ensemble=2, init_std=[1, 2, 3]),
            ValueError,
            "init_std must be a number or 2 numbers",
        ),
        (dict(tree=trees.from_nested(0)), ValueError, "order >= 2"),
    ],
)
def test_bad_construction(kwargs, error, match):
    kw = dict(tree=trees.balanced(4), dims=3, widths=2) | kwargs
    with pytest.raises(error, match=match):
        HierarchicalTensorFactorization(kw.pop("tree"), kw.pop("dims"), kw.pop("widths"), **kw)


def test_deep_mf_depth_error():
    with pytest.raises(ValueError, match="depth >= 2"):
        deep_matrix_factorization(3, 3, 2, 1)


def test_indices_on_wrong_device_message():
    model = build("binary4")
    model._ones = model._ones.to("meta")
    with pytest.raises(ValueError, match="indices are on cpu but the model is on meta"):
        model(torch.tensor([[0, 1, 2, 0]]))


@pytest.mark.gpu
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
def test_cuda_matches_cpu():
    model = build("mixed")
    idx = all_indices(model.dims)
    ref = model(idx).detach()
    model = model.to("cuda")
    torch.testing.assert_close(model(idx.cuda()).cpu().detach(), ref)


@pytest.mark.parametrize("name", CASES)
@pytest.mark.parametrize("ratio", [0.0, 1e9])
def test_gather_and_outer_product_finishes_agree(name, ratio):
    model = build(name)
    idx = all_indices(model.dims)[::2]
    plan = balanced_schedule(model.tree, model._pooling, idx, model.dims, outer_ratio=ratio)
    assert (plan.outer is None) == (ratio == 0.0)
    dense = model.to_dense().detach()
    torch.testing.assert_close(model(plan).detach(), dense[tuple(idx.T)], rtol=1e-12, atol=1e-14)


def test_star_pooling_is_pairwise_memoized():
    model = CP(4, 10, rank=3, seed=0)
    idx = torch.randint(0, 10, (2048, 4), generator=torch.Generator().manual_seed(0))
    plan = balanced_schedule(model.tree, model._pooling, idx, model.dims, outer_ratio=0.0)
    merges = plan.merges[(0, 1, 2, 3)]
    assert [(m.a, m.b) for m in merges] == [(0, 1), (2, 3), (4, 5)]
    assert merges[0].rows_a.shape[0] <= 100 and merges[1].rows_a.shape[0] <= 100


def test_rescale_zero_tensor_is_refused():
    model = build("binary4")
    with torch.no_grad():
        for p in model.params:
            p.zero_()
    with pytest.raises(ValueError, match="cannot rescale a zero end tensor"):
        model.rescale_(1.0)


def test_rescale_at_high_order_stays_finite():
    model = HierarchicalTensorFactorization(
        trees.balanced(256), 2, 4, seed=0, dtype=F64, init_std=0.1
    )
    model.rescale_(1.0)
    from tnreg.analysis.gramians import log_frobenius_norm

    assert abs(float(log_frobenius_norm(model.tree, model.matrices()).detach())) < 1e-8


def test_init_mean_shifts_every_entry_and_keeps_the_draw():
    """init_mean adds the same constant to the same Gaussian draw, per member."""
    kw = {"seed": 3, "init_std": 1e-3, "dtype": torch.float64, "ensemble": 2}
    plain = CP(64, 2, 4, **kw)
    shifted = CP(64, 2, 4, init_mean=[1.0, -0.5], **kw)
    for p, q in zip(plain.params, shifted.params):
        assert torch.allclose(q[0] - p[0], torch.full_like(p[0], 1.0), atol=1e-15)
        assert torch.allclose(q[1] - p[1], torch.full_like(p[1], -0.5), atol=1e-15)
    # an order-64 CP near ones: every component's product is about 1, the output about R
    out = shifted.forward(torch.zeros(3, 64, dtype=torch.long))[0]
    assert torch.allclose(out, torch.full_like(out, 4.0), rtol=0.05)
