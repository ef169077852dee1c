"""Trajectories several claims share, memoized (see :func:`tnreg.theory.registry.cached`).

Each run follows gradient flow (:func:`tnreg.theory.trajectories.flow_path`, adaptive
Dormand–Prince) on small CPU sizes with fixed seeds, and records what the claims need.
"""

from __future__ import annotations

import copy

import torch

from tnreg import trees
from tnreg.components import local_norms, local_vectors
from tnreg.models import CP, HierarchicalTensorFactorization
from tnreg.theory.registry import cached
from tnreg.theory.setups import F64, all_entries, cp_target
from tnreg.theory.trajectories import flow_path

__all__ = ["HTF_INITS", "HTF_TREE", "cp_run", "htf_run", "htf_target", "matricize"]

HTF_TREE = ((0, 1), (2,))  # a root with a 2-child node and a single-child node
HTF_DIMS = (3, 3, 4)
HTF_INITS = {"small": (0.3, 16.0), "large": (0.6, 8.0)}  # init std, flow length
LOCAL_RTOL = 0.1  # local components kept in W_c: above this fraction of the node's largest


def matricize(dense: torch.Tensor, rows) -> torch.Tensor:
    """[W]_I: the modes ``rows`` as rows, the others as columns.

    Examples
    --------
    >>> matricize(torch.zeros(2, 3, 4), [1]).shape
    torch.Size([3, 8])
    """
    rows = list(rows)
    cols = [n for n in range(dense.ndim) if n not in rows]
    size = 1
    for n in rows:
        size *= dense.shape[n]
    return dense.permute(rows + cols).reshape(size, -1)


def htf_target() -> torch.Tensor:
    """A CP-rank-3 tensor of shape (3, 3, 4), norms 36 x (1, 0.6, 0.36): both matricizations
    of the tree ((0,1),(2,)) have rank 3, below their smaller side 4."""
    gen = torch.Generator().manual_seed(2)
    target = torch.zeros(HTF_DIMS, dtype=F64)
    for s in (1.0, 0.6, 0.36):
        us = [torch.randn(d, generator=gen, dtype=F64) for d in HTF_DIMS]
        target += 36 * s * torch.einsum("i,j,k->ijk", *(u / u.norm() for u in us))
    return target


def _zeroed(model, node, keep: torch.Tensor):
    """A copy of ``model`` with the local components (node, r) not in ``keep`` zeroed."""
    clone = copy.deepcopy(model)
    first = local_vectors(clone.tree, clone.layers())[node][0]
    with torch.no_grad():
        first[..., ~keep, :] = 0.0
    return clone


def _htf_record(model) -> dict:
    """Local norms, node ranks' spectra and the Weyl data of the rank bound (see rank-bound)."""
    tree = model.tree
    norms = {v: n[0].detach().clone() for v, n in local_norms(tree, model.layers()).items()}
    dense = model.to_dense().detach()
    cuts, spectra = [], {}
    for node in tree:
        if node == trees.root(tree):
            continue
        modes = list(trees.modes_under(tree, node))
        s = torch.linalg.svdvals(matricize(dense, modes))
        spectra[node] = s
        for side in [trees.parent(tree, node)] + ([node] if node in norms else []):
            keep = norms[side] > LOCAL_RTOL * norms[side].max()
            rest = dense - _zeroed(model, side, keep).to_dense().detach()
            delta = float(torch.linalg.matrix_norm(matricize(rest, modes), ord=2))
            cuts.append((s, delta, int(keep.sum())))
    return {"local": norms, "spectra": spectra, "cuts": cuts}


@cached
def htf_run(quick: bool, label: str) -> dict:
    """HTF on ((0,1),(2,)), dims (3,3,4), widths 4, fully observed :func:`htf_target`."""
    std, t_end = HTF_INITS[label]
    idx, values = all_entries(htf_target())
    model = HierarchicalTensorFactorization(
        trees.from_nested(HTF_TREE), HTF_DIMS, 4, init_std=std, seed=1, dtype=F64
    )
    points = 80
    times = [t_end * k / points for k in range(points + 1)]
    ts, rows = flow_path(model, idx, values, times, _htf_record, rtol=1e-4, atol=1e-9)
    loss = float((model(idx).detach() - values).square().mean() / values.square().mean())
    return {"times": ts, "records": rows, "rank": 3, "loss": loss, "model": model}


CP_DIM = 4
CP_NORMS = (1.0, 0.6, 0.36)


@cached
def cp_run(quick: bool, std: float, t_end: float, points: int = 150) -> dict:
    """CP order 3, R=5, on a fully observed random CP-rank-3 4x4x4 target (norms 64 x
    (1, 0.6, 0.36)); records the component norms."""
    scale = CP_DIM**3
    target = cp_target(3, CP_DIM, [scale * s for s in CP_NORMS], seed=0)
    idx, values = all_entries(target)
    model = CP(3, CP_DIM, 5, init_std=std, seed=1, dtype=F64)
    root = trees.root(model.tree)
    times = [t_end * k / points for k in range(points + 1)]

    def record(m):
        return local_norms(m.tree, m.layers())[root][0].detach().clone()

    ts, rows = flow_path(model, idx, values, times, record, rtol=1e-4, atol=1e-9)
    loss = float((model(idx).detach() - values).square().mean() / values.square().mean())
    return {"times": ts, "norms": torch.stack(rows), "loss": loss, "rank": len(CP_NORMS),
            "threshold": 0.1 * min(CP_NORMS) * scale}  # fmt: skip
