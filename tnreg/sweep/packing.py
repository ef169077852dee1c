"""Packing: runs that differ only in seed or init scale train as one ensemble.

Vocabulary
----------
task
    What an engine runs in one process: one point, or a pack of points.
pack
    Points of a ``kind = "train"`` sweep whose configs agree on everything but
    ``model.seed`` and ``model.init_std``, with consecutive seeds ``s, s+1, ..., s+K-1``: they
    train as one ensemble of K members (``model.ensemble = K``, ``model.seed = s``,
    ``model.init_std`` one value per member; member k draws its initialization from seed
    ``s + k``, exactly as the single model with ``model.seed = s + k`` does, see
    :mod:`tnreg.models.base`). The loss is the sum over members, GroupRMSprop keeps one state
    per member and every tracker reports per member, so each member follows its own run.
    The pack trains in ``SWEEP_DIR/packs/<first point>+<K-1>``; when it stops, each member's
    rows, final metrics and weights are copied into the member's own run directory
    (:func:`split_pack`).
bitwise
    A member computes bit for bit what the single model with its seed computes, forward and
    backward, and GroupRMSprop, the losses and the ``errors`` and ``param_norm`` trackers
    reduce each member as a single model (:mod:`tnreg.models.engine.members`): packed and
    unpacked runs give the same metrics, bit for bit, for any pack size and member position
    (tested on the CPU: float32 and float64, CP and HTF, every finish of the index engine,
    sensing; in sweeps, the ``loss``, ``errors`` and ``components`` trackers). Other trackers
    (e.g. spectra) are not checked for it. One exception: the planner caps the tables it may
    build (outer merges, the root's matrix product) at ``MAX_TABLE`` entries counting the
    members, so a pack whose table would pass the cap while the single model's does not is
    scheduled, and rounds, differently (:mod:`tnreg.models.engine.planner`).
    Packs of one point run as plain single runs.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tnreg.sweep.points import Point

__all__ = ["PACKABLE_KEYS", "Task", "pack_config", "plan_tasks", "split_pack"]

#: The config keys in which members of one pack may differ.
PACKABLE_KEYS = ("model.seed", "model.init_std")


@dataclass(frozen=True)
class Task:
    """One unit of work: a single point (``pack is None``) or a pack of points.

    Attributes
    ----------
    points
        The points, in member order for a pack.
    pack
        The pack's directory name under ``packs/`` (``None`` for a single point).
    """

    points: tuple[Point, ...]
    pack: str | None = None

    @property
    def name(self) -> str:
        """The pack's name, or the point's."""
        return self.pack or self.points[0].name


def _shape_key(point: Point) -> str | None:
    """The point's config without the packable keys (``None``: never packed)."""
    model = point.config.get("model")
    if not isinstance(model, dict) or model.get("ensemble") is not None:
        return None
    if not isinstance(model.get("seed", 0), int) or isinstance(model.get("init_std"), list):
        return None
    rest = copy.deepcopy(point.config)
    rest["model"].pop("seed", None)
    rest["model"].pop("init_std", None)
    return json.dumps(rest, sort_keys=True, default=str)


def _runs(points: list[Point], max_pack: int) -> list[list[Point]]:
    """Chain points of one shape into runs of consecutive model seeds (at most max_pack): each
    point, in seed order, joins the first open run that ends at its seed minus one."""
    ordered = sorted(
        points, key=lambda p: (_seed(p), json.dumps(p.config["model"].get("init_std")))
    )
    runs: list[list[Point]] = []
    for p in ordered:
        seed = _seed(p)
        for run in runs:
            if len(run) < max_pack and _seed(run[-1]) == seed - 1:
                run.append(p)
                break
        else:
            runs.append([p])
    return runs


def _seed(point: Point) -> int:
    return point.config["model"].get("seed", 0)


def plan_tasks(points: Sequence[Point], *, pack: bool, max_pack: int = 32) -> list[Task]:
    """Group points into tasks: packs where allowed (see the module docstring), else singles.

    Points that are not packable (another kind than ``train``, an explicit ensemble, a list of
    init stds) run alone. Tasks come in the order of their first point.
    """
    if not pack or max_pack < 2:
        return [Task((p,)) for p in points]
    groups: dict[str, list[Point]] = {}
    singles: list[Task] = []
    for p in points:
        key = _shape_key(p)
        if key is None:
            singles.append(Task((p,)))
        else:
            groups.setdefault(key, []).append(p)
    tasks = list(singles)
    for members in groups.values():
        for run in _runs(members, max_pack):
            name = None if len(run) == 1 else f"{run[0].name}+{len(run) - 1}"
            tasks.append(Task(tuple(run), name))
    order = {p.name: i for i, p in enumerate(points)}
    return sorted(tasks, key=lambda t: min(order[p.name] for p in t.points))


def pack_config(task: Task) -> dict[str, Any]:
    """The ensemble config of a pack: the members' shared config, K members, their init stds."""
    first = task.points[0]
    config = copy.deepcopy(first.config)
    stds = [p.config["model"].get("init_std", 1e-2) for p in task.points]
    config["model"]["ensemble"] = len(task.points)
    config["model"]["seed"] = first.config["model"].get("seed", 0)
    config["model"]["init_std"] = stds
    return config


def _member_config(pack_cfg: dict[str, Any], point: Point) -> dict[str, Any]:
    config = copy.deepcopy(pack_cfg)
    config["model"]["ensemble"] = None
    config["model"]["seed"] = point.config["model"].get("seed", 0)
    config["model"]["init_std"] = point.config["model"].get("init_std", 1e-2)
    return config


def _member_summary(summary: dict[str, Any], member: int, pack: str) -> dict[str, Any]:
    out = dict(summary)
    out["final"] = {k: [v[member]] for k, v in summary.get("final", {}).items()}
    out["members"] = 1
    out["packed"] = {"pack": f"packs/{pack}", "member": member}
    return out


def _member_checkpoint(state: dict[str, Any], member: int, config: dict) -> dict[str, Any]:
    """Weights of one member (enough for ``tnreg analyze``; the optimizer lives in the pack)."""
    spec = dict(state["model_spec"]) if state.get("model_spec") else None
    if spec is not None:
        spec["ensemble"] = None
    model = {k: v[member : member + 1].clone() for k, v in state["model"].items()}
    keep = ("step", "dtype", "elapsed_s", "best_loss")
    return {
        **{k: state[k] for k in keep if k in state},
        "model": model,
        "model_spec": spec,
        "config": config,
        "packed": True,
    }


def split_pack(pack_dir: Path, task: Task, sweep_dir: Path) -> None:
    """Copy each member's config, metric rows, summary and weights into its run directory."""
    from tnreg.train import RunDir, read_metrics

    pack = RunDir.open(pack_dir)
    pack_cfg = pack.read_config()
    summary = json.loads(pack.summary_path.read_text())
    rows = read_metrics(pack.path) if pack.metrics_path.is_file() else []
    state = pack.load_checkpoint("last") if pack.checkpoint_path("last").is_file() else None
    for k, point in enumerate(task.points):
        target = sweep_dir / point.name
        if target.exists():
            import shutil

            shutil.rmtree(target)
        config = _member_config(pack_cfg, point)
        run = RunDir.create(target, config)
        run.append_rows([{**r, "member": 0} for r in rows if r["member"] == k])
        if state is not None:
            run.save_checkpoint("last", _member_checkpoint(state, k, config))
        run.write_summary(_member_summary(summary, k, task.pack or ""))
