"""Built-in claims checked at random states or along short flows: rates, invariants, bounds.

Claims 1–3, 6, 7, 10, 12 and 15 of issue 11 (see :mod:`tnreg.theory.catalog` for the list).
Every check runs in float64 on small CPU sizes with fixed seeds; ``quick`` shrinks the number
of cases, never the tolerance.
"""

from __future__ import annotations

import functools
import itertools

import torch

from tnreg import trees
from tnreg.components import local_squared_norms, local_vectors
from tnreg.models import CP, HierarchicalTensorFactorization, deep_matrix_factorization
from tnreg.theory.claims import Measurement, register
from tnreg.theory.quantities import (
    balanced_rates,
    completion_loss,
    measured_rates,
    predicted_rates,
    projected_gradients,
    rate_bounds,
    unbalancedness,
)
from tnreg.theory.trajectories import flow_path, gd_path

F64 = torch.float64
# a tree with a 3-child node and single-child nodes: ((0, 1, 2), (3,), 4)
TREE_3_1 = ((0, 1, 2), (3,), 4)


def observations(dims, count: int, *, seed: int, scale: float = 1.0):
    """``count`` random observed entries (with repeats allowed) and standard normal values."""
    gen = torch.Generator().manual_seed(seed)
    idx = torch.stack([torch.randint(0, d, (count,), generator=gen) for d in dims], 1)
    return idx, scale * torch.randn(count, generator=gen, dtype=F64)


def relative_rate_error(model, idx, values, *, balanced: bool) -> float:
    """max |predicted − measured| / max |measured| over every interior node and channel."""
    gammas = projected_gradients(model, idx, values)
    pred = (balanced_rates if balanced else predicted_rates)(model, gammas)
    meas = measured_rates(model, idx, values)
    err = max(float((pred[v] - meas[v]).abs().max()) for v in meas)
    return err / max(float(m.abs().max()) for m in meas.values())


def _rate_claim(builders, quick: bool, tol: float) -> Measurement:
    worst, where = 0.0, ""
    cases = builders[:3] if quick else builders
    for (label, build), balanced in itertools.product(cases, (False, True)):
        model = build()
        if balanced:
            model.balance_(tol=1e-14)
        idx, values = observations(model.dims, 40, seed=len(label))
        err = relative_rate_error(model, idx, values, balanced=balanced)
        if err >= worst:
            worst, where = err, f"{label}{' balanced' if balanced else ''}"
    detail = f"worst relative error {worst:.2e} ({where}); {len(cases)} models x general/balanced"
    return Measurement(0.0, worst, worst <= tol, detail)


def _cp(**kw):
    return lambda: CP(3, 4, 5, init_std=0.6, seed=11, dtype=F64, **kw)


@register(
    "cp-rate",
    citation="Razin, Maman & Cohen 2021 (ICML), Sec. 4 (dynamical characterization)",
    statement="dσ_r/dt = γ_r Σ_n Π_{n'≠n} ||w_r^n'||²; balanced: N γ_r σ_r^{2-2/N} (K = N+1 with "
    "weights); measured by autograd at random states",
    status="theorem",
    setting="CP order 3, 4^3, R=5, init 0.6, 40 random entries; unweighted, weighted, deep (L=2), "
    "ensemble of 3; float64",
    tolerance=1e-9,
)
def cp_rate(quick: bool) -> Measurement:
    builders = [
        ("unweighted", _cp()),
        ("weighted", _cp(weighted=True)),
        ("deep L=2", _cp(depth=2)),
        ("ensemble", _cp(ensemble=3)),
        ("order 5", lambda: CP(5, 3, 4, init_std=0.8, seed=3, dtype=F64, weighted=True)),
    ]
    return _rate_claim(builders, quick, 1e-9)


def _htf(nested, **kw):
    tree = trees.from_nested(nested)
    return lambda: HierarchicalTensorFactorization(
        tree, 3, 3, init_std=0.7, seed=5, dtype=F64, **kw
    )


