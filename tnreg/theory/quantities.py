"""Predicted and measured rates of (local) component norms, at the current parameters.

Vocabulary
----------
local component (ν, r)
    As in :mod:`tnreg.components`: the K_ν vectors ``v_1..v_K`` a rescaling of channel ``r`` at
    interior node ν touches (ν's own row, then each child's column). At the root of a star tree
    (CP) these are the CP components; with ``output="ones"`` K = N, with weights K = N + 1.
    Deep nodes contribute the row of their first layer / the column of their last layer.
norm σ_{ν,r}
    ``Π_j ||v_j||``.
projected gradient γ_{ν,r}
    ``<-∇L(W), E_{ν,r}>``: ``E_{ν,r}`` is the end tensor computed with channel ``r`` alone at
    ν and its K vectors scaled to unit norm, every other parameter as it is (docs/design.md §4).
    For completion, ``∇L(W)`` lives on the observed entries, so γ is a sum over the batch.
predicted rate
    General form ``dσ/dt = γ Σ_j Π_{j'≠j} ||v_j'||² = γ σ² Σ_j 1/||v_j||²``; balanced form
    ``K γ σ^a`` with the growth exponent ``a = 2 - 2/K`` (:func:`growth_exponent`); when the
    squared norms of the K vectors differ by at most ε (the unbalancedness, conserved by
    gradient flow), ``K γ σ² / (σ^{2/K} + ε)`` and ``K γ (σ^{2/K} + ε)^{K-1}`` bracket the
    rate (Razin, Maman & Cohen 2021, Theorem 1: every ``||v_j||²`` lies between
    ``σ^{2/K} - ε`` and ``σ^{2/K} + ε``).
measured rate
    ``dσ/dt = <∇_θ σ, -∇_θ L>`` by a Jacobian–vector product (autograd) at the current
    parameters: it uses no formula of the paper, only the chain rule.

Everything is batched over components and ensemble members: every function returns a dict
interior ν -> ``(E, R_ν)`` tensor. The loss is the per-member mean squared error on observed
entries (:func:`completion_loss`), summed over members, as :func:`tnreg.train.fit` uses.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

import torch

from tnreg.components import local_norms, local_squared_norms, local_vectors
from tnreg.errors import TnregError
from tnreg.typing import Node

__all__ = [
    "TheoryError",
    "balanced_rates",
    "completion_loss",
    "growth_exponent",
    "measured_rates",
    "predicted_rates",
    "projected_gradients",
    "rate_bounds",
    "unbalancedness",
]

Rates = dict[Node, torch.Tensor]


class TheoryError(TnregError, ValueError):
    """A theory quantity cannot be computed for the given model or data."""


def _check(model: torch.nn.Module, indices: torch.Tensor, values: torch.Tensor) -> None:
    if not (hasattr(model, "layers") and hasattr(model, "tree")):
        raise TheoryError(
            f"rates need a product-pooling model (CP, HierarchicalTensorFactorization or a deep "
            f"variant, with .tree and .layers()); got {type(model).__name__}"
        )
    if not isinstance(indices, torch.Tensor) or indices.is_floating_point() or indices.ndim != 2:
        got = tuple(indices.shape) if isinstance(indices, torch.Tensor) else type(indices)
        raise TheoryError(
            f"indices must be an integer (B, N) tensor of observed entries; got {got}"
        )
    if not isinstance(values, torch.Tensor) or values.shape[-1] != indices.shape[0]:
        got = tuple(values.shape) if isinstance(values, torch.Tensor) else type(values)
        raise TheoryError(
            f"values must be a (B,) or (E, B) tensor with B={indices.shape[0]} (one per observed "
            f"entry); got {got}"
        )


def completion_loss(model: torch.nn.Module, indices: torch.Tensor, values: torch.Tensor):
    """Sum over members of the per-member mean squared error at the observed entries.

    Examples
    --------
    >>> from tnreg import CP
    >>> model = CP(2, 2, rank=1, init_std=0.0 + 1e-9, seed=0, dtype=torch.float64)
    >>> idx = torch.tensor([[0, 0], [1, 1]])
    >>> round(float(completion_loss(model, idx, torch.ones(2, dtype=torch.float64)).detach()), 6)
    1.0
    """
    pred = model(indices)
    return (pred - values).square().mean(-1).sum()


def _names(model: torch.nn.Module) -> dict[int, str]:
    return {id(p): name for name, p in model.named_parameters()}


def _call(model, replaced: Mapping[str, torch.Tensor], indices: torch.Tensor) -> torch.Tensor:
    """The model's entries with some parameters replaced (no in-place change)."""
    out = torch.func.functional_call(model, dict(replaced), (indices,))
    return out if out.ndim == 2 else out.unsqueeze(0)


