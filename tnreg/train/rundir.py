"""Run directories: one folder per training run, written so that no work is ever lost.

Layout
------
::

    RUN/
      config.json          the fully resolved config (training, model and data)
      metrics.csv          tidy: one row per (tracked step, ensemble member); columns
                           step, time_s, member, then one column per metric
      checkpoints/last.pt  the latest consistent state (model, optimizer, sampler, trackers)
      checkpoints/best.pt  the state with the lowest total training loss seen at a check
      figures/             plots (written by tnreg.plots)
      summary.json         why and when the run stopped, final metrics per member
      plan.txt             how the training batch is evaluated (index inputs: the index
                           schedule's cost report)

Checkpoints are written atomically (a temporary file, then a rename) and metric rows are
flushed at every check, so a crash or Ctrl-C leaves a readable directory. Read the metrics with
``pandas.read_csv(RUN / "metrics.csv")`` or :func:`read_metrics` (no pandas needed).
"""

from __future__ import annotations

import csv
import json
import math
import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import torch

from tnreg.errors import TnregError

__all__ = [
    "FIXED_COLUMNS",
    "RunDir",
    "RunDirError",
    "model_from_spec",
    "model_spec",
    "read_metrics",
]

FIXED_COLUMNS = ("step", "time_s", "member")


class RunDirError(TnregError, ValueError):
    """A run directory is missing, not a run directory, or would be overwritten."""


def _format(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float):
        return repr(value)  # shortest repr that round-trips: bit-exact comparisons stay possible
    return str(value)


def _parse(text: str) -> float | int:
    if text == "":
        return math.nan
    try:
        return int(text)
    except ValueError:
        return float(text)


def read_metrics(path: str | Path) -> list[dict[str, float | int]]:
    """Rows of a ``metrics.csv`` (or of ``RUN/metrics.csv``) as dicts of numbers.

    Empty cells read as NaN; ``step``, ``member`` and integer metrics (ranks) as ints.

    Raises
    ------
    RunDirError
        If the file does not exist.
    """
    path = Path(path)
    if path.is_dir():
        path = path / "metrics.csv"
    if not path.is_file():
        raise RunDirError(f"no metrics file at {str(path)!r}; is this a run directory?")
    with path.open(newline="") as f:
        return [{k: _parse(v) for k, v in row.items()} for row in csv.DictReader(f)]


