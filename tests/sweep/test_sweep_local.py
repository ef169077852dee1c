"""The local engine: a process pool; failures, killed workers and reruns."""

from __future__ import annotations

import multiprocessing
import os
import signal
import threading
import time

import pytest
from sweep_cases import tiny

from tnreg.sweep import run_sweep, spec_from_dict
from tnreg.sweep.local import LocalEngine, SerialEngine
from tnreg.train import read_metrics


def _rows(run):
    return [{k: v for k, v in r.items() if k != "time_s"} for r in read_metrics(run)]


def test_engine_sizes_threads_to_the_cores() -> None:
    cores = os.cpu_count() or 1
    engine = LocalEngine(workers=1)
    assert engine.workers == 1 and engine.threads == cores
    assert LocalEngine().workers * LocalEngine().threads <= cores
    with pytest.raises(ValueError, match="workers must be >= 1; got 0"):
        LocalEngine(workers=0)
    with pytest.raises(ValueError, match="threads must be >= 1; got 0"):
        LocalEngine(threads=0)


def _kill_a_worker_after_first_checkpoint(out, killed: dict) -> None:
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and not killed:
        if any(out.glob("**/checkpoints/last.pt")):
            children = multiprocessing.active_children()
            if children:
                os.kill(children[0].pid, signal.SIGKILL)
                killed["pid"] = children[0].pid
                return
        time.sleep(0.05)


def test_pool_with_a_failing_point_and_a_killed_worker(tmp_path) -> None:
    """Every other run finishes; the killed one resumes and ends as a clean run does."""
    raw = tiny(
        grid={"data.num_train": [60, 1000]},
        seeds=[0, 1],
        pack=False,
        set={"steps": 200, "checkpoint_every": 10},
    )
    spec = spec_from_dict(raw)
    clean = run_sweep(spec, tmp_path / "clean", engine=SerialEngine(threads=1))
    out = tmp_path / "pool"
    killed: dict = {}
    killer = threading.Thread(target=_kill_a_worker_after_first_checkpoint, args=(out, killed))
    killer.start()
    result = run_sweep(spec, out, engine=LocalEngine(workers=2, threads=1))
    killer.join()
    assert killed, "no worker was killed"
    assert [r["status"] for r in result.rows] == ["done", "done", "failed", "failed"]
    assert all("cannot sample" in r["error"] for r in result.rows[2:])
    for row in clean.rows[:2]:
        assert _rows(out / row["name"]) == _rows(tmp_path / "clean" / row["name"])


def test_make_engine_sizes_the_local_pool_from_the_sweeps_resources() -> None:
    from tnreg.sweep import make_engine

    cores = os.cpu_count() or 1
    spec = spec_from_dict(tiny(resources={"cpus": cores}))
    engine = make_engine("local", spec=spec)
    assert (engine.workers, engine.threads) == (1, cores)
    engine = make_engine("local", workers=3, threads=1, spec=spec)
    assert (engine.workers, engine.threads) == (3, 1)
    assert repr(make_engine("serial")) == "SerialEngine()"
    from tnreg.sweep.spec import SweepError

    with pytest.raises(SweepError, match="unknown engine 'dask'; valid options"):
        make_engine("dask")
