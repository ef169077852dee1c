"""A node-by-node rank report of a product-pooling factorization.

Vocabulary
----------
node spectrum
    The singular values of the matricization [W]_I at a non-root node's mode set I, from
    :func:`tnreg.analysis.spectra.node_spectra` (computed from the factors, never densified).
effective / numerical rank
    See :mod:`tnreg.analysis.ranks`; the numerical rank uses ``max(atol, rtol·σ_max)``.
    Gramian-based spectra resolve singular values only down to about ``sqrt(eps)·σ_max``
    (``~1e-8`` in float64, ``~3e-4`` in float32): an ``rtol`` below that counts round-off as
    rank. The default ``rtol=1e-6`` suits float64.
min-cut bound
    A symbolic upper bound on rank [W]_I: the minimum cut of the product-pooling network that
    separates the modes of I from the rest, found by a linear-time dynamic program over the tree
    (:func:`tree_rank_bounds`); it equals ``model.network.rank_bound(I)``, which needs one
    max-flow per node (quadratic time over all nodes), and is never above
    ``min(R_ν, R_Pa(ν), Π_{n∈I} d_n, Π_{n∉I} d_n)``.
local components
    The number of non-negligible local components at an interior node ν (same rule as the
    numerical rank on the local component norms of :mod:`tnreg.analysis.norms`); it bounds
    the rank at ν. ``None`` for leaves.

Ensembles: every row keeps all selected members. ``str(report)`` shows a scalar per cell for a
single member and a list (one value per member, in member order) otherwise;
:meth:`RankReport.to_records` gives one flat record per (node, member).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import networkx as nx
import torch

from tnreg import gcpause
from tnreg.analysis.ranks import effective_rank, numerical_rank
from tnreg.analysis.resolve import AnalysisError, Resolved, resolve
from tnreg.analysis.spectra import scaled_spectrum_batches
from tnreg.components import local_norms
from tnreg.schedule import schedule
from tnreg.trees import mode_sets, node_names
from tnreg.typing import Mode, Node

__all__ = ["RankReport", "RankRow", "rank_report"]


@dataclass(frozen=True)
class RankRow:
    """One non-root node of a :class:`RankReport` (tensors have a leading member axis).

    ``spectrum`` may overflow to ``inf`` at high order; ``relative`` (σ/σ_max) and
    ``log_max`` (log σ_max, ``-inf`` for a zero matricization) are always finite-or-defined.
    ``name`` is the node's short name (:func:`tnreg.trees.node_names`).
    """

    node: Node
    modes: tuple[Mode, ...]
    spectrum: torch.Tensor  # (M, k), descending
    effective_rank: torch.Tensor  # (M,)
    numerical_rank: torch.Tensor  # (M,) int64
    bound: int
    local_components: torch.Tensor | None  # (M,) int64; None for leaves and dense-core formats
    name: str = ""
    relative: torch.Tensor | None = None  # (M, k) σ/σ_max
    log_max: torch.Tensor | None = None  # (M,) log σ_max


@dataclass(frozen=True)
class RankReport:
    """Ranks of every non-root node, in postorder; build with :func:`rank_report`.

    Attributes
    ----------
    rows
        One :class:`RankRow` per non-root node.
    members
        The ensemble members covered (indices into the model's ensemble axis).
    rtol, atol
        The tolerances of the numerical ranks and local component counts.
    """

    rows: tuple[RankRow, ...]
    members: tuple[int, ...]
    rtol: float
    atol: float

    @property
    def hierarchical_ranks(self) -> tuple[tuple[int, ...], ...]:
        """One hierarchical-rank tuple (postorder) per member."""
        return tuple(
            tuple(int(row.numerical_rank[i]) for row in self.rows) for i in range(len(self.members))
        )

    @property
    def hierarchical_rank(self) -> tuple[int, ...]:
        """The hierarchical rank (postorder) of a single-member report.

        Raises
        ------
        ValueError
            If the report covers more than one member.
        """
        if len(self.members) != 1:
            raise ValueError(
                f"the report covers members {list(self.members)}; use .hierarchical_ranks or "
                "rank_report(..., member=e) for a single member"
            )
        return self.hierarchical_ranks[0]

    def to_records(self) -> list[dict[str, Any]]:
        """One JSON-serializable dict per (node, member), nodes in postorder."""
        out = []
        for row in self.rows:
            for i, e in enumerate(self.members):
                local = None if row.local_components is None else int(row.local_components[i])
                log_max = None if row.log_max is None else float(row.log_max[i])
                out.append(
                    {
                        "member": e,
                        "node": _jsonable(row.node),
                        "name": row.name,
                        "modes": list(row.modes),
                        "spectrum": [_finite(float(x)) for x in row.spectrum[i]],
                        "log_sigma_max": _finite(log_max),
                        "effective_rank": float(row.effective_rank[i]),
                        "numerical_rank": int(row.numerical_rank[i]),
                        "bound": row.bound,
                        "local_components": local,
                    }
                )
        return out

    def __str__(self) -> str:
        head = ["node", "σ_max", "erank", "rank", "bound", "local"]
        body = [[_cell(x) for x in _row_cells(row)] for row in self.rows]
        widths = [max(len(r[j]) for r in [head, *body]) for j in range(len(head))]
        lines = [
            f"RankReport(members={list(self.members)}, rtol={self.rtol:g}, atol={self.atol:g})",
            "  ".join(h.ljust(w) for h, w in zip(head, widths)).rstrip(),
        ]
        lines += ["  ".join(c.ljust(w) for c, w in zip(r, widths)).rstrip() for r in body]
        return "\n".join(lines)


def _row_cells(row: RankRow) -> list[Any]:
    smax = (
        row.spectrum[:, 0] if row.spectrum.shape[-1] else row.spectrum.new_zeros(len(row.spectrum))
    )
    logs = row.log_max.tolist() if row.log_max is not None else [math.nan] * len(smax)
    local = "-" if row.local_components is None else row.local_components.tolist()
    return [
        row.name or repr(row.node),
        [_fmt_sigma(x, lg) for x, lg in zip(smax.tolist(), logs)],
        [f"{x:.3g}" for x in row.effective_rank.tolist()],
        row.numerical_rank.tolist(),
        _fmt_int(row.bound),
        local,
    ]


def _fmt_sigma(x: float, log: float) -> str:
    """σ_max, or ``e^log`` where it over- or underflows a float."""
    if math.isfinite(x) and (x > 0 or not math.isfinite(log)):
        return f"{x:.3g}"
    return f"e^{log:.1f}"


def _fmt_int(n: int) -> str:
    return str(n) if n < 10**7 else f"2^{math.log2(n):.1f}"


def _finite(x: float | None) -> float | None:
    """JSON has no inf or NaN: those become None."""
    return x if x is not None and math.isfinite(x) else None


def _cell(x: Any) -> str:
    if isinstance(x, list):
        return str(x[0]) if len(x) == 1 else "[" + ", ".join(map(str, x)) + "]"
    return str(x)


def _jsonable(x: Any) -> Any:
    if x is None or isinstance(x, (bool, int, float, str)):
        return x
    if isinstance(x, (tuple, list)):
        return [_jsonable(y) for y in x]
    return repr(x)


def rank_report(
    source: Any,
    matrices: Mapping[Node, torch.Tensor] | None = None,
    *,
    rtol: float = 1e-6,
    atol: float = 0.0,
    member: int | None = None,
    dtype: torch.dtype | None = torch.float64,
) -> RankReport:
    """Spectrum, effective/numerical rank, min-cut bound and local components of every node.

    Parameters
    ----------
    source
        Any tnreg model, or a mode tree (then pass ``matrices``). Product-pooling models get
        local-component counts and the linear-time tree bound; dense-core formats (Tucker,
        TensorTrain, HierarchicalTucker) get their network's min-cut bound at each node of their
        tree (one max-flow per node) and no local components.
    matrices
        Node matrices ``(E, rows, cols)``; see :mod:`tnreg.analysis.resolve`.
    rtol, atol
        Tolerances of the numerical ranks and of the local component counts.
    member
        Report only this ensemble member; ``None`` reports all.
    dtype
        Computation dtype (float64 by default; ``None`` keeps the parameters').

    Raises
    ------
    AnalysisError
        If ``member`` is out of range, or the inputs do not fit (see
        :func:`tnreg.analysis.resolve.resolve`).

    Examples
    --------
    >>> from tnreg.trees import star
    >>> eye = torch.eye(2, dtype=torch.float64)[None]
    >>> mats = {0: eye, 1: eye}
    >>> mats[(0, 1)] = torch.ones(1, 2, 1, dtype=torch.float64)
    >>> rank_report(star(2), mats).hierarchical_rank
    (2, 2)
    """
    with gcpause.paused(), torch.no_grad():
        r = resolve(source, matrices, dtype=dtype, where="rank_report")
        first = next(iter((r.matrices or r.tensors).values()))
        index = list(_members(member, first.shape[0]))
        return RankReport(
            rows=tuple(_rows(r, index, first.shape[0], rtol, atol)),
            members=tuple(index),
            rtol=float(rtol),
            atol=float(atol),
        )


def _rows(r: Resolved, index: list[int], members: int, rtol: float, atol: float) -> list:
    """The report's rows, computed per batch of equal spectrum shapes (few kernels at order
    1024) and split into one row per node at the end, in postorder."""
    tree = r.tree
    s = schedule(tree)
    targets = list(s.postorder[:-1])
    sets = s.derived("mode_sets", lambda: mode_sets(tree))
    names = s.derived("node_names", lambda: node_names(tree))
    every = index == list(range(members))
    pick = (lambda t: t) if every else (lambda t: t[:, index])
    if r.is_product_pooling:
        locals_ = local_norms(tree, r.matrices)
        bounds = tree_rank_bounds(tree, r.matrices)
        nlocal = _batched(
            lambda s: numerical_rank(s, rtol=rtol, atol=atol),
            locals_ if every else {v: t[index] for v, t in locals_.items()},
        )
    else:
        bounds = {v: r.model.network.rank_bound(list(sets[v])) for v in targets}
        nlocal = {}
    rows: dict[Node, RankRow] = {}
    for group, batch in scaled_spectrum_batches(r, targets):
        rel, log_max = pick(batch.relative), pick(batch.log_max)
        spectrum = rel * log_max.exp().unsqueeze(-1)  # may be inf
        # ranks are scale-invariant: measure the relative spectrum unless an absolute atol is set
        measured = rel if atol == 0 else spectrum
        erank = effective_rank(measured, atol=atol)
        nrank = numerical_rank(measured, rtol=rtol, atol=atol)
        parts = (t.unbind(0) for t in (spectrum, erank, nrank, rel, log_max))
        for v, sp, er, nr, rl, lm in zip(group, *parts, strict=True):
            rows[v] = RankRow(
                node=v,
                modes=sets[v],
                spectrum=sp,
                effective_rank=er,
                numerical_rank=nr,
                bound=bounds[v],
                local_components=nlocal.get(v),
                name=names[v],
                relative=rl,
                log_max=lm,
            )
    return [rows[v] for v in targets]


def _batched(fn, values: Mapping[Node, torch.Tensor]) -> dict[Node, torch.Tensor]:
    """Apply a per-spectrum measure once per group of equal shapes (linear time, few calls)."""
    groups: dict[tuple, list[Node]] = {}
    for v, s in values.items():
        groups.setdefault(tuple(s.shape), []).append(v)
    out: dict[Node, torch.Tensor] = {}
    for nodes in groups.values():
        result = fn(torch.stack([values[v] for v in nodes]))
        out.update(zip(nodes, result.unbind(0)))
    return out


def _members(member: int | None, ensemble: int) -> tuple[int, ...]:
    if member is None:
        return tuple(range(ensemble))
    if isinstance(member, bool) or not isinstance(member, int) or not 0 <= member < ensemble:
        raise AnalysisError(
            f"member must be None or an int in 0..{ensemble - 1} (the ensemble has {ensemble} "
            f"members); got {member!r}"
        )
    return (member,)


def tree_rank_bounds(tree: nx.DiGraph, matrices: Mapping[Node, torch.Tensor]) -> dict[Node, int]:
    """Min-cut rank bound of [W]_{I(v)} for every non-root node, by dynamic programming.

    For the product-pooling network on a tree, the separating cuts are unions of whole-subtree
    cuts: ``inside(v)`` cuts v's subtree off (its own index R_v, its parent's index, or the
    children's inside cuts); ``outside(v)`` cuts everything else off (the siblings' inside cuts
    times the parent's outside cut, or the modes outside I). The bound is the smaller of the two.
    Linear in the tree size, and equal to ``network.rank_bound`` on these networks (tested),
    which costs a max-flow per node.
    """
    s = schedule(tree)
    order, kids_at, n = s.postorder, s.children_at, len(s.postorder)
    top = n - 1  # positions in postorder: lists, no hashing of node labels per step
    shapes = [matrices[v].shape for v in order]
    inside = [0] * n
    under = [0] * n  # the product of the mode sizes under each node (exact ints)
    for p in range(n):
        rows, kids = int(shapes[p][1]), kids_at[p]
        inside[p] = rows if not kids else min(rows, math.prod(inside[c] for c in kids))
        under[p] = rows if not kids else math.prod(under[c] for c in kids)
        if p != top:
            inside[p] = min(inside[p], int(shapes[p][2]))
    outside = [0] * n
    for p in range(top, -1, -1):
        kids = kids_at[p]
        prefix = [1]  # products of the siblings' inside cuts before / after each child
        for c in kids:
            prefix.append(prefix[-1] * inside[c])
        suffix = 1
        for i in range(len(kids) - 1, -1, -1):
            c = kids[i]
            siblings = prefix[i] * suffix
            outside[c] = siblings if p == top else siblings * outside[p]
            suffix *= inside[c]
    total = under[top]  # the modes outside I(v): total // under[v]
    return {order[p]: min(inside[p], outside[p], total // under[p]) for p in range(top)}
