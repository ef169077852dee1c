"""Data for training: ground-truth targets, completion and sensing tasks, real image data.

- :mod:`tnreg.data.targets`, :mod:`tnreg.data.tree_targets`: seeded ground truths at a given
  Frobenius norm (low CP rank, low hierarchical rank on a mode tree, deep, full rank),
  evaluated from their factors.
- :mod:`tnreg.data.sampling`: distinct entries without replacement at any size; Gaussian
  rank-one measurements with E <W, X>^2 = ||W||^2.
- :mod:`tnreg.data.target_config`: :func:`make_target`, a target from its config dict.
- :mod:`tnreg.data.dataset`: :class:`Dataset`, and its one-file format (:func:`save_dataset`,
  :func:`load_dataset`).
- :mod:`tnreg.data.tasks`: :func:`completion_task`, :func:`sensing_task`.
- :mod:`tnreg.data.images`: scikit-learn's 8×8 digits and MNIST-format files as entries of a
  binary tensor of order 64, with random-image and random-label controls.
- :mod:`tnreg.data.io`: :func:`make_dataset`, a dataset from its config dict.

Examples
--------
>>> target = random_cp_target(4, 10, 5, seed=0)
>>> data = completion_task(target, 2000, 500, seed=0)
>>> data.train_indices.shape, round(target.norm, 12)
(torch.Size([2000, 4]), 1.0)
"""

from tnreg.data.checks import DataError
from tnreg.data.dataset import Dataset, load_dataset, save_dataset
from tnreg.data.images import binarize_images, digits_task, image_task, mnist_task
from tnreg.data.io import make_dataset
from tnreg.data.mnist import load_mnist_idx
from tnreg.data.sampling import sample_entries
from tnreg.data.target_config import make_target
from tnreg.data.targets import (
    CPTarget,
    DenseTarget,
    Target,
    random_cp_target,
    random_full_rank_target,
)
from tnreg.data.tasks import completion_task, sensing_task
from tnreg.data.tree_targets import (
    TreeTarget,
    random_deep_target,
    random_tree_target,
    tree_from_config,
    tree_to_config,
)

__all__ = [
    "CPTarget",
    "DataError",
    "Dataset",
    "DenseTarget",
    "Target",
    "TreeTarget",
    "binarize_images",
    "completion_task",
    "digits_task",
    "image_task",
    "load_dataset",
    "load_mnist_idx",
    "make_dataset",
    "make_target",
    "mnist_task",
    "random_cp_target",
    "random_deep_target",
    "random_full_rank_target",
    "random_tree_target",
    "sample_entries",
    "save_dataset",
    "sensing_task",
    "tree_from_config",
    "tree_to_config",
]
