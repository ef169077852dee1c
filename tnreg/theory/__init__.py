"""Theory: predicted rates and invariants, trajectory analyses and a registry of claims.

- :mod:`tnreg.theory.quantities`: γ (projected gradients), predicted rates (general, balanced,
  ε-bounds) and measured rates (autograd) of (local) component norms, batched over components
  and ensemble members, for CP, HTF on any tree and deep variants.
- :mod:`tnreg.theory.trajectories`: recording gradient flow / GD paths, rise times,
  one-at-a-time detection, blow-up times and log–log slopes.
- :mod:`tnreg.theory.claims`: :class:`Claim`, :class:`ClaimResult`, :func:`register`,
  :func:`run_claims`, :func:`format_table`.
- :mod:`tnreg.theory.catalog`: the 15 built-in claims (``tnreg verify`` runs them).

Register a claim of your own in a few lines::

    from tnreg.theory import Measurement, register

    @register("my-claim", citation="...", statement="...", status="derived",
              setting="...", tolerance=1e-9)
    def my_claim(quick):
        err = ...  # compare a prediction with a measurement
        return Measurement(predicted=0.0, measured=err, passed=err <= 1e-9)
"""

from tnreg.theory.claims import (
    REGISTRY,
    Claim,
    ClaimError,
    ClaimResult,
    Measurement,
    format_table,
    get_claims,
    register,
    results_to_json,
    run_claims,
)
from tnreg.theory.quantities import (
    TheoryError,
    balanced_rates,
    measured_rates,
    predicted_rates,
    projected_gradients,
    rate_bounds,
    unbalancedness,
)

__all__ = [
    "REGISTRY",
    "Claim",
    "ClaimError",
    "ClaimResult",
    "Measurement",
    "TheoryError",
    "balanced_rates",
    "format_table",
    "get_claims",
    "measured_rates",
    "predicted_rates",
    "projected_gradients",
    "rate_bounds",
    "register",
    "results_to_json",
    "run_claims",
    "unbalancedness",
]
