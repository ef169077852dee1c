"""The TensorBoard callback: event files hold every tracked metric at its step."""

from __future__ import annotations

import sys

import pytest

from tnreg.data import completion_task, random_cp_target
from tnreg.models import CP
from tnreg.train import TrainConfig, fit
from tnreg.train.tensorboard import TensorBoardCallback


def _scalars(log_dir) -> dict[str, list[tuple[int, float]]]:
    accumulator = pytest.importorskip(
        "tensorboard.backend.event_processing.event_accumulator",
        reason="needs the tensorboard package (pip install tnreg[tensorboard])",
    )
    events = accumulator.EventAccumulator(str(log_dir))
    events.Reload()
    return {t: [(e.step, e.value) for e in events.Scalars(t)] for t in events.Tags()["scalars"]}


def test_event_files_hold_the_metrics(tmp_path):
    pytest.importorskip("tensorboard", reason="needs pip install tnreg[tensorboard]")
    data = completion_task(random_cp_target(3, 4, 1, seed=0), 40, 0, seed=0)
    model = CP(3, 4, rank=3, init_std=0.1, seed=0, ensemble=2)
    with TensorBoardCallback(tmp_path / "tb") as tb:
        result = fit(model, data, TrainConfig(steps=20, track_every=10, lr=0.05), callbacks=[tb])
    scalars = _scalars(tmp_path / "tb")
    loss = [(r["step"], r["loss"]) for r in result.metrics if r["member"] == 1]
    assert [s for s, _ in scalars["loss/member1"]] == [0, 10, 20]
    assert [v for _, v in scalars["loss/member1"]] == pytest.approx([v for _, v in loss], rel=1e-6)
    assert "component/0/member0" in scalars


def test_missing_tensorboard_names_the_extra(monkeypatch, tmp_path):
    monkeypatch.setitem(sys.modules, "torch.utils.tensorboard", None)
    with pytest.raises(ImportError, match=r"pip install 'tnreg\[tensorboard\]'"):
        TensorBoardCallback(tmp_path)
