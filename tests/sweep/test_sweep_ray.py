"""The Ray engine on a local Ray instance (one for the whole module): same results as locally."""

from __future__ import annotations

import os
import signal
import threading
import time
from pathlib import Path

import pytest
from sweep_cases import tiny

from tnreg.sweep import run_sweep, spec_from_dict
from tnreg.sweep.local import SerialEngine
from tnreg.sweep.results import TIMING_COLUMNS

ray = pytest.importorskip("ray", reason="the ray extra is not installed (pip install 'tnreg[ray]')")


@pytest.fixture(scope="module")
def local_ray():
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    yield ray
    ray.shutdown()


def _without_timings(rows):
    return [{k: v for k, v in r.items() if k not in TIMING_COLUMNS} for r in rows]


@pytest.mark.parametrize("pack", [False, True], ids=["single", "pack"])
def test_ray_writes_the_same_results_as_the_local_engine(local_ray, tmp_path, pack) -> None:
    from tnreg.sweep.ray_engine import RayEngine

    spec = spec_from_dict(tiny(grid={"data.num_train": [60, 1000]}, seeds=[0, 1], pack=pack))
    here = run_sweep(spec, tmp_path / "serial", engine=SerialEngine(threads=1))
    there = run_sweep(spec, tmp_path / "ray", engine=RayEngine())
    assert _without_timings(there.rows) == _without_timings(here.rows)
    assert [r["status"] for r in there.rows] == ["done", "done", "failed", "failed"]


def _ray_task_pids() -> list[int]:
    """Ray workers running a sweep task (Ray titles the process after the task)."""
    pids = []
    for entry in Path("/proc").iterdir():
        try:
            if entry.name.isdigit() and (entry / "cmdline").read_bytes().startswith(b"ray::_ray"):
                pids.append(int(entry.name))
        except OSError:
            continue
    return pids


@pytest.mark.skipif(not Path("/proc").is_dir(), reason="finds Ray's workers through /proc")
def test_a_killed_ray_worker_loses_only_work_since_its_checkpoint(local_ray, tmp_path) -> None:
    from tnreg.sweep.ray_engine import RayEngine

    spec = spec_from_dict(
        tiny(seeds=[0, 1], pack=False, set={"steps": 300, "checkpoint_every": 10})
    )
    here = run_sweep(spec, tmp_path / "serial", engine=SerialEngine(threads=1))
    killed: dict = {}

    def kill() -> None:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            if any((tmp_path / "ray").glob("*/checkpoints/last.pt")) and _ray_task_pids():
                pid = _ray_task_pids()[0]
                os.kill(pid, signal.SIGKILL)
                killed["pid"] = pid
                return
            time.sleep(0.02)

    killer = threading.Thread(target=kill)
    killer.start()
    there = run_sweep(spec, tmp_path / "ray", engine=RayEngine())
    killer.join()
    assert killed, "no Ray worker was killed"
    assert _without_timings(there.rows) == _without_timings(here.rows)
