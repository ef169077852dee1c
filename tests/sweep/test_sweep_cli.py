"""``tnreg sweep``: dry run, a run, a rerun, the report, and one-line errors."""

from __future__ import annotations

import json

import pytest

from tnreg.cli import main

SWEEP = """\
name = "tiny"
seeds = [0, 1]
metrics = ["normalized_error"]
curve = "component"

[base]
steps = 20
track_every = 10
dtype = "float64"
device = "cpu"
lr = 0.05
trackers = ["loss", "errors", "components"]

[base.model]
kind = "cp"
order = 3
dims = 5
widths = 4

[base.data]
task = "completion"
num_train = 60
num_test = 20
target = { kind = "cp", order = 3, dims = 5, rank = 2 }

[grid]
"model.init_std" = [0.1, 0.3]
"""


@pytest.fixture
def sweep_file(tmp_path):
    path = tmp_path / "tiny.toml"
    path.write_text(SWEEP)
    return path


def test_dry_run_lists_runs_and_packs(sweep_file, capsys) -> None:
    assert main(["sweep", str(sweep_file), "--dry-run"]) == 0
    out = capsys.readouterr().out
    assert "sweep 'tiny' (train): 4 runs in 2 tasks" in out
    assert "pack init_std=0.1,seed=0+1 (2 members):" in out
    assert main(["sweep", str(sweep_file), "--dry-run", "--no-pack"]) == 0
    assert "4 runs in 4 tasks" in capsys.readouterr().out


def test_run_rerun_and_report(sweep_file, tmp_path, capsys) -> None:
    out = tmp_path / "out"
    assert main(["sweep", str(sweep_file), "--engine", "serial", "--out", str(out)]) == 0
    text = capsys.readouterr().out
    assert "4 done in" in text and "done        init_std=0.1,seed=0 [packs/" in text
    assert json.loads((out / "sweep.json").read_text())["axes"] == ["model.init_std"]
    assert main(["sweep", str(sweep_file), "--engine", "serial", "--out", str(out)]) == 0
    assert "4 done in" in capsys.readouterr().out
    assert main(["sweep", "report", str(out), "--no-figures"]) == 0
    table = capsys.readouterr().out
    assert table.splitlines()[0].split() == [
        "init_std",
        "n",
        "failed",
        "pending",
        "normalized_error",
    ]


@pytest.mark.parametrize(
    ("argv", "match"),
    [
        (["sweep", "missing.toml"], "tnreg sweep: error: cannot read sweep file 'missing.toml'"),
        (["sweep", "{file}", "--address", "auto"], "--address 'auto' needs --engine ray"),
        (["sweep", "report"], "tnreg sweep report: error: missing DIR"),
        (["sweep", "report", "{dir}"], "tnreg sweep report: error: no sweep.json in"),
        (["sweep", "{file}", "extra"], "tnreg sweep: error: unexpected argument 'extra'"),
    ],
)
def test_errors_are_one_line(sweep_file, tmp_path, capsys, argv, match) -> None:
    argv = [a.format(file=sweep_file, dir=tmp_path) for a in argv]
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert match in err and len(err.strip().splitlines()) == 1


def test_bad_flags_exit_2(sweep_file, capsys) -> None:
    with pytest.raises(SystemExit) as exc:
        main(["sweep", str(sweep_file), "--workers", "0"])
    assert exc.value.code == 2
    assert "--workers: expected an int >= 1; got 0" in capsys.readouterr().err
