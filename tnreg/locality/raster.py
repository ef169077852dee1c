"""Antialiased drawing of thick line segments and discs on batches of images, vectorized.

Vocabulary
----------
segment batch
    An array ``(n, K, 2, 2)``: for each of ``n`` images, ``K`` segments, each two end points
    ``(row, column)`` in pixel coordinates (the pixel ``(i, j)`` covers ``[i, i+1) × [j, j+1)``).
    Rows holding NaN are absent segments and draw nothing. A disc is a segment of length zero.
coverage
    Each pixel is split into ``supersample × supersample`` sub-pixels; a sub-pixel is covered when
    its centre lies within ``radius`` of a segment. A pixel's value is its covered fraction, in
    ``[0, 1]``: the antialiased image. Every image of a batch is drawn at once (no Python loop over
    images or segments).
"""

from __future__ import annotations

import math

import numpy as np

__all__ = ["draw_segments", "point_segment_distance", "segment_distance"]


def point_segment_distance(p: np.ndarray, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Distance from points ``p`` to segments ``[a, b]`` (arrays ``(..., 2)``, broadcast).

    Examples
    --------
    >>> float(point_segment_distance(np.array([1.0, 1.0]), np.zeros(2), np.array([0.0, 2.0])))
    1.0
    """
    ar, ac = b[..., 0] - a[..., 0], b[..., 1] - a[..., 1]
    pr, pc = p[..., 0] - a[..., 0], p[..., 1] - a[..., 1]
    t = np.clip((pr * ar + pc * ac) / np.maximum(ar * ar + ac * ac, 1e-12), 0.0, 1.0)
    return np.sqrt((pr - t * ar) ** 2 + (pc - t * ac) ** 2)


def _cross(u: np.ndarray, v: np.ndarray) -> np.ndarray:
    return u[..., 0] * v[..., 1] - u[..., 1] * v[..., 0]


def segment_distance(p0: np.ndarray, p1: np.ndarray, q0: np.ndarray, q1: np.ndarray) -> np.ndarray:
    """Least distance between segments ``[p0, p1]`` and ``[q0, q1]`` (``(..., 2)``, broadcast).

    Zero when they cross; NaN where an end point is NaN.

    Examples
    --------
    >>> z, e = np.zeros(2), np.array([0.0, 2.0])
    >>> float(segment_distance(z, e, np.array([3.0, 1.0]), np.array([5.0, 1.0])))
    3.0
    >>> float(segment_distance(z, e, np.array([-1.0, 1.0]), np.array([1.0, 1.0])))
    0.0
    """
    d = np.minimum(
        np.minimum(point_segment_distance(p0, q0, q1), point_segment_distance(p1, q0, q1)),
        np.minimum(point_segment_distance(q0, p0, p1), point_segment_distance(q1, p0, p1)),
    )
    o1, o2 = _cross(p1 - p0, q0 - p0), _cross(p1 - p0, q1 - p0)
    o3, o4 = _cross(q1 - q0, p0 - q0), _cross(q1 - q0, p1 - q0)
    crossing = (o1 * o2 < 0) & (o3 * o4 < 0)
    return np.where(crossing, 0.0, d)


def _cover(
    sub: np.ndarray, segments: np.ndarray, radius: float, size: int, supersample: int
) -> None:
    """Set the sub-pixels of ``sub`` (n, size·k, size·k) within ``radius`` of each segment."""
    n, k = segments.shape[0], supersample
    present = ~np.isnan(segments).any((-2, -1))
    img, seg = np.nonzero(present)
    if img.size == 0:
        return
    s = segments[img, seg]  # (m, 2, 2)
    extent = float(np.nanmax(np.abs(s[:, 1] - s[:, 0]))) if s.size else 0.0
    box = math.ceil((extent + 2 * radius + 2) * k)
    lo = np.floor((s.min(1) - radius - 0.5) * k).astype(np.int64)  # (m, 2) in sub-pixels
    off = np.arange(box)
    rows = lo[:, 0, None, None] + off[None, :, None]  # (m, box, 1)
    cols = lo[:, 1, None, None] + off[None, None, :]  # (m, 1, box)
    a = s[:, 0].astype(np.float32)
    ab = (s[:, 1] - s[:, 0]).astype(np.float32)
    pr = (rows.astype(np.float32) + 0.5) / k - a[:, 0, None, None]
    pc = (cols.astype(np.float32) + 0.5) / k - a[:, 1, None, None]
    ar, ac = ab[:, 0, None, None], ab[:, 1, None, None]
    t = np.clip((pr * ar + pc * ac) / np.maximum(ar * ar + ac * ac, 1e-12), 0.0, 1.0)
    dist2 = (pr - t * ar) ** 2 + (pc - t * ac) ** 2
    side = size * k
    hit = (dist2 <= radius * radius) & (rows >= 0) & (rows < side) & (cols >= 0) & (cols < side)
    m_idx, r_idx, c_idx = np.nonzero(hit)
    flat = (img[m_idx] * side + rows[m_idx, r_idx, 0]) * side + cols[m_idx, 0, c_idx]
    sub.reshape(-1)[flat] = True
    assert sub.shape[0] == n


def draw_segments(
    segments: np.ndarray,
    size: int,
    *,
    radius: float,
    supersample: int = 4,
    chunk: int = 64,
) -> np.ndarray:
    """Antialiased images ``(n, size, size)`` (float32) of thick segments or discs.

    Parameters
    ----------
    segments
        A segment batch ``(n, K, 2, 2)`` in pixel coordinates (see the module docstring).
    size
        Side of the square images, pixels.
    radius
        Half the line thickness (or the disc radius), pixels.
    supersample
        Sub-pixels per pixel side.
    chunk
        Images drawn at once (bounds the memory of the sub-pixel canvas).

    Examples
    --------
    >>> seg = np.array([[[[1.0, 0.0], [1.0, 4.0]]]])  # a horizontal line along row 1.0
    >>> draw_segments(seg, 4, radius=0.5)[0].round(2).tolist()[:2]
    [[0.5, 0.5, 0.5, 0.5], [0.5, 0.5, 0.5, 0.5]]
    """
    if segments.ndim != 4 or segments.shape[-2:] != (2, 2):
        raise ValueError(f"draw_segments needs segments (n, K, 2, 2); got {segments.shape}")
    n, k = segments.shape[0], supersample
    out = np.empty((n, size, size), dtype=np.float32)
    for start in range(0, n, chunk):
        part = segments[start : start + chunk]
        sub = np.zeros((part.shape[0], size * k, size * k), dtype=bool)
        _cover(sub, part, radius, size, k)
        out[start : start + chunk] = sub.reshape(-1, size, k, size, k).mean((2, 4))
    return out
