"""Hierarchical tensor factorization (product pooling) on any mode tree, and its special cases.

Vocabulary
----------
node matrix M_v
    One per node of the mode tree: leaf n: (d_n, R_Pa(n)); interior non-root v: (R_v, R_Pa(v));
    root: (R_root, 1), the linear output layer (trainable, or fixed to ones as in the CP paper).
    With depth L the node matrix is a product of L trainable matrices (deep variants).
end tensor
    T^{leaf n} = M_n; T^v[..., r] = sum_r' M_v[r', r] * prod_{c in C(v)} T^c[..., r'];
    W = T^root[..., 0] (Razin, Maman & Cohen 2022).
width R_v
    The number of channels at an interior node (for CP, the number of components).

Every tensor carries a leading ensemble axis of size E (E = 1 for a single model); see
:mod:`tnreg.models.base`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import networkx as nx
import torch
from torch import nn

from tnreg import trees
from tnreg.components import local_vectors
from tnreg.models import base
from tnreg.models.engine import IndexSchedule, evaluate_pooling, schedule_evaluation
from tnreg.models.engine.members import channel_product, member_matmul
from tnreg.typing import Node

__all__ = ["CP", "HierarchicalTensorFactorization", "deep_matrix_factorization"]

OUTPUTS = ("trainable", "ones")


def resolve_widths(tree: nx.DiGraph, widths) -> dict[Node, int]:
    """Width of every interior node from an int, a per-level list (root first) or a dict."""
    interior = [v for v in trees.postorder(tree) if tree.out_degree(v)]
    if isinstance(widths, int) and not isinstance(widths, bool):
        out = dict.fromkeys(interior, widths)
    elif isinstance(widths, Mapping):
        missing = [v for v in interior if v not in widths]
        extra = [v for v in widths if v not in interior]
        if missing or extra:
            raise ValueError(
                f"widths must give one width per interior node; missing {missing!r}, "
                f"not interior nodes {extra!r}"
            )
        out = {v: widths[v] for v in interior}
    elif isinstance(widths, Sequence) and not isinstance(widths, str):
        every = trees.depths(tree)
        levels = {v: every[v] for v in interior}
        need = max(levels.values()) + 1
        if len(widths) != need:
            raise ValueError(
                f"a per-level widths list needs {need} entries (root level first) for this "
                f"tree of interior depth {need - 1}; got {len(widths)}: {list(widths)!r}"
            )
        out = {v: widths[levels[v]] for v in interior}
    else:
        raise TypeError(
            f"widths must be an int, a per-level list or a dict by node; got {widths!r}"
        )
    for v, w in out.items():
        if isinstance(w, bool) or not isinstance(w, int) or w < 1:
            raise ValueError(f"width of node {v!r} must be a positive int; got {w!r}")
    return out


def _resolve_depth(tree: nx.DiGraph, depth, nodes: list[Node]) -> dict[Node, int]:
    """Matrices per trained node (``nodes``) from an int or a dict by node."""
    given = depth if isinstance(depth, Mapping) else dict.fromkeys(nodes, depth)
    unknown = [v for v in given if v not in tree]
    if unknown:
        raise ValueError(f"depth given for nodes not in the tree: {unknown!r}")
    fixed = [v for v in given if v not in nodes]
    if fixed:
        raise ValueError(
            f"depth given for the root {fixed[0]!r}, whose output layer is fixed to ones "
            f"(output='ones') and not trained; drop it from depth, or build the model with "
            f"output='trainable' to train a deep output layer"
        )
    out = {v: given.get(v, 1) for v in nodes}
    for v, d in out.items():
        if isinstance(d, bool) or not isinstance(d, int) or d < 1:
            raise ValueError(f"depth must be an int >= 1 (matrices per node); node {v!r}: {d!r}")
    return out


class HierarchicalTensorFactorization(base.Factorization):
    """Product-pooling tensor factorization on a mode tree (HTF; CP on the star tree).

    Parameters
    ----------
    tree
        The mode tree (order >= 2), e.g. :func:`tnreg.trees.balanced`.
    dims
        Mode sizes: one int for all modes or one per mode.
    widths
        Channels per interior node: an int, a per-level list (root level first) or a dict.
    depth
        Matrices per node matrix (deep variants): an int or a dict by node (default 1).
    output
        ``"trainable"`` (a learned (R_root, 1) output layer) or ``"ones"`` (fixed, plain CP).
    ensemble
        ``None`` for one model, or K for K independent members in one contraction.
    init_std
        Std of the Gaussian init of every trainable matrix (one value or one per member).
    init_mean
        Mean of that Gaussian init (default 0; one value or one per member). At high order a
        zero-mean init makes every entry a product of many small numbers; Razin et al. (2021)
        fit order-784 images from ``init_mean=1, init_std=1e-3``.
    seed
        Seed of member 0 (member k uses ``seed + k``) or one seed per member.
    balanced
        Rescale each local component's vectors to equal norms after init (end tensor kept).
    target_norm
        Rescale the end tensor to this Frobenius norm after init (without densifying).
    dtype, device
        Of the parameters.

    Examples
    --------
    >>> model = HierarchicalTensorFactorization(trees.balanced(4), 3, 5, seed=0)
    >>> model(torch.tensor([[0, 1, 2, 0], [2, 2, 2, 2]])).shape
    torch.Size([2])
    """

    def __init__(
        self,
        tree: nx.DiGraph,
        dims: int | Sequence[int],
        widths: int | Sequence[int] | Mapping[Node, int],
        *,
        depth: int | Mapping[Node, int] = 1,
        output: str = "trainable",
        ensemble: int | None = None,
        init_std: float | Sequence[float] = 1e-2,
        init_mean: float | Sequence[float] = 0.0,
        seed: int | Sequence[int] | None = None,
        balanced: bool = False,
        target_norm: float | Sequence[float] | None = None,
        dtype: torch.dtype = torch.float32,
        device: torch.device | str | None = None,
    ) -> None:
        super().__init__()
        self.tree = trees.from_digraph(tree)
        top = trees.root(self.tree)
        if self.tree.out_degree(top) == 0:
            raise ValueError("a factorization needs a tree of order >= 2; got a single mode")
        if output not in OUTPUTS:
            raise ValueError(f"unknown output={output!r}; valid options: {list(OUTPUTS)}")
        stds, means, seeds = self._setup(
            trees.order(self.tree),
            dims,
            ensemble=ensemble,
            init_std=init_std,
            init_mean=init_mean,
            seed=seed,
            dtype=dtype,
            device=device,
        )
        if target_norm is not None:
            base.member_values(target_norm, self.members, "target_norm")
        self.widths = resolve_widths(self.tree, widths)
        self.output = output
        nodes = trees.postorder(self.tree)
        self._root = top
        self._pooling = [
            (v, list(self.tree.successors(v))) for v in nodes if self.tree.out_degree(v)
        ]
        self._trained = [v for v in nodes if v != top or output == "trainable"]
        self.depth = _resolve_depth(self.tree, depth, self._trained)
        self._slots: dict[Node, list[int]] = {}
        shapes = []
        for v in self._trained:
            rows, cols = self.node_shape(v)
            self._slots[v] = list(range(len(shapes), len(shapes) + self.depth[v]))
            shapes += [(rows, cols)] + [(cols, cols)] * (self.depth[v] - 1)
        self.params = nn.ParameterList(
            base.gaussian_parameters(
                shapes, stds, seeds, means=means, dtype=self._dtype, device=self._device
            )
        )
        width = self.widths[top]
        self.register_buffer(
            "_ones", torch.ones(self.members, width, 1, dtype=self._dtype, device=self._device)
        )
        self._index_schedule: IndexSchedule | None = None
        if balanced:
            self.balance_()
        if target_norm is not None:
            self.rescale_(target_norm)

    # ------------------------------------------------------------------ structure

    def node_shape(self, node: Node) -> tuple[int, int]:
        """(rows, cols) of the node matrix M_node."""
        if node == self._root:
            return self.widths[node], 1
        up = self.widths[trees.parent(self.tree, node)]
        if self.tree.out_degree(node) == 0:
            return self.dims[self.tree.nodes[node]["mode"]], up
        return self.widths[node], up

    @property
    def network(self):
        """The tensor network of the end tensor: one tensor per node matrix, open modes 0..N-1.

        Leaf n's tensor has indices (n, ("r", parent)); interior v: (("r", v), ("r", parent));
        the root's output layer is a vector on ("r", root).
        """
        from tnreg.network import TensorNetwork

        net = TensorNetwork()
        for v, label in self.tensor_names().items():
            net.add_tensor(label, self._indices(v), self._sizes(v))
        net.set_output(tuple(range(self.order)))
        return net

    def tensor_names(self) -> dict[Node, Node]:
        """Network tensor name of each node (the node label itself)."""
        return {v: v for v in trees.postorder(self.tree)}

    def _indices(self, v: Node) -> tuple:
        if v == self._root:
            return (("r", v),)
        up = ("r", trees.parent(self.tree, v))
        return (self.tree.nodes[v]["mode"], up) if self.tree.out_degree(v) == 0 else (("r", v), up)

    def _sizes(self, v: Node) -> dict:
        rows, cols = self.node_shape(v)
        return dict(zip(self._indices(v), (rows, cols)))

    # ------------------------------------------------------------------ parameters

    def layers(self) -> dict[Node, list[torch.Tensor]]:
        """The trainable matrices of each node, (E, a, b) each; M_v is their product."""
        params = list(self.params)  # one pass: ParameterList indexing is slow at order 1024
        return {v: [params[i] for i in slots] for v, slots in self._slots.items()}

    def load_matrices_(
        self, values: Mapping[Node, torch.Tensor | Sequence[torch.Tensor]]
    ) -> HierarchicalTensorFactorization:
        """Copy given node matrices into the parameters (in place, under ``no_grad``).

        ``values`` maps a node to its matrix ``(rows, cols)`` (every member gets it) or
        ``(E, rows, cols)``; a deep node takes a list of its ``depth`` layers. Nodes not given
        keep their values. Everything is checked before anything is copied. The inverse of
        ``{v: m.detach() for v, m in model.layers().items()}``; for a full state round trip use
        ``state_dict()`` / ``load_state_dict()``.

        Examples
        --------
        >>> model = CP(2, 2, rank=1, seed=0)
        >>> _ = model.load_matrices_({0: torch.ones(2, 1), 1: torch.ones(2, 1)})
        >>> model.to_dense().detach()
        tensor([[1., 1.],
                [1., 1.]])
        """
        if self.output == "ones" and isinstance(values, Mapping) and self._root in values:
            raise ValueError(
                f"the root {self._root!r} output is fixed to ones (output='ones') and cannot be "
                f"loaded; build the model with output='trainable' to learn it"
            )
        self._load(self.layers(), values, "matrices")
        self._index_schedule = None
        return self

    def matrices(self) -> dict[Node, torch.Tensor]:
        """The node matrices M_v, (E, rows, cols) each, in postorder (root last)."""
        out = {v: _chain_product(chain) for v, chain in self.layers().items()}
        if self.output == "ones":
            out[self._root] = self._ones
        return out

    def tensors(self) -> dict[Node, torch.Tensor]:
        """Tensors of :attr:`network` with a leading ensemble axis (root output squeezed)."""
        mats = self.matrices()
        mats[self._root] = mats[self._root][..., 0]
        return mats

    # ------------------------------------------------------------------ evaluation

    def forward(self, indices: torch.Tensor | IndexSchedule) -> torch.Tensor:
        """Entries of the end tensor at a (B, N) batch of multi-indices (or its schedule).

        Each distinct sub-tuple of indices at each node is evaluated once (memoization); the
        batch's index schedule is computed on first use and reused while the same batch comes
        back (full-batch training). Returns shape (B,), or (E, B) for an ensemble.
        """
        if isinstance(indices, IndexSchedule):
            schedule = indices
        else:
            schedule = self.schedule_indices(indices)
        mats = self.matrices()
        leaves = {v: mats[v].transpose(0, 1) for v in self.tree if self.tree.out_degree(v) == 0}
        top = evaluate_pooling(
            self._pooling, mats, leaves, schedule, weighted=self.output != "ones"
        )
        if schedule.outer is not None:  # the matrix-product finish gathered the samples: (E, B)
            return self._finish(top)
        return self._finish(top.index_select(0, schedule.output)[..., 0].T)

    def schedule_indices(self, indices: torch.Tensor) -> IndexSchedule:
        """Validate a batch of multi-indices and schedule its evaluation (cached).

        The index schedule (:func:`tnreg.models.engine.schedule_evaluation`) picks, per node,
        the merge order and kind (memoized pairs or Khatri-Rao outer products) and the root's
        finish from the batch's distinct sub-tuple counts; ``cost_report()`` shows it.
        """
        cached = self._index_schedule
        if cached is not None and cached.matches(indices):
            return cached
        checked = base.check_indices(indices, self.dims, device=self._ones.device)
        self._index_schedule = schedule_evaluation(
            self.tree, self._pooling, checked, self.dims, self.widths, members=self.members
        )
        return self._index_schedule

    def forward_sensing(self, vectors: Sequence[torch.Tensor] | torch.Tensor) -> torch.Tensor:
        """<W, x_0 ⊗ ... ⊗ x_{N-1}> for a batch of rank-one measurements.

        ``vectors`` is one (B, d_n) tensor per mode, or a (B, N, d) tensor when all modes have
        size d. Returns shape (B,), or (E, B) for an ensemble.
        """
        xs = base.check_vectors(vectors, self.dims, like=self._ones)
        mats = self.matrices()
        leaf_values = {  # (B, E, R): one GEMM per member, as for a single model
            v: channel_product(
                xs[self.tree.nodes[v]["mode"]].unsqueeze(1).expand(-1, self.members, -1), mats[v]
            )
            for v in self.tree
            if self.tree.out_degree(v) == 0
        }
        top = evaluate_pooling(
            self._pooling, mats, leaf_values, None, weighted=self.output != "ones"
        )
        return self._finish(top[..., 0].T)

    def to_dense(self, *, max_entries: int = base.DEFAULT_MAX_DENSE) -> torch.Tensor:
        """The whole end tensor, shape dims (or (E, *dims)); refuses above ``max_entries``."""
        base.check_dense_size((self.members, *self.dims), max_entries)
        from tnreg.contract import plan

        net = self.network
        inputs = tuple(("ensemble", *net.tensors[v]) for v in net.tensors)
        sizes = {**net.size_dict, "ensemble": self.members}
        expr = plan((inputs, ("ensemble", *net.output), sizes))
        tensors = self.tensors()
        return self._finish(expr(*(tensors[v] for v in net.tensors)))

    # ------------------------------------------------------------------ in-place rescaling

    @torch.no_grad()
    def rescale_(self, target_norm: float | Sequence[float]) -> HierarchicalTensorFactorization:
        """Scale every trainable matrix so the end tensor has Frobenius norm ``target_norm``.

        The end tensor is homogeneous of degree P = :attr:`num_matrices`, so each matrix is
        scaled by (target / current)^(1/P). Computed from Gramians, never densified.
        """
        from tnreg.gramians import log_frobenius_norm

        target = torch.tensor(
            base.member_values(target_norm, self.members, "target_norm"),
            dtype=self._ones.dtype,
            device=self._ones.device,
        )
        mats = self.matrices()
        finite = torch.stack([torch.isfinite(m).all() for m in mats.values()]).tolist()
        if not all(finite):
            bad = [v for v, ok in zip(mats, finite) if not ok]
            raise ValueError(
                f"cannot rescale: the node matrices of {bad[:5]!r} have non-finite entries "
                f"(NaN or Inf); reinitialize or load finite parameters"
            )
        current = log_frobenius_norm(self.tree, mats)  # finite at any order
        if not bool(torch.isfinite(current).all()):
            raise ValueError("cannot rescale a zero end tensor to a nonzero norm")
        factor = ((target.log() - current) / self.num_matrices).exp()
        for p in self.params:
            p.mul_(factor.view(-1, 1, 1))
        return self

    @torch.no_grad()
    def balance_(self, *, sweeps: int = 200, tol: float = 1e-10) -> HierarchicalTensorFactorization:
        """Equalize the norms of each local component's vectors; the end tensor is unchanged.

        Local component (v, r) has vectors M_v[r, :] and M_c[:, r] for the children c of v
        (rows of the root are left out when the output is fixed to ones). Each sweep rescales
        every component's vectors to their geometric mean norm (product of scales 1); sweeps
        repeat until the largest log-norm spread is below ``tol``.
        """
        vectors = local_vectors(self.tree, self.layers())
        for _ in range(sweeps):
            spread = max(_balance_node(vecs) for vecs in vectors.values())
            if spread < tol:
                break
        return self

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.extra_repr()})"

    def extra_repr(self) -> str:
        widths = _compact(self.widths.values())
        return (
            f"order={self.order}, dims={self.dims}, widths={widths}, "
            f"depth={_compact(self.depth.values())}, output={self.output!r}, "
            f"ensemble={self.ensemble}, matrices={self.num_matrices}"
        )


def _chain_product(chain: list[torch.Tensor]) -> torch.Tensor:
    """``A_1 @ ... @ A_L`` of (E, ·, ·) layers, one GEMM per member (a member's node matrix
    is bit for bit the single model's, see :mod:`tnreg.models.engine.members`)."""
    m = chain[0]
    for nxt in chain[1:]:
        m = member_matmul(m, nxt)
    return m


def _balance_node(vecs: list[torch.Tensor]) -> float:
    """Rescale one node's local-component vectors (views) to their geometric mean norm."""
    logs = torch.stack([v.norm(dim=-1).log() for v in vecs])  # (K, E, R)
    ok = torch.isfinite(logs).all(0)
    shift = torch.where(ok, logs.mean(0) - logs, torch.zeros_like(logs))
    for v, s in zip(vecs, shift.exp()):
        v.mul_(s.unsqueeze(-1))
    return float(shift.abs().max())


def _compact(values):
    """One value if all agree, else the sorted distinct values."""
    distinct = sorted(set(values))
    return distinct[0] if len(distinct) == 1 else distinct


class CP(HierarchicalTensorFactorization):
    """CP factorization W = sum_r prod_n w_r^n: the star mode tree.

    ``weighted=False`` (default) fixes the output to ones as in Razin et al. (2021): each
    component has N factor vectors. ``weighted=True`` learns a weight per component (N + 1
    factors, which changes the dynamics: K = N + 1).

    Examples
    --------
    >>> CP(3, 4, rank=2, seed=0)  # doctest: +ELLIPSIS
    CP(order=3, dims=(4, 4, 4), rank=2, factors per component=3 (output fixed to ones), ...)
    """

    def __init__(
        self,
        order: int,
        dims: int | Sequence[int],
        rank: int,
        *,
        weighted: bool = False,
        **kwargs,
    ) -> None:
        if isinstance(rank, bool) or not isinstance(rank, int):
            raise TypeError(
                f"CP rank must be a positive int (the number of components); got "
                f"{type(rank).__name__} {rank!r}"
            )
        if rank < 1:
            raise ValueError(
                f"CP rank must be a positive int (the number of components); got {rank!r}"
            )
        super().__init__(
            trees.star(order), dims, rank, output="trainable" if weighted else "ones", **kwargs
        )

    @property
    def rank(self) -> int:
        """Number of components R."""
        return self.widths[self._root]

    def __repr__(self) -> str:
        k = self.order + (self.output == "trainable")
        how = "trainable weights" if self.output == "trainable" else "output fixed to ones"
        return (
            f"CP(order={self.order}, dims={self.dims}, rank={self.rank}, factors per "
            f"component={k} ({how}), depth={_compact(self.depth.values())}, "
            f"ensemble={self.ensemble})"
        )


def deep_matrix_factorization(
    rows: int, cols: int, width: int, depth: int, **kwargs
) -> HierarchicalTensorFactorization:
    """W = A_1 ... A_{L-1} B^T: an order-2 factorization whose node 0 is a product of L-1.

    ``depth`` >= 2 counts all matrices L (the usual deep matrix factorization); the hidden
    width is ``width``. Keyword arguments go to :class:`HierarchicalTensorFactorization`.
    """
    if isinstance(depth, bool) or not isinstance(depth, int) or depth < 2:
        raise ValueError(f"deep matrix factorization needs depth >= 2 matrices; got {depth!r}")
    return HierarchicalTensorFactorization(
        trees.star(2), (rows, cols), width, depth={0: depth - 1, 1: 1}, output="ones", **kwargs
    )
