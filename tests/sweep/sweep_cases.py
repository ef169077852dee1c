"""Tiny sweeps shared by the sweep tests: CP of order 3 on 5x5x5, a few dozen steps (float64).

Imported by name (``from sweep_cases import tiny``); not a conftest, so that its name cannot clash
with another test folder's helpers."""

from __future__ import annotations

import copy
from typing import Any

BASE: dict[str, Any] = {
    "steps": 40,
    "track_every": 10,
    "checkpoint_every": 10,
    "lr": 0.05,
    "dtype": "float64",
    "device": "cpu",
    "trackers": ["loss", "errors", "components"],
    "model": {"kind": "cp", "order": 3, "dims": 5, "widths": 4, "init_std": 0.3},
    "data": {
        "task": "completion",
        "num_train": 60,
        "num_test": 20,
        "target": {"kind": "cp", "order": 3, "dims": 5, "rank": 2},
    },
}


def tiny(**raw: Any) -> dict[str, Any]:
    """A raw sweep dict on the tiny base (keys as in a sweep file)."""
    out: dict[str, Any] = {"name": "tiny", "base": copy.deepcopy(BASE)}
    out.update(raw)
    return out
