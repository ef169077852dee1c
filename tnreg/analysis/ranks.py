"""Rank measures of singular-value spectra.

Vocabulary
----------
spectrum
    A tensor ``s`` of shape ``(..., k)`` of non-negative singular values of a matrix (for tnreg
    usually the matricization [W]_I of an end tensor at a tree node's mode set I), batched over
    the leading dimensions (an ensemble index E, say). Order along the last axis is free.
effective rank
    ``exp(H(p))`` with ``p = σ / Σσ`` over the singular values above ``atol`` (Roy & Vetterli
    2007). A continuous rank: ``1`` for rank one, ``k`` for ``k`` equal values. The zero
    spectrum has effective rank ``0`` by convention.
numerical rank
    The number of singular values ``σ > max(atol, rtol·σ_max)``; tolerances are always explicit.
hierarchical rank
    The tuple of the numerical ranks of [W]_I over the non-root nodes of a mode tree (postorder).

Every function is batched over the leading dimensions of ``s`` and, except the counts, is
differentiable (no NaN gradients from ``0·log 0`` or ``0/0``).
"""

from __future__ import annotations

import math
from collections.abc import Mapping

import networkx as nx
import torch

from tnreg.trees import postorder, root
from tnreg.typing import Node

__all__ = [
    "effective_rank",
    "frobenius_norm",
    "hierarchical_rank",
    "hierarchical_rank_tuple",
    "max_hierarchical_rank",
    "nuclear_norm",
    "numerical_rank",
    "top_k",
]


def _check_spectrum(s: object, where: str = "s") -> torch.Tensor:
    """Validate a spectrum: a floating tensor with at least one axis, finite and non-negative."""
    if not isinstance(s, torch.Tensor):
        raise TypeError(
            f"{where} must be a torch.Tensor of singular values with shape (..., k); "
            f"got {type(s).__name__}. Wrap arrays with torch.as_tensor(...)."
        )
    if s.ndim < 1:
        raise ValueError(
            f"{where} must have shape (..., k) with at least one axis; got a 0-d tensor. "
            "Use s.reshape(1) for a single singular value."
        )
    if not s.is_floating_point():
        raise TypeError(f"{where} must be a floating tensor; got dtype {s.dtype}")
    if s.numel() and not bool(torch.isfinite(s).all()):
        raise ValueError(
            f"{where} must be finite; got NaN or inf in a tensor of shape {tuple(s.shape)}"
        )
    if s.numel() and bool((s < 0).any()):
        raise ValueError(
            f"{where} must be non-negative singular values; got minimum {s.min().item():.3g} "
            f"in a tensor of shape {tuple(s.shape)}"
        )
    return s


