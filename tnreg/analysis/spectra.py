"""Singular values of matricizations, from factors (never densified) or densely (the oracle).

Vocabulary
----------
mode set I(ν)
    The modes under a node ν of the mode tree; for a network, any subset I of its open indices.
matricization [W]_I
    The end tensor W with the modes of I on the rows, the other modes on the columns.
node spectrum
    The singular values of [W]_{I(ν)}, descending, ``k = min(width of ν, Π_{n∈I} d_n,
    Π_{n∉I} d_n)`` of them (the width is ``R_ν``, ``d_n`` at a leaf).
Gramian
    For a split ``[W]_I = A B^T`` through ``r`` columns, ``G_A = A^T A`` and ``G_B = B^T B``
    (r × r); the nonzero squared singular values are the eigenvalues of
    ``G_A^{1/2} G_B G_A^{1/2}``.

Tree factorizations (:func:`node_spectra`) use the inner/outer Gramians of
:mod:`tnreg.analysis.gramians`: O(Σ R³), any order (1024 and beyond). General networks
(:func:`matricization_spectrum`) are split along the min cut of
:meth:`tnreg.network.TensorNetwork.min_cut`, for any mode subset.

Accuracy: the Gramian route squares the singular values, so a singular value σ carries an
absolute error of about ``eps·σ_max²/σ`` (float64: below 1e-12·σ_max for σ ≥ 1e-4·σ_max) and
exact zeros come out as at most ``sqrt(eps)·σ_max`` (about 1.5e-8·σ_max in float64, 3e-4 in
float32); count ranks with a tolerance above that. Structural zeros that the node's parent width
proves (``R_Pa < k``) are returned as exact zeros.
"""

from __future__ import annotations

import math
from collections.abc import Hashable, Iterable, Iterator, Mapping, Sequence
from typing import Any, NamedTuple

import networkx as nx
import torch

from tnreg import gcpause
from tnreg.analysis.resolve import AnalysisError, Resolved, check_dtype, check_finite, resolve
from tnreg.contract import contract
from tnreg.einsum import to_equation
from tnreg.gramians import Sweeps, group_by, normalize, sandwich, sweeps
from tnreg.network import TensorNetwork
from tnreg.schedule import schedule
from tnreg.typing import Index, Node

__all__ = [
    "AnalysisError",
    "ScaledSpectrum",
    "dense_spectrum",
    "matricization_spectrum",
    "node_scaled_spectra",
    "node_spectra",
    "scaled_spectrum_batches",
]

DENSE_LIMIT = 2**24
AUTO_DENSE = 2**20
_METHODS = ("auto", "gram", "dense")


class ScaledSpectrum(NamedTuple):
    """Singular values as ``relative * exp(log_max)`` (finite at any order).

    Attributes
    ----------
    relative
        ``(E, k)`` σ/σ_max, descending, in [0, 1] (all zeros for a zero matricization).
    log_max
        ``(E,)`` log σ_max (``-inf`` for a zero matricization).
    """

    relative: torch.Tensor
    log_max: torch.Tensor


# --------------------------------------------------------------------------- tree factorizations


def _resolve(tree: Any, matrices: Mapping[Node, torch.Tensor] | None) -> tuple[nx.DiGraph, Mapping]:
    if matrices is not None:
        return tree, matrices
    if isinstance(tree, nx.DiGraph) or not hasattr(tree, "matrices"):
        raise AnalysisError(
            f"pass (tree, matrices) or a model with .tree and .matrices(); got "
            f"{type(tree).__name__} and matrices=None"
        )
    return tree.tree, tree.matrices()


def _targets(tree: nx.DiGraph, nodes: Iterable[Node] | None) -> list[Node]:
    s = schedule(tree)
    top = s.root
    if nodes is None:
        return list(s.postorder[:-1])
    nodes = list(nodes)
    for v in nodes:
        if v not in tree:
            raise AnalysisError(f"unknown node {v!r}; the tree's nodes are {list(tree)!r}")
        if v == top:
            raise AnalysisError(
                f"node {v!r} is the root: [W] over all modes has the single singular value "
                f"||W|| (see frobenius_norm_sq); pass non-root nodes"
            )
    return nodes