@register(
    "htf-rate",
    citation="Razin, Maman & Cohen 2022 (ICML), Sec. 3 (local component dynamics)",
    statement="dσ_{ν,r}/dt = γ_{ν,r} Σ_j Π_{j'≠j} ||v_j'||²; balanced: K_ν γ σ^{2-2/K_ν}, "
    "K_ν = |C(ν)| + 1",
    status="theorem",
    setting="HTF on ((0,1,2),(3,),4) (3-child and single-child nodes), ((0,1),(2,)), "
    "balanced(4), deep (L=2), output ones; widths 3, init 0.7, 40 random entries; float64",
    tolerance=1e-9,
)
def htf_rate(quick: bool) -> Measurement:
    builders = [
        ("3-child+unary", _htf(TREE_3_1)),
        ("((0,1),(2,))", _htf(((0, 1), (2,)))),
        ("deep L=2 ones", _htf(TREE_3_1, depth=2, output="ones")),
        ("balanced(4) ensemble", _htf(((0, 1), (2, 3)), ensemble=2)),
        ("caterpillar(4)", _htf((((0, 1), 2), 3))),
    ]
    return _rate_claim(builders, quick, 1e-9)


def _differences(model) -> torch.Tensor:
    """All pairwise differences of local squared norms, flattened."""
    out = []
    for q in local_squared_norms(model.tree, model.layers()).values():
        k = q.shape[-1]
        for i, j in itertools.combinations(range(k), 2):
            out.append((q[..., i] - q[..., j]).detach().flatten())
    return torch.cat(out)


def _scale(model) -> float:
    qs = local_squared_norms(model.tree, model.layers()).values()
    return max(float(q.detach().abs().max()) for q in qs)


def _flow_drift(model, idx, values, t_end: float) -> tuple[float, float]:
    """Relative drift of the local invariants along gradient flow, and the loss decrease."""
    before, loss0 = _differences(model), float(completion_loss(model, idx, values).detach())
    flow_path(model, idx, values, [0.0, t_end], lambda m: None, rtol=1e-10, atol=1e-14)
    drift = float((_differences(model) - before).abs().max()) / _scale(model)
    return drift, loss0 - float(completion_loss(model, idx, values).detach())


def _grad_layers(model, idx, values):
    params = [p for p in model.parameters() if p.requires_grad]
    grads = torch.autograd.grad(completion_loss(model, idx, values), params)
    by_id = {id(p): g for p, g in zip(params, grads)}
    return {v: [by_id[id(m)] for m in ms] for v, ms in model.layers().items()}


def gd_step_error(model, idx, values, lr: float) -> float:
    """One GD step: |Δ(q_j − q_0) − lr²(||g_j||² − ||g_0||²)| relative to lr² max ||g||²."""
    gq = local_squared_norms(model.tree, _grad_layers(model, idx, values))
    q0 = local_squared_norms(model.tree, model.layers())
    q0 = {v: q.detach().clone() for v, q in q0.items()}
    gd_path(model, idx, values, lr=lr, steps=1, record=lambda m: None)
    q1 = local_squared_norms(model.tree, model.layers())
    err, scale = 0.0, 0.0
    for v, g in gq.items():
        dq = q1[v].detach() - q0[v]
        meas = dq - dq[..., :1]
        pred = lr**2 * (g - g[..., :1])
        err = max(err, float((meas - pred).abs().max()))
        scale = max(scale, lr**2 * float(g.abs().max()))
    return err / scale


def _gd_drift(build, idx, values, lr: float, t_end: float) -> float:
    model = build()
    before = _differences(model)
    gd_path(model, idx, values, lr=lr, steps=round(t_end / lr), record=lambda m: None)
    return float((_differences(model) - before).abs().max())


@register(
    "cp-invariants",
    citation="Razin, Maman & Cohen 2021 (ICML), Sec. 4 (conserved quantities)",
    statement="||w_r^n||² − ||w_r^n'||² is constant under gradient flow; one GD step of size η "
    "changes it by exactly η²(||∇w_r^n||² − ||∇w_r^n'||²), so GD's drift halves when η halves",
    status="theorem",
    setting="CP order 3, 4^3, R=5, init 0.6, 40 random entries; flow to t=2 (Dormand–Prince, "
    "rtol 1e-11); GD η=0.02 vs 0.01 to t=2; float64",
    tolerance=1e-8,
)
def cp_invariants(quick: bool) -> Measurement:
    build = _cp()
    idx, values = observations((4, 4, 4), 40, seed=1)
    flow_drift, fell = _flow_drift(build(), idx, values, 2.0)
    step_err = max(gd_step_error(build(), idx, values, lr) for lr in (0.05, 0.2))
    t_end = 1.0 if quick else 2.0
    ratio = _gd_drift(build, idx, values, 0.02, t_end) / _gd_drift(build, idx, values, 0.01, t_end)
    ok = flow_drift < 1e-8 and step_err < 1e-8 and abs(ratio - 2) < 0.1 and fell > 0
    detail = (
        f"flow drift {flow_drift:.1e} (loss fell {fell:.2e}); GD step identity error "
        f"{step_err:.1e}; GD drift ratio η/(η/2) = {ratio:.4f} (predicted 2 ± 0.1)"
    )
    return Measurement(0.0, max(flow_drift, step_err), ok, detail)


