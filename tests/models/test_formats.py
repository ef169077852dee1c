"""Tucker, tensor train and hierarchical Tucker against numpy.einsum in float64."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from tnreg import trees
from tnreg.models import HierarchicalTucker, NetworkModel, TensorTrain, Tucker
from tnreg.network import TensorNetwork

F64 = torch.float64


def tucker():
    return Tucker(3, [2, 3, 4], [2, 3, 2], seed=0, dtype=F64, init_std=1.0)


def tt():
    return TensorTrain(4, [2, 3, 2, 3], [2, 3, 2], seed=0, dtype=F64, init_std=1.0)


def ht():
    return HierarchicalTucker(
        trees.from_nested(((0, 1, 2), (3, 4))), 2, 2, seed=0, dtype=F64, init_std=1.0
    )


def reference(model):
    p = [t[0].detach().numpy() for t in model.tensors().values()]
    if isinstance(model, Tucker):
        return np.einsum("abc,ia,jb,kc->ijk", *p)
    if isinstance(model, TensorTrain):
        return np.einsum("ia,ajb,bkc,cl->ijkl", *p)
    # HT on ((0,1,2),(3,4)): leaves 0,1,2 -> transfer (0,1,2); leaves 3,4 -> transfer (3,4); root
    b0, b1, b2, t012, b3, b4, t34, top = p
    return np.einsum("ia,jb,kc,abcx,ld,me,dey,xy->ijklm", b0, b1, b2, t012, b3, b4, t34, top)


@pytest.mark.parametrize("make", [tucker, tt, ht], ids=["tucker", "tt", "ht"])
def test_to_dense_matches_einsum(make):
    model = make()
    np.testing.assert_allclose(model.to_dense().detach().numpy(), reference(model), rtol=1e-12)


@pytest.mark.parametrize("make", [tucker, tt, ht], ids=["tucker", "tt", "ht"])
def test_forward_and_sensing_match_dense(make):
    model = make()
    dense = model.to_dense().detach()
    idx = torch.cartesian_prod(*[torch.arange(d) for d in model.dims])
    torch.testing.assert_close(model(idx).detach(), dense[tuple(idx.T)], rtol=1e-12, atol=1e-14)
    xs = [
        torch.randn(5, d, dtype=F64, generator=torch.Generator().manual_seed(d)) for d in model.dims
    ]
    letters = "abcde"[: model.order]
    ref = torch.einsum(f"{letters}," + ",".join(f"z{c}" for c in letters) + "->z", dense, *xs)
    torch.testing.assert_close(model.forward_sensing(xs).detach(), ref, rtol=1e-11, atol=1e-13)


def test_ensemble_member_equals_single():
    ens = TensorTrain(4, 3, 2, ensemble=2, seed=[3, 8], dtype=F64)
    idx = torch.cartesian_prod(*[torch.arange(3)] * 4)
    for k, seed in enumerate([3, 8]):
        single = TensorTrain(4, 3, 2, seed=seed, dtype=F64)
        torch.testing.assert_close(ens(idx)[k], single(idx))


def test_gradcheck_tucker():
    model = Tucker(3, 2, 2, seed=0, dtype=F64, init_std=1.0)
    idx = torch.cartesian_prod(*[torch.arange(2)] * 3)
    params = tuple(p.detach().clone().requires_grad_() for p in model.params)

    def f(*ps):
        return torch.func.functional_call(
            model, {f"params.{i}": p for i, p in enumerate(ps)}, (idx,)
        )

    assert torch.autograd.gradcheck(f, params)


def test_structure_is_exposed():
    model = ht()
    assert trees.order(model.tree) == 5
    assert model.network.output == (0, 1, 2, 3, 4)
    assert model.network.rank_bound([3, 4]) == 2


@pytest.mark.parametrize(
    ("call", "match"),
    [
        (lambda: TensorTrain(4, 3, [2, 2]), "needs 3 ranks; got 2"),
        (lambda: Tucker(3, 3, 0), "rank at 0 must be a positive int"),
        (
            lambda: tucker().forward_sensing([torch.zeros(2, 2, dtype=F64)] * 3),
            "expected 3 sensing",
        ),
        (lambda: tucker().to_dense(max_entries=5), "max_entries=5"),
    ],
)
def test_errors(call, match):
    with pytest.raises(ValueError, match=match):
        call()


def test_network_model_rejects_mode_on_two_tensors():
    net = TensorNetwork.from_equation("ab,ab->ab", (2, 2), (2, 2))
    net2 = TensorNetwork()
    for name, idx in net.tensors.items():
        net2.add_tensor(name, [{"a": 0, "b": 1}[i] for i in idx], {0: 2, 1: 2})
    net2.set_output((0, 1))
    with pytest.raises(ValueError, match="mode 0 sits on two tensors"):
        NetworkModel(net2, trees.star(2))


def test_init_mean_shifts_the_format_tensors():
    plain = TensorTrain(4, 2, 2, seed=0, dtype=F64)
    shifted = TensorTrain(4, 2, 2, seed=0, dtype=F64, init_mean=0.25)
    for p, q in zip(plain.params, shifted.params):
        assert torch.allclose(q - p, torch.full_like(p, 0.25), atol=1e-15)
