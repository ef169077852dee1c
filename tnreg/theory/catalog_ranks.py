"""Built-in claims about ranks and spectra: local-component rank bounds, min-cut bounds, and
cross-checks of the code paths that compute end tensors and node spectra.

Numerical ranks are taken only where the spectrum has a clear gap (the ratio of the smallest
kept to the largest dropped singular value is reported and must exceed :data:`GAP`), so a
rescaling of the model cannot tip a count.
"""

from __future__ import annotations

import torch

from tnreg import trees
from tnreg.models import HierarchicalTensorFactorization
from tnreg.theory.registry import Control, Measurement, register
from tnreg.theory.runs import htf_run, matricize
from tnreg.theory.setups import F64, curved_

TREE_3_1 = ((0, 1, 2), (3,), 4)
GAP = 1e6  # a numerical rank needs kept / dropped singular values above this ratio
VALUE_TOL = 1e-7  # spectra from Gramians: zero singular values come out at ~sqrt(eps)·σ_1
RANK_RTOL = 1e-8


def gap_rank(s: torch.Tensor) -> tuple[int, float]:
    """Numerical rank at rtol 1e-8 of a descending spectrum, and the gap around the cut.

    Examples
    --------
    >>> gap_rank(torch.tensor([3.0, 1.0, 0.0], dtype=torch.float64))
    (2, inf)
    """
    keep = int((s > RANK_RTOL * s[0]).sum())
    above = float(s[keep - 1]) if keep else float("inf")
    below = float(s[keep]) if keep < len(s) else 0.0
    return keep, (above / below if below > 0 else float("inf"))


def _narrow_models():
    """HTF models whose min-cut bound at some node is below both sides of its matricization."""
    out = []
    for nested, narrow in ((((0, 1), (2, 3))), (0, 1)), ((TREE_3_1, (0, 1, 2))):
        tree = trees.from_nested(nested)
        widths = {v: (2 if v == narrow else 3) for v in tree if tree.out_degree(v)}
        out.append(
            HierarchicalTensorFactorization(tree, 3, widths, init_std=0.7, seed=9, dtype=F64)
        )
    return out


@register(
    "min-cut-bound",
    citation="the min-cut bound of tensor networks, as used in Razin, Maman & Cohen 2022 (ICML),"
    " Sec. 3 (statement paraphrased; number not verified)",
    statement="rank [W]_I <= the minimal cut separating I from I^c in the network, and at a "
    "random init the bound is attained (rank = bound) at every node",
    status="derived",
    setting="HTF on ((0,1),(2,3)) and ((0,1,2),(3,),4), dims 3, widths 3 with width 2 at one "
    "node (bound 2 below both sides, 9 and 9 / 27 and 9), init 0.7; dense SVD; float64",
    tolerance=0.0,
    rule="measured == 0 (max |rank − bound|)",
)
def min_cut_bound(quick: bool) -> Measurement:
    worst, below, rows, gap = 0, 0, [], float("inf")
    for model in _narrow_models():
        dense = model.to_dense().detach()
        for node in model.tree:
            if node == trees.root(model.tree):
                continue
            modes = list(trees.modes_under(model.tree, node))
            mat = matricize(dense, modes)
            rank, g = gap_rank(torch.linalg.svdvals(mat))
            bound = model.network.rank_bound(modes)
            worst, gap = max(worst, abs(rank - bound)), min(gap, g)
            below += bound < min(mat.shape)
            rows.append((rank, bound))
    fails = sum(r > b - 1 for r, b in rows)  # the neighbouring bound (bound − 1) is violated
    detail = (
        f"{len(rows)} nodes, {below} with the bound below both sides; max |rank − bound| "
        f"{worst}; smallest spectral gap {gap:.1e}; control (bound − 1): violated at {fails} nodes"
    )
    ctrl = Control("the bound minus one", fails, fails == 0)
    return Measurement(0.0, worst, worst == 0 and gap > GAP, detail, ctrl)


def _weyl_margins(record) -> list[tuple[float, float]]:
    """Per (node, side) where the bound is not vacuous (c < the matrix's smaller side):
    σ_{c+1} − δ and σ_c − δ, relative to σ_1, where c counts the non-negligible local
    components and δ = ||[W − W_c]_ν||₂ (W_c: the others zeroed)."""
    out = []
    for s, delta, c in record["cuts"]:
        if c >= len(s):
            continue
        at = float(s[c - 1]) if c >= 1 else float("inf")
        out.append(((float(s[c]) - delta) / float(s[0]), (at - delta) / float(s[0])))
    return out


@register(
    "rank-bound",
    citation="Razin, Maman & Cohen 2022 (ICML), Sec. 3: rank [W]_ν is bounded by the local "
    "components at Pa(ν) and at ν (statement paraphrased; number not verified)",
    statement="if only c local components at Pa(ν) (or at ν) are nonzero then rank [W]_ν <= c; "
    "numerically (Weyl): with W_c the model with the other local components zeroed, "
    "σ_{c+1}([W]_ν) <= ||[W − W_c]_ν||₂, at every node and time of a trajectory",
    status="derived",
    setting="the htf-incremental trajectory (every record); W_c keeps the local components above "
    "0.1 x their node's largest (any choice is valid: Weyl); dense SVDs; float64",
    tolerance=1e-9,
    rule="measured <= tol (max (σ_{c+1} − δ) / σ_1)",
)
def rank_bound(quick: bool) -> Measurement:
    run = htf_run(quick, "small")
    margins = [m for rec in run["records"] for m in _weyl_margins(rec)]
    worst = max(m[0] for m in margins)
    bad = max(m[1] for m in margins)  # the bound with c − 1: σ_c <= δ must fail somewhere
    total = sum(len(rec["cuts"]) for rec in run["records"])
    detail = (
        f"{len(margins)} of {total} (node, side, time) triples with c below the matrix's "
        f"smaller side; max (σ_(c+1) − δ)/σ_1 = {worst:.1e}; control (bound c − 1): max "
        f"(σ_c − δ)/σ_1 = {bad:.2e}"
    )
    ctrl = Control("the bound with c − 1 components", bad, bad <= 1e-9)
    return Measurement(0.0, worst, worst <= 1e-9, detail, ctrl)


