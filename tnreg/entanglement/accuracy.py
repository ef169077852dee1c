"""Closing the loop: train a hierarchical tensor factorization on a tree, report its accuracy.

Vocabulary
----------
sensing model of a data set
    A :class:`tnreg.HierarchicalTensorFactorization` with mode size 2 on the mode tree,
    evaluated on the feature map of each sample: f(x) = ⟨W, ⊗_f φ(x_f)⟩ + b
    (``model.forward_sensing`` on φ(x), plus a learned scalar bias b). It is the tree tensor
    network whose fit the data entanglement predicts; *width* is its number of channels per
    interior node, equal for every tree compared.
training
    Full-batch Adam on the logistic loss softplus(−y f(x)) from a zero-mean Gaussian init
    rescaled so that the median |f| on the training set is 1; seeded.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import networkx as nx
import numpy as np
import torch

from tnreg.entanglement.gram import feature_map
from tnreg.entanglement.measure import THETA, data_entanglement
from tnreg.models import HierarchicalTensorFactorization

__all__ = ["TreeAccuracy", "compare_trees", "split_data", "train_on_tree"]


@dataclass(frozen=True)
class TreeAccuracy:
    """One trained model: its tree's name and entanglement, its fit and its test accuracy."""

    tree: str
    seed: int
    entanglement_sum: float
    train_loss: float
    train_accuracy: float
    test_accuracy: float


def split_data(x: np.ndarray, y: np.ndarray, *, test_fraction: float, seed: int) -> tuple:
    """A seeded random split ``(x_train, y_train, x_test, y_test)``."""
    perm = np.random.default_rng(seed).permutation(len(y))
    cut = len(y) - max(1, round(test_fraction * len(y)))
    return x[perm[:cut]], y[perm[:cut]], x[perm[cut:]], y[perm[cut:]]


def train_on_tree(
    tree: nx.DiGraph,
    x_train: np.ndarray,
    y_train: np.ndarray,
    x_test: np.ndarray,
    y_test: np.ndarray,
    *,
    width: int,
    theta: float = THETA,
    steps: int = 300,
    lr: float = 3e-3,
    seed: int = 0,
) -> tuple[float, float, float]:
    """Train the sensing model on ``tree``; returns (final train loss, train acc, test acc)."""
    phi_train = feature_map(torch.as_tensor(x_train, dtype=torch.float64), theta)
    phi_test = feature_map(torch.as_tensor(x_test, dtype=torch.float64), theta)
    y_tr = torch.as_tensor(y_train, dtype=torch.float64)
    model = HierarchicalTensorFactorization(
        tree, 2, width, init_mean=0.0, init_std=1.0, seed=seed, dtype=torch.float64
    )
    with torch.no_grad():
        scale = model.forward_sensing(phi_train).abs().median().clamp(min=1e-300).item()
        for p in model.params:
            p.mul_(scale ** (-1.0 / len(model.params)))
    bias = torch.zeros((), dtype=torch.float64, requires_grad=True)
    opt = torch.optim.Adam([*model.parameters(), bias], lr=lr)
    for _ in range(steps):
        opt.zero_grad()
        loss = torch.nn.functional.softplus(-y_tr * (model.forward_sensing(phi_train) + bias))
        loss.mean().backward()
        opt.step()
    with torch.no_grad():
        f_train = model.forward_sensing(phi_train) + bias
        f_test = model.forward_sensing(phi_test) + bias
        final = torch.nn.functional.softplus(-y_tr * f_train).mean().item()
    acc_train = float((torch.sign(f_train).numpy() == y_train).mean())
    return final, acc_train, float((torch.sign(f_test).numpy() == y_test).mean())


def compare_trees(
    candidates: Mapping[str, nx.DiGraph],
    x_train: np.ndarray,
    y_train: np.ndarray,
    x_test: np.ndarray,
    y_test: np.ndarray,
    *,
    width: int,
    seeds: tuple[int, ...] = (0, 1, 2),
    theta: float = THETA,
    steps: int = 300,
    lr: float = 3e-3,
    max_samples: int = 512,
) -> list[TreeAccuracy]:
    """Train on every tree with every seed at one width; entanglement on the training set."""
    out = []
    for name, tree in candidates.items():
        report = data_entanglement(x_train, y_train, tree, theta=theta, max_samples=max_samples)
        for seed in seeds:
            loss, acc_tr, acc_te = train_on_tree(tree, x_train, y_train, x_test, y_test,
                                                 width=width, theta=theta, steps=steps, lr=lr,
                                                 seed=seed)  # fmt: skip
            out.append(TreeAccuracy(name, seed, report.total(), loss, acc_tr, acc_te))
    return out
