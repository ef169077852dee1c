"""The root's last merge as a sampled matrix product: sparse kernels instead of gathers.

At the root of a product pooling, the last merge and the sum over channels together compute
``out[u] = sum_r a[ra[u], r] * b[rb[u], r]`` for the distinct pairs ``u`` of rows that occur in
the batch: the entries of the matrix product ``a @ b.T`` at a fixed sparsity pattern. On the CPU
a sampled dense-dense product (``torch.sparse.sampled_addmm``) computes them without gathering
any row, and the backward pass is two sparse-times-dense products (``G @ b`` and ``G.T @ a``,
with ``G`` the gradient on the pattern). Where the pattern holds a small fraction of all pairs
this beats both the gathered merge and the dense GEMM over every pair (a CP of order 5 with
``d=10``, ``R=1000`` and 10,000 entries: 9,522 of 100,000 pairs, about 2x faster than the
GEMM; see ``BENCHMARKS.md``).

The pattern depends on the batch only, so it is built once per index plan.
"""

from __future__ import annotations

import contextlib
import warnings
from collections.abc import Iterator
from dataclasses import dataclass

import torch

__all__ = ["Pattern", "sampled_dot", "usable"]

_DTYPES = (torch.float32, torch.float64)


@dataclass(frozen=True, eq=False)
class Pattern:
    """The distinct pairs ``(rows_a[u], rows_b[u])`` as compressed sparse rows, both ways.

    ``crow``/``col`` lay out the (na, nb) pattern row by row; ``crow_t``/``col_t`` lay out its
    transpose, whose values are the pairs' values taken at ``perm``. ``order`` puts the pairs
    in row-major order (``None`` when they already are, as :func:`distinct_rows` returns them).
    """

    shape: tuple[int, int]
    crow: torch.Tensor
    col: torch.Tensor
    crow_t: torch.Tensor
    col_t: torch.Tensor
    perm: torch.Tensor
    order: torch.Tensor | None

    @classmethod
    def from_rows(cls, rows_a: torch.Tensor, rows_b: torch.Tensor, na: int, nb: int) -> Pattern:
        """The pattern of distinct pairs of rows of an (na, ·) and an (nb, ·) table."""
        key = rows_a * nb + rows_b
        order = None
        if key.numel() > 1 and not bool((key[1:] > key[:-1]).all()):
            order = torch.argsort(key)
            rows_a, rows_b = rows_a[order], rows_b[order]
        perm = torch.argsort(rows_b * na + rows_a)  # column-major order: the transpose's rows
        small = max(na, nb, key.numel()) < 2**31  # int32 indices: MKL's, no conversion per call
        index = torch.int32 if small else torch.int64
        return cls(
            shape=(na, nb),
            crow=_crow(rows_a, na).to(index),
            col=rows_b.to(index),
            crow_t=_crow(rows_b[perm], nb).to(index),
            col_t=rows_a[perm].to(index),
            perm=perm,
            order=order,
        )

    @property
    def nnz(self) -> int:
        """Number of distinct pairs."""
        return int(self.col.shape[0])

    def matrix(self, values: torch.Tensor, *, transpose: bool = False) -> torch.Tensor:
        """A sparse CSR matrix with this pattern (or its transpose) and ``values`` (row-major)."""
        if transpose:
            crow, col, shape = self.crow_t, self.col_t, self.shape[::-1]
            values = values.index_select(0, self.perm)
        else:
            crow, col, shape = self.crow, self.col, self.shape
        with _quiet():
            return torch.sparse_csr_tensor(crow, col, values, shape, check_invariants=False)


_NOTICE = {"shown": False}


@contextlib.contextmanager
def _quiet() -> Iterator[None]:
    """Silence torch's "Sparse CSR tensor support is in beta" notice, which torch shows once
    per process (always under ``torch.set_warn_always(True)``): only while it may show."""
    if _NOTICE["shown"] and not torch.is_warn_always_enabled():
        yield
        return
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="Sparse CSR tensor support is in beta")
        yield
    _NOTICE["shown"] = True


def _crow(rows: torch.Tensor, n: int) -> torch.Tensor:
    counts = torch.bincount(rows, minlength=n)
    return torch.cat([counts.new_zeros(1), counts.cumsum(0)])


def usable(a: torch.Tensor) -> bool:
    """Whether the sparse kernels serve tables like ``a`` (CPU, float32 or float64)."""
    return a.device.type == "cpu" and a.dtype in _DTYPES


def sampled_dot(a: torch.Tensor, b: torch.Tensor, pattern: Pattern) -> torch.Tensor:
    """``out[u, e] = sum_r a[ra[u], e, r] * b[rb[u], e, r]`` for (Ua, E, R) and (Ub, E, R)
    tables; returns (U, E), the pairs in the order they were given to the pattern."""
    return _SampledDot.apply(a, b, pattern)


class _SampledDot(torch.autograd.Function):
    @staticmethod
    def forward(ctx, a, b, pattern):
        ctx.save_for_backward(a, b)
        ctx.pattern = pattern
        with _quiet():
            zeros = pattern.matrix(a.new_zeros(pattern.nnz))
            cols = [
                torch.sparse.sampled_addmm(zeros, a[:, e], b[:, e].T, beta=0.0).values()
                for e in range(a.shape[1])
            ]
        out = cols[0].unsqueeze(1) if len(cols) == 1 else torch.stack(cols, 1)
        return _unorder(out, pattern.order)

    @staticmethod
    def backward(ctx, grad):
        a, b = ctx.saved_tensors
        pattern = ctx.pattern
        if pattern.order is not None:
            grad = grad.index_select(0, pattern.order)
        need_a, need_b = ctx.needs_input_grad[:2]
        if torch.is_grad_enabled():  # create_graph=True: differentiable gathers and scatters
            ra = torch.repeat_interleave(
                torch.arange(pattern.shape[0], device=a.device), pattern.crow.diff()
            )
            rb, g = pattern.col.long(), grad.unsqueeze(-1)
            ga = torch.zeros_like(a).index_add(0, ra, b.index_select(0, rb) * g) if need_a else None
            gb = torch.zeros_like(b).index_add(0, rb, a.index_select(0, ra) * g) if need_b else None
            return ga, gb, None
        with _quiet():
            ga = _spmm(pattern, grad, b, transpose=False) if need_a else None
            gb = _spmm(pattern, grad, a, transpose=True) if need_b else None
        return ga, gb, None


def _spmm(pattern: Pattern, grad: torch.Tensor, x: torch.Tensor, *, transpose: bool):
    """``G @ x`` member by member (``G.T`` when ``transpose``), G the (P, E) gradient on the
    pattern; written into one fresh (rows, E, R) tensor (``out=``: without it the sparse product
    allocates and copies its result once more)."""
    rows = pattern.shape[1 if transpose else 0]
    out = x.new_empty(rows, *x.shape[1:])
    for e in range(x.shape[1]):
        g = pattern.matrix(grad[:, e].contiguous(), transpose=transpose)
        torch.mm(g, x[:, e], out=out[:, e])
    return out


def _unorder(out: torch.Tensor, order: torch.Tensor | None) -> torch.Tensor:
    """Values in row-major pair order back to the pairs' given order."""
    if order is None:
        return out
    return torch.empty_like(out).index_copy_(0, order, out)
