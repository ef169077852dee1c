"""tnreg: implicit regularization in tensor factorizations.

Mode trees (:mod:`tnreg.trees`) describe how the modes of a tensor are grouped; tensor networks
(:mod:`tnreg.network`) hold tensors joined by (hyper)edges; :mod:`tnreg.contract` plans a
contraction once and runs it on torch tensors; :mod:`tnreg.models` holds the factorizations and
:mod:`tnreg.analysis` reads their node-wise spectra and ranks from the factors.
"""

from tnreg import trees
from tnreg.analysis import node_spectra, rank_report
from tnreg.contract import ContractionPlan, contract, plan
from tnreg.errors import TnregError
from tnreg.models import (
    CP,
    HierarchicalTensorFactorization,
    HierarchicalTucker,
    TensorTrain,
    Tucker,
    deep_matrix_factorization,
)
from tnreg.network import TensorNetwork
from tnreg.trees import ModeTreeError, balanced, caterpillar, from_nested, star

__version__ = "0.1.0"

__all__ = [
    "CP",
    "ContractionPlan",
    "HierarchicalTensorFactorization",
    "HierarchicalTucker",
    "ModeTreeError",
    "TensorNetwork",
    "TensorTrain",
    "TnregError",
    "Tucker",
    "__version__",
    "balanced",
    "caterpillar",
    "contract",
    "deep_matrix_factorization",
    "from_nested",
    "node_spectra",
    "plan",
    "rank_report",
    "star",
    "trees",
]
