"""Sweep files: a base config plus axes, read from TOML and validated once.

Vocabulary
----------
sweep file
    A TOML file describing many runs at once::

        name = "cp-init-scales"
        kind = "train"              # "train" (a tnreg train config) or "locality"
        base = "../cp.toml"         # the base config: a file (relative to this one) or a table
        seeds = [0, 1, 2, 3]        # every point runs once per seed
        metrics = ["normalized_error"]   # what `tnreg sweep report` shows first
        curve = "component"         # the tracked metric drawn over steps

        [set]                       # overrides of the base, as `tnreg train --set`
        steps = 2000

        [grid]                      # every combination of these values
        "model.init_std" = [5e-3, 1e-2, 5e-2]

        [[points]]                  # and/or a list of points (crossed with the grid)
        "model.widths" = 10

axis
    A dotted config key (``model.init_std``, ``data.seed``, ``lr``) with its values. ``[grid]``
    axes are crossed; each ``[[points]]`` entry sets several keys at once.
seed keys
    The keys a seed sets: ``model.seed`` for ``kind = "train"`` (the initialization's draw; add
    ``"data.seed"`` to ``seed_keys`` to redraw the data too) and ``seed`` for ``"locality"``.
resources
    ``[resources] cpus``/``gpus``: what one run needs (threads on the local engine, Ray's
    ``num_cpus``/``num_gpus`` on a cluster).
"""

from __future__ import annotations

import copy
import math
import sys
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tnreg.errors import TnregError

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

__all__ = [
    "KINDS",
    "Axis",
    "Resources",
    "SweepError",
    "SweepSpec",
    "axis_values",
    "load_sweep",
    "set_key",
    "spec_from_dict",
]

#: What one point of a sweep trains: a ``tnreg train`` config or a ``tnreg locality`` setting.
KINDS = ("train", "locality")
SEED_KEYS = {"train": ("model.seed",), "locality": ("seed",)}
_TOP_KEYS = (
    "name",
    "kind",
    "base",
    "set",
    "grid",
    "points",
    "seeds",
    "seed_keys",
    "metrics",
    "curve",
    "pack",
    "max_pack",
    "resources",
)

_SWEEP_ONLY = {"base", "grid", "points", "seeds", "seed_keys", "set", "kind", "resources"}


class SweepError(TnregError, ValueError):
    """A sweep file or sweep directory is missing, malformed or inconsistent."""


@dataclass(frozen=True)
class Axis:
    """One swept config key and its values (in the file's order)."""

    key: str
    values: tuple[Any, ...]


@dataclass(frozen=True)
class Resources:
    """What one run needs: CPU threads (``cpus``) and GPUs (``gpus``, may be fractional)."""

    cpus: int = 1
    gpus: float = 0.0


@dataclass(frozen=True)
class SweepSpec:
    """A validated sweep: the base config, the axes and how the runs are executed.

    Attributes
    ----------
    name, kind
        The sweep's name and what a point trains (one of :data:`KINDS`).
    base
        The base config as a plain dict, ``[set]`` applied.
    grid
        The crossed axes.
    points
        Explicit points (each a dict of dotted keys to values), crossed with the grid.
    seeds, seed_keys
        Seeds every point runs with, and the keys each seed sets.
    metrics, curve
        The final metrics and the tracked metric ``tnreg sweep report`` shows by default.
    pack, max_pack
        Whether runs differing only in seed or init scale may train as one ensemble, and the
        most members of one pack.
    resources
        Per-run resources.
    source
        The sweep file (``None`` when built in Python).
    """

    name: str
    kind: str
    base: dict[str, Any]
    grid: tuple[Axis, ...] = ()
    points: tuple[dict[str, Any], ...] = ()
    seeds: tuple[int, ...] = (0,)
    seed_keys: tuple[str, ...] = ("model.seed",)
    metrics: tuple[str, ...] = ()
    curve: str | None = None
    pack: bool = True
    max_pack: int = 32
    resources: Resources = field(default_factory=Resources)
    source: Path | None = None

    @property
    def axis_keys(self) -> list[str]:
        """Every swept key (grid first, then the points' keys), without the seed."""
        keys = [a.key for a in self.grid]
        for point in self.points:
            keys += [k for k in point if k not in keys]
        return keys


