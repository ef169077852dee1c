"""The step: no host synchronisation; the mini-batch sampler: epochs without replacement."""

from __future__ import annotations

import pytest
import torch
from conftest import small_cp

from tnreg.train.losses import loss_function
from tnreg.train.optim import make_optimizer
from tnreg.train.step import BatchSampler, evaluate, train_step


def _no_sync(monkeypatch):
    def refuse(*args, **kwargs):
        raise AssertionError("host synchronisation inside the training step")

    for name in ("item", "tolist", "__bool__", "__float__", "__int__", "nonzero", "numpy"):
        monkeypatch.setattr(torch.Tensor, name, refuse)


# Adam on the CPU reads its step count on the host; on CUDA tnreg builds it capturable
@pytest.mark.parametrize("name", ["gd", "sgd", "group_rmsprop"])
def test_train_step_never_synchronises_with_the_host(cp_data, monkeypatch, name):
    model = small_cp(ensemble=2)
    plan = model.schedule_indices(cp_data.train_indices)  # full batch: scheduled once, outside
    opt = make_optimizer(name, model.parameters(), lr=0.01, momentum=0.9)
    loss = loss_function("mse")
    with monkeypatch.context() as m:
        _no_sync(m)
        for _ in range(3):
            out = train_step(model, plan, cp_data.train_values, opt, loss)
    assert out.shape == (2,) and not out.requires_grad


def test_evaluate_reads_sensing_vectors_as_a_list(cp_data):
    model = small_cp()
    vectors = [torch.eye(5, dtype=torch.float64)[:3]] * 3
    got = evaluate(model, vectors)
    expected = evaluate(model, torch.tensor([[0, 0, 0], [1, 1, 1], [2, 2, 2]]))
    assert torch.allclose(got, expected)


def test_batch_sampler_covers_each_epoch_without_replacement():
    sampler = BatchSampler(10, 3, seed=0)
    epoch = torch.cat([sampler.next() for _ in range(3)])
    assert len(set(epoch.tolist())) == 9  # one sample of the epoch dropped: static shapes
    sampler.next()  # a new permutation


def test_batch_sampler_state_round_trips():
    a = BatchSampler(7, 2, seed=3)
    a.next()
    state = a.state_dict()
    b = BatchSampler(7, 2, seed=99)
    b.load_state_dict(state)
    assert [a.next().tolist() for _ in range(5)] == [b.next().tolist() for _ in range(5)]


def test_batch_sampler_rejects_bad_batch_sizes():
    with pytest.raises(ValueError, match="batch_size must be between 1 and the number"):
        BatchSampler(5, 6, seed=0)


@pytest.mark.gpu
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
@pytest.mark.parametrize("name", ["gd", "sgd", "adam", "group_rmsprop"])
def test_train_step_captures_in_a_cuda_graph(cp_data, name):
    def setup():
        model = small_cp(ensemble=2, device="cuda")
        plan = model.schedule_indices(cp_data.train_indices.cuda())
        opt = make_optimizer(name, model.parameters(), lr=0.01, momentum=0.9)
        return model, plan, opt

    values, loss = cp_data.train_values.cuda(), loss_function("mse")
    model, plan, opt = setup()
    eager, eager_plan, eager_opt = setup()
    side = torch.cuda.Stream()
    side.wait_stream(torch.cuda.current_stream())
    with torch.cuda.stream(side):  # warm up: optimizer state and gradients exist
        for _ in range(3):
            train_step(model, plan, values, opt, loss)
            train_step(eager, eager_plan, values, eager_opt, loss)
    torch.cuda.current_stream().wait_stream(side)
    graph = torch.cuda.CUDAGraph()
    with torch.cuda.graph(graph):
        train_step(model, plan, values, opt, loss)
    for _ in range(5):
        graph.replay()
        train_step(eager, eager_plan, values, eager_opt, loss)
    torch.cuda.synchronize()
    for a, b in zip(model.parameters(), eager.parameters()):
        assert torch.allclose(a, b, rtol=1e-10, atol=1e-14)
