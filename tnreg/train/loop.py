"""The training loop: :func:`fit` a model to a dataset under a :class:`TrainConfig`.

Vocabulary
----------
check
    Every ``track_every`` steps (and at the last step) the loop runs the trackers on the
    current parameters, appends one metrics row per ensemble member, applies the stopping rule
    and tests the loss for NaN/Inf. Between checks the loop only calls
    :func:`tnreg.train.step.train_step`, which never synchronises with the device.
snapshot
    An in-memory copy of the whole state (model, optimizer, mini-batch sampler, tracker state,
    stopping counters, elapsed time) taken just before a check; ``checkpoints/last.pt`` holds one.
    Resuming from a snapshot taken at step s drops the metric rows with step >= s and goes on:
    on the CPU with the same config the result is bit for bit that of an uninterrupted run.
stop reasons
    ``"max_steps"``, ``"tolerance"`` (every member's train MSE below ``tolerance`` at
    ``patience`` consecutive checks), ``"time_limit"``, ``"nonfinite"`` (NaN/Inf loss: the last
    good state is kept in ``last.pt``, every metric row in ``metrics.csv``) and
    ``"interrupted"`` (Ctrl-C or KeyboardInterrupt: the state is saved, the run can resume).
"""

from __future__ import annotations

import contextlib
import copy
import math
import signal
import sys
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch

from tnreg.train.config import TrainConfig, resolve_device, resolve_dtype
from tnreg.train.inputs import move_inputs, schedule_inputs, split_inputs
from tnreg.train.losses import loss_function
from tnreg.train.optim import make_optimizer
from tnreg.train.rundir import RunDir, model_spec
from tnreg.train.step import BatchSampler, select, train_step
from tnreg.train.trackers import (
    TrackContext,
    Tracker,
    hierarchical_rank_of,
    resolve_trackers,
    run_trackers,
)

__all__ = ["STOP_REASONS", "Callback", "RunResult", "fit"]

STOP_REASONS = ("max_steps", "tolerance", "time_limit", "nonfinite", "interrupted")

Callback = Callable[[torch.nn.Module, TrackContext, dict[str, list]], None]


@dataclass
class RunResult:
    """What :func:`fit` returns.

    Attributes
    ----------
    model
        The trained model (in place; on the config's device and dtype). After a NaN/Inf stop
        it holds the last good state (the step named in ``message``), as ``last.pt`` does.
    stop_reason, message
        One of :data:`STOP_REASONS` and a sentence for the user.
    steps
        Optimizer steps taken in total (including earlier sessions of a resumed run).
    metrics
        The rows written in this session (one per check and member), as in ``metrics.csv``.
    final
        The last check's metrics, metric -> one value per member.
    run_dir
        The run directory, or ``None`` when none was given.
    wall_time_s
        Wall-clock seconds of training (all sessions).
    """

    model: torch.nn.Module
    stop_reason: str
    message: str
    steps: int
    metrics: list[dict[str, Any]] = field(default_factory=list)
    final: dict[str, list] = field(default_factory=dict)
    run_dir: Path | None = None
    wall_time_s: float = 0.0


def _num_samples(inputs: Any) -> int:
    return int((inputs[0] if isinstance(inputs, (list, tuple)) else inputs).shape[0])


