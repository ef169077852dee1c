"""Kernels of product-pooling evaluation at index batches: memoized merges and the finishes.

Vocabulary
----------
table
    A node's values at some rows, laid out ``(rows, E, channels)`` so that gathering rows reads
    contiguous memory (E: ensemble members).
merge
    ``out[u] = a[rows_a[u]] * b[rows_b[u]]``: the product of two tables at the distinct pairs
    of rows that occur in a batch (:class:`PairMerge`).
finish
    The last step at the root: the weighted sum over channels of the pooled table (fused with
    the last merge by ``PairMerge(..., reduce=True)``), or the root's value at every pair of
    rows of two tables as one matrix product (:func:`outer_finish`).
"""

from __future__ import annotations

import torch

from tnreg.models.engine.members import channel_product, member_matmul, scale_channels

__all__ = [
    "CHUNK_ELEMENTS",
    "PairMerge",
    "channel_matmul",
    "chunk_rows",
    "outer_finish",
    "pair_grads",
]

CHUNK_ELEMENTS = 2**17  # rows per chunk x E x R: a chunk's gathered rows stay in cache


def channel_matmul(x: torch.Tensor, m: torch.Tensor) -> torch.Tensor:
    """(U, E, R) @ (E, R, S) -> (U, E, S), member by member (one GEMM per member, see
    :mod:`tnreg.models.engine.members`)."""
    return channel_product(x, m)


def chunk_rows(a: torch.Tensor, n: int) -> int:
    """Rows per chunk: cache-sized on the CPU; all at once on a GPU (launches cost more there)."""
    if a.is_cuda:
        return max(n, 1)
    return max(1, CHUNK_ELEMENTS // max(1, a.shape[1] * a.shape[2]))


def pair_grads(a, b, rows_a, rows_b, grad, need_a: bool, need_b: bool) -> tuple:
    """Gradients of ``out[u] = a[rows_a[u]] * b[rows_b[u]]`` (summed over channels when
    ``grad`` has a trailing axis of size 1) as differentiable gathers and scatters: the
    ``create_graph=True`` backward of the memoized merges (double backward works through it)."""
    ga = (
        torch.zeros_like(a).index_add(0, rows_a, b.index_select(0, rows_b) * grad)
        if need_a
        else None
    )
    gb = (
        torch.zeros_like(b).index_add(0, rows_b, a.index_select(0, rows_a) * grad)
        if need_b
        else None
    )
    return ga, gb


class PairMerge(torch.autograd.Function):
    """One memoized merge, ``out[u] = a[ra[u]] * b[rb[u]]`` (``(U, E, R)``), or with
    ``reduce=True`` the root's last merge fused with its sum over channels (``(U, E)``).

    Call it as ``PairMerge.apply(a, b, ra, rb, reduce)``. Each chunk of rows is gathered and
    multiplied (and summed) while it is in cache, so the gathered (U, E, R) operands are never
    materialized whole nor kept for the backward pass (unfused, that would be three U × E × R
    arrays: 120 MB at U = 10,000, R = 1,000 in float32); the backward pass regathers per chunk
    and scatters with ``index_add_``. Under ``create_graph=True`` the backward runs as one
    differentiable pass, so double backward works.
    """

    @staticmethod
    def forward(ctx, a, b, ra, rb, reduce):
        ctx.save_for_backward(a, b, ra, rb)
        ctx.reduce = reduce
        n = ra.shape[0]
        step = chunk_rows(a, n)
        out = a.new_empty(n, a.shape[1]) if reduce else a.new_empty(n, *a.shape[1:])
        for s in range(0, n, step):
            prod = a.index_select(0, ra[s : s + step]) * b.index_select(0, rb[s : s + step])
            out[s : s + step] = prod.sum(-1) if reduce else prod
        return out

    @staticmethod
    def backward(ctx, grad):
        a, b, ra, rb = ctx.saved_tensors
        if ctx.reduce:
            grad = grad[..., None]
        need_a, need_b = ctx.needs_input_grad[:2]
        if torch.is_grad_enabled():  # create_graph=True: one differentiable pass, no chunks
            return *pair_grads(a, b, ra, rb, grad, need_a, need_b), None, None, None
        ga = torch.zeros_like(a) if need_a else None
        gb = torch.zeros_like(b) if need_b else None
        n = ra.shape[0]
        step = chunk_rows(a, n)
        for s in range(0, n, step):
            ia, ib, g = ra[s : s + step], rb[s : s + step], grad[s : s + step]
            if ga is not None:
                ga.index_add_(0, ia, b.index_select(0, ib) * g)
            if gb is not None:
                gb.index_add_(0, ib, a.index_select(0, ia) * g)
        return ga, gb, None, None, None


def outer_finish(
    a: torch.Tensor, b: torch.Tensor, weights: torch.Tensor | None, output: torch.Tensor
) -> torch.Tensor:
    """Root values at the samples, (E, B): one GEMM over every pair of rows of a (Ua, E, R) and
    b (Ub, E, R), then one gather of the flattened (Ua, Ub) result at ``output``.

    ``weights`` is the (E, R, 1) output layer, or ``None`` when it is fixed to ones. The GEMM
    result is gathered where it is made, so the backward pass scatters into a contiguous
    (Ua, Ub) gradient and runs two contiguous GEMMs per member.
    """
    if weights is not None:  # the output layer's weight per channel (E, R), on the smaller
        if a.shape[0] <= b.shape[0]:
            a = scale_channels(a, weights[..., 0])
        else:
            b = scale_channels(b, weights[..., 0])
    full = member_matmul(a.transpose(0, 1), b.permute(1, 2, 0))  # (E, Ua, Ub)
    return full.flatten(1).index_select(1, output)
