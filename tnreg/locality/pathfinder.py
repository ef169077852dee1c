"""Pathfinder (Linsley et al. 2018) as Razin, Maman & Cohen (2022) used it, generated vectorized.

Vocabulary
----------
window
    The square the paths are laid out on: 300×300 units with a blank border (padding) of 22; the
    image is that window resized by 1/2, 150×150 pixels. ``scale`` shrinks everything together:
    the image is ``round(150·scale)`` pixels and every length below is multiplied by
    ``image side / 300`` when drawn, so the task is the same at any scale, only coarser.
    ``window`` (default 300) crops instead: a smaller window with the same paths and the same
    density of distractors.
paddle
    A straight dash 5 units long and 2 thick. A *path* is ``L`` paddles: each starts
    ``5 + 3`` units (paddle + margin) after the previous one's start, and its heading turns by
    ``δ`` with density ``∝ cos²(1.8·δ)`` for ``|δ| < π / (2·1.8)`` (continuity 1.8), so paths are
    dashed and smooth. Its *tips* are the start of its first paddle (origin) and the end of its
    last (terminal).
seed paths
    Two paths of length ``L`` whose origins are 27 units apart (the first origin at least 54 units
    inside the window, as in the authors' code). Markers (discs of radius 3) sit on the origin of
    seed path ``k`` and on the terminal tip of path ``k`` (label 1, "connected") or of path
    ``1 - k`` (label 0). ``k`` is random.
distractors
    ``ceil(90 / L)`` paths of ``max(1, floor(L / 3))`` paddles placed at random; each gets up to 5
    tries and is dropped when none fits (as in the authors' code).
no touching
    Paddles of different paths keep their centre lines at least thickness + margin = 5 units apart
    (so the drawn strokes are 3 units apart); non-adjacent paddles of one path too; distractors
    also keep 7 units (radius + thickness/2 + margin) from the markers' centres. Whole paths are
    redrawn until they fit (the authors grow a path paddle by paddle, steering around obstacles;
    redrawing whole paths is the vectorized equivalent of their retry rule).
distance matching
    With ``match_distance=True`` (the default) connected and unconnected images are drawn in
    pairs whose marker distances fall in the same 0.25-unit bin (candidates without a partner
    are dropped), so the marker distance carries no information about the label. The authors'
    rules alone leave a marker-distance shortcut (:func:`shortcut_accuracy` measures it).

Images are float32 in ``[0, 1]`` (antialiased by ``supersample²`` sub-pixels); standardization
with the train set's mean and std is the runner's job.
"""

from __future__ import annotations

import math

import numpy as np
import torch

from tnreg.locality.data import TaskData
from tnreg.locality.raster import draw_segments, segment_distance

__all__ = ["RULES", "image_side", "pathfinder", "shortcut_accuracy"]

#: The generator's rules in window units (see the module docstring).
RULES: dict[str, float] = {
    "window": 300.0,
    "padding": 22.0,
    "paddle": 5.0,
    "thickness": 2.0,
    "margin": 3.0,
    "continuity": 1.8,
    "marker_radius": 3.0,
    "seed_distance": 27.0,
    "resize": 0.5,
}
_GAP = RULES["thickness"] + RULES["margin"]
_MARKER_GAP = RULES["marker_radius"] + RULES["thickness"] / 2 + RULES["margin"]
_STEP = RULES["paddle"] + RULES["margin"]
_TRIES = 5
_BIN = 0.25  # width of the marker-distance bins that distance matching equalizes


def image_side(scale: float, window: float = RULES["window"]) -> int:
    """Side in pixels of the images at ``scale`` (150 at scale 1 on the paper's window)."""
    return max(8, round(window * RULES["resize"] * scale))


def _turns(rng: np.random.Generator, shape: tuple[int, ...]) -> np.ndarray:
    """Heading changes with density ∝ cos²(c·δ) on ``|δ| < π / (2c)``, by rejection."""
    c = RULES["continuity"]
    out = rng.uniform(-math.pi / (2 * c), math.pi / (2 * c), size=shape)
    redo = rng.random(shape) > np.cos(c * out) ** 2
    while redo.any():
        out[redo] = rng.uniform(-math.pi / (2 * c), math.pi / (2 * c), size=int(redo.sum()))
        redo[redo] = rng.random(int(redo.sum())) > np.cos(c * out[redo]) ** 2
    return out


