"""Per-member kernels: each member's arithmetic does not depend on the ensemble size.

Vocabulary
----------
member-major
    A tensor laid out ``(E, ...)`` and contiguous, so member ``e``'s slice ``t[e]`` has the
    same shape and strides for every ensemble size E.
member independence
    Member ``e`` of an ensemble of E computes, bit for bit, what a single model (E = 1) with
    the same parameters computes. Batched matrix products and reductions over a broadcast
    axis do not guarantee it: their blocking, vector tails and kernel choice depend on the
    batch size and on the size of the axes beside the reduced one. The kernels here run one
    matrix product or one reduction per member on member-major slices, so every member sees
    the same kernel on the same layout as a single model.

- :func:`member_matmul`: ``out[e] = a[e] @ b[e]``.
- :func:`channel_product`: a (U, E, R) table times per-member (E, R, S) matrices.
- :func:`scale_channels`: ``t * w`` for a (U, E, R) table and (E, R) weights.
- :func:`outer_merge`: every row of one table times every row of another.
- :func:`row_sums`: the sum of each row of an (E, N) tensor, whatever E and the thread count.
"""

from __future__ import annotations

import torch

__all__ = ["BLOCK", "channel_product", "member_matmul", "outer_merge", "row_sums", "scale_channels"]

BLOCK = 4096  # entries per partial sum of row_sums: below torch's parallel grain (32768)


