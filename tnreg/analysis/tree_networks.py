"""Node spectra of tree tensor networks (Tucker, tensor train, hierarchical Tucker) in linear time.

Vocabulary
----------
tree tensor network
    A network whose tensors, joined by their bonds (indices on exactly two tensors), form a
    tree; every other index is an open mode on one tensor. The dense-core formats are such
    networks.
Gram message
    For a bond e between tensors A and B, the message from A's side is the Gram matrix
    ``G[e, e']`` of everything on A's side of e, every open mode there summed over (a
    tensor contracted with its copy). Messages are computed once per bond and direction by
    one upward and one downward pass (``2 × bonds`` small contractions), each normalized with
    its log scale carried separately, so they stay finite at order 10,000.
split spectrum
    Cutting bond e splits the modes in two: ``σ² = eig(G_A^{1/2} G_B G_A^{1/2})`` (as in
    :mod:`tnreg.analysis.spectra`). A single mode n on tensor T: ``σ² = eig(H_n)`` with ``H_n``
    T contracted with its copy and all messages into T, mode n left open.

The min-cut route of :func:`tnreg.analysis.spectra.matricization_spectrum` runs one max-flow and
one Gram network per node: quadratic in the order. This sweep is linear.
"""

from __future__ import annotations

import math
import random
from collections.abc import Hashable, Mapping
from typing import Any

import torch

from tnreg.contract import contract
from tnreg.einsum import to_equation
from tnreg.gramians import normalize
from tnreg.network import holders as _holders
from tnreg.network import is_tree_network

__all__ = ["TreeNetworkSweep", "is_tree_network"]

_E = "e"


