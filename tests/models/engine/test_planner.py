"""The cost-based index-batch planner: values as to_dense(), the expected schedules, reports."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # tests/models: balanced_schedule
from balanced_schedule import balanced_schedule

from tnreg import trees
from tnreg.models import CP, HierarchicalTensorFactorization
from tnreg.models.engine import planner as ev
from tnreg.models.engine import schedule_evaluation

F64 = torch.float64

CASES = {
    # stars (CP): dense halves, sparse batches, many children (greedy)
    "cp4": dict(tree=trees.star(4), dims=4, widths=5, output="ones"),
    "cp5_weighted": dict(tree=trees.star(5), dims=3, widths=4),
    "cp10_greedy": dict(tree=trees.star(10), dims=2, widths=3, output="ones"),
    # balanced, unbalanced with a 3-child node, caterpillar, size-1 modes
    "binary4": dict(tree=trees.balanced(4), dims=3, widths=4),
    "mixed": dict(tree=trees.from_nested(((3, 0, 2), (1, 4))), dims=[2, 3, 4, 2, 3], widths=[2, 5]),
    "caterpillar5": dict(tree=trees.caterpillar(5), dims=[2, 3, 2, 3, 2], widths=3),
    "size1": dict(tree=trees.balanced(4), dims=[1, 3, 1, 2], widths=2),
    "deep": dict(tree=trees.balanced(4), dims=2, widths=3, depth=2),
}


def build(name, **extra):
    kw = dict(CASES[name])
    return HierarchicalTensorFactorization(
        kw.pop("tree"),
        kw.pop("dims"),
        kw.pop("widths"),
        dtype=F64,
        seed=3,
        init_std=0.5,
        **kw,
        **extra,
    )


def sample(dims, batch, seed):
    gen = torch.Generator().manual_seed(seed)
    return torch.stack([torch.randint(0, d, (batch,), generator=gen) for d in dims], 1)


@pytest.mark.parametrize("name", CASES)
@pytest.mark.parametrize("batch", [1, 7, 300])
def test_entries_match_dense(name, batch):
    model = build(name, ensemble=2)
    idx = sample(model.dims, batch, seed=batch)
    dense = model.to_dense().detach()
    got = model(idx).detach()
    torch.testing.assert_close(got, dense[(slice(None), *idx.T)], rtol=1e-12, atol=1e-14)


@pytest.mark.parametrize("name", CASES)
@pytest.mark.parametrize("exact_limit", [0, 8])
def test_greedy_and_exact_search_agree_with_the_pairwise_planner(name, exact_limit):
    model = build(name)
    idx = sample(model.dims, 200, seed=1)
    new = schedule_evaluation(
        model.tree, model._pooling, idx, model.dims, model.widths, exact_limit=exact_limit
    )
    old = balanced_schedule(model.tree, model._pooling, idx, model.dims)
    torch.testing.assert_close(model(new), model(old), rtol=1e-12, atol=1e-14)


def test_gradients_match_the_pairwise_planner():
    model = build("mixed")
    idx = sample(model.dims, 100, seed=2)
    grads = []
    old = balanced_schedule(model.tree, model._pooling, idx, model.dims)
    for plan in (model.schedule_indices(idx), old):
        model.zero_grad()
        model(plan).square().sum().backward()
        grads.append([p.grad.clone() for p in model.params])
    for a, b in zip(*grads):
        torch.testing.assert_close(a, b, rtol=1e-11, atol=1e-14)


def test_dense_star_splits_into_khatri_rao_halves_and_one_gemm():
    model = CP(4, 10, rank=1000, seed=0)
    plan = model.schedule_indices(sample(model.dims, 2000, seed=0))
    assert plan.outer is not None
    kinds = [m.kind for m in plan.merges[model._root]]
    assert kinds == ["outer", "outer"]  # 100 x 100 rows, then one matrix product
    assert "GEMM 100 x 100 rows" in plan.cost_report()


def test_order5_star_finishes_with_a_three_two_split_as_a_sampled_product():
    model = CP(5, 10, rank=1000, seed=0)
    plan = model.schedule_indices(sample(model.dims, 10000, seed=0))
    merges = plan.merges[model._root]
    # (0,1,2) | (3,4) Khatri-Rao halves of 1000 and 100 rows, then only the 9,525 pairs that occur
    assert sorted(m.rows for m in merges[:-1]) == [100, 100, 1000]
    assert plan.outer is None and merges[-1].pattern is not None and merges[-1].rows == 9525
    assert "sampled matrix product at 9525 pairs" in plan.cost_report()


def test_sampled_finish_is_planned_on_the_cpu_only(monkeypatch):
    model = CP(5, 10, rank=1000, seed=0)
    idx = sample(model.dims, 10000, seed=0)
    calls = []
    real = ev._finish

    def spy(*args):
        calls.append(args[-1])
        return real(*args)

    monkeypatch.setattr(ev, "_finish", spy)
    schedule_evaluation(model.tree, model._pooling, idx, model.dims, model.widths)
    assert calls == [True, True]  # the dp and the balanced candidates, both told: CPU


@pytest.mark.parametrize("dtype", [torch.float32, torch.bfloat16])
def test_sampled_finish_matches_gathers_and_falls_back_for_other_dtypes(dtype):
    model = CP(5, 4, rank=6, seed=1, init_std=0.5, dtype=dtype, weighted=True)
    idx = sample(model.dims, 300, seed=4)
    plan = model.schedule_indices(idx)
    assert plan.merges[model._root][-1].pattern is not None
    old = balanced_schedule(model.tree, model._pooling, idx, model.dims)
    tol = dict(rtol=1e-5, atol=1e-6) if dtype == torch.float32 else dict(rtol=2e-2, atol=1e-2)
    torch.testing.assert_close(model(plan), model(old), **tol)


def test_sparse_star_uses_memoized_pairs_not_the_whole_tensor():
    model = CP(8, 10, rank=50, seed=0)
    plan = model.schedule_indices(sample(model.dims, 2000, seed=0))
    merges = plan.merges[model._root]
    assert max(m.rows for m in merges) <= 10_000 and "pairs" in {m.kind for m in merges}


def test_many_children_use_the_greedy_search():
    model = CP(12, 2, rank=3, seed=0, dtype=F64)
    idx = sample(model.dims, 64, seed=0)
    plan = model.schedule_indices(idx)
    assert "[greedy]" in plan.cost_report()
    dense = model.to_dense().detach()
    torch.testing.assert_close(model(plan).detach(), dense[tuple(idx.T)], rtol=1e-12, atol=0)


def test_cost_report_names_every_interior_node():
    model = build("mixed")
    plan = model.schedule_indices(sample(model.dims, 50, seed=0))
    report = plan.cost_report()
    assert report.startswith("IndexSchedule: batch 50, estimated cost")
    names = trees.node_names(model.tree)  # short names, as in rank reports: "0-4"
    for node, _ in model._pooling:
        assert f"  {names[node]} [" in report
    old = balanced_schedule(model.tree, model._pooling, plan.indices, model.dims)
    assert "balanced pairwise merges" in old.cost_report()


def test_outer_merges_respect_the_table_limit(monkeypatch):
    monkeypatch.setattr(ev, "MAX_TABLE", 1)
    model = build("cp4")
    idx = sample(model.dims, 100, seed=0)
    plan = model.schedule_indices(idx)
    assert all(m.kind == "pairs" for ms in plan.merges.values() for m in ms)
    assert plan.outer is None
    dense = model.to_dense().detach()
    torch.testing.assert_close(model(plan).detach(), dense[tuple(idx.T)], rtol=1e-12, atol=0)


def test_empty_batch():
    model = build("mixed")
    assert model(torch.zeros(0, 5, dtype=torch.long)).shape == (0,)


@pytest.mark.gpu
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
@pytest.mark.parametrize("name", ["cp4", "cp10_greedy", "mixed"])
def test_cuda_plans_match_cpu(name):
    model = build(name, ensemble=2)
    idx = sample(model.dims, 300, seed=5)
    ref = model(idx).detach()
    model = model.to("cuda")
    torch.testing.assert_close(model(idx.cuda()).detach().cpu(), ref, rtol=1e-12, atol=1e-14)


def _sparse_cp(**kw):
    """Order 8, d=10, few samples: the root's last merge is memoized pairs (fused PairMerge)."""
    model = CP(8, 10, 6, seed=0, dtype=torch.float64, init_std=0.8, **kw)
    gen = torch.Generator().manual_seed(1)
    idx = torch.randint(0, 10, (300, 8), generator=gen)
    plan = model.schedule_indices(idx)
    assert plan.outer is None and plan.merges[model._root][-1].kind == "pairs"
    return model, idx, plan


