"""Built-in claims checked at random states: rate identities and the ε-bounds.

Every check runs in float64 on small CPU sizes with fixed seeds; ``quick`` shrinks the number
of cases, never the tolerance. Measured rates come from autograd (a Jacobian–vector product
along ``-∇L``), predicted ones from the factors' norms and the projected gradients γ.
"""

from __future__ import annotations

import functools

import torch

from tnreg import trees
from tnreg.models import CP, HierarchicalTensorFactorization, deep_matrix_factorization
from tnreg.theory.quantities import (
    balanced_rates,
    completion_loss,
    measured_rates,
    predicted_rates,
    projected_gradients,
    rate_bounds,
    unbalancedness,
)
from tnreg.theory.registry import Control, Measurement, register
from tnreg.theory.setups import F64, curved_, observations, relative_error
from tnreg.theory.trajectories import flow_path

TREE_3_1 = ((0, 1, 2), (3,), 4)  # a 3-child node and a single-child node
IDENTITY_TOL = 1e-9
CONTROL_MIN = 1e-3  # a control "fails" the identity when its error exceeds this


def rate_error(model, idx, values, *, balanced: bool) -> float:
    """Relative error of the (general or balanced) predicted rate against autograd."""
    gammas = projected_gradients(model, idx, values)
    pred = (balanced_rates if balanced else predicted_rates)(model, gammas)
    return relative_error(pred, measured_rates(model, idx, values))


def _identity_claim(builders, quick: bool, *, balanced: bool, control) -> Measurement:
    """Worst error over the builders; the control is ``control() -> (setting, error)``."""
    worst, where = 0.0, ""
    cases = builders[:3] if quick else builders
    for label, build in cases:
        model = build()
        if balanced:
            model.balance_(tol=1e-14)
        idx, values = observations(model.dims, 40, seed=len(label))
        err = rate_error(model, idx, values, balanced=balanced)
        if err >= worst:
            worst, where = err, label
    setting, bad = control()
    detail = (
        f"worst relative error {worst:.2e} ({where}; {len(cases)} models); control "
        f"({setting}): error {bad:.2e}"
    )
    return Measurement(
        0.0, worst, worst <= IDENTITY_TOL, detail, Control(setting, bad, bad <= IDENTITY_TOL)
    )


def _cp(**kw):
    return lambda: CP(3, 4, 5, init_std=0.6, seed=11, dtype=F64, **kw)


CP_BUILDERS = [
    ("unweighted", _cp()),
    ("weighted", _cp(weighted=True)),
    ("deep L=2", _cp(depth=2)),
    ("ensemble", _cp(ensemble=3)),
    ("order 5", lambda: CP(5, 3, 4, init_std=0.8, seed=3, dtype=F64, weighted=True)),
]


def _curved_control(build, *, balanced: bool):
    def control():
        model = curved_(build())
        if balanced:
            model.balance_(tol=1e-14)
        idx, values = observations(model.dims, 40, seed=1)
        return "same model, entries f + 0.2 f² (not multilinear)", rate_error(
            model, idx, values, balanced=balanced
        )

    return control


@register(
    "cp-rate-general",
    citation="Razin, Maman & Cohen 2021 (ICML), Sec. 4: the identity in the proof of Theorem 1",
    statement="for any CP factorization, dσ_r/dt = γ_r Σ_n Π_{n'≠n} ||w_r^n'||² (chain rule on "
    "a multilinear model); measured by autograd at random (unbalanced) states",
    status="derived",
    setting="CP order 3, 4^3, R=5, init 0.6, 40 random entries; unweighted, weighted, deep "
    "(L=2), ensemble of 3, order 5 (full); float64",
    tolerance=IDENTITY_TOL,
    rule="measured <= tol (rel. error)",
)
def cp_rate_general(quick: bool) -> Measurement:
    return _identity_claim(
        CP_BUILDERS, quick, balanced=False, control=_curved_control(_cp(), balanced=False)
    )


def _unbalanced_control(build):
    def control():
        model = build()
        idx, values = observations(model.dims, 40, seed=2)
        return "balanced formula at the unbalanced init", rate_error(
            model, idx, values, balanced=True
        )

    return control