def _spectrum_batches(w: Sweeps, targets: list[int], ks: list[int]):
    """Yield ``(positions, A or None, B, log_scale, k)``, one batch per kind and shape.

    σ² = exp(log_scale)·eig(A^{1/2} B A^{1/2}), or eig(B) at a leaf (G = I, so σ² = eig(H_c)
    with H_c = M K M^T). A node wider than its parent uses the R_Pa-sized form (P_c, K_c).
    """
    s, mats, shapes = w.schedule, w.mats, w.shapes

    def kind(c: int) -> str:
        if shapes[c][1] > shapes[s.parent_at[c]][1]:
            return "wide"
        return "interior" if s.children_at[c] else "leaf"

    def groups() -> list[list[int]]:
        return group_by(targets, lambda c: (kind(c), shapes[c], ks[c]))

    for group in w.cached(("spectra", tuple(targets)), groups):
        how, k = kind(group[0]), ks[group[0]]
        if how == "wide":
            a, b = w.projected.get(group), w.context.get(group)
        elif how == "interior":
            a, b = w.inner.get(group), w.outer.get(group)
        else:
            m = torch.stack([mats[c] for c in group])
            yield group, None, *sandwich(m, w.context.get(group), transpose=False), k
            continue
        yield group, a.matrix, b.matrix, a.log_scale + b.log_scale, k


def _pair_eigvals(a: torch.Tensor | None, b: torch.Tensor) -> torch.Tensor:
    """Descending eigenvalues of ``a^{1/2} b a^{1/2}`` (of ``b`` if ``a`` is None), >= 0."""
    if a is not None:
        lam, q = torch.linalg.eigh(a)
        s = lam.clamp_min(0).sqrt()
        b = s[..., :, None] * (q.mT @ b @ q) * s[..., None, :]
    mu = torch.linalg.eigvalsh((b + b.mT) / 2)
    return mu.flip(-1).clamp_min(0)


def _to_scaled(sq: torch.Tensor, log_scale: torch.Tensor, k: int) -> ScaledSpectrum:
    """Squared normalized values (E, m) and their log scale -> top-k ScaledSpectrum."""
    sigma = sq.sqrt()
    if sigma.shape[-1] >= k:
        sigma = sigma[..., :k]
    else:  # zeros proven by the parent's width
        sigma = torch.cat([sigma, sigma.new_zeros(*sigma.shape[:-1], k - sigma.shape[-1])], -1)
    top = sigma[..., 0]
    log_max = torch.log(top) + 0.5 * log_scale
    relative = sigma / torch.where(top > 0, top, torch.ones_like(top))[..., None]
    return ScaledSpectrum(relative, log_max)


def node_scaled_spectra(
    source: Any,
    matrices: Mapping[Node, torch.Tensor] | None = None,
    *,
    nodes: Iterable[Node] | None = None,
    differentiable: bool = False,
    dtype: torch.dtype | None = torch.float64,
) -> dict[Node, ScaledSpectrum]:
    """Node spectra as :class:`ScaledSpectrum` (σ/σ_max and log σ_max): finite at any order.

    Same parameters as :func:`node_spectra`, which is ``relative * exp(log_max)``.

    Examples
    --------
    >>> from tnreg.trees import star
    >>> mats = {m: torch.ones(1, 2, 1) for m in range(40)}
    >>> mats[tuple(range(40))] = torch.ones(1, 1, 1)
    >>> s = node_scaled_spectra(star(40), mats, nodes=[0])[0]  # σ_max = 2**20
    >>> s.relative, round(s.log_max.item() / math.log(2), 4)
    (tensor([[1., 0.]], dtype=torch.float64), 20.0)
    """
    with gcpause.paused(), torch.set_grad_enabled(differentiable and torch.is_grad_enabled()):
        r = resolve(source, matrices, dtype=dtype, where="node spectra")
        return scaled_spectra_of(r, nodes)


