"""The points of a sweep: one run each, named from its axis values.

Vocabulary
----------
point
    One run of a sweep: its axis values, its seed and its full config (the base with the axis
    values and the seed set). Its run directory is ``SWEEP_DIR/<name>``.
label
    The short name of an axis in point names and tables: the key's last part
    (``model.init_std`` -> ``init_std``), or the whole key when two axes share a last part.
name
    ``label=value`` pairs joined by ``,``, seed last: ``init_std=0.005,seed=3``. Numbers are
    written with ``%g``, lists joined by ``x`` (``widths=4x4``), and characters that are unsafe
    in file names become ``_``.
"""

from __future__ import annotations

import copy
import re
from dataclasses import dataclass
from typing import Any

from tnreg.sweep.spec import SweepError, SweepSpec, axis_values, set_key

__all__ = ["Point", "expand", "format_value", "labels"]

_UNSAFE = re.compile(r"[^A-Za-z0-9._+=-]")


@dataclass(frozen=True)
class Point:
    """One run of a sweep.

    Attributes
    ----------
    name
        Its run directory's name (see the module docstring).
    values
        Axis key -> value (seed not included).
    seed
        The seed.
    config
        The full config (a plain dict: a ``tnreg train`` config or a locality setting).
    """

    name: str
    values: dict[str, Any]
    seed: int
    config: dict[str, Any]


def format_value(value: Any) -> str:
    """A value as it appears in a point name.

    Examples
    --------
    >>> format_value(5e-3), format_value([4, 4]), format_value("pathfinder"), format_value(True)
    ('0.005', '4x4', 'pathfinder', 'true')
    """
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return f"{value:g}"
    if isinstance(value, list):
        return "x".join(format_value(v) for v in value)
    if isinstance(value, dict):
        return "-".join(f"{k}{format_value(v)}" for k, v in value.items())
    return _UNSAFE.sub("_", str(value))


def labels(keys: list[str]) -> dict[str, str]:
    """Axis key -> short label (the key's last part unless two keys share it).

    Examples
    --------
    >>> labels(["model.init_std", "data.seed", "model.seed"])
    {'model.init_std': 'init_std', 'data.seed': 'data.seed', 'model.seed': 'model.seed'}
    """
    last = [k.rsplit(".", 1)[-1] for k in keys]
    return {k: s if last.count(s) == 1 else k for k, s in zip(keys, last)}


def _name(values: dict[str, Any], short: dict[str, str], seed: int) -> str:
    parts = [f"{short[k]}={format_value(v)}" for k, v in values.items()]
    return ",".join([*parts, f"seed={seed}"])


def _validate_train(config: dict[str, Any], where: str) -> None:
    from tnreg.train import TrainConfig

    try:
        TrainConfig.from_dict(config, where="its config")
    except (ValueError, TypeError) as err:
        raise SweepError(f"{where}: {err}") from None


def _validate_locality(config: dict[str, Any], where: str) -> None:
    from dataclasses import fields

    from tnreg import locality

    valid = {f.name for f in fields(locality.LocalityConfig)}
    aliases = getattr(locality.runner, "ALIASES", {})
    kw = {aliases.get(k, k): v for k, v in config.items()}
    unknown = sorted(set(kw) - valid)
    if unknown:
        raise SweepError(
            f"{where}: unknown locality setting {unknown[0]!r}; valid names: "
            f"{sorted(valid | set(aliases))}"
        )
    try:
        locality.LocalityConfig(**kw)
    except (ValueError, TypeError) as err:
        raise SweepError(f"{where}: {err}") from None


def expand(spec: SweepSpec, *, validate: bool = True) -> list[Point]:
    """Every point of ``spec``: axis combinations (grid x points) x seeds, in order.

    With ``validate`` each config is checked (:meth:`tnreg.train.TrainConfig.from_dict`, or
    :class:`tnreg.locality.LocalityConfig` for locality points): a bad axis value fails before
    anything runs.

    Raises
    ------
    SweepError
        On an invalid point config or two points with the same name.
    """
    short = labels(spec.axis_keys)
    points, seen = [], {}
    for values in axis_values(spec):
        for seed in spec.seeds:
            config = copy.deepcopy(spec.base)
            for key, value in values.items():
                set_key(config, key, value)
            for key in spec.seed_keys:
                set_key(config, key, seed)
            name = _name(values, short, seed)
            if name in seen:
                raise SweepError(
                    f"points {seen[name]} and {values} of sweep {spec.name!r} have the same "
                    f"name {name!r}; make their axis values distinct"
                )
            seen[name] = values
            if validate:
                check = _validate_train if spec.kind == "train" else _validate_locality
                check(config, f"sweep {spec.name!r}, point {name!r}")
            points.append(Point(name=name, values=dict(values), seed=seed, config=config))
    return points
