"""Inner and outer Gramians of product-pooling tensor factorizations (CP, HTF, deep variants).

This module is the Gramian *algebra*: it sits below both :mod:`tnreg.models` (``rescale_`` reads
the Frobenius norm from it) and :mod:`tnreg.analysis`, and trusts its inputs. Public entry points
that validate what users pass are in :mod:`tnreg.analysis.gramians`.

Vocabulary
----------
mode set I(ν)
    The modes under a node ν of the mode tree.
matricization [W]_I
    The end tensor W with the modes of I on the rows and the other modes on the columns.
node matrix M_ν
    ``matrices[ν]`` with a leading ensemble axis E: ``(E, d_n, R_Pa(n))`` at a leaf n,
    ``(E, R_ν, R_Pa(ν))`` at an interior node, ``(E, R_root, 1)`` at the root (the output layer).
    The *width* of a node is its number of rows (``d_n`` at a leaf).
inner Gramian G_ν
    ``U_ν^T U_ν`` where ``[W]_ν = U_ν V_ν^T`` splits W at ν into R_ν columns; bottom-up
    ``G_ν = ∘_{c ∈ C(ν)} P_c`` (∘: Hadamard product) with the *projected Gramian*
    ``P_c = M_c^T G_c M_c`` (``M_n^T M_n`` at a leaf: ``G_leaf = I`` is never formed).
outer Gramian H_ν
    ``V_ν^T V_ν``; top-down ``H_root = M_root M_root^T`` and ``H_c = M_c K_c M_c^T`` with the
    *context* ``K_c = H_ν ∘ ∘_{s ∈ C(ν), s ≠ c} P_s`` (R_ν × R_ν, ν the parent of c).

Scaling: at order 1024 these Gramians are products of about a thousand norms and over- or
underflow any float. Every Gramian is therefore kept as a :class:`Scaled` pair: a matrix
normalized to largest diagonal entry 1 (PSD, so every entry lies in [-1, 1]) and a per-member
``log_scale``; the value is ``matrix * exp(log_scale)``. The scale factors are detached
constants, so gradients through the normalized matrices are exact. Cost: O(Σ_ν R_ν³).
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, NamedTuple

import networkx as nx
import torch

from tnreg.schedule import Schedule, schedule
from tnreg.trees import children
from tnreg.typing import Node

__all__ = [
    "Gramians",
    "Scaled",
    "frobenius_norm_sq",
    "gramians",
    "inner_gramians",
    "log_frobenius_norm",
    "normalize",
    "outer_gramians",
    "sandwich",
    "sandwich_many",
]


class Scaled(NamedTuple):
    """A PSD matrix stored as ``matrix * exp(log_scale)``, batched over the ensemble.

    Attributes
    ----------
    matrix
        ``(E, R, R)``, largest diagonal entry 1 (or all zeros).
    log_scale
        ``(E,)`` natural-log scale factors.
    """

    matrix: torch.Tensor
    log_scale: torch.Tensor

    def value(self) -> torch.Tensor:
        """The plain matrix ``matrix * exp(log_scale)`` (may over/underflow at high order)."""
        return self.matrix * torch.exp(self.log_scale)[:, None, None]


@dataclass(frozen=True)
class Gramians:
    """All Gramians of one factorization (see the module vocabulary).

    Attributes
    ----------
    inner
        ``G_ν`` for every interior node (root included).
    projected
        ``P_c = M_c^T G_c M_c`` (R_Pa(c) × R_Pa(c)) for every non-root node.
    context
        ``K_c`` (R_Pa(c) × R_Pa(c)) for every non-root node.
    outer
        ``H_ν`` for the root and every interior node (leaves: see :func:`outer_gramians`).
    """

    inner: dict[Node, Scaled]
    projected: dict[Node, Scaled]
    context: dict[Node, Scaled]
    outer: dict[Node, Scaled]


# --------------------------------------------------------------------------- scaled algebra


def normalize(matrix: torch.Tensor, log_scale: torch.Tensor) -> Scaled:
    """Divide by the largest diagonal entry (a detached constant), moving it to the log scale.

    Works on any leading batch shape: ``matrix`` (..., R, R) with ``log_scale`` (...).
    """
    top = torch.diagonal(matrix, dim1=-2, dim2=-1).amax(dim=-1).detach()
    safe = torch.where((top > 0) & torch.isfinite(top), top, torch.ones_like(top))
    return Scaled(matrix / safe[..., None, None], log_scale + torch.log(safe))


def _hadamard(a: Scaled | None, b: Scaled | None) -> Scaled | None:
    """Hadamard product of two scaled matrices; ``None`` is the all-ones identity."""
    if a is None or b is None:
        return b if a is None else a
    return normalize(a.matrix * b.matrix, a.log_scale + b.log_scale)


def sandwich(m: torch.Tensor, inner: Scaled, *, transpose: bool) -> Scaled:
    """``M^T X M`` (``transpose=True``) or ``M X M^T``, renormalized (any leading batch shape)."""
    if transpose:
        out = m.mT @ inner.matrix @ m
    else:
        out = m @ inner.matrix @ m.mT
    return normalize((out + out.mT) / 2, inner.log_scale)


# --------------------------------------------------------------------------- level batching


def group_by(items, key) -> list[list]:
    """``items`` split by ``key(item)``, order kept within each group."""
    out: dict = {}
    for v in items:
        out.setdefault(key(v), []).append(v)
    return list(out.values())


def _stack(scaled: list[Scaled]) -> Scaled:
    """Stack per-node scaled matrices along a new leading group axis."""
    return Scaled(
        torch.stack([x.matrix for x in scaled]), torch.stack([x.log_scale for x in scaled])
    )


def _split(nodes: list[Node], batch: Scaled) -> dict[Node, Scaled]:
    """The inverse of :func:`_stack`: one view per node."""
    return dict(zip(nodes, map(Scaled, batch.matrix.unbind(0), batch.log_scale.unbind(0))))


class Store:
    """Scaled matrices of many tree positions, kept as the stacked batches that computed them.

    ``put(positions, batch)`` files a batch (leading axis: one entry per position);
    ``get(positions)`` returns them stacked again: the whole batch, a strided view or one
    ``index_select`` when they come from one batch (the usual case: a level of a regular tree),
    else by concatenating. How to gather each position list is worked out once per tree layout
    and kept in ``memo`` (the sweeps run the same puts and gets in the same order every call).
    """

    def __init__(self, size: int, name: str = "", memo: dict | None = None) -> None:
        self.batches: list[Scaled] = []
        self.where: list[tuple[int, int] | None] = [None] * size
        self.name, self.memo = name, memo

    def put(self, positions: list[int], batch: Scaled) -> None:
        """File ``batch[r]`` as the value at ``positions[r]``."""
        gid = len(self.batches)
        self.batches.append(batch)
        for r, p in enumerate(positions):
            self.where[p] = (gid, r)

    def get(self, positions: list[int]) -> Scaled:
        """The values at ``positions``, stacked (``(len(positions), E, R, R)`` and ``(.., E)``)."""
        if self.memo is None:
            return self._gather(self._plan(positions))
        key = (self.name, tuple(positions))
        plan = self.memo.get(key)
        if plan is None:
            plan = self.memo[key] = self._plan(positions)
        return self._gather(plan)

    def _plan(self, positions: list[int]) -> tuple:
        """``(parts, inverse)``: per source batch ``(gid, selector)``; ``inverse`` reorders the
        concatenated parts (``None`` for a single part)."""
        locs = [self.where[p] for p in positions]
        first = locs[0][0]
        if all(gid == first for gid, _ in locs):  # the usual case: one level's batch
            return [(first, self._selector(first, [r for _, r in locs]))], None
        by_batch: dict[int, tuple[list[int], list[int]]] = {}
        for out, (gid, r) in enumerate(locs):
            rows, outs = by_batch.setdefault(gid, ([], []))
            rows.append(r)
            outs.append(out)
        parts = [(gid, self._selector(gid, rows)) for gid, (rows, _) in by_batch.items()]
        order = [out for _, outs in by_batch.values() for out in outs]
        inverse = torch.empty(len(order), dtype=torch.long)
        inverse[torch.tensor(order)] = torch.arange(len(order))
        return parts, inverse.to(self.batches[first].matrix.device)

    def _selector(self, gid: int, rows: list[int]) -> slice | torch.Tensor | None:
        batch = self.batches[gid]
        if rows == list(range(batch.matrix.shape[0])):
            return None
        n, step = len(rows), (rows[1] - rows[0] if len(rows) > 1 else 1)
        if step > 0 and rows == list(range(rows[0], rows[0] + step * n, step)):
            return slice(rows[0], rows[0] + step * (n - 1) + 1, step)  # a strided view
        return torch.tensor(rows, device=batch.matrix.device)

    def _gather(self, plan: tuple) -> Scaled:
        parts, inverse = plan
        got = []
        for gid, sel in parts:
            batch = self.batches[gid]
            if sel is None:
                got.append(batch)
            elif isinstance(sel, slice):
                got.append(Scaled(batch.matrix[sel], batch.log_scale[sel]))
            else:
                got.append(
                    Scaled(batch.matrix.index_select(0, sel), batch.log_scale.index_select(0, sel))
                )
        if inverse is None:
            return got[0]
        matrix = torch.cat([x.matrix for x in got]).index_select(0, inverse)
        return Scaled(matrix, torch.cat([x.log_scale for x in got]).index_select(0, inverse))

    def one(self, position: int) -> Scaled:
        """The value at one position (a view)."""
        gid, r = self.where[position]
        batch = self.batches[gid]
        return Scaled(batch.matrix[r], batch.log_scale[r])

    def as_dict(self, nodes: tuple[Node, ...]) -> dict[Node, Scaled]:
        """Node -> value (views) for every filed position, in postorder."""
        return {nodes[p]: self.one(p) for p, w in enumerate(self.where) if w is not None}


def sandwich_many(
    matrices: Mapping[Node, torch.Tensor], inner: Mapping[Node, Scaled], *, transpose: bool
) -> dict[Node, Scaled]:
    """:func:`sandwich` of ``matrices[v]`` and ``inner[v]`` for every ``v`` of ``inner``.

    Nodes whose matrices have equal shapes share one batched product.
    """
    out: dict[Node, Scaled] = {}
    for group in group_by(inner, lambda v: tuple(matrices[v].shape)):
        m = torch.stack([matrices[v] for v in group])
        batch = sandwich(m, _stack([inner[v] for v in group]), transpose=transpose)
        out.update(_split(group, batch))
    return out


@dataclass
class Sweeps:
    """All Gramians by tree position (see :class:`~tnreg.schedule.Schedule`), level-batched.

    ``mats[p]`` is the node matrix at position ``p`` (``shapes[p]`` its shape); ``inner``,
    ``projected``, ``context`` and ``outer`` are :class:`Store` s of ``G``, ``P``, ``K`` and
    ``H`` (as in :class:`Gramians`).
    """

    schedule: Schedule
    mats: list[torch.Tensor]
    shapes: list[tuple[int, ...]]
    inner: Store
    projected: Store
    context: Store
    outer: Store
    memo: dict = field(default_factory=dict)

    def cached(self, tag: Any, compute: Callable[[], Any]) -> Any:
        """``compute()`` once per tree layout (schedule, shapes, device): groups and positions."""
        out = self.memo.get(tag)
        if out is None:
            out = self.memo[tag] = compute()
        return out


_LAYOUTS: OrderedDict[tuple, tuple[Schedule, dict]] = OrderedDict()


def _layout_memo(s: Schedule, shapes: list[tuple[int, ...]], device: torch.device) -> dict:
    """The memo shared by every sweep over one layout (the 16 most recent are kept)."""
    key = (id(s), tuple(shapes), str(device))
    hit = _LAYOUTS.get(key)
    if hit is not None and hit[0] is s:  # the schedule is kept alive by the entry
        _LAYOUTS.move_to_end(key)
        return hit[1]
    memo: dict = {}
    _LAYOUTS[key] = (s, memo)
    if len(_LAYOUTS) > 16:
        _LAYOUTS.popitem(last=False)
    return memo


def sweeps(tree: nx.DiGraph, matrices: Mapping[Node, torch.Tensor]) -> Sweeps:
    """Both sweeps, one batched step per tree level and shape (kernel count ~ tree depth)."""
    s = schedule(tree)
    out = _new_sweeps(s, matrices)
    _inner_sweep(out)
    _outer_sweep(out)
    return out


def _new_sweeps(s: Schedule, matrices: Mapping[Node, torch.Tensor]) -> Sweeps:
    mats = [matrices[v] for v in s.postorder]
    shapes = [tuple(m.shape) for m in mats]
    memo = _layout_memo(s, shapes, mats[-1].device)
    stores = (Store(len(mats), name, memo) for name in ("G", "P", "K", "H"))
    return Sweeps(s, mats, shapes, *stores, memo=memo)


def _stack_mats(mats: list[torch.Tensor], positions: list[int]) -> torch.Tensor:
    return torch.stack([mats[p] for p in positions])


def _inner_sweep(w: Sweeps) -> None:
    """Bottom-up by height: ``P`` at the leaves, then ``G_v`` and ``P_v`` level by level."""
    s, mats, shapes = w.schedule, w.mats, w.shapes
    top = len(mats) - 1
    members = mats[top].shape[0]
    for group in w.cached("leaves", lambda: group_by(s.heights_at[0], shapes.__getitem__)):
        m = _stack_mats(mats, group)
        zero = m.new_zeros(len(group), members)
        w.projected.put(group, normalize(m.mT @ m, zero))

    def steps() -> list[tuple[list[int], list[list[int]]]]:
        key = lambda p: (p == top, len(s.children_at[p]), shapes[p])  # noqa: E731
        return [
            (
                group,
                [[s.children_at[p][j] for p in group] for j in range(len(s.children_at[group[0]]))],
            )
            for level in s.heights_at[1:]
            for group in group_by(level, key)
        ]

    for group, kids in w.cached("inner", steps):
        g = None
        for positions in kids:
            g = _hadamard(g, w.projected.get(positions))
        assert g is not None
        w.inner.put(group, g)
        if group[0] != top:
            w.projected.put(group, sandwich(_stack_mats(mats, group), g, transpose=True))


def _outer_sweep(w: Sweeps) -> None:
    """Top-down by depth: ``K_c`` for every child, ``H_c`` for interior children."""
    s, mats, shapes = w.schedule, w.mats, w.shapes
    top = len(mats) - 1
    m = mats[top][None]
    w.outer.put([top], normalize(m @ m.mT, m.new_zeros(1, m.shape[1])))

    def steps() -> list[tuple[str, list[int], list[list[int]]]]:
        out: list[tuple[str, list[int], list[list[int]]]] = []
        key = lambda p: (len(s.children_at[p]), shapes[s.children_at[p][0]][-1])  # noqa: E731
        for level in s.depths_at:
            interior = [p for p in level if s.children_at[p]]
            for group in group_by(interior, key):
                k = len(s.children_at[group[0]])
                out.append(("K", group, [[s.children_at[p][j] for p in group] for j in range(k)]))
            below = [c for p in interior for c in s.children_at[p] if s.children_at[c]]
            out += [("H", group, []) for group in group_by(below, shapes.__getitem__)]
        return out

    for kind, group, kids in w.cached("outer", steps):
        if kind == "K":
            _contexts(w, group, kids)
        else:
            k = w.context.get(group)
            w.outer.put(group, sandwich(_stack_mats(mats, group), k, transpose=False))


def _contexts(w: Sweeps, group: list[int], kids: list[list[int]]) -> None:
    """``K_c`` for every child c of a group of nodes with equal child counts and widths;
    ``kids[j]``: the positions of the j-th children."""
    parts = [w.projected.get(positions) for positions in kids]
    h = w.outer.get(group)
    # prefix[i] = ∘_{j<i} P_j and suffix = ∘_{j>=i} P_j, so K_c never divides
    prefix: list[Scaled | None] = [None]
    for part in parts[:-1]:
        prefix.append(_hadamard(prefix[-1], part))
    suffix: Scaled | None = None
    for i in range(len(kids) - 1, -1, -1):
        ctx = _hadamard(h, _hadamard(prefix[i], suffix))
        assert ctx is not None
        w.context.put(kids[i], ctx)
        suffix = _hadamard(parts[i], suffix)


def _inner_only(tree: nx.DiGraph, matrices: Mapping[Node, torch.Tensor]) -> Sweeps:
    w = _new_sweeps(schedule(tree), matrices)
    _inner_sweep(w)
    return w


def gramians(tree: nx.DiGraph, matrices: Mapping[Node, torch.Tensor]) -> Gramians:
    """Compute all inner, projected, context and outer Gramians (scaled), batched over E.

    Differentiable (no ``torch.no_grad`` inside). Cost O(Σ_ν R_ν³) plus O(Σ_n d_n R²) at the
    leaves. ``matrices`` must fit the tree (see :func:`tnreg.analysis.resolve.validate_matrices`).

    Examples
    --------
    >>> from tnreg.trees import star
    >>> mats = {m: torch.ones(1, 2, 1, dtype=torch.float64) for m in range(3)}
    >>> mats[(0, 1, 2)] = torch.ones(1, 1, 1, dtype=torch.float64)
    >>> g = gramians(star(3), mats)
    >>> round(g.inner[(0, 1, 2)].value().item(), 9)  # ||w||^6 for w = (1, 1)
    8.0
    """
    w = sweeps(tree, matrices)
    nodes = w.schedule.postorder
    return Gramians(
        inner=w.inner.as_dict(nodes),
        projected=w.projected.as_dict(nodes),
        context=w.context.as_dict(nodes),
        outer=w.outer.as_dict(nodes),
    )


def inner_gramians(tree: nx.DiGraph, matrices: Mapping[Node, torch.Tensor]) -> dict[Node, Scaled]:
    """Inner Gramians ``G_ν`` of every interior node (``G_leaf = I`` is not stored)."""
    return _inner_only(tree, matrices).inner.as_dict(schedule(tree).postorder)


def outer_gramians(tree: nx.DiGraph, matrices: Mapping[Node, torch.Tensor]) -> dict[Node, Scaled]:
    """Outer Gramians ``H_ν`` of every node, leaves included (``d_n × d_n`` there).

    Examples
    --------
    >>> from tnreg.trees import balanced
    >>> mats = {0: torch.eye(2)[None], 1: 2 * torch.eye(2)[None], (0, 1): torch.ones(1, 2, 1)}
    >>> outer_gramians(balanced(2), mats)[0].value()  # [W]_0 = diag(2, 2)
    tensor([[[4., 0.],
             [0., 4.]]])
    """
    g = gramians(tree, matrices)
    leaves = {c: k for c, k in g.context.items() if not children(tree, c)}
    return {**g.outer, **sandwich_many(matrices, leaves, transpose=False)}


def log_frobenius_norm(tree: nx.DiGraph, matrices: Mapping[Node, torch.Tensor]) -> torch.Tensor:
    """``log ||W||`` per ensemble member, ``(E,)``, without densifying (finite at any order).

    ``-inf`` for a zero tensor. Differentiable.

    Examples
    --------
    >>> from tnreg.trees import star
    >>> mats = {m: torch.full((1, 2, 1), 0.5) for m in range(3)}
    >>> mats[(0, 1, 2)] = torch.ones(1, 1, 1)
    >>> log_frobenius_norm(star(3), mats).exp()  # ||w||^3 with ||w|| = sqrt(0.5)
    tensor([0.3536])
    """
    quad, log_scale = _norm_sq_parts(tree, matrices)
    return 0.5 * (torch.log(quad) + log_scale)


def frobenius_norm_sq(tree: nx.DiGraph, matrices: Mapping[Node, torch.Tensor]) -> torch.Tensor:
    """``||W||² = M_root^T G_root M_root`` per ensemble member, ``(E,)``, without densifying.

    May overflow to ``inf`` (or underflow to 0) at high order where :func:`log_frobenius_norm`
    stays finite. Differentiable.

    Examples
    --------
    >>> from tnreg.trees import balanced
    >>> mats = {0: torch.eye(2)[None], 1: 2 * torch.eye(2)[None], (0, 1): torch.ones(1, 2, 1)}
    >>> frobenius_norm_sq(balanced(2), mats)  # W = diag(2, 2)
    tensor([8.])
    """
    quad, log_scale = _norm_sq_parts(tree, matrices)
    return quad * torch.exp(log_scale)


def _norm_sq_parts(
    tree: nx.DiGraph, matrices: Mapping[Node, torch.Tensor]
) -> tuple[torch.Tensor, torch.Tensor]:
    w = _inner_only(tree, matrices)
    top = len(w.mats) - 1
    g = w.inner.one(top)
    m = w.mats[top]
    return (m.mT @ g.matrix @ m)[:, 0, 0].clamp_min(0), g.log_scale
