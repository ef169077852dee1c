"""Seeded sampling of distinct tensor entries and of Gaussian rank-one measurements.

Vocabulary
----------
entry
    A multi-index (i_0, ..., i_{N-1}), 0 <= i_n < d_n; a batch of them is a (B, N) long tensor.
without replacement
    No entry occurs twice in one draw, however large prod(d_n) is: the draw is the first B
    distinct entries of an i.i.d. uniform sequence, which is a uniformly random ordered sample
    without replacement. Each entry is drawn mode by mode (``torch.randint(0, d_n)``, so
    uniformity never rests on how random bits map onto a range of prod(d_n) keys) and
    deduplicated on one int64 key per row, or on a few keys per row compared lexicographically
    when prod(d_n) >= 2^62. When B > prod(d_n) / 2 the draw is a random permutation of all
    entries instead.
rank-one measurement
    X = x_0 ⊗ ... ⊗ x_{N-1} with every x_n ~ N(0, I_{d_n}) independent. Then
    E <W, X>^2 = ||W||^2 for every tensor W (E[x x^T] = I in each mode), so the measurements
    need no extra scaling. Their spread grows with the order: E <W, X>^4 <= 3^N ||W||^4.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch

from tnreg.data.checks import DataError, check_count

__all__ = ["draw_entries", "gaussian_measurements", "sample_entries", "unravel"]


def unravel(keys: torch.Tensor, dims: Sequence[int]) -> torch.Tensor:
    """Row-major multi-indices (B, N) of int64 keys < prod(dims).

    Examples
    --------
    >>> unravel(torch.tensor([0, 5, 23]), (2, 3, 4))
    tensor([[0, 0, 0],
            [0, 1, 1],
            [1, 2, 3]])
    """
    cols = []
    rest = keys.clone()
    for d in reversed(dims):
        cols.append(rest % d)
        rest = torch.div(rest, d, rounding_mode="floor")
    return torch.stack(cols[::-1], 1)


def _row_keys(rows: torch.Tensor, dims: Sequence[int]) -> torch.Tensor:
    """(B, K) int64 keys, one per run of modes whose sizes multiply to < 2^62 (K small)."""
    cols = rows.T.contiguous()  # one copy, then contiguous column reads
    keys, key, size = [], torch.zeros(rows.shape[0], dtype=torch.long), 1
    for col, d in zip(cols, dims):
        if size * d >= 2**62:
            keys.append(key)
            key, size = torch.zeros_like(key), 1
        key = key.mul_(d).add_(col)
        size *= d
    return torch.stack([*keys, key], 1)


def _group_ids(keys: torch.Tensor) -> torch.Tensor:
    """Equal rows of (B, K) keys get equal ids (a lexicographic sort: K stable 1-D sorts)."""
    order = torch.arange(keys.shape[0])
    for c in reversed(range(keys.shape[1])):
        order = order[torch.argsort(keys[order, c], stable=True)]
    ranked = keys[order]
    new = torch.ones(keys.shape[0], dtype=torch.bool)
    new[1:] = (ranked[1:] != ranked[:-1]).any(1)
    ids = torch.empty_like(order)
    ids[order] = torch.cumsum(new.long(), 0) - 1
    return ids


def _first_distinct(x: torch.Tensor, keys: torch.Tensor) -> torch.Tensor:
    """The items of ``x`` with distinct ``keys`` (B,) or (B, K), in order of first occurrence."""
    if keys.ndim == 1:
        inverse = torch.unique(keys, return_inverse=True)[1]
    else:
        inverse = _group_ids(keys)
    first = torch.full((x.shape[0],), x.shape[0], dtype=torch.long)
    first.scatter_reduce_(0, inverse, torch.arange(x.shape[0]), reduce="amin")
    first = first[first < x.shape[0]]
    return x.index_select(0, first.sort().values)


def _rejection(draw, count: int, keys=lambda x: x) -> torch.Tensor:
    """First ``count`` distinct items of the stream ``draw(m)`` (m fresh i.i.d. items a call)."""
    got = draw(0)
    while got.shape[0] < count:
        need = count - got.shape[0]
        both = torch.cat([got, draw(need + need // 2 + 16)])
        got = _first_distinct(both, keys(both))
    return got[:count]


def sample_entries(dims: Sequence[int], count: int, *, seed: int) -> torch.Tensor:
    """``count`` distinct entries of a tensor of shape ``dims``, uniformly at random.

    Parameters
    ----------
    dims
        Mode sizes (any product: 2^64 and beyond work).
    count
        Number of entries, at most prod(dims).
    seed
        Seed of the CPU generator: the same seed gives the same entries in the same order.

    Returns
    -------
    torch.Tensor
        Shape (count, N), int64, on the CPU.

    Raises
    ------
    DataError
        If ``count`` exceeds the number of entries.

    Examples
    --------
    >>> e = sample_entries((2,) * 64, 1000, seed=0)  # 2^64 entries
    >>> e.shape, len(torch.unique(e, dim=0))
    (torch.Size([1000, 64]), 1000)
    """
    return draw_entries(dims, count, generator=torch.Generator().manual_seed(seed))


def draw_entries(dims: Sequence[int], count: int, *, generator: torch.Generator) -> torch.Tensor:
    """:func:`sample_entries` drawing from a given CPU generator (advanced by the draw)."""
    dims = [int(d) for d in dims]
    total = math.prod(dims)
    count = check_count(count, "count", minimum=0)
    gen = generator
    if count > total:
        raise DataError(
            f"cannot sample {count:,} distinct entries of a tensor with only {total:,} entries "
            f"(dims {tuple(dims)}); ask for at most {total:,}"
        )
    if 2 * count > total:
        return unravel(torch.randperm(total, generator=gen)[:count], dims)

    def rows(m: int) -> torch.Tensor:
        return torch.stack([torch.randint(0, d, (m,), generator=gen) for d in dims], 1)

    def keys(x: torch.Tensor) -> torch.Tensor:
        k = _row_keys(x, dims)
        return k[:, 0] if k.shape[1] == 1 else k

    return _rejection(rows, count, keys)


def gaussian_measurements(
    dims: Sequence[int], count: int, *, generator: torch.Generator
) -> list[torch.Tensor]:
    """One (count, d_n) float64 tensor of i.i.d. N(0, 1) entries per mode, mode 0 first.

    With these, E <W, x_0 ⊗ ... ⊗ x_{N-1}>^2 = ||W||^2 (see the module docstring).
    """
    return [torch.randn(count, d, generator=generator, dtype=torch.float64) for d in dims]
