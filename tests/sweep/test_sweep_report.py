"""``results.csv`` and ``tnreg sweep report``: means and stds over seeds, figures, errors."""

from __future__ import annotations

import statistics

import pytest
from sweep_cases import tiny

from tnreg.sweep import read_results, run_sweep, spec_from_dict
from tnreg.sweep.local import SerialEngine
from tnreg.sweep.report import aggregate, report
from tnreg.sweep.spec import SweepError


@pytest.fixture(scope="module")
def sweep_dir(tmp_path_factory):
    out = tmp_path_factory.mktemp("sweep")
    raw = tiny(
        grid={"model.init_std": [0.1, 0.3]},
        seeds=[0, 1, 2],
        metrics=["normalized_error"],
        curve="component",
    )
    run_sweep(spec_from_dict(raw), out, engine=SerialEngine())
    return out


def test_results_csv_is_tidy(sweep_dir) -> None:
    rows = read_results(sweep_dir)
    assert len(rows) == 6
    assert list(rows[0])[:5] == ["name", "init_std", "seed", "status", "stop_reason"]
    assert {r["status"] for r in rows} == {"done"}
    assert all(isinstance(r["normalized_error"], float) for r in rows)


def test_aggregate_is_mean_and_sample_std_over_seeds(sweep_dir) -> None:
    rows = read_results(sweep_dir)
    groups = aggregate(rows, ["init_std"], ["normalized_error"])
    assert [(g["init_std"], g["n"], g["failed"]) for g in groups] == [(0.1, 3, 0), (0.3, 3, 0)]
    values = [r["normalized_error"] for r in rows if r["init_std"] == 0.3]
    mean, std = groups[1]["normalized_error"]
    assert mean == pytest.approx(statistics.fmean(values), rel=1e-12)
    assert std == pytest.approx(statistics.stdev(values), rel=1e-12)


def test_failed_runs_are_counted_not_averaged() -> None:
    rows = [{"a": 1, "status": "done", "m": 2.0}, {"a": 1, "status": "failed", "m": None}]
    rows += [{"a": 1, "status": s, "m": None} for s in ("pending", "interrupted")]
    (group,) = aggregate(rows, ["a"], ["m"])
    assert (group["n"], group["failed"], group["pending"]) == (1, 1, 2)
    assert group["m"] == (2.0, 0.0)


def test_report_prints_the_table_and_draws_the_figures(sweep_dir) -> None:
    text, written = report(sweep_dir)
    head, *lines = text.splitlines()
    assert head.split() == ["init_std", "n", "failed", "pending", "normalized_error"]
    assert len(lines) == 2 and "±" in lines[0]
    names = sorted(p.name for p in written)
    assert names == ["curve-component-by-init_std.png", "final-normalized_error-vs-init_std.png"]
    assert all(p.stat().st_size > 0 for p in written)
    _, loss = report(sweep_dir, metrics=["loss"], curve="loss", formats=("pdf",))
    assert sorted(p.name for p in loss) == [
        "curve-loss-by-init_std.pdf",
        "final-loss-vs-init_std.pdf",
    ]


def test_report_errors_name_the_valid_options(sweep_dir, tmp_path) -> None:
    with pytest.raises(SweepError, match=r"unknown metric 'acc'.*valid options: .*'loss'"):
        report(sweep_dir, metrics=["acc"])
    with pytest.raises(SweepError, match=r"unknown axis 'lr'.*valid options: \['init_std'\]"):
        report(sweep_dir, x="lr")
    with pytest.raises(SweepError, match=r"no sweep\.json in"):
        report(tmp_path)
    with pytest.raises(SweepError, match="no results file at"):
        read_results(tmp_path)
