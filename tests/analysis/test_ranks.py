"""Tests of tnreg.analysis.ranks against numpy SVD references."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from tnreg.analysis.ranks import (
    effective_rank,
    frobenius_norm,
    hierarchical_rank,
    hierarchical_rank_tuple,
    max_hierarchical_rank,
    nuclear_norm,
    numerical_rank,
    top_k,
)
from tnreg.trees import balanced, node_mode_sets, postorder


def _low_rank(rows: int, cols: int, rank: int, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return rng.standard_normal((rows, rank)) @ rng.standard_normal((rank, cols))


def _np_erank(s: np.ndarray) -> float:
    s = s[s > 0]
    if s.size == 0:
        return 0.0
    p = s / s.sum()
    return float(np.exp(-(p * np.log(p)).sum()))


# ---------------------------------------------------------------- effective rank


@pytest.mark.parametrize(("rank", "seed"), [(1, 0), (2, 1), (3, 2), (5, 3)])
def test_effective_rank_matches_numpy_svd(rank: int, seed: int) -> None:
    s = np.linalg.svd(_low_rank(6, 7, rank, seed), compute_uv=False)
    got = effective_rank(torch.tensor(s, dtype=torch.float64), atol=1e-10)
    assert got.item() == pytest.approx(_np_erank(s[s > 1e-10]), rel=1e-12)
    assert 1.0 <= got.item() <= rank + 1e-12


@pytest.mark.parametrize("k", [1, 2, 4, 7])
def test_effective_rank_of_equal_values_is_count(k: int) -> None:
    s = torch.cat([torch.full((k,), 0.3, dtype=torch.float64), torch.zeros(3, dtype=torch.float64)])
    assert effective_rank(s).item() == pytest.approx(k, rel=1e-12)


@pytest.mark.parametrize("shape", [(4,), (2, 3, 5), (1, 0)])
def test_effective_rank_of_zero_spectrum_is_zero(shape: tuple[int, ...]) -> None:
    s = torch.zeros(shape, dtype=torch.float64, requires_grad=True)
    got = effective_rank(s)
    assert got.shape == shape[:-1]
    assert torch.equal(got, torch.zeros(shape[:-1], dtype=torch.float64))
    got.sum().backward()
    assert torch.isfinite(s.grad).all()


def test_effective_rank_is_batched_and_differentiable() -> None:
    s = torch.tensor([[2.0, 1.0, 0.0], [1.0, 1.0, 1.0]], dtype=torch.float64, requires_grad=True)
    got = effective_rank(s)
    ref = [_np_erank(np.array([2.0, 1.0, 0.0])), 3.0]
    np.testing.assert_allclose(got.detach().numpy(), ref, rtol=1e-12)
    got.sum().backward()
    assert torch.isfinite(s.grad).all()


def test_effective_rank_atol_drops_small_values() -> None:
    s = torch.tensor([1.0, 1.0, 1e-3], dtype=torch.float64)
    assert effective_rank(s, atol=1e-2).item() == pytest.approx(2.0, rel=1e-12)


def test_effective_rank_is_order_free() -> None:
    s = torch.tensor([0.1, 3.0, 1.0], dtype=torch.float64)
    assert effective_rank(s).item() == pytest.approx(effective_rank(s.flip(0)).item(), rel=1e-14)


# ---------------------------------------------------------------- numerical rank


@pytest.mark.parametrize(("rank", "seed"), [(0, 0), (1, 1), (2, 2), (4, 3), (6, 4)])
def test_numerical_rank_matches_numpy_matrix_rank(rank: int, seed: int) -> None:
    a = _low_rank(6, 8, rank, seed)
    s = torch.tensor(np.linalg.svd(a, compute_uv=False), dtype=torch.float64)
    got = numerical_rank(s, rtol=1e-10)
    assert got.dtype == torch.int64
    assert got.item() == rank == np.linalg.matrix_rank(a, tol=1e-10 * max(s.max().item(), 0))


@pytest.mark.parametrize(
    ("rtol", "atol", "expected"),
    [(1e-6, 0.0, 3), (1e-2, 0.0, 2), (0.0, 0.5, 2), (0.6, 0.0, 1), (0.0, 0.0, 3), (1.0, 0.0, 0)],
)
def test_numerical_rank_thresholds(rtol: float, atol: float, expected: int) -> None:
    s = torch.tensor([1e-3, 2.0, 1.0, 0.0], dtype=torch.float64)
    assert numerical_rank(s, rtol=rtol, atol=atol).item() == expected


def test_numerical_rank_batched_and_zero() -> None:
    s = torch.tensor([[1.0, 0.0], [0.0, 0.0], [1.0, 1.0]], dtype=torch.float32)
    assert numerical_rank(s, rtol=1e-6).tolist() == [1, 0, 2]


def test_numerical_rank_requires_rtol() -> None:
    with pytest.raises(TypeError, match="rtol"):
        numerical_rank(torch.ones(2, dtype=torch.float64))  # type: ignore[call-arg]


# ---------------------------------------------------------------- hierarchical rank


def _spectra() -> dict:
    tree = balanced(4)
    values = {0: [1.0, 0.0], 1: [2.0, 1.0], 2: [1.0, 1e-9], 3: [3.0, 0.0]}
    values.update({(0, 1): [1.0, 1.0, 1.0], (2, 3): [0.0, 0.0, 0.0]})
    return tree, {v: torch.tensor(s, dtype=torch.float64) for v, s in values.items()}


def test_hierarchical_rank_dict_and_max() -> None:
    _, spectra = _spectra()
    ranks = hierarchical_rank(spectra, rtol=1e-6)
    assert {v: int(r) for v, r in ranks.items()} == {0: 1, 1: 2, 2: 1, 3: 1, (0, 1): 3, (2, 3): 0}
    assert max_hierarchical_rank(spectra, rtol=1e-6).item() == 3


def test_hierarchical_rank_tuple_postorder() -> None:
    tree, spectra = _spectra()
    got = hierarchical_rank_tuple(tree, spectra, rtol=1e-6)
    order = [v for v in postorder(tree) if v in node_mode_sets(tree)]
    assert order == [0, 1, (0, 1), 2, 3, (2, 3)]
    assert got == (1, 2, 3, 1, 1, 0)


def test_hierarchical_rank_tuple_accepts_one_member() -> None:
    tree, spectra = _spectra()
    batched = {v: s[None] for v, s in spectra.items()}
    assert hierarchical_rank_tuple(tree, batched, rtol=1e-6) == (1, 2, 3, 1, 1, 0)


def test_hierarchical_rank_tuple_rejects_batches() -> None:
    tree, spectra = _spectra()
    batched = {v: torch.stack([s, s]) for v, s in spectra.items()}
    with pytest.raises(ValueError, match="expected a single member"):
        hierarchical_rank_tuple(tree, batched, rtol=1e-6)


def test_hierarchical_rank_tuple_missing_node() -> None:
    tree, spectra = _spectra()
    del spectra[(2, 3)]
    with pytest.raises(ValueError, match=r"lacks the non-root nodes \[\(2, 3\)\]"):
        hierarchical_rank_tuple(tree, spectra, rtol=1e-6)


def test_max_hierarchical_rank_errors() -> None:
    with pytest.raises(ValueError, match="spectra is empty"):
        max_hierarchical_rank({}, rtol=1e-6)
    spectra = {"a": torch.ones(2, 3, dtype=torch.float64), "b": torch.ones(3, dtype=torch.float64)}
    with pytest.raises(ValueError, match="share one batch shape"):
        max_hierarchical_rank(spectra, rtol=1e-6)


def test_hierarchical_rank_rejects_non_mapping() -> None:
    with pytest.raises(TypeError, match="must be a mapping"):
        hierarchical_rank([torch.ones(2, dtype=torch.float64)], rtol=1e-6)  # type: ignore[arg-type]


def test_hierarchical_rank_names_bad_node() -> None:
    with pytest.raises(ValueError, match="spectrum of node 'x' must be non-negative"):
        hierarchical_rank({"x": torch.tensor([1.0, -1.0], dtype=torch.float64)}, rtol=1e-6)


# ---------------------------------------------------------------- norms and top-k


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_norms_match_numpy(seed: int) -> None:
    a = _low_rank(5, 4, 3, seed)
    s = torch.tensor(np.linalg.svd(a, compute_uv=False), dtype=torch.float64)
    assert nuclear_norm(s).item() == pytest.approx(np.linalg.norm(a, "nuc"), rel=1e-12)
    assert frobenius_norm(s).item() == pytest.approx(np.linalg.norm(a, "fro"), rel=1e-12)


@pytest.mark.parametrize(
    ("k", "expected"), [(0, []), (2, [3.0, 2.0]), (3, [3.0, 2.0, 1.0]), (5, [3.0, 2.0, 1.0, 0, 0])]
)
def test_top_k_sorts_and_pads(k: int, expected: list[float]) -> None:
    s = torch.tensor([[1.0, 3.0, 2.0]], dtype=torch.float64)
    got = top_k(s, k)
    assert got.shape == (1, k)
    assert got[0].tolist() == expected


@pytest.mark.parametrize(
    ("k", "error", "match"),
    [(-1, ValueError, "k must be >= 0"), (1.5, TypeError, "k must be an int")],
)
def test_top_k_rejects_bad_k(k: object, error: type[Exception], match: str) -> None:
    with pytest.raises(error, match=match):
        top_k(torch.ones(3, dtype=torch.float64), k)  # type: ignore[arg-type]


# ---------------------------------------------------------------- validation


@pytest.mark.parametrize(
    ("s", "error", "match"),
    [
        ([1.0, 2.0], TypeError, "must be a torch.Tensor"),
        (np.ones(3), TypeError, "must be a torch.Tensor"),
        (torch.tensor(1.0, dtype=torch.float64), ValueError, "at least one axis"),
        (torch.tensor([1, 2]), TypeError, "must be a floating tensor"),
        (torch.tensor([1.0, -0.5], dtype=torch.float64), ValueError, "must be non-negative"),
        (torch.tensor([1.0, math.nan], dtype=torch.float64), ValueError, "must be finite"),
        (torch.tensor([1.0, math.inf], dtype=torch.float64), ValueError, "must be finite"),
    ],
)
@pytest.mark.parametrize(
    "fn",
    [
        effective_rank,
        nuclear_norm,
        frobenius_norm,
        lambda s: numerical_rank(s, rtol=1e-6),
        lambda s: top_k(s, 2),
    ],
)
def test_rejects_bad_spectra(s: object, error: type[Exception], match: str, fn) -> None:
    with pytest.raises(error, match=match):
        fn(s)


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"rtol": -1.0}, ValueError, "rtol must be a finite number >= 0"),
        ({"rtol": math.nan}, ValueError, "rtol must be a finite number >= 0"),
        ({"rtol": "1e-6"}, TypeError, "rtol must be a real number"),
        ({"rtol": True}, TypeError, "rtol must be a real number"),
        ({"rtol": 1e-6, "atol": -1e-3}, ValueError, "atol must be a finite number >= 0"),
    ],
)
def test_numerical_rank_rejects_bad_tolerances(kwargs: dict, error: type, match: str) -> None:
    with pytest.raises(error, match=match):
        numerical_rank(torch.ones(3, dtype=torch.float64), **kwargs)


def test_effective_rank_rejects_bad_atol() -> None:
    with pytest.raises(ValueError, match="atol must be a finite number >= 0"):
        effective_rank(torch.ones(3, dtype=torch.float64), atol=-1.0)


def test_float32_smoke() -> None:
    s = torch.tensor([1.0, 1.0, 0.0], dtype=torch.float32)
    assert effective_rank(s).dtype == torch.float32
    assert effective_rank(s).item() == pytest.approx(2.0, rel=1e-6)
