"""The kernels of product-pooling evaluation, against gradcheck."""

from __future__ import annotations

import torch

from tnreg.models.engine.kernels import PairMerge


def test_fused_root_pairs_gradcheck_and_double_backward():
    gen = torch.Generator().manual_seed(2)
    a = torch.randn(5, 2, 3, dtype=torch.float64, generator=gen, requires_grad=True)
    b = torch.randn(4, 2, 3, dtype=torch.float64, generator=gen, requires_grad=True)
    ra = torch.tensor([0, 1, 4, 4, 2, 0])
    rb = torch.tensor([3, 3, 0, 1, 2, 0])
    for reduce in (True, False):
        fn = lambda x, y, reduce=reduce: PairMerge.apply(x, y, ra, rb, reduce)  # noqa: E731
        assert torch.autograd.gradcheck(fn, (a, b))
        assert torch.autograd.gradgradcheck(fn, (a, b))
