"""Analysis of a factorization from its factors, never densified.

Node spectra (singular values of the matricization [W]_I at every node of the mode tree) from
Gramians; any matricization of any network through a minimum cut; measures (effective, numerical,
hierarchical rank); component and local-component norms; the conserved quantities of gradient
flow; and a per-node report.

Every function accepts any tnreg model (or a mode tree with node matrices), validates it once
(:mod:`tnreg.analysis.resolve`), raises :class:`AnalysisError` (a ``ValueError``) on bad input,
computes in float64 unless told otherwise, and returns tensors with a leading ensemble axis.
"""

from tnreg.analysis.gramians import frobenius_norm_sq, gramians, log_frobenius_norm
from tnreg.analysis.invariants import bond_invariants, drift, invariants
from tnreg.analysis.norms import component_norms, factor_norms, local_component_norms
from tnreg.analysis.ranks import (
    effective_rank,
    hierarchical_rank,
    max_hierarchical_rank,
    numerical_rank,
    top_k,
)
from tnreg.analysis.report import RankReport, rank_report
from tnreg.analysis.resolve import AnalysisError
from tnreg.analysis.spectra import (
    ScaledSpectrum,
    dense_spectrum,
    matricization_spectrum,
    node_scaled_spectra,
    node_spectra,
)

__all__ = [
    "AnalysisError",
    "RankReport",
    "ScaledSpectrum",
    "bond_invariants",
    "component_norms",
    "dense_spectrum",
    "drift",
    "effective_rank",
    "factor_norms",
    "frobenius_norm_sq",
    "gramians",
    "hierarchical_rank",
    "invariants",
    "local_component_norms",
    "log_frobenius_norm",
    "matricization_spectrum",
    "max_hierarchical_rank",
    "node_scaled_spectra",
    "node_spectra",
    "numerical_rank",
    "rank_report",
    "top_k",
]
