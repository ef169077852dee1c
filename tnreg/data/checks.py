"""Argument checks shared by :mod:`tnreg.data`: one exception type and small validators.

Every message names what was expected, what was received and where (the argument or config
key), so a bad config entry reads as one line.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from typing import Any

from tnreg.errors import TnregError

__all__ = [
    "DataError",
    "check_choice",
    "check_count",
    "check_keys",
    "check_nonnegative",
    "check_positive",
    "check_seed",
]


class DataError(TnregError, ValueError):
    """A bad argument or config value for a target, a task or a dataset file."""


def check_count(value: Any, where: str, *, minimum: int = 1) -> int:
    """An int >= ``minimum`` (a number of entries, a rank, an order)."""
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise DataError(f"{where} must be an int >= {minimum}; got {value!r}")
    return int(value)


def check_positive(value: Any, where: str) -> float:
    """A finite float > 0 (a norm, a threshold scale)."""
    ok = isinstance(value, (int, float)) and not isinstance(value, bool)
    if not ok or not math.isfinite(value) or value <= 0:
        raise DataError(f"{where} must be a finite number > 0; got {value!r}")
    return float(value)


def check_nonnegative(value: Any, where: str) -> float:
    """A finite float >= 0 (a noise std)."""
    ok = isinstance(value, (int, float)) and not isinstance(value, bool)
    if not ok or not math.isfinite(value) or value < 0:
        raise DataError(f"{where} must be a finite number >= 0; got {value!r}")
    return float(value)


def check_seed(value: Any, where: str = "seed") -> int:
    """A non-negative int seed (seeds are required: data must be reproducible)."""
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise DataError(
            f"{where} must be a non-negative int (data are always seeded); got {value!r}"
        )
    return int(value)


def check_choice(value: Any, options: Iterable[Any], where: str) -> Any:
    """One of ``options``."""
    options = list(options)
    if value not in options:
        raise DataError(f"unknown {where}={value!r}; valid options: {options}")
    return value


def check_keys(config: Any, allowed: Iterable[str], where: str) -> dict[str, Any]:
    """A mapping whose keys are all in ``allowed``; returns a plain dict copy."""
    if not isinstance(config, Mapping):
        raise DataError(f"{where} must be a mapping (a dict or a TOML table); got {config!r}")
    allowed = sorted(allowed)
    unknown = sorted(str(k) for k in config if k not in allowed)
    if unknown:
        raise DataError(f"unknown key(s) {unknown} in {where}; valid keys: {allowed}")
    return dict(config)