@register(
    "cp-rate",
    citation="Razin, Maman & Cohen 2021 (ICML), Theorem 1 with ε = 0 (balanced init), stated "
    "there for plain CP; the weighted, deep, ensemble and order-5 variants checked here extend "
    "it (number not verified against the paper's text)",
    statement="with every component balanced (equal factor norms, ε = 0) the bounds of Theorem 1 "
    "coincide: dσ_r/dt = N γ_r σ_r^{2-2/N} (K = N + 1 with weights)",
    status="derived",
    setting="CP as in cp-rate-general, each model balanced (balance_, tol 1e-14); float64",
    tolerance=IDENTITY_TOL,
    rule="measured <= tol (rel. error)",
)
def cp_rate(quick: bool) -> Measurement:
    return _identity_claim(CP_BUILDERS, quick, balanced=True, control=_unbalanced_control(_cp()))


def _htf(nested, **kw):
    tree = trees.from_nested(nested)
    return lambda: HierarchicalTensorFactorization(
        tree, 3, 3, init_std=0.7, seed=5, dtype=F64, **kw
    )


HTF_BUILDERS = [
    ("3-child+unary", _htf(TREE_3_1)),
    ("((0,1),(2,))", _htf(((0, 1), (2,)))),
    ("deep L=2 ones", _htf(TREE_3_1, depth=2, output="ones")),
    ("balanced(4) ensemble", _htf(((0, 1), (2, 3)), ensemble=2)),
    ("caterpillar(4)", _htf((((0, 1), 2), 3))),
]


@register(
    "htf-rate",
    citation="Razin, Maman & Cohen 2022 (ICML), Sec. 3, dynamics of local component norms "
    "(statement paraphrased; number not verified)",
    statement="dσ_{ν,r}/dt = γ_{ν,r} Σ_j Π_{j'≠j} ||v_j'||² for every local component, "
    "K_ν = |C(ν)| + 1 vectors; balanced states: K_ν γ σ^{2-2/K_ν}",
    status="derived",
    setting="HTF on ((0,1,2),(3,),4), ((0,1),(2,)), deep (L=2) with output ones, balanced(4) "
    "ensemble, caterpillar(4) (full); widths 3, init 0.7, 40 random entries; general and "
    "balanced form; float64",
    tolerance=IDENTITY_TOL,
    rule="measured <= tol (rel. error)",
)
def htf_rate(quick: bool) -> Measurement:
    general = _identity_claim(
        HTF_BUILDERS, quick, balanced=False, control=_curved_control(_htf(TREE_3_1), balanced=False)
    )
    bal = _identity_claim(
        HTF_BUILDERS, quick, balanced=True, control=_unbalanced_control(_htf(TREE_3_1))
    )
    worst = max(general.measured, bal.measured)
    bad = min(general.control.value, bal.control.value)
    detail = f"general: {general.detail}; balanced: {bal.detail}"
    ctrl = Control("curved model (general) / unbalanced state (balanced)", bad, bad <= 1e-9)
    return Measurement(0.0, worst, worst <= IDENTITY_TOL, detail, ctrl)


def _bounds_along(model, idx, values, eps, times) -> dict:
    """Violation of the ε-bounds and their tightness along a flow (relative to |rate|)."""
    record = functools.partial(_bounds_at, idx=idx, values=values, eps=eps)
    _, rows = flow_path(model, idx, values, times, record, rtol=1e-10, atol=1e-14)
    return {
        "violation": max(r[0] for r in rows),
        "lower_gap": min(r[1] for r in rows),
        "upper_gap": min(r[2] for r in rows),
        "width": max(r[3] for r in rows),
    }


def _bounds_at(model, *, idx, values, eps) -> tuple[float, float, float, float]:
    gammas = projected_gradients(model, idx, values)
    lower, upper = rate_bounds(model, gammas, eps)
    meas = measured_rates(model, idx, values)
    worst, lo_gap, hi_gap, width = 0.0, float("inf"), float("inf"), 0.0
    for v, m in meas.items():
        scale = m.abs().clamp(min=1e-300)
        worst = max(worst, float(((lower[v] - m).clamp(min=0) / scale).max()))
        worst = max(worst, float(((m - upper[v]).clamp(min=0) / scale).max()))
        lo_gap = min(lo_gap, float(((m - lower[v]).abs() / scale).min()))
        hi_gap = min(hi_gap, float(((upper[v] - m).abs() / scale).min()))
        width = max(width, float(((upper[v] - lower[v]) / scale).max()))
    return worst, lo_gap, hi_gap, width


