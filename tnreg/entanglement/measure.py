"""Data entanglement at every node of a mode tree, from Gram matrices of the samples.

Vocabulary
----------
feature map
    Each feature value x ∈ [0, 1] maps to φ(x) = (cos πθx, sin πθx) ∈ R², so
    ⟨φ(a), φ(b)⟩ = cos(πθ(a − b)); θ = 0.085 is the value used for images.
data tensor
    A = Σ_m y_m ⊗_f φ(x_mf) over the samples m = 1..M (2^N entries, never formed), with labels
    y_m ∈ {−1, +1}, or y_m = 1 without labels.
Gram matrix of a mode set I
    G_I[m, m'] = Π_{f ∈ I} cos(πθ(x_mf − x_m'f)) (M × M). Gram matrices compose by Hadamard
    products: G_parent = ∘ G_children (bottom-up) and G_{ν^c} = G_{parent^c} ∘ ∘ G_siblings
    (top-down). Every G_I has unit diagonal (each φ(x) has norm 1), so its entries lie in
    [−1, 1] at any |I|: no scale bookkeeping is needed.
node spectrum
    With D = diag(y), the squared singular values of the matricization [A]_I are the
    eigenvalues of D G_{I^c} D G_I. The *normalized spectrum* p divides them by their sum.
entanglement entropy, geometric entanglement
    −Σ p ln p and sqrt(1 − max p) of a node's normalized spectrum.

How it is computed: a Gram matrix is kept either as a *factor* F with G = F Fᵀ (M × r, r < M:
the row-wise Kronecker products of the φ's, exact for small mode sets) or as a dense M × M
matrix. With G_I = F Fᵀ the nonzero eigenvalues of D G_{I^c} D G_I are those of the symmetric
r × r matrix Fᵀ D G_{I^c} D F; with both sides dense, G_I is first factored through its
eigendecomposition (its PSD square root, eigenvalues below the float64 noise floor dropped).
Every eigenvalue problem is symmetric (``eigvalsh``), batched over nodes of equal size; tiny
negative eigenvalues are clipped to 0. Nothing of size 2^|I| is formed.
"""

from __future__ import annotations

import math
from collections.abc import Hashable, Iterable
from dataclasses import dataclass
from typing import Any

import networkx as nx
import numpy as np
import torch

from tnreg.devices import check_device
from tnreg.entanglement.gram import Gram, feature_map, hadamard, node_matrix
from tnreg.errors import TnregError
from tnreg.schedule import schedule
from tnreg.trees import ModeTreeError, balanced, mode_sets, node_names, order, validate_tree
from tnreg.typing import Mode, Node

__all__ = [
    "THETA",
    "EntanglementError",
    "EntanglementReport",
    "NodeEntanglement",
    "check_data",
    "data_entanglement",
    "entropy",
    "geometric",
    "subsample",
]

THETA = 0.085
_PENDING_BYTES = 64 * 2**20  # flush a batch of eigenvalue problems beyond this size


class EntanglementError(TnregError, ValueError):
    """Bad inputs to the data-entanglement functions (data, labels, tree, options)."""


@dataclass(frozen=True)
class NodeEntanglement:
    """One node's data entanglement.

    Attributes
    ----------
    node, name
        The tree node and its short name (:func:`tnreg.trees.node_names`).
    modes
        Its mode set I (sorted features).
    spectrum
        The normalized squared singular values of [A]_I, descending, summing to 1.
    entropy, geometric
        Entanglement entropy (nats) and geometric entanglement of ``spectrum``.
    rank
        The number of singular values above ``rtol`` times the largest.
    """

    node: Node
    name: str
    modes: tuple[Mode, ...]
    spectrum: np.ndarray
    entropy: float
    geometric: float
    rank: int


