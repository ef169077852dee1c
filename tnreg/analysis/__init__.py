"""Analysis of a factorization from its factors, never densified.

Node spectra (singular values of the matricization [W]_I at every node of the mode tree) from
Gramians; any matricization of any network through a minimum cut; measures (effective, numerical,
hierarchical rank); component and local-component norms; the conserved quantities of gradient
flow; and a per-node report.
"""

from tnreg.analysis.gramians import AnalysisError, frobenius_norm_sq, gramians
from tnreg.analysis.invariants import drift, invariants
from tnreg.analysis.norms import component_norms, factor_norms, local_component_norms
from tnreg.analysis.ranks import (
    effective_rank,
    hierarchical_rank,
    max_hierarchical_rank,
    numerical_rank,
    top_k,
)
from tnreg.analysis.report import RankReport, rank_report
from tnreg.analysis.spectra import dense_spectrum, matricization_spectrum, node_spectra

__all__ = [
    "AnalysisError",
    "RankReport",
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
    "matricization_spectrum",
    "max_hierarchical_rank",
    "node_spectra",
    "numerical_rank",
    "rank_report",
    "top_k",
]
