"""The loop: stopping rules, identical reruns, bit-identical resume, Ctrl-C and NaN keep work."""

from __future__ import annotations

import csv
import math
import os
import signal

import pytest
import torch
from conftest import small_cp, small_htf

from tnreg.data import sensing_task
from tnreg.train import TrainConfig, fit, read_metrics
from tnreg.train.rundir import RunDir, RunDirError


def _config(**kwargs) -> TrainConfig:
    base = {"steps": 60, "track_every": 10, "checkpoint_every": 20, "lr": 0.05, "progress": False}
    return TrainConfig(**{**base, **kwargs})


def _rows_without_time(path) -> list[list[str]]:
    with open(path / "metrics.csv", newline="") as f:
        rows = list(csv.reader(f))
    t = rows[0].index("time_s")
    return [r[:t] + r[t + 1 :] for r in rows]


def _interrupt_at(step: int):
    def callback(model, context, metrics):
        if context.step == step:
            raise KeyboardInterrupt

    return callback


def test_fit_records_the_contract_columns_per_member(cp_data, tmp_path):
    result = fit(small_htf(ensemble=2), cp_data, _config(), run_dir=tmp_path / "run")
    assert result.stop_reason == "max_steps" and result.steps == 60
    rows = read_metrics(tmp_path / "run")
    assert len(rows) == 7 * 2 and [r["member"] for r in rows[:2]] == [0, 1]
    cols = set(rows[0])
    for name in ("step", "time_s", "member", "loss", "train_mse", "test_mse", "normalized_error",
                 "param_norm", "erank/0-1", "rank/2", "sigma/0-1/0", "local/0-2/0",
                 "local/0-1/3", "invariant_drift"):  # fmt: skip
        assert name in cols, name
    assert rows[-1]["loss"] < rows[0]["loss"]
    assert isinstance(rows[0]["rank/0-1"], int)
    run = RunDir.open(tmp_path / "run")
    for name in ("last", "best"):
        assert run.checkpoint_path(name).is_file()
    summary = (tmp_path / "run" / "summary.json").read_text()
    assert '"stop_reason": "max_steps"' in summary
    plan = (tmp_path / "run" / "plan.txt").read_text()  # how the training batch is evaluated
    assert plan.startswith(f"IndexSchedule: batch {cp_data.train_indices.shape[0]}, estimated cost")


def test_the_same_seed_gives_an_identical_metrics_file(cp_data, tmp_path):
    for name in ("a", "b"):
        fit(small_cp(), cp_data, _config(batch_size=16), run_dir=tmp_path / name)
    assert _rows_without_time(tmp_path / "a") == _rows_without_time(tmp_path / "b")


@pytest.mark.parametrize(
    ("optimizer", "batch_size", "stop_at"),
    [("group_rmsprop", None, 30), ("adam", 16, 20), ("sgd", 16, 40)],
)
def test_resume_continues_bit_for_bit(cp_data, tmp_path, optimizer, batch_size, stop_at):
    config = _config(optimizer=optimizer, batch_size=batch_size, momentum=0.9, lr=0.02)
    whole = small_cp()
    fit(whole, cp_data, config, run_dir=tmp_path / "whole")
    part = small_cp()
    first = fit(
        part, cp_data, config, run_dir=tmp_path / "part", callbacks=[_interrupt_at(stop_at)]
    )
    assert first.stop_reason == "interrupted" and "--resume" in first.message
    resumed = small_cp(seed=123)  # different init: everything must come from the checkpoint
    second = fit(resumed, cp_data, config, run_dir=tmp_path / "part", resume=True)
    assert second.stop_reason == "max_steps"
    assert _rows_without_time(tmp_path / "whole") == _rows_without_time(tmp_path / "part")
    for a, b in zip(whole.parameters(), resumed.parameters()):
        assert torch.equal(a, b)


def test_sigint_stops_at_the_next_step_and_saves(cp_data, tmp_path):
    def send_sigint(model, context, metrics):
        if context.step == 20:
            os.kill(os.getpid(), signal.SIGINT)

    result = fit(small_cp(), cp_data, _config(), run_dir=tmp_path / "run", callbacks=[send_sigint])
    assert result.stop_reason == "interrupted" and result.steps == 20
    state = RunDir.open(tmp_path / "run").load_checkpoint("last")
    assert state["step"] == 20
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler


