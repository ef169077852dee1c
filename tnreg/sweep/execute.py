"""Run a sweep: expand its points, group them into tasks, hand the tasks to an engine.

Vocabulary
----------
sweep directory
    ``OUT/`` holds ``sweep.json`` (the sweep: its name, kind, axes and every point's config),
    one run directory per point (``OUT/<point name>/``), ``packs/`` (ensemble packs, see
    :mod:`tnreg.sweep.packing`) and ``results.csv`` (:mod:`tnreg.sweep.results`).
rerun
    Running a sweep into a directory that already holds it skips finished runs, resumes
    interrupted ones from their last checkpoint and retries failed ones. The sweep may grow
    (new axis values, new seeds); a point whose config changed is an error, since its run
    directory holds another run, except a raised ``epochs`` of a locality point: it continues
    the runs that stopped at the old limit (:data:`tnreg.locality.runner.EXTENDABLE`).
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tnreg.sweep.packing import Task, plan_tasks
from tnreg.sweep.points import Point, expand
from tnreg.sweep.results import result_rows, write_results
from tnreg.sweep.runner import is_finished, outcome_from_dir
from tnreg.sweep.spec import SweepError, SweepSpec

__all__ = ["ENGINES", "SweepResult", "make_engine", "plan", "run_sweep"]

#: Engine names for :func:`make_engine`.
ENGINES = ("local", "ray", "serial")


@dataclass
class SweepResult:
    """What :func:`run_sweep` did.

    Attributes
    ----------
    out
        The sweep directory.
    rows
        The rows of ``results.csv``.
    tasks
        The tasks that were run (finished ones are not).
    interrupted
        Whether the sweep was stopped (Ctrl-C) before every task ran.
    seconds
        Wall-clock time.
    """

    out: Path
    rows: list[dict[str, Any]]
    tasks: list[Task] = field(default_factory=list)
    interrupted: bool = False
    seconds: float = 0.0

    def counts(self) -> dict[str, int]:
        """Number of runs per status."""
        out: dict[str, int] = {}
        for row in self.rows:
            out[row["status"]] = out.get(row["status"], 0) + 1
        return out


def make_engine(
    name: str,
    *,
    workers: int | None = None,
    threads: int | None = None,
    address: str | None = None,
    spec: SweepSpec | None = None,
) -> Any:
    """The engine called ``name`` (one of :data:`ENGINES`), sized for ``spec``'s resources.

    The local engine runs ``threads`` (default: the spec's ``resources.cpus``) torch threads
    per run and ``workers`` runs at a time (default: as many as fit the cores, and when runs
    ask for GPUs, as many as the GPUs hold; every run then uses the default CUDA device).
    The Ray engine asks Ray for the spec's CPUs (or ``threads``) and GPUs per run.

    Raises
    ------
    SweepError
        On an unknown engine, or an address given to the local engine.
    """
    if address is not None and name != "ray":
        raise SweepError(f"--address {address!r} needs --engine ray; got --engine {name!r}")
    cpus = spec.resources.cpus if spec is not None else 1
    gpus = spec.resources.gpus if spec is not None else 0.0
    if name == "local":
        from tnreg.sweep.local import LocalEngine

        return LocalEngine(*_local_size(workers, threads, cpus, gpus))
    if name == "serial":
        from tnreg.sweep.local import SerialEngine

        return SerialEngine()
    if name == "ray":
        from tnreg.sweep.ray_engine import RayEngine

        return RayEngine(address, workers=workers, cpus=threads or cpus, gpus=gpus)
    raise SweepError(f"unknown engine {name!r}; valid options: {list(ENGINES)}")


def _local_size(workers: int | None, threads: int | None, cpus: int, gpus: float) -> tuple:
    """Workers and threads of the local engine: ``cpus`` threads per run by default, as many
    runs as fit the cores, and no more runs than the GPUs hold when runs ask for GPUs."""
    import os

    threads = threads or cpus
    if workers is None:
        workers = max(1, (os.cpu_count() or 1) // threads)
        if gpus > 0:
            import torch

            workers = max(1, min(workers, int(torch.cuda.device_count() / gpus)))
    return workers, threads


def plan(spec: SweepSpec, *, pack: bool | None = None) -> tuple[list[Point], list[Task]]:
    """The points of ``spec`` and the tasks they run in (``pack`` overrides the spec's)."""
    points = expand(spec)
    use_pack = spec.pack if pack is None else pack
    return points, plan_tasks(
        points, pack=use_pack and spec.kind == "train", max_pack=spec.max_pack
    )


def _sweep_record(spec: SweepSpec, points: Sequence[Point]) -> dict[str, Any]:
    return {
        "name": spec.name,
        "kind": spec.kind,
        "axes": spec.axis_keys,
        "seeds": list(spec.seeds),
        "metrics": list(spec.metrics),
        "curve": spec.curve,
        "points": [
            {"name": p.name, "values": p.values, "seed": p.seed, "config": p.config} for p in points
        ],
    }


def _extendable(kind: str) -> tuple[str, ...]:
    """Settings a point of this kind may change on a sweep directory (raising them extends)."""
    if kind != "locality":
        return ()
    from tnreg.locality.runner import EXTENDABLE

    return EXTENDABLE


def _continues(old: dict[str, Any], new: dict[str, Any], free: tuple[str, ...]) -> bool:
    """Whether ``new`` is ``old`` with some of the ``free`` settings raised (or the same)."""
    if {k: v for k, v in old.items() if k not in free} != {
        k: v for k, v in new.items() if k not in free
    }:
        return False
    for k in free:
        a, b = old.get(k), new.get(k)
        if a != b and not (isinstance(a, int) and isinstance(b, int) and b > a):
            return False
    return True


def _check_same_sweep(out: Path, record: dict[str, Any]) -> dict[str, Any]:
    """Merge with an existing ``sweep.json``; a point whose config changed is an error."""
    path = out / "sweep.json"
    if not path.is_file():
        return record
    old = json.loads(path.read_text())
    old_points = {p["name"]: p for p in old.get("points", [])}
    new = json.loads(json.dumps(record, default=str))
    free = _extendable(new.get("kind", ""))
    for p in new["points"]:
        before = old_points.get(p["name"])
        if before is not None and not _continues(before["config"], p["config"], free):
            a, b = before["config"], p["config"]
            changed = sorted(k for k in a.keys() | b.keys() if a.get(k) != b.get(k))
            grow = f" ({', '.join(free)} may only be raised)" if free else ""
            raise SweepError(
                f"{str(out)!r} already holds point {p['name']!r} with another config "
                f"(changed: {changed}){grow}; choose another --out or remove that run directory"
            )
    names = {p["name"] for p in new["points"]}
    new["points"] += [p for n, p in old_points.items() if n not in names]
    return new


def prepare(spec: SweepSpec, out: str | Path, points: Sequence[Point]) -> Path:
    """Create (or check) the sweep directory and write ``sweep.json``."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    record = _check_same_sweep(out, _sweep_record(spec, points))
    tmp = out / "sweep.json.tmp"
    tmp.write_text(json.dumps(record, indent=2, default=str) + "\n")
    tmp.replace(out / "sweep.json")
    return out


def run_sweep(
    spec: SweepSpec,
    out: str | Path,
    *,
    engine: Any = None,
    pack: bool | None = None,
    on_outcome: Callable[[dict[str, Any]], None] | None = None,
) -> SweepResult:
    """Run every unfinished point of ``spec`` into the sweep directory ``out``.

    Parameters
    ----------
    spec
        The sweep (:func:`tnreg.sweep.load_sweep`).
    out
        The sweep directory (created; a rerun continues it, see the module docstring).
    engine
        A :class:`~tnreg.sweep.local.LocalEngine` (default) or
        :class:`~tnreg.sweep.ray_engine.RayEngine`.
    pack
        Override the spec's ``pack``.
    on_outcome
        Called with each point's outcome as its task ends (progress output).

    Returns
    -------
    SweepResult
        Also when interrupted: every finished run is intact, rerun to go on.
    """
    t0 = time.perf_counter()
    points, tasks = plan(spec, pack=pack)
    out = prepare(spec, out, points)
    outcomes = {p.name: outcome_from_dir(out / p.name, p.name) for p in points}
    todo = [t for t in tasks if not all(is_finished(out / p.name, p.config) for p in t.points)]
    write_results(out / "results.csv", result_rows(points, outcomes))

    def on_done(task_outcomes: list[dict[str, Any]]) -> None:
        for o in task_outcomes:
            outcomes[o["name"]] = o
            if on_outcome is not None:
                on_outcome(o)
        write_results(out / "results.csv", result_rows(points, outcomes))

    engine = engine if engine is not None else make_engine("local", spec=spec)
    completed = engine.run(todo, out, spec.kind, on_done) if todo else True
    rows = result_rows(points, outcomes)
    write_results(out / "results.csv", rows)
    return SweepResult(out, rows, todo, not completed, time.perf_counter() - t0)
