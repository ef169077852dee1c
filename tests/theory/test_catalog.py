"""Each built-in claim of issue 11 as a test at quick sizes (float64, fixed seeds).

The docstring of each test cites its claim; the claims themselves live in
:mod:`tnreg.theory.catalog_rates` and :mod:`tnreg.theory.catalog_learning`.
"""

from __future__ import annotations

from tnreg.theory import get_claims


def _check(name: str) -> None:
    (claim,) = get_claims([name])
    result = claim.check(quick=True)
    assert result.passed, f"{name}: measured {result.measured!r}; {result.detail}"


def test_cp_rate():
    """Claim 1 (Razin, Maman & Cohen 2021): CP rate identity, general and balanced, 1e-9."""
    _check("cp-rate")


def test_cp_invariants():
    """Claim 2 (2021): invariants constant under the integrator; exact η² change under GD."""
    _check("cp-invariants")


def test_zero_stays_zero():
    """Claim 3 (2021, 2022): zero (local) components stay exactly zero."""
    _check("zero-stays-zero")


def test_cp_incremental():
    """Claim 4 (2021): small init -> components rise one at a time; large init breaks it."""
    _check("cp-incremental")


def test_cp_blowup():
    """Claim 5 (2021): blow-up time ∝ σ(0)^{-(N-2)/N}, log–log slope within 5%."""
    _check("cp-blowup")


def test_htf_invariants():
    """Claim 6 (Razin, Maman & Cohen 2022): HTF invariants conserved; off-diagonal not."""
    _check("htf-invariants")


def test_htf_rate():
    """Claim 7 (2022): HTF local-component rate identity, K_ν = children + 1."""
    _check("htf-rate")


def test_htf_incremental():
    """Claim 8 (2022): incremental hierarchical-rank learning at the root and an interior node."""
    _check("htf-incremental")


def test_rank_bound():
    """Claim 9 (2022): rank [W]_ν <= non-negligible local components at ν and Pa(ν); min-cut."""
    _check("rank-bound")


def test_eps_bounds():
    """Claim 10 (2021, Theorem 1): the unbalanced ε-bounds hold at every time."""
    _check("eps-bounds")


def test_deep_cp_exponent():
    """Claim 11 (Hariz et al. 2022; hypothesis): deep CP growth exponent 2 − 2/(N·L)."""
    _check("deep-cp-exponent")


def test_dmf_rate():
    """Claim 12 (Arora et al. 2019): dσ_r/dt = L (σ_r²)^{1-1/L} <-∇L, u_r v_rᵀ>, balanced."""
    _check("dmf-rate")


def test_razin_cohen_2x2():
    """Claim 13 (Razin & Cohen 2020): det sign constant, |W₁₁| grows, erank -> 1."""
    _check("razin-cohen-2x2")


def test_greedy_low_rank():
    """Claim 14 (Li, Luo & Lyu 2021): distance to greedy low-rank learning shrinks with α."""
    _check("greedy-low-rank")


def test_separation_rank():
    """Claim 15 (Cohen & Shashua 2017): one-hot values arranged by I equal [W]_I; same rank."""
    _check("separation-rank")