@dataclass(frozen=True)
class EntanglementReport:
    """Per-node data entanglement of one data set on one tree (rows in postorder).

    Attributes
    ----------
    rows
        One :class:`NodeEntanglement` per measured node.
    theta, samples, rtol, labelled
        The feature-map angle, the number of samples M used, the rank tolerance, and whether
        labels were used (D = diag(y)) or not (D = identity).
    """

    rows: tuple[NodeEntanglement, ...]
    theta: float
    samples: int
    rtol: float
    labelled: bool

    def total(self) -> float:
        """The sum of the nodes' entropies."""
        return float(sum(r.entropy for r in self.rows))

    def maximum(self) -> float:
        """The largest node entropy (0 without rows)."""
        return float(max((r.entropy for r in self.rows), default=0.0))

    def entropies(self) -> dict[Node, float]:
        """Node -> entropy."""
        return {r.node: r.entropy for r in self.rows}

    def to_records(self) -> list[dict[str, Any]]:
        """One plain dict per row (node name, size, entropy, geometric, rank)."""
        return [
            {"node": r.name, "size": len(r.modes), "entropy": r.entropy,
             "geometric": r.geometric, "rank": r.rank}
            for r in self.rows
        ]  # fmt: skip

    def __str__(self) -> str:
        head = (
            f"data entanglement: M={self.samples} samples, theta={self.theta:g}, "
            f"{'labelled' if self.labelled else 'unlabelled'}; "
            f"rank: sigma > {self.rtol:g} sigma_max"
        )
        width = max([4, *(len(r.name) for r in self.rows)])
        lines = [
            head,
            f"{'node':<{width}}  {'|I|':>5}  {'entropy':>8}  {'geometric':>9}  {'rank':>5}",
        ]
        for r in self.rows:
            lines.append(
                f"{r.name:<{width}}  {len(r.modes):>5}  {r.entropy:>8.4f}  {r.geometric:>9.4f}  "
                f"{r.rank:>5}"
            )
        lines.append(
            f"sum {self.total():.4f}, max {self.maximum():.4f} over {len(self.rows)} nodes"
        )
        return "\n".join(lines)


# --------------------------------------------------------------------------- quantities


def entropy(spectrum: np.ndarray) -> float:
    """Shannon entropy (nats) of a nonnegative spectrum normalized to sum 1.

    Examples
    --------
    >>> round(entropy(np.array([0.5, 0.5])), 6) == round(math.log(2), 6)
    True
    """
    p = np.clip(np.asarray(spectrum, dtype=np.float64), 0.0, None)
    total = p.sum()
    if total <= 0:
        return 0.0
    p = p[p > 0] / total
    return float(max(0.0, -(p * np.log(p)).sum()))


def geometric(spectrum: np.ndarray) -> float:
    """Geometric entanglement sqrt(1 − max p) of a spectrum normalized to sum 1.

    Examples
    --------
    >>> geometric(np.array([1.0, 0.0]))
    0.0
    """
    p = np.clip(np.asarray(spectrum, dtype=np.float64), 0.0, None)
    total = p.sum()
    return 0.0 if total <= 0 else float(math.sqrt(max(0.0, 1.0 - p.max() / total)))


# --------------------------------------------------------------------------- validation


def check_data(x: Any, y: Any = None, *, where: str = "data_entanglement") -> tuple:
    """Validate samples and labels; returns float64 numpy ``(x, y)`` (``y`` may be None).

    Raises
    ------
    EntanglementError
        If ``x`` is not a finite 2-D array with entries in [0, 1] and at least one row and one
        column, or ``y`` is not a 1-D array of −1/+1 with one entry per row of ``x``.
    """
    arr = np.asarray(x.detach().cpu() if isinstance(x, torch.Tensor) else x)
    if arr.ndim != 2 or arr.shape[0] < 1 or arr.shape[1] < 1:
        raise EntanglementError(
            f"{where}: x must be a 2-D array (samples, features) with at least one of each; "
            f"got shape {arr.shape}"
        )
    if not np.issubdtype(arr.dtype, np.number) or np.issubdtype(arr.dtype, np.complexfloating):
        raise EntanglementError(f"{where}: x must be real numbers; got dtype {arr.dtype}")
    arr = arr.astype(np.float64)
    bad = ~np.isfinite(arr) | (arr < 0) | (arr > 1)
    if bad.any():
        m, f = map(int, np.argwhere(bad)[0])
        raise EntanglementError(
            f"{where}: x must lie in [0, 1] (scale each feature first, e.g. min-max); "
            f"got x[{m}, {f}] = {float(arr[m, f])!r} ({int(bad.sum())} bad entries)"
        )
    return arr, _check_labels(y, arr.shape[0], where)


