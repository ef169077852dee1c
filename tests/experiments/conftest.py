"""A tiny preset registered for the duration of a test."""

from __future__ import annotations

import pytest

from tnreg.experiments import presets
from tnreg.experiments.presets import Preset, RunSpec


def _tiny(quick: bool) -> list[RunSpec]:
    config = {
        "lr": 0.05,
        "steps": 40,
        "track_every": 10,
        "checkpoint_every": 40,
        "rank_rtol": 1e-2,
        "progress": False,
        "device": "cpu",
        "model": {
            "kind": "cp",
            "order": 3,
            "dims": 4,
            "widths": 6,
            "init_std": [1e-2, 1e-1],
            "ensemble": 2,
            "seed": 0,
        },
        "data": {
            "task": "completion",
            "num_train": 40,
            "seed": 0,
            "target": {"kind": "cp", "order": 3, "dims": 4, "rank": 2},
        },
    }
    return [RunSpec("cp", config)]


@pytest.fixture
def tiny(monkeypatch):
    preset = Preset("tiny", "a tiny CP run", "component", _tiny, reference="none")
    monkeypatch.setitem(presets.PRESETS, "tiny", preset)
    return preset
