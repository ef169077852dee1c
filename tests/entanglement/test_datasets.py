"""Data sets: planted groups, sklearn sets, files."""

from __future__ import annotations

import importlib.util

import numpy as np
import pytest

from tnreg import trees
from tnreg.entanglement.datasets import load_data, load_file, planted
from tnreg.entanglement.measure import EntanglementError

needs_sklearn = pytest.mark.skipif(
    importlib.util.find_spec("sklearn") is None, reason="scikit-learn not installed (extra 'data')"
)


def test_planted_groups_and_tree() -> None:
    data = planted(4, 3, 200, seed=3)
    assert data.x.shape == (200, 12) and data.x.min() >= 0 and data.x.max() <= 1
    assert sorted(f for g in data.groups for f in g) == list(range(12))
    sets = set(trees.mode_sets(data.tree).values())
    assert all(g in sets for g in data.groups)
    corr = np.corrcoef(data.x.T)
    g = data.groups[0]
    assert corr[g[0], g[1]] > 0.9  # strong dependence within a group
    again = planted(4, 3, 200, seed=3)
    np.testing.assert_array_equal(data.x, again.x)


@needs_sklearn
@pytest.mark.parametrize(("name", "shape"), [("digits", (1797, 64)), ("breast-cancer", (569, 30))])
def test_sklearn_sets(name: str, shape: tuple) -> None:
    data = load_data(name)
    assert data.x.shape == shape and 0 <= data.x.min() and data.x.max() <= 1
    assert set(np.unique(data.y)) == {-1.0, 1.0}


def test_files(tmp_path) -> None:
    x = np.random.default_rng(0).random((6, 3))
    y = np.array([1, -1, 1, 1, -1, 1.0])
    np.savez(tmp_path / "d.npz", x=x, y=y)
    np.save(tmp_path / "d.npy", x)
    (tmp_path / "d.csv").write_text(
        "a,b,c,y\n" + "\n".join(",".join(map(str, [*r, t])) for r, t in zip(x, y))
    )
    for name in ("d.npz", "d.csv"):
        data = load_file(tmp_path / name)
        np.testing.assert_allclose(data.x, x)
        np.testing.assert_array_equal(data.y, y)
    assert load_file(tmp_path / "d.npy").y is None


def test_bad_names_and_files(tmp_path) -> None:
    with pytest.raises(EntanglementError, match=r"unknown data set 'mnist'; valid names"):
        load_data("mnist")
    with pytest.raises(EntanglementError, match="no such data file"):
        load_file(tmp_path / "missing.npz")
    (tmp_path / "d.txt").write_text("1")
    with pytest.raises(EntanglementError, match=r"unknown file type '.txt'"):
        load_file(tmp_path / "d.txt")
    np.savez(tmp_path / "e.npz", z=np.zeros(2))
    with pytest.raises(EntanglementError, match="needs an array 'x'"):
        load_file(tmp_path / "e.npz")
    np.save(tmp_path / "f.npy", np.full((2, 2), 3.0))
    with pytest.raises(EntanglementError, match=r"f.npy: x must lie in \[0, 1\]"):
        load_file(tmp_path / "f.npy")
    with pytest.raises(EntanglementError, match="groups must be an int >= 1"):
        planted(0, 2, seed=0)