def _mm(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """``a[e] @ b[e]`` for every e, one GEMM per member (a batched GEMM would block, and so
    round, according to E). ``a[e]`` and ``b[e]`` must have strides that do not depend on E:
    slices of member-major tensors, or their transposes."""
    if a.shape[0] == 1:
        return (a[0] @ b[0]).unsqueeze(0)
    return torch.stack([x @ y for x, y in zip(a, b)])


class _MemberMatmul(torch.autograd.Function):
    @staticmethod
    def forward(ctx, a, b):
        ctx.save_for_backward(a, b)
        return _mm(a.contiguous(), b.contiguous())

    @staticmethod
    def backward(ctx, grad):
        a, b = ctx.saved_tensors
        need_a, need_b = ctx.needs_input_grad
        grad = grad.contiguous()
        ga = _mm(grad, b.contiguous().transpose(1, 2)) if need_a else None
        gb = _mm(a.contiguous().transpose(1, 2), grad) if need_b else None
        return ga, gb


def member_matmul(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """``out[e] = a[e] @ b[e]`` for (E, M, K) and (E, K, N): (E, M, N), one GEMM per member.

    Forward and backward run each member's products on member-major copies (see the module
    docstring), so member ``e``'s values and gradients are those of ``a[e:e+1]``,
    ``b[e:e+1]`` alone. Double backward works (the backward pass is differentiable).

    Examples
    --------
    >>> a, b = torch.randn(3, 4, 5), torch.randn(3, 5, 2)
    >>> torch.equal(member_matmul(a, b)[1], member_matmul(a[1:2], b[1:2])[0])
    True
    """
    return _MemberMatmul.apply(a, b)


def _mm_into(a: torch.Tensor, b: torch.Tensor, out: torch.Tensor) -> torch.Tensor:
    """``out[:, e] = a[e] @ b[e]`` for member-major ``a``, ``b`` into a (M, E, N) ``out``: one
    GEMM per member on the same layouts as E = 1 (only the output's row stride differs)."""
    for e in range(a.shape[0]):
        torch.mm(a[e], b[e], out=out[:, e])
    return out


class _ChannelMatmul(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x, m):
        ctx.save_for_backward(x, m)
        xm = x.transpose(0, 1).contiguous()
        return _mm_into(xm, m.contiguous(), x.new_empty(x.shape[0], *m.shape[::2]))

    @staticmethod
    def backward(ctx, grad):
        x, m = ctx.saved_tensors
        need_x, need_m = ctx.needs_input_grad
        if torch.is_grad_enabled():  # create_graph=True: differentiable per-member products
            g = grad.transpose(0, 1)
            gx = member_matmul(g, m.transpose(1, 2)).transpose(0, 1) if need_x else None
            gm = member_matmul(x.permute(1, 2, 0), g) if need_m else None
            return gx, gm
        g = grad.transpose(0, 1).contiguous()  # (E, U, S)
        gx = _mm_into(g, m.contiguous().transpose(1, 2), torch.empty_like(x)) if need_x else None
        gm = _mm(x.transpose(0, 1).contiguous().transpose(1, 2), g) if need_m else None
        return gx, gm


def channel_product(x: torch.Tensor, m: torch.Tensor) -> torch.Tensor:
    """(U, E, R) @ (E, R, S) -> (U, E, S), one GEMM per member (see the module docstring).

    Examples
    --------
    >>> x, m = torch.randn(6, 3, 4), torch.randn(3, 4, 2)
    >>> torch.equal(channel_product(x, m)[:, 2], channel_product(x[:, 2:], m[2:])[:, 0])
    True
    """
    return _ChannelMatmul.apply(x, m)


def _member_sums(t: torch.Tensor) -> torch.Tensor:
    """``t.sum(0)`` of a (U, E, R) table, (E, R), reduced on a member-major copy: each
    member's (U, R) block is reduced alike for every E."""
    return t.transpose(0, 1).contiguous().sum(1)


class _ScaleChannels(torch.autograd.Function):
    @staticmethod
    def forward(ctx, t, w):
        ctx.save_for_backward(t, w)
        return t * w

    @staticmethod
    def backward(ctx, grad):
        t, w = ctx.saved_tensors
        need_t, need_w = ctx.needs_input_grad
        gt = grad * w if need_t else None
        gw = _member_sums(grad * t) if need_w else None
        return gt, gw


def scale_channels(t: torch.Tensor, w: torch.Tensor) -> torch.Tensor:
    """``t * w`` for a (U, E, R) table and (E, R) weights; the weights' gradient is summed
    over the rows member by member (see the module docstring).

    Examples
    --------
    >>> scale_channels(torch.ones(2, 1, 3), torch.tensor([[1.0, 2.0, 3.0]]))[1]
    tensor([[1., 2., 3.]])
    """
    return _ScaleChannels.apply(t, w)


def _outer_grads(grad, a, b, need_a: bool, need_b: bool) -> tuple:
    """Gradients of ``out[i, j] = a[i] * b[j]`` from the (Ua, Ub, E, R) ``grad``: products
    summed over the other table's rows on member-major copies, so each reduction runs on a
    (rows, rows, R) block per member, the same for every E."""
    g = grad.permute(2, 0, 1, 3).contiguous()  # (E, Ua, Ub, R)
    ga = gb = None
    if need_a:
        ga = (g * b.transpose(0, 1).contiguous().unsqueeze(1)).sum(2).transpose(0, 1)
    if need_b:
        gb = (g * a.transpose(0, 1).contiguous().unsqueeze(2)).sum(1).transpose(0, 1)
    return (
        None if ga is None else ga.contiguous(),
        None if gb is None else gb.contiguous(),
    )


class _OuterMerge(torch.autograd.Function):
    @staticmethod
    def forward(ctx, a, b):
        ctx.save_for_backward(a, b)
        return (a.unsqueeze(1) * b.unsqueeze(0)).flatten(0, 1)

    @staticmethod
    def backward(ctx, grad):
        a, b = ctx.saved_tensors
        grad = grad.view(a.shape[0], b.shape[0], *a.shape[1:])
        return _outer_grads(grad, a, b, *ctx.needs_input_grad)


def outer_merge(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """Every row of a (Ua, E, R) table times every row of a (Ub, E, R) one: (Ua·Ub, E, R),
    row ``i·Ub + j`` = ``a[i] * b[j]``; gradients reduced member by member.

    Examples
    --------
    >>> outer_merge(torch.tensor([[[1.0]], [[2.0]]]), torch.tensor([[[3.0]], [[5.0]]]))[:, 0, 0]
    tensor([ 3.,  5.,  6., 10.])
    """
    return _OuterMerge.apply(a, b)


def row_sums(x: torch.Tensor) -> torch.Tensor:
    """``x.sum(1)`` of an (E, N) tensor, (E,), each row summed as when E = 1, on any number
    of threads.

    torch splits a reduction to one value (E = 1) of 32768 entries or more across threads,
    which rounds differently from the one-thread sum that each row of E >= 2 gets. Here every
    row is summed in blocks of :data:`BLOCK` entries (each block one thread's), then the
    block sums and the tail, on a contiguous copy (a strided row, as in the transposed (E, B)
    output of an ensemble, would be summed in another order): the same arithmetic for every E
    and thread count.

    Examples
    --------
    >>> x = torch.randn(3, 10_000, dtype=torch.float64)
    >>> torch.equal(row_sums(x)[2], row_sums(x[2:])[0])
    True
    """
    x, n = x.contiguous(), x.shape[1]
    if n <= BLOCK:
        return x.sum(1)
    whole = n - n % BLOCK
    head = x[:, :whole].reshape(x.shape[0], -1, BLOCK).sum(2)
    if head.shape[1] > BLOCK:
        head = row_sums(head)[:, None]
    return head.sum(1) + x[:, whole:].sum(1)
