"""Built-in claims: the cheap ones run at quick sizes; trajectory claims through their parts.

The trajectory claims (incremental learning, blow-up, greedy low-rank, deep CP, the 2x2
example) take tens of seconds each; ``tnreg verify --quick`` runs them, RESULTS.md records it.
"""

from __future__ import annotations

import pytest
import torch

from tnreg.theory import get_claims
from tnreg.theory.catalog_learning import staircase
from tnreg.theory.catalog_ranks import gap_rank
from tnreg.theory.catalog_rates import dmf_rate_error, end_to_end_error
from tnreg.theory.runs import htf_target, matricize
from tnreg.theory.setups import all_entries, orthogonal_cp_target

CHEAP = [
    "cp-rate-general", "cp-rate", "htf-rate", "dmf-rate", "dmf-end-to-end", "cp-invariants",
    "htf-invariants", "dmf-balancedness", "zero-stays-zero", "min-cut-bound",
    "one-hot-consistency", "spectrum-values",
]  # fmt: skip


@pytest.mark.parametrize("name", CHEAP)
def test_cheap_claim_passes_and_its_control_fails(name):
    (claim,) = get_claims([name])
    result = claim.check(quick=True)
    assert result.passed, f"{name}: measured {result.measured!r}; {result.detail}"
    assert result.control_holds is False and result.control


def test_unbalanced_dmf_breaks_the_balanced_formulas():
    assert dmf_rate_error(2, seed=2) < 1e-12 < 1e-3 < dmf_rate_error(2, seed=2, skew=3.0)
    assert end_to_end_error(2, seed=2) < 1e-12 < 1e-3 < end_to_end_error(2, seed=2, skew=3.0)


def test_gap_rank_needs_a_gap():
    assert gap_rank(torch.tensor([1.0, 0.5, 1e-15]))[0] == 2
    rank, gap = gap_rank(torch.tensor([1.0, 1e-7, 0.99e-8]))
    assert rank == 2 and gap < 1e6  # a knife edge shows as a small gap


def test_staircase_counts_one_at_a_time():
    norms = torch.tensor([[0.0, 0.0], [1.0, 0.0], [1.0, 1.0]])
    info = staircase([0.0, 1.0, 2.0], norms, 0.5)
    assert info == {"rises": [1.0, 2.0], "final": 2, "one_at_a_time": True}
    info = staircase([0.0, 1.0], torch.tensor([[0.0, 0.0], [1.0, 1.0]]), 0.5)
    assert not info["one_at_a_time"]


def test_targets_have_the_stated_ranks():
    t = htf_target()
    for rows in ([0, 1], [2]):
        s = torch.linalg.svdvals(matricize(t, rows))
        assert int((s > 1e-10 * s[0]).sum()) == 3
    o = orthogonal_cp_target(3, 3, [2.0, 1.0], seed=0)
    assert torch.isclose(o.norm() ** 2, torch.tensor(5.0, dtype=o.dtype))
    idx, values = all_entries(o)
    assert idx.shape == (27, 3) and torch.equal(values, o.reshape(-1))
