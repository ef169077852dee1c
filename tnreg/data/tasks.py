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
    Tensors ``train_indices`` (B, N) long and ``train_values`` (B,) float64 (completion), or
    ``train_vectors`` (one (B, d_n) tensor per mode) for sensing; the same for ``test_*``;
    the ``target`` (``None`` for real data) and the ``config`` that rebuilds it all
    (:func:`tnreg.data.make_dataset`).
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any

import torch

from tnreg.data.checks import DataError, check_choice, check_count, check_nonnegative, check_seed
from tnreg.data.sampling import draw_entries, gaussian_measurements
from tnreg.data.targets import Target

__all__ = ["KINDS", "Dataset", "completion_task", "sensing_task"]

KINDS = ("completion", "sensing")
SPLITS = ("train", "test")


@dataclass(eq=False)
class Dataset:
    """Train and test observations of a tensor, with the target and config that made them.

    Attributes
    ----------
    kind
        ``"completion"`` (inputs are multi-indices) or ``"sensing"`` (inputs are vectors).
    dims
        Mode sizes of the tensor.
    train_values, test_values
        Observed values, shape (B,) and (B_test,).
    train_indices, test_indices
        Completion: (B, N) long multi-indices; ``None`` for sensing.
    train_vectors, test_vectors
        Sensing: one (B, d_n) tensor per mode; ``None`` for completion.
    target
        The ground truth (``None`` for real data such as images).
    config
        JSON-able dict; ``make_dataset(config)`` rebuilds identical tensors.
    info
        Facts found while building (e.g. duplicate images); JSON-able, not needed to rebuild.
    """

    kind: str
    dims: tuple[int, ...]
    train_values: torch.Tensor
    test_values: torch.Tensor
    train_indices: torch.Tensor | None = None
    test_indices: torch.Tensor | None = None
    train_vectors: list[torch.Tensor] | None = None
    test_vectors: list[torch.Tensor] | None = None
    target: Target | None = None
    config: dict[str, Any] = field(default_factory=dict)
    info: dict[str, Any] = field(default_factory=dict)

    @property
    def order(self) -> int:
        """Number of modes N."""
        return len(self.dims)

    @property
    def num_train(self) -> int:
        """Number of training observations."""
        return int(self.train_values.shape[0])

    @property
    def num_test(self) -> int:
        """Number of test observations."""
        return int(self.test_values.shape[0])

    def inputs(self, split: str = "train") -> torch.Tensor | list[torch.Tensor]:
        """The model inputs of ``split``: indices (completion) or vectors (sensing)."""
        check_choice(split, SPLITS, "split")
        name = "indices" if self.kind == "completion" else "vectors"
        return getattr(self, f"{split}_{name}")

    def values(self, split: str = "train") -> torch.Tensor:
        """The observed values of ``split``."""
        check_choice(split, SPLITS, "split")
        return getattr(self, f"{split}_values")

    def predict(self, model: Any, split: str = "train") -> torch.Tensor:
        """A tnreg model's outputs on ``split``: ``model(indices)`` or ``model.forward_sensing``."""
        x = self.inputs(split)
        return model(x) if self.kind == "completion" else model.forward_sensing(x)

    def to(
        self, device: torch.device | str | None = None, dtype: torch.dtype | None = None
    ) -> Dataset:
        """A copy with tensors on ``device`` and values/vectors in ``dtype`` (indices stay long).

        The target moves to ``device`` and stays float64.
        """
        if dtype is not None and not dtype.is_floating_point:
            raise DataError(f"dtype must be a floating dtype (values); got {dtype}")

        def move(x: torch.Tensor | None) -> torch.Tensor | None:
            if x is None:
                return None
            return x.to(device=device, dtype=None if not x.is_floating_point() else dtype)

        def move_all(xs: list[torch.Tensor] | None) -> list[torch.Tensor] | None:
            return None if xs is None else [move(x) for x in xs]

        return replace(
            self,
            train_values=move(self.train_values),
            test_values=move(self.test_values),
            train_indices=move(self.train_indices),
            test_indices=move(self.test_indices),
            train_vectors=move_all(self.train_vectors),
            test_vectors=move_all(self.test_vectors),
            target=None if self.target is None or device is None else self.target.to(device),
        )

    def save(self, path: Any) -> None:
        """Save to one file (tensors + config + target factors); see :func:`load_dataset`."""
        from tnreg.data.io import save_dataset

        save_dataset(self, path)

    @classmethod
    def load(cls, path: Any) -> Dataset:
        """Load a file written by :meth:`save`."""
        from tnreg.data.io import load_dataset

        return load_dataset(path)

    def __repr__(self) -> str:
        task = self.config.get("task", self.kind)
        same = len(set(self.dims)) == 1 and self.order > 4
        dims = f"({self.dims[0]},)*{self.order}" if same else str(self.dims)
        return (
            f"Dataset(task={task!r}, kind={self.kind!r}, dims={dims}, "
            f"train={self.num_train}, test={self.num_test}, target={self.target!r})"
        )


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
