"""Task data for the locality experiments: a labelled image set, and the CIFAR-10 loader.

Vocabulary
----------
task data
    Images ``x`` of shape ``(N, C, H, W)`` (float32 in ``[0, 1]``) and integer labels ``y`` of
    shape ``(N,)``, with a ``meta`` dictionary describing how they were made (task, difficulty,
    seed). Binary tasks use label ``1`` for "yes" (markers joined, same class).
CIFAR-10 python layout
    The directory ``cifar-10-batches-py`` of the official archive: pickled dictionaries
    ``data_batch_1`` … ``data_batch_5`` and ``test_batch`` with ``b"data"`` (uint8, ``(n, 3072)``,
    channel-major 32×32 images) and ``b"labels"``.
"""

from __future__ import annotations

import pickle
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch

__all__ = ["TaskData", "load_cifar10"]


@dataclass(frozen=True)
class TaskData:
    """Images, labels and a description (see the module docstring).

    Examples
    --------
    >>> d = TaskData(torch.zeros(4, 1, 2, 2), torch.tensor([0, 1, 1, 0]))
    >>> len(d), d.image_shape, d.subset(torch.tensor([1, 2])).y.tolist()
    (4, (1, 2, 2), [1, 1])
    """

    x: torch.Tensor
    y: torch.Tensor
    meta: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.x.ndim != 4 or self.y.ndim != 1 or self.x.shape[0] != self.y.shape[0]:
            raise ValueError(
                "TaskData needs images (N, C, H, W) and labels (N,) with the same N; got "
                f"{tuple(self.x.shape)} and {tuple(self.y.shape)}"
            )

    def __len__(self) -> int:
        return int(self.y.shape[0])

    @property
    def image_shape(self) -> tuple[int, int, int]:
        """``(C, H, W)``."""
        c, h, w = self.x.shape[1:]
        return (int(c), int(h), int(w))

    def subset(self, index: torch.Tensor) -> TaskData:
        """The samples at ``index`` (same ``meta``)."""
        return TaskData(self.x[index], self.y[index], dict(self.meta))


def load_cifar10(root: str | Path, *, train: bool = True) -> tuple[torch.Tensor, torch.Tensor]:
    """Load CIFAR-10 from its python-pickle layout.

    Parameters
    ----------
    root
        The directory holding ``data_batch_*`` and ``test_batch`` (usually
        ``cifar-10-batches-py``).
    train
        ``True``: every ``data_batch_*`` file in name order; ``False``: ``test_batch``.

    Returns
    -------
    (torch.Tensor, torch.Tensor)
        Images ``(n, 3, 32, 32)`` float32 in ``[0, 1]`` and labels ``(n,)`` int64.

    Raises
    ------
    FileNotFoundError
        If the directory has none of the expected files; the message lists what is there.
    ValueError
        If a file is not a CIFAR-10 batch (missing keys or wrong sizes).
    """
    root = Path(root)
    files = sorted(root.glob("data_batch_*")) if train else sorted(root.glob("test_batch"))
    if not files:
        there = sorted(p.name for p in root.iterdir())[:10] if root.is_dir() else "no directory"
        want = "data_batch_1 .. data_batch_5" if train else "test_batch"
        raise FileNotFoundError(
            f"no CIFAR-10 {want} in {str(root)!r} (found: {there}); download "
            "cifar-10-python.tar.gz from https://www.cs.toronto.edu/~kriz/cifar.html and pass "
            "its cifar-10-batches-py directory"
        )
    images, labels = [], []
    for path in files:
        with open(path, "rb") as fh:
            batch = pickle.load(fh, encoding="bytes")
        if not isinstance(batch, dict) or b"data" not in batch or b"labels" not in batch:
            raise ValueError(
                f"{path.name} is not a CIFAR-10 batch: expected a dict with b'data' and "
                f"b'labels'; got {type(batch).__name__}"
                + (f" with keys {sorted(batch)[:5]}" if isinstance(batch, dict) else "")
            )
        data = np.asarray(batch[b"data"], dtype=np.uint8)
        if data.ndim != 2 or data.shape[1] != 3072 or data.shape[0] != len(batch[b"labels"]):
            raise ValueError(
                f"{path.name}: expected data of shape (n, 3072) and n labels; got data "
                f"{data.shape} and {len(batch[b'labels'])} labels"
            )
        images.append(data.reshape(-1, 3, 32, 32))
        labels.append(np.asarray(batch[b"labels"], dtype=np.int64))
    x = torch.from_numpy(np.concatenate(images)).float().div_(255.0)
    return x, torch.from_numpy(np.concatenate(labels))
