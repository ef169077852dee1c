"""Run one task of a sweep in the current process: train, resume or skip; never raise.

Vocabulary
----------
outcome
    A dict per point: ``name``, ``status``, ``stop_reason``, ``steps``, ``wall_time_s``,
    ``pack``, ``member``, ``error`` and ``final`` (metric -> value, from ``summary.json``).
status
    ``"done"`` (the run stopped by itself: max steps, tolerance or time limit),
    ``"nonfinite"`` (NaN/Inf loss; the last good state is kept), ``"interrupted"`` (Ctrl-C;
    rerunning the sweep resumes it), ``"failed"`` (an exception: its one-line message here,
    the traceback in the run directory's ``error.txt``; rerunning the sweep retries it) or
    ``"pending"`` (not run yet).
finished
    A run directory whose ``summary.json`` says it stopped for any reason but an interruption.
    Finished runs are skipped (a locality run that stopped at its epoch limit is unfinished
    again when its point asks for more epochs); a run directory with a checkpoint but no
    finished summary is resumed from ``checkpoints/last.pt``; one without a checkpoint starts
    again.

Training goes through the one path ``tnreg train`` uses: :func:`tnreg.train.build_model` on
the config's model table, :func:`tnreg.data.make_dataset` on its data table and
:func:`tnreg.train.fit` into the run directory (``resume=True`` from the run's own
``config.json``, as ``tnreg train --resume`` does). Locality points go through
:func:`tnreg.locality.run_point`, which resumes from its own per-epoch checkpoint; Ctrl-C
interrupts them there (the current epoch is lost).
"""

from __future__ import annotations

import contextlib
import json
import shutil
import signal
import threading
import traceback
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Any

from tnreg.sweep.packing import Task, pack_config, split_pack

__all__ = ["STATUSES", "is_finished", "outcome_from_dir", "run_task", "train_config"]

STATUSES = ("done", "nonfinite", "interrupted", "failed", "pending")
_STATUS_OF = {"nonfinite": "nonfinite", "interrupted": "interrupted"}
Stop = Callable[[], bool] | None


def _stop_callback(stop: Callable[[], bool]):
    def check(model: Any, context: Any, metrics: Any) -> None:
        if stop():
            raise KeyboardInterrupt

    return check


def _summary(run_dir: Path) -> dict[str, Any] | None:
    try:
        return json.loads((run_dir / "summary.json").read_text())
    except (OSError, ValueError):
        return None


def is_finished(run_dir: Path, config: Mapping[str, Any] | None = None) -> bool:
    """Whether ``run_dir`` holds a run that stopped for any reason but an interruption.

    With the point's ``config``: a locality run that stopped at its epoch limit is unfinished
    when ``config`` asks for more epochs (it goes on from its checkpoint).
    """
    summary = _summary(run_dir)
    if summary is None or summary.get("stop_reason") == "interrupted":
        return False
    wants = config.get("epochs") if config is not None else None
    if not isinstance(wants, int):
        return True
    from tnreg.locality.runner import wants_more_epochs

    return not wants_more_epochs(summary, wants)


def _final(summary: Mapping[str, Any]) -> dict[str, Any]:
    """Final metrics: a train run's ``final`` (member 0) or a locality run's top-level numbers."""
    if "final" in summary and isinstance(summary["final"], dict):
        return {k: v[0] if isinstance(v, list) and v else v for k, v in summary["final"].items()}
    skip = {"stop_reason", "message", "steps", "wall_time_s", "packed", "members"}
    return {
        k: v
        for k, v in summary.items()
        if k not in skip and isinstance(v, (int, float)) and not isinstance(v, bool)
    }


def outcome_from_dir(run_dir: Path, name: str) -> dict[str, Any]:
    """The outcome recorded in a point's run directory (``"pending"`` when it has none)."""
    summary = _summary(run_dir)
    error_file = run_dir / "error.txt"
    if summary is None:
        status = "failed" if error_file.is_file() else "pending"
        error = _last_line(error_file) if status == "failed" else ""
        return {
            "name": name,
            "status": status,
            "stop_reason": "",
            "steps": None,
            "wall_time_s": None,
            "pack": "",
            "member": None,
            "error": error,
            "final": {},
        }
    reason = summary.get("stop_reason", "")
    packed = summary.get("packed") or {}
    return {
        "name": name,
        "status": _STATUS_OF.get(reason, "done"),
        "stop_reason": reason,
        "steps": summary.get("steps"),
        "wall_time_s": summary.get("wall_time_s"),
        "pack": packed.get("pack", ""),
        "member": packed.get("member"),
        "error": "",
        "final": _final(summary),
    }


def _last_line(path: Path) -> str:
    lines = [line for line in path.read_text().splitlines() if line.strip()]
    return lines[-1] if lines else ""


