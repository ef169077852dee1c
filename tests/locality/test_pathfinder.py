"""The Pathfinder generator: rules, invariants, the marker-distance shortcut, errors."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from tnreg.locality.pathfinder import RULES, pathfinder, shortcut_accuracy
from tnreg.locality.raster import draw_segments, segment_distance


def _min_dist(a: np.ndarray, b: np.ndarray) -> float:
    """Least distance between two sets of segments (K, 2, 2) and (M, 2, 2), NaN rows skipped."""
    a, b = a[~np.isnan(a).any((1, 2))], b[~np.isnan(b).any((1, 2))]
    if len(a) == 0 or len(b) == 0:
        return np.inf
    d = segment_distance(a[:, None, 0], a[:, None, 1], b[None, :, 0], b[None, :, 1])
    return float(d.min())


@pytest.fixture(scope="module", params=[3, 9])
def data(request):
    return pathfinder(24, path_length=request.param, scale=0.3, seed=request.param)


def test_shapes_seed_and_exactly_balanced_labels():
    d = pathfinder(9, path_length=5, scale=0.2, seed=3)
    assert d.x.shape == (9, 1, 30, 30) and d.x.dtype == torch.float32
    assert float(d.x.min()) >= 0.0 and float(d.x.max()) <= 1.0
    assert int(d.y.sum()) == 4
    again = pathfinder(9, path_length=5, scale=0.2, seed=3)
    torch.testing.assert_close(d.x, again.x, rtol=0, atol=0)
    assert not torch.equal(d.x, pathfinder(9, path_length=5, scale=0.2, seed=4).x)


def test_markers_sit_on_path_ends(data):
    m, seeds, k = data.meta["markers"], data.meta["seeds"], data.meta["marked"]
    rows = np.arange(len(data))
    terminal = np.where(data.y.numpy() == 1, k, 1 - k)
    np.testing.assert_allclose(m[:, 0], seeds[rows, k, 0, 0])
    np.testing.assert_allclose(m[:, 1], seeds[rows, terminal, -1, 1])


def test_no_path_touches_another(data):
    f = data.meta["thickness"] / RULES["thickness"]
    gap = (RULES["thickness"] + RULES["margin"]) * f * (1 - 1e-9)
    lo, hi = RULES["padding"] * f, (RULES["window"] - RULES["padding"]) * f
    for i in range(len(data)):
        a, b = data.meta["seeds"][i]
        dis = data.meta["distractors"][i]
        size = max(1, data.meta["path_length"] // 3)
        assert _min_dist(a, b) >= gap and _min_dist(a, dis) >= gap and _min_dist(b, dis) >= gap
        paths = dis.reshape(-1, size, 2, 2)
        for p in range(len(paths)):
            for q in range(p + 1, len(paths)):
                assert _min_dist(paths[p], paths[q]) >= gap
        assert (a >= lo).all() and (a <= hi).all() and (b >= lo).all() and (b <= hi).all()


def test_marked_path_pixels_overlap_no_other_path():
    d = pathfinder(6, path_length=7, scale=1.0, seed=0)
    r = d.meta["thickness"] / 2
    for i in range(len(d)):
        k = d.meta["marked"][i]
        marked = d.meta["seeds"][i, k]
        others = np.concatenate([d.meta["seeds"][i, 1 - k], d.meta["distractors"][i]])
        a = draw_segments(marked[None], d.x.shape[-1], radius=r)[0]
        b = draw_segments(others[None], d.x.shape[-1], radius=r)[0]
        assert a.sum() > 0 and not ((a > 0) & (b > 0)).any()
    r, c = np.floor(d.meta["markers"]).astype(int).transpose(2, 0, 1)
    assert (d.x[np.arange(len(d))[:, None], 0, r, c] == 1).all()  # a marker covers its centre


@pytest.mark.parametrize("length", [3, 5, 7, 9])
def test_marker_distance_shortcut_is_near_chance(length):
    train = pathfinder(800, path_length=length, scale=0.1, seed=0, supersample=1)
    test = pathfinder(800, path_length=length, scale=0.1, seed=1, supersample=1)
    assert abs(shortcut_accuracy(train, test, bins=10) - 0.5) < 0.06


def test_shortcut_detector_has_power_without_matching():
    kw = dict(path_length=3, scale=0.1, match_distance=False, supersample=1)
    train, test = pathfinder(800, seed=0, **kw), pathfinder(800, seed=1, **kw)
    assert shortcut_accuracy(train, test, bins=10) > 0.6


def test_distractor_counts_follow_the_rules():
    d = pathfinder(4, path_length=9, scale=0.2, seed=0)
    assert d.meta["distractors"].shape[1:] == (10 * 3, 2, 2)
    small = pathfinder(4, path_length=3, scale=0.2, window=200.0, seed=0)
    assert small.meta["distractors"].shape[1] == 14 and small.x.shape[-1] == 20


@pytest.mark.parametrize(
    ("kw", "error", "match"),
    [
        ({"path_length": 0}, ValueError, r"path_length must be in \[1, 32\]; got 0"),
        ({"path_length": 2.5}, TypeError, "path_length must be an int; got float"),
        ({"path_length": 3, "n": 0}, ValueError, "n must be >= 1; got 0"),
        ({"path_length": 3, "scale": 0.0}, ValueError, r"scale must be a number in \[0.05, 4\]"),
        ({"path_length": 3, "window": 100}, ValueError, r"window must be a number in \[160"),
        ({"path_length": 3, "supersample": 0}, ValueError, "supersample must be in"),
    ],
)
def test_errors(kw, error, match):
    kw = {"n": 2, "seed": 0, **kw}
    with pytest.raises(error, match=match):
        pathfinder(**kw)


def test_seed_budget_error():
    with pytest.raises(RuntimeError, match="seed paths of length 32 in a 160-unit window"):
        pathfinder(2, path_length=32, window=160.0, seed=0, max_rounds=1)