def _fail(where: str, key: str, expected: str, value: Any) -> None:
    raise SweepError(f"{where}: key {key!r}: expected {expected}; got {value!r}")


def set_key(config: dict[str, Any], key: str, value: Any) -> None:
    """Set the dotted ``key`` of a nested config dict (creating tables on the way), in place.

    Examples
    --------
    >>> cfg = {"model": {"kind": "cp"}}
    >>> set_key(cfg, "model.init_std", 0.01)
    >>> cfg
    {'model': {'kind': 'cp', 'init_std': 0.01}}
    """
    parts = key.split(".")
    node = config
    for i, part in enumerate(parts[:-1]):
        child = node.setdefault(part, {})
        if not isinstance(child, dict):
            raise SweepError(
                f"cannot set {key!r}: {'.'.join(parts[: i + 1])!r} is {child!r}, not a table"
            )
        node = child
    node[parts[-1]] = copy.deepcopy(value)


def _read_toml(path: Path, what: str) -> dict[str, Any]:
    try:
        return tomllib.loads(path.read_text())
    except OSError as err:
        raise SweepError(f"cannot read {what} {str(path)!r}: {err.strerror}") from None
    except tomllib.TOMLDecodeError as err:
        raise SweepError(f"cannot parse {what} {str(path)!r}: {err}") from None


def _base(raw: Mapping[str, Any], where: str, folder: Path | None) -> dict[str, Any]:
    base = raw.get("base", {})
    if isinstance(base, str):
        path = Path(base) if folder is None else folder / base
        if path.suffix == ".json":
            import json

            try:
                return json.loads(path.read_text())
            except (OSError, ValueError) as err:
                raise SweepError(f"{where}: cannot read base config {str(path)!r}: {err}") from None
        raw = _read_toml(path, "base config")
        if _SWEEP_ONLY & set(raw):  # another sweep file: its base, with its [set] applied
            return spec_from_dict(raw, where=str(path), folder=path.parent).base
        return raw
    if not isinstance(base, dict):
        _fail(where, "base", "a config file name or a table", base)
    return copy.deepcopy(base)


def _scalars(raw: Mapping[str, Any], where: str) -> dict[str, Any]:
    kind = raw.get("kind", "train")
    if kind not in KINDS:
        raise SweepError(f"{where}: key 'kind': unknown value {kind!r}; valid options: {KINDS}")
    seeds = raw.get("seeds", [0])
    ok = isinstance(seeds, list) and seeds and all(_is_int(s) and s >= 0 for s in seeds)
    if not ok or len(set(seeds)) != len(seeds):
        _fail(where, "seeds", "a non-empty list of distinct ints >= 0", seeds)
    seed_keys = raw.get("seed_keys", list(SEED_KEYS[kind]))
    if not isinstance(seed_keys, list) or not all(isinstance(k, str) and k for k in seed_keys):
        _fail(where, "seed_keys", "a list of dotted config keys", seed_keys)
    metrics = raw.get("metrics", [])
    if not isinstance(metrics, list) or not all(isinstance(m, str) for m in metrics):
        _fail(where, "metrics", "a list of metric names", metrics)
    curve = raw.get("curve")
    if curve is not None and not isinstance(curve, str):
        _fail(where, "curve", "a metric name", curve)
    pack, max_pack = raw.get("pack", True), raw.get("max_pack", 32)
    if not isinstance(pack, bool):
        _fail(where, "pack", "true or false", pack)
    if not _is_int(max_pack) or max_pack < 1:
        _fail(where, "max_pack", "an int >= 1", max_pack)
    name = raw.get("name", "sweep")
    if not isinstance(name, str) or not name:
        _fail(where, "name", "a non-empty string", name)
    return {
        "name": name,
        "kind": kind,
        "seeds": tuple(seeds),
        "seed_keys": tuple(seed_keys),
        "metrics": tuple(metrics),
        "curve": curve,
        "pack": pack,
        "max_pack": max_pack,
    }


def _is_int(x: Any) -> bool:
    return isinstance(x, int) and not isinstance(x, bool)