def _per_sample(model, idx):
    """Independent reference: gather each factor's row per sample, multiply, sum."""
    mats = model.matrices()
    out = 1.0
    for n in range(8):
        out = out * mats[n][:, idx[:, n], :]  # (E, B, R)
    weights = mats[model._root][..., 0]  # (E, R)
    return (out * weights[:, None, :]).sum(-1)


@pytest.mark.parametrize(
    "kw", [{}, {"weighted": True, "ensemble": 2}], ids=["cp", "weighted-ensemble"]
)
def test_fused_root_pairs_match_per_sample_products(kw):
    model, idx, plan = _sparse_cp(**kw)
    expected = _per_sample(model, idx)
    got = model(plan)
    torch.testing.assert_close(got.reshape(expected.shape), expected, rtol=1e-12, atol=1e-15)


def test_fused_root_pairs_in_many_chunks_give_the_same_gradients(monkeypatch):
    from tnreg.models.engine import kernels

    monkeypatch.setattr(kernels, "CHUNK_ELEMENTS", 7)  # one row per chunk
    model, idx, plan = _sparse_cp(weighted=True)
    loss = model(plan).square().sum()
    grads = torch.autograd.grad(loss, list(model.parameters()))
    ref_loss = _per_sample(model, idx).square().sum()
    ref = torch.autograd.grad(ref_loss, list(model.parameters()))
    for g, r in zip(grads, ref):
        torch.testing.assert_close(g, r, rtol=1e-11, atol=1e-14)