@register(
    "htf-invariants",
    citation="Razin, Maman & Cohen 2022 (ICML), Sec. 3 (conserved quantities)",
    statement="||W^ν[r,:]||² − ||W^c[:,r]||² and sibling differences ||W^c[:,r]||² − "
    "||W^c'[:,r]||² are constant under gradient flow; the off-diagonal inner products "
    "(negative control) are not",
    status="theorem",
    setting="HTF on ((0,1,2),(3,),4), widths 3, init 0.7, 40 random entries; flow to t=2 "
    "(rtol 1e-11); float64",
    tolerance=1e-8,
)
def htf_invariants(quick: bool) -> Measurement:
    model = _htf(TREE_3_1)()
    idx, values = observations(model.dims, 40, seed=2)
    off0 = _off_diagonal(model)
    drift, fell = _flow_drift(model, idx, values, 2.0)
    control = float((_off_diagonal(model) - off0).abs().max()) / _scale(model)
    ok = drift < 1e-8 and control > 1e-3 and fell > 0
    detail = (
        f"diagonal drift {drift:.1e}; off-diagonal (control) change {control:.2e} (must be > 1e-3)"
    )
    return Measurement(0.0, drift, ok, detail)


def _off_diagonal(model) -> torch.Tensor:
    """Off-diagonal of M_ν M_νᵀ − M_c^T M_c for every interior ν with trainable rows and child c."""
    mats, out = model.matrices(), []
    for v, kids in ((v, list(model.tree.successors(v))) for v in model.tree):
        if not kids or v not in model.layers():
            continue
        for c in kids:
            gap = mats[v] @ mats[v].mT - mats[c].mT @ mats[c]
            mask = ~torch.eye(gap.shape[-1], dtype=torch.bool)
            out.append(gap[..., mask].detach().flatten())
    return torch.cat(out)


def _zero_channel_(model, node, r: int) -> list[torch.Tensor]:
    """Zero every vector of local component (node, r) in place; returns views of them."""
    vecs = [x[..., r, :] for x in local_vectors(model.tree, model.layers())[node]]
    with torch.no_grad():
        for x in vecs:
            x.zero_()
    return vecs


@register(
    "zero-stays-zero",
    citation="Razin, Maman & Cohen 2021, 2022 (ICML): consequence of the rate identities",
    statement="a (local) component whose K vectors are all zero stays exactly zero under gradient "
    "flow (its gradient vanishes), while the others move",
    status="derived",
    setting="CP order 3, R=5 (component 2 zeroed) and HTF on ((0,1,2),(3,),4) (channel 1 zeroed "
    "at the 3-child node and at the single-child node); flow to t=3; float64",
    tolerance=0.0,
)
def zero_stays_zero(quick: bool) -> Measurement:
    worst, moved = 0.0, float("inf")
    cases = [(_cp(), [(trees.root(trees.star(3)), 2)])]
    cases.append((_htf(TREE_3_1), [((0, 1, 2), 1), ((3,), 1)]))
    for build, zeros in cases:
        model = build()
        idx, values = observations(model.dims, 40, seed=3)
        vecs = [x for node, r in zeros for x in _zero_channel_(model, node, r)]
        start = [p.detach().clone() for p in model.parameters()]
        flow_path(model, idx, values, [0.0, 2.0], lambda m: None, rtol=1e-6, atol=1e-10)
        worst = max(worst, max(float(x.detach().abs().max()) for x in vecs))
        change = max(float((p.detach() - s).abs().max()) for p, s in zip(model.parameters(), start))
        moved = min(moved, change)
    detail = f"max |zeroed vector| after the flow {worst:.1e}; other parameters moved {moved:.2e}"
    return Measurement(0.0, worst, worst == 0.0 and moved > 1e-3, detail)


