"""Pathfinder: are the two markers joined by one dashed path? Generated offline, vectorized.

Vocabulary
----------
path
    A polyline of ``path_length`` straight *segments* of equal length whose direction turns by at
    most ``max_turn`` radians between segments; only the first ``dash`` fraction of each segment
    is drawn, so the path is dashed. Positions are reflected at the image border (the path
    bounces), which keeps every path continuous and inside the image.
markers
    Two filled squares of side ``marker_size``. Label ``1`` (positive): they sit on the two ends
    of one path. Label ``0``: on one end each of two different paths. Every image has
    ``1 + n_distractors`` paths of the same length, so the number of paths and of unmarked ends
    carry no information; only following a path does.
difficulty
    The path length (number of segments): longer paths put the markers further apart along the
    path, which needs longer-range interactions (Linsley et al. 2018; Razin et al. 2022 used 3 to
    9 at 150×150 pixels; the default here is 32×32 for CPUs).

Every image is drawn at once with numpy (no Python loop over images): 20,000 images of 32×32 in
well under a second on 2 cores (``bench/bench_locality.py``).
"""

from __future__ import annotations

import math

import numpy as np
import torch

from tnreg.locality.data import TaskData

__all__ = ["pathfinder"]


def _check_int(name: str, value: object, low: int, high: int | None = None) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        raise TypeError(f"pathfinder {name} must be an int; got {type(value).__name__}")
    if value < low or (high is not None and value > high):
        rng = f">= {low}" if high is None else f"in [{low}, {high}]"
        raise ValueError(f"pathfinder {name} must be {rng}; got {value}")
    return int(value)


def _fold(p: np.ndarray, low: float, high: float) -> np.ndarray:
    """Reflect coordinates into ``[low, high]`` (a triangle wave: the path bounces)."""
    span = high - low
    q = np.mod(p - low, 2 * span)
    return low + span - np.abs(q - span)


def _vertices(
    rng: np.random.Generator,
    shape: tuple[int, int],
    length: int,
    step: float,
    turn: float,
    lo: float,
    hi: float,
) -> np.ndarray:
    """Unreflected vertices of random turning polylines: ``(*shape, length + 1, 2)``."""
    start = rng.uniform(lo, hi, size=(*shape, 1, 2))
    heading = rng.uniform(0, 2 * math.pi, size=(*shape, 1))
    turns = rng.uniform(-turn, turn, size=(*shape, length - 1))
    angles = heading + np.concatenate([np.zeros((*shape, 1)), np.cumsum(turns, -1)], -1)
    steps = step * np.stack([np.sin(angles), np.cos(angles)], -1)
    return np.concatenate([start, start + np.cumsum(steps, -2)], -2)


def _draw_dashes(
    canvas: np.ndarray, verts: np.ndarray, dash: float, step: float, lo: float, hi: float
) -> None:
    """Rasterize the drawn part of every segment (1-pixel lines) into ``canvas`` (N, S, S)."""
    n, size = canvas.shape[0], canvas.shape[1]
    k = max(2, math.ceil(2 * step * dash) + 1)
    t = np.linspace(0.0, dash, k)
    a, b = verts[..., :-1, None, :], verts[..., 1:, None, :]
    pts = _fold(a + t[:, None] * (b - a), lo, hi)
    ij = np.rint(pts).astype(np.int64).reshape(n, -1, 2)
    flat = ij[..., 0] * size + ij[..., 1]
    canvas.reshape(n, -1)[np.arange(n)[:, None], flat] = 1.0


def _draw_markers(canvas: np.ndarray, centers: np.ndarray, marker_size: int) -> None:
    """Filled squares of side ``marker_size`` centred at ``centers`` (N, M, 2)."""
    n, size = canvas.shape[0], canvas.shape[1]
    off = np.arange(marker_size) - (marker_size - 1) // 2
    c = np.rint(centers).astype(np.int64)
    rows = np.clip(c[..., 0, None, None] + off[:, None], 0, size - 1)
    cols = np.clip(c[..., 1, None, None] + off[None, :], 0, size - 1)
    flat = (rows * size + cols).reshape(n, -1)
    canvas.reshape(n, -1)[np.arange(n)[:, None], flat] = 1.0


