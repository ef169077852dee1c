"""Packing: which points share an ensemble, and that packed runs match runs one by one."""

from __future__ import annotations

import pytest
import torch
from sweep_cases import tiny

from tnreg.sweep import run_sweep, spec_from_dict
from tnreg.sweep.execute import plan
from tnreg.sweep.local import SerialEngine
from tnreg.sweep.packing import pack_config
from tnreg.train import read_metrics


def _tasks(**raw):
    return plan(spec_from_dict(tiny(**raw)))[1]


def test_points_differing_in_init_and_seed_pack_by_consecutive_seeds() -> None:
    tasks = _tasks(grid={"model.init_std": [0.1, 0.3]}, seeds=[0, 1, 2])
    assert [t.pack for t in tasks] == ["init_std=0.1,seed=0+2", "init_std=0.3,seed=0+2"]
    config = pack_config(tasks[0])
    assert config["model"]["ensemble"] == 3 and config["model"]["seed"] == 0
    assert config["model"]["init_std"] == [0.1, 0.1, 0.1]


def test_packs_respect_max_pack_and_gaps_in_the_seeds() -> None:
    assert [len(t.points) for t in _tasks(seeds=[0, 1, 2, 3, 4], max_pack=2)] == [2, 2, 1]
    gaps = _tasks(seeds=[0, 2, 4])
    assert [t.pack for t in gaps] == [None, None, None]


@pytest.mark.parametrize(
    "raw",
    [
        {"pack": False, "seeds": [0, 1]},
        {"grid": {"lr": [0.01, 0.02]}},  # another key differs: not packable
        {"set": {"model.ensemble": 2}, "seeds": [0, 1]},
        {"set": {"model.init_std": [0.1, 0.2]}, "seeds": [0, 1]},
    ],
)
def test_points_that_may_not_share_an_ensemble_run_alone(raw) -> None:
    assert all(t.pack is None for t in _tasks(**raw))


def _curves(out, name):
    rows = read_metrics(out / name)
    return {
        k: torch.tensor([r[k] for r in rows], dtype=torch.float64)
        for k in rows[0]
        if k not in ("time_s",)
    }


@pytest.fixture(scope="module")
def three_ways(tmp_path_factory):
    """The same 2 x 3 sweep unpacked, in packs of 3 and in packs of 2 (+1 alone)."""
    raw = tiny(grid={"model.init_std": [0.1, 0.3]}, seeds=[0, 1, 2])
    spec = spec_from_dict(raw)
    outs = {}
    for label, pack, max_pack in (("single", False, 32), ("k3", True, 32), ("k2", True, 2)):
        spec = spec_from_dict({**raw, "max_pack": max_pack})
        out = tmp_path_factory.mktemp(label)
        result = run_sweep(spec, out, engine=SerialEngine(), pack=pack)
        assert result.counts() == {"done": 6}
        outs[label] = (out, result.rows)
    return outs


def test_members_of_packs_of_other_sizes_agree_bit_for_bit(three_ways) -> None:
    out3, rows3 = three_ways["k3"]
    out2, rows2 = three_ways["k2"]
    for row3, row2 in zip(rows3, rows2):
        a, b = _curves(out3, row3["name"]), _curves(out2, row2["name"])
        assert a.keys() == b.keys()
        for k in a:
            assert torch.equal(b[k], a[k]), k


def test_packed_runs_match_runs_one_by_one_bit_for_bit(three_ways) -> None:
    """Every metric of every step, and the final metrics in results.csv."""
    out1, rows1 = three_ways["single"]
    out3, rows3 = three_ways["k3"]
    for row1, row3 in zip(rows1, rows3):
        assert row1["pack"] == "" and row3["pack"].startswith("packs/")
        a, b = _curves(out1, row1["name"]), _curves(out3, row3["name"])
        assert a.keys() == b.keys()
        for k in a:
            assert torch.equal(b[k], a[k]), k
        metrics = [k for k, v in row1.items() if isinstance(v, float) and "time" not in k]
        assert metrics and all(row1[k] == row3[k] for k in metrics), metrics


def test_results_say_which_runs_were_packed(three_ways) -> None:
    out, rows = three_ways["k3"]
    assert [(r["pack"], r["member"]) for r in rows[:3]] == [
        ("packs/init_std=0.1,seed=0+2", k) for k in range(3)
    ]
    member = out / "init_std=0.1,seed=1"
    import json

    summary = json.loads((member / "summary.json").read_text())
    assert summary["packed"] == {"pack": "packs/init_std=0.1,seed=0+2", "member": 1}
    config = json.loads((member / "config.json").read_text())
    assert config["model"]["seed"] == 1 and config["model"]["ensemble"] is None


def test_a_packed_member_loads_for_analysis(three_ways) -> None:
    from tnreg.cli import main

    out, _ = three_ways["k3"]
    assert main(["analyze", str(out / "init_std=0.3,seed=2")]) == 0
