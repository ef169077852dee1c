"""The local engine: a pool of worker processes on this machine (the default).

Vocabulary
----------
worker processes
    Forked from a fork server that imported torch and tnreg once (spawned where the platform
    has no fork server): the parent process is never forked, so CUDA or threads it started do
    not matter.
workers, threads
    ``workers`` processes (default: one per core, at most one per task) each run one task at
    a time with ``threads`` torch threads (default: ``cores // workers``), so that
    workers x threads <= cores.
serial
    :class:`SerialEngine` runs the tasks one after another in this process (no pool): the
    reference the local engine is measured against, and a debugging aid.
in flight
    At most ``workers`` tasks are submitted at a time, so every submitted task is running.
    When a worker process dies (killed, out of memory), the pool breaks: the tasks in flight
    are submitted again to a fresh pool and resume from their last checkpoint; a task whose
    worker died ``retries + 1`` times is recorded as failed.
Ctrl-C
    Every worker ignores SIGINT between runs; a training run stops at its next check (state
    saved) on Ctrl-C or when the engine asks it to. The engine then collects the tasks in
    flight, submits no more and reports the sweep as interrupted.
"""

from __future__ import annotations

import multiprocessing
import os
import signal
from collections import Counter
from collections.abc import Callable, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from pathlib import Path
from typing import Any

from tnreg.sweep.packing import Task
from tnreg.sweep.runner import run_task

__all__ = ["LocalEngine", "SerialEngine", "failed_outcomes"]

OnDone = Callable[[list[dict[str, Any]]], None]
_STOP: dict[str, Any] = {}
_PRELOAD = ["torch", "tnreg.data", "tnreg.train", "tnreg.sweep.runner"]


def failed_outcomes(task: Task, error: str) -> list[dict[str, Any]]:
    """Outcomes marking every point of ``task`` as failed with ``error``."""
    pack = f"packs/{task.pack}" if task.pack else ""
    return [
        {
            "name": p.name,
            "status": "failed",
            "stop_reason": "",
            "steps": None,
            "wall_time_s": None,
            "pack": pack,
            "member": None,
            "error": error,
            "final": {},
        }
        for p in task.points
    ]


def _context() -> Any:
    """A fork server that has imported torch and tnreg's training code once (workers fork from
    it in well under a second instead of importing torch each); spawn where there is none."""
    if "forkserver" not in multiprocessing.get_all_start_methods():  # pragma: no cover
        return multiprocessing.get_context("spawn")
    ctx = multiprocessing.get_context("forkserver")
    ctx.set_forkserver_preload(_PRELOAD)
    return ctx


def _init_worker(threads: int, stop: Any) -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    import torch

    torch.set_num_threads(threads)
    _STOP["event"] = stop


def _work(task: Task, sweep_dir: str, kind: str) -> list[dict[str, Any]]:
    event = _STOP.get("event")
    return run_task(task, sweep_dir, kind, stop=None if event is None else event.is_set)


