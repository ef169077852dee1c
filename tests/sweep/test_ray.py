"""The Ray engine on a local Ray instance (one for the whole module): same results as locally."""

from __future__ import annotations

import pytest
from sweep_cases import tiny

from tnreg.sweep import run_sweep, spec_from_dict
from tnreg.sweep.local import SerialEngine
from tnreg.sweep.results import TIMING_COLUMNS

ray = pytest.importorskip("ray", reason="the ray extra is not installed (pip install 'tnreg[ray]')")


@pytest.fixture(scope="module")
def local_ray():
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    yield ray
    ray.shutdown()


def _without_timings(rows):
    return [{k: v for k, v in r.items() if k not in TIMING_COLUMNS} for r in rows]


@pytest.mark.parametrize("pack", [False, True], ids=["single", "pack"])
def test_ray_writes_the_same_results_as_the_local_engine(local_ray, tmp_path, pack) -> None:
    from tnreg.sweep.ray_engine import RayEngine

    spec = spec_from_dict(tiny(grid={"data.num_train": [60, 1000]}, seeds=[0, 1], pack=pack))
    here = run_sweep(spec, tmp_path / "serial", engine=SerialEngine())
    there = run_sweep(spec, tmp_path / "ray", engine=RayEngine())
    assert _without_timings(there.rows) == _without_timings(here.rows)
    assert [r["status"] for r in there.rows] == ["done", "done", "failed", "failed"]