def projected_gradients(
    model: torch.nn.Module, indices: torch.Tensor, values: torch.Tensor
) -> Rates:
    """γ_{ν,r} = <-∇L(W), E_{ν,r}> at every interior ν and channel r, ``(E, R_ν)`` each.

    E_{ν,r} is evaluated at the observed entries with channel ``r`` kept alone at ν (the other
    rows of ν's first layer, or at a fixed root the other columns of its children's last
    layers, set to zero) and its vectors normalized; zero vectors stay zero (γ = 0).

    Examples
    --------
    >>> from tnreg import CP
    >>> model = CP(2, 2, rank=1, init_std=1.0, seed=0, dtype=torch.float64)
    >>> idx = torch.tensor([[0, 0], [0, 1], [1, 0], [1, 1]])
    >>> target = model(idx).detach() * 3  # -∇L points along the component: γ = 2·2·||W||/4
    >>> g = projected_gradients(model, idx, target)[(0, 1)]
    >>> bool(torch.isclose(g, model.to_dense().norm()).all())
    True
    """
    _check(model, indices, values)
    pred = model(indices)
    pred2 = pred if pred.ndim == 2 else pred.unsqueeze(0)
    loss = (pred2 - values).square().mean(-1).sum()
    (grad,) = torch.autograd.grad(loss, pred2)
    grad = grad.detach()
    names, layers, tree = _names(model), model.layers(), model.tree
    out: Rates = {}
    with torch.no_grad():
        for node, kids in _interior(tree):
            cols = []
            for r in range(model.widths[node]):
                replaced = _channel_alone(names, layers, node, kids, r)
                unit = _call(model, replaced, indices)
                cols.append(-(grad * unit).sum(-1))
            out[node] = torch.stack(cols, -1)
    return out


def _interior(tree) -> list[tuple[Node, list[Node]]]:
    from tnreg.trees import postorder

    return [(v, list(tree.successors(v))) for v in postorder(tree) if tree.out_degree(v)]


def _unit(x: torch.Tensor) -> torch.Tensor:
    norm = torch.linalg.vector_norm(x, dim=-1, keepdim=True)
    return torch.where(norm > 0, x / torch.where(norm > 0, norm, 1), x)


def _channel_alone(names, layers, node, kids, r: int) -> dict[str, torch.Tensor]:
    """Replacement parameters: channel r alone at ``node``, its vectors of unit norm."""
    replaced: dict[str, torch.Tensor] = {}
    for c in kids:
        last = layers[c][-1].detach().clone()
        last[..., :, r] = _unit(last[..., :, r])
        replaced[names[id(layers[c][-1])]] = last
    if node in layers:
        first = replaced.get(names[id(layers[node][0])], layers[node][0].detach().clone())
        keep = first[..., r, :].clone()
        first.zero_()
        first[..., r, :] = _unit(keep)
        replaced[names[id(layers[node][0])]] = first
    else:  # fixed root: silence the other channels through the first child's last layer
        name = names[id(layers[kids[0]][-1])]
        last = replaced[name]
        keep = last[..., :, r].clone()
        last.zero_()
        last[..., :, r] = keep
    return replaced


def predicted_rates(model: torch.nn.Module, gammas: Mapping[Node, torch.Tensor]) -> Rates:
    """The general identity ``dσ/dt = γ Σ_j Π_{j'≠j} ||v_j'||²`` at every interior node.

    Examples
    --------
    >>> from tnreg import CP
    >>> model = CP(2, 2, rank=1, init_std=1.0, seed=0, dtype=torch.float64)
    >>> with torch.no_grad():
    ...     _ = model.load_matrices_({0: torch.ones(2, 1), 1: 2 * torch.ones(2, 1)})
    >>> predicted_rates(model, {(0, 1): torch.ones(1, 1)})[(0, 1)]  # 8 + 2
    tensor([[10.]], dtype=torch.float64)
    """
    q = local_squared_norms(model.tree, model.layers())
    out: Rates = {}
    for node, sq in q.items():
        k = sq.shape[-1]
        total = torch.zeros_like(sq[..., 0])
        for j in range(k):
            others = torch.ones_like(total)
            for i in range(k):
                if i != j:
                    others = others * sq[..., i]
            total = total + others
        out[node] = gammas[node].to(total) * total.detach()
    return out


def _k_sigma(model: torch.nn.Module) -> tuple[dict[Node, int], Rates]:
    vecs = local_vectors(model.tree, model.layers())
    sig = local_norms(model.tree, model.layers())
    return {v: len(x) for v, x in vecs.items()}, {v: s.detach() for v, s in sig.items()}


def growth_exponent(k: float) -> float:
    """The exponent ``a = 2 - 2/K`` of the balanced rate ``dσ/dt = K γ σ^a`` (K vectors).

    The time to leave a plateau from ``σ(0)`` then scales as ``σ(0)^{1-a}``.

    Examples
    --------
    >>> growth_exponent(3), growth_exponent(2)
    (1.3333333333333335, 1.0)
    """
    return 2 - 2 / k