@pytest.mark.gpu
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
def test_cuda_fused_root_pairs_match_cpu():
    model, idx, plan = _sparse_cp(weighted=True, ensemble=2)
    ref = model(plan).detach()
    grads = torch.autograd.grad(model(plan).square().sum(), list(model.parameters()))
    model = model.to("cuda")
    out = model(idx.cuda())
    torch.testing.assert_close(out.detach().cpu(), ref)
    got = torch.autograd.grad(out.square().sum(), list(model.parameters()))
    for g, r in zip(got, grads):
        torch.testing.assert_close(g.cpu(), r)


@pytest.mark.parametrize("seed", range(12))
def test_random_trees_match_dense_values_and_gradients(seed):
    """Seeded random cases (tree shape, arity, dims incl. 1, widths, depth, ensemble, batch with
    repeats): entries and parameter gradients equal those of indexing ``to_dense()``."""
    gen = torch.Generator().manual_seed(seed)

    def pick(*options):
        return options[int(torch.randint(len(options), (1,), generator=gen))]

    order = pick(2, 3, 5, 7, 9)
    tree = trees.random_tree(order, seed=seed, max_arity=pick(2, 3, 5))
    dims = [int(d) for d in torch.randint(1, 5, (order,), generator=gen)]
    model = HierarchicalTensorFactorization(
        tree,
        dims,
        pick(1, 3, 16),
        depth=pick(1, 2),
        ensemble=pick(None, 3),
        output=pick("trainable", "ones"),
        dtype=F64,
        seed=seed,
        init_std=0.7,
    )
    idx = sample(dims, pick(1, 40, 500), seed)
    e = model.ensemble or 1
    weights = torch.randn(e, idx.shape[0], generator=gen, dtype=F64)
    params = list(model.parameters())
    got = model(idx).reshape(e, -1)
    want = model.to_dense().reshape(e, *dims)[(slice(None), *idx.T)]
    torch.testing.assert_close(got, want, rtol=1e-11, atol=1e-13)
    g_got = torch.autograd.grad((got * weights).sum(), params)
    g_want = torch.autograd.grad((want * weights).sum(), params)
    for a, b in zip(g_got, g_want, strict=True):
        torch.testing.assert_close(a, b, rtol=1e-10, atol=1e-12)
