"""Benchmark: a sweep of 32 small CP runs (4 init scales x 8 seeds) on each engine, and faults.

Vocabulary: the *sweep* is :data:`SWEEP` (CP of order 4 on 8^4, R = 10, 300 observed entries,
``--steps`` full-batch GroupRMSprop steps, the loss, error and component trackers every 100
steps, float64, CPU). The *baseline* is the 32 runs one after another in this process
(:class:`tnreg.sweep.local.SerialEngine`, unpacked). *Local* is the process pool
(:class:`~tnreg.sweep.local.LocalEngine`, 2 workers x 1 thread); *packed* trains the 8 seeds of
one init scale as one ensemble (4 packs). *Ray* runs the same tasks on a local Ray instance
(``ray.init(num_cpus=2)``, started once before timing; its start-up is printed apart).
Every wall time includes starting the worker processes. *Same results* compares the
``results.csv`` rows with the baseline's (or the packed local run's) apart from the timing
columns. The *fault* runs kill one worker process (SIGKILL) once the first checkpoint is
written: every other run must finish and the killed one resume from its checkpoint, ending
with the same numbers as the baseline.

Run ``python bench/bench_sweep.py [--steps 600] [--no-ray]``; prints markdown, with the load
average (``uptime``) before and after: on a shared machine, record it with the figures.
"""

from __future__ import annotations

import argparse
import copy
import multiprocessing
import os
import signal
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run from a checkout

BASE = {
    "steps": 600,
    "track_every": 100,
    "checkpoint_every": 100,
    "eps": 1e-14,
    "dtype": "float64",
    "device": "cpu",
    "progress": False,
    "trackers": ["loss", "errors", "components"],
    "model": {"kind": "cp", "order": 4, "dims": 8, "widths": 10},
    "data": {
        "task": "completion",
        "num_train": 300,
        "num_test": 100,
        "target": {"kind": "cp", "order": 4, "dims": 8, "rank": 3, "norm": 1.0},
    },
}
SWEEP = {
    "name": "bench",
    "grid": {"model.init_std": [1e-3, 3e-3, 1e-2, 3e-2]},
    "seeds": list(range(8)),
}


def _spec(steps: int):
    from tnreg.sweep import spec_from_dict

    base = copy.deepcopy(BASE)
    base["steps"] = steps
    return spec_from_dict({**SWEEP, "base": base})


def _strip(rows):
    from tnreg.sweep.results import TIMING_COLUMNS

    return [{k: v for k, v in r.items() if k not in TIMING_COLUMNS} for r in rows]


def _timed(spec, out: Path, engine, pack: bool):
    from tnreg.sweep import run_sweep

    t0 = time.perf_counter()
    result = run_sweep(spec, out, engine=engine, pack=pack)
    seconds = time.perf_counter() - t0
    assert result.counts() == {"done": 32}, result.counts()
    return seconds, result.rows


def _ray_workers() -> list[int]:
    """PIDs of Ray worker processes running a sweep task (their title names the task)."""
    pids = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                cmd = (entry / "cmdline").read_bytes().decode(errors="replace")
            except OSError:
                continue
            if cmd.startswith("ray::_ray_task"):
                pids.append(int(entry.name))
    return pids


def _killer(out: Path, find, killed: dict) -> threading.Thread:
    def run() -> None:
        deadline = time.monotonic() + 600
        while time.monotonic() < deadline:
            if any(out.glob("*/checkpoints/last.pt")):
                pids = find()
                if pids:
                    os.kill(pids[0], signal.SIGKILL)
                    killed["pid"] = pids[0]
                    return
            time.sleep(0.05)

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    return thread


def _fault(spec, out: Path, engine, find, reference) -> str:
    killed: dict = {}
    thread = _killer(out, find, killed)
    from tnreg.sweep import run_sweep

    t0 = time.perf_counter()
    result = run_sweep(spec, out, engine=engine, pack=False)
    seconds = time.perf_counter() - t0
    thread.join(timeout=1)
    same = _strip(result.rows) == _strip(reference)
    return (
        f"killed pid {killed.get('pid', 'none')}; {result.counts()} in {seconds:.1f} s; "
        f"results identical to the baseline: {same}"
    )


def _uptime() -> str:
    return subprocess.run(["uptime"], capture_output=True, text=True, check=False).stdout.strip()


def _max_rel_diff(rows, reference) -> float:
    """Largest relative difference of the numeric final metrics of two runs of the sweep."""
    from tnreg.sweep.results import FIXED, is_number

    worst = 0.0
    for row, ref in zip(rows, reference):
        for key, value in ref.items():
            if key in FIXED or not is_number(value) or not is_number(row.get(key)):
                continue
            worst = max(worst, abs(row[key] - value) / max(abs(value), 1e-300))
    return worst


