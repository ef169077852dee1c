"""The index-batch evaluation engine: entries of a model at a batch of multi-indices.

Vocabulary
----------
batch of multi-indices
    An integer tensor of shape (B, N): row b is one entry (i_0, ..., i_{N-1}) of the tensor.
sub-tuple at a node
    The restriction of a multi-index to the node's mode set. A node's value on a sub-tuple
    depends on nothing else, so it is computed once per *distinct* sub-tuple
    (:mod:`~tnreg.models.engine.rows`).
index schedule
    How one batch is evaluated, built once per batch and reused by every training step on it
    (:mod:`~tnreg.models.engine.schedules`): not a contraction plan
    (:class:`tnreg.contract.ContractionPlan`, the path of one einsum).

Modules: :mod:`~tnreg.models.engine.schedules` (the schedule types),
:mod:`~tnreg.models.engine.planner` (the cost-based planner for product pooling),
:mod:`~tnreg.models.engine.rooted` (tree tensor networks: rooting and their schedules),
:mod:`~tnreg.models.engine.kernels` and :mod:`~tnreg.models.engine.sampled` (the kernels),
:mod:`~tnreg.models.engine.executor` (running a schedule). Models call it through
``model.schedule_indices(indices)`` and ``model(indices)``.
"""

from tnreg.models.engine.executor import evaluate_pooling, evaluate_tree
from tnreg.models.engine.planner import schedule_evaluation
from tnreg.models.engine.rooted import RootedNetwork, root_network, schedule_tree_indices
from tnreg.models.engine.rows import distinct_rows, same_batch
from tnreg.models.engine.schedules import IndexSchedule, Merge, TreeIndexSchedule

__all__ = [
    "IndexSchedule",
    "Merge",
    "RootedNetwork",
    "TreeIndexSchedule",
    "distinct_rows",
    "evaluate_pooling",
    "evaluate_tree",
    "root_network",
    "same_batch",
    "schedule_evaluation",
    "schedule_tree_indices",
]