class TreeNetworkSweep:
    """All Gram messages of a tree tensor network; spectra of bond and single-mode splits.

    Parameters
    ----------
    network
        A tree tensor network (see :func:`is_tree_network`).
    tensors
        Name -> ``(E, *sizes)`` tensor (validated by the caller).
    """

    def __init__(self, network: Any, tensors: Mapping[Hashable, torch.Tensor]) -> None:
        self.network = network
        self.tensors = tensors
        self.sizes = network.size_dict  # both are copies per access: read them once
        self.indices = network.tensors
        self.keys: dict[Hashable, tuple[tuple[int, int], int, Hashable]] = {}
        modes = set(network.output)
        self.bonds: dict[Hashable, tuple[Hashable, Hashable]] = {}
        self.neighbors: dict[Hashable, list[tuple[Hashable, Hashable]]] = {
            n: [] for n in self.indices
        }
        for i, where in _holders(network).items():
            if i in modes:
                continue
            (a, _), (b, _) = where
            self.bonds[i] = (a, b)
            self.neighbors[a].append((i, b))
            self.neighbors[b].append((i, a))
        self.messages: dict[tuple[Hashable, Hashable], tuple[torch.Tensor, torch.Tensor]] = {}
        self._n_all = math.prod(self.sizes[i] for i in network.output)
        self._mode_tensor = {i: n for n, idx in self.indices.items() for i in idx if i in modes}
        self._order, self._parent = self._rooted()
        self._sweep()
        self._fingerprints = self._side_fingerprints()

    # ------------------------------------------------------------------ messages

    def _gram(self, name: Hashable, keep: Hashable | None, skip: Hashable | None) -> tuple:
        """Tensor ``name`` with its copy and all messages into it except over bond ``skip``.

        Open modes are summed over, except ``keep`` (a bond or a mode), left open on both
        copies. Returns (normalized (E, r, r) matrix, (E,) log scale).
        """

        def label(i: Hashable, copy: str) -> Hashable:
            return (i, copy) if i == keep or i in self.bonds else ("open", i)

        idx = self.indices[name]
        t = self.tensors[name]
        terms = [(_E, *(label(i, "k") for i in idx)), (_E, *(label(i, "b") for i in idx))]
        ops = [t, t]
        log = torch.zeros(t.shape[0], dtype=t.dtype, device=t.device)
        for bond, other in self.neighbors[name]:
            if bond == skip:
                continue
            matrix, scale = self.messages[(other, bond)]
            terms.append((_E, (bond, "k"), (bond, "b")))
            ops.append(matrix)
            log = log + scale
        out = (_E, (keep, "k"), (keep, "b"))
        eq, _ = to_equation(terms, out)
        g = contract(eq, *ops)
        return normalize((g + g.mT) / 2, log)

    def _rooted(self) -> tuple[list[Hashable], dict[Hashable, tuple[Hashable, Hashable] | None]]:
        """Tensors breadth-first (parents first) and each one's (bond, parent) or None."""
        root = next(iter(self.indices))
        order, parent = [root], {root: None}
        for name in order:  # no recursion: any order
            for bond, other in self.neighbors[name]:
                if other not in parent:
                    parent[other] = (bond, name)
                    order.append(other)
        return order, parent

    def _sweep(self) -> None:
        order, parent = self._order, self._parent
        for name in reversed(order):  # upward: message from name's side over its parent bond
            if parent[name] is not None:
                bond = parent[name][0]
                self.messages[(name, bond)] = self._gram(name, bond, bond)
        for name in order:  # downward: from name's side over each child bond
            for bond, other in self.neighbors[name]:
                if parent[other] == (bond, name):
                    self.messages[(name, bond)] = self._gram(name, bond, bond)

    # ------------------------------------------------------------------ splits

    def _side_fingerprints(self) -> dict[tuple[int, int], tuple[Hashable, Hashable]]:
        """(mode count, Zobrist hash of the mode set) of each bond side -> (bond, side tensor)."""
        rng = random.Random(0)
        code = {m: rng.getrandbits(61) for m in self.network.output}
        own = {n: [i for i in idx if i in code] for n, idx in self.indices.items()}
        total = (len(code), sum(code.values()) % (1 << 61))
        order, parent = self._order, self._parent
        below: dict[Hashable, tuple[int, int]] = {}
        out: dict[tuple[int, int], tuple[Hashable, Hashable]] = {}
        for name in reversed(order):
            count, h = len(own[name]), sum(code[m] for m in own[name])
            for bond, other in self.neighbors[name]:
                if parent.get(other) == (bond, name):
                    count, h = count + below[other][0], h + below[other][1]
            below[name] = (count, h % (1 << 61))
            if parent[name] is not None:
                bond, up = parent[name]
                out.setdefault(below[name], (bond, name))
                rest = (total[0] - below[name][0], (total[1] - below[name][1]) % (1 << 61))
                out.setdefault(rest, (bond, up))
        self._code = code
        return out

    def node_keys(self, tree: Any) -> dict[Hashable, tuple[tuple[int, int], int, Hashable]]:
        """Per tree node: (fingerprint of its mode set, Π of its mode sizes, its mode or None).

        Computed children before parents in one pass (linear, no per-node mode lists).
        """
        from tnreg.trees import postorder

        out: dict[Hashable, tuple[tuple[int, int], int, Hashable]] = {}
        for v in postorder(tree):
            kids = list(tree.successors(v))
            if not kids:
                mode = tree.nodes[v]["mode"]
                out[v] = ((1, self._code[mode]), self.sizes[mode], mode)
                continue
            count = sum(out[c][0][0] for c in kids)
            h = sum(out[c][0][1] for c in kids) % (1 << 61)
            size = math.prod(out[c][1] for c in kids)
            out[v] = ((count, h), size, out[kids[0]][2] if len(kids) == 1 else None)
        return out

    def scaled(
        self, key: tuple[int, int], n_rows: int, mode: Hashable | None
    ) -> tuple[torch.Tensor, torch.Tensor] | None:
        """``(σ/σ_max (E, k), log σ_max (E,))`` of the split with the modes of ``key`` on the rows
        (see :meth:`node_keys`): one mode, or one side of a bond; None for other splits."""
        n_cols = self._n_all // n_rows
        if key[0] == 1 and mode is not None:
            name = self._mode_tensor[mode]
            others = math.prod(self.sizes[i] for i in self.indices[name] if i != mode)
            h, log = self._gram(name, mode, None)
            sq = torch.linalg.eigvalsh(h).flip(-1).clamp_min(0)
            return _finish(sq, log, min(self.sizes[mode], others, n_cols))
        if key not in self._fingerprints:
            return None
        bond, inside = self._fingerprints[key]
        a, b = self.bonds[bond]
        outside = b if inside == a else a
        ga, la = self.messages[(inside, bond)]
        gb, lb = self.messages[(outside, bond)]
        lam, q = torch.linalg.eigh(ga)
        s = lam.clamp_min(0).sqrt()
        m = s[..., :, None] * (q.mT @ gb @ q) * s[..., None, :]
        sq = torch.linalg.eigvalsh((m + m.mT) / 2).flip(-1).clamp_min(0)
        limit = [self.sizes[bond], n_rows, n_cols]
        for side in (inside, outside):
            limit.append(math.prod(self.sizes[i] for i in self.indices[side] if i != bond))
        return _finish(sq, la + lb, min(limit))


def _finish(sq: torch.Tensor, log_scale: torch.Tensor, k: int) -> tuple[torch.Tensor, torch.Tensor]:
    sigma = sq.sqrt()
    if sigma.shape[-1] >= k:
        sigma = sigma[..., :k]
    else:
        sigma = torch.cat([sigma, sigma.new_zeros(*sigma.shape[:-1], k - sigma.shape[-1])], -1)
    top = sigma[..., 0]
    relative = sigma / torch.where(top > 0, top, torch.ones_like(top))[..., None]
    return relative, torch.log(top) + 0.5 * log_scale