def scaled_spectra_of(r: Resolved, nodes: Iterable[Node] | None) -> dict[Node, ScaledSpectrum]:
    """Node spectra of already resolved inputs (the report reuses one :func:`resolve`).

    Level-batched: the Gramians take one batched step per tree level and shape
    (:func:`tnreg.gramians.sweeps`), and nodes whose eigenproblems have equal kind and shape
    share one batched eigensolve, so the kernel count grows with the depth, not the node count.
    """
    targets = _targets(r.tree, nodes)
    out: dict[Node, ScaledSpectrum] = {}
    for group, batch in scaled_spectrum_batches(r, targets):
        pieces = zip(batch.relative.unbind(0), batch.log_max.unbind(0), strict=True)
        out.update(zip(group, (ScaledSpectrum(*p) for p in pieces), strict=True))
    return {c: out[c] for c in targets}


def scaled_spectrum_batches(
    r: Resolved, targets: list[Node]
) -> Iterator[tuple[list[Node], ScaledSpectrum]]:
    """``(nodes, spectra)`` batches covering ``targets``: spectra stacked on a leading axis.

    Product-pooling models give one batch per eigenproblem kind and shape (per-node work stays
    out of the tensor code); dense-core formats one per node. The rank report
    (:mod:`tnreg.analysis.report`) reads its spectra batch by batch through this.

    Parameters
    ----------
    r
        A resolved model or (tree, matrices) pair (:func:`tnreg.analysis.resolve.resolve`).
    targets
        The nodes whose spectra to compute.
    """
    if not r.is_product_pooling:
        sweep = _network_sweep(r)
        for c in targets:
            s = _network_scaled(r, c, sweep)
            yield [c], ScaledSpectrum(s.relative[None], s.log_max[None])
        return
    w = sweeps(r.tree, r.matrices)
    index, nodes = w.schedule.index, w.schedule.postorder
    ks = w.cached("lengths", lambda: _spectrum_lengths(w))
    for group, a, b, log_scale, k in _spectrum_batches(w, [index[c] for c in targets], ks):
        yield [nodes[p] for p in group], _to_scaled(_pair_eigvals(a, b), log_scale, k)


def _network_scaled(r: Resolved, node: Node, sweep: Any = None) -> ScaledSpectrum:
    """A dense-core format's node spectrum: dense SVD when small, else the linear-time sweep of
    a tree tensor network (:mod:`tnreg.analysis.tree_networks`), else the min cut."""
    from tnreg.trees import modes_under

    if sweep is not None:
        key, n_rows, mode = sweep.keys[node]
        found = sweep.scaled(key, n_rows, mode)
        if found is not None:
            return ScaledSpectrum(*found)
    net = r.model.network
    sigma = _matricization(net, r.tensors, list(modes_under(r.tree, node)), "auto", DENSE_LIMIT)
    top = sigma[..., 0] if sigma.shape[-1] else sigma.new_zeros(sigma.shape[0])
    safe = torch.where(top > 0, top, torch.ones_like(top))
    return ScaledSpectrum(sigma / safe[..., None], torch.log(top))


def _network_sweep(r: Resolved) -> Any:
    """The Gram messages of a large tree tensor network, or None (small or not a tree)."""
    from tnreg.analysis.tree_networks import TreeNetworkSweep, is_tree_network

    net = r.model.network
    sizes = net.size_dict  # a copy per access: read it once
    n_all = math.prod(sizes[i] for i in net.output)
    if n_all <= AUTO_DENSE or not is_tree_network(net):
        return None
    sweep = TreeNetworkSweep(net, r.tensors)
    sweep.keys = sweep.node_keys(r.tree)
    return sweep