def pathfinder(
    n: int,
    *,
    path_length: int,
    image_size: int = 32,
    n_distractors: int = 2,
    segment_length: float | None = None,
    dash: float = 0.5,
    max_turn: float = math.pi / 4,
    marker_size: int = 3,
    seed: int,
) -> TaskData:
    """Generate ``n`` Pathfinder images (half positive, in random order) with a seed.

    Parameters
    ----------
    n
        Number of images.
    path_length
        Segments per path: the difficulty (the paper: 3 to 9).
    image_size
        Side ``S`` of the square images (pixels).
    n_distractors
        Paths besides the marked one (>= 1: negatives need a second path).
    segment_length
        Segment length in pixels; default ``S / 10``.
    dash
        Drawn fraction of each segment, in ``(0, 1]``.
    max_turn
        Largest turn between consecutive segments, radians.
    marker_size
        Side of the square markers (pixels, odd sizes centre exactly).
    seed
        Seed of numpy's generator: the same arguments give the same images.

    Returns
    -------
    TaskData
        ``x`` of shape ``(n, 1, S, S)`` in ``{0, 1}``, ``y`` in ``{0, 1}``; ``meta`` holds the
        arguments and ``markers`` (the two marker centres per image, ``(n, 2, 2)``).

    Raises
    ------
    ValueError, TypeError
        For a non-integer or out-of-range argument; the message names it and its range.

    Examples
    --------
    >>> d = pathfinder(6, path_length=5, image_size=24, seed=0)
    >>> tuple(d.x.shape), d.y.tolist()
    ((6, 1, 24, 24), [0, 1, 1, 1, 0, 0])
    """
    n = _check_int("n", n, 1)
    path_length = _check_int("path_length", path_length, 1, 64)
    image_size = _check_int("image_size", image_size, 8)
    n_distractors = _check_int("n_distractors", n_distractors, 1, 16)
    marker_size = _check_int("marker_size", marker_size, 1, image_size // 4)
    if not 0 < dash <= 1:
        raise ValueError(f"pathfinder dash must be in (0, 1]; got {dash}")
    if not 0 <= max_turn <= math.pi:
        raise ValueError(f"pathfinder max_turn must be in [0, pi] radians; got {max_turn}")
    step = image_size / 10 if segment_length is None else float(segment_length)
    if not 0.5 <= step <= image_size / 2:
        raise ValueError(
            f"pathfinder segment_length must be in [0.5, {image_size / 2}] pixels for "
            f"image_size={image_size}; got {step}"
        )
    rng = np.random.default_rng(seed)
    lo, hi = float(marker_size // 2 + 1), float(image_size - 2 - marker_size // 2)
    verts = _vertices(rng, (n, 1 + n_distractors), path_length, step, max_turn, lo, hi)
    labels = rng.random(n) < 0.5
    ends = _fold(verts[:, :, [0, -1]], lo, hi)
    first = ends[:, 0, 0]
    second = np.where(labels[:, None], ends[:, 0, 1], ends[:, 1, 1])
    markers = np.stack([first, second], 1)
    canvas = np.zeros((n, image_size, image_size), dtype=np.float32)
    _draw_dashes(canvas, verts, dash, step, lo, hi)
    _draw_markers(canvas, markers, marker_size)
    meta = {
        "task": "pathfinder",
        "path_length": path_length,
        "image_size": image_size,
        "n_distractors": n_distractors,
        "segment_length": step,
        "seed": seed,
        "markers": markers,
    }
    return TaskData(
        torch.from_numpy(canvas)[:, None], torch.from_numpy(labels.astype(np.int64)), meta
    )
