"""Small seeded completion problems shared by the training tests (float64, CPU)."""

from __future__ import annotations

import pytest
import torch

from tnreg.data import completion_task, random_cp_target
from tnreg.models import CP, HierarchicalTensorFactorization
from tnreg.trees import balanced


@pytest.fixture
def cp_data():
    """A rank-2 order-3 CP target with ||W*|| = 1: 60 train and 20 test entries of 5x5x5."""
    return completion_task(random_cp_target(3, 5, 2, seed=0), 60, 20, seed=0)


def small_cp(**kwargs) -> CP:
    kwargs.setdefault("init_std", 0.3)
    kwargs.setdefault("seed", 0)
    return CP(3, 5, rank=4, dtype=torch.float64, **kwargs)


def small_htf(**kwargs) -> HierarchicalTensorFactorization:
    kwargs.setdefault("init_std", 0.5)
    kwargs.setdefault("seed", 0)
    return HierarchicalTensorFactorization(balanced(3), 5, 4, dtype=torch.float64, **kwargs)


@pytest.fixture(autouse=True)
def _one_thread():
    """Tiny tensors: one intra-op thread is faster, and much faster on a shared machine."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)
