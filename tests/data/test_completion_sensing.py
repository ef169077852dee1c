"""Tests of tnreg.data.tasks: completion and sensing datasets on synthetic targets."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from tnreg import CP, trees
from tnreg.data import (
    DataError,
    Dataset,
    completion_task,
    random_cp_target,
    random_tree_target,
    sensing_task,
)

F64 = torch.float64


@pytest.fixture(scope="module")
def cp4():
    return random_cp_target(4, 10, 5, seed=0)


def test_completion_shapes_split_and_values(cp4):
    data = completion_task(cp4, 2000, 500, seed=1)
    assert isinstance(data, Dataset) and data.kind == "completion"
    assert data.train_indices.shape == (2000, 4) and data.train_indices.dtype == torch.long
    assert data.test_indices.shape == (500, 4) and data.test_values.shape == (500,)
    assert data.train_values.dtype == F64 and data.num_train == 2000 and data.num_test == 500
    both = torch.cat([data.train_indices, data.test_indices])
    assert torch.unique(both, dim=0).shape[0] == 2500  # disjoint and without repeats
    dense = cp4.to_dense().numpy()
    np.testing.assert_array_equal(
        data.train_values.numpy(), cp4(data.train_indices).numpy()
    )  # noise-free: exactly the target's entries
    np.testing.assert_allclose(
        data.test_values.numpy(), dense[tuple(data.test_indices.T.numpy())], rtol=1e-12
    )
    assert data.target is cp4 and data.config["target"] == cp4.config
    assert data.inputs("test") is data.test_indices and data.values("train") is data.train_values


def test_completion_same_seed_same_tensors_bit_for_bit(cp4):
    a = completion_task(cp4, 300, 100, noise_std=0.1, seed=7)
    b = completion_task(cp4, 300, 100, noise_std=0.1, seed=7)
    c = completion_task(cp4, 300, 100, noise_std=0.1, seed=8)
    for name in ("train_indices", "train_values", "test_indices", "test_values"):
        assert torch.equal(getattr(a, name), getattr(b, name))
    assert not torch.equal(a.train_indices, c.train_indices)


def test_completion_noise_on_train_only_with_the_documented_std(cp4):
    clean = completion_task(cp4, 4000, 200, seed=2)
    noisy = completion_task(cp4, 4000, 200, noise_std=0.05, seed=2)
    assert torch.equal(clean.train_indices, noisy.train_indices)  # noise does not move entries
    assert torch.equal(clean.test_values, noisy.test_values)
    residual = (noisy.train_values - clean.train_values).numpy()
    assert residual.std() == pytest.approx(0.05, rel=0.05)
    assert abs(residual.mean()) < 5 * 0.05 / math.sqrt(4000)


def test_completion_at_order_40_without_densifying():
    target = random_cp_target(40, 2, 3, seed=0)
    data = completion_task(target, 5000, 1000, seed=0)
    assert torch.unique(torch.cat([data.train_indices, data.test_indices]), dim=0).shape[0] == 6000
    assert torch.isfinite(data.train_values).all()


def test_sensing_values_match_dense_inner_products():
    target = random_tree_target(trees.balanced(4), (2, 3, 2, 3), 2, seed=0)
    data = sensing_task(target, 50, 20, seed=3)
    assert data.kind == "sensing" and data.train_indices is None
    assert [tuple(x.shape) for x in data.test_vectors] == [(20, 2), (20, 3), (20, 2), (20, 3)]
    dense = target.to_dense().numpy()
    xs = [x.numpy() for x in data.train_vectors]
    expected = np.einsum("abcd,za,zb,zc,zd->z", dense, *xs)
    np.testing.assert_allclose(data.train_values.numpy(), expected, rtol=1e-10, atol=1e-14)


def test_sensing_scaling_monte_carlo():
    """E <W, x_0 ⊗ x_1 ⊗ x_2>^2 = ||W||^2 with x_n ~ N(0, I): loose Monte-Carlo check."""
    target = random_cp_target(3, (4, 5, 6), 3, norm=2.0, seed=1)
    data = sensing_task(target, 100_000, seed=0)
    assert float(data.train_values.square().mean()) == pytest.approx(4.0, rel=0.1)


def test_to_moves_dtype_and_keeps_indices_long(cp4):
    data = completion_task(cp4, 100, 10, seed=0).to(dtype=torch.float32)
    assert data.train_values.dtype == torch.float32 and data.train_indices.dtype == torch.long
    sensing = sensing_task(cp4, 10, seed=0).to("cpu", torch.float32)
    assert all(x.dtype == torch.float32 for x in sensing.train_vectors)
    assert sensing.target.device.type == "cpu"
    with pytest.raises(
        DataError, match=r"dtype must be a floating dtype \(values\); got torch.int64"
    ):
        data.to(dtype=torch.long)


def test_predict_calls_the_model_by_kind(cp4):
    model = CP(4, 10, rank=3, init_std=0.5, seed=0, dtype=F64)
    data = completion_task(cp4, 50, 5, seed=0)
    assert torch.equal(data.predict(model, "test"), model(data.test_indices))
    sensing = sensing_task(cp4, 20, seed=0)
    assert torch.equal(sensing.predict(model), model.forward_sensing(sensing.train_vectors))
    with pytest.raises(DataError, match=r"unknown split='val'; valid options: \['train', 'test'\]"):
        data.predict(model, "val")


def test_repr_is_short(cp4):
    text = repr(completion_task(random_cp_target(64, 2, 1, seed=0), 10, seed=0))
    assert "dims=(2,)*64" in text and "train=10" in text


@pytest.mark.parametrize(
    ("args", "kwargs", "match"),
    [
        (("not a target", 10), {}, r"target must be a tnreg.data target .*got str"),
        ((None, 0), {}, r"num_train must be an int >= 1; got 0"),
        ((None, 10, -1), {}, r"num_test must be an int >= 0; got -1"),
        ((None, 10), {"noise_std": -0.1}, r"noise_std must be a finite number >= 0; got -0.1"),
        ((None, 10), {"seed": 1.5}, r"seed must be a non-negative int"),
        ((None, 10_000, 1), {}, r"cannot sample 10,001 distinct entries .* only 10,000"),
    ],
)
def test_task_errors(cp4, args, kwargs, match):
    args = (cp4 if args[0] is None else args[0], *args[1:])
    kwargs = {"seed": 0, **kwargs}
    with pytest.raises(DataError, match=match):
        completion_task(*args, **kwargs)
    if "distinct" not in match:
        with pytest.raises(DataError, match=match):
            sensing_task(*args, **kwargs)


@pytest.mark.gpu
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
def test_to_cuda_moves_tensors_and_target():
    target = random_tree_target(trees.balanced(4), 3, 2, seed=0)
    data = completion_task(target, 50, 10, seed=0).to("cuda", torch.float32)
    assert data.train_indices.is_cuda and data.train_values.dtype == torch.float32
    assert data.target.device.type == "cuda" and target.device.type == "cpu"
    on_gpu = data.target(data.test_indices)
    assert on_gpu.is_cuda and on_gpu.dtype == F64
    np.testing.assert_allclose(on_gpu.cpu().numpy(), target(data.test_indices.cpu()).numpy())
    sensing = sensing_task(random_cp_target(3, 4, 2, seed=0), 20, seed=0).to("cuda")
    assert torch.allclose(
        sensing.target.sensing(sensing.train_vectors).cpu(), sensing.train_values.cpu()
    )
