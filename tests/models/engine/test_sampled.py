"""The sampled matrix product of the root's last merge, against gathers and gradcheck."""

from __future__ import annotations

import pytest
import torch

from tnreg.models.engine import distinct_rows
from tnreg.models.engine.sampled import Pattern, sampled_dot, usable

F64 = torch.float64


def tables(na, nb, members, width, batch, seed=0, dtype=F64):
    gen = torch.Generator().manual_seed(seed)
    a = torch.randn(na, members, width, generator=gen, dtype=dtype, requires_grad=True)
    b = torch.randn(nb, members, width, generator=gen, dtype=dtype, requires_grad=True)
    ia = torch.randint(0, na, (batch,), generator=gen)
    ib = torch.randint(0, nb, (batch,), generator=gen)
    (ra, rb), _ = distinct_rows([ia, ib], [na, nb])
    return a, b, ra, rb


def gathered(a, b, ra, rb):
    return (a[ra] * b[rb]).sum(-1)


@pytest.mark.parametrize("members", [1, 3])
def test_values_and_gradients_match_gathers(members):
    a, b, ra, rb = tables(30, 20, members, 7, 300)
    pattern = Pattern.from_rows(ra, rb, 30, 20)
    out = sampled_dot(a, b, pattern)
    assert out.shape == (ra.shape[0], members)
    torch.testing.assert_close(out, gathered(a, b, ra, rb), rtol=1e-13, atol=1e-13)
    assert torch.autograd.gradcheck(lambda x, y: sampled_dot(x, y, pattern), (a, b))
    assert torch.autograd.gradgradcheck(lambda x, y: sampled_dot(x, y, pattern), (a, b))


def test_pairs_in_any_order():
    a, b, ra, rb = tables(9, 11, 2, 4, 60, seed=1)
    shuffle = torch.randperm(ra.shape[0], generator=torch.Generator().manual_seed(0))
    ra, rb = ra[shuffle], rb[shuffle]
    pattern = Pattern.from_rows(ra, rb, 9, 11)
    assert pattern.order is not None
    torch.testing.assert_close(sampled_dot(a, b, pattern), gathered(a, b, ra, rb))
    assert torch.autograd.gradcheck(lambda x, y: sampled_dot(x, y, pattern), (a, b))


def test_one_side_frozen_and_float32():
    a, b, ra, rb = tables(40, 5, 1, 16, 100, seed=2, dtype=torch.float32)
    pattern = Pattern.from_rows(ra, rb, 40, 5)
    frozen = b.detach()
    sampled_dot(a, frozen, pattern).sum().backward()
    ref = torch.zeros_like(a).index_add(0, ra, frozen[rb])
    torch.testing.assert_close(a.grad, ref, rtol=1e-5, atol=1e-5)


def test_pattern_layout():
    ra, rb = torch.tensor([0, 0, 2, 3]), torch.tensor([1, 3, 0, 1])
    pattern = Pattern.from_rows(ra, rb, 4, 4)
    assert pattern.nnz == 4 and pattern.order is None
    assert pattern.layout(1).crow.tolist() == [0, 2, 2, 3, 4]
    dense = pattern.matrix(torch.tensor([1.0, 2.0, 3.0, 4.0])).to_dense()
    assert dense.tolist() == [[0, 1, 0, 2], [0, 0, 0, 0], [3, 0, 0, 0], [0, 4, 0, 0]]
    values = torch.arange(4.0)
    torch.testing.assert_close(
        pattern.matrix(values, transpose=True).to_dense(), pattern.matrix(values).to_dense().T
    )


def test_members_interleave_into_one_block_diagonal_pattern():
    ra, rb = torch.tensor([0, 1, 1]), torch.tensor([1, 0, 2])
    pattern = Pattern.from_rows(ra, rb, 2, 3)
    values = torch.tensor([[1.0, 10.0], [2.0, 20.0], [3.0, 30.0]])  # (pairs, members)
    big = pattern.matrix(values).to_dense()  # row u * 2 + e, column j * 2 + e
    assert big.shape == (4, 6)
    for p, (u, j) in enumerate(zip(ra.tolist(), rb.tolist())):
        for e in range(2):
            assert big[u * 2 + e, j * 2 + e] == values[p, e]
    assert big.count_nonzero() == 6
    torch.testing.assert_close(pattern.matrix(values, transpose=True).to_dense(), big.T)


def test_usable_dtypes_and_devices():
    assert usable(torch.zeros(1)) and usable(torch.zeros(1, dtype=F64))
    assert not usable(torch.zeros(1, dtype=torch.bfloat16))
    assert not usable(torch.zeros(1, dtype=torch.float16))


def test_no_beta_notice_even_when_torch_warns_always():
    a, b, ra, rb = tables(5, 6, 1, 3, 20, seed=3)
    pattern = Pattern.from_rows(ra, rb, 5, 6)
    before = torch.is_warn_always_enabled()
    torch.set_warn_always(True)
    try:  # warnings are errors in this suite: a notice would fail the test
        sampled_dot(a, b, pattern).sum().backward()
    finally:
        torch.set_warn_always(before)