def _resources(raw: Any, where: str) -> Resources:
    if not isinstance(raw, dict):
        _fail(where, "resources", "a table with 'cpus' and/or 'gpus'", raw)
    unknown = sorted(set(raw) - {"cpus", "gpus"})
    if unknown:
        raise SweepError(f"{where}: unknown key 'resources.{unknown[0]}'; valid: ['cpus', 'gpus']")
    cpus, gpus = raw.get("cpus", 1), raw.get("gpus", 0.0)
    if not _is_int(cpus) or cpus < 1:
        _fail(where, "resources.cpus", "an int >= 1", cpus)
    if (
        isinstance(gpus, bool)
        or not isinstance(gpus, (int, float))
        or not (math.isfinite(gpus) and gpus >= 0)
    ):
        _fail(where, "resources.gpus", "a number >= 0", gpus)
    return Resources(cpus=cpus, gpus=float(gpus))


def _axes(raw: Mapping[str, Any], where: str) -> tuple[tuple[Axis, ...], tuple[dict, ...]]:
    grid = raw.get("grid", {})
    if not isinstance(grid, dict):
        _fail(where, "grid", "a table of key = [values]", grid)
    axes = []
    for key, values in grid.items():
        if not isinstance(values, list) or not values:
            _fail(where, f"grid.{key}", "a non-empty list of values", values)
        axes.append(Axis(key, tuple(values)))
    points = raw.get("points", [])
    if not isinstance(points, list) or not all(isinstance(p, dict) and p for p in points):
        _fail(where, "points", "an array of tables ([[points]]), each setting keys", points)
    clash = sorted({k for p in points for k in p} & set(grid))
    if clash:
        raise SweepError(f"{where}: key {clash[0]!r} is both a grid axis and set by [[points]]")
    return tuple(axes), tuple(copy.deepcopy(points))


def spec_from_dict(
    raw: Mapping[str, Any], *, where: str = "sweep", folder: Path | None = None
) -> SweepSpec:
    """Build a :class:`SweepSpec` from a parsed sweep file (see the module docstring).

    Raises
    ------
    SweepError
        On an unknown key or a bad value (the message names the key and the file).
    """
    unknown = sorted(set(raw) - set(_TOP_KEYS))
    if unknown:
        raise SweepError(f"{where}: unknown key {unknown[0]!r}; valid keys: {sorted(_TOP_KEYS)}")
    base = _base(raw, where, folder)
    overrides = raw.get("set", {})
    if not isinstance(overrides, dict):
        _fail(where, "set", "a table of dotted key = value", overrides)
    for key, value in _flatten(overrides):
        set_key(base, key, value)
    grid, points = _axes(raw, where)
    scalars = _scalars(raw, where)
    resources = _resources(raw.get("resources", {}), where)
    if set(scalars["seed_keys"]) & (set(a.key for a in grid) | {k for p in points for k in p}):
        raise SweepError(f"{where}: a seed key {list(scalars['seed_keys'])} is also an axis")
    return SweepSpec(
        base=base, grid=grid, points=points, resources=resources, source=None, **scalars
    )


def _flatten(table: Mapping[str, Any], prefix: str = "") -> list[tuple[str, Any]]:
    """``{"model": {"widths": 4}}`` and ``{"model.widths": 4}`` both -> ``[("model.widths", 4)]``;
    the ``data.target`` table and other nested config tables set as a whole stay tables."""
    out = []
    for key, value in table.items():
        if isinstance(value, dict) and not prefix and key in ("model", "data"):
            out += _flatten(value, f"{key}.")
        else:
            out.append((prefix + key, value))
    return out


def load_sweep(path: str | Path) -> SweepSpec:
    """Read and validate a sweep file.

    Raises
    ------
    SweepError
        On a missing or unparsable file, an unknown key or a bad value.
    """
    path = Path(path)
    raw = _read_toml(path, "sweep file")
    spec = spec_from_dict(raw, where=str(path), folder=path.parent)
    return SweepSpec(**{**spec.__dict__, "source": path})


def axis_values(spec: SweepSpec) -> list[dict[str, Any]]:
    """Every combination of axis values (grid x points), in order; seeds not included."""
    combos: list[dict[str, Any]] = [{}]
    for axis in spec.grid:
        combos = [{**c, axis.key: v} for c in combos for v in axis.values]
    if spec.points:
        combos = [{**c, **p} for c in combos for p in spec.points]
    return combos