def _violation_of(model, *, idx, values, eps) -> tuple[float, float]:
    gammas = projected_gradients(model, idx, values)
    lower, upper = rate_bounds(model, gammas, eps)
    meas = measured_rates(model, idx, values)
    worst, gap = 0.0, 0.0
    for v, m in meas.items():
        scale = float(m.abs().max()) + 1e-300
        worst = max(worst, float((lower[v] - m).clamp(min=0).max()) / scale)
        worst = max(worst, float((m - upper[v]).clamp(min=0).max()) / scale)
        gap = max(gap, float((upper[v] - lower[v]).max()) / scale)
    return worst, gap


@register(
    "eps-bounds",
    citation="Razin, Maman & Cohen 2021 (ICML), Theorem 1",
    statement="with unbalancedness ε (max_n ||w_r^n||² − min_n ||w_r^n||², conserved), "
    "N γ σ^{2-2/N} <= dσ/dt <= N γ (σ^{2/N} + ε)^{N-1} when γ >= 0 (reversed when γ < 0), at "
    "every time of a trajectory",
    status="theorem",
    setting="CP order 3 (unweighted, K=3) and weighted (K=4), 4^3, R=5, Gaussian init 0.6 "
    "(unbalanced), 40 random entries; 30 times on a flow to t=3; float64",
    tolerance=1e-9,
)
def eps_bounds(quick: bool) -> Measurement:
    worst, gap = 0.0, 0.0
    for build in (_cp(), _cp(weighted=True)):
        model = build()
        idx, values = observations(model.dims, 40, seed=4)
        eps0 = unbalancedness(model)
        points = 15 if quick else 30
        times = [3.0 * k / (points - 1) for k in range(points)]
        _, rows = flow_path(
            model,
            idx,
            values,
            times,
            functools.partial(_violation_of, idx=idx, values=values, eps=eps0),
        )
        worst = max(worst, max(r[0] for r in rows))
        gap = max(gap, max(r[1] for r in rows))
    detail = (
        f"worst relative violation {worst:.1e} over the trajectory; bracket width up to {gap:.2f}x"
    )
    return Measurement(0.0, worst, worst <= 1e-9, detail)


def balanced_dmf_(model, depth: int, *, seed: int) -> None:
    """Load a balanced deep matrix factorization (A_jᵀA_j = A_{j+1}A_{j+1}ᵀ) of a random W."""
    rows, cols = model.dims
    k = model.widths[trees.root(model.tree)]
    gen = torch.Generator().manual_seed(seed)
    u, s, vh = torch.linalg.svd(
        torch.randn(rows, cols, generator=gen, dtype=F64), full_matrices=False
    )
    u, s, vh = u[:, :k], s[:k], vh[:k]
    qs = [torch.linalg.qr(torch.randn(k, k, generator=gen, dtype=F64))[0] for _ in range(depth - 1)]
    root = s.pow(1 / depth)
    chain = [u * root @ qs[0].T]
    chain += [qs[j] * root @ qs[j + 1].T for j in range(depth - 2)]
    last = (qs[-1] * root @ vh).T  # M_1 = (Q_{L-1} S^{1/L} Vᵀ)ᵀ
    model.load_matrices_({0: chain, 1: last})


def dmf_rate_error(depth: int, *, seed: int) -> float:
    """Relative error of dσ_r/dt = L (σ_r²)^{1-1/L} <-∇L(W), u_r v_rᵀ> (Arora et al. 2019)."""
    model = deep_matrix_factorization(5, 4, 4, depth, dtype=F64, seed=seed)
    balanced_dmf_(model, depth, seed=seed)
    idx, values = observations(model.dims, 14, seed=seed)
    params = [p for p in model.parameters() if p.requires_grad]
    index = {id(p): i for i, p in enumerate(params)}
    slots = {v: [index[id(m)] for m in ms] for v, ms in model.layers().items()}

    def end(*ps):
        m0 = ps[slots[0][0]]
        for i in slots[0][1:]:
            m0 = m0 @ ps[i]
        return (m0 @ ps[slots[1][0]].mT)[0]

    w = end(*params).detach().requires_grad_()
    loss = (w[idx[:, 0], idx[:, 1]] - values).square().mean()
    (grad_w,) = torch.autograd.grad(loss, w)
    grads = torch.autograd.grad(completion_loss(model, idx, values), params)
    _, w_dot = torch.autograd.functional.jvp(
        end, tuple(p.detach() for p in params), tuple(-g for g in grads)
    )
    u, s, vh = torch.linalg.svd(w.detach(), full_matrices=False)
    measured = torch.einsum("ir,ij,rj->r", u, w_dot, vh)
    predicted = depth * s.square().pow(1 - 1 / depth) * torch.einsum("ir,ij,rj->r", u, -grad_w, vh)
    return float((predicted - measured).abs().max() / measured.abs().max())


