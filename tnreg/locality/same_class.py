"""Is-Same-Class: two images side by side on a blank canvas; do they show the same class?

Vocabulary
----------
source images
    A labelled image set ``(images (M, C, h, w), labels (M,))``: scikit-learn's bundled 8×8
    handwritten digits by default (:func:`digits`), or CIFAR-10 through
    :func:`tnreg.locality.data.load_cifar10`.
canvas
    A zero image of height ``h + 2·pad`` and width ``w + distance + 2·pad``: the first image sits
    at column ``pad``, the second ``distance`` pixels to its right (``distance >= w``, so they do
    not overlap). The horizontal distance is the difficulty: a network biased toward locality
    cannot compare far-apart images (the paper: distance 160 on CIFAR-10 canvases).
label
    ``1`` when the two images have the same class (half of the samples, in random order).
square canvas
    The paper's layout (:func:`place_pairs`): two images of side ``32`` on a ``224×224`` canvas,
    vertically centred, separated by a horizontal *gap* of ``distance`` pixels between their
    inner edges, the pair centred. :func:`canvases` builds train / validation / test sets this
    way from CIFAR-10 (when its pickles are given) or from the digits upscaled to the image side
    (``round(32 · canvas / 224)``, nearest neighbour).
"""

from __future__ import annotations

import numpy as np
import torch

from tnreg.locality.data import TaskData

__all__ = ["canvases", "digits", "place_pairs", "same_class", "split_sources"]


def digits() -> tuple[torch.Tensor, torch.Tensor]:
    """scikit-learn's bundled digits: images ``(1797, 1, 8, 8)`` in ``[0, 1]``, labels ``(1797,)``.

    Raises
    ------
    ImportError
        If scikit-learn is missing; the message names ``pip install tnreg[data]``.
    """
    try:
        from sklearn.datasets import load_digits
    except ImportError as err:  # pragma: no cover - exercised only without the extra
        raise ImportError(
            "Is-Same-Class on digits needs scikit-learn; install it with "
            "`pip install tnreg[data]` (or pass your own images to same_class)"
        ) from err
    bunch = load_digits()
    x = torch.as_tensor(bunch.images, dtype=torch.float32)[:, None] / 16.0
    return x, torch.as_tensor(bunch.target, dtype=torch.int64)


def split_sources(
    images: torch.Tensor, labels: torch.Tensor, *, test_fraction: float = 0.3, seed: int
) -> tuple[tuple[torch.Tensor, torch.Tensor], tuple[torch.Tensor, torch.Tensor]]:
    """Split source images into disjoint train and test pools (test canvases use unseen images).

    Examples
    --------
    >>> (a, _), (b, _) = split_sources(torch.zeros(10, 1, 2, 2), torch.arange(10), seed=0)
    >>> len(a), len(b)
    (7, 3)
    """
    if not 0 < test_fraction < 1:
        raise ValueError(f"test_fraction must be in (0, 1); got {test_fraction}")
    order = torch.from_numpy(np.random.default_rng(seed).permutation(len(labels)))
    k = round(len(labels) * test_fraction)
    test, train = order[:k], order[k:]
    return (images[train], labels[train]), (images[test], labels[test])


def _pairs(labels: np.ndarray, n: int, rng: np.random.Generator) -> tuple[np.ndarray, ...]:
    """Indices ``(first, second)`` and labels: ``second`` of the same class iff the label is 1."""
    classes = np.unique(labels)
    if len(classes) < 2:
        raise ValueError(f"same_class needs images of >= 2 classes; got classes {classes.tolist()}")
    same = rng.random(n) < 0.5
    first = rng.integers(0, len(labels), n)
    other = (np.searchsorted(classes, labels[first]) + rng.integers(1, len(classes), n)) % len(
        classes
    )
    want = np.where(same, labels[first], classes[other])
    by_class = {c: np.flatnonzero(labels == c) for c in classes.tolist()}
    second = np.empty(n, dtype=np.int64)
    for c, members in by_class.items():
        rows = np.flatnonzero(want == c)
        second[rows] = members[rng.integers(0, len(members), len(rows))]
    return first, second, same.astype(np.int64)


