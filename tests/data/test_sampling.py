"""Tests of tnreg.data.sampling: distinct entries at any size, uniformity, reproducibility."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from tnreg.data import DataError, sample_entries
from tnreg.data.sampling import _first_distinct, _row_keys, unravel

REGIMES = [
    # (dims, count): which branch of the sampler runs
    ((3, 4), 12),  # all entries: a permutation
    ((3, 4, 5), 40),  # more than half: a permutation
    ((10, 10, 10, 10), 2500),  # one int64 key per row, rejection
    ((2,) * 64, 3000),  # 2^64 entries: two keys per row
    ((7,) * 30, 1000),  # 7^30 > 2^63
]


@pytest.mark.parametrize(("dims", "count"), REGIMES)
def test_entries_are_distinct_in_range_and_reproducible(dims, count):
    e = sample_entries(dims, count, seed=3)
    assert e.shape == (count, len(dims)) and e.dtype == torch.long
    assert torch.unique(e, dim=0).shape[0] == count
    assert bool((e >= 0).all()) and bool((e < torch.tensor(dims)).all())
    assert torch.equal(e, sample_entries(dims, count, seed=3))
    assert not torch.equal(e, sample_entries(dims, count, seed=4))


def test_all_entries_when_count_is_the_size():
    e = sample_entries((3, 4), 12, seed=0)
    assert sorted(map(tuple, e.tolist())) == list(np.ndindex(3, 4))


def test_unravel_matches_numpy():
    dims = (3, 5, 2, 7)
    keys = torch.arange(math.prod(dims))
    expected = np.stack(np.unravel_index(keys.numpy(), dims), 1)
    np.testing.assert_array_equal(unravel(keys, dims).numpy(), expected)


def test_key_sampling_is_uniform():
    """Each of 12 entries is picked with probability 3/12 (rejection regime), within 5 sigma."""
    counts = np.zeros(12)
    trials = 800
    for seed in range(trials):
        e = sample_entries((3, 4), 3, seed=seed)
        counts[(e[:, 0] * 4 + e[:, 1]).numpy()] += 1
    p = 3 / 12
    sigma = math.sqrt(trials * p * (1 - p))
    assert np.abs(counts - trials * p).max() < 5 * sigma


@pytest.mark.parametrize("dims", [(2,) * 41, (2,) * 70])  # one key, two keys per row
def test_row_sampling_is_uniform_per_mode(dims):
    e = sample_entries(dims, 20000, seed=0).double()
    assert float((e.mean(0) - 0.5).abs().max()) < 5 * 0.5 / math.sqrt(20000)


def test_zero_entries():
    assert sample_entries((4, 4), 0, seed=0).shape == (0, 2)


def test_errors():
    with pytest.raises(DataError, match=r"cannot sample 13 distinct entries .* only 12 entries"):
        sample_entries((3, 4), 13, seed=0)
    with pytest.raises(DataError, match=r"count must be an int >= 0; got -1"):
        sample_entries((3, 4), -1, seed=0)


@pytest.mark.parametrize("order", [3, 70])  # one int64 key per row; several keys per row
def test_first_distinct_rows_keep_first_occurrences_in_order(order):
    gen = torch.Generator().manual_seed(order)
    rows = torch.randint(0, 2, (400, order), generator=gen)
    rows[200:300] = rows[50:150]  # forced repeats
    dims = (2,) * order
    got = _first_distinct(rows, _row_keys(rows, dims))
    seen, expected = set(), []
    for r in map(tuple, rows.tolist()):
        if r not in seen:
            seen.add(r)
            expected.append(r)
    assert list(map(tuple, got.tolist())) == expected
    assert _row_keys(rows, dims).shape[1] == (1 if order == 3 else 2)


def test_uniform_beyond_2_to_the_32_entries():
    """3·2^30 entries: a 32-bit draw reduced modulo the size would favour the lowest third."""
    e = sample_entries((3 * 2**15, 2**15), 20000, seed=0)
    low = float((e[:, 0] < 2**15).double().mean())
    assert abs(low - 1 / 3) < 5 * math.sqrt(2 / 9 / 20000)
