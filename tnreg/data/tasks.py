"""Learning tasks on a target: tensor completion and tensor sensing, held as a :class:`Dataset`.

Vocabulary
----------
completion
    Observe entries W*[i] at distinct multi-indices i (sampled without replacement, see
    :mod:`tnreg.data.sampling`); train and test entries are disjoint.
sensing
    Observe y = <W*, x_0 ⊗ ... ⊗ x_{N-1}> with x_n ~ N(0, I): E y^2 = ||W*||^2.
noise
    ``noise_std`` is the absolute standard deviation of i.i.d. Gaussian noise added to each
    *training* value (test values stay clean, so test error measures recovery of W*). For
    scale: a completion target's root-mean-square entry is ||W*|| / sqrt(prod d_n), a sensing
    value's is ||W*||.
dataset
    What a task returns: a :class:`tnreg.data.dataset.Dataset`.
"""

from __future__ import annotations

from typing import Any

import torch

from tnreg.data.checks import DataError, check_count, check_nonnegative, check_seed
from tnreg.data.dataset import Dataset
from tnreg.data.sampling import draw_entries, gaussian_measurements
from tnreg.data.targets import Target

__all__ = ["completion_task", "sensing_task"]


def _noise(values: torch.Tensor, std: float, gen: torch.Generator) -> torch.Tensor:
    if std == 0:
        return values
    return values + std * torch.randn(values.shape, generator=gen, dtype=values.dtype)


def _check_task(target: Any, num_train: Any, num_test: Any, noise_std: Any, seed: Any) -> tuple:
    if not isinstance(target, Target):
        raise DataError(
            f"target must be a tnreg.data target (e.g. random_cp_target(...)); "
            f"got {type(target).__name__}"
        )
    return (
        check_count(num_train, "num_train"),
        check_count(num_test, "num_test", minimum=0),
        check_nonnegative(noise_std, "noise_std"),
        check_seed(seed),
    )


def completion_task(
    target: Target,
    num_train: int,
    num_test: int = 0,
    *,
    noise_std: float = 0.0,
    seed: int,
) -> Dataset:
    """Observe ``num_train`` + ``num_test`` distinct entries of ``target``.

    Parameters
    ----------
    target
        The ground truth (any :class:`~tnreg.data.targets.Target`).
    num_train, num_test
        Entries for training and for testing, drawn together without replacement (the test
        entries are disjoint from the training ones).
    noise_std
        Absolute std of Gaussian noise on the training values (see the module docstring).
    seed
        Seeds the entry draw, then the noise.

    Examples
    --------
    >>> from tnreg.data.targets import random_cp_target
    >>> data = completion_task(random_cp_target(4, 10, 5, seed=0), 2000, 500, seed=0)
    >>> data.train_indices.shape, data.test_values.dtype
    (torch.Size([2000, 4]), torch.float64)
    """
    num_train, num_test, noise_std, seed = _check_task(target, num_train, num_test, noise_std, seed)
    gen = torch.Generator().manual_seed(seed)
    entries = draw_entries(target.dims, num_train + num_test, generator=gen)
    values = target(entries).cpu()
    config = {
        "task": "completion",
        "target": target.config,
        "num_train": num_train,
        "num_test": num_test,
        "noise_std": noise_std,
        "seed": seed,
    }
    return Dataset(
        kind="completion",
        dims=tuple(target.dims),
        train_indices=entries[:num_train],
        train_values=_noise(values[:num_train], noise_std, gen),
        test_indices=entries[num_train:],
        test_values=values[num_train:],
        target=target,
        config=config,
    )


def sensing_task(
    target: Target,
    num_train: int,
    num_test: int = 0,
    *,
    noise_std: float = 0.0,
    seed: int,
) -> Dataset:
    """Observe ``<W*, x_0 ⊗ ... ⊗ x_{N-1}>`` at Gaussian rank-one measurements.

    Each x_n has i.i.d. N(0, 1) entries, so E <W*, X>^2 = ||W*||^2 (no further scaling).
    ``noise_std`` is the absolute std of Gaussian noise on the training values.

    Examples
    --------
    >>> from tnreg.data.targets import random_cp_target
    >>> data = sensing_task(random_cp_target(3, (2, 3, 4), 2, seed=0), 100, seed=1)
    >>> [tuple(x.shape) for x in data.train_vectors]
    [(100, 2), (100, 3), (100, 4)]
    """
    num_train, num_test, noise_std, seed = _check_task(target, num_train, num_test, noise_std, seed)
    gen = torch.Generator().manual_seed(seed)
    vectors = gaussian_measurements(target.dims, num_train + num_test, generator=gen)
    values = target.sensing(vectors).cpu()
    config = {
        "task": "sensing",
        "target": target.config,
        "num_train": num_train,
        "num_test": num_test,
        "noise_std": noise_std,
        "seed": seed,
    }
    return Dataset(
        kind="sensing",
        dims=tuple(target.dims),
        train_vectors=[x[:num_train] for x in vectors],
        train_values=_noise(values[:num_train], noise_std, gen),
        test_vectors=[x[num_train:] for x in vectors],
        test_values=values[num_train:],
        target=target,
        config=config,
    )
