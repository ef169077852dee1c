"""Factorization models: nn.Modules over a mode tree or a tensor network.

:class:`HierarchicalTensorFactorization` (product pooling on any mode tree), :class:`CP` (the star
tree), deep variants (``depth=``), and the dense-core formats :class:`Tucker`,
:class:`TensorTrain` and :class:`HierarchicalTucker`. All share one interface: ``forward(indices)``,
``forward_sensing(vectors)``, ``to_dense()``, ``tree``/``network``, ``ensemble=K``.

Batches of multi-indices are evaluated by :mod:`tnreg.models.engine`: ``schedule_indices(idx)``
builds a batch's index schedule once (each distinct sub-tuple computed once), ``forward`` runs it.
"""

from tnreg.models.base import mse_per_member
from tnreg.models.formats import HierarchicalTucker, NetworkModel, TensorTrain, Tucker
from tnreg.models.htf import CP, HierarchicalTensorFactorization, deep_matrix_factorization

__all__ = [
    "CP",
    "HierarchicalTensorFactorization",
    "HierarchicalTucker",
    "NetworkModel",
    "TensorTrain",
    "Tucker",
    "deep_matrix_factorization",
    "mse_per_member",
]
