"""The one step that turns what users pass to analysis into validated inputs.

Every analysis entry point (spectra, norms, invariants, report) accepts either a model (any
:class:`tnreg.models.Model`: product-pooling models and the dense-core formats) or a mode tree
with node matrices, and calls :func:`resolve` once. Errors are :class:`AnalysisError`, a
``ValueError`` subclass, and name what was expected, what was received and where.

Vocabulary
----------
node matrices
    Of a product-pooling factorization: node -> ``(E, rows, cols)``; leaf n: ``(E, d_n,
    R_Pa(n))``, interior ν: ``(E, R_ν, R_Pa(ν))``, root: ``(E, R_root, 1)`` (the output layer;
    ones for the plain CP/HTF sum). The *width* of a node is its number of rows.
analysis dtype
    Analysis runs in float64 by default whatever the parameters' dtype (Gramians square the
    singular values; in float64 a float32 model's spectra match the dense float64 SVD of the
    same tensor to ~1e-12·σ_max). ``dtype=None`` keeps the parameters' dtype.
ensemble axis
    Analysis always takes and returns a leading ensemble axis E (E = 1 for a single model).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import networkx as nx
import torch

from tnreg.components import as_layers, node_products
from tnreg.errors import TnregError
from tnreg.gramians import group_by
from tnreg.schedule import Schedule, schedule
from tnreg.trees import root
from tnreg.typing import Node

__all__ = [
    "AnalysisError",
    "Resolved",
    "check_dtype",
    "check_finite",
    "require_product_pooling",
    "resolve",
    "validate_matrices",
]

ANALYSIS_DTYPES = (torch.float32, torch.float64)


class AnalysisError(TnregError, ValueError):
    """Models, node matrices, nodes or mode subsets that analysis cannot read."""


@dataclass(frozen=True)
class Resolved:
    """Validated inputs of one analysis call.

    Attributes
    ----------
    tree
        The mode tree whose non-root nodes define the reported matricizations.
    matrices
        Product-pooling node matrices (validated, in the analysis dtype), or ``None`` for a
        dense-core format.
    layers
        The trainable layers per node (a fixed root absent), when known: from a model's
        ``layers()``, else one layer per node matrix.
    model
        The model analysed, or ``None`` for ``(tree, matrices)``.
    tensors
        The network tensors of a dense-core model (validated, in the analysis dtype), by tensor
        name; ``None`` for product-pooling inputs.
    """

    tree: nx.DiGraph
    matrices: dict[Node, torch.Tensor] | None
    layers: dict[Node, list[torch.Tensor]] | None
    model: Any
    tensors: dict[Any, torch.Tensor] | None = None

    @property
    def is_product_pooling(self) -> bool:
        """Whether the Gramian route applies (node matrices are known)."""
        return self.matrices is not None


def check_dtype(dtype: Any, where: str) -> torch.dtype | None:
    """``None`` or a floating dtype that eigen-solvers support (float32, float64)."""
    if dtype is None or dtype in ANALYSIS_DTYPES:
        return dtype
    raise AnalysisError(
        f"{where}: dtype must be torch.float64 (default), torch.float32 or None (keep the "
        f"parameters' dtype); got {dtype!r}"
    )


def _cast(t: torch.Tensor, dtype: torch.dtype | None, where: Any) -> torch.Tensor:
    """``t`` in the analysis dtype; ``where()`` names it in errors (built only on failure:
    at order 1024 the labels' reprs would cost more than the casts)."""
    target = _target_dtype(t.dtype, dtype, where)
    return t if t.dtype == target else t.to(target)


def _target_dtype(have: torch.dtype, dtype: torch.dtype | None, where: Any) -> torch.dtype:
    """The dtype a tensor of dtype ``have`` is analysed in (``dtype``, or ``have`` for None)."""
    if have == dtype:
        return have
    if not (have.is_floating_point or have.is_complex):
        raise AnalysisError(
            f"{where()} has dtype {have}; analysis needs floating-point parameters (build the "
            f"model with dtype=torch.float32 or torch.float64)"
        )
    if dtype is None:
        if have not in ANALYSIS_DTYPES:
            raise AnalysisError(
                f"{where()} is {have}, which eigen-solvers do not support; pass "
                f"dtype=torch.float64 (the default) or torch.float32"
            )
        return have
    return dtype


def check_finite(named: Mapping[Any, torch.Tensor], describe: Any = str) -> None:
    """Raise naming the first tensor with a NaN or Inf (a few fused checks, one host sync).

    Tensors of equal shape, dtype and device are stacked and checked together (a regular tree
    has a handful of shapes, so order 1024 costs a few kernels, not thousands).
    ``describe(key)`` says where a tensor sits (``"matrix of node 0"``); it is called only on
    failure.
    """
    if not named:
        return
    groups = group_by(named.values(), lambda t: (t.shape, t.dtype, t.device))
    finite_groups(groups, lambda: _name_nonfinite(named, describe))


def finite_groups(groups: list[list[torch.Tensor]], explain: Any) -> None:
    """Call ``explain()`` (which raises) unless every tensor is finite; each group holds tensors
    of one shape, dtype and device, checked as one stacked tensor (one host sync in all)."""
    with torch.no_grad():
        flags = [torch.isfinite(torch.stack(ts)).all().cpu() for ts in groups]
        if bool(torch.stack(flags).all()):
            return
    explain()


def _name_nonfinite(named: Mapping[Any, torch.Tensor], describe: Any) -> None:
    for key, t in named.items():
        bad = int((~torch.isfinite(t)).sum())
        if bad:
            raise AnalysisError(
                f"{describe(key)} has {bad} non-finite entries (NaN or Inf); the model diverged "
                f"or was loaded with bad values; analysis needs finite parameters"
            )


def validate_matrices(tree: nx.DiGraph, matrices: Mapping[Node, torch.Tensor]) -> dict[Node, int]:
    """Check node matrices against ``tree`` and return every node's width.

    Raises
    ------
    AnalysisError
        Naming the node and axis: a missing matrix (the root's output layer included), an
        unknown node, a matrix that is not 3-d, mixed ensemble sizes, dtypes or devices, a column
        count that differs from the parent's width, or non-finite entries.

    Examples
    --------
    >>> from tnreg.trees import balanced
    >>> mats = {0: torch.ones(1, 2, 3), 1: torch.ones(1, 4, 3), (0, 1): torch.ones(1, 3, 1)}
    >>> validate_matrices(balanced(2), mats)
    {0: 2, 1: 4, (0, 1): 3}
    """
    if not isinstance(matrices, Mapping):
        raise AnalysisError(
            f"matrices must be a mapping node -> (E, rows, cols) tensor; got "
            f"{type(matrices).__name__}"
        )
    s = schedule(tree)
    top = s.root
    if top not in matrices:
        raise AnalysisError(
            f"missing root output layer: matrices has no entry for the root {top!r}; pass an "
            f"(E, R_root, 1) tensor (torch.ones for the plain-sum output of CP)"
        )
    if len(matrices) != len(s.postorder) or any(v not in matrices for v in s.postorder):
        missing = [v for v in s.postorder if v not in matrices]
        unknown = [v for v in matrices if v not in s.index]
        raise AnalysisError(
            f"matrices must have one entry per tree node; missing {missing!r}, unknown {unknown!r}"
        )
    mats = [matrices[v] for v in s.postorder]
    if not all(isinstance(m, torch.Tensor) for m in mats):
        _explain_matrices(s, mats)
    # one pass over the tensors; every other check runs once per distinct (shape, dtype, device)
    keys = [(m.shape, m.dtype, m.device) for m in mats]
    by_key: dict = {}
    for i, key in enumerate(keys):
        by_key.setdefault(key, []).append(i)
    (top_shape, top_dtype, top_device) = keys[-1]
    for shape, dtype, device in by_key:
        bad = len(shape) != 3 or len(top_shape) != 3 or shape[0] != top_shape[0]
        if bad or dtype != top_dtype or device != top_device:
            _explain_matrices(s, mats)
    shapes = [key[0] for key in keys]
    _check_columns(s, shapes)
    finite_groups(
        [[mats[i] for i in idx] for idx in by_key.values()],
        lambda: _name_nonfinite(dict(zip(s.postorder, mats)), lambda v: f"matrix of node {v!r}"),
    )
    return {v: shape[1] for v, shape in zip(s.postorder, shapes)}


def _explain_matrices(s: Schedule, mats: list) -> None:
    """Raise for the first node matrix (postorder) that is not a 3-d tensor like the root's."""
    first = mats[-1]
    for v, m in zip(s.postorder, mats):
        if not isinstance(m, torch.Tensor) or m.ndim != 3:
            shape = tuple(getattr(m, "shape", ()))
            raise AnalysisError(
                f"matrix of node {v!r} must be a 3-d torch.Tensor (E, rows, cols); got "
                f"{type(m).__name__} of shape {shape}"
            )
        if m.shape[0] != first.shape[0] or m.dtype != first.dtype or m.device != first.device:
            raise AnalysisError(
                f"matrix of node {v!r} has ensemble size {m.shape[0]}, {m.dtype} on {m.device}; "
                f"the root has {first.shape[0]}, {first.dtype} on {first.device}"
            )


def _check_columns(s: Schedule, shapes: list[torch.Size]) -> None:
    top = len(shapes) - 1
    if shapes[top][2] != 1:
        raise AnalysisError(
            f"root {s.root!r} output layer must have shape (E, R_root, 1); got axis 2 of size "
            f"{shapes[top][2]} (shape {tuple(shapes[top])})"
        )
    for c, (shape, up) in enumerate(zip(shapes, s.parent_at)):
        if up >= 0 and shape[2] != shapes[up][1]:
            raise AnalysisError(
                f"matrix of node {s.postorder[c]!r} has {shape[2]} columns (axis 2, shape "
                f"{tuple(shape)}), expected the width of its parent {s.postorder[up]!r}: "
                f"{shapes[up][1]} (axis 1 of shape {tuple(shapes[up])})"
            )


def _check_layers(tree: nx.DiGraph, layers: Any) -> dict[Node, list[torch.Tensor]]:
    if not isinstance(layers, Mapping):
        raise AnalysisError(
            f"layers must be a mapping node -> matrix or list of matrices; got "
            f"{type(layers).__name__}"
        )
    top = root(tree)
    unknown = [v for v in layers if v not in tree]
    missing = [v for v in tree if v not in layers and v != top]
    if unknown or missing:
        raise AnalysisError(
            f"layers must have one entry per tree node (the root may be absent: a fixed output); "
            f"missing {missing!r}, unknown {unknown!r}"
        )
    chains = as_layers(layers)
    for v, chain in chains.items():
        if not chain:
            raise AnalysisError(f"layers of node {v!r} is empty; expected at least one matrix")
        for j, a in enumerate(chain):
            if not isinstance(a, torch.Tensor) or a.ndim != 3:
                got = tuple(a.shape) if isinstance(a, torch.Tensor) else type(a).__name__
                raise AnalysisError(
                    f"layer {j} of node {v!r} must be a tensor (E, rows, cols); got {got}"
                )
            if j and chain[j - 1].shape[2] != a.shape[1]:
                raise AnalysisError(
                    f"layers of node {v!r} do not chain: layer {j - 1} has shape "
                    f"{tuple(chain[j - 1].shape)}, layer {j} has shape {tuple(a.shape)}"
                )
    check_finite(
        {(v, j): a for v, c in chains.items() for j, a in enumerate(c)},
        lambda key: f"layer {key[1]} of node {key[0]!r}",
    )
    return chains


def _layers_to_matrices(tree: nx.DiGraph, chains: dict[Node, list[torch.Tensor]]) -> dict:
    """Node matrices from layers; a missing root becomes the fixed ones output."""
    out = node_products(chains)
    top = root(tree)
    if top not in out:
        kids = list(tree.successors(top))
        width = out[kids[0]].shape[2] if kids else 1
        ref = out[kids[0]]
        out[top] = ref.new_ones(ref.shape[0], width, 1)
    return out


def resolve(
    source: Any,
    matrices: Mapping[Node, torch.Tensor] | None = None,
    *,
    dtype: torch.dtype | None = torch.float64,
    layers: Mapping | None = None,
    where: str = "analysis",
) -> Resolved:
    """Validate ``source`` (a model, or a tree with ``matrices`` or ``layers``) once.

    A model may come with explicit ``matrices`` (e.g. modified copies of its own): they are
    checked against the model's tree. Casting to ``dtype`` keeps autograd graphs.
    """
    dtype = check_dtype(dtype, where)
    model = None
    if isinstance(source, nx.DiGraph):
        tree = source
    elif isinstance(getattr(source, "tree", None), nx.DiGraph) and hasattr(source, "tensors"):
        model, tree = source, source.tree
    else:
        raise AnalysisError(
            f"{where}: expected a tnreg model or a mode tree (networkx.DiGraph) with matrices; "
            f"got {type(source).__name__}"
        )
    if model is not None and matrices is None and layers is None:
        if not hasattr(model, "matrices"):
            return _resolve_network(model, dtype, where)
        if not hasattr(model, "layers"):
            matrices = model.matrices()
        else:  # products of the layers are formed in the analysis dtype, not the model's
            return _resolve_own_layers(model, dtype)
    if matrices is None and layers is None:
        raise AnalysisError(
            f"{where}: node matrices are required with a plain tree: pass (tree, matrices) or "
            f"a model"
        )
    chains = _cast_layers(_check_layers(tree, layers), dtype) if layers is not None else None
    if matrices is None:
        matrices = _layers_to_matrices(tree, chains)
    validate_matrices(tree, matrices)  # one dtype for all: decided once, on the root's
    post = schedule(tree).postorder
    have = matrices[post[-1]].dtype
    target = _target_dtype(have, dtype, lambda: f"matrix of node {post[-1]!r}")
    mats = {v: matrices[v] if target == have else matrices[v].to(target) for v in post}
    return Resolved(tree=tree, matrices=mats, layers=chains, model=model)


def _cast_layers(chains: Mapping[Node, list[torch.Tensor]], dtype: torch.dtype | None) -> dict:
    """Every layer in the analysis dtype (autograd graphs kept)."""
    return {
        v: [_cast(a, dtype, lambda v=v, j=j: f"layer {j} of node {v!r}") for j, a in enumerate(c)]
        for v, c in chains.items()
    }


def _resolve_own_layers(model: Any, dtype: torch.dtype | None) -> Resolved:
    """A product-pooling model's own layers: its constructor fixed their structure (shapes,
    chaining, ensemble, dtype, device), so only the values are checked: every layer finite,
    and every product of several layers (a deep node) finite too."""
    tree = model.tree
    raw = model.layers()
    check_finite(
        {(v, j): a for v, c in raw.items() for j, a in enumerate(c)},
        lambda key: f"layer {key[1]} of node {key[0]!r}",
    )
    chains = _cast_layers(raw, dtype)
    matrices = _layers_to_matrices(tree, chains)
    check_finite(
        {v: matrices[v] for v, c in chains.items() if len(c) > 1},
        lambda v: f"matrix of node {v!r} (the product of its layers)",
    )
    mats = {v: matrices[v] for v in schedule(tree).postorder}
    return Resolved(tree=tree, matrices=mats, layers=chains, model=model)


def require_product_pooling(r: Resolved, what: str, instead: str) -> Resolved:
    """Return ``r`` if it has node matrices; else raise: ``what``, which the model lacks."""
    if not r.is_product_pooling:
        raise AnalysisError(
            f"{what}, which {type(r.model).__name__} (dense cores) does not have; {instead}"
        )
    return r


def _resolve_network(model: Any, dtype: torch.dtype | None, where: str) -> Resolved:
    tensors = dict(model.tensors())
    check_finite(tensors, lambda k: f"tensor {k!r}")
    cast = {k: _cast(t, dtype, lambda k=k: f"tensor {k!r}") for k, t in tensors.items()}
    return Resolved(tree=model.tree, matrices=None, layers=None, model=model, tensors=cast)
