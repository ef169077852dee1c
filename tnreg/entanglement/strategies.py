"""Tree-search strategies; each returns nested tuples of features (see `from_nested`).

Vocabulary
----------
split
    A node's feature set cut into ``arity`` parts of near-equal size (its children).
metis
    The paper's baseline: every split is a balanced minimum cut (METIS, via the optional
    ``pymetis``) of the feature graph weighted by |Pearson correlation|.
refined
    Every split starts from a spectral cut of the same graph (the features sorted by the
    Fiedler vector of its Laplacian, or METIS's cut for ``metis-refined``) and is then improved
    by swapping one feature between two parts at a time, each swap scored by the exact
    entropies of the parts (sum or max); a swap is kept only when it lowers the score. The
    candidate swaps are the ``candidates`` best by the Kernighan–Lin gain on the graph.
agglomerative
    From single features, repeatedly merge the ``arity`` groups whose union U scores lowest,
    the score being the exact entropy H(U) or H(U) − Σ H(parts). A set's entropy depends on
    the set only, so each pair is scored once.
"""

from __future__ import annotations

import heapq
from collections.abc import Callable
from typing import Any

import numpy as np

from tnreg.entanglement.oracle import SetEntropy

__all__ = ["agglomerate", "metis_split", "recursive_splits", "refine_split", "spectral_split"]

Split = Callable[[list[int]], list[list[int]]]


def recursive_splits(n: int, split: Split, arity: int) -> Any:
    """Nested tuples from splitting ``0..n-1`` top-down until parts have <= ``arity`` features."""
    todo: list[tuple[int, list[int]]] = [(0, list(range(n)))]
    kids: dict[int, list[int]] = {}
    made: dict[int, Any] = {}
    visited: list[int] = []
    fresh = 1
    while todo:
        key, feats = todo.pop()
        visited.append(key)
        if len(feats) == 1:
            made[key] = feats[0]
            continue
        parts = [[f] for f in feats] if len(feats) <= arity else split(feats)
        kids[key] = list(range(fresh, fresh + len(parts)))
        todo.extend(zip(kids[key], parts))
        fresh += len(parts)
    for key in reversed(visited):
        if key in kids:
            made[key] = tuple(made[c] for c in kids[key])
    return made[0]


def spectral_split(weights: np.ndarray, feats: list[int], k: int) -> list[list[int]]:
    """Cut ``feats`` into ``k`` near-equal parts in the order of the graph's Fiedler vector."""
    w = weights[np.ix_(feats, feats)]
    laplacian = np.diag(w.sum(axis=1)) - w
    _, vec = np.linalg.eigh(laplacian)
    order = np.argsort(vec[:, 1], kind="stable") if len(feats) > 1 else np.arange(len(feats))
    return [[feats[i] for i in chunk] for chunk in np.array_split(order, k)]