def same_class(
    images: torch.Tensor,
    labels: torch.Tensor,
    n: int,
    *,
    distance: int,
    pad: int = 2,
    seed: int,
) -> TaskData:
    """Build ``n`` Is-Same-Class canvases from labelled source images.

    Parameters
    ----------
    images, labels
        Source images ``(M, C, h, w)`` and their classes ``(M,)``.
    n
        Number of canvases.
    distance
        Horizontal offset in pixels between the left edges of the two images (``>= w``).
    pad
        Blank border around the pair.
    seed
        Seed of numpy's generator.

    Returns
    -------
    TaskData
        ``x`` of shape ``(n, C, h + 2 pad, w + distance + 2 pad)``; ``y`` = same class.

    Raises
    ------
    ValueError
        If shapes disagree, ``distance < w``, ``n < 1``, ``pad < 0`` or only one class exists.

    Examples
    --------
    >>> imgs, labs = torch.rand(20, 1, 4, 4), torch.arange(20) % 3
    >>> d = same_class(imgs, labs, 5, distance=6, pad=1, seed=0)
    >>> tuple(d.x.shape)
    (5, 1, 6, 12)
    """
    if images.ndim != 4 or labels.shape != images.shape[:1]:
        raise ValueError(
            "same_class needs images (M, C, h, w) and labels (M,); got "
            f"{tuple(images.shape)} and {tuple(labels.shape)}"
        )
    h, w = images.shape[-2:]
    if isinstance(distance, bool) or not isinstance(distance, int) or distance < w:
        raise ValueError(
            f"same_class distance must be an int >= the image width {w} (no overlap); got "
            f"{distance!r}"
        )
    if n < 1 or pad < 0:
        raise ValueError(f"same_class needs n >= 1 and pad >= 0; got n={n}, pad={pad}")
    rng = np.random.default_rng(seed)
    first, second, same = _pairs(labels.numpy(), n, rng)
    canvas = images.new_zeros(n, images.shape[1], h + 2 * pad, w + distance + 2 * pad)
    canvas[..., pad : pad + h, pad : pad + w] = images[torch.from_numpy(first)]
    right = pad + distance
    canvas[..., pad : pad + h, right : right + w] = images[torch.from_numpy(second)]
    meta = {"task": "same-class", "distance": distance, "pad": pad, "seed": seed}
    return TaskData(canvas, torch.from_numpy(same), meta)


def place_pairs(
    images: torch.Tensor, labels: torch.Tensor, n: int, *, distance: int, canvas: int, seed: int
) -> TaskData:
    """``n`` square canvases of side ``canvas`` with two source images ``distance`` pixels apart.

    Raises
    ------
    ValueError
        If the two images and the gap do not fit the canvas.

    Examples
    --------
    >>> ones, labels = torch.ones(8, 1, 4, 4), torch.arange(8) % 2
    >>> d = place_pairs(ones, labels, 3, distance=2, canvas=12, seed=0)
    >>> d.x[0, 0, 4].tolist()
    [0.0, 1.0, 1.0, 1.0, 1.0, 0.0, 0.0, 1.0, 1.0, 1.0, 1.0, 0.0]
    """
    side = images.shape[-1]
    if 2 * side + distance > canvas or images.shape[-2] > canvas or distance < 0:
        raise ValueError(
            f"two {side}-pixel images at gap {distance} need a canvas of at least "
            f"{2 * side + distance} pixels (and distance >= 0); got canvas={canvas}"
        )
    rng = np.random.default_rng(seed)
    first, second, same = _pairs(labels.numpy(), n, rng)
    top = (canvas - images.shape[-2]) // 2
    left = (canvas - 2 * side - distance) // 2
    right = left + side + distance
    x = images.new_zeros(n, images.shape[1], canvas, canvas)
    x[..., top : top + images.shape[-2], left : left + side] = images[torch.from_numpy(first)]
    x[..., top : top + images.shape[-2], right : right + side] = images[torch.from_numpy(second)]
    meta = {"task": "same-class", "distance": distance, "canvas": canvas, "seed": seed}
    return TaskData(x, torch.from_numpy(same), meta)


def canvases(
    sizes: tuple[int, int, int],
    *,
    distance: int,
    canvas: int,
    seeds: tuple[int, int, int],
    cifar_root: str | None = None,
) -> tuple[TaskData, TaskData, TaskData]:
    """Train, validation and test sets of Is-Same-Class canvases (see the module docstring).

    Test canvases use source images that no train or validation canvas uses: CIFAR-10's
    ``test_batch`` (with ``cifar_root``), else a held-out 30% of the digits.
    """
    if cifar_root:
        from tnreg.locality.data import load_cifar10

        pool_a, pool_b = load_cifar10(cifar_root), load_cifar10(cifar_root, train=False)
    else:
        x, y = digits()
        side = max(1, round(32 * canvas / 224))
        x = torch.nn.functional.interpolate(x, size=(side, side), mode="nearest")
        pool_a, pool_b = split_sources(x, y, seed=seeds[0])
    out = [
        place_pairs(*pool, n, distance=distance, canvas=canvas, seed=s)
        for pool, n, s in zip((pool_a, pool_a, pool_b), sizes, seeds)
    ]
    return out[0], out[1], out[2]