def train_config(config: Mapping[str, Any], *, where: str):
    """A validated :class:`tnreg.train.TrainConfig` from a point's config dict."""
    from tnreg.train import TrainConfig

    return TrainConfig.from_dict(config, where=where)


def _train(config_dict: Mapping[str, Any], run_dir: Path, where: str, stop: Stop) -> None:
    """Train (or resume) one ``tnreg train`` config into ``run_dir``, as ``tnreg train`` does."""
    from tnreg.data import make_dataset
    from tnreg.train import build_model, fit, load_config
    from tnreg.train.config import resolve_device, resolve_dtype

    resume = (run_dir / "checkpoints" / "last.pt").is_file()
    if resume:
        config = load_config(run_dir / "config.json")
    else:
        if run_dir.exists():  # stopped before its first check: nothing to keep
            shutil.rmtree(run_dir)
        config = train_config(config_dict, where=where)
    config.progress = False
    data = make_dataset(config.data)
    config.data = data.config
    model = build_model(
        config.model, dtype=resolve_dtype(config.dtype), device=resolve_device(config.device)
    )
    callbacks = [] if stop is None else [_stop_callback(stop)]
    fit(model, data, config, run_dir=run_dir, resume=resume, callbacks=callbacks)


def _locality(settings: Mapping[str, Any], run_dir: Path) -> None:
    from tnreg import locality

    run_point = getattr(locality, "run_point", None)
    if run_point is None:
        raise ImportError(
            "tnreg.locality.run_point is not available in this version of tnreg; "
            "locality sweeps need it"
        )
    run_dir.mkdir(parents=True, exist_ok=True)
    with _interruptible():
        run_point(dict(settings), run_dir)


@contextlib.contextmanager
def _interruptible() -> Iterator[None]:
    """Let Ctrl-C raise KeyboardInterrupt here (worker processes ignore it between runs)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)


def _record_failure(run_dir: Path, err: BaseException) -> str:
    run_dir.mkdir(parents=True, exist_ok=True)
    text = "".join(traceback.format_exception(type(err), err, err.__traceback__))
    (run_dir / "error.txt").write_text(text)
    return f"{type(err).__name__}: {err}".splitlines()[0]


def _run_one(task: Task, sweep_dir: Path, kind: str, stop: Stop) -> None:
    point = task.points[0]
    run_dir = sweep_dir / point.name
    (run_dir / "error.txt").unlink(missing_ok=True)
    if kind == "locality":
        _locality(point.config, run_dir)
    else:
        _train(point.config, run_dir, f"sweep point {point.name!r}", stop)


def _run_pack(task: Task, sweep_dir: Path, stop: Stop) -> None:
    pack_dir = sweep_dir / "packs" / (task.pack or "")
    if not is_finished(pack_dir):
        _train(pack_config(task), pack_dir, f"sweep pack {task.pack!r}", stop)
    if is_finished(pack_dir):
        split_pack(pack_dir, task, sweep_dir)


def run_task(
    task: Task, sweep_dir: str | Path, kind: str = "train", *, stop: Stop = None
) -> list[dict[str, Any]]:
    """Run (or resume, or skip) one task; returns one outcome per point.

    Never raises on a failed run: the error is recorded in the outcome and in the run
    directory's ``error.txt``. ``stop``, when given, is asked at every check of a training run;
    ``True`` stops it as Ctrl-C does (state saved, status ``"interrupted"``).
    """
    sweep_dir = Path(sweep_dir)
    todo = [p for p in task.points if not is_finished(sweep_dir / p.name, p.config)]
    if todo:
        try:
            if task.pack is None:
                _run_one(task, sweep_dir, kind, stop)
            else:
                _run_pack(task, sweep_dir, stop)
        except KeyboardInterrupt:  # a run without its own Ctrl-C handling (locality)
            return [
                {**outcome_from_dir(sweep_dir / p.name, p.name), "status": "interrupted"}
                for p in task.points
            ]
        except Exception as err:  # any failure of one run: record it, let the sweep go on
            where = sweep_dir / ("packs/" + task.pack if task.pack else task.points[0].name)
            message = _record_failure(where, err)
            return [
                {
                    **outcome_from_dir(sweep_dir / p.name, p.name),
                    "status": "failed",
                    "error": message,
                    "pack": f"packs/{task.pack}" if task.pack else "",
                }
                for p in task.points
            ]
    outcomes = [outcome_from_dir(sweep_dir / p.name, p.name) for p in task.points]
    if task.pack is not None and not is_finished(sweep_dir / "packs" / task.pack):
        for out in outcomes:  # the pack was interrupted: its members are too
            out.update(status="interrupted", pack=f"packs/{task.pack}")
    return outcomes
