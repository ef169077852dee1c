"""A dataset's split as model inputs: picked, moved to the model's device, scheduled once.

Vocabulary
----------
split
    ``"train"`` or ``"test"``: a dataset's ``{split}_values`` with its ``{split}_indices``
    (completion) or ``{split}_vectors`` (sensing), as :class:`tnreg.data.Dataset` holds them.
inputs
    What the model is evaluated at (see :mod:`tnreg.train.step`): a long tensor of
    multi-indices, a list of measurement vectors, or, for full-batch index inputs of a model
    with ``schedule_indices``, the model's precomputed index schedule of that batch.

Used by the training loop (:func:`tnreg.train.fit`), gradient flow
(:func:`tnreg.train.gradient_flow`) and captured steps (:class:`tnreg.train.capture.CapturedStep`).
"""

from __future__ import annotations

from typing import Any

import torch

__all__ = ["move_inputs", "schedule_inputs", "split_inputs"]


def split_inputs(data: Any, split: str) -> tuple[Any, torch.Tensor | None]:
    """The ``(inputs, values)`` of ``data``'s ``split``; ``(None, None)`` for an empty split.

    Raises
    ------
    TypeError
        If the train split lacks values or inputs (``data`` is not a dataset).

    Examples
    --------
    >>> from tnreg.data import completion_task, random_cp_target
    >>> data = completion_task(random_cp_target(3, 4, 2, seed=0), 10, seed=0)
    >>> inputs, values = split_inputs(data, "train")
    >>> tuple(inputs.shape), tuple(values.shape), split_inputs(data, "test")
    ((10, 3), (10,), (None, None))
    """
    values = getattr(data, f"{split}_values", None)
    inputs = getattr(data, f"{split}_indices", None)
    if inputs is None:
        inputs = getattr(data, f"{split}_vectors", None)
    if split == "train" and (inputs is None or values is None):
        raise TypeError(
            "data must have train_values and train_indices (completion) or train_vectors "
            f"(sensing), e.g. a tnreg.data.Dataset; got {type(data).__name__}"
        )
    if values is not None and values.numel() == 0:
        return None, None
    return inputs, values


def move_inputs(inputs: Any, device: torch.device, dtype: torch.dtype) -> Any:
    """``inputs`` on ``device``; floating tensors (vectors) also cast to ``dtype``.

    Index tensors keep their integer dtype; ``None`` stays ``None``.
    """
    if inputs is None:
        return None
    if isinstance(inputs, (list, tuple)):
        return [x.to(device=device, dtype=dtype) for x in inputs]
    return inputs.to(device) if not inputs.is_floating_point() else inputs.to(device, dtype)


def schedule_inputs(model: torch.nn.Module, inputs: Any) -> Any:
    """Index inputs as the model's reusable index schedule (checked and prepared once).

    Other inputs (vectors, or a model without ``schedule_indices``) are returned unchanged.
    """
    if isinstance(inputs, torch.Tensor) and not inputs.is_floating_point():
        if hasattr(model, "schedule_indices"):
            return model.schedule_indices(inputs)
    return inputs