def _check_labels(y: Any, m: int, where: str) -> np.ndarray | None:
    if y is None:
        return None
    lab = np.asarray(y.detach().cpu() if isinstance(y, torch.Tensor) else y)
    if lab.ndim != 1 or lab.shape[0] != m:
        raise EntanglementError(
            f"{where}: y must be a 1-D array with one label per sample ({m}); got shape {lab.shape}"
        )
    if not np.issubdtype(lab.dtype, np.number) or not np.isin(lab, (-1, 1)).all():
        odd = np.unique(lab[~np.isin(lab, (-1, 1))])[:5] if lab.dtype != object else lab[:5]
        raise EntanglementError(
            f"{where}: labels y must be -1 or +1 (map classes to ±1, or pass y=None); "
            f"got values {odd.tolist()}"
        )
    return lab.astype(np.float64)


def _check_options(theta: Any, max_samples: Any, seed: Any, rtol: Any) -> None:
    if not isinstance(theta, (int, float)) or isinstance(theta, bool) or not 0 < theta <= 1:
        raise EntanglementError(f"theta must be a number in (0, 1]; got {theta!r} (images: 0.085)")
    for name, value, low in (("max_samples", max_samples, 1), ("seed", seed, 0)):
        if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < low:
            raise EntanglementError(f"{name} must be an int >= {low}; got {value!r}")
    if not isinstance(rtol, (int, float)) or isinstance(rtol, bool) or not 0 <= rtol < 1:
        raise EntanglementError(f"rtol must be a number in [0, 1); got {rtol!r}")


def _check_tree(tree: Any, n: int) -> nx.DiGraph:
    if tree is None:
        return balanced(n)
    try:
        validate_tree(tree)
    except ModeTreeError as err:
        raise EntanglementError(f"tree is not a mode tree: {err}") from None
    if order(tree) != n:
        raise EntanglementError(
            f"the tree has {order(tree)} modes but x has {n} features; build the tree over "
            f"modes 0..{n - 1} (e.g. tnreg.trees.balanced({n}))"
        )
    return tree


def _check_nodes(tree: nx.DiGraph, nodes: Iterable[Node] | None, top: Node) -> list[Node]:
    if nodes is None:
        return [v for v in schedule(tree).postorder if v != top]
    wanted = list(nodes)
    missing = [v for v in wanted if not isinstance(v, Hashable) or v not in tree]
    if missing:
        raise EntanglementError(
            f"nodes {missing[:5]!r} are not in the tree; valid nodes are e.g. "
            f"{list(schedule(tree).postorder)[:6]!r}"
        )
    return wanted


def subsample(m: int, max_samples: int, seed: int) -> np.ndarray:
    """Sorted row indices of a seeded random batch of ``min(m, max_samples)`` samples."""
    if m <= max_samples:
        return np.arange(m)
    return np.sort(np.random.default_rng(seed).choice(m, size=max_samples, replace=False))


# --------------------------------------------------------------------------- the sweep


def data_entanglement(
    x: Any,
    y: Any = None,
    tree: nx.DiGraph | None = None,
    *,
    theta: float = THETA,
    nodes: Iterable[Node] | None = None,
    max_samples: int = 512,
    seed: int = 0,
    rtol: float = 1e-6,
    device: str | torch.device = "cpu",
) -> EntanglementReport:
    """Entanglement of the data tensor across every node of a mode tree.

    Parameters
    ----------
    x
        Samples, shape (M, N), entries in [0, 1] (numpy or torch).
    y
        Labels in {−1, +1}, shape (M,), or None (D = identity).
    tree
        A mode tree over the N features (unary and many-child nodes allowed); default: the
        canonical tree :func:`tnreg.trees.balanced` in the given feature order.
    theta
        Feature-map angle θ in (0, 1].
    nodes
        The nodes to report (default: every non-root node; the root's entropy is 0).
    max_samples
        At most this many samples are used: a seeded random batch when M is larger.
    seed
        Seed of that batch.
    rtol
        Rank tolerance: singular values above ``rtol`` times the largest are counted.
    device
        Torch device of the computation (float64).

    Returns
    -------
    EntanglementReport
        One row per node, in postorder.

    Raises
    ------
    EntanglementError
        For data outside [0, 1], labels other than ±1, a tree whose modes do not match the
        features, unknown nodes, or bad options (each message names what was expected).

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> report = data_entanglement(rng.random((50, 4)), tree=balanced(4), theta=0.5)
    >>> [r.name for r in report.rows]
    ['0', '1', '0-1', '2', '3', '2-3']
    >>> all(0 <= r.entropy <= math.log(4) for r in report.rows)
    True
    """
    xs, ys = check_data(x, y)
    _check_options(theta, max_samples, seed, rtol)
    if xs.shape[1] < 2:
        raise EntanglementError(f"x needs at least 2 features for a partition; got {xs.shape[1]}")
    tree = _check_tree(tree, xs.shape[1])
    sched = schedule(tree)
    targets = _check_nodes(tree, nodes, sched.root)
    rows = subsample(xs.shape[0], max_samples, seed)
    device = check_device(device)
    xt = torch.as_tensor(xs[rows], dtype=torch.float64, device=device)
    yt = None if ys is None else torch.as_tensor(ys[rows], dtype=torch.float64, device=device)
    spectra = _sweep(tree, feature_map(xt, theta), yt, set(targets))
    sets, names = mode_sets(tree), node_names(tree)
    out = [_row(v, names[v], sets[v], spectra[v], rtol) for v in targets]
    return EntanglementReport(tuple(out), float(theta), len(rows), float(rtol), ys is not None)


