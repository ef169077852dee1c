"""Built-in claims about depth and matrix factorization: the 2x2 example of Razin & Cohen,
greedy low-rank learning (Li, Luo & Lyu) and the growth exponent of deep CP.
"""

from __future__ import annotations

import math
import statistics

import torch

from tnreg import trees
from tnreg.components import local_norms, node_products
from tnreg.models import CP, deep_matrix_factorization
from tnreg.theory.quantities import growth_exponent, measured_rates, projected_gradients
from tnreg.theory.registry import Control, Measurement, register
from tnreg.theory.setups import F64, all_entries, cp_target
from tnreg.theory.trajectories import flow_path, flow_to_level, loglog_slope


def _rc_record(model, idx, values) -> tuple[float, float, float, float]:
    """sign(det W) (product of the layers' determinants), |W₁₁|, erank, loss."""
    from tnreg.analysis import effective_rank

    sign = 1.0
    for mats in model.layers().values():
        for m in mats:
            sign *= float(torch.linalg.det(m[0].detach()).sign())
    w = model.to_dense().detach().reshape(2, 2)
    loss = float((w[idx[:, 0], idx[:, 1]] - values).square().mean())
    return sign, float(w[0, 0].abs()), float(effective_rank(torch.linalg.svdvals(w))), loss


def razin_cohen_run(depth: int, *, sign: float = 1.0, t_end: float = 1e4) -> list:
    """Records of the 2x2 completion [[·, 1], [1, 0]] from W(0) = 0.3^L·diag(1, sign)."""
    model = deep_matrix_factorization(2, 2, 2, depth, dtype=F64, seed=0)
    eye = 0.3 * torch.eye(2, dtype=F64)
    first = eye.clone()
    first[1, 1] *= sign
    model.load_matrices_({0: [first] + [eye] * (depth - 2), 1: eye})
    idx = torch.tensor([[0, 1], [1, 0], [1, 1]])
    values = torch.tensor([1.0, 1.0, 0.0], dtype=F64)
    times = [0.0] + [t_end * 10 ** (k / 8 - 6) for k in range(49)]

    def record(m):
        return _rc_record(m, idx, values)

    _, rows = flow_path(model, idx, values, times, record, rtol=1e-6, atol=1e-12)
    return rows


def _rc_verdict(rows) -> tuple[bool, dict]:
    signs = {r[0] for r in rows}
    tail = [r for r in rows if r[3] < 1e-2]  # the approach to zero loss
    slope = loglog_slope([r[3] for r in tail], [r[1] for r in tail]) if len(tail) > 2 else 0.0
    info = {"signs": sorted(signs), "loss": rows[-1][3], "w11": rows[-1][1], "slope": slope,
            "erank": rows[-1][2]}  # fmt: skip
    ok = len(signs) == 1 and info["loss"] <= 1e-4 and slope <= -0.4 and info["erank"] <= 1.05
    return ok, info


@register(
    "razin-cohen-2x2",
    citation="Razin & Cohen 2020 (NeurIPS), the 2x2 completion example of Sec. 3 (statement "
    "paraphrased; number not verified)",
    statement="in the 2x2 completion with observed [[·, 1], [1, 0]] from small init with "
    "det W > 0, sign(det W) never changes, the loss tends to 0, and |W₁₁| grows without bound "
    "(as loss^{-1/2}: det W > 0 forces |W₁₁| > W₁₂W₂₁/|W₂₂|) while erank → 1",
    status="derived",
    setting="deep matrix factorization 2x2, width 2, L = 2, 3 (and 4, full), W(0) = 0.3^L I; "
    "flow (rtol 1e-6) to t=1e4, 49 log-spaced records; slope of log|W₁₁| vs log loss over the "
    "records with loss < 1e-2; control: W(0) = 0.3^L diag(1, −1) (det < 0)",
    tolerance=-0.4,
    rule="det sign kept, loss <= 1e-4, measured <= tol, erank <= 1.05",
)
def razin_cohen_2x2(quick: bool) -> Measurement:
    ok, parts, worst = True, [], -math.inf
    for depth in (2, 3) if quick else (2, 3, 4):
        good, info = _rc_verdict(razin_cohen_run(depth))
        ok &= good
        worst = max(worst, info["slope"])
        parts.append(
            f"L={depth}: det signs {info['signs']}, loss {info['loss']:.1e}, |W11| "
            f"{info['w11']:.3g}, slope {info['slope']:.3f}, erank {info['erank']:.4f}"
        )
    bad, binfo = _rc_verdict(razin_cohen_run(2, sign=-1.0))
    parts.append(
        f"control (L=2, det < 0): loss {binfo['loss']:.1e}, |W11| {binfo['w11']:.3g}, slope "
        f"{binfo['slope']:.3f}, erank {binfo['erank']:.3f}"
    )
    return Measurement(-0.5, worst, ok, "; ".join(parts),
                       Control("det W(0) < 0", binfo["slope"], bad))  # fmt: skip