def _startup(tmp: Path) -> float:
    """Wall time of a 2-run, 1-step sweep on a fresh local engine: the fork server, two workers."""
    from tnreg.sweep import run_sweep, spec_from_dict
    from tnreg.sweep.local import LocalEngine

    base = copy.deepcopy(BASE)
    base["steps"] = 1
    spec = spec_from_dict({"name": "warm", "base": base, "seeds": [0, 1], "pack": False})
    t0 = time.perf_counter()
    run_sweep(spec, tmp / "warm", engine=LocalEngine(workers=2, threads=1))
    return time.perf_counter() - t0


def _local_rows(spec, tmp: Path) -> tuple[list[str], dict]:
    from tnreg.sweep.local import LocalEngine, SerialEngine

    t_serial, serial = _timed(spec, tmp / "serial", SerialEngine(), pack=False)
    start = _startup(tmp)
    t_local, local = _timed(spec, tmp / "local", LocalEngine(workers=2, threads=1), pack=False)
    t_packed, packed = _timed(spec, tmp / "packed", LocalEngine(workers=2, threads=1), pack=True)
    t_spacked, spacked = _timed(spec, tmp / "serial-packed", SerialEngine(), pack=True)
    diff = _max_rel_diff(packed, serial)
    lines = [
        f"| one after another, one process (baseline) | {t_serial:.1f} | 1.00x | – |",
        f"| local, 2 workers x 1 thread | {t_local:.1f} | {t_serial / t_local:.2f}x | "
        f"{_strip(local) == _strip(serial)} |",
        f"| local, 2 workers, packed (4 packs of 8) | {t_packed:.1f} | "
        f"{t_serial / t_packed:.2f}x | {_strip(packed) == _strip(serial)} "
        f"(max rel. diff {diff:.1e}) |",
        f"| one process, packed (4 packs of 8) | {t_spacked:.1f} | {t_serial / t_spacked:.2f}x | "
        f"{_strip(spacked) == _strip(packed)} (vs local packed) |",
        "",
        f"Local engine start-up (fork server and 2 workers, 2 one-step runs; not included in "
        f"the local rows above): {start:.1f} s.",
        "",
    ]
    return lines, {"serial": (t_serial, serial), "local": (t_local, local), "packed": packed}


def _ray_rows(spec, tmp: Path, measured: dict) -> list[str]:
    import ray

    from tnreg.sweep.ray_engine import RayEngine

    t0 = time.perf_counter()
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    start = time.perf_counter() - t0
    try:
        t_ray, rows = _timed(spec, tmp / "ray", RayEngine(), pack=False)
        t_rpack, prow = _timed(spec, tmp / "ray-packed", RayEngine(), pack=True)
        t_local, serial = measured["local"][0], measured["serial"][1]
        over = (t_ray - t_local) / 32
        fault = _fault(spec, tmp / "ray-fault", RayEngine(), _ray_workers, serial)
    finally:
        ray.shutdown()
    return [
        "| engine | wall time (s) | speed-up | same results.csv |",
        "|---|---|---|---|",
        f"| Ray, local instance (num_cpus=2) | {t_ray:.1f} "
        f"| {measured['serial'][0] / t_ray:.2f}x | {_strip(rows) == _strip(serial)} |",
        f"| Ray, packed | {t_rpack:.1f} | {measured['serial'][0] / t_rpack:.2f}x | "
        f"{_strip(prow) == _strip(measured['packed'])} (vs local packed) |",
        "",
        f"Ray start-up (`ray.init(num_cpus=2)`, not included above): {start:.1f} s.",
        f"Ray overhead per run vs the local engine: {over:+.2f} s.",
        f"Fault (Ray worker killed mid-sweep): {fault}.",
    ]


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=600, help="steps per run")
    parser.add_argument("--no-ray", action="store_true", help="skip the Ray engine")
    args = parser.parse_args(argv)
    import torch

    torch.set_num_threads(1)
    spec = _spec(args.steps)
    print(f"## Sweep of 32 CP runs, {args.steps} steps each (CPU)\n")
    print(f"load before: `{_uptime()}`\n")
    print("| engine | wall time (s) | speed-up | same results.csv as baseline |")
    print("|---|---|---|---|")
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        lines, measured = _local_rows(spec, tmp)
        print("\n".join(lines), flush=True)
        if not args.no_ray:
            print("\n".join(_ray_rows(spec, tmp, measured)), flush=True)
        from tnreg.sweep.local import LocalEngine

        fault = _fault(
            spec, tmp / "local-fault", LocalEngine(workers=2, threads=1),
            lambda: [p.pid for p in multiprocessing.active_children()],
            measured["serial"][1],
        )  # fmt: skip
        print(f"Fault (local pool worker killed mid-sweep): {fault}.")
    print(f"\nload after: `{_uptime()}`")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
