"""One task in this process: failures recorded, finished runs skipped, interrupted runs resumed."""

from __future__ import annotations

import json

import pytest
from sweep_cases import tiny

from tnreg.sweep import run_sweep, spec_from_dict
from tnreg.sweep.execute import plan
from tnreg.sweep.local import SerialEngine
from tnreg.sweep.runner import run_task
from tnreg.sweep.spec import SweepError
from tnreg.train import read_metrics


def _rows(run):
    return [{k: v for k, v in r.items() if k != "time_s"} for r in read_metrics(run)]


def test_a_failing_point_is_recorded_and_the_sweep_goes_on(tmp_path) -> None:
    spec = spec_from_dict(tiny(grid={"data.num_train": [60, 1000]}, pack=False))
    result = run_sweep(spec, tmp_path, engine=SerialEngine())
    ok, bad = result.rows
    assert ok["status"] == "done" and ok["stop_reason"] == "max_steps" and ok["steps"] == 40
    assert bad["status"] == "failed"
    assert "DataError: cannot sample 1,020 distinct entries" in bad["error"]
    assert "Traceback" in (tmp_path / bad["name"] / "error.txt").read_text()
    csv_text = (tmp_path / "results.csv").read_text()
    assert "failed" in csv_text and "cannot sample" in csv_text


def test_a_rerun_skips_finished_runs_and_retries_failed_ones(tmp_path) -> None:
    spec = spec_from_dict(tiny(grid={"data.num_train": [60, 1000]}, pack=False))
    run_sweep(spec, tmp_path, engine=SerialEngine())
    done = tmp_path / "num_train=60,seed=0" / "summary.json"
    before = done.stat().st_mtime_ns
    again = run_sweep(spec, tmp_path, engine=SerialEngine())
    assert [t.name for t in again.tasks] == ["num_train=1000,seed=0"]
    assert done.stat().st_mtime_ns == before
    assert [r["status"] for r in again.rows] == ["done", "failed"]


@pytest.mark.parametrize("killed", [False, True], ids=["interrupted", "killed"])
@pytest.mark.parametrize("pack", [False, True], ids=["single", "pack"])
def test_an_interrupted_or_killed_run_resumes_bitwise(tmp_path, killed, pack) -> None:
    spec = spec_from_dict(tiny(seeds=[0, 1], pack=pack))
    _, tasks = plan(spec)
    task = tasks[0]
    clean = run_sweep(spec, tmp_path / "clean", engine=SerialEngine())
    assert clean.counts() == {"done": 2}
    out = tmp_path / "resumed"
    run_sweep(spec, out, engine=SerialEngine())  # makes the directory; then redo one task
    calls = {"n": 0}

    def stop_after_two_checks() -> bool:
        calls["n"] += 1
        return calls["n"] >= 2

    run_dir = out / "packs" / task.pack if task.pack else out / task.points[0].name
    for p in task.points:
        for f in ("summary.json", "metrics.csv", "checkpoints/last.pt", "config.json"):
            (out / p.name / f).unlink(missing_ok=True)
    for f in ("summary.json", "metrics.csv", "checkpoints/last.pt", "checkpoints/best.pt"):
        (run_dir / f).unlink(missing_ok=True)
    if task.pack:
        (run_dir / "config.json").unlink()
    outcomes = run_task(task, out, stop=stop_after_two_checks)
    assert {o["status"] for o in outcomes} == {"interrupted"}
    if killed:  # a killed process writes no summary: only the checkpoint and the rows remain
        (run_dir / "summary.json").unlink()
    resumed = run_sweep(spec, out, engine=SerialEngine())
    assert resumed.counts() == {"done": 2}
    for p in task.points:
        assert _rows(out / p.name) == _rows(tmp_path / "clean" / p.name)
    summary = json.loads((run_dir / "summary.json").read_text())
    assert summary["steps"] == 40


def test_locality_points_go_through_run_point(tmp_path, monkeypatch) -> None:
    import tnreg.locality

    seen = []

    def fake_run_point(settings, run_dir):
        seen.append((dict(settings), run_dir))
        summary = {"test_accuracy": 0.5 + settings["reg"] / 10, "stop_reason": "max_steps"}
        (run_dir / "summary.json").write_text(json.dumps(summary))
        return summary

    monkeypatch.setattr(tnreg.locality, "run_point", fake_run_point, raising=False)
    spec = spec_from_dict(
        {
            "kind": "locality",
            "base": {"task": "pathfinder", "epochs": 1},
            "grid": {"path_length": [3, 5], "reg": [0.0, 3.0]},
            "seeds": [0, 1],
        }
    )
    result = run_sweep(spec, tmp_path, engine=SerialEngine())
    assert result.counts() == {"done": 8} and len(seen) == 8
    assert seen[0][0] == {
        "task": "pathfinder",
        "epochs": 1,
        "path_length": 3,
        "reg": 0.0,
        "seed": 0,
    }
    assert seen[0][1] == tmp_path / "path_length=3,reg=0,seed=0"
    assert [r["test_accuracy"] for r in result.rows[:4]] == [0.5, 0.5, 0.8, 0.8]
    assert all(r["pack"] == "" for r in result.rows)  # locality points are never packed


def test_raising_a_locality_points_epochs_continues_it(tmp_path, monkeypatch) -> None:
    import tnreg.locality

    calls = []

    def fake_run_point(settings, run_dir):
        calls.append(settings["epochs"])
        summary = {"stop_reason": "max_epochs", "epochs_run": settings["epochs"]}
        (run_dir / "summary.json").write_text(json.dumps(summary))
        return summary

    monkeypatch.setattr(tnreg.locality, "run_point", fake_run_point, raising=False)

    def sweep(epochs, **base):
        spec = {"kind": "locality", "base": {"task": "pathfinder", "epochs": epochs, **base}}
        return run_sweep(spec_from_dict(spec), tmp_path, engine=SerialEngine())

    sweep(1)
    sweep(1)  # finished: skipped
    assert sweep(3).counts() == {"done": 1}  # more epochs: run again (run_point resumes)
    assert calls == [1, 3]
    assert json.loads((tmp_path / "sweep.json").read_text())["points"][0]["config"]["epochs"] == 3
    for epochs, base, changed in ((2, {}, "epochs"), (3, {"reg": 1.0}, "reg")):
        with pytest.raises(
            SweepError,
            match=rf"holds point '.*' with another config \(changed: \['{changed}'\]\) "
            r"\(epochs may only be raised\)",
        ):
            sweep(epochs, **base)


def test_locality_without_run_point_fails_clearly(tmp_path, monkeypatch) -> None:
    import tnreg.locality

    monkeypatch.delattr(tnreg.locality, "run_point", raising=False)
    spec = spec_from_dict({"kind": "locality", "base": {"task": "pathfinder"}})
    (row,) = run_sweep(spec, tmp_path, engine=SerialEngine()).rows
    assert row["status"] == "failed" and "tnreg.locality.run_point is not available" in row["error"]


def test_ctrl_c_in_a_locality_point_interrupts_the_sweep(tmp_path, monkeypatch) -> None:
    import tnreg.locality

    def interrupted_run_point(settings, run_dir):
        raise KeyboardInterrupt

    monkeypatch.setattr(tnreg.locality, "run_point", interrupted_run_point, raising=False)
    spec = spec_from_dict({"kind": "locality", "base": {"task": "pathfinder"}, "seeds": [0, 1]})
    result = run_sweep(spec, tmp_path, engine=SerialEngine())
    assert result.interrupted
    assert [r["status"] for r in result.rows] == ["interrupted", "pending"]
