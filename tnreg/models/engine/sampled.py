"""The root's last merge as a sampled matrix product: sparse kernels instead of gathers.

At the root of a product pooling, the last merge and the sum over channels together compute
``out[u] = sum_r a[ra[u], r] * b[rb[u], r]`` for the distinct pairs ``u`` of rows that occur in
the batch: the entries of the matrix product ``a @ b.T`` at a fixed sparsity pattern. On the CPU
a sampled dense-dense product (``torch.sparse.sampled_addmm``) computes them without gathering
any row, and the backward pass is two sparse-times-dense products (``G @ b`` and ``G.T @ a``,
with ``G`` the gradient on the pattern). Where the pattern holds a small fraction of all pairs
this beats both the gathered merge and the dense GEMM over every pair (the cost-based planner,
:mod:`tnreg.models.engine.planner`, decides; measurements in ``BENCHMARKS.md``).

Ensembles need no loop over members: a (U, E, R) table read as (U·E, R) has row ``u·E + e``
for member ``e``, so all members together are one block-diagonal pattern with the members
interleaved (row ``u·E + e``, column ``j·E + e``), one kernel call for any E, on views.

The pattern depends on the batch only, so it is built once per index schedule.
"""

from __future__ import annotations

import contextlib
import warnings
from collections.abc import Iterator
from dataclasses import dataclass, field

import torch

from tnreg.models.engine.kernels import pair_grads

__all__ = ["Pattern", "sampled_dot", "usable"]

_DTYPES = (torch.float32, torch.float64)


@dataclass(frozen=True, eq=False)
class _Layout:
    """The pattern for E interleaved members as compressed sparse rows, both ways.

    Entry ``k`` of the row-major layout holds pair-and-member ``take[k]`` (an index into the
    row-major (P, E) values); ``take_t`` the same for the transpose. ``None``: the identity.
    """

    crow: torch.Tensor
    col: torch.Tensor
    take: torch.Tensor | None
    crow_t: torch.Tensor
    col_t: torch.Tensor
    take_t: torch.Tensor


@dataclass(frozen=True, eq=False)
class Pattern:
    """The distinct pairs ``(rows_a[u], rows_b[u])`` of rows of an (na, ·) and an (nb, ·) table.

    ``rows_a``/``rows_b`` are kept in row-major order; ``order`` puts the given pairs in that
    order (``None`` when they already are, as :func:`~tnreg.models.engine.rows.distinct_rows`
    returns them). Sparse layouts are built per ensemble size on first use.
    """

    shape: tuple[int, int]
    rows_a: torch.Tensor
    rows_b: torch.Tensor
    order: torch.Tensor | None
    _layouts: dict = field(default_factory=dict, repr=False)

    @classmethod
    def from_rows(cls, rows_a: torch.Tensor, rows_b: torch.Tensor, na: int, nb: int) -> Pattern:
        """The pattern of distinct pairs of rows of an (na, ·) and an (nb, ·) table."""
        key = rows_a * nb + rows_b
        order = None
        if key.numel() > 1 and not bool((key[1:] > key[:-1]).all()):
            order = torch.argsort(key)
            rows_a, rows_b = rows_a[order], rows_b[order]
        return cls((na, nb), rows_a.long(), rows_b.long(), order)

    @property
    def nnz(self) -> int:
        """Number of distinct pairs."""
        return int(self.rows_a.shape[0])

    def layout(self, members: int) -> _Layout:
        """Compressed sparse rows of the (na·E, nb·E) pattern of ``members`` interleaved members
        and of its transpose (cached)."""
        if members not in self._layouts:
            self._layouts[members] = self._build(members)
        return self._layouts[members]

    def _build(self, members: int) -> _Layout:
        (na, nb), e = self.shape, members
        flat = torch.arange(self.nnz * e, device=self.rows_a.device)  # pair-major, member-minor
        pair, member = flat // e, flat % e
        rows, cols = self.rows_a[pair] * e + member, self.rows_b[pair] * e + member
        # stable sorts keep, within a row, the pairs' order: the columns come out ascending
        take = torch.argsort(rows, stable=True)
        take_t = torch.argsort(cols, stable=True)
        index = torch.int32 if max(na, nb) * e < 2**31 and flat.numel() < 2**31 else torch.int64
        return _Layout(
            crow=_crow(rows[take], na * e).to(index),
            col=cols[take].to(index),
            take=None if e == 1 else take,
            crow_t=_crow(cols[take_t], nb * e).to(index),
            col_t=rows[take_t].to(index),
            take_t=take_t,
        )

    def matrix(self, values: torch.Tensor, *, transpose: bool = False) -> torch.Tensor:
        """The sparse CSR (na·E, nb·E) matrix (or its transpose) holding ``values``, the (P,) or
        row-major (P, E) values of the pairs."""
        e = 1 if values.ndim == 1 else values.shape[1]
        lay, flat = self.layout(e), values.reshape(-1)
        take = lay.take_t if transpose else lay.take
        if take is not None:
            flat = flat.index_select(0, take)
        return self._csr(lay, e, flat, transpose)

    def _csr(self, lay: _Layout, e: int, flat: torch.Tensor, transpose: bool) -> torch.Tensor:
        """The CSR tensor of layout ``lay`` with ``flat`` already in its entry order."""
        na, nb = self.shape
        if transpose:
            crow, col, shape = lay.crow_t, lay.col_t, (nb * e, na * e)
        else:
            crow, col, shape = lay.crow, lay.col, (na * e, nb * e)
        with _quiet():
            return torch.sparse_csr_tensor(crow, col, flat, shape, check_invariants=False)


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


