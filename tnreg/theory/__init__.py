"""Theory: predicted rates and invariants, trajectory analyses, claims and their checks.

- :mod:`tnreg.theory.quantities`: γ (projected gradients), predicted rates (general, balanced,
  ε-bounds) and measured rates (autograd) of (local) component norms, batched over components
  and ensemble members, for CP, HTF on any tree and deep variants.
- :mod:`tnreg.theory.trajectories`: recording gradient flow / GD paths, rise times,
  one-at-a-time detection, blow-up times and log–log slopes.
- :mod:`tnreg.theory.registry`: :class:`Claim`, :class:`Measurement`, :class:`Control`,
  :func:`register` (no catalog imported).
- :mod:`tnreg.theory.claims`: :func:`get_claims`, :func:`run_claims`, :func:`load_claims`.
- :mod:`tnreg.theory.catalog`: the built-in claims (``tnreg verify`` runs them).
- :mod:`tnreg.theory.mutants`: deliberately broken variants of the code (``tnreg verify
  --mutants``), to show each check can fail.
- :mod:`tnreg.theory.report`: tables, JSON and the kill matrix.

Register a claim of your own in a few lines (and run it with ``tnreg verify --module FILE``)::

    from tnreg.theory import Control, Measurement, register

    @register("my-claim", citation="...", statement="...", status="derived",
              setting="...", tolerance=1e-9, rule="measured <= tol")
    def my_claim(quick):
        err = ...  # compare a prediction with a measurement
        bad = ...  # the same comparison where the statement must not hold
        return Measurement(0.0, err, err <= 1e-9,
                           control=Control("what the control changes", bad, bad <= 1e-9))
"""

from tnreg.theory.claims import get_claims, load_claims, run_claims
from tnreg.theory.quantities import (
    TheoryError,
    balanced_rates,
    growth_exponent,
    measured_rates,
    predicted_rates,
    projected_gradients,
    rate_bounds,
    unbalancedness,
)
from tnreg.theory.registry import (
    REGISTRY,
    Claim,
    ClaimError,
    ClaimResult,
    Control,
    Measurement,
    register,
)
from tnreg.theory.report import format_kill_matrix, format_table, results_to_json

__all__ = [
    "REGISTRY",
    "Claim",
    "ClaimError",
    "ClaimResult",
    "Control",
    "Measurement",
    "TheoryError",
    "balanced_rates",
    "format_kill_matrix",
    "format_table",
    "get_claims",
    "growth_exponent",
    "load_claims",
    "measured_rates",
    "predicted_rates",
    "projected_gradients",
    "rate_bounds",
    "register",
    "results_to_json",
    "run_claims",
    "unbalancedness",
]
