"""Tests of tnreg.data.targets against dense numpy references in float64."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from tnreg.data import (
    CPTarget,
    DataError,
    DenseTarget,
    make_target,
    random_cp_target,
    random_full_rank_target,
)

F64 = torch.float64

CP_CASES = [
    # (order, dims, rank)
    (2, (5, 7), 3),  # a matrix
    (3, (4, 4, 4), 2),
    (4, (3, 5, 2, 4), 5),  # mixed sizes
    (5, (2, 2, 2, 2, 2), 1),  # rank one
]


def _cp_dense(factors: list[np.ndarray]) -> np.ndarray:
    letters = "abcdefgh"[: len(factors)]
    eq = ",".join(f"{c}r" for c in letters) + "->" + letters
    return np.einsum(eq, *factors)


def _all_indices(dims) -> torch.Tensor:
    return torch.tensor(list(np.ndindex(*dims)), dtype=torch.long)


@pytest.mark.parametrize(("order", "dims", "rank"), CP_CASES)
def test_cp_entries_norm_and_dense_match_numpy(order, dims, rank):
    t = random_cp_target(order, dims, rank, norm=1.7, seed=order)
    ref = _cp_dense([f.numpy() for f in t.factors])
    idx = _all_indices(dims)
    np.testing.assert_allclose(t(idx).numpy(), ref[tuple(idx.T.numpy())], rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(t.to_dense().numpy(), ref, rtol=1e-12, atol=1e-15)
    assert t.norm == pytest.approx(np.linalg.norm(ref), rel=1e-12)
    assert t.norm == pytest.approx(1.7, rel=1e-12)
    assert t.rank == rank and t.order == order and t.dims == dims


@pytest.mark.parametrize(("order", "dims", "rank"), CP_CASES)
def test_cp_sensing_matches_dense_inner_product(order, dims, rank):
    t = random_cp_target(order, dims, rank, seed=1)
    gen = torch.Generator().manual_seed(0)
    xs = [torch.randn(6, d, generator=gen, dtype=F64) for d in dims]
    dense = t.to_dense().numpy()
    letters = "abcdefgh"[:order]
    eq = letters + "," + ",".join(f"z{c}" for c in letters) + "->z"
    expected = np.einsum(eq, dense, *[x.numpy() for x in xs])
    np.testing.assert_allclose(t.sensing(xs).numpy(), expected, rtol=1e-10, atol=1e-14)
    if len(set(dims)) == 1:
        stacked = torch.stack(xs, 1)
        np.testing.assert_allclose(t.sensing(stacked).numpy(), expected, rtol=1e-10, atol=1e-14)


def test_cp_component_norms_are_products_of_factor_norms():
    t = random_cp_target(4, (3, 5, 2, 4), 5, seed=3)
    ref = np.prod([np.linalg.norm(f.numpy(), axis=0) for f in t.factors], axis=0)
    np.testing.assert_allclose(t.component_norms().numpy(), ref, rtol=1e-12)
    np.testing.assert_allclose(t.component_norms(sort=True).numpy(), np.sort(ref)[::-1], rtol=1e-12)


def test_cp_order_40_norm_matches_direct_gram_sum():
    t = random_cp_target(40, 2, 3, seed=0)
    grams = [f.numpy().T @ f.numpy() for f in t.factors]
    direct = math.sqrt(float(np.prod(grams, axis=0).sum()))
    assert t.norm == pytest.approx(direct, rel=1e-10)
    assert t.norm == pytest.approx(1.0, rel=1e-12)


def test_cp_order_300_stays_finite_without_densifying():
    t = random_cp_target(300, 3, 4, seed=0)
    assert t.norm == pytest.approx(1.0, rel=1e-10)
    values = t(torch.zeros(5, 300, dtype=torch.long))
    assert torch.isfinite(values).all()
    assert torch.isfinite(t.component_norms()).all()


def test_cp_same_seed_same_factors_other_seed_differs():
    a = random_cp_target(3, 4, 2, seed=5)
    b = random_cp_target(3, 4, 2, seed=5)
    c = random_cp_target(3, 4, 2, seed=6)
    assert all(torch.equal(x, y) for x, y in zip(a.factors, b.factors))
    assert not torch.equal(a.factors[0], c.factors[0])


def test_cp_target_by_hand_and_its_errors():
    t = CPTarget([torch.ones(2, 1), torch.ones(3, 1)])
    assert t.dims == (2, 3) and t.norm == pytest.approx(math.sqrt(6))
    with pytest.raises(DataError, match=r"needs >= 2 factor matrices"):
        CPTarget([torch.ones(2, 1)])
    with pytest.raises(DataError, match=r"disagree on the rank R: \[1, 2\]"):
        CPTarget([torch.ones(2, 1), torch.ones(2, 2)])


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"order": 1}, r"order must be an int >= 2; got 1"),
        ({"rank": 0}, r"rank must be an int >= 1; got 0"),
        ({"norm": -1.0}, r"norm must be a finite number > 0; got -1.0"),
        ({"norm": float("nan")}, r"norm must be a finite number > 0"),
        ({"seed": None}, r"seed must be a non-negative int \(data are always seeded\)"),
        ({"dims": (3, 3)}, r"bad dims for an order-3 target: .*expected 3"),
        ({"dims": (3, 0, 3)}, r"dims\[1\] must be a positive int"),
    ],
)
def test_random_cp_target_errors(kwargs, match):
    args = {"order": 3, "dims": 3, "rank": 2, "seed": 0, **kwargs}
    with pytest.raises(DataError, match=match):
        random_cp_target(args.pop("order"), args.pop("dims"), args.pop("rank"), **args)


def test_entries_and_dense_errors():
    t = random_cp_target(3, 4, 2, seed=0)
    with pytest.raises(IndexError, match=r"index 4 out of range for mode 1 of size 4"):
        t(torch.tensor([[0, 4, 0]]))
    with pytest.raises(ValueError, match=r"indices must have shape \(batch, 3\)"):
        t(torch.zeros(2, 2, dtype=torch.long))
    with pytest.raises(TypeError, match=r"integer dtype"):
        t(torch.zeros(2, 3))
    with pytest.raises(ValueError, match=r"above the limit max_entries=10"):
        t.to_dense(max_entries=10)


def test_sensing_errors():
    t = random_cp_target(3, (2, 3, 4), 2, seed=0)
    with pytest.raises(DataError, match=r"expected 3 sensing vectors"):
        t.sensing([torch.zeros(2, 2)])
    with pytest.raises(DataError, match=r"sensing vectors of mode 1 must have shape \(batch, 3\)"):
        t.sensing([torch.zeros(2, 2), torch.zeros(2, 2), torch.zeros(2, 4)])
    with pytest.raises(DataError, match=r"disagree on batch size: \[2, 3, 2\]"):
        t.sensing([torch.zeros(2, 2), torch.zeros(3, 3), torch.zeros(2, 4)])
    with pytest.raises(DataError, match=r"as one tensor must have shape \(batch, 3, d\)"):
        t.sensing(torch.zeros(2, 4, 2))


# ------------------------------------------------------------------------------ dense targets


def test_full_rank_target():
    t = random_full_rank_target((3, 4, 5), norm=2.0, seed=0)
    dense = t.to_dense().numpy()
    assert np.linalg.norm(dense) == pytest.approx(2.0, rel=1e-12)
    assert np.linalg.matrix_rank(dense.reshape(3, 20)) == 3
    assert np.linalg.matrix_rank(dense.reshape(12, 5)) == 5
    idx = torch.tensor([[2, 3, 4], [0, 1, 2]])
    np.testing.assert_array_equal(t(idx).numpy(), dense[tuple(idx.T.numpy())])
    xs = [torch.ones(1, d, dtype=F64) for d in (3, 4, 5)]
    assert float(t.sensing(xs)[0]) == pytest.approx(dense.sum(), rel=1e-12)


def test_dense_target_errors():
    with pytest.raises(DataError, match=r"dims of a full-rank target must be a sequence"):
        random_full_rank_target(4, seed=0)
    with pytest.raises(DataError, match=r"needs order >= 2; got dims \(4,\)"):
        random_full_rank_target((4,), seed=0)
    with pytest.raises(ValueError, match=r"to_dense\(\) would build 1,000,000 entries"):
        random_full_rank_target((100, 100, 100), seed=0, max_entries=1000)
    with pytest.raises(DataError, match=r"a dense target needs order >= 2"):
        DenseTarget(torch.zeros(3))


# ------------------------------------------------------------------------------------ configs


@pytest.mark.parametrize(
    "config",
    [
        {"kind": "cp", "order": 3, "dims": [2, 3, 4], "rank": 2, "seed": 1},
        {"kind": "tree", "tree": [[0, 1], [2, 3]], "dims": 3, "widths": [2, 3], "seed": 1},
        {
            "kind": "tree",
            "tree": "balanced",
            "order": 4,
            "dims": 2,
            "widths": {"0-1": 2, "2-3": 2, "0-3": 3},
            "seed": 4,
        },
        {"kind": "deep", "tree": [0, 1], "dims": [4, 5], "widths": 2, "depth": 3, "seed": 0},
        {"kind": "full_rank", "dims": [3, 4], "norm": 3.0, "seed": 2},
    ],
)
def test_make_target_rebuilds_bit_for_bit(config):
    t = make_target(config)
    again = make_target(t.config)
    assert torch.equal(t.to_dense(), again.to_dense())
    assert again.config == t.config
    assert t.config["kind"] == config["kind"]


def test_make_target_fills_the_seed():
    t = make_target({"kind": "cp", "order": 2, "dims": 3, "rank": 1}, seed=7)
    assert t.config["seed"] == 7


@pytest.mark.parametrize(
    ("config", "match"),
    [
        ({"order": 3}, r"a target config needs the key 'kind'"),
        ({"kind": "tucker"}, r"unknown target kind='tucker'; valid options: \['cp', 'deep'"),
        ({"kind": "cp", "order": 2, "dims": 2, "rank": 1, "sed": 1}, r"unknown key\(s\) \['sed'\]"),
        ({"kind": "cp", "order": 2, "dims": 2, "seed": 0}, r"missing key\(s\) \['rank'\]"),
        ({"kind": "cp", "order": 2, "dims": 2, "rank": 1}, r"missing key 'seed'"),
    ],
)
def test_make_target_errors(config, match):
    with pytest.raises(DataError, match=match):
        make_target(config)
