"""Countering locality in CNNs (Razin, Maman & Cohen 2022, Sec. 5).

Implicit regularization toward low hierarchical rank is, for convolutional networks, a bias toward
locality: weak interactions between distant patches. This package holds the explicit regularizer
that counters it (:class:`LocalityRegularizer`), the two tasks that need long-range interactions
(:func:`pathfinder`, :func:`same_class`), the networks (:func:`resnet18`, :func:`resnet34`,
:class:`SmallCNN`), a runner with the authors' protocol (:func:`run`, :func:`run_point`), grids
(:func:`sweep`, ``tnreg locality``), a probe of the separation rank between two patches
(:func:`interaction_matrix`, :func:`probe`) and its comparison across training at matched train
accuracy (:func:`compare_locality`).
"""

from tnreg.locality.data import TaskData, load_cifar10
from tnreg.locality.grid import plot_sweep, sweep
from tnreg.locality.matched import compare_locality, load_run_model, matched_epoch
from tnreg.locality.patches import FixedPatches, Patch, RandomPatches, swap_patch
from tnreg.locality.pathfinder import pathfinder, shortcut_accuracy
from tnreg.locality.probe import interaction_matrix, locality_profile, probe
from tnreg.locality.regularizer import LocalityRegularizer, gradient_cosines, locality_penalty
from tnreg.locality.resnet import resnet18, resnet34
from tnreg.locality.runner import LocalityConfig, run, run_point, snapshot_path, stop_reason
from tnreg.locality.same_class import digits, same_class
from tnreg.locality.small_cnn import SmallCNN

__all__ = [
    "FixedPatches",
    "LocalityConfig",
    "LocalityRegularizer",
    "Patch",
    "RandomPatches",
    "SmallCNN",
    "TaskData",
    "compare_locality",
    "digits",
    "gradient_cosines",
    "interaction_matrix",
    "load_cifar10",
    "load_run_model",
    "locality_penalty",
    "locality_profile",
    "matched_epoch",
    "pathfinder",
    "plot_sweep",
    "probe",
    "resnet18",
    "resnet34",
    "run",
    "run_point",
    "same_class",
    "shortcut_accuracy",
    "snapshot_path",
    "stop_reason",
    "swap_patch",
    "sweep",
]