def _check_tol(value: object, name: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise TypeError(f"{name} must be a real number >= 0; got {type(value).__name__} {value!r}")
    if not math.isfinite(value) or value < 0:
        raise ValueError(f"{name} must be a finite number >= 0; got {value!r}")
    return float(value)


def effective_rank(s: torch.Tensor, *, atol: float = 0.0) -> torch.Tensor:
    """Effective rank ``exp(H(p))``, ``p = σ / Σσ`` over ``σ > atol`` (Roy & Vetterli 2007).

    Parameters
    ----------
    s
        Singular values, shape ``(..., k)``, non-negative, any order.
    atol
        Singular values ``<= atol`` are dropped before normalizing.

    Returns
    -------
    torch.Tensor
        Shape ``(...)``, dtype of ``s``. Between ``1`` and the number of kept values, except
        that a spectrum with no value above ``atol`` (in particular the zero tensor) has
        effective rank ``0`` (not NaN). Terms with ``p = 0`` contribute ``0·log 0 = 0``;
        gradients are finite everywhere.

    Raises
    ------
    TypeError
        If ``s`` is not a floating tensor or ``atol`` not a number.
    ValueError
        If ``s`` is 0-d, has negative or non-finite entries, or ``atol < 0``.

    Examples
    --------
    >>> effective_rank(torch.tensor([1.0, 1.0, 0.0]))
    tensor(2.)
    >>> effective_rank(torch.zeros(2, 3, dtype=torch.float64))
    tensor([0., 0.], dtype=torch.float64)
    """
    s = _check_spectrum(s)
    atol = _check_tol(atol, "atol")
    kept = s > atol
    vals = torch.where(kept, s, torch.zeros_like(s))
    total = vals.sum(-1, keepdim=True)
    empty = total <= 0
    p = vals / torch.where(empty, torch.ones_like(total), total)
    positive = p > 0
    logp = torch.log(torch.where(positive, p, torch.ones_like(p)))
    entropy = -(torch.where(positive, p * logp, torch.zeros_like(p))).sum(-1)
    return torch.where(empty.squeeze(-1), torch.zeros_like(entropy), torch.exp(entropy))


def numerical_rank(s: torch.Tensor, *, rtol: float, atol: float = 0.0) -> torch.Tensor:
    """Number of singular values above ``max(atol, rtol·σ_max)``.

    Parameters
    ----------
    s
        Singular values, shape ``(..., k)``, non-negative, any order.
    rtol
        Relative tolerance (required: there is no silent default).
    atol
        Absolute tolerance.

    Returns
    -------
    torch.Tensor
        ``int64``, shape ``(...)``. The zero spectrum has rank ``0``.

    Raises
    ------
    TypeError
        If ``s`` is not a floating tensor or a tolerance is not a number.
    ValueError
        If ``s`` is 0-d or has negative or non-finite entries, or a tolerance is negative.

    Examples
    --------
    >>> numerical_rank(torch.tensor([3.0, 1e-3, 1e-9]), rtol=1e-6)
    tensor(2)
    """
    s = _check_spectrum(s)
    rtol, atol = _check_tol(rtol, "rtol"), _check_tol(atol, "atol")
    if s.shape[-1] == 0:
        return torch.zeros(s.shape[:-1], dtype=torch.int64, device=s.device)
    smax = s.detach().amax(-1, keepdim=True)
    threshold = torch.clamp(rtol * smax, min=atol)
    return (s.detach() > threshold).sum(-1)


def hierarchical_rank(
    spectra: Mapping[Node, torch.Tensor], *, rtol: float, atol: float = 0.0
) -> dict[Node, torch.Tensor]:
    """Numerical rank of every spectrum in ``spectra`` (node -> ``(..., k)``).

    Examples
    --------
    >>> hierarchical_rank({"a": torch.tensor([1.0, 0.0]), "b": torch.ones(3)}, rtol=1e-8)
    {'a': tensor(1), 'b': tensor(3)}
    """
    spectra = _check_mapping(spectra)
    return {v: numerical_rank(s, rtol=rtol, atol=atol) for v, s in spectra.items()}


def max_hierarchical_rank(
    spectra: Mapping[Node, torch.Tensor], *, rtol: float, atol: float = 0.0
) -> torch.Tensor:
    """Largest numerical rank over the nodes; shape = the common batch shape of the spectra.

    Raises
    ------
    ValueError
        If ``spectra`` is empty or the batch shapes differ.

    Examples
    --------
    >>> max_hierarchical_rank({"a": torch.tensor([1.0, 0.0]), "b": torch.ones(3)}, rtol=1e-8)
    tensor(3)
    """
    ranks = hierarchical_rank(spectra, rtol=rtol, atol=atol)
    if not ranks:
        raise ValueError("spectra is empty; expected a mapping node -> singular values")
    shapes = {v: tuple(r.shape) for v, r in ranks.items()}
    if len(set(shapes.values())) > 1:
        raise ValueError(f"spectra must share one batch shape; got batch shapes {shapes}")
    return torch.stack(list(ranks.values()), -1).amax(-1)


def hierarchical_rank_tuple(
    tree: nx.DiGraph, spectra: Mapping[Node, torch.Tensor], *, rtol: float, atol: float = 0.0
) -> tuple[int, ...]:
    """The hierarchical rank as a tuple of ints over the non-root nodes of ``tree`` in postorder.

    Spectra may be ``(k,)`` or batched with a single member (``(1, k)``, a one-run ensemble);
    for a larger batch take one member first (``{v: s[e] for v, s in spectra.items()}``).

    Raises
    ------
    ValueError
        If a non-root node of ``tree`` has no spectrum or a spectrum has more than one member.

    Examples
    --------
    >>> from tnreg.trees import balanced
    >>> tree = balanced(4)
    >>> spectra = {v: torch.tensor([1.0, 0.5, 0.0]) for v in [0, 1, 2, 3, (0, 1), (2, 3)]}
    >>> hierarchical_rank_tuple(tree, spectra, rtol=1e-8)
    (2, 2, 2, 2, 2, 2)
    """
    spectra = _check_mapping(spectra)
    top = root(tree)
    nodes = [v for v in postorder(tree) if v != top]
    missing = [v for v in nodes if v not in spectra]
    if missing:
        raise ValueError(
            f"spectra lacks the non-root nodes {missing}; expected one spectrum per node of {nodes}"
        )
    out = []
    for v in nodes:
        rank = numerical_rank(spectra[v], rtol=rtol, atol=atol)
        if rank.numel() != 1:
            raise ValueError(
                f"spectrum of node {v!r} has batch shape {tuple(rank.shape)}; expected a single "
                "member. Select one member, e.g. {v: s[e] for v, s in spectra.items()}."
            )
        out.append(int(rank.reshape(())))
    return tuple(out)


def _check_mapping(spectra: object) -> Mapping[Node, torch.Tensor]:
    if not isinstance(spectra, Mapping):
        raise TypeError(
            f"spectra must be a mapping node -> singular values; got {type(spectra).__name__}"
        )
    for v, s in spectra.items():
        _check_spectrum(s, f"spectrum of node {v!r}")
    return spectra


def nuclear_norm(s: torch.Tensor) -> torch.Tensor:
    """Sum of the singular values, shape ``(...)``.

    Examples
    --------
    >>> nuclear_norm(torch.tensor([3.0, 4.0]))
    tensor(7.)
    """
    return _check_spectrum(s).sum(-1)


def frobenius_norm(s: torch.Tensor) -> torch.Tensor:
    """Square root of the sum of squared singular values, shape ``(...)``.

    Examples
    --------
    >>> frobenius_norm(torch.tensor([3.0, 4.0]))
    tensor(5.)
    """
    return torch.linalg.vector_norm(_check_spectrum(s), dim=-1)


def top_k(s: torch.Tensor, k: int) -> torch.Tensor:
    """The ``k`` largest singular values in descending order, padded with zeros, ``(..., k)``.

    Raises
    ------
    TypeError
        If ``k`` is not an int.
    ValueError
        If ``k < 0``.

    Examples
    --------
    >>> top_k(torch.tensor([1.0, 3.0]), 3)
    tensor([3., 1., 0.])
    """
    s = _check_spectrum(s)
    if isinstance(k, bool) or not isinstance(k, int):
        raise TypeError(f"k must be an int >= 0; got {type(k).__name__} {k!r}")
    if k < 0:
        raise ValueError(f"k must be >= 0; got {k}")
    ordered = torch.sort(s, dim=-1, descending=True).values[..., :k]
    pad = k - ordered.shape[-1]
    if pad > 0:
        ordered = torch.cat([ordered, ordered.new_zeros((*ordered.shape[:-1], pad))], -1)
    return ordered
