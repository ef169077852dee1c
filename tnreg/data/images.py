"""Images as entries of a binary tensor: the "tensor rank as a measure of complexity" data.

Vocabulary
----------
binarized image
    An image of P pixels turned into a multi-index in {0, 1}^P: pixel p is 1 where its value
    is >= ``threshold`` and 0 below. A dataset of images is then a completion task on a
    binary tensor of order P (64 for scikit-learn's 8×8 digits), one observed entry per image
    (Razin, Maman & Cohen 2021, Sec. 5). Two different images can binarize to the same entry;
    all samples are kept and ``Dataset.info["duplicate_entries"]`` counts the repeats.
labels
    One-vs-all, as in the paper's code (github.com/noamrazin/imp_reg_in_tf): the ``positive``
    class (default 6, the paper's MNIST choice) against every other class (``negative="rest"``),
    with label values 2 for positive and 0 for negative (``values=(2.0, 0.0)``, the paper's
    "2 vs 0"). ``negative`` may instead be a class or a list of classes (e.g. digit 2 against
    digit 0: ``positive=2, negative=[0]``), and ``values`` any pair, e.g. (1, -1).
controls
    ``"random_images"``: every image replaced by a uniform random entry of {0, 1}^P, labels
    kept (drawn without replacement; the paper draws with replacement, which at 2^64 entries
    makes no difference). ``"random_labels"``: the labels shuffled by a seeded permutation
    (class balance kept). ``"none"``: the real data.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from typing import Any

import numpy as np
import torch

from tnreg.data.checks import DataError, check_choice, check_count, check_seed
from tnreg.data.dataset import Dataset
from tnreg.data.sampling import draw_entries

__all__ = [
    "CONTROLS",
    "DIGITS_THRESHOLD",
    "MNIST_THRESHOLD",
    "binarize_images",
    "digits_task",
    "image_task",
    "load_digits",
    "mnist_task",
]

CONTROLS = ("none", "random_images", "random_labels")
DIGITS_THRESHOLD = 8.0  # sklearn digits take values 0..16: half the range
MNIST_THRESHOLD = 128.0  # MNIST pixels take values 0..255


def binarize_images(
    images: torch.Tensor, *, threshold: float, size: Sequence[int] | None = None
) -> torch.Tensor:
    """Multi-indices in {0, 1}^P from a batch of images.

    Parameters
    ----------
    images
        Shape (n, H, W) (or (n, P), already flat, when ``size`` is None), any real dtype.
    threshold
        Pixels >= ``threshold`` become 1, the rest 0 (on the downsampled values).
    size
        (h, w) to downsample to first, by averaging over (adaptive) pixel blocks; ``None``
        keeps the resolution.

    Returns
    -------
    torch.Tensor
        Shape (n, P) with P = h·w (or H·W), int64 in {0, 1}.

    Examples
    --------
    >>> img = torch.tensor([[[0.0, 200.0], [255.0, 10.0]]])
    >>> binarize_images(img, threshold=128)
    tensor([[0, 1, 1, 0]])
    """
    if not isinstance(images, torch.Tensor) or images.ndim not in (2, 3):
        got = tuple(images.shape) if isinstance(images, torch.Tensor) else type(images).__name__
        raise DataError(f"images must be a tensor of shape (n, H, W) or (n, P); got {got}")
    x = images.to(torch.float64)
    if size is not None:
        if x.ndim != 3:
            raise DataError(f"size= needs images of shape (n, H, W); got {tuple(x.shape)}")
        size = tuple(size)
        if len(size) != 2 or any(isinstance(s, bool) or not isinstance(s, int) for s in size):
            raise DataError(f"size must be (height, width) ints; got {size!r}")
        if size[0] > x.shape[1] or size[1] > x.shape[2] or min(size) < 1:
            raise DataError(
                f"size {size} must be between (1, 1) and the image size {tuple(x.shape[1:])}"
            )
        x = torch.nn.functional.adaptive_avg_pool2d(x.unsqueeze(1), size).squeeze(1)
    return (x.flatten(1) >= threshold).long()


def _select(labels: torch.Tensor, positive: int, negative: Any) -> tuple[torch.Tensor, list]:
    classes = sorted(int(c) for c in torch.unique(labels))
    if positive not in classes:
        raise DataError(f"positive class {positive!r} not in the labels; classes: {classes}")
    if negative == "rest":
        negative = [c for c in classes if c != positive]
    if isinstance(negative, int) and not isinstance(negative, bool):
        negative = [negative]
    if isinstance(negative, str) or not isinstance(negative, Sequence) or not negative:
        raise DataError(f"negative must be a class, a list of classes or 'rest'; got {negative!r}")
    bad = [c for c in negative if c not in classes or c == positive]
    if bad:
        raise DataError(
            f"negative classes {bad} are not in the labels or equal positive={positive}; "
            f"classes: {classes}"
        )
    keep = torch.isin(labels, torch.tensor([positive, *negative]))
    return keep, sorted(int(c) for c in negative)


def _label_values(values: Any) -> tuple[float, float]:
    ok = isinstance(values, Sequence) and not isinstance(values, str) and len(values) == 2
    if not ok or not all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in values):
        raise DataError(f"values must be two numbers (positive, negative); got {values!r}")
    return float(values[0]), float(values[1])


def image_task(
    entries: torch.Tensor,
    labels: torch.Tensor,
    *,
    positive: int = 6,
    negative: int | Sequence[int] | str = "rest",
    control: str = "none",
    values: Sequence[float] = (2.0, 0.0),
    test_fraction: float = 0.0,
    seed: int,
    config: dict | None = None,
) -> Dataset:
    """A completion dataset of binarized images with one-vs-all labels (no target).

    Parameters
    ----------
    entries
        (n, P) multi-indices in {0, 1}^P (from :func:`binarize_images`).
    labels
        (n,) integer classes.
    positive, negative, control
        See the module docstring.
    values
        Label values (positive, negative).
    test_fraction
        Fraction of the samples held out (after a seeded shuffle); 0 keeps all for training.
    seed
        Seeds the shuffle, then the control's draw.
    config
        Source keys to record (e.g. the loader's); the task's own keys are added.

    Examples
    --------
    >>> entries = torch.tensor([[0, 1], [1, 1], [1, 0], [0, 0]])
    >>> data = image_task(entries, torch.tensor([2, 0, 2, 5]), positive=2, negative=0, seed=0)
    >>> data.num_train, sorted(data.train_values.tolist())
    (3, [0.0, 2.0, 2.0])
    """
    if entries.ndim != 2 or entries.shape[0] != labels.shape[0] or labels.ndim != 1:
        raise DataError(
            f"entries (n, P) and labels (n,) must agree on n; got {tuple(entries.shape)} and "
            f"{tuple(labels.shape)}"
        )
    check_choice(control, CONTROLS, "control")
    seed = check_seed(seed)
    if not 0 <= test_fraction < 1:
        raise DataError(f"test_fraction must be in [0, 1); got {test_fraction!r}")
    keep, classes = _select(labels, check_count(positive, "positive", minimum=0), negative)
    entries, labels = entries[keep].long(), labels[keep]
    gen = torch.Generator().manual_seed(seed)
    order = torch.randperm(entries.shape[0], generator=gen)
    entries, labels = entries[order], labels[order]
    dims = (2,) * entries.shape[1]
    if control == "random_images":
        entries = draw_entries(dims, entries.shape[0], generator=gen)
    elif control == "random_labels":
        labels = labels[torch.randperm(labels.shape[0], generator=gen)]
    high, low = _label_values(values)
    targets = torch.where(labels == positive, high, low).to(torch.float64)
    num_test = round(entries.shape[0] * test_fraction)
    num_train = entries.shape[0] - num_test
    distinct = torch.unique(entries, dim=0).shape[0]
    task = {
        "positive": positive,
        "negative": "rest" if negative == "rest" else classes,
        "control": control,
        "values": [high, low],
        "test_fraction": float(test_fraction),
        "seed": seed,
    }
    return Dataset(
        kind="completion",
        dims=dims,
        train_indices=entries[:num_train],
        train_values=targets[:num_train],
        test_indices=entries[num_train:],
        test_values=targets[num_train:],
        target=None,
        config={**(config or {}), **task},
        info={"duplicate_entries": int(entries.shape[0] - distinct)},
    )


def load_digits() -> tuple[torch.Tensor, torch.Tensor]:
    """scikit-learn's bundled 8×8 digits: images (1797, 8, 8) float64 in 0..16, labels (1797,).

    Needs the ``data`` extra (``pip install tnreg[data]``); no network access. Read once per
    process; each call returns fresh copies.
    """
    images, labels = _digits_arrays()
    return torch.from_numpy(images.copy()), torch.from_numpy(labels.copy())


@functools.lru_cache(maxsize=1)
def _digits_arrays() -> tuple[np.ndarray, np.ndarray]:
    try:
        from sklearn.datasets import load_digits as sk_load_digits
    except ImportError:  # pragma: no cover - depends on the environment
        raise ImportError("the digits data need scikit-learn: pip install 'tnreg[data]'") from None
    bunch = sk_load_digits()
    return bunch.images.astype(np.float64), bunch.target.astype(np.int64)


def digits_task(
    *,
    threshold: float = DIGITS_THRESHOLD,
    positive: int = 6,
    negative: int | Sequence[int] | str = "rest",
    control: str = "none",
    values: Sequence[float] = (2.0, 0.0),
    test_fraction: float = 0.0,
    seed: int,
) -> Dataset:
    """The 8×8 digits as entries of a binary tensor of order 64 (see the module docstring).

    Examples
    --------
    >>> data = digits_task(seed=0)  # doctest: +SKIP
    >>> data.dims == (2,) * 64, data.num_train  # doctest: +SKIP
    (True, 1797)
    """
    images, labels = load_digits()
    entries = binarize_images(images, threshold=threshold)
    source = {"task": "digits", "threshold": float(threshold)}
    return image_task(
        entries,
        labels,
        positive=positive,
        negative=negative,
        control=control,
        values=values,
        test_fraction=test_fraction,
        seed=seed,
        config=source,
    )


def mnist_task(
    images_path: Any,
    labels_path: Any,
    *,
    size: Sequence[int] | None = (8, 8),
    threshold: float = MNIST_THRESHOLD,
    positive: int = 6,
    negative: int | Sequence[int] | str = "rest",
    control: str = "none",
    values: Sequence[float] = (2.0, 0.0),
    test_fraction: float = 0.0,
    seed: int,
) -> Dataset:
    """MNIST-format files (see :func:`tnreg.data.mnist.load_mnist_idx`) as a binary tensor.

    Images are averaged down to ``size`` (default 8×8: order 64, like the digits; ``None``
    keeps 28×28, order 784), then binarized at ``threshold`` (default 128 of 0..255).
    """
    from tnreg.data.mnist import load_mnist_idx

    images, labels = load_mnist_idx(images_path, labels_path)
    entries = binarize_images(images, threshold=threshold, size=size)
    source = {
        "task": "mnist",
        "images": str(images_path),
        "labels": str(labels_path),
        "size": None if size is None else list(size),
        "threshold": float(threshold),
    }
    return image_task(
        entries,
        labels,
        positive=positive,
        negative=negative,
        control=control,
        values=values,
        test_fraction=test_fraction,
        seed=seed,
        config=source,
    )