@register(
    "dmf-rate",
    citation="Arora, Cohen, Hu & Luo 2019 (NeurIPS), singular value dynamics",
    statement="deep matrix factorization under balanced init: dσ_r/dt = L (σ_r²)^{1-1/L} "
    "<-∇L(W), u_r v_rᵀ>",
    status="theorem",
    setting="W = A_1…A_{L-1}B^T, 5x4, width 4, balanced, L = 2, 3, 4; 14 random entries; float64",
    tolerance=1e-9,
)
def dmf_rate(quick: bool) -> Measurement:
    depths = (2, 3) if quick else (2, 3, 4)
    errs = {d: dmf_rate_error(d, seed=d) for d in depths}
    worst = max(errs.values())
    detail = "relative error by depth: " + ", ".join(f"L={d}: {e:.1e}" for d, e in errs.items())
    return Measurement(0.0, worst, worst <= 1e-9, detail)


def one_hot_matricization(model, node) -> tuple[torch.Tensor, torch.Tensor]:
    """f on every one-hot input arranged as [W]_I (rows: modes under ``node``); dense [W]_I."""
    dims = model.dims
    grid = torch.cartesian_prod(*[torch.arange(d) for d in dims]).reshape(-1, len(dims))
    vectors = [torch.nn.functional.one_hot(grid[:, n], d).to(F64) for n, d in enumerate(dims)]
    with torch.no_grad():
        f = model.forward_sensing(vectors).reshape(dims)
        dense = model.to_dense()
    rows = list(trees.modes_under(model.tree, node))
    cols = [n for n in range(len(dims)) if n not in rows]
    size = 1
    for n in rows:
        size *= dims[n]

    def arrange(t):
        return t.permute(rows + cols).reshape(size, -1)

    return arrange(f), arrange(dense)


@register(
    "separation-rank",
    citation="Cohen & Shashua 2017 (ICLR); Razin, Maman & Cohen 2022 (ICML)",
    statement="the network's values on one-hot inputs arranged by a partition (I, I^c) equal "
    "[W]_I, so the separation rank of f w.r.t. I is rank [W]_I, and its numerical rank equals "
    "the node spectrum's",
    status="theorem",
    setting="HTF on ((0,1),(2,3)) and ((0,1,2),(3,),4), dims 3, widths 3 with width 2 at one node "
    "(rank-deficient matricizations), init 0.7; rank rtol 1e-8; float64",
    tolerance=1e-12,
)
def separation_rank(quick: bool) -> Measurement:
    from tnreg.analysis import node_spectra, numerical_rank

    worst, mismatches, checked = 0.0, [], 0
    for nested, narrow in ((((0, 1), (2, 3))), (0, 1)), ((TREE_3_1, (0, 1, 2))):
        tree = trees.from_nested(nested)
        widths = {v: (2 if v == narrow else 3) for v in tree if tree.out_degree(v)}
        model = HierarchicalTensorFactorization(tree, 3, widths, init_std=0.7, seed=9, dtype=F64)
        spectra = node_spectra(model)
        for node, s in spectra.items():
            f, dense = one_hot_matricization(model, node)
            worst = max(worst, float((f - dense).abs().max() / dense.abs().max()))
            r_f = int(numerical_rank(torch.linalg.svdvals(f), rtol=1e-8))
            r_s = int(numerical_rank(s, rtol=1e-8))
            checked += 1
            if r_f != r_s:
                mismatches.append((node, r_f, r_s))
    ok = worst <= 1e-12 and not mismatches
    detail = f"{checked} nodes; max |f − [W]_I| / max|W| {worst:.1e}; rank mismatches {mismatches}"
    return Measurement(0.0, worst, ok, detail)