def _row(v: Node, name: str, modes: tuple, lam: np.ndarray, rtol: float) -> NodeEntanglement:
    lam = np.sort(np.clip(lam, 0.0, None))[::-1]
    total = lam.sum()
    p = lam / total if total > 0 else lam
    rank = int((np.sqrt(p) > rtol * math.sqrt(p[0])).sum()) if total > 0 else 0
    return NodeEntanglement(v, name, tuple(modes), p, entropy(p), geometric(p), rank)


def _sweep(
    tree: nx.DiGraph, phi: torch.Tensor, y: torch.Tensor | None, targets: set[Node]
) -> dict[Node, np.ndarray]:
    """Bottom-up inner Grams, top-down outer Grams, one eigenvalue problem per target node."""
    sched = schedule(tree)
    ones = Gram(factor=torch.ones(phi.shape[0], 1, dtype=phi.dtype, device=phi.device))
    inner: dict[Node, Gram] = {}
    for v in sched.postorder:
        kids = sched.children[v]
        if not kids:
            inner[v] = Gram(factor=phi[:, tree.nodes[v]["mode"], :])
        elif len(kids) == 1:
            inner[v] = inner[kids[0]]
        else:
            inner[v] = _product([inner[c] for c in kids], ones)
    outer = {sched.root: ones}
    pending = _Pending()
    for v in reversed(sched.postorder):  # parents before children
        if v in targets:
            pending.add(v, node_matrix(inner[v], outer[v], y))
        kids = sched.children[v]
        outer.update(_outer_of_children(kids, inner, outer[v]))
        del outer[v]
        if v != sched.root:
            del inner[v]
    return pending.finish()


def _product(grams: list[Gram], ones: Gram) -> Gram:
    out = ones
    for g in grams:
        out = hadamard(out, g)
    return out


def _outer_of_children(kids: tuple, inner: dict[Node, Gram], above: Gram) -> dict[Node, Gram]:
    """G_{c^c} = G_{ν^c} ∘ ∘_{s ≠ c} G_s for every child c, with prefix/suffix products."""
    if len(kids) == 1:
        return {kids[0]: above}
    prefix = [above]
    for c in kids[:-1]:
        prefix.append(hadamard(prefix[-1], inner[c]))
    out: dict[Node, Gram] = {}
    suffix: Gram | None = None
    for i in range(len(kids) - 1, -1, -1):
        out[kids[i]] = prefix[i] if suffix is None else hadamard(prefix[i], suffix)
        suffix = inner[kids[i]] if suffix is None else hadamard(inner[kids[i]], suffix)
    return out


class _Pending:
    """Symmetric eigenvalue problems grouped by size, solved in batches."""

    def __init__(self) -> None:
        self.groups: dict[int, list[tuple[Node, torch.Tensor]]] = {}
        self.done: dict[Node, np.ndarray] = {}

    def add(self, node: Node, k: torch.Tensor) -> None:
        group = self.groups.setdefault(k.shape[0], [])
        group.append((node, k))
        if len(group) * k.shape[0] ** 2 * k.element_size() > _PENDING_BYTES:
            self._flush(k.shape[0])

    def _flush(self, size: int) -> None:
        group = self.groups.pop(size, [])
        if group:
            lam = torch.linalg.eigvalsh(torch.stack([k for _, k in group])).cpu().numpy()
            self.done.update((v, lam[i]) for i, (v, _) in enumerate(group))

    def finish(self) -> dict[Node, np.ndarray]:
        for size in list(self.groups):
            self._flush(size)
        return self.done