def _spectrum_lengths(w: Sweeps) -> list[int]:
    """Spectrum length per position: min(width, Π_I d, Π_rest d)."""
    kids, mats = w.schedule.children_at, w.mats
    inside: list[int] = []
    for p, m in enumerate(mats):
        inside.append(math.prod(inside[c] for c in kids[p]) if kids[p] else m.shape[1])
    total = inside[-1]
    return [min(m.shape[1], n, total // n) for m, n in zip(mats, inside)]


def node_spectra(
    source: Any,
    matrices: Mapping[Node, torch.Tensor] | None = None,
    *,
    nodes: Iterable[Node] | None = None,
    differentiable: bool = False,
    dtype: torch.dtype | None = torch.float64,
) -> dict[Node, torch.Tensor]:
    """Singular values of ``[W]_{I(ν)}`` for non-root nodes ν, computed from the factors.

    Product-pooling models (CP, HTF, deep variants) go through the Gramians of
    :mod:`tnreg.gramians`; the dense-core formats (Tucker, TensorTrain, HierarchicalTucker)
    through the min-cut Gram networks of :func:`matricization_spectrum`, at the nodes of the
    model's tree (Tucker: each mode; tensor train: each bond and each mode; hierarchical Tucker:
    each tree node).

    Parameters
    ----------
    source
        Any tnreg model, or a mode tree (then pass ``matrices``).
    matrices
        Node -> ``(E, rows, cols)`` node matrix; see :mod:`tnreg.analysis.resolve`. With a model,
        replaces the model's own matrices (checked against its tree).
    nodes
        Non-root nodes to report (default: all of them, in postorder).
    differentiable
        Keep the autograd graph (default: computed under ``torch.no_grad``). Gradients are
        well-defined where the singular values and the Gramians' eigenvalues are distinct and
        nonzero.
    dtype
        Computation dtype: float64 by default whatever the parameters' dtype; ``None`` keeps
        the parameters' dtype.

    Returns
    -------
    dict
        Node -> ``(E, k)`` singular values, descending; ``k = min(width, Π_I d, Π_rest d)``.
        At high order values may overflow to ``inf`` or underflow to 0 (never NaN); use
        :func:`node_scaled_spectra` for σ/σ_max and log σ_max.

    Raises
    ------
    AnalysisError
        On an unknown or root node, or matrices that do not fit the tree.

    Examples
    --------
    >>> from tnreg.trees import balanced
    >>> mats = {0: torch.eye(2)[None], 1: torch.diag(torch.tensor([3.0, 1.0]))[None]}
    >>> mats[(0, 1)] = torch.ones(1, 2, 1)  # W = diag(3, 1)
    >>> node_spectra(balanced(2), mats)[0].round(decimals=9)
    tensor([[3., 1.]], dtype=torch.float64)
    """
    with gcpause.paused(), torch.set_grad_enabled(differentiable and torch.is_grad_enabled()):
        r = resolve(source, matrices, dtype=dtype, where="node spectra")
        targets = _targets(r.tree, nodes)
        out: dict[Node, torch.Tensor] = {}
        for group, batch in scaled_spectrum_batches(r, targets):  # unscaled per batch, then split
            out.update(zip(group, _unscale(batch).unbind(0), strict=True))
    return {c: out[c] for c in targets}


def _unscale(s: ScaledSpectrum) -> torch.Tensor:
    positive = s.relative > 0
    rel = torch.where(positive, s.relative, torch.ones_like(s.relative))
    log_max = torch.where(torch.isfinite(s.log_max), s.log_max, torch.zeros_like(s.log_max))
    values = torch.exp(torch.log(rel) + log_max[..., None])
    return torch.where(positive, values, torch.zeros_like(values))


# --------------------------------------------------------------------------- dense oracle


def _check_rows(rows: Iterable[Hashable], valid: Sequence[Hashable], where: str) -> list:
    if not isinstance(rows, Iterable):
        example = list(valid[:1]) or [0]
        raise AnalysisError(
            f"rows must be a list of the {where} {list(valid)!r}; got {type(rows).__name__} "
            f"{rows!r} (for one index, pass a list: rows={example!r})"
        )
    rows = list(rows)
    bad = [r for r in rows if r not in valid]
    repeated = sorted({repr(r) for r in rows if rows.count(r) > 1})
    if bad or repeated:
        problems = [f"unknown {bad!r}"] if bad else []
        problems += [f"repeated [{', '.join(repeated)}]"] if repeated else []
        raise AnalysisError(
            f"rows must be a subset of the {where} {list(valid)!r} without repeats; got "
            f"{rows!r}: {', '.join(problems)}"
        )
    return rows


def dense_spectrum(
    tensor: Any, rows: Iterable[int], *, dtype: torch.dtype | None = torch.float64
) -> torch.Tensor:
    """Singular values of ``[W]_rows`` by permute + reshape + ``torch.linalg.svdvals``.

    Parameters
    ----------
    tensor
        ``(E, d_0, ..., d_{N-1})``: an ensemble of order-N tensors (the leading ensemble axis is
        required, as everywhere in analysis: ``W[None]`` for a single tensor), or a tnreg model,
        which is densified with ``to_dense()`` (the oracle for small models).
    rows
        The modes I (ints in ``0..N-1``) on the rows.
    dtype
        Computation dtype (float64 by default; ``None`` keeps the tensor's).

    Returns
    -------
    torch.Tensor
        ``(E, min(Π_I d, Π_rest d))``, descending.

    Examples
    --------
    >>> dense_spectrum(torch.eye(3)[None], [0])
    tensor([[1., 1., 1.]], dtype=torch.float64)
    """
    dtype = check_dtype(dtype, "dense_spectrum")
    if hasattr(tensor, "to_dense") and hasattr(tensor, "members"):
        dense = tensor.to_dense().detach()
        tensor = dense.reshape(tensor.members, *tensor.dims)
    if not isinstance(tensor, torch.Tensor) or tensor.ndim < 2:
        raise AnalysisError(
            f"tensor must be a torch.Tensor (E, d_0, ..., d_N-1) with a leading ensemble axis; "
            f"got {type(tensor).__name__} of shape {tuple(getattr(tensor, 'shape', ()))}"
        )
    if dtype is not None:
        tensor = tensor.to(dtype)
    modes = list(range(tensor.ndim - 1))
    rows = _check_rows(rows, modes, "modes")
    cols = [m for m in modes if m not in rows]
    dims = tensor.shape[1:]
    w = tensor.permute(0, *(1 + m for m in rows), *(1 + m for m in cols))
    mat = w.reshape(tensor.shape[0], math.prod(dims[m] for m in rows), -1)
    return torch.linalg.svdvals(mat)


# --------------------------------------------------------------------------- any network


def _check_tensors(network: TensorNetwork, tensors: Any) -> dict[Hashable, torch.Tensor]:
    names = list(network.tensors)
    if isinstance(tensors, Mapping):
        if set(tensors) != set(names):
            raise AnalysisError(
                f"tensors must be keyed by the network's tensor names {names!r}; got "
                f"{list(tensors)!r}"
            )
        arrays = {n: tensors[n] for n in names}
    else:
        arrays = dict(zip(names, list(tensors), strict=False))
        if len(arrays) != len(names) or len(list(tensors)) != len(names):
            raise AnalysisError(f"expected {len(names)} tensors (one per {names!r})")
    bad = [n for n, t in arrays.items() if not isinstance(t, torch.Tensor) or t.ndim < 1]
    if bad:
        t = arrays[bad[0]]
        raise AnalysisError(
            f"tensor {bad[0]!r} must be a torch.Tensor with a leading ensemble axis; got "
            f"{type(t).__name__} of shape {tuple(getattr(t, 'shape', ()))}"
        )
    sizes, first = network.size_dict, arrays[names[0]]
    for name, t in arrays.items():
        want = (first.shape[0], *(sizes[i] for i in network.tensors[name]))
        if tuple(t.shape) != want:
            raise AnalysisError(
                f"tensor {name!r} must have shape {want} (ensemble axis, then indices "
                f"{network.tensors[name]!r}); got {tuple(getattr(t, 'shape', ()))}"
            )
    check_finite(arrays, lambda k: f"tensor {k!r}")
    return arrays


def _sides(network: TensorNetwork, rows: list, cut: frozenset) -> list[Hashable]:
    """Tensors joined to the (uncut) row indices once the cut indices are removed: side A."""
    graph = nx.Graph()
    for name, indices in network.tensors.items():
        graph.add_node(("t", name))
        graph.add_edges_from((("t", name), ("i", i)) for i in indices if i not in cut)
    reach: set = set()
    for r in rows:
        if r not in cut:
            reach |= nx.node_connected_component(graph, ("i", r))
    assert not any(("i", j) in reach for j in network.output if j not in rows and j not in cut)
    return [name for name in network.tensors if ("t", name) in reach]


def _gram(
    network: TensorNetwork, arrays: Mapping, side: list, summed: set, cut: list[Index]
) -> torch.Tensor:
    """``G[(e), cut_ket, cut_bra]`` of one side as an (E, r, r) matrix."""

    def label(i: Index, copy: str) -> Hashable:
        return ("c", i, copy) if i in cut else ("o", i) if i in summed else ("n", i, copy)

    first = next(iter(arrays.values()))
    sizes, num = network.size_dict, first.shape[0]
    terms: list[tuple] = [("e",)]
    ops = [first.new_ones(num)]
    for name in side:
        for copy in "kb":
            terms.append(("e", *(label(i, copy) for i in network.tensors[name])))
            ops.append(arrays[name])
    touched = {i for name in side for i in network.tensors[name]}
    for c in cut:
        if c in summed:  # an open row (column) index that is also cut: a delta
            terms.append((("c", c, "k"), ("c", c, "b")))
            ops.append(torch.eye(sizes[c], dtype=first.dtype, device=first.device))
        elif c not in touched:  # this side does not depend on c
            for copy in "kb":
                terms.append((("c", c, copy),))
                ops.append(first.new_ones(sizes[c]))
    out = ("e", *(("c", c, copy) for copy in "kb" for c in cut))
    eq, _ = to_equation(terms, out)
    gram = contract(eq, *ops)
    r = math.prod(sizes[c] for c in cut)
    return gram.reshape(num, r, r)


def matricization_spectrum(
    network: Any,
    tensors: Any = None,
    rows: Iterable[Index] | None = None,
    *,
    method: str = "auto",
    max_entries: int = DENSE_LIMIT,
    differentiable: bool = False,
    dtype: torch.dtype | None = torch.float64,
) -> torch.Tensor:
    """Singular values of ``[W]_rows`` for any network and any subset of its open indices.

    Call it as ``matricization_spectrum(network, tensors, rows)`` or, for a tnreg model,
    ``matricization_spectrum(model, rows)`` or ``matricization_spectrum(model, rows=rows)``
    (the model's ``network`` and ``tensors()``).

    Parameters
    ----------
    network
        The tensor network (its open indices are the modes of W), or a tnreg model.
    tensors
        Name -> ``(E, *sizes)`` tensor (or a sequence in the network's tensor order); with a
        model, this argument is ``rows``.
    rows
        The open indices I on the rows (any subset, not only tree nodes).
    method
        ``"gram"``: split along ``network.min_cut(rows)``, contract the Gram network of each
        side with the cut indices open, eigenvalues of ``G_A^{1/2} G_B G_A^{1/2}``.
        ``"dense"``: contract W and run ``torch.linalg.svdvals`` (the oracle).
        ``"auto"``: dense when W has at most ``min(max_entries, 2**20)`` entries per member (the
        SVD is then cheap and resolves small singular values that the Gram route squares away)
        or when the cut is wider than W; gram otherwise.
    max_entries
        Largest W (entries per ensemble member) that ``"dense"`` will build.
    differentiable
        Keep the autograd graph (default: computed under ``torch.no_grad``).
    dtype
        Computation dtype (float64 by default; ``None`` keeps the tensors' dtype).

    Returns
    -------
    torch.Tensor
        ``(E, k)`` descending, ``k = min(min-cut bound, Π_I d, Π_rest d)``.

    Raises
    ------
    AnalysisError
        On rows that are not open indices, tensors that do not fit, an unknown method, or a
        dense W larger than ``max_entries``.

    Examples
    --------
    >>> net = TensorNetwork.from_equation("ir,jr->ij", (3, 2), (3, 2))
    >>> a = torch.tensor([[[1.0, 0.0], [0.0, 2.0], [0.0, 0.0]]])
    >>> matricization_spectrum(net, [a, a], ["i"], method="gram")
    tensor([[4., 1.]], dtype=torch.float64)
    """
    if not isinstance(network, TensorNetwork):
        both = tensors is not None and rows is not None
        if not (hasattr(network, "network") and hasattr(network, "tensors")) or both:
            raise AnalysisError(
                f"matricization_spectrum takes (network, tensors, rows) or (model, rows); got "
                f"{type(network).__name__} as the first argument"
                + (" and three positional arguments" if both else "")
            )
        rows = tensors if rows is None else rows
        network, tensors = network.network, network.tensors()
    if rows is None:
        raise AnalysisError("matricization_spectrum needs rows: the open indices on the rows")
    if tensors is None:
        raise AnalysisError(
            "matricization_spectrum(network, tensors, rows) needs the tensors: one (E, *sizes) "
            "tensor per tensor of the network"
        )
    if method not in _METHODS:
        raise AnalysisError(f"unknown method={method!r}; valid options: {list(_METHODS)}")
    dtype = check_dtype(dtype, "matricization_spectrum")
    rows = _check_rows(rows, network.output, "network's open indices")
    arrays = _check_tensors(network, tensors)
    if dtype is not None:
        arrays = {k: t.to(dtype) for k, t in arrays.items()}
    with torch.set_grad_enabled(differentiable and torch.is_grad_enabled()):
        return _matricization(network, arrays, rows, method, max_entries)


def _matricization(
    network: TensorNetwork, arrays: Mapping, rows: list, method: str, max_entries: int
) -> torch.Tensor:
    sizes = network.size_dict
    n_rows = math.prod(sizes[i] for i in rows)
    n_all = math.prod(sizes[i] for i in network.output)
    bound, cut = network.min_cut(rows)
    k = min(bound, n_rows, n_all // n_rows)
    if method == "auto":
        small = n_all <= min(max_entries, AUTO_DENSE)
        method = "dense" if n_all <= max_entries and (small or bound * bound > n_all) else "gram"
    if method == "dense":
        return _dense(network, arrays, rows, max_entries)[..., :k]
    return _gram_spectrum(network, arrays, rows, cut, k)


def _gram_spectrum(
    network: TensorNetwork, arrays: Mapping, rows: list, cut: frozenset, k: int
) -> torch.Tensor:
    order = sorted(cut, key=repr)
    side_a = _sides(network, rows, cut)
    side_b = [n for n in network.tensors if n not in side_a]
    cols = {j for j in network.output if j not in rows}
    g_a = _gram(network, arrays, side_a, set(rows), order)
    g_b = _gram(network, arrays, side_b, cols, order)
    a, b = normalize(g_a, g_a.new_zeros(g_a.shape[0])), normalize(g_b, g_b.new_zeros(g_b.shape[0]))
    sq = _pair_eigvals(a.matrix, b.matrix)[..., :k]
    return sq.sqrt() * torch.exp(0.5 * (a.log_scale + b.log_scale))[..., None]


def _dense(network: TensorNetwork, arrays: Mapping, rows: list, max_entries: int) -> torch.Tensor:
    sizes = network.size_dict
    n_all = math.prod(sizes[i] for i in network.output)
    if n_all > max_entries:
        raise AnalysisError(
            f"method='dense' would build W with {n_all} entries per ensemble member, above the "
            f"limit max_entries={max_entries} (2**{math.log2(max_entries):g}); use "
            f"method='gram' or raise max_entries"
        )
    inputs = [("e", *ix) for ix in network.tensors.values()]
    eq, _ = to_equation(inputs, ("e", *network.output))
    w = contract(eq, *arrays.values())
    return dense_spectrum(w, [network.output.index(r) for r in rows])