def metis_split(weights: np.ndarray, feats: list[int], k: int, *, seed: int) -> list[list[int]]:
    """A balanced ``k``-way minimum cut of ``feats`` by METIS (``pip install 'tnreg[metis]'``)."""
    try:
        import pymetis
    except ImportError as err:
        raise ImportError("the metis strategies need pymetis: pip install 'tnreg[metis]'") from err
    scaled = np.rint(weights[np.ix_(feats, feats)] * 1000).astype(np.int64)
    xadj, adjncy, eweights = [0], [], []
    for i in range(len(feats)):
        nbr = np.flatnonzero(scaled[i]).tolist()
        adjncy.extend(nbr)
        eweights.extend(scaled[i, nbr].tolist())
        xadj.append(len(adjncy))
    if adjncy:
        options = pymetis.Options(seed=seed)
        graph = pymetis.CSRAdjacency(xadj, adjncy)
        _, parts = pymetis.part_graph(k, adjacency=graph, eweights=eweights, options=options)
    else:
        parts = [i * k // len(feats) for i in range(len(feats))]
    groups = [[f for f, p in zip(feats, parts) if p == q] for q in range(k)]
    groups = [g for g in groups if g]
    return groups if len(groups) > 1 else [feats[i::k] for i in range(k)]


def refine_split(
    parts: list[list[int]],
    oracle: SetEntropy,
    weights: np.ndarray,
    *,
    objective: str,
    candidates: int,
    budget: int,
) -> list[list[int]]:
    """Swap features between parts while a swap lowers the parts' summed (or max) entropy."""
    parts = [list(p) for p in parts]

    def score(ps: list[list[int]]) -> float:
        values = [oracle(p) for p in ps]
        return sum(values) if objective == "sum" else max(values)

    best = score(parts)
    while oracle.evaluations < budget:
        trial = None
        for i, j, a, b in _kl_candidates(parts, weights, candidates):
            swapped = [list(p) for p in parts]
            swapped[i][swapped[i].index(a)], swapped[j][swapped[j].index(b)] = b, a
            value = score(swapped)
            if value < best - 1e-12:
                best, trial = value, swapped
            if oracle.evaluations >= budget:
                break
        if trial is None:
            break
        parts = trial
    return [sorted(p) for p in parts]


def _kl_candidates(parts: list[list[int]], w: np.ndarray, count: int) -> list[tuple]:
    """The ``count`` swaps (i, j, a, b) of highest Kernighan–Lin gain on the graph ``w``."""
    found: list[tuple[float, int, int, int, int]] = []
    for i in range(len(parts)):
        for j in range(i + 1, len(parts)):
            pi, pj = np.array(parts[i]), np.array(parts[j])
            d_i = w[np.ix_(pi, pj)].sum(axis=1) - w[np.ix_(pi, pi)].sum(axis=1)
            d_j = w[np.ix_(pj, pi)].sum(axis=1) - w[np.ix_(pj, pj)].sum(axis=1)
            gain = d_i[:, None] + d_j[None, :] - 2 * w[np.ix_(pi, pj)]
            top = np.argsort(-gain, axis=None, kind="stable")[:count]
            for t in top:
                a, b = np.unravel_index(t, gain.shape)
                found.append((float(gain[a, b]), i, j, int(pi[a]), int(pj[b])))
    found.sort(key=lambda c: -c[0])
    return [c[1:] for c in found[:count]]


def agglomerate(
    oracle: SetEntropy, weights: np.ndarray, *, arity: int, score: str, budget: int
) -> Any:
    """Greedy merging by exact entropy (see the module vocabulary); returns nested tuples."""
    n = weights.shape[0]
    groups: dict[int, tuple[frozenset, Any]] = {f: (frozenset([f]), f) for f in range(n)}
    links = np.pad(weights, ((0, n), (0, n)))  # summed |correlation| between groups
    partners = max(1, min(n - 1, budget // (2 * n)))

    def value(members: list[int]) -> float:
        union = frozenset().union(*(groups[g][0] for g in members))
        h = oracle(union)
        return h - sum(oracle(groups[g][0]) for g in members) if score == "gain" else h

    def push(g: int) -> None:
        size = len(groups[g][0])
        others = sorted(
            (h for h in groups if h != g), key=lambda h: -links[g, h] / (size * len(groups[h][0]))
        )
        if oracle.evaluations >= budget // 2:
            others = others[:partners]
        for h in others:
            heapq.heappush(heap, (value([g, h]), min(g, h), max(g, h)))

    heap: list[tuple[float, int, int]] = []
    for g in range(n):
        push(g)
    fresh = n
    while len(groups) > 1:
        _, a, b = heapq.heappop(heap)
        if a not in groups or b not in groups:
            continue
        members = [a, b]
        while len(members) < min(arity, len(groups)):
            rest = [h for h in groups if h not in members]
            members.append(min(rest, key=lambda h, ms=members: value([*ms, h])))
        union = frozenset().union(*(groups[g][0] for g in members))
        nested = tuple(groups[g][1] for g in members)
        for g in members:
            links[fresh] += links[g]
            links[:, fresh] += links[:, g]
            del groups[g]
        groups[fresh] = (union, nested)
        push(fresh)
        fresh += 1
    return next(iter(groups.values()))[1]
