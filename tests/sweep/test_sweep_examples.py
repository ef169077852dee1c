"""Every sweep file under examples/sweeps expands into valid runs (nothing is trained)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tnreg.sweep import expand, load_sweep, plan
from tnreg.sweep.spec import SweepError, spec_from_dict

EXAMPLES = sorted((Path(__file__).resolve().parents[2] / "examples" / "sweeps").glob("*.toml"))


def test_there_is_a_sweep_file_per_multi_run_figure() -> None:
    names = {p.stem for p in EXAMPLES}
    assert {
        "cp-incremental",
        "htf-incremental",
        "rank-complexity",
        "locality-grid",
        "locality-grid-cpu",
    } <= names


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.stem)
def test_example_expands_and_validates(path: Path) -> None:
    spec = load_sweep(path)
    points, tasks = plan(spec)
    assert points and tasks and spec.metrics
    if spec.kind == "locality":
        assert all(t.pack is None for t in tasks)


def test_a_base_may_be_another_sweep_file() -> None:
    quick = load_sweep(next(p for p in EXAMPLES if p.stem == "cp-incremental-quick"))
    assert quick.base["model"]["widths"] == 100 and quick.base["eps"] == 1e-14
    assert quick.base["data"]["num_train"] == 2000  # from cp-incremental.toml's base


def test_locality_settings_are_checked_before_running() -> None:
    spec = spec_from_dict({"kind": "locality", "base": {"task": "pathfinder", "lenght": 3}})
    with pytest.raises(SweepError, match="unknown locality setting 'lenght'; valid names"):
        expand(spec)
