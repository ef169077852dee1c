"""The built-in claims of issue 11, registered in :data:`tnreg.theory.claims.REGISTRY`.

====  ====================  ==========  ================================================
 #    name                  status      statement (short)
====  ====================  ==========  ================================================
 1    cp-rate               theorem     CP rate identity, general and balanced
 2    cp-invariants         theorem     CP invariants: flow-constant, exact GD change
 3    zero-stays-zero       derived     zero (local) components stay zero
 4    cp-incremental        derived     CP components rise one at a time (small init)
 5    cp-blowup             derived     blow-up time ∝ σ(0)^{-(N-2)/N}
 6    htf-invariants        theorem     HTF invariants conserved; off-diagonal not
 7    htf-rate              theorem     HTF local-component rate identity
 8    htf-incremental       derived     node ranks grow one step at a time
 9    rank-bound            theorem     rank [W]_ν <= local components; min-cut bound
 10   eps-bounds            theorem     unbalanced ε-bounds of the 2021 Theorem 1
 11   deep-cp-exponent      hypothesis  deep CP growth exponent 2 − 2/(N·L)
 12   dmf-rate              theorem     deep matrix factorization singular-value rate
 13   razin-cohen-2x2       theorem     det sign kept, |W₁₁| → ∞, erank → 1
 14   greedy-low-rank       theorem     GD approaches greedy rank-1-at-a-time learning
 15   separation-rank       theorem     one-hot values arranged by I equal [W]_I
====  ====================  ==========  ================================================

Importing this module registers them (``run_claims`` does it on first use).
"""

from __future__ import annotations

from tnreg.theory import catalog_learning, catalog_rates  # noqa: F401  (registration)
from tnreg.theory.claims import REGISTRY

__all__ = ["BUILTIN"]

BUILTIN = (
    "cp-rate",
    "cp-invariants",
    "zero-stays-zero",
    "cp-incremental",
    "cp-blowup",
    "htf-invariants",
    "htf-rate",
    "htf-incremental",
    "rank-bound",
    "eps-bounds",
    "deep-cp-exponent",
    "dmf-rate",
    "razin-cohen-2x2",
    "greedy-low-rank",
    "separation-rank",
)

_ordered = {name: REGISTRY.pop(name) for name in BUILTIN}
_ordered.update(REGISTRY)  # claims a user registered before this import keep their place after
REGISTRY.clear()
REGISTRY.update(_ordered)
