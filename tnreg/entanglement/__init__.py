"""Data entanglement: how well a mode tree suits a data set, and the tree that suits it best.

A tree tensor network of width R fits a data set well when the entanglement of the *data tensor*
A = Σ_m y_m ⊗_f φ(x_mf) across every node of its mode tree is low (≲ ln R) (Alexander, De La
Vega, Razin & Cohen, NeurIPS 2023). :func:`data_entanglement` measures it at every node of any
mode tree from Gram matrices of the samples (:mod:`tnreg.entanglement.measure`);
:func:`fit_tree` searches a tree that makes it low (:mod:`tnreg.entanglement.search`);
:mod:`tnreg.entanglement.datasets` loads digits, breast cancer and a planted data set.

Examples
--------
>>> from tnreg.entanglement import data_entanglement, load_data
>>> data = load_data("planted", seed=0)
>>> report = data_entanglement(data.x, data.y, data.tree, max_samples=64)
>>> len(report.rows), report.samples
(62, 64)
"""

from tnreg.entanglement.datasets import DATASETS, Data, load_data, load_file, planted
from tnreg.entanglement.measure import (
    THETA,
    EntanglementError,
    EntanglementReport,
    NodeEntanglement,
    data_entanglement,
)
from tnreg.entanglement.search import OBJECTIVES, STRATEGIES, TreeFit, fit_tree, objective_of

__all__ = [
    "DATASETS",
    "OBJECTIVES",
    "STRATEGIES",
    "THETA",
    "Data",
    "EntanglementError",
    "EntanglementReport",
    "NodeEntanglement",
    "TreeFit",
    "data_entanglement",
    "fit_tree",
    "load_data",
    "load_file",
    "objective_of",
    "planted",
]
