"""The entanglement entropy of any feature set, for tree searches (cached, counted).

Vocabulary
----------
log Gram
    log G_I = Σ_{f ∈ I} log cos(πθ(x_mf − x_m'f)), kept per feature as an (N, M, M) stack so
    that the Gram matrices of any set I and of its complement are one sum and one subtraction
    away: G_I = exp(log G_I), G_{I^c} = exp(log G_all − log G_I). It needs cos > 0, so
    θ < 0.5 (features lie in [0, 1]).
evaluation
    One entropy computed (cache misses only); searches spend them against a budget.
"""

from __future__ import annotations

import math
from collections.abc import Iterable

import numpy as np
import torch

from tnreg.entanglement.gram import Gram, feature_map, node_spectrum
from tnreg.entanglement.measure import EntanglementError, entropy

__all__ = ["SetEntropy", "abs_correlation"]


class SetEntropy:
    """Entropy of [A]_I for any feature set I of one batch of samples.

    Parameters
    ----------
    x
        Samples (M, N) in [0, 1] (validated by the caller), float64.
    y
        Labels ±1 (M,) or None.
    theta
        Feature-map angle in (0, 0.5).

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> h = SetEntropy(rng.random((30, 4)), None, 0.3)
    >>> abs(h({0, 1}) - h({2, 3})) < 1e-12  # complementary sets: one matricization
    True
    """

    def __init__(self, x: np.ndarray, y: np.ndarray | None, theta: float) -> None:
        if not 0 < theta < 0.5:
            raise EntanglementError(
                f"tree searches need theta in (0, 0.5) so that every cos is > 0; got {theta!r}"
            )
        xt = torch.as_tensor(x, dtype=torch.float64)
        self.m, self.n = xt.shape
        self.phi = feature_map(xt, theta)
        self.y = None if y is None else torch.as_tensor(y, dtype=torch.float64)
        diff = (xt.T[:, :, None] - xt.T[:, None, :]) * (math.pi * theta)
        self.logs = torch.log(torch.cos(diff))  # (N, M, M)
        self.log_all = self.logs.sum(dim=0)
        self.evaluations = 0
        self.cache: dict[frozenset, float] = {}

    def __call__(self, features: Iterable[int]) -> float:
        """The entanglement entropy (nats) across the feature set (cached).

        A set and its complement share one matricization (transposed), so one cache entry.
        """
        key = frozenset(features)
        if 0 not in key:
            key = frozenset(range(self.n)) - key
        if key not in self.cache:
            self.evaluations += 1
            self.cache[key] = self._compute(sorted(key))
        return self.cache[key]

    def _gram(self, idx: list[int], log: torch.Tensor) -> Gram:
        """G of the features ``idx``: a factor while 2^|idx| < M, else exp(log)."""
        if 2 ** len(idx) >= self.m:
            return Gram(dense=torch.exp(log))
        f = self.phi[:, idx[0], :]
        for i in idx[1:]:
            f = (f[:, :, None] * self.phi[:, i, None, :]).reshape(self.m, -1)
        return Gram(factor=f)

    def _compute(self, idx: list[int]) -> float:
        if not idx or len(idx) == self.n:
            return 0.0
        rest = sorted(set(range(self.n)) - set(idx))
        mask = torch.zeros(self.n, dtype=torch.float64)
        mask[idx] = 1.0
        log_in = (mask @ self.logs.view(self.n, -1)).view(self.m, self.m)  # no gathered copy
        inner = self._gram(idx, log_in)
        outer = self._gram(rest, self.log_all - log_in)
        return entropy(node_spectrum(inner, outer, self.y))


def abs_correlation(x: np.ndarray) -> np.ndarray:
    """|Pearson correlation| between features (N × N), zero diagonal, 0 for constant features."""
    centred = x - x.mean(axis=0)
    norm = np.sqrt((centred**2).sum(axis=0))
    live = norm > 0
    safe = np.where(live, norm, 1.0)
    corr = np.abs((centred.T @ centred) / np.outer(safe, safe))
    corr[~live, :] = 0.0
    corr[:, ~live] = 0.0
    np.fill_diagonal(corr, 0.0)
    return corr