@register(
    "one-hot-consistency",
    citation="Cohen & Shashua 2017 (ICLR): a network's values on one-hot inputs are the entries "
    "of its coefficient tensor",
    statement="three code paths agree: model(indices), forward_sensing on one-hot vectors and "
    "to_dense (so the separation rank of f w.r.t. I is rank [W]_I)",
    status="consistency",
    setting="HTF on ((0,1),(2,3)) and ((0,1,2),(3,),4), dims 3, widths 3 and 2, init 0.7; "
    "every entry; float64",
    tolerance=1e-12,
    rule="measured <= tol (rel. difference)",
)
def one_hot_consistency(quick: bool) -> Measurement:
    worst = max(_paths_differ(m) for m in _narrow_models())
    bad = min(_paths_differ(curved_(m)) for m in _narrow_models())
    detail = f"max relative difference {worst:.1e}; control (curved forward): {bad:.2e}"
    return Measurement(
        0.0, worst, worst <= 1e-12, detail, Control("forward bent to f + 0.2 f²", bad, bad <= 1e-12)
    )


def _paths_differ(model) -> float:
    dims = model.dims
    grid = torch.cartesian_prod(*[torch.arange(d) for d in dims]).reshape(-1, len(dims))
    vectors = [torch.nn.functional.one_hot(grid[:, n], d).to(F64) for n, d in enumerate(dims)]
    with torch.no_grad():
        dense = model.to_dense().reshape(-1)
        by_index = model(grid).reshape(-1)
        by_sensing = model.forward_sensing(vectors).reshape(-1)
    scale = float(dense.abs().max())
    return max(float((by_index - dense).abs().max()), float((by_sensing - dense).abs().max())) / (
        scale
    )


@register(
    "spectrum-values",
    citation="tnreg's Gramian spectra against a dense SVD (an independent reference)",
    statement="the singular values node_spectra computes from the factors equal those of the "
    "dense matricization [W]_ν, value by value, at every node; their numerical ranks agree "
    "across a clear gap",
    status="consistency",
    setting="HTF on ((0,1),(2,3)) and ((0,1,2),(3,),4), dims 3, widths 3 and 2 (exact zeros in "
    "the spectra), init 0.7, and the same scaled by 10; float64; tolerance: Gramian-based "
    "spectra resolve zero singular values to ~sqrt(machine eps) x σ_1",
    tolerance=VALUE_TOL,
    rule="measured <= tol (max |Δσ| / σ_1), ranks equal across a gap > 1e6",
)
def spectrum_values(quick: bool) -> Measurement:
    from tnreg.analysis import node_spectra

    worst, wrong, mismatch, gap = 0.0, float("inf"), 0, float("inf")
    for model in _narrow_models():
        for factor in (1.0, 10.0):
            with torch.no_grad():
                for p in model.parameters():
                    p.mul_(factor ** (1 / 3))
            spectra = node_spectra(model)
            dense = {v: _dense_spectrum(model, v) for v in spectra}
            nodes = list(spectra)
            for v in nodes:
                s, ref = spectra[v][0], dense[v]
                worst = max(worst, _spectral_gap(s, ref))
                for other in _other_nodes(model, v, nodes):
                    wrong = min(wrong, _spectral_gap(s, dense[other]))
                (r1, g1), (r2, g2) = gap_rank(s), gap_rank(ref)
                mismatch += r1 != r2
                gap = min(gap, g1, g2)
    detail = (
        f"max |σ − σ_dense| / σ_1 = {worst:.1e}; rank mismatches {mismatch}; smallest gap "
        f"{gap:.1e}; control (another node's dense spectrum, not the complement's): {wrong:.2e}"
    )
    ok = worst <= VALUE_TOL and mismatch == 0 and gap > GAP
    ctrl = Control("compared with another node's dense spectrum", wrong, wrong <= VALUE_TOL)
    return Measurement(0.0, worst, ok, detail, ctrl)


def _other_nodes(model, node, nodes) -> list:
    """Nodes whose matricization is neither [W]_node nor its transpose."""
    modes = set(trees.modes_under(model.tree, node))
    every = set(range(len(model.dims)))
    return [
        u for u in nodes
        if set(trees.modes_under(model.tree, u)) not in (modes, every - modes)
    ]  # fmt: skip


def _dense_spectrum(model, node) -> torch.Tensor:
    modes = list(trees.modes_under(model.tree, node))
    return torch.linalg.svdvals(matricize(model.to_dense().detach(), modes))


def _spectral_gap(s: torch.Tensor, ref: torch.Tensor) -> float:
    n = max(len(s), len(ref))
    a = torch.nn.functional.pad(s, (0, n - len(s)))
    b = torch.nn.functional.pad(ref, (0, n - len(ref)))
    return float((a - b).abs().max() / ref[0])
