"""Tests of tnreg.data.images and tnreg.data.mnist: binarized images as tensor entries."""

from __future__ import annotations

import gzip
import struct

import numpy as np
import pytest
import torch

from tnreg.data import (
    DataError,
    binarize_images,
    digits_task,
    image_task,
    load_mnist_idx,
    make_dataset,
    mnist_task,
)


def _write_idx(path, array: np.ndarray, *, compress: bool = False) -> None:
    """An unsigned-byte IDX file written from the format's definition (independent of tnreg)."""
    header = b"\x00\x00\x08" + bytes([array.ndim]) + struct.pack(f">{array.ndim}I", *array.shape)
    raw = header + array.astype(np.uint8).tobytes()
    with open(path, "wb") as f:
        f.write(gzip.compress(raw) if compress else raw)


@pytest.fixture
def tiny_mnist(tmp_path):
    rng = np.random.default_rng(0)
    images = rng.integers(0, 256, size=(12, 4, 4), dtype=np.uint8)
    labels = np.array([6, 1, 6, 2, 0, 6, 3, 6, 9, 1, 6, 2], dtype=np.uint8)
    _write_idx(tmp_path / "img.gz", images, compress=True)
    _write_idx(tmp_path / "lab", labels)
    return tmp_path / "img.gz", tmp_path / "lab", images, labels


# ---------------------------------------------------------------------------------- binarize


def test_binarize_threshold_and_block_average():
    rng = np.random.default_rng(1)
    images = rng.integers(0, 256, size=(5, 28, 28)).astype(np.float64)
    out = binarize_images(torch.tensor(images), threshold=128, size=(7, 7))
    blocks = images.reshape(5, 7, 4, 7, 4).mean(axis=(2, 4))  # exact 4x4 blocks
    np.testing.assert_array_equal(out.numpy(), (blocks >= 128).reshape(5, 49))
    flat = binarize_images(torch.tensor(images), threshold=100)
    np.testing.assert_array_equal(flat.numpy(), (images >= 100).reshape(5, 784))
    assert out.dtype == torch.long


@pytest.mark.parametrize(
    ("images", "kwargs", "match"),
    [
        (torch.zeros(3), {}, r"images must be a tensor of shape \(n, H, W\) or \(n, P\)"),
        (torch.zeros(3, 4), {"size": (2, 2)}, r"size= needs images of shape \(n, H, W\)"),
        (torch.zeros(3, 4, 4), {"size": (8, 8)}, r"size \(8, 8\) must be between \(1, 1\)"),
        (torch.zeros(3, 4, 4), {"size": (2.0, 2)}, r"size must be \(height, width\) ints"),
    ],
)
def test_binarize_errors(images, kwargs, match):
    with pytest.raises(DataError, match=match):
        binarize_images(images, threshold=1, **kwargs)


# ---------------------------------------------------------------------------------- the task

ENTRIES = torch.tensor([[0, 1, 1], [1, 1, 0], [1, 0, 0], [0, 0, 0], [1, 1, 1], [0, 1, 0]])
LABELS = torch.tensor([6, 0, 6, 2, 3, 6])


def test_one_vs_all_with_the_papers_label_values():
    data = image_task(ENTRIES, LABELS, seed=0)
    assert data.dims == (2, 2, 2) and data.num_train == 6 and data.target is None
    pairs = {tuple(i): v for i, v in zip(data.train_indices.tolist(), data.train_values.tolist())}
    expected = {tuple(i): 2.0 if lab == 6 else 0.0 for i, lab in zip(ENTRIES.tolist(), LABELS)}
    assert pairs == expected
    assert data.config["negative"] == "rest" and data.config["values"] == [2.0, 0.0]


def test_class_against_class_with_signed_values_and_a_test_split():
    data = image_task(
        ENTRIES, LABELS, positive=6, negative=[0, 2], values=(1, -1), test_fraction=0.4, seed=0
    )
    assert data.num_train + data.num_test == 5 and data.num_test == 2
    assert sorted(torch.cat([data.train_values, data.test_values]).tolist()) == [-1, -1, 1, 1, 1]


def test_random_labels_permutes_labels_and_keeps_images():
    real = image_task(ENTRIES, LABELS, seed=3)
    control = image_task(ENTRIES, LABELS, control="random_labels", seed=3)
    assert torch.equal(real.train_indices, control.train_indices)
    assert sorted(real.train_values.tolist()) == sorted(control.train_values.tolist())


def test_random_images_keeps_labels_and_draws_distinct_entries():
    entries = torch.randint(0, 2, (40, 64), generator=torch.Generator().manual_seed(0))
    labels = torch.arange(40) % 3
    real = image_task(entries, labels, positive=1, seed=3)
    control = image_task(entries, labels, positive=1, control="random_images", seed=3)
    assert torch.equal(real.train_values, control.train_values)
    assert not torch.equal(real.train_indices, control.train_indices)
    assert torch.unique(control.train_indices, dim=0).shape[0] == 40


