"""Is-Same-Class and the CIFAR-10 loader."""

from __future__ import annotations

import pickle

import numpy as np
import pytest
import torch

from tnreg.locality.data import TaskData, load_cifar10
from tnreg.locality.same_class import canvases, place_pairs, same_class, split_sources


def test_same_class_layout_and_labels():
    imgs = torch.rand(60, 1, 4, 4, dtype=torch.float32, generator=torch.Generator().manual_seed(0))
    labels = torch.arange(60) % 5
    d = same_class(imgs, labels, 300, distance=10, pad=1, seed=0)
    assert d.x.shape == (300, 1, 6, 16)
    assert d.x[..., 5:11].eq(0).all()  # the gap between the images is blank
    left, right = d.x[..., 1:5, 1:5], d.x[..., 1:5, 11:15]
    find = lambda part: torch.cdist(part.flatten(1), imgs.flatten(1)).argmin(1)  # noqa: E731
    same = labels[find(left)] == labels[find(right)]
    assert torch.equal(same.long(), d.y) and 0.35 < float(d.y.float().mean()) < 0.65


def test_same_class_errors_and_split():
    imgs, labels = torch.rand(10, 1, 4, 4), torch.arange(10) % 2
    with pytest.raises(ValueError, match="distance must be an int >= the image width 4"):
        same_class(imgs, labels, 4, distance=3, seed=0)
    with pytest.raises(ValueError, match=">= 2 classes"):
        same_class(imgs, torch.zeros(10, dtype=torch.int64), 4, distance=4, seed=0)
    with pytest.raises(ValueError, match="images"):
        same_class(imgs[0], labels, 4, distance=4, seed=0)
    with pytest.raises(ValueError, match="test_fraction"):
        split_sources(imgs, labels, test_fraction=1.0, seed=0)


def test_digits_same_class():
    pytest.importorskip("sklearn", reason="Is-Same-Class on digits needs the data extra")
    from tnreg.locality.same_class import digits

    x, y = digits()
    assert x.shape == (1797, 1, 8, 8) and float(x.max()) <= 1.0 and y.max() == 9
    assert same_class(x, y, 8, distance=16, seed=0).x.shape == (8, 1, 12, 28)


def _write_batch(path, n, seed):
    rng = np.random.default_rng(seed)
    batch = {
        b"data": rng.integers(0, 256, (n, 3072), dtype=np.uint8),
        b"labels": rng.integers(0, 10, n).tolist(),
    }
    with open(path, "wb") as fh:
        pickle.dump(batch, fh)
    return batch


def test_load_cifar10_from_tiny_pickles(tmp_path):
    a = _write_batch(tmp_path / "data_batch_1", 3, 0)
    _write_batch(tmp_path / "data_batch_2", 2, 1)
    t = _write_batch(tmp_path / "test_batch", 4, 2)
    x, y = load_cifar10(tmp_path)
    assert x.shape == (5, 3, 32, 32) and y.shape == (5,) and x.dtype == torch.float32
    assert abs(float(x[0, 1, 0, 0]) - a[b"data"][0, 1024] / 255.0) < 1e-6
    xt, yt = load_cifar10(tmp_path, train=False)
    assert yt.tolist() == t[b"labels"] and xt.shape == (4, 3, 32, 32)


def test_load_cifar10_errors(tmp_path):
    with pytest.raises(FileNotFoundError, match="no CIFAR-10 data_batch_1"):
        load_cifar10(tmp_path)
    with open(tmp_path / "test_batch", "wb") as fh:
        pickle.dump({b"nope": 1}, fh)
    with pytest.raises(ValueError, match="is not a CIFAR-10 batch"):
        load_cifar10(tmp_path, train=False)
    with open(tmp_path / "test_batch", "wb") as fh:
        pickle.dump({b"data": np.zeros((2, 10), np.uint8), b"labels": [0, 1]}, fh)
    with pytest.raises(ValueError, match=r"expected data of shape \(n, 3072\)"):
        load_cifar10(tmp_path, train=False)


def test_task_data_checks():
    with pytest.raises(ValueError, match="same N"):
        TaskData(torch.zeros(3, 1, 2, 2), torch.zeros(2, dtype=torch.int64))


def test_place_pairs_centres_two_images_at_the_gap():
    imgs = torch.rand(30, 1, 4, 4, dtype=torch.float32, generator=torch.Generator().manual_seed(1))
    labels = torch.arange(30) % 3
    d = place_pairs(imgs, labels, 50, distance=6, canvas=20, seed=0)
    assert d.x.shape == (50, 1, 20, 20)
    left, right = d.x[..., 8:12, 3:7], d.x[..., 8:12, 13:17]  # (20 - 14) // 2 = 3
    assert d.x.sum() == pytest.approx(float(left.sum() + right.sum()), rel=1e-6)
    find = lambda part: torch.cdist(part.flatten(1), imgs.flatten(1)).argmin(1)  # noqa: E731
    assert torch.equal((labels[find(left)] == labels[find(right)]).long(), d.y)
    with pytest.raises(ValueError, match="need a canvas of at least 14 pixels"):
        place_pairs(imgs, labels, 2, distance=6, canvas=13, seed=0)


def test_canvases_from_cifar_pickles(tmp_path):
    _write_batch(tmp_path / "data_batch_1", 40, 0)
    _write_batch(tmp_path / "test_batch", 30, 1)
    train, val, test = canvases(
        (8, 4, 6), distance=10, canvas=80, seeds=(0, 1, 2), cifar_root=str(tmp_path)
    )
    assert train.x.shape == (8, 3, 80, 80) and val.x.shape == (4, 3, 80, 80)
    assert len(test) == 6 and train.meta["distance"] == 10


def test_canvases_from_digits_upscaled():
    pytest.importorskip("sklearn", reason="Is-Same-Class on digits needs the data extra")
    train, _, test = canvases((8, 2, 4), distance=20, canvas=112, seeds=(0, 1, 2))
    assert train.x.shape == (8, 1, 112, 112) and test.x.shape == (4, 1, 112, 112)
    assert float(train.x[..., :, :20].abs().sum()) == 0.0  # 16-pixel digits, centred pair
