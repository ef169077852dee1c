"""Antialiased segment drawing and segment distances against dense references."""

from __future__ import annotations

import numpy as np
import pytest

from tnreg.locality.raster import draw_segments, segment_distance


@pytest.mark.parametrize("seed", range(4))
def test_segment_distance_matches_dense_sampling(seed):
    rng = np.random.default_rng(seed)
    p0, p1, q0, q1 = rng.uniform(0, 10, (4, 20, 2))
    t = np.linspace(0, 1, 301)
    a = p0[:, None] + t[None, :, None] * (p1 - p0)[:, None]
    b = q0[:, None] + t[None, :, None] * (q1 - q0)[:, None]
    dense = np.sqrt(((a[:, :, None] - b[:, None, :]) ** 2).sum(-1)).min((1, 2))
    got = segment_distance(p0, p1, q0, q1)
    assert np.all(got <= dense + 1e-9) and np.all(dense - got < 0.05)


def test_coverage_is_the_covered_area():
    line = np.array([[[[5.0, 2.0], [5.0, 12.0]]]], dtype=np.float64)
    img = draw_segments(line, 16, radius=1.0, supersample=8)
    np.testing.assert_allclose(img.sum(), 10 * 2 + np.pi, rtol=0.02)
    disc = np.array([[[[8.0, 8.0], [8.0, 8.0]]]], dtype=np.float64)
    np.testing.assert_allclose(
        draw_segments(disc, 16, radius=3.0, supersample=8).sum(), 9 * np.pi, rtol=0.02
    )


def test_absent_segments_and_edges():
    seg = np.full((2, 1, 2, 2), np.nan)
    seg[1, 0] = [[0.0, 0.0], [0.0, 3.0]]  # on the border: half of it is outside
    img = draw_segments(seg, 4, radius=0.5, supersample=4)
    assert img[0].sum() == 0 and 0 < img[1].sum() < 3
    with pytest.raises(ValueError, match=r"needs segments \(n, K, 2, 2\)"):
        draw_segments(np.zeros((2, 2, 2)), 4, radius=1.0)