class RunDir:
    """A run directory (see the module docstring); create with :meth:`create` or :meth:`open`.

    Examples
    --------
    >>> import tempfile
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     run = RunDir.create(Path(tmp) / "run", {"lr": 0.01})
    ...     run.append_rows([{"step": 0, "time_s": 0.0, "member": 0, "loss": 1.5}])
    ...     read_metrics(run.path)
    [{'step': 0, 'time_s': 0.0, 'member': 0, 'loss': 1.5}]
    """

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self._columns: list[str] | None = None

    # ------------------------------------------------------------------ layout

    @property
    def config_path(self) -> Path:
        """``config.json``."""
        return self.path / "config.json"

    @property
    def metrics_path(self) -> Path:
        """``metrics.csv``."""
        return self.path / "metrics.csv"

    @property
    def checkpoints(self) -> Path:
        """``checkpoints/``."""
        return self.path / "checkpoints"

    @property
    def figures(self) -> Path:
        """``figures/``."""
        return self.path / "figures"

    @property
    def summary_path(self) -> Path:
        """``summary.json``."""
        return self.path / "summary.json"

    @classmethod
    def create(cls, path: str | Path, config: Mapping[str, Any]) -> RunDir:
        """Make a new run directory holding ``config.json``.

        Raises
        ------
        RunDirError
            If ``path`` exists and is not an empty directory (resume it or choose another).
        """
        path = Path(path)
        if path.exists() and (not path.is_dir() or any(path.iterdir())):
            raise RunDirError(
                f"run directory {str(path)!r} already exists and is not empty; continue it with "
                f"--resume {path} or choose another --out"
            )
        run = cls(path)
        run.checkpoints.mkdir(parents=True, exist_ok=True)
        run.figures.mkdir(exist_ok=True)
        _write_json(run.config_path, config)
        return run

    @classmethod
    def open(cls, path: str | Path) -> RunDir:
        """An existing run directory.

        Raises
        ------
        RunDirError
            If ``path`` has no ``config.json``.
        """
        run = cls(path)
        if not run.config_path.is_file():
            raise RunDirError(
                f"{str(run.path)!r} is not a run directory (no config.json); pass the folder "
                f"that `tnreg train --out` wrote"
            )
        run.checkpoints.mkdir(exist_ok=True)
        run.figures.mkdir(exist_ok=True)
        return run

    def read_config(self) -> dict[str, Any]:
        """The contents of ``config.json``."""
        return json.loads(self.config_path.read_text())

    def write_config(self, config: Mapping[str, Any]) -> None:
        """Replace ``config.json``."""
        _write_json(self.config_path, config)

    def write_text(self, name: str, text: str) -> None:
        """Write (atomically) a text file ``name`` in the run directory."""
        path = self.path / name
        tmp = path.with_name(path.name + ".tmp")
        tmp.write_text(text)
        os.replace(tmp, path)

    # ------------------------------------------------------------------ metrics

    def _header(self) -> list[str] | None:
        if self._columns is None and self.metrics_path.is_file():
            with self.metrics_path.open(newline="") as f:
                self._columns = next(csv.reader(f), None)
        return self._columns

    def append_rows(self, rows: Sequence[Mapping[str, Any]]) -> None:
        """Append metric rows (flushed to disk); the first rows fix the columns.

        Raises
        ------
        RunDirError
            If a row has a metric the file has no column for.
        """
        if not rows:
            return
        columns = self._header()
        new = columns is None
        if new:
            names = list(FIXED_COLUMNS)
            for row in rows:
                names += [k for k in row if k not in names]
            columns = self._columns = names
        for row in rows:
            unknown = [k for k in row if k not in columns]
            if unknown:
                raise RunDirError(
                    f"metric {unknown[0]!r} is not a column of {str(self.metrics_path)!r} "
                    f"(columns are fixed by the first check; trackers must return the same keys "
                    f"every time)"
                )
        with self.metrics_path.open("a", newline="") as f:
            writer = csv.writer(f)
            if new:
                writer.writerow(columns)
            for row in rows:
                writer.writerow([_format(row.get(k)) for k in columns])
            f.flush()

    def truncate_metrics(self, step: int) -> None:
        """Drop every metric row with ``step >= step`` (before resuming from that step)."""
        if not self.metrics_path.is_file():
            return
        with self.metrics_path.open(newline="") as f:
            lines = list(csv.reader(f))
        if not lines:
            return
        header, rows = lines[0], lines[1:]
        kept = [r for r in rows if r and int(r[0]) < step]
        tmp = self.metrics_path.with_suffix(".csv.tmp")
        with tmp.open("w", newline="") as f:
            csv.writer(f).writerows([header, *kept])
        os.replace(tmp, self.metrics_path)
        self._columns = header

    # ------------------------------------------------------------------ checkpoints, summary

    def checkpoint_path(self, name: str) -> Path:
        """``checkpoints/<name>.pt``."""
        return self.checkpoints / f"{name}.pt"

    def save_checkpoint(self, name: str, payload: Mapping[str, Any]) -> Path:
        """Write ``checkpoints/<name>.pt`` atomically; returns its path."""
        path = self.checkpoint_path(name)
        tmp = path.with_suffix(".pt.tmp")
        torch.save(dict(payload), tmp)
        os.replace(tmp, path)
        return path

    def load_checkpoint(self, name: str = "last") -> dict[str, Any]:
        """Read ``checkpoints/<name>.pt`` (on the CPU).

        Raises
        ------
        RunDirError
            If the checkpoint does not exist.
        """
        path = self.checkpoint_path(name)
        if not path.is_file():
            raise RunDirError(
                f"no checkpoint {str(path)!r}; the run stopped before its first check"
            )
        return torch.load(path, map_location="cpu", weights_only=False)

    def write_summary(self, summary: Mapping[str, Any]) -> None:
        """Write ``summary.json``."""
        _write_json(self.summary_path, summary)


def _write_json(path: Path, obj: Mapping[str, Any]) -> None:
    tmp = path.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(obj, indent=2, sort_keys=False, default=str) + "\n")
    os.replace(tmp, path)


def model_spec(model: torch.nn.Module) -> dict[str, Any] | None:
    """The structure of a tnreg factorization (no weights), or ``None`` for other modules.

    Stored in checkpoints so :func:`model_from_spec` can rebuild the model to load weights into.
    """
    from tnreg.models import HierarchicalTensorFactorization

    if not isinstance(model, HierarchicalTensorFactorization):
        return None
    return {
        "class": type(model).__name__,
        "tree": model.tree,
        "dims": tuple(model.dims),
        "widths": dict(model.widths),
        "depth": dict(model.depth),
        "output": model.output,
        "ensemble": model.ensemble,
    }


def model_from_spec(
    spec: Mapping[str, Any], *, dtype: torch.dtype = torch.float64
) -> torch.nn.Module:
    """A model with the structure :func:`model_spec` recorded (weights to be loaded)."""
    from tnreg.models import CP, HierarchicalTensorFactorization

    kwargs = {"ensemble": spec["ensemble"], "dtype": dtype}
    if spec["class"] == "CP":
        rank = next(iter(spec["widths"].values()))
        weighted = spec["output"] == "trainable"
        return CP(len(spec["dims"]), spec["dims"], rank, weighted=weighted,
                  depth=spec["depth"], **kwargs)  # fmt: skip
    return HierarchicalTensorFactorization(
        spec["tree"], spec["dims"], spec["widths"], depth=spec["depth"], output=spec["output"],
        **kwargs,
    )  # fmt: skip