def test_duplicate_images_are_counted():
    data = image_task(torch.tensor([[0, 1], [0, 1], [1, 1]]), torch.tensor([6, 0, 6]), seed=0)
    assert data.info == {"duplicate_entries": 1}


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"positive": 7}, r"positive class 7 not in the labels; classes: \[0, 2, 3, 6\]"),
        ({"negative": [6]}, r"negative classes \[6\] are not in the labels or equal positive=6"),
        ({"negative": "all"}, r"negative must be a class, a list of classes or 'rest'"),
        ({"control": "shuffle"}, r"unknown control='shuffle'; valid options: \['none'"),
        ({"values": (1,)}, r"values must be two numbers \(positive, negative\)"),
        ({"test_fraction": 1.0}, r"test_fraction must be in \[0, 1\); got 1.0"),
    ],
)
def test_image_task_errors(kwargs, match):
    with pytest.raises(DataError, match=match):
        image_task(ENTRIES, LABELS, **{"seed": 0, **kwargs})
    with pytest.raises(DataError, match=r"entries \(n, P\) and labels \(n,\) must agree on n"):
        image_task(ENTRIES, LABELS[:3], seed=0)


# -------------------------------------------------------------------------------------- MNIST


def test_load_mnist_idx_gzip_and_raw(tiny_mnist):
    images_path, labels_path, images, labels = tiny_mnist
    x, y = load_mnist_idx(images_path, labels_path)
    np.testing.assert_array_equal(x.numpy(), images)
    np.testing.assert_array_equal(y.numpy(), labels)
    assert x.dtype == torch.uint8 and y.dtype == torch.long


def test_mnist_task_downsamples_and_rebuilds_from_config(tiny_mnist):
    images_path, labels_path, images, labels = tiny_mnist
    data = mnist_task(images_path, labels_path, size=(2, 2), seed=0)
    assert data.dims == (2,) * 4 and data.num_train == 12
    blocks = images.astype(np.float64).reshape(12, 2, 2, 2, 2).mean(axis=(2, 4)).reshape(12, 4)
    rows = {tuple(r) for r in (blocks >= 128).astype(int).tolist()}
    assert {tuple(r) for r in data.train_indices.tolist()} == rows
    assert float(data.train_values.sum()) == 2.0 * int((labels == 6).sum())
    again = make_dataset(data.config)
    assert torch.equal(again.train_indices, data.train_indices)
    full = make_dataset({**data.config, "size": "none"})
    assert full.dims == (2,) * 16


def test_idx_errors(tmp_path, tiny_mnist):
    images_path, labels_path, _, _ = tiny_mnist
    (tmp_path / "bad").write_bytes(b"\x00\x00\x0d\x01" + b"\x00" * 8)
    with pytest.raises(
        DataError, match=r"not an unsigned-byte IDX file: the header starts 0x00000d01"
    ):
        load_mnist_idx(tmp_path / "bad", labels_path)
    (tmp_path / "short").write_bytes(b"\x00\x00\x08\x01" + struct.pack(">I", 10) + b"\x00" * 3)
    with pytest.raises(DataError, match=r"announces shape \(10,\) .* holds 3"):
        load_mnist_idx(images_path, tmp_path / "short")
    _write_idx(tmp_path / "few", np.zeros(5, dtype=np.uint8))
    with pytest.raises(DataError, match=r"12 images but 5 labels"):
        load_mnist_idx(images_path, tmp_path / "few")
    with pytest.raises(DataError, match=r"must hold \(n, H, W\) images \(idx3\)"):
        load_mnist_idx(labels_path, labels_path)
    with pytest.raises(DataError, match=r"must hold \(n,\) labels \(idx1\)"):
        load_mnist_idx(images_path, images_path)


# ------------------------------------------------------------------------------------- digits


def test_digits_as_order_64_binary_entries():
    pytest.importorskip("sklearn", reason="the digits ship with scikit-learn (extra 'data')")
    from sklearn.datasets import load_digits

    bunch = load_digits()
    data = digits_task(seed=0)
    assert data.dims == (2,) * 64 and data.num_train == len(bunch.target)
    assert float(data.train_values.sum()) == 2.0 * int((bunch.target == 6).sum())
    expected = {tuple(r) for r in (bunch.images >= 8).reshape(-1, 64).astype(int).tolist()}
    assert {tuple(r) for r in data.train_indices.tolist()} == expected
    two_vs_zero = digits_task(positive=2, negative=0, values=(1, -1), seed=0)
    assert two_vs_zero.num_train == int(np.isin(bunch.target, [0, 2]).sum())
    again = make_dataset(two_vs_zero.config)
    assert torch.equal(again.train_values, two_vs_zero.train_values)