class LocalEngine:
    """Run tasks in a process pool on this machine (see the module docstring).

    Parameters
    ----------
    workers
        Worker processes (default: the number of cores).
    threads
        Torch threads per worker (default: ``max(1, cores // workers)``).
    retries
        How often a task is submitted again after its worker died.
    """

    name = "local"

    def __init__(
        self, workers: int | None = None, threads: int | None = None, *, retries: int = 2
    ) -> None:
        cores = os.cpu_count() or 1
        if workers is not None and workers < 1:
            raise ValueError(f"workers must be >= 1; got {workers}")
        if threads is not None and threads < 1:
            raise ValueError(f"threads must be >= 1; got {threads}")
        self.workers = workers or cores
        self.threads = threads or max(1, cores // self.workers)
        self.retries = retries
        self._stop: Any = None

    def __repr__(self) -> str:
        return f"LocalEngine(workers={self.workers}, threads={self.threads})"

    def run(self, tasks: Sequence[Task], sweep_dir: Path, kind: str, on_done: OnDone) -> bool:
        """Run ``tasks``, calling ``on_done(outcomes)`` as each ends; ``False`` if interrupted."""
        ctx = _context()
        stop = self._stop = ctx.Event()
        queue, deaths = list(tasks), Counter()
        workers = max(1, min(self.workers, len(queue)))
        while queue and not stop.is_set():
            pool = ProcessPoolExecutor(
                workers, mp_context=ctx, initializer=_init_worker, initargs=(self.threads, stop)
            )
            try:
                queue, broke = self._drain(pool, queue, str(sweep_dir), kind, on_done, deaths)
            except KeyboardInterrupt:
                stop.set()
                break
            finally:
                pool.shutdown(wait=True, cancel_futures=True)
            for task in broke:
                if deaths[task.name] > self.retries:
                    on_done(failed_outcomes(task, "worker process died"))
                else:
                    queue.insert(0, task)
        return not stop.is_set()

    def _drain(self, pool, queue, sweep_dir, kind, on_done, deaths) -> tuple[list, list]:
        """Keep ``pool`` busy until the queue is empty, the pool breaks or a run is interrupted;
        returns what is left to submit and the tasks whose worker died."""
        queue, flight, broke = list(queue), {}, []
        try:
            while flight or (queue and not self._stop.is_set()):
                while queue and len(flight) < self.workers and not self._stop.is_set():
                    task = queue.pop(0)
                    flight[pool.submit(_work, task, sweep_dir, kind)] = task
                done, _ = wait(list(flight), return_when=FIRST_COMPLETED)
                for fut in done:
                    self._collect(fut, flight.pop(fut), on_done, deaths, broke)
                if broke:
                    break
        except KeyboardInterrupt:
            self._stop.set()  # runs stop at their next check, state saved
            wait(list(flight))
            for fut, task in flight.items():
                self._collect(fut, task, on_done, deaths, broke)
            raise
        wait(list(flight))  # the pool broke: every task in flight died with it
        for fut, task in flight.items():
            self._collect(fut, task, on_done, deaths, broke)
        return queue, broke

    def _collect(self, fut: Future, task: Task, on_done: OnDone, deaths, broke) -> None:
        """Hand a finished future's outcomes to ``on_done`` (or note that its worker died); an
        interrupted run (Ctrl-C reached the workers) stops the sweep."""
        try:
            outcomes = fut.result()
        except BrokenProcessPool:
            deaths[task.name] += 1
            broke.append(task)
            return
        except Exception as err:  # cancelled, or an error outside run_task's own handling
            outcomes = failed_outcomes(task, f"{type(err).__name__}: {err}")
        if any(o["status"] == "interrupted" for o in outcomes):
            self._stop.set()
        on_done(outcomes)


class SerialEngine:
    """Run tasks one after another in this process (see the module docstring)."""

    name = "serial"

    def __init__(self, threads: int | None = None) -> None:
        if threads is not None and threads < 1:
            raise ValueError(f"threads must be >= 1; got {threads}")
        self.threads = threads

    def __repr__(self) -> str:
        return "SerialEngine()" if self.threads is None else f"SerialEngine(threads={self.threads})"

    def run(self, tasks: Sequence[Task], sweep_dir: Path, kind: str, on_done: OnDone) -> bool:
        """Run ``tasks``, calling ``on_done(outcomes)`` after each; ``False`` if interrupted.

        With ``threads`` set, torch runs that many threads during the sweep (a run's numbers
        depend on its thread count, as reductions are split across threads) and the previous
        count is restored afterwards.
        """
        import torch

        before = torch.get_num_threads()
        if self.threads is not None:
            torch.set_num_threads(self.threads)
        try:
            for task in tasks:
                outcomes = run_task(task, sweep_dir, kind)
                on_done(outcomes)
                if any(o["status"] == "interrupted" for o in outcomes):
                    return False
            return True
        finally:
            torch.set_num_threads(before)
