"""TensorBoard logging: a :func:`tnreg.train.fit` callback writing every metric as a scalar.

Vocabulary
----------
callback
    ``fn(model, context, metrics)``, called by :func:`tnreg.train.fit` after each tracking
    check with the metrics just recorded (metric name -> one value per ensemble member).
tag
    The metric name (``loss``, ``train_mse``, ``rank/0-1``, ``component/0`` ...) for a single
    model; ``<metric>/member<e>`` for member e of an ensemble. The global step is the
    optimizer step of the check.

Needs the ``tensorboard`` package (``pip install tnreg[tensorboard]``); it is imported only when
a :class:`TensorBoardCallback` is created. View the event files with
``tensorboard --logdir DIR``.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

__all__ = ["TensorBoardCallback"]


def _summary_writer(log_dir: str) -> Any:
    try:
        from torch.utils.tensorboard import SummaryWriter
    except ImportError as err:
        raise ImportError(
            "TensorBoardCallback needs the tensorboard package: pip install 'tnreg[tensorboard]'"
        ) from err
    return SummaryWriter(log_dir=log_dir)


class TensorBoardCallback:
    """Write each check's metrics to TensorBoard event files in ``log_dir``.

    Parameters
    ----------
    log_dir
        Directory of the event files (created if missing). Point ``tensorboard --logdir`` at it
        or at its parent to compare runs.
    writer
        Any object with ``add_scalar(tag, value, step)``, ``flush()`` and ``close()`` (a
        ``SummaryWriter``-compatible writer); default: ``torch.utils.tensorboard.SummaryWriter``
        on ``log_dir``.

    Raises
    ------
    ImportError
        Without a ``writer``, when the ``tensorboard`` package is not installed.

    Examples
    --------
    >>> class Recorder:
    ...     def __init__(self): self.rows = []
    ...     def add_scalar(self, tag, value, step): self.rows.append((tag, value, step))
    ...     def flush(self): pass
    ...     def close(self): pass
    >>> class Context: step = 10
    >>> callback = TensorBoardCallback("unused", writer=Recorder())
    >>> callback(None, Context(), {"loss": [0.5, 0.25], "rank/0": [1, 2]})
    >>> callback.writer.rows[:2]
    [('loss/member0', 0.5, 10), ('loss/member1', 0.25, 10)]
    """

    def __init__(self, log_dir: str | Path, *, writer: Any = None) -> None:
        self.log_dir = Path(log_dir)
        self.writer = writer if writer is not None else _summary_writer(str(self.log_dir))

    def __call__(self, model: Any, context: Any, metrics: Mapping[str, Sequence[float]]) -> None:
        """Log every finite value of ``metrics`` at ``context.step``; flush once."""
        step = int(context.step)
        for name, values in metrics.items():
            single = len(values) == 1
            for member, value in enumerate(values):
                value = float(value)
                if not math.isfinite(value):
                    continue
                tag = name if single else f"{name}/member{member}"
                self.writer.add_scalar(tag, value, step)
        self.writer.flush()

    def close(self) -> None:
        """Close the writer (the event files are complete)."""
        self.writer.close()

    def __enter__(self) -> TensorBoardCallback:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