def test_nan_stops_and_keeps_the_last_good_checkpoint_and_every_row(cp_data, tmp_path):
    def poison(model, context, metrics):
        if context.step == 20:
            with torch.no_grad():
                model.params[0][0, 0, 0] = math.nan

    result = fit(small_cp(), cp_data, _config(), run_dir=tmp_path / "run", callbacks=[poison])
    assert result.stop_reason == "nonfinite" and "NaN/Inf at step 30" in result.message
    rows = read_metrics(tmp_path / "run")
    assert [r["step"] for r in rows] == [0, 10, 20, 30] and math.isnan(rows[-1]["loss"])
    state = RunDir.open(tmp_path / "run").load_checkpoint("last")
    assert state["step"] == 20
    assert all(torch.isfinite(v).all() for v in state["model"].values())
    for name, value in result.model.state_dict().items():  # the model is the last good state
        assert torch.equal(value, state["model"][name])


def test_tolerance_with_patience_stops_early(cp_data):
    config = _config(steps=2000, tolerance=1e-1, patience=3, lr=0.05)
    result = fit(small_cp(), cp_data, config)
    assert result.stop_reason == "tolerance"
    mses = [r["train_mse"] for r in result.metrics]
    assert all(m < 1e-1 for m in mses[-3:]) and result.steps < 2000


def test_time_limit_stops_and_saves(cp_data, tmp_path):
    result = fit(small_cp(), cp_data, _config(time_limit_s=1e-9), run_dir=tmp_path / "run")
    assert result.stop_reason == "time_limit" and result.steps == 0
    assert RunDir.open(tmp_path / "run").load_checkpoint("last")["step"] == 0


def test_user_tracker_adds_a_column(cp_data):
    def weight_max(model, context):
        return {"weight_max": torch.stack([p.abs().amax() for p in model.parameters()]).max()}

    result = fit(small_cp(ensemble=2), cp_data, _config(steps=10), trackers=[weight_max])
    assert {r["member"] for r in result.metrics} == {0, 1}
    assert result.metrics[0]["weight_max"] == result.metrics[1]["weight_max"] > 0


def test_sensing_data_and_float32(cp_data):
    target = cp_data.target
    data = sensing_task(target, 40, 10, seed=0)
    result = fit(small_cp(), data, _config(steps=20, dtype="float32"))
    assert result.model.params[0].dtype == torch.float32
    assert result.metrics[-1]["loss"] < result.metrics[0]["loss"]


def test_an_existing_run_directory_is_never_overwritten(cp_data, tmp_path):
    fit(small_cp(), cp_data, _config(steps=10), run_dir=tmp_path / "run")
    with pytest.raises(RunDirError, match="already exists and is not empty; continue it"):
        fit(small_cp(), cp_data, _config(steps=10), run_dir=tmp_path / "run")


def test_resume_needs_a_run_directory(cp_data, tmp_path):
    with pytest.raises(ValueError, match="resume=True needs the run_dir"):
        fit(small_cp(), cp_data, _config(), resume=True)
    with pytest.raises(RunDirError, match="is not a run directory"):
        fit(small_cp(), cp_data, _config(), run_dir=tmp_path, resume=True)


def test_data_without_training_tensors_is_rejected():
    with pytest.raises(TypeError, match="data must have train_values and train_indices"):
        fit(small_cp(), object(), _config())


def test_progress_bar_shows_loss_and_rank_on_a_terminal(cp_data, monkeypatch, capsys):
    from tnreg.train import loop

    monkeypatch.setattr(loop, "_is_terminal", lambda: True)
    fit(small_htf(), cp_data, _config(steps=20, progress=True))
    err = capsys.readouterr().err
    assert "20/20" in err and "loss=" in err and "rank=(" in err
    fit(small_htf(), cp_data, _config(steps=20), progress=False)
    assert capsys.readouterr().err == ""


def test_interrupt_inside_a_step_keeps_the_last_consistent_state(cp_data, tmp_path, monkeypatch):
    from tnreg.train import loop

    config = _config(batch_size=16)
    whole = small_cp()
    fit(whole, cp_data, config, run_dir=tmp_path / "whole")
    calls = {"n": 0}
    real_step = loop.train_step

    def flaky_step(*args):
        calls["n"] += 1
        if calls["n"] == 25:  # in the middle of step 25: parameters may be half updated
            raise KeyboardInterrupt
        return real_step(*args)

    monkeypatch.setattr(loop, "train_step", flaky_step)
    first = fit(small_cp(), cp_data, config, run_dir=tmp_path / "part")
    assert first.stop_reason == "interrupted" and "checkpoint at step 20" in first.message
    monkeypatch.setattr(loop, "train_step", real_step)
    resumed = small_cp(seed=5)
    fit(resumed, cp_data, config, run_dir=tmp_path / "part", resume=True)
    assert _rows_without_time(tmp_path / "whole") == _rows_without_time(tmp_path / "part")
    for a, b in zip(whole.parameters(), resumed.parameters()):
        assert torch.equal(a, b)