def balanced_rates(model: torch.nn.Module, gammas: Mapping[Node, torch.Tensor]) -> Rates:
    """The balanced form ``dσ/dt = K_ν γ σ^{2-2/K_ν}`` (exact when the K vectors have equal norms).

    Examples
    --------
    >>> from tnreg import CP
    >>> model = CP(2, 2, rank=1, init_std=1.0, seed=0, dtype=torch.float64)
    >>> with torch.no_grad():
    ...     _ = model.load_matrices_({0: torch.ones(2, 1), 1: torch.ones(2, 1)})
    >>> round(float(balanced_rates(model, {(0, 1): torch.ones(1, 1)})[(0, 1)]), 9)  # 2·2^1
    4.0
    """
    ks, sig = _k_sigma(model)
    return {v: ks[v] * gammas[v].to(s) * s.pow(growth_exponent(ks[v])) for v, s in sig.items()}


def unbalancedness(model: torch.nn.Module) -> Rates:
    """ε_{ν,r} = max_j ||v_j||² − min_j ||v_j||², conserved under gradient flow.

    Examples
    --------
    >>> from tnreg import CP
    >>> model = CP(2, 2, rank=1, seed=0, dtype=torch.float64)
    >>> with torch.no_grad():
    ...     _ = model.load_matrices_({0: torch.ones(2, 1), 1: 2 * torch.ones(2, 1)})
    >>> unbalancedness(model)[(0, 1)]
    tensor([[6.]], dtype=torch.float64)
    """
    q = local_squared_norms(model.tree, model.layers())
    return {v: (x.amax(-1) - x.amin(-1)).detach() for v, x in q.items()}


def rate_bounds(
    model: torch.nn.Module,
    gammas: Mapping[Node, torch.Tensor],
    eps: Mapping[Node, torch.Tensor] | float,
) -> tuple[Rates, Rates]:
    """Lower and upper bounds of dσ/dt given unbalancedness ε (Theorem 1 of the 2021 paper).

    With ``a = K γ σ² / (σ^{2/K} + ε)`` and ``b = K γ (σ^{2/K} + ε)^{K-1}``: ``a <= dσ/dt <= b``
    when γ >= 0 and ``b <= dσ/dt <= a`` when γ < 0. ``eps`` is one number (the paper's ε: the
    largest unbalancedness at initialization) or per node and channel. Returns
    ``(lower, upper)``; with ε = 0 both are the balanced rate.

    Examples
    --------
    >>> from tnreg import CP
    >>> model = CP(2, 2, rank=1, seed=0, dtype=torch.float64)
    >>> with torch.no_grad():
    ...     _ = model.load_matrices_({0: torch.ones(2, 1), 1: 2 * torch.ones(2, 1)})
    >>> lo, hi = rate_bounds(model, {(0, 1): torch.ones(1, 1)}, unbalancedness(model))
    >>> round(float(lo[(0, 1)]), 9), float(hi[(0, 1)])  # the exact rate 10 lies between
    (3.2, 20.0)
    """
    ks, sig = _k_sigma(model)
    lower: Rates = {}
    upper: Rates = {}
    for v, s in sig.items():
        k, g = ks[v], gammas[v].to(s)
        e = eps if isinstance(eps, (int, float)) else eps[v].to(s)
        a = k * g * s.square() / (s.pow(2 / k) + e)
        b = k * g * (s.pow(2 / k) + e).pow(k - 1)
        lower[v], upper[v] = torch.minimum(a, b), torch.maximum(a, b)
    return lower, upper


def measured_rates(
    model: torch.nn.Module,
    indices: torch.Tensor,
    values: torch.Tensor,
    *,
    quantity: Callable[[Mapping[Node, list[torch.Tensor]]], Rates] | None = None,
) -> Rates:
    """dσ_{ν,r}/dt under gradient flow, by a Jacobian–vector product: ``<∇_θ σ, -∇_θ L>``.

    ``quantity`` maps layers (node -> list of matrices) to node -> tensor; the default is the
    local component norms. Zero vectors have no derivative of their norm (NaN); pass a smooth
    quantity (e.g. :func:`tnreg.components.local_squared_norms`) for those.

    Examples
    --------
    >>> from tnreg import CP
    >>> model = CP(2, 2, rank=1, init_std=1.0, seed=0, dtype=torch.float64)
    >>> idx = torch.tensor([[0, 0], [0, 1], [1, 0], [1, 1]])
    >>> target = model(idx).detach() * 3
    >>> rate = measured_rates(model, idx, target)[(0, 1)]
    >>> bool(rate > 0)
    True
    """
    _check(model, indices, values)
    tree = model.tree
    fn = quantity or (lambda layers: local_norms(tree, layers))
    params = [p for p in model.parameters() if p.requires_grad]
    index = {id(p): i for i, p in enumerate(params)}
    slots = {v: [index[id(m)] for m in ms] for v, ms in model.layers().items()}
    loss = completion_loss(model, indices, values)
    grads = torch.autograd.grad(loss, params)
    keys: list[Node] = []

    def flat(*ps):
        result = fn({v: [ps[i] for i in s] for v, s in slots.items()})
        keys[:] = list(result)
        return tuple(result[k] for k in keys)

    primals = tuple(p.detach() for p in params)
    # the double-backward JVP (torch.func.jvp pulls in a deprecated torch.jit import)
    _, tangents = torch.autograd.functional.jvp(flat, primals, tuple(-g.detach() for g in grads))
    return dict(zip(keys, tangents))
