"""The locality regularizer of Razin, Maman & Cohen (2022, Sec. 5) for any image classifier.

Vocabulary
----------
score
    The scalar ``s(x)`` per sample whose input gradients are compared. For a network with one
    logit it is that logit; with two logits the logit difference ``z_1 - z_0`` (the binary
    decision function); with ``C > 2`` logits the true-class logit ``z_y``. See :func:`score`.
swapped input
    ``x'`` = ``x`` with patch ``J`` taken from the next sample of the batch (a cyclic shift), so
    ``x'`` and ``x`` agree on patch ``I`` and everywhere but ``J``.
penalty
    ``Reg = mean_b |cos(g_b, g'_b)|`` with ``g = ∇_{x_I} s(x)``, ``g' = ∇_{x_I} s(x')`` flattened
    per sample. ``Reg = 1`` exactly when the gradient at ``I`` does not depend on ``J`` up to
    scale, as for ``s = g(x_I) h(x_rest)`` or ``s = g(x_I) + h(x_rest)``; a low value means
    strong interaction between ``I`` and ``J``. The training loss adds ``λ · Reg`` (double
    backprop), which pushes the network toward interactions between distant patches, against
    the implicit bias toward locality (low separation rank).

Cost: one extra forward pass (of ``x'``, when the loss's own forward on ``x`` is passed in as
``logits``; else of the doubled batch ``[x; x']``), two input-gradient backwards with
``create_graph=True``, and the backward through those graphs in the optimizer step (double
backprop): 3-6x a plain step (``bench/bench_locality.py`` measures it; see RESULTS.md). Networks
with batch normalization in training mode normalize ``x'`` with its own batch statistics (or,
without ``logits``, ``[x; x']`` together), so the gradients include the coupling through the
batch statistics.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Protocol

import torch

from tnreg.locality.patches import Patch, swap_patch

__all__ = [
    "SCORES",
    "LocalityRegularizer",
    "PatchSampler",
    "gradient_cosines",
    "locality_penalty",
    "score",
]

#: Accepted ``score`` names (see :func:`score`).
SCORES: tuple[str, ...] = ("auto", "logit", "difference", "label")


class PatchSampler(Protocol):
    """Anything with ``sample(height, width, *, generator) -> (Patch, Patch)``."""

    def sample(
        self, height: int, width: int, *, generator: torch.Generator
    ) -> tuple[Patch, Patch]: ...


def score(
    logits: torch.Tensor, y: torch.Tensor | None = None, *, kind: str = "auto"
) -> torch.Tensor:
    """The per-sample scalar ``s(x)`` whose input gradients the regularizer compares.

    Parameters
    ----------
    logits
        Network output of shape ``(B,)``, ``(B, 1)`` or ``(B, C)``.
    y
        Integer labels of shape ``(B,)``; needed for ``kind="label"`` (and ``"auto"`` with
        ``C > 2``).
    kind
        ``"logit"``: the single logit (``(B,)`` or ``(B, 1)`` outputs); ``"difference"``:
        ``z_1 - z_0`` (two logits); ``"label"``: the true-class logit ``z_y``; ``"auto"``: the
        first that applies, in that order.

    Returns
    -------
    torch.Tensor
        Shape ``(B,)``.

    Raises
    ------
    ValueError
        For an unknown ``kind``, an output shape that does not fit it, or missing labels.

    Examples
    --------
    >>> score(torch.tensor([[0.0, 2.0], [1.0, 0.5]]))
    tensor([ 2.0000, -0.5000])
    >>> score(torch.tensor([[0.0, 2.0, 5.0]]), torch.tensor([1]))
    tensor([2.])
    """
    if kind not in SCORES:
        raise ValueError(f"unknown score kind={kind!r}; valid options: {list(SCORES)}")
    if logits.ndim == 1:
        logits = logits[:, None]
    if logits.ndim != 2:
        raise ValueError(
            f"score needs logits of shape (B,), (B, 1) or (B, C); got {tuple(logits.shape)}"
        )
    c = logits.shape[1]
    if kind == "auto":
        kind = "logit" if c == 1 else "difference" if c == 2 else "label"
    if kind == "logit" and c == 1:
        return logits[:, 0]
    if kind == "difference" and c == 2:
        return logits[:, 1] - logits[:, 0]
    if kind == "label":
        if y is None or y.shape != logits.shape[:1]:
            got = None if y is None else tuple(y.shape)
            raise ValueError(
                f"score kind='label' needs labels y of shape ({logits.shape[0]},); got {got}"
            )
        return logits.gather(1, y.long()[:, None])[:, 0]
    raise ValueError(
        f"score kind={kind!r} does not fit logits with {c} columns: 'logit' needs 1, "
        "'difference' needs 2, 'label' any number (with labels)"
    )


def gradient_cosines(
    model: Callable[[torch.Tensor], torch.Tensor],
    x: torch.Tensor,
    patch_i: Patch,
    patch_j: Patch,
    *,
    y: torch.Tensor | None = None,
    kind: str = "auto",
    logits: torch.Tensor | None = None,
    create_graph: bool = True,
    eps: float = 1e-12,
) -> torch.Tensor:
    """Cosines ``cos(∇_{x_I} s(x), ∇_{x_I} s(x'))`` per sample, ``x'`` = ``x`` with ``J`` swapped.

    Patch ``J`` of ``x'`` comes from the next sample of the batch (``torch.roll`` by one), so the
    batch needs at least two samples. Without ``logits``: one forward pass on ``[x; x']`` and one
    input-gradient backward (with ``create_graph`` for double backprop). With ``logits`` (the
    model's output on ``x`` from the caller's own forward pass, ``x`` requiring grad): only ``x'``
    is forwarded, which saves a forward pass of the batch (Razin et al.'s training code does this).

    Returns
    -------
    torch.Tensor
        Shape ``(B,)``, in ``[-1, 1]``; ``0`` where a gradient vanishes (below ``eps``).

    Raises
    ------
    ValueError
        If ``x`` is not ``(B, C, H, W)`` with ``B >= 2``, or the patches overlap or do not fit.

    Examples
    --------
    >>> x = torch.randn(3, 1, 4, 4, dtype=torch.float64)
    >>> f = lambda z: z[:, :, :2, :2].sum((1, 2, 3)) * z[:, :, 2:, 2:].sum((1, 2, 3))
    >>> c = gradient_cosines(f, x, Patch(0, 0, 2, 2), Patch(2, 2, 2, 2))
    >>> bool(torch.allclose(c.abs(), torch.ones(3, dtype=torch.float64)))
    True
    """
    if x.ndim != 4 or x.shape[0] < 2:
        raise ValueError(
            "the locality regularizer needs an image batch (B, C, H, W) with B >= 2 (patch J "
            f"is swapped in from another sample); got shape {tuple(x.shape)}"
        )
    if patch_i.overlaps(patch_j):
        raise ValueError(f"patches I={patch_i} and J={patch_j} overlap; use disjoint patches")
    height, width = x.shape[-2:]
    patch_i.check_fits(height, width, where="patch I")
    if logits is not None and not x.requires_grad:
        raise ValueError(
            "gradient_cosines with logits needs the x they were computed from with "
            "requires_grad=True; call x.requires_grad_() before the forward pass"
        )
    xd = x.detach()
    xb = swap_patch(xd, torch.roll(xd, 1, dims=0), patch_j).requires_grad_(True)
    if logits is None:
        xa = xd.clone().requires_grad_(True)
        yy = None if y is None else torch.cat([y, y])
        s = score(model(torch.cat([xa, xb])), yy, kind=kind)
        ga, gb = torch.autograd.grad(s.sum(), (xa, xb), create_graph=create_graph)
    else:
        (ga,) = torch.autograd.grad(score(logits, y, kind=kind).sum(), x, create_graph=create_graph)
        sb = score(model(xb), y, kind=kind)
        (gb,) = torch.autograd.grad(sb.sum(), xb, create_graph=create_graph)
    rows = slice(patch_i.top, patch_i.top + patch_i.height)
    cols = slice(patch_i.left, patch_i.left + patch_i.width)
    dtype = torch.promote_types(ga.dtype, torch.float32)
    ga = ga[:, :, rows, cols].flatten(1).to(dtype)
    gb = gb[:, :, rows, cols].flatten(1).to(dtype)
    dot = (ga * gb).sum(1)
    norms = ga.norm(dim=1) * gb.norm(dim=1)
    return dot / norms.clamp_min(eps)


def locality_penalty(
    model: Callable[[torch.Tensor], torch.Tensor],
    x: torch.Tensor,
    patch_i: Patch,
    patch_j: Patch,
    *,
    y: torch.Tensor | None = None,
    kind: str = "auto",
    logits: torch.Tensor | None = None,
) -> torch.Tensor:
    """``Reg = mean |cos|`` over the batch (see :func:`gradient_cosines`); differentiable.

    Examples
    --------
    >>> x = torch.randn(4, 1, 4, 4, dtype=torch.float64)
    >>> f = lambda z: z[:, :, :2, :2].square().sum((1, 2, 3)) + z[:, :, 2:].sum((1, 2, 3))
    >>> round(float(locality_penalty(f, x, Patch(0, 0, 2, 2), Patch(2, 0, 2, 4)).detach()), 9)
    1.0
    """
    cos = gradient_cosines(model, x, patch_i, patch_j, y=y, kind=kind, logits=logits)
    return cos.abs().mean()


class LocalityRegularizer:
    """``λ · Reg`` with patches drawn by a sampler each call; add its value to the loss.

    Parameters
    ----------
    coefficient
        ``λ >= 0``; with ``0`` the call returns a zero tensor without any extra pass.
    sampler
        A :class:`~tnreg.locality.patches.FixedPatches`, a
        :class:`~tnreg.locality.patches.RandomPatches` or anything with the same ``sample``.
    kind
        Which score (see :func:`score`).
    seed
        Seed of the sampler's own generator (patch positions are reproducible).

    Examples
    --------
    >>> from tnreg.locality.patches import RandomPatches
    >>> reg = LocalityRegularizer(3.0, RandomPatches(size=2, min_distance=4.0), seed=0)
    >>> net = torch.nn.Sequential(
    ...     torch.nn.Flatten(), torch.nn.Linear(64, 8), torch.nn.Tanh(), torch.nn.Linear(8, 1)
    ... )
    >>> value = reg(net, torch.randn(4, 1, 8, 8))
    >>> value.requires_grad and 0.0 <= float(value.detach()) <= 3.0 + 1e-5
    True
    """

    def __init__(
        self, coefficient: float, sampler: PatchSampler, *, kind: str = "auto", seed: int = 0
    ) -> None:
        if not (isinstance(coefficient, (int, float)) and math.isfinite(coefficient)) or (
            coefficient < 0
        ):
            raise ValueError(
                f"LocalityRegularizer coefficient must be a finite number >= 0; got {coefficient!r}"
            )
        if kind not in SCORES:
            raise ValueError(f"unknown score kind={kind!r}; valid options: {list(SCORES)}")
        self.coefficient = float(coefficient)
        self.sampler = sampler
        self.kind = kind
        self.generator = torch.Generator().manual_seed(seed)
        self.last_penalty = float("nan")

    def __repr__(self) -> str:
        return (
            f"LocalityRegularizer(coefficient={self.coefficient}, sampler={self.sampler!r}, "
            f"kind={self.kind!r})"
        )

    def __call__(
        self,
        model: Callable[[torch.Tensor], torch.Tensor],
        x: torch.Tensor,
        y: torch.Tensor | None = None,
        *,
        logits: torch.Tensor | None = None,
    ) -> torch.Tensor:
        """Return ``λ · Reg`` on batch ``x`` (labels ``y`` when the score needs them).

        Pass ``logits = model(x)`` from the loss's own forward pass (with ``x.requires_grad_()``
        called before it) to save one forward pass of the batch.
        """
        if self.coefficient == 0.0:
            return torch.zeros((), device=x.device)
        i, j = self.sampler.sample(x.shape[-2], x.shape[-1], generator=self.generator)
        penalty = locality_penalty(model, x, i, j, y=y, kind=self.kind, logits=logits)
        self.last_penalty = float(penalty.detach())
        return self.coefficient * penalty