def _paths(rng: np.random.Generator, origins: np.ndarray, length: int) -> np.ndarray:
    """Paths of ``length`` paddles from ``origins`` (..., 2): paddles (..., length, 2, 2)."""
    shape = origins.shape[:-1]
    heading = rng.uniform(-math.pi, math.pi, size=(*shape, 1))
    turns = _turns(rng, (*shape, length - 1))
    angle = heading + np.concatenate([np.zeros((*shape, 1)), np.cumsum(turns, -1)], -1)
    unit = np.stack([np.sin(angle), np.cos(angle)], -1)
    starts = origins[..., None, :] + _STEP * np.concatenate(
        [np.zeros((*shape, 1, 2)), np.cumsum(unit[..., :-1, :], -2)], -2
    )
    return np.stack([starts, starts + RULES["paddle"] * unit], -2)


def _min_distance(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Least distance between paddles ``a`` (m, A, 2, 2) and ``b`` (m, B, 2, 2); NaN ignored."""
    d = segment_distance(a[:, :, None, 0], a[:, :, None, 1], b[:, None, :, 0], b[:, None, :, 1])
    return np.where(np.isnan(d), np.inf, d).min((1, 2), initial=np.inf)


def _inside(paths: np.ndarray, window: float) -> np.ndarray:
    """Every paddle inside the padded window: (m, ..., 2, 2) -> (m,) bool."""
    lo, hi = RULES["padding"], window - RULES["padding"]
    return ((paths >= lo) & (paths <= hi)).reshape(len(paths), -1).all(1)


def _self_clear(paths: np.ndarray) -> np.ndarray:
    """Non-adjacent paddles of each path at least the gap apart: (m, L, 2, 2) -> (m,) bool."""
    i, j = np.triu_indices(paths.shape[1], k=2)
    if len(i) == 0:
        return np.ones(len(paths), dtype=bool)
    a, b = paths[:, i], paths[:, j]
    return (segment_distance(a[..., 0, :], a[..., 1, :], b[..., 0, :], b[..., 1, :]) >= _GAP).all(1)


def _fits(paths: np.ndarray, window: float) -> np.ndarray:
    """Inside the padded window and clear of itself: (m, L, 2, 2) -> (m,) bool."""
    ok = _inside(paths, window)
    ok[ok] = _self_clear(paths[ok])
    return ok


def _seed_pairs(rng: np.random.Generator, m: int, length: int, window: float) -> np.ndarray:
    """Up to ``m`` valid pairs of seed paths, (m', 2, length, 2, 2)."""
    inner = 2 * RULES["seed_distance"]
    first = rng.uniform(inner, window - inner, size=(m, 2))
    phi = rng.uniform(0, 2 * math.pi, size=m)
    second = first + RULES["seed_distance"] * np.stack([np.sin(phi), np.cos(phi)], -1)
    paths = _paths(rng, np.stack([first, second], 1), length)
    paths = paths[_inside(paths, window)]
    paths = paths[_self_clear(paths[:, 0]) & _self_clear(paths[:, 1])]
    return paths[_min_distance(paths[:, 0], paths[:, 1]) >= _GAP]


def _marker_distances(pairs: np.ndarray, k: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Marker distances if the image were labelled 1 and if it were labelled 0."""
    rows = np.arange(len(pairs))
    origin = pairs[rows, k, 0, 0]
    d_pos = np.linalg.norm(origin - pairs[rows, k, -1, 1], axis=-1)
    d_neg = np.linalg.norm(origin - pairs[rows, 1 - k, -1, 1], axis=-1)
    return d_pos, d_neg


def _matched_pairs(
    rng: np.random.Generator, d_pos: np.ndarray, d_neg: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Indices ``(ia, ib)`` pairing candidates with equal marker-distance bins, random order."""
    ba = np.floor(d_pos / _BIN).astype(np.int64)
    bb = np.floor(d_neg / _BIN).astype(np.int64)
    oa, ob = np.argsort(ba, kind="stable"), np.argsort(bb, kind="stable")
    ua, start_a, ca = np.unique(ba[oa], return_index=True, return_counts=True)
    ub, start_b, cb = np.unique(bb[ob], return_index=True, return_counts=True)
    _, ia_u, ib_u = np.intersect1d(ua, ub, return_indices=True)
    take = np.minimum(ca[ia_u], cb[ib_u])
    offsets = np.arange(int(take.sum())) - np.repeat(np.cumsum(take) - take, take)
    ia = oa[np.repeat(start_a[ia_u], take) + offsets]
    ib = ob[np.repeat(start_b[ib_u], take) + offsets]
    order = rng.permutation(len(ia))
    return ia[order], ib[order]


def _seeds_and_labels(
    rng: np.random.Generator, n: int, length: int, window: float, match: bool, max_rounds: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Seed pairs, labels (exactly ``n // 2`` ones, random order) and marker path index ``k``."""
    labels = rng.permutation(np.arange(n) < n // 2)
    pairs = np.empty((n, 2, length, 2, 2))
    ks = np.empty(n, dtype=np.int64)
    todo = {0: np.flatnonzero(~labels), 1: np.flatnonzero(labels)}
    for _ in range(max_rounds):
        need = max(len(v) for v in todo.values())
        if need == 0:
            return pairs, labels, ks
        cand = _seed_pairs(rng, 8 * need + 32, length, window)
        k = rng.integers(0, 2, len(cand))
        d_pos, d_neg = _marker_distances(cand, k)
        half = len(cand) // 2
        if match:
            ia, ib = _matched_pairs(rng, d_pos[:half], d_neg[half:])
        else:
            ia, ib = np.arange(half), np.arange(len(cand) - half)
        for label, idx in ((1, ia), (0, half + ib)):
            take = idx[: len(todo[label])]
            slots, todo[label] = todo[label][: len(take)], todo[label][len(take) :]
            pairs[slots], ks[slots] = cand[take], k[take]
    raise RuntimeError(
        f"pathfinder could not place two seed paths of length {length} in a {window:g}-unit "
        f"window within {max_rounds} rounds; use a larger window (about 220 units hold length 9) "
        "or raise max_rounds"
    )


def _distractors(
    rng: np.random.Generator, seeds: np.ndarray, markers: np.ndarray, length: int, window: float
) -> np.ndarray:
    """Distractor paddles (n, D·l, 2, 2), NaN where a distractor did not fit in its tries."""
    n = len(seeds)
    count = math.ceil(90 / length * (window / RULES["window"]) ** 2)
    size = max(1, length // 3)
    placed = np.full((n, count * size, 2, 2), np.nan)
    obstacles = np.concatenate([seeds.reshape(n, -1, 2, 2), placed], 1)
    dots = np.repeat(markers[:, :, None, :], 2, axis=2)  # markers as zero-length segments
    lo, hi = RULES["padding"], window - RULES["padding"]
    base = seeds.shape[1] * seeds.shape[2]
    for slot in range(count):
        pending = np.arange(n)
        for _ in range(_TRIES):
            cand = _paths(rng, rng.uniform(lo, hi, size=(len(pending), 2)), size)
            ok = _fits(cand, window)
            ok &= _min_distance(cand, obstacles[pending]) >= _GAP
            ok &= _min_distance(cand, dots[pending]) >= _MARKER_GAP
            rows = pending[ok]
            obstacles[rows, base + slot * size : base + (slot + 1) * size] = cand[ok]
            pending = pending[~ok]
            if len(pending) == 0:
                break
    return obstacles[:, base:]


def _check(n: object, path_length: object, scale: object, supersample: object) -> None:
    for name, value, low, high in (
        ("n", n, 1, None),
        ("path_length", path_length, 1, 32),
        ("supersample", supersample, 1, 16),
    ):
        if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
            raise TypeError(f"pathfinder {name} must be an int; got {type(value).__name__}")
        if value < low or (high is not None and value > high):
            rng = f">= {low}" if high is None else f"in [{low}, {high}]"
            raise ValueError(f"pathfinder {name} must be {rng}; got {value}")
    if not isinstance(scale, (int, float)) or not 0.05 <= scale <= 4:
        raise ValueError(f"pathfinder scale must be a number in [0.05, 4]; got {scale!r}")


def pathfinder(
    n: int,
    *,
    path_length: int,
    seed: int,
    scale: float = 1.0,
    window: float = RULES["window"],
    match_distance: bool = True,
    supersample: int = 4,
    max_rounds: int = 200,
) -> TaskData:
    """Generate ``n`` Pathfinder images (exactly ``n // 2`` connected, in random order).

    Parameters
    ----------
    n
        Number of images.
    path_length
        Paddles per seed path ``L``: the difficulty (the paper: 3, 5, 7, 9).
    seed
        Seed of numpy's generator: the same arguments give the same images.
    scale
        Image side ``round(window / 2 · scale)`` pixels, every length scaled with it (see the
        module docstring); ``1`` on the 300 window is the paper's 150×150.
    window
        Side of the window in units (the paper: 300). A smaller window is a crop of the same
        task: same paddles, paths and density of distractors (``ceil(90 / L · (window/300)²)``
        of them), less room: at least 160 units, and about 220 for length 9 (smaller windows
        rarely fit both seed paths).
    match_distance
        Keep the marker distance uninformative (see the module docstring).
    supersample
        Antialiasing: sub-pixels per pixel side.
    max_rounds
        Budget of redraw rounds for the seed paths before giving up.

    Returns
    -------
    TaskData
        ``x`` of shape ``(n, 1, S, S)`` in ``[0, 1]``, ``y`` in ``{0, 1}``. ``meta`` holds the
        arguments and, in pixel coordinates ``(row, column)``: ``markers`` ``(n, 2, 2)`` (origin
        marker first), ``seeds`` ``(n, 2, L, 2, 2)`` (the two seed paths' paddles),
        ``marked`` ``(n,)`` (which seed path holds the origin marker), ``distractors``
        ``(n, D, 2, 2)`` (NaN rows: not placed), ``thickness`` and ``marker_radius`` (pixels).

    Raises
    ------
    ValueError, TypeError
        For a non-integer or out-of-range argument; the message names it and its range.
    RuntimeError
        If the seed paths do not fit within ``max_rounds`` redraws.

    Examples
    --------
    >>> d = pathfinder(4, path_length=3, scale=0.2, seed=0)
    >>> tuple(d.x.shape), sorted(d.y.tolist())
    ((4, 1, 30, 30), [0, 0, 1, 1])
    """
    _check(n, path_length, scale, supersample)
    if not isinstance(window, (int, float)) or not 160 <= window <= 3000:
        raise ValueError(f"pathfinder window must be a number in [160, 3000] units; got {window!r}")
    rng = np.random.default_rng(seed)
    seeds, labels, k = _seeds_and_labels(rng, n, path_length, window, match_distance, max_rounds)
    rows = np.arange(n)
    terminal = np.where(labels, k, 1 - k)
    markers = np.stack([seeds[rows, k, 0, 0], seeds[rows, terminal, -1, 1]], 1)
    distractors = _distractors(rng, seeds, markers, path_length, window)
    side = image_side(scale, window)
    f = side / window
    lines = np.concatenate([seeds.reshape(n, -1, 2, 2), distractors], 1) * f
    dots = np.repeat(markers[:, :, None, :], 2, axis=2) * f
    image = np.maximum(
        draw_segments(lines, side, radius=RULES["thickness"] / 2 * f, supersample=supersample),
        draw_segments(dots, side, radius=RULES["marker_radius"] * f, supersample=supersample),
    )
    meta = {
        "task": "pathfinder",
        "path_length": path_length,
        "scale": scale,
        "window": window,
        "seed": seed,
        "match_distance": match_distance,
        "markers": markers * f,
        "seeds": seeds * f,
        "marked": k,
        "distractors": distractors * f,
        "thickness": RULES["thickness"] * f,
        "marker_radius": RULES["marker_radius"] * f,
    }
    x = torch.from_numpy(image)[:, None]
    return TaskData(x, torch.from_numpy(labels.astype(np.int64)), meta)


def shortcut_accuracy(train: TaskData, test: TaskData, *, bins: int = 40) -> float:
    """Test accuracy of the best classifier of the marker distance alone, fitted on ``train``.

    The classifier predicts, in each of ``bins`` quantile bins of the train distances, the
    majority label of that bin (any function of the distance, up to binning). Near 0.5 means the
    distance between the markers does not reveal the label.

    Examples
    --------
    >>> a = pathfinder(64, path_length=3, scale=0.2, seed=0)
    >>> 0.0 <= shortcut_accuracy(a, pathfinder(64, path_length=3, scale=0.2, seed=1)) <= 1.0
    True
    """

    def distance(d: TaskData) -> np.ndarray:
        m = np.asarray(d.meta["markers"])
        return np.linalg.norm(m[:, 0] - m[:, 1], axis=-1) / d.x.shape[-1]

    d_train, d_test = distance(train), distance(test)
    edges = np.unique(np.quantile(d_train, np.linspace(0, 1, bins + 1)))
    where_train = np.clip(np.digitize(d_train, edges) - 1, 0, len(edges) - 2)
    where_test = np.clip(np.digitize(d_test, edges) - 1, 0, len(edges) - 2)
    y = train.y.numpy()
    ones = np.bincount(where_train, weights=y, minlength=len(edges) - 1)
    total = np.bincount(where_train, minlength=len(edges) - 1)
    predict = (ones > total / 2).astype(np.int64)[where_test]
    return float((predict == test.y.numpy()).mean())
