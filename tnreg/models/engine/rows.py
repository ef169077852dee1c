"""Distinct rows of index columns: the memoization every index schedule is built from.

Vocabulary
----------
batch of multi-indices
    An integer tensor of shape (B, N): row b is one entry (i_0, ..., i_{N-1}) of the tensor.
sub-tuple at a node
    The restriction (i_n)_{n in I} of a multi-index to the node's mode set I. A node's value on
    a sub-tuple depends on nothing else, so it is computed once per *distinct* sub-tuple: at most
    min(B, prod_{n in I} d_n) of them.
"""

from __future__ import annotations

import torch

__all__ = ["distinct_rows", "same_batch"]

_KEY_LIMIT = 2**62


def distinct_rows(
    columns: list[torch.Tensor], sizes: list[int]
) -> tuple[tuple[torch.Tensor, ...], torch.Tensor]:
    """Distinct rows of the stacked columns: (per-column values of each distinct row, inverse).

    ``columns[k]`` holds values in ``0..sizes[k]-1``; the distinct rows come out in
    lexicographic order.

    Examples
    --------
    >>> (a, b), inverse = distinct_rows([torch.tensor([1, 0, 1]), torch.tensor([2, 2, 2])], [2, 3])
    >>> a.tolist(), b.tolist(), inverse.tolist()
    ([0, 1], [2, 2], [1, 0, 1])
    """
    total = 1
    for s in sizes:
        total *= max(s, 1)
    if total < _KEY_LIMIT:  # one int64 key per row: a 1-D unique is much faster than dim=0
        key = columns[0].clone()
        for col, size in zip(columns[1:], sizes[1:]):
            key.mul_(size).add_(col)
        uniq, inverse = torch.unique(key, return_inverse=True)
        out = []
        for size in reversed(sizes[1:]):
            out.append(uniq % size)
            uniq = torch.div(uniq, size, rounding_mode="floor")
        out.append(uniq)
        return tuple(reversed(out)), inverse
    uniq, inverse = torch.unique(torch.stack(columns, 1), dim=0, return_inverse=True)
    return tuple(uniq.unbind(1)), inverse


def same_batch(indices: torch.Tensor, scheduled: torch.Tensor) -> bool:
    """Whether ``indices`` is the batch a schedule was built for (``scheduled``): cached
    schedules use it."""
    return indices is scheduled or (
        indices.shape == scheduled.shape
        and indices.device == scheduled.device
        and bool(torch.equal(indices, scheduled))
    )
