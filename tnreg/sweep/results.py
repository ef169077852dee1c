"""``results.csv``: one tidy row per run of a sweep.

Columns
-------
``name`` (the run directory), one column per axis (its label, see :mod:`tnreg.sweep.points`),
``seed``, ``status`` (see :data:`tnreg.sweep.runner.STATUSES`), ``stop_reason``, ``steps``,
``wall_time_s`` (seconds of training, all sessions), ``pack`` (``packs/<name>`` when the run
trained as a member of an ensemble pack, else empty), ``member`` (its member index there),
``error`` (one line, for failed runs), then the final metrics of ``summary.json`` (for a
``train`` run the last check's value of every tracked metric; for a locality run its top-level
numbers such as ``test_accuracy``).

The file is rewritten atomically after every finished task, so it is current whenever a
sweep stops. Read it with :func:`read_results` (no pandas needed) or ``pandas.read_csv``.
"""

from __future__ import annotations

import csv
import json
import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from tnreg.sweep.points import Point, labels

__all__ = [
    "FIXED",
    "TIMING_COLUMNS",
    "is_number",
    "read_results",
    "result_rows",
    "write_results",
]

FIXED = ("status", "stop_reason", "steps", "wall_time_s", "pack", "member", "error")
#: Columns that differ between two runs of the same sweep on different engines.
TIMING_COLUMNS = ("wall_time_s", "time_s")


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float):
        return repr(value)
    if isinstance(value, (list, dict)):
        return json.dumps(value)
    return str(value)


def result_rows(
    points: Sequence[Point], outcomes: Mapping[str, Mapping[str, Any]]
) -> list[dict[str, Any]]:
    """One row per point (in sweep order), from its outcome (see :mod:`tnreg.sweep.runner`)."""
    keys = list(dict.fromkeys(k for p in points for k in p.values))
    short = labels(keys)
    rows = []
    for p in points:
        out = outcomes.get(p.name, {"status": "pending"})
        row: dict[str, Any] = {"name": p.name}
        row.update({short[k]: p.values.get(k) for k in keys})
        row["seed"] = p.seed
        row.update({k: out.get(k) for k in FIXED})
        row.update(out.get("final") or {})
        rows.append(row)
    return rows


def write_results(path: str | Path, rows: Sequence[Mapping[str, Any]]) -> Path:
    """Write rows as ``results.csv`` (atomically); columns in first-seen order."""
    path = Path(path)
    columns = list(dict.fromkeys(k for row in rows for k in row))
    tmp = path.with_name(path.name + ".tmp")
    with tmp.open("w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(columns)
        for row in rows:
            writer.writerow([_cell(row.get(k)) for k in columns])
    os.replace(tmp, path)
    return path


def _parse(text: str) -> Any:
    if text == "":
        return None
    for parse in (int, float):
        try:
            return parse(text)
        except ValueError:
            pass
    if text[:1] in "[{":
        try:
            return json.loads(text)
        except ValueError:
            return text
    return text


def read_results(path: str | Path) -> list[dict[str, Any]]:
    """Rows of a sweep's ``results.csv`` (or of ``DIR/results.csv``): numbers parsed, empty
    cells ``None``.

    Raises
    ------
    tnreg.sweep.spec.SweepError
        If there is no ``results.csv``.
    """
    from tnreg.sweep.spec import SweepError

    path = Path(path)
    if path.is_dir():
        path = path / "results.csv"
    if not path.is_file():
        raise SweepError(f"no results file at {str(path)!r}; is this a sweep directory?")
    with path.open(newline="") as f:
        return [{k: _parse(v) for k, v in row.items()} for row in csv.DictReader(f)]


def is_number(value: Any) -> bool:
    """Whether ``value`` is an int or float (not a bool)."""
    return isinstance(value, (int, float)) and not isinstance(value, bool)