@register(
    "eps-bounds",
    citation="Razin, Maman & Cohen 2021 (ICML), Theorem 1 (the ε-dependent bound forms are a "
    "reconstruction and the weighted K=4 case extends plain CP; statement paraphrased; number "
    "not verified)",
    statement="with unbalancedness ε = max_{r,n,n'} | ||w_r^n||² − ||w_r^n'||² | at init, "
    "N γ σ² / (σ^{2/N} + ε) <= dσ/dt <= N γ (σ^{2/N} + ε)^{N-1} when γ >= 0 (reversed when "
    "γ < 0), for every component at every time",
    status="derived",
    setting="CP order 3 (K=3) and weighted (K=4), 4^3, R=5, Gaussian init 0.6 (unbalanced), "
    "40 random entries; 15 (30 full) times on a flow to t=3 (rtol 1e-10); float64",
    tolerance=IDENTITY_TOL,
    rule="measured <= tol (rel. violation)",
)
def eps_bounds(quick: bool) -> Measurement:
    points = 15 if quick else 30
    times = [3.0 * k / (points - 1) for k in range(points)]
    runs, controls = [], []
    for build in (_cp(), _cp(weighted=True)):
        model = build()
        idx, values = observations(model.dims, 40, seed=4)
        eps = max(float(e.max()) for e in unbalancedness(model).values())
        runs.append(_bounds_along(model, idx, values, eps, times))
        controls.append(_bounds_along(build(), idx, values, 0.0, times[:4]))
    worst = max(r["violation"] for r in runs)
    bad = min(c["violation"] for c in controls)
    detail = (
        f"worst relative violation {worst:.1e}; tightness: closest approach of the rate to the "
        f"lower bound {min(r['lower_gap'] for r in runs):.2e}, to the upper bound "
        f"{min(r['upper_gap'] for r in runs):.2e}, widest bracket "
        f"{max(r['width'] for r in runs):.2f}"
        f" (all relative to |rate|); control (ε = 0, i.e. the balanced formula as both bounds): "
        f"violation {bad:.2e}"
    )
    ctrl = Control("bounds with ε = 0 on the unbalanced flow", bad, bad <= IDENTITY_TOL)
    return Measurement(0.0, worst, worst <= IDENTITY_TOL, detail, ctrl)


def balanced_dmf_(model, depth: int, *, seed: int, skew: float = 1.0) -> None:
    """Load a balanced deep matrix factorization (A_jᵀA_j = A_{j+1}A_{j+1}ᵀ) of a random W.

    ``skew != 1`` multiplies the first matrix by ``skew`` and the second by ``1/skew``: the
    same end matrix, unbalanced (a control).
    """
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
    mats = [*chain, last]
    mats[0], mats[1] = mats[0] * skew, mats[1] / skew
    model.load_matrices_({0: mats[:-1], 1: mats[-1]})


def _end_to_end(model, idx, values):
    """W, -∇L(W) and dW/dt under gradient flow on the factors (a JVP)."""
    params = [p for p in model.parameters() if p.requires_grad]
    w = model.to_dense().detach().reshape(model.dims).requires_grad_()
    loss = (w[idx[:, 0], idx[:, 1]] - values).square().mean()
    (grad_w,) = torch.autograd.grad(loss, w)
    grads = torch.autograd.grad(completion_loss(model, idx, values), params)
    _, w_dot = torch.autograd.functional.jvp(
        lambda *ps: _dense_from(model, ps), tuple(p.detach() for p in params),
        tuple(-g for g in grads),
    )  # fmt: skip
    return w.detach(), -grad_w, w_dot


def _dense_from(model, ps):
    """The end matrix with the parameters replaced by ``ps`` (differentiable)."""
    layers = model.layers()
    index = {id(p): i for i, p in enumerate(p for p in model.parameters() if p.requires_grad)}
    m0 = ps[index[id(layers[0][0])]]
    for mat in layers[0][1:]:
        m0 = m0 @ ps[index[id(mat)]]
    return (m0 @ ps[index[id(layers[1][0])]].mT)[0]


def dmf_rate_error(depth: int, *, seed: int, skew: float = 1.0) -> float:
    """Relative error of dσ_r/dt = L (σ_r²)^{1-1/L} <-∇L(W), u_r v_rᵀ> (Arora et al. 2019)."""
    model = deep_matrix_factorization(5, 4, 4, depth, dtype=F64, seed=seed)
    balanced_dmf_(model, depth, seed=seed, skew=skew)
    idx, values = observations(model.dims, 14, seed=seed)
    w, neg_grad, w_dot = _end_to_end(model, idx, values)
    u, s, vh = torch.linalg.svd(w, full_matrices=False)
    measured = torch.einsum("ir,ij,rj->r", u, w_dot, vh)
    predicted = depth * s.square().pow(1 - 1 / depth) * torch.einsum("ir,ij,rj->r", u, neg_grad, vh)
    return float((predicted - measured).abs().max() / measured.abs().max())


