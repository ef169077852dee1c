"""Data entanglement at every node: dense SVD references, the paper's formula, bad inputs."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from tnreg import trees
from tnreg.entanglement.gram import feature_map
from tnreg.entanglement.measure import EntanglementError, data_entanglement, entropy, geometric

THETA = 0.3

# case table: (name, tree); N <= 14 so the explicit data tensor is small
TREES = [
    # balanced and caterpillar
    ("balanced8", trees.balanced(8)),
    ("caterpillar9", trees.caterpillar(9)),
    # random, with 3-child nodes
    ("random10", trees.random_tree(10, seed=3)),
    ("ternary9", trees.balanced(9, arity=3)),
    # unary nodes (over a leaf and over an interior node)
    ("unary", trees.from_nested((((0, 1),), (2,), ((3, 4, 5),), (6, (7,))))),
    # orders 12 and 14, M below and above 2^|I| for the factor / dense paths
    ("random12", trees.random_tree(12, seed=7, max_arity=4)),
    ("random14", trees.random_tree(14, seed=11)),
]


def _explicit_tensor(x: np.ndarray, y: np.ndarray | None, theta: float) -> np.ndarray:
    """A = Σ_m y_m ⊗_f φ(x_mf), built entry by entry (float64)."""
    phi = feature_map(torch.as_tensor(x, dtype=torch.float64), theta).numpy()
    rows = np.ones((x.shape[0], 1))
    for f in range(x.shape[1]):
        rows = (rows[:, :, None] * phi[:, f, None, :]).reshape(x.shape[0], -1)
    weights = np.ones(x.shape[0]) if y is None else y
    return (weights @ rows).reshape([2] * x.shape[1])


def _dense_spectrum(a: np.ndarray, modes: tuple[int, ...]) -> np.ndarray:
    rest = [f for f in range(a.ndim) if f not in modes]
    mat = np.transpose(a, [*modes, *rest]).reshape(2 ** len(modes), -1)
    s2 = np.linalg.svd(mat, compute_uv=False) ** 2
    return s2 / s2.sum()


def _padded(p: np.ndarray, size: int) -> np.ndarray:
    out = np.zeros(size)
    out[: min(size, len(p))] = np.sort(p)[::-1][:size]
    return out


@pytest.mark.parametrize("labelled", [False, True], ids=["unlabelled", "labelled"])
@pytest.mark.parametrize(("name", "tree"), TREES, ids=[t[0] for t in TREES])
def test_every_node_matches_dense_svd(name: str, tree, labelled: bool) -> None:
    rng = np.random.default_rng(abs(hash(name)) % 2**32)
    n = trees.order(tree)
    x = rng.random((24, n))
    y = rng.choice([-1.0, 1.0], size=24) if labelled else None
    a = _explicit_tensor(x, y, THETA)
    report = data_entanglement(x, y, tree, theta=THETA)
    assert len(report.rows) == tree.number_of_nodes() - 1
    for row in report.rows:
        ref = _dense_spectrum(a, row.modes)
        size = max(len(ref), len(row.spectrum))
        np.testing.assert_allclose(_padded(row.spectrum, size), _padded(ref, size), atol=1e-10)
        assert row.entropy == pytest.approx(entropy(ref), abs=1e-9)
        assert row.geometric == pytest.approx(math.sqrt(max(0.0, 1 - ref.max())), abs=1e-7)


def _paper_formula(x: np.ndarray, y: np.ndarray, modes: list[int], theta: float) -> float:
    """Dense G_I and G_{I^c} from all features, eigenvalues of D G_{I^c} D G_I (float64)."""
    diff = x[:, None, :] - x[None, :, :]
    gram = np.cos(np.pi * theta * diff)
    rest = [f for f in range(x.shape[1]) if f not in modes]
    g_in, g_out = gram[:, :, modes].prod(axis=-1), gram[:, :, rest].prod(axis=-1)
    lam = np.linalg.eigvals(np.diag(y) @ g_out @ np.diag(y) @ g_in).real
    return entropy(np.clip(lam, 0, None))


def test_canonical_partitions_equal_the_papers_formula() -> None:
    rng = np.random.default_rng(5)
    x, y = rng.random((64, 16)), rng.choice([-1.0, 1.0], size=64)
    report = data_entanglement(x, y, trees.balanced(16), theta=0.085)
    for row in report.rows:
        expected = _paper_formula(x, y, list(row.modes), 0.085)
        assert row.entropy == pytest.approx(expected, abs=1e-8), row.name


def test_entropies_invariant_to_permuting_samples() -> None:
    rng = np.random.default_rng(2)
    x, y = rng.random((40, 10)), rng.choice([-1.0, 1.0], size=40)
    tree = trees.random_tree(10, seed=1)
    perm = rng.permutation(40)
    first = data_entanglement(x, y, tree, theta=THETA).entropies()
    second = data_entanglement(x[perm], y[perm], tree, theta=THETA).entropies()
    assert first.keys() == second.keys()
    for v in first:
        assert first[v] == pytest.approx(second[v], abs=1e-10)


def test_product_data_has_zero_entanglement() -> None:
    x = np.tile(np.linspace(0, 1, 8), (5, 1))  # five identical samples: a product tensor
    report = data_entanglement(x, None, trees.balanced(8), theta=THETA, rtol=1e-6)
    assert all(row.entropy == pytest.approx(0.0, abs=1e-10) for row in report.rows)
    assert all(row.rank == 1 for row in report.rows)


def test_report_table_and_subsampling() -> None:
    rng = np.random.default_rng(0)
    x = rng.random((300, 6))
    tree = trees.balanced(6)
    report = data_entanglement(x, tree=tree, theta=THETA, max_samples=100, seed=4, rtol=1e-6)
    assert report.samples == 100 and not report.labelled
    again = data_entanglement(x, tree=tree, theta=THETA, max_samples=100, seed=4, rtol=1e-6)
    assert report.entropies() == again.entropies()
    text = str(report)
    assert "M=100 samples" in text and "sum" in text
    assert report.total() == pytest.approx(sum(r["entropy"] for r in report.to_records()))
    one = data_entanglement(x, tree=tree, theta=THETA, nodes=[(0, 1)], max_samples=100, seed=4)
    assert [r.node for r in one.rows] == [(0, 1)]


def test_quantities() -> None:
    assert entropy(np.array([0.25] * 4)) == pytest.approx(math.log(4))
    assert entropy(np.zeros(3)) == 0.0
    assert geometric(np.array([0.5, 0.5])) == pytest.approx(math.sqrt(0.5))


def test_float32_inputs_and_torch_tensors() -> None:
    rng = np.random.default_rng(1)
    x = rng.random((20, 4)).astype(np.float32)
    a = data_entanglement(x, tree=trees.balanced(4), theta=THETA)
    b = data_entanglement(torch.as_tensor(x), tree=trees.balanced(4), theta=THETA)
    assert a.entropies() == pytest.approx(b.entropies())


GOOD = np.full((4, 3), 0.5)


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"x": np.full((4, 3), 1.5)}, r"x must lie in \[0, 1\].*x\[0, 0\] = 1.5"),
        ({"x": np.full((4, 3), np.nan)}, r"x must lie in \[0, 1\]"),
        ({"x": np.zeros(3)}, r"2-D array \(samples, features\).*shape \(3,\)"),
        ({"x": np.array([["a"]])}, "x must be real numbers"),
        ({"x": np.zeros((4, 1))}, "at least 2 features"),
        ({"y": np.array([1, 0, 1, 1])}, r"labels y must be -1 or \+1.*\[0\]"),
        ({"y": np.ones(3)}, r"one label per sample \(4\); got shape \(3,\)"),
        ({"tree": trees.balanced(4)}, "the tree has 4 modes but x has 3 features"),
        ({"tree": "abc"}, "tree is not a mode tree"),
        ({"theta": 0.0}, r"theta must be a number in \(0, 1\]"),
        ({"max_samples": 0}, "max_samples must be an int >= 1"),
        ({"seed": -1}, "seed must be an int >= 0"),
        ({"rtol": 2.0}, r"rtol must be a number in \[0, 1\)"),
        ({"nodes": ["nope"]}, r"nodes \['nope'\] are not in the tree"),
    ],
)
def test_bad_inputs(kwargs: dict, match: str) -> None:
    args = {"x": GOOD, "y": None, "tree": trees.balanced(3), **kwargs}
    with pytest.raises(EntanglementError, match=match):
        data_entanglement(args.pop("x"), args.pop("y"), args.pop("tree"), **args)
