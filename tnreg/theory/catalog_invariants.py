"""Built-in claims about conserved quantities of gradient flow, and exact GD step changes.

Conservation is checked along a flow integrated at rtol 1e-10 (Dormand–Prince); each claim's
control is a quantity of the same run that is *not* conserved and must be seen to move.
"""

from __future__ import annotations

import itertools

import torch

from tnreg import trees
from tnreg.components import local_squared_norms, local_vectors
from tnreg.models import CP, HierarchicalTensorFactorization, deep_matrix_factorization
from tnreg.theory.quantities import completion_loss
from tnreg.theory.registry import Control, Measurement, register
from tnreg.theory.setups import F64, observations
from tnreg.theory.trajectories import flow_path, gd_path

TREE_3_1 = ((0, 1, 2), (3,), 4)
DRIFT_TOL = 1e-8  # relative drift of a conserved quantity along the flow


def _cp():
    return CP(3, 4, 5, init_std=0.6, seed=11, dtype=F64)


def _htf():
    tree = trees.from_nested(TREE_3_1)
    return HierarchicalTensorFactorization(tree, 3, 3, init_std=0.7, seed=5, dtype=F64)


def _within(model) -> torch.Tensor:
    """Differences of squared norms inside each local component (conserved), flattened."""
    out = []
    for q in local_squared_norms(model.tree, model.layers()).values():
        for i, j in itertools.combinations(range(q.shape[-1]), 2):
            out.append((q[..., i] - q[..., j]).detach().flatten())
    return torch.cat(out)


def _across(model) -> torch.Tensor:
    """Differences of the first vector's squared norm across channels (not conserved)."""
    out = []
    for q in local_squared_norms(model.tree, model.layers()).values():
        first = q[..., 0]
        out.append((first[..., 1:] - first[..., :1]).detach().flatten())
    return torch.cat(out)


def _scale(model) -> float:
    qs = local_squared_norms(model.tree, model.layers()).values()
    return max(float(q.detach().abs().max()) for q in qs)


def flow_drifts(model, idx, values, quantities, t_end: float = 2.0) -> list[float]:
    """Relative change of each quantity (a function of the model) along a flow to ``t_end``."""
    before = [q(model) for q in quantities]
    flow_path(model, idx, values, [0.0, t_end], lambda m: None, rtol=1e-10, atol=1e-14)
    scale = _scale(model)
    return [float((q(model) - b).abs().max()) / scale for q, b in zip(quantities, before)]


def _grad_layers(model, idx, values):
    params = [p for p in model.parameters() if p.requires_grad]
    grads = torch.autograd.grad(completion_loss(model, idx, values), params)
    by_id = {id(p): g for p, g in zip(params, grads)}
    return {v: [by_id[id(m)] for m in ms] for v, ms in model.layers().items()}


def gd_step_error(model, idx, values, lr: float) -> float:
    """One GD step: |Δ(q_j − q_0) − lr²(||g_j||² − ||g_0||²)| relative to lr² max ||g||²."""
    gq = local_squared_norms(model.tree, _grad_layers(model, idx, values))
    q0 = {v: q.detach().clone() for v, q in local_squared_norms(model.tree, model.layers()).items()}
    gd_path(model, idx, values, lr=lr, steps=1, record=lambda m: None)
    q1 = local_squared_norms(model.tree, model.layers())
    err, scale = 0.0, 0.0
    for v, g in gq.items():
        dq = q1[v].detach() - q0[v]
        err = max(err, float((dq - dq[..., :1] - lr**2 * (g - g[..., :1])).abs().max()))
        scale = max(scale, lr**2 * float(g.abs().max()))
    return err / scale


@register(
    "cp-invariants",
    citation="Razin, Maman & Cohen 2021 (ICML), Sec. 4, conserved quantities (statement "
    "paraphrased; number not verified)",
    statement="||w_r^n||² − ||w_r^n'||² is constant under gradient flow (d/dt ||w_r^n||² = "
    "2<w_r^n, −∇_{w_r^n} L> is the same for every n by multilinearity); one GD step of size η "
    "changes it by exactly η²(||∇w_r^n||² − ||∇w_r^n'||²)",
    status="derived",
    setting="CP order 3, 4^3, R=5, init 0.6, 40 random entries; flow to t=2 (rtol 1e-10); GD "
    "steps η = 0.05, 0.2; float64",
    tolerance=DRIFT_TOL,
    rule="measured <= tol (max of rel. drift, GD step error)",
)
def cp_invariants(quick: bool) -> Measurement:
    idx, values = observations((4, 4, 4), 40, seed=1)
    drift, moved = flow_drifts(_cp(), idx, values, [_within, _across])
    step_err = max(gd_step_error(_cp(), idx, values, lr) for lr in (0.05, 0.2))
    worst = max(drift, step_err)
    detail = (
        f"flow drift {drift:.1e}; GD step identity error {step_err:.1e}; control (differences "
        f"across components, ||w_r^0||² − ||w_0^0||², not conserved): moved {moved:.2e}"
    )
    ctrl = Control("differences across components", moved, moved <= DRIFT_TOL)
    return Measurement(0.0, worst, worst <= DRIFT_TOL, detail, ctrl)


def _off_diagonal(model) -> torch.Tensor:
    """Off-diagonal of M_ν M_νᵀ − M_cᵀ M_c for every interior ν with trainable rows and child c."""
    mats, out = model.matrices(), []
    for v in model.tree:
        kids = list(model.tree.successors(v))
        if not kids or v not in model.layers():
            continue
        for c in kids:
            gap = mats[v] @ mats[v].mT - mats[c].mT @ mats[c]
            mask = ~torch.eye(gap.shape[-1], dtype=torch.bool)
            out.append(gap[..., mask].detach().flatten())
    return torch.cat(out)