@contextlib.contextmanager
def _sigint_flag(flag: dict[str, bool]) -> Iterator[None]:
    """First Ctrl-C sets ``flag['stop']`` (the loop stops at the next step); the second raises."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def handler(signum: int, frame: Any) -> None:
        if flag["stop"]:
            raise KeyboardInterrupt
        flag["stop"] = True

    previous = signal.signal(signal.SIGINT, handler)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)


def _is_terminal() -> bool:
    """Whether stderr is a terminal (the progress bar shows only there)."""
    return sys.stderr.isatty()


def _clone(obj: Any) -> Any:
    if isinstance(obj, torch.Tensor):
        return obj.detach().clone()
    return copy.deepcopy(obj)


def _to_device(obj: Any, device: torch.device) -> Any:
    if isinstance(obj, torch.Tensor):
        return obj.to(device)
    if isinstance(obj, dict):
        return {k: _to_device(v, device) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return type(obj)(_to_device(v, device) for v in obj)
    return obj


class _Session:
    """One call of :func:`fit`: the state of the loop, split into short methods."""

    def __init__(self, model, data, config, run_dir, trackers, callbacks, resume, progress):
        self.config = config
        self.device = resolve_device(config.device)
        self.dtype = resolve_dtype(config.dtype)
        self.model = model.to(device=self.device, dtype=self.dtype)
        self.members = next(iter(model.parameters())).shape[0]
        train_inputs, train_values = split_inputs(data, "train")
        test_inputs, test_values = split_inputs(data, "test")
        self.train_raw = move_inputs(train_inputs, self.device, self.dtype)
        self.train_values = train_values.to(self.device, self.dtype)
        self.loss_fn = loss_function(config.loss, huber_delta=config.huber_delta)
        self.optimizer = make_optimizer(
            config.optimizer, model.parameters(), lr=config.lr, momentum=config.momentum,
            alpha=config.alpha, eps=config.eps, max_weight=config.max_weight,
        )  # fmt: skip
        n = _num_samples(self.train_raw)
        bs = config.batch_size
        self.sampler = BatchSampler(n, bs, seed=config.seed) if bs is not None and bs < n else None
        test_plan = schedule_inputs(model, move_inputs(test_inputs, self.device, self.dtype))
        self.train_inputs = schedule_inputs(model, self.train_raw)
        self.captured = None
        if self.sampler is None and self.device.type == "cuda" and config.capture:
            from tnreg.train.capture import CapturedStep

            self.captured = CapturedStep(
                self.model, self.train_inputs, self.train_values, self.optimizer, self.loss_fn
            )
        self.context = TrackContext(
            step=0, data=data, train_inputs=self.train_inputs, train_values=self.train_values,
            test_inputs=test_plan,
            test_values=None if test_values is None else test_values.to(self.device, self.dtype),
            loss_fn=self.loss_fn, top_k=config.top_k, rank_rtol=config.rank_rtol,
        )  # fmt: skip
        self.trackers = resolve_trackers(config.trackers, trackers)
        self.callbacks = list(callbacks)
        self.step, self.patience, self.best_loss, self.elapsed_before = 0, 0, math.inf, 0.0
        self.good: dict | None = None
        self.best: dict | None = None
        self.best_written = True
        self.rows: list[dict] = []
        self.final: dict[str, list] = {}
        self.flag = {"stop": False}
        self.phase = "boundary"
        self.checked = self.written = -1
        self.run = self._open_run(run_dir, resume)
        self.bar = self._progress_bar(progress)

    # ------------------------------------------------------------------ state

    def snapshot(self) -> dict[str, Any]:
        """The whole state of the loop, deep-copied (see the module docstring)."""
        return {
            "step": self.step,
            "model": {k: v.detach().clone() for k, v in self.model.state_dict().items()},
            "optimizer": _clone(self.optimizer.state_dict()),
            "sampler": None if self.sampler is None else self.sampler.state_dict(),
            "trackers": _clone(self.context.state),
            "patience": self.patience,
            "best_loss": self.best_loss,
            "elapsed_s": self.elapsed(),
            "model_spec": model_spec(self.model),
            "dtype": self.config.dtype,
            "config": self.config.to_dict(),
        }

    def restore(self, state: dict[str, Any]) -> None:
        """Load a snapshot or checkpoint into the model, optimizer, sampler and counters."""
        self.model.load_state_dict(state["model"])
        self.optimizer.load_state_dict(_to_device(state["optimizer"], self.device))
        if self.sampler is not None and state["sampler"] is not None:
            self.sampler.load_state_dict(state["sampler"])
        self.context.state = _to_device(state["trackers"], self.device)
        self.step, self.patience = int(state["step"]), int(state["patience"])
        self.best_loss, self.elapsed_before = float(state["best_loss"]), float(state["elapsed_s"])
        if getattr(self, "captured", None) is not None:  # optimizer state tensors were replaced
            self.captured.reset()

    def elapsed(self) -> float:
        return self.elapsed_before + (time.perf_counter() - self.t0 if hasattr(self, "t0") else 0)

    def _open_run(self, run_dir: Any, resume: bool) -> RunDir | None:
        if run_dir is None:
            if resume:
                raise ValueError("resume=True needs the run_dir to resume")
            return None
        if not resume:
            run = RunDir.create(run_dir, self.config.to_dict())
        else:
            run = RunDir.open(run_dir)
            self.restore(run.load_checkpoint("last"))
            run.truncate_metrics(self.step)
            run.write_config(self.config.to_dict())
            self.good = self.snapshot()
        report = getattr(self.train_inputs, "cost_report", None)
        if report is not None:  # how the full batch is evaluated (an index schedule)
            run.write_text("plan.txt", report() + "\n")
        return run

    def _progress_bar(self, progress: bool | None) -> Any:
        show = self.config.progress if progress is None else progress
        if not show or not _is_terminal():
            return None
        try:
            from tqdm.auto import tqdm
        except ImportError:  # pragma: no cover - tqdm is an optional extra
            return None
        return tqdm(total=self.config.steps, initial=self.step, unit="step", leave=True)

    # ------------------------------------------------------------------ one check

    def check(self) -> str | None:
        """Track, write rows, keep snapshots, apply the stopping rules; returns a stop reason."""
        self.phase = "check"
        self.checked = self.step
        pending = self.snapshot()
        ctx = self.context
        ctx.step = self.step
        with torch.no_grad():
            pred = ctx.predict(self.model, "train")
            loss = self.loss_fn(pred, self.train_values)
            mse = (pred - self.train_values).square().mean(-1)
            total, worst = torch.stack([loss.sum(), mse.max()]).tolist()
        if not math.isfinite(total):  # analysis needs finite parameters: record the losses only
            self._write({"loss": loss.tolist(), "train_mse": mse.tolist()})
            return "nonfinite"
        metrics = run_trackers(self.model, ctx, self.trackers, self.members)
        self._write(metrics)
        self.good = pending
        if total < self.best_loss:
            self.best_loss, self.best, self.best_written = total, pending, False
        self._maybe_checkpoint()
        for fn in self.callbacks:
            fn(self.model, ctx, metrics)
        self.phase = "boundary"
        return self._stopping(worst)

    def _write(self, metrics: dict[str, list]) -> None:
        t = round(self.elapsed(), 6)
        rows = [
            {"step": self.step, "time_s": t, "member": e, **{k: v[e] for k, v in metrics.items()}}
            for e in range(self.members)
        ]
        self.rows += rows
        self.final = metrics
        if self.run is not None:
            self.run.append_rows(rows)
        if self.bar is not None:
            loss = metrics.get("loss", [math.nan])[0]
            rank = hierarchical_rank_of(metrics)
            self.bar.set_postfix_str(f"loss={loss:.3e} rank={rank}", refresh=False)

    def _maybe_checkpoint(self) -> None:
        due = self.written < 0 or self.step - self.written >= self.config.checkpoint_every
        if self.run is None or not due:
            return
        self.written = self.step
        self.run.save_checkpoint("last", self.good)
        if not self.best_written and self.best is not None:
            self.run.save_checkpoint("best", self.best)
            self.best_written = True

    def _stopping(self, worst_mse: float) -> str | None:
        tol = self.config.tolerance
        if tol is not None:
            self.patience = self.patience + 1 if worst_mse < tol else 0
            if self.patience >= self.config.patience:
                return "tolerance"
        if self.step >= self.config.steps:
            return "max_steps"
        return None

    # ------------------------------------------------------------------ the loop

    def update(self) -> None:
        """One optimizer step on the full batch or the next mini-batch."""
        self.phase = "update"
        if self.sampler is None:
            inputs, values = self.train_inputs, self.train_values
        else:
            rows = self.sampler.next().to(self.device)
            inputs, values = select(self.train_raw, rows), self.train_values.index_select(0, rows)
        if self.captured is not None:
            self.captured()
        else:
            train_step(self.model, inputs, values, self.optimizer, self.loss_fn)
        self.step += 1
        self.phase = "boundary"
        if self.bar is not None:
            self.bar.update(1)

    def loop(self) -> str:
        every, limit = self.config.track_every, self.config.time_limit_s
        with _sigint_flag(self.flag):
            while True:
                if self.step % every == 0 or self.step >= self.config.steps:
                    reason = self.check()
                    if reason is not None:
                        return reason
                if self.flag["stop"]:
                    return "interrupted"
                if limit is not None and self.elapsed() >= limit:
                    return "time_limit"
                self.update()

    def run_loop(self) -> RunResult:
        self.t0 = time.perf_counter()
        try:
            reason = self.loop()
        except KeyboardInterrupt:
            reason = "interrupted"
        # a snapshot is the state *before* the check at its step: after a check (or inside
        # one, or inside an update) the last good snapshot is the consistent state to keep
        fresh = self.phase == "boundary" and self.checked != self.step and reason != "nonfinite"
        return self.finish(reason, self.snapshot() if fresh else self.good)

    def finish(self, reason: str, state: dict | None) -> RunResult:
        if self.bar is not None:
            self.bar.close()
        message = _message(reason, self, state)
        if reason == "nonfinite" and state is not None:  # hand back the last good model
            self.model.load_state_dict(state["model"])
        if self.run is not None:
            if state is not None:
                self.run.save_checkpoint("last", state)
            if self.best is not None:
                self.run.save_checkpoint("best", self.best)
            self.run.write_summary(self.summary(reason, message))
        return RunResult(
            model=self.model, stop_reason=reason, message=message, steps=self.step,
            metrics=self.rows, final=self.final,
            run_dir=None if self.run is None else self.run.path, wall_time_s=self.elapsed(),
        )  # fmt: skip

    def summary(self, reason: str, message: str) -> dict[str, Any]:
        return {
            "stop_reason": reason,
            "message": message,
            "steps": self.step,
            "wall_time_s": round(self.elapsed(), 3),
            "device": str(self.device),
            "dtype": self.config.dtype,
            "members": self.members,
            "best_loss": self.best_loss,
            "final": self.final,
        }


def _message(reason: str, session: _Session, state: dict | None) -> str:
    step = session.step
    saved = "" if state is None else f" (checkpoint at step {state['step']})"
    where = "" if session.run is None else f"; resume with --resume {session.run.path}"
    if reason == "nonfinite":
        return (
            f"the training loss became NaN/Inf at step {step}; stopped and kept the last good "
            f"state{saved} and every metric row. Lower lr or use float64{where}"
        )
    if reason == "interrupted" and state is None:
        return f"interrupted at step {step}, before the first check: nothing to save"
    if reason == "interrupted":
        return f"interrupted at step {step}; state saved{saved}{where}"
    if reason == "time_limit":
        return f"time limit of {session.config.time_limit_s} s reached at step {step}{where}"
    if reason == "tolerance":
        return (
            f"train MSE below {session.config.tolerance} at {session.config.patience} "
            f"consecutive checks; stopped at step {step}"
        )
    return f"finished {step} steps"


def fit(
    model: torch.nn.Module,
    data: Any,
    config: TrainConfig | None = None,
    *,
    run_dir: str | Path | None = None,
    trackers: Sequence[Tracker] = (),
    callbacks: Sequence[Callback] = (),
    resume: bool = False,
    progress: bool | None = None,
) -> RunResult:
    """Train ``model`` on ``data`` under ``config``; never loses work.

    Parameters
    ----------
    model
        A tnreg model (parameters with a leading ensemble axis); moved to the config's device
        and dtype and trained in place.
    data
        A :class:`tnreg.data.Dataset` or anything with ``train_indices`` (or ``train_vectors``),
        ``train_values`` and optionally ``test_*`` and ``target``.
    config
        The :class:`TrainConfig` (default: all defaults). Its ``model``/``data`` tables are
        only recorded (in ``config.json``); the model and data passed here are used.
    run_dir
        Write a run directory here (see :mod:`tnreg.train.rundir`); ``None`` keeps everything
        in memory.
    trackers
        Extra trackers (callables ``(model, context) -> dict``) run after the built-in ones.
    callbacks
        Called after each check as ``fn(model, context, metrics)``; raising
        ``KeyboardInterrupt`` stops the run as Ctrl-C does.
    resume
        Continue the run in ``run_dir`` from ``checkpoints/last.pt``.
    progress
        Force the progress bar on or off (default: ``config.progress``, only on a terminal).

    Returns
    -------
    RunResult
        Also on NaN/Inf, time limit and interruption (see :data:`STOP_REASONS`).

    Raises
    ------
    tnreg.train.config.ConfigError
        On an invalid config.
    tnreg.train.rundir.RunDirError
        If ``run_dir`` exists (without ``resume``) or is not a run directory (with it).

    Examples
    --------
    >>> from tnreg.models import CP
    >>> from tnreg.data import completion_task, random_cp_target
    >>> data = completion_task(random_cp_target(3, 4, 1, seed=0), 40, 0, seed=0)
    >>> model = CP(3, 4, rank=3, init_std=0.1, seed=0)
    >>> result = fit(model, data, TrainConfig(steps=50, track_every=25, lr=0.05))
    >>> result.stop_reason, result.steps, sorted(result.final)[:3]
    ('max_steps', 50, ['component/0', 'component/1', 'component/2'])
    """
    config = (config or TrainConfig()).validate()
    session = _Session(model, data, config, run_dir, trackers, callbacks, resume, progress)
    return session.run_loop()