@register(
    "dmf-rate",
    citation="Arora, Cohen, Hu & Luo 2019 (NeurIPS), Theorem 3 (singular values of the "
    "end-to-end matrix under balanced init)",
    statement="deep matrix factorization W = W_L…W_1 from a balanced init: "
    "dσ_r/dt = −L (σ_r²)^{1−1/L} <∇L(W), u_r v_rᵀ>",
    status="theorem",
    setting="W = A_1…A_{L-1}Bᵀ, 5x4, width 4, balanced, L = 2, 3 (and 4, full); 14 random "
    "entries; float64",
    tolerance=IDENTITY_TOL,
    rule="measured <= tol (rel. error)",
)
def dmf_rate(quick: bool) -> Measurement:
    depths = (2, 3) if quick else (2, 3, 4)
    errs = {d: dmf_rate_error(d, seed=d) for d in depths}
    worst = max(errs.values())
    bad = dmf_rate_error(3, seed=3, skew=2.0)
    detail = "relative error by depth: " + ", ".join(f"L={d}: {e:.1e}" for d, e in errs.items())
    detail += f"; control (L=3, first matrix x2, second /2: unbalanced): error {bad:.2e}"
    ctrl = Control("unbalanced init, same end matrix", bad, bad <= IDENTITY_TOL)
    return Measurement(0.0, worst, worst <= IDENTITY_TOL, detail, ctrl)


def _psd_power(m: torch.Tensor, p: float) -> torch.Tensor:
    """``m^p`` for a PSD ``m``; eigenvalues below 1e-12 of the largest count as zero."""
    if p == 0:
        return torch.eye(len(m), dtype=F64)
    vals, vecs = torch.linalg.eigh(m)
    vals = torch.where(vals > 1e-12 * vals.max(), vals, torch.zeros_like(vals))
    return (vecs * vals.pow(p)) @ vecs.T


def end_to_end_error(depth: int, *, seed: int, skew: float = 1.0) -> float:
    """Relative error of dW/dt = Σ_j (WWᵀ)^{(j−1)/L} (−∇L(W)) (WᵀW)^{(L−j)/L} (balanced)."""
    model = deep_matrix_factorization(5, 4, 4, depth, dtype=F64, seed=seed)
    balanced_dmf_(model, depth, seed=seed, skew=skew)
    idx, values = observations(model.dims, 14, seed=seed + 10)
    w, neg_grad, w_dot = _end_to_end(model, idx, values)
    left, right = w @ w.T, w.T @ w
    pred = sum(
        _psd_power(left, (j - 1) / depth) @ neg_grad @ _psd_power(right, (depth - j) / depth)
        for j in range(1, depth + 1)
    )
    return float((pred - w_dot).abs().max() / w_dot.abs().max())


@register(
    "dmf-end-to-end",
    citation="Arora, Cohen & Hazan 2018 (ICML), the end-to-end dynamics, as used in Arora, "
    "Cohen, Hu & Luo 2019 Sec. 3 (statement paraphrased; number not verified)",
    statement="under balanced init the end matrix of a depth-L factorization follows "
    "dW/dt = −Σ_j (WWᵀ)^{(j−1)/L} ∇L(W) (WᵀW)^{(L−j)/L}",
    status="derived",
    setting="W = A_1…A_{L-1}Bᵀ, 5x4, width 4 (full column rank), balanced, L = 2, 3 (and 4, "
    "full); 14 random entries; matrix powers by eigh; float64",
    tolerance=1e-8,
    rule="measured <= tol (rel. error)",
)
def dmf_end_to_end(quick: bool) -> Measurement:
    depths = (2, 3) if quick else (2, 3, 4)
    errs = {d: end_to_end_error(d, seed=d) for d in depths}
    worst = max(errs.values())
    bad = end_to_end_error(3, seed=3, skew=2.0)
    detail = "relative error by depth: " + ", ".join(f"L={d}: {e:.1e}" for d, e in errs.items())
    detail += f"; control (L=3 unbalanced, same end matrix): error {bad:.2e}"
    ctrl = Control("unbalanced init, same end matrix", bad, bad <= 1e-8)
    return Measurement(0.0, worst, worst <= 1e-8, detail, ctrl)
