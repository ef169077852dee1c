"""Reading MNIST-format (IDX) files that a user already has, raw or gzip-compressed.

Vocabulary
----------
IDX file
    A big-endian header: two zero bytes, a type code (0x08 = unsigned byte), the number of
    dimensions k, then k uint32 sizes; then the data in C order. MNIST images are
    ``idx3-ubyte`` (n, 28, 28), labels ``idx1-ubyte`` (n,). Fashion-MNIST and EMNIST use the
    same format. Files starting with the gzip magic bytes are decompressed transparently.
"""

from __future__ import annotations

import gzip
import os
import struct
from typing import Any

import numpy as np
import torch

from tnreg.data.checks import DataError

__all__ = ["load_mnist_idx", "read_idx"]

_GZIP_MAGIC = b"\x1f\x8b"
_UBYTE = 0x08


def read_idx(path: str | os.PathLike) -> np.ndarray:
    """One IDX file (unsigned-byte data) as a numpy uint8 array of the stored shape.

    Raises
    ------
    DataError
        If the header is not an unsigned-byte IDX header or the data are truncated.
    """
    with open(path, "rb") as f:
        raw = f.read()
    if raw[:2] == _GZIP_MAGIC:
        raw = gzip.decompress(raw)
    if len(raw) < 4 or raw[:2] != b"\x00\x00" or raw[2] != _UBYTE:
        head = raw[:4].hex()
        raise DataError(
            f"{os.fspath(path)!r} is not an unsigned-byte IDX file: the header starts 0x{head}, "
            f"expected 0x0000 08 then the number of dimensions (e.g. 0x00000803 for images)"
        )
    ndim = raw[3]
    start = 4 + 4 * ndim
    if len(raw) < start:
        raise DataError(f"{os.fspath(path)!r}: IDX header truncated ({len(raw)} bytes)")
    shape = struct.unpack(f">{ndim}I", raw[4:start])
    size = int(np.prod(shape, dtype=np.int64))
    if len(raw) - start != size:
        raise DataError(
            f"{os.fspath(path)!r}: the header announces shape {shape} ({size:,} bytes of data) "
            f"but the file holds {len(raw) - start:,}; the file is truncated or not IDX"
        )
    return np.frombuffer(raw, dtype=np.uint8, offset=start).reshape(shape)


def load_mnist_idx(images_path: Any, labels_path: Any) -> tuple[torch.Tensor, torch.Tensor]:
    """MNIST-format images and labels (e.g. ``train-images-idx3-ubyte.gz``, raw or gzip).

    Returns
    -------
    (images, labels)
        uint8 (n, H, W) and int64 (n,) tensors.

    Raises
    ------
    DataError
        If a file is not IDX, the images are not 3-D, the labels not 1-D, or the counts differ.
    """
    images = read_idx(images_path)
    labels = read_idx(labels_path)
    if images.ndim != 3:
        raise DataError(
            f"images file {os.fspath(images_path)!r} must hold (n, H, W) images (idx3); "
            f"got shape {images.shape}"
        )
    if labels.ndim != 1:
        raise DataError(
            f"labels file {os.fspath(labels_path)!r} must hold (n,) labels (idx1); "
            f"got shape {labels.shape}"
        )
    if images.shape[0] != labels.shape[0]:
        raise DataError(
            f"{images.shape[0]} images but {labels.shape[0]} labels; pass matching files "
            f"(e.g. train-images with train-labels)"
        )
    return torch.from_numpy(images.copy()), torch.from_numpy(labels.astype(np.int64))
