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
    max-flow per node (30 s at order 256), and is never above ``min(R_ν, R_Pa(ν), Π_{n∈I} d_n,
    Π_{n∉I} d_n)``.
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

from tnreg.analysis.norms import count_nonnegligible, local_component_norms, resolve_matrices
from tnreg.analysis.ranks import effective_rank, numerical_rank
from tnreg.trees import is_leaf, mode_sets, postorder, root
from tnreg.typing import Mode, Node

__all__ = ["RankReport", "RankRow", "rank_report"]


@dataclass(frozen=True)
class RankRow:
    """One non-root node of a :class:`RankReport` (tensors have a leading member axis)."""

    node: Node
    modes: tuple[Mode, ...]
    spectrum: torch.Tensor  # (M, k), descending
    effective_rank: torch.Tensor  # (M,)
    numerical_rank: torch.Tensor  # (M,) int64
    bound: int
    local_components: torch.Tensor | None  # (M,) int64; None for leaves


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
                out.append(
                    {
                        "member": e,
                        "node": _jsonable(row.node),
                        "modes": list(row.modes),
                        "spectrum": [float(x) for x in row.spectrum[i]],
                        "effective_rank": float(row.effective_rank[i]),
                        "numerical_rank": int(row.numerical_rank[i]),
                        "bound": row.bound,
                        "local_components": local,
                    }
                )
        return out

    def __str__(self) -> str:
        head = ["node", "modes", "σ_max", "erank", "rank", "bound", "local"]
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
    local = "-" if row.local_components is None else row.local_components.tolist()
    return [
        repr(row.node),
        str(row.modes),
        [f"{x:.3g}" for x in smax.tolist()],
        [f"{x:.3g}" for x in row.effective_rank.tolist()],
        row.numerical_rank.tolist(),
        row.bound,
        local,
    ]


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
    tree_or_model: Any,
    matrices: Mapping[Node, torch.Tensor] | None = None,
    *,
    rtol: float = 1e-6,
    atol: float = 0.0,
    member: int | None = None,
) -> RankReport:
    """Spectrum, effective/numerical rank, min-cut bound and local components of every node.

    Parameters
    ----------
    tree_or_model
        A mode tree (then pass ``matrices``) or a model with ``.tree`` and ``.matrices()``
        (and optionally ``.network`` for the min-cut bound).
    matrices
        Node matrices ``(E, rows, cols)``; see :mod:`tnreg.analysis.norms`.
    rtol, atol
        Tolerances of the numerical ranks and of the local component counts.
    member
        Report only this ensemble member; ``None`` reports all.

    Raises
    ------
    ValueError
        If ``member`` is out of range (and see :func:`tnreg.analysis.norms.resolve_matrices`).

    Examples
    --------
    >>> from tnreg.trees import star
    >>> eye = torch.eye(2, dtype=torch.float64)[None]
    >>> mats = {0: eye, 1: eye}
    >>> mats[(0, 1)] = torch.ones(1, 2, 1, dtype=torch.float64)
    >>> rank_report(star(2), mats).hierarchical_rank
    (2, 2)
    """
    from tnreg.analysis.spectra import node_scaled_spectra

    tree, matrices = resolve_matrices(tree_or_model, matrices)
    matrices = {v: m.detach() for v, m in matrices.items()}
    ensemble = next(iter(matrices.values())).shape[0]
    members = _members(member, ensemble)
    index = list(members)
    scaled = node_scaled_spectra(tree, matrices)  # finite at any order
    locals_ = local_component_norms(tree, matrices)
    bounds = tree_rank_bounds(tree, matrices)
    sets = mode_sets(tree)
    rows = []
    for v in postorder(tree):
        if v == root(tree):
            continue
        rel = torch.sort(scaled[v].relative[index], dim=-1, descending=True).values
        s = rel * scaled[v].log_max[index].exp().unsqueeze(-1)  # may overflow to inf at high order
        # ranks are scale-invariant: measure the relative spectrum unless an absolute atol is set
        measured = rel if atol == 0 else s
        bound = bounds[v]
        rows.append(
            RankRow(
                node=v,
                modes=sets[v],
                spectrum=s,
                effective_rank=effective_rank(measured, atol=atol),
                numerical_rank=numerical_rank(measured, rtol=rtol, atol=atol),
                bound=bound,
                local_components=_local_count(locals_, v, index, rtol, atol),
            )
        )
    return RankReport(rows=tuple(rows), members=members, rtol=float(rtol), atol=float(atol))


def _local_count(locals_, v, index, rtol, atol):
    """Non-negligible local components at an interior node (None for a leaf)."""
    if v not in locals_:
        return None
    return count_nonnegligible(locals_[v][index], rtol=rtol, atol=atol)


def _members(member: int | None, ensemble: int) -> tuple[int, ...]:
    if member is None:
        return tuple(range(ensemble))
    if isinstance(member, bool) or not isinstance(member, int) or not 0 <= member < ensemble:
        raise ValueError(
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
    top = root(tree)
    inside: dict[Node, int] = {}
    for v in postorder(tree):
        rows, cols = int(matrices[v].shape[1]), int(matrices[v].shape[2])
        kids = list(tree.successors(v))
        inside[v] = rows if not kids else min(rows, math.prod(inside[c] for c in kids))
        if v != top:
            inside[v] = min(inside[v], cols)
    outside: dict[Node, int] = {}
    for v in reversed(postorder(tree)):
        kids = list(tree.successors(v))
        for c in kids:
            siblings = math.prod(inside[s] for s in kids if s != c)
            outside[c] = siblings if v == top else siblings * outside[v]
    dims = {tree.nodes[v]["mode"]: int(matrices[v].shape[1]) for v in tree if is_leaf(tree, v)}
    sets = mode_sets(tree)
    return {
        v: min(inside[v], outside[v], math.prod(d for n, d in dims.items() if n not in sets[v]))
        for v in outside
    }
