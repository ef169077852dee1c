"""Run directories: layout, tidy metrics, truncation, atomic checkpoints, model specs."""

from __future__ import annotations

import math

import pytest
import torch
from conftest import small_htf

from tnreg.models import CP
from tnreg.train.rundir import RunDir, RunDirError, model_from_spec, model_spec, read_metrics


def _rows(step, **metrics):
    return [{"step": step, "time_s": 0.5, "member": e, **metrics} for e in range(2)]


def test_layout_and_metrics_round_trip(tmp_path):
    run = RunDir.create(tmp_path / "run", {"lr": 0.1})
    for name in ("config.json", "checkpoints", "figures"):
        assert (tmp_path / "run" / name).exists()
    run.append_rows(_rows(0, loss=0.1 + 0.2, rank=3))
    run.append_rows([{"step": 10, "time_s": 1.0, "member": 0, "loss": math.nan}])
    rows = read_metrics(tmp_path / "run")
    assert rows[0] == {"step": 0, "time_s": 0.5, "member": 0, "loss": 0.1 + 0.2, "rank": 3}
    assert math.isnan(rows[2]["loss"]) and math.isnan(rows[2]["rank"])  # empty cell
    assert RunDir.open(tmp_path / "run").read_config() == {"lr": 0.1}


def test_truncate_keeps_rows_before_the_step(tmp_path):
    run = RunDir.create(tmp_path / "run", {})
    for step in (0, 10, 20):
        run.append_rows(_rows(step, loss=1.0))
    run.truncate_metrics(10)
    run.append_rows(_rows(10, loss=2.0))
    assert [(r["step"], r["loss"]) for r in read_metrics(run.path)] == [
        (0, 1.0), (0, 1.0), (10, 2.0), (10, 2.0),
    ]  # fmt: skip


def test_columns_are_fixed_by_the_first_rows(tmp_path):
    run = RunDir.create(tmp_path / "run", {})
    run.append_rows(_rows(0, loss=1.0))
    with pytest.raises(RunDirError, match="metric 'extra' is not a column"):
        RunDir.open(run.path).append_rows(_rows(1, loss=1.0, extra=2.0))


def test_checkpoints_are_written_whole(tmp_path):
    run = RunDir.create(tmp_path / "run", {})
    run.save_checkpoint("last", {"step": 3, "x": torch.arange(3)})
    assert not list(run.checkpoints.glob("*.tmp"))
    assert run.load_checkpoint("last")["step"] == 3
    with pytest.raises(RunDirError, match=r"no checkpoint .*best\.pt"):
        run.load_checkpoint("best")


def test_existing_and_missing_directories(tmp_path):
    RunDir.create(tmp_path / "run", {})
    with pytest.raises(RunDirError, match="already exists and is not empty"):
        RunDir.create(tmp_path / "run", {})
    (tmp_path / "empty").mkdir()
    RunDir.create(tmp_path / "empty", {})  # an empty folder may be used
    with pytest.raises(RunDirError, match="is not a run directory"):
        RunDir.open(tmp_path)
    with pytest.raises(RunDirError, match="no metrics file"):
        read_metrics(tmp_path)


@pytest.mark.parametrize(
    "build",
    [
        lambda: small_htf(ensemble=2),
        lambda: CP(3, 4, rank=3, weighted=True, depth=2, seed=0, dtype=torch.float64),
    ],
    ids=["htf-ensemble", "weighted-deep-cp"],
)
def test_model_spec_rebuilds_the_structure(build):
    model = build()
    again = model_from_spec(model_spec(model))
    again.load_state_dict(model.state_dict())
    assert type(again) is type(model) and repr(again) == repr(model)
    idx = torch.tensor([[0, 1, 2], [3, 3, 0]])
    assert torch.equal(again(idx), model(idx))


def test_other_modules_have_no_spec():
    assert model_spec(torch.nn.Linear(2, 2)) is None