@register(
    "htf-invariants",
    citation="Razin, Maman & Cohen 2022 (ICML), Sec. 3, conserved quantities (statement "
    "paraphrased; number not verified)",
    statement="within each local component the squared norms ||W^ν[r,:]||² − ||W^c[:,r]||² and "
    "sibling differences are constant under gradient flow",
    status="derived",
    setting="HTF on ((0,1,2),(3,),4), widths 3, init 0.7, 40 random entries; flow to t=2 "
    "(rtol 1e-10); float64",
    tolerance=DRIFT_TOL,
    rule="measured <= tol (rel. drift)",
)
def htf_invariants(quick: bool) -> Measurement:
    model = _htf()
    idx, values = observations(model.dims, 40, seed=2)
    drift, moved = flow_drifts(model, idx, values, [_within, _off_diagonal])
    detail = f"diagonal drift {drift:.1e}; control (off-diagonal entries): moved {moved:.2e}"
    ctrl = Control("off-diagonal of M_ν M_νᵀ − M_cᵀ M_c", moved, moved <= DRIFT_TOL)
    return Measurement(0.0, drift, drift <= DRIFT_TOL, detail, ctrl)


def _gaps(model) -> torch.Tensor:
    """A_jᵀA_j − A_{j+1}A_{j+1}ᵀ along the chain W = A_1…A_{L-1}Bᵀ (Bᵀ last), flattened."""
    chain = [*model.layers()[0], model.layers()[1][0].mT]
    return torch.cat(
        [(a.mT @ a - b @ b.mT).detach().flatten() for a, b in itertools.pairwise(chain)]
    )


def _first_gram(model) -> torch.Tensor:
    a = model.layers()[0][0]
    return (a.mT @ a).detach().flatten()


@register(
    "dmf-balancedness",
    citation="Arora, Cohen, Hu & Luo 2019 (NeurIPS), Sec. 3 (balancedness is conserved; "
    "statement paraphrased; number not verified)",
    statement="in deep matrix factorization W = W_L…W_1 the matrices W_{j+1}ᵀW_{j+1} − "
    "W_jW_jᵀ are constant under gradient flow",
    status="derived",
    setting="W = A_1…A_{L-1}Bᵀ, 5x4, width 4, Gaussian init 0.5, L = 3 (and 4, full); 14 "
    "random entries; flow to t=2 (rtol 1e-10); float64",
    tolerance=DRIFT_TOL,
    rule="measured <= tol (rel. drift)",
)
def dmf_balancedness(quick: bool) -> Measurement:
    worst, moved = 0.0, float("inf")
    for depth in (3,) if quick else (3, 4):
        model = deep_matrix_factorization(5, 4, 4, depth, init_std=0.5, seed=depth, dtype=F64)
        idx, values = observations(model.dims, 14, seed=depth)
        drift, gram = flow_drifts(model, idx, values, [_gaps, _first_gram])
        worst, moved = max(worst, drift), min(moved, gram)
    detail = f"drift {worst:.1e}; control (A_1ᵀA_1 alone, not conserved): moved {moved:.2e}"
    return Measurement(
        0.0, worst, worst <= DRIFT_TOL, detail, Control("A_1ᵀA_1 alone", moved, moved <= DRIFT_TOL)
    )


def _zero_(model, node, r: int, vectors=None) -> list[torch.Tensor]:
    """Zero the vectors of local component (node, r) (all, or those listed) in place."""
    vecs = [x[..., r, :] for x in local_vectors(model.tree, model.layers())[node]]
    vecs = vecs if vectors is None else [vecs[j] for j in vectors]
    with torch.no_grad():
        for x in vecs:
            x.zero_()
    return vecs


def _zero_run(build, zeros, *, vectors=None) -> float:
    model = build()
    idx, values = observations(model.dims, 40, seed=3)
    vecs = [x for node, r in zeros for x in _zero_(model, node, r, vectors)]
    flow_path(model, idx, values, [0.0, 2.0], lambda m: None, rtol=1e-6, atol=1e-10)
    return max(float(x.detach().abs().max()) for x in vecs)


@register(
    "zero-stays-zero",
    citation="Razin, Maman & Cohen 2021, 2022 (ICML): a consequence of the rate identities",
    statement="a (local) component whose K vectors are all zero stays exactly zero under "
    "gradient flow: the gradient of each of its vectors is a product with the others (a code "
    "check of the gradient's structure)",
    status="consistency",
    setting="CP order 3, R=5 (component 2 zeroed) and HTF on ((0,1,2),(3,),4) (channel 1 zeroed "
    "at the 3-child node and at the single-child node); flow to t=2; float64",
    tolerance=0.0,
    rule="measured == 0 (max |zeroed entry|)",
)
def zero_stays_zero(quick: bool) -> Measurement:
    cases = [
        (_cp, [(trees.root(trees.star(3)), 2)]),
        (_htf, [((0, 1, 2), 1), ((3,), 1)]),
    ]
    worst = max(_zero_run(build, zeros) for build, zeros in cases)
    moved = min(_zero_run(build, zeros, vectors=[0]) for build, zeros in cases)
    detail = (
        f"max |zeroed vector| after the flow {worst:.1e}; control (only the first vector of "
        f"each component zeroed): it moved to {moved:.2e}"
    )
    ctrl = Control("one vector of the component zeroed", moved, moved == 0.0)
    return Measurement(0.0, worst, worst == 0.0, detail, ctrl)