def _rows(t: torch.Tensor) -> torch.Tensor:
    """A (U, E, R) table as (U·E, R): row ``u·E + e`` (a view when the table is contiguous)."""
    return t.reshape(-1, t.shape[-1])


def _product(sparse: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
    """``sparse @ rows(t)`` as a fresh (U, E, R) table. ``addmm`` with ``beta=0`` into its own
    output: ``torch.mm`` of a sparse matrix zero-fills a result and copies it once more, two
    extra passes over the output that this avoids."""
    out = t.new_empty((sparse.shape[0] // t.shape[1], *t.shape[1:]))
    flat = _rows(out)
    torch.addmm(flat, sparse, _rows(t), beta=0.0, out=flat)  # beta=0: out's contents ignored
    return out


class _SampledDot(torch.autograd.Function):
    @staticmethod
    def forward(ctx, a, b, pattern):
        ctx.save_for_backward(a, b)
        ctx.pattern = pattern
        members = a.shape[1]
        lay = pattern.layout(members)
        with _quiet():  # zeros need no reordering into the layout
            zeros = pattern._csr(lay, members, a.new_zeros(pattern.nnz * members), False)
            values = torch.sparse.sampled_addmm(zeros, _rows(a), _rows(b).T, beta=0.0).values()
        take = lay.take
        if take is not None:  # back to row-major (pair, member)
            values = torch.empty_like(values).index_copy_(0, take, values)
        out = values.view(pattern.nnz, members)
        if pattern.order is None:
            return out
        return torch.empty_like(out).index_copy_(0, pattern.order, out)

    @staticmethod
    def backward(ctx, grad):
        a, b = ctx.saved_tensors
        pattern = ctx.pattern
        if pattern.order is not None:
            grad = grad.index_select(0, pattern.order)
        need_a, need_b = ctx.needs_input_grad[:2]
        if torch.is_grad_enabled():  # create_graph=True: differentiable gathers and scatters
            g = grad.unsqueeze(-1)
            return *pair_grads(a, b, pattern.rows_a, pattern.rows_b, g, need_a, need_b), None
        grad = grad.contiguous()
        ga = gb = None
        with _quiet():
            if need_a:
                ga = _product(pattern.matrix(grad), b)
            if need_b:
                gb = _product(pattern.matrix(grad, transpose=True), a)
        return ga, gb, None
