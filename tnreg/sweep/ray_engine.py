"""The Ray engine: the same tasks as Ray tasks on a Ray cluster (``pip install 'tnreg[ray]'``).

Vocabulary
----------
address
    ``None``: start a local Ray instance for the sweep (stopped afterwards); ``"auto"``: the
    cluster this machine belongs to (``ray start --head`` / ``ray start --address HOST:PORT``);
    ``"HOST:PORT"``: that cluster's head node. When Ray is already initialized in this process
    (a notebook, a test), the engine uses it as it is.
resources
    Each task asks Ray for the sweep's ``[resources] cpus`` and ``gpus`` and runs with that
    many torch threads.
fault tolerance
    A task is a plain ``ray.remote`` function that trains, resumes or skips its run directory
    (:func:`tnreg.sweep.runner.run_task`). When its worker dies, Ray runs it again
    (``max_retries``) and it resumes from the run's last checkpoint: a killed worker loses at
    most the work since that checkpoint. The sweep directory must therefore be on a file
    system every node sees (NFS or similar), as for any shared Ray storage.

Why plain tasks and not Ray Tune: tnreg already owns the parts Tune would add (run
directories, checkpoints and bitwise resume, the results table). Tune would put a second
experiment layout and checkpoint protocol next to tnreg's; a retried idempotent task gives the
same trial resumption with one moving part.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from tnreg.sweep.local import failed_outcomes
from tnreg.sweep.packing import Task
from tnreg.sweep.runner import run_task

__all__ = ["RayEngine", "import_ray"]

OnDone = Callable[[list[dict[str, Any]]], None]


def import_ray() -> Any:
    """``import ray``, or an ImportError naming the extra to install."""
    try:
        import ray
    except ImportError as err:
        raise ImportError(
            "the ray engine needs Ray: pip install 'tnreg[ray]' (or use --engine local)"
        ) from err
    return ray


def _ray_task(task: Task, sweep_dir: str, kind: str, threads: int) -> list[dict[str, Any]]:
    import torch

    torch.set_num_threads(threads)
    return run_task(task, sweep_dir, kind)


class RayEngine:
    """Run tasks as Ray tasks (see the module docstring).

    Parameters
    ----------
    address
        ``None`` (a local instance), ``"auto"`` or ``"HOST:PORT"``.
    workers
        CPUs of the local instance (``None``: all cores); ignored with an address.
    cpus, gpus
        Resources of one task.
    retries
        Ray's ``max_retries``: how often a task whose worker died runs again.
    """

    name = "ray"

    def __init__(
        self,
        address: str | None = None,
        *,
        workers: int | None = None,
        cpus: int = 1,
        gpus: float = 0.0,
        retries: int = 3,
    ) -> None:
        self.address, self.workers = address, workers
        self.cpus, self.gpus, self.retries = cpus, gpus, retries

    def __repr__(self) -> str:
        where = self.address or "local instance"
        return f"RayEngine({where}, cpus={self.cpus}, gpus={self.gpus} per run)"

    def _connect(self, ray: Any) -> bool:
        """Initialize Ray unless it is; returns whether this engine started it."""
        if ray.is_initialized():
            return False
        kwargs: dict[str, Any] = {"include_dashboard": False, "log_to_driver": False}
        if self.address is None:
            kwargs["num_cpus"] = self.workers
        ray.init(address=self.address, **kwargs)
        return True

    def run(self, tasks: Sequence[Task], sweep_dir: Path, kind: str, on_done: OnDone) -> bool:
        """Run ``tasks``, calling ``on_done(outcomes)`` as each ends; ``False`` if interrupted."""
        ray = import_ray()
        started = self._connect(ray)
        remote = ray.remote(num_cpus=self.cpus, num_gpus=self.gpus, max_retries=self.retries)(
            _ray_task
        )
        refs = {remote.remote(t, str(Path(sweep_dir).resolve()), kind, self.cpus): t for t in tasks}
        pending = list(refs)
        try:
            while pending:
                done, pending = ray.wait(pending, num_returns=1)
                for ref in done:
                    on_done(self._result(ray, ref, refs[ref]))
            return True
        except KeyboardInterrupt:
            for ref in pending:  # a running task gets KeyboardInterrupt: fit saves and stops
                ray.cancel(ref)
            for ref in pending:
                on_done(self._result(ray, ref, refs[ref]))
            return False
        finally:
            if started:
                ray.shutdown()

    @staticmethod
    def _result(ray: Any, ref: Any, task: Task) -> list[dict[str, Any]]:
        try:
            return ray.get(ref)
        except ray.exceptions.TaskCancelledError:
            return [{**o, "status": "interrupted"} for o in failed_outcomes(task, "")]
        except ray.exceptions.RayError as err:
            return failed_outcomes(task, f"{type(err).__name__}: {str(err).splitlines()[0]}")
