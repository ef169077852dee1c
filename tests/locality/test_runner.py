"""Runner, sweep and the ``tnreg locality`` command (tiny settings)."""

from __future__ import annotations

import json

import pytest
import torch

from tnreg.cli import main
from tnreg.locality.runner import LocalityConfig, read_results, run

TINY = dict(
    image_size=16, n_train=32, n_test=16, epochs=1, batch_size=16, progress=False, device="cpu"
)


def test_run_writes_a_run_directory(tmp_path):
    torch.set_num_threads(1)
    s = run(
        LocalityConfig(path_length=3, reg=1.0, model="small", width=0.25, probe=True, **TINY),
        tmp_path / "r",
    )
    assert 0 <= s["test_acc"] <= 1 and 0 < s["penalty"] <= 1 + 1e-6
    assert {p.name for p in (tmp_path / "r").iterdir()} == {
        "config.json",
        "metrics.csv",
        "summary.json",
    }
    assert json.loads((tmp_path / "r" / "summary.json").read_text())["probe"]


def test_cli_sweep_same_class(tmp_path, capsys):
    pytest.importorskip("sklearn", reason="Is-Same-Class on digits needs the data extra")
    argv = [
        "locality",
        "--task",
        "same-class",
        "--distance",
        "8,12",
        "--reg",
        "0,1",
        "--seeds",
        "1",
        "--n-train",
        "32",
        "--n-test",
        "16",
        "--epochs",
        "1",
        "--batch-size",
        "16",
        "--width",
        "0.25",
        "--no-progress",
        "--no-plot",
        "--out",
        str(tmp_path),
    ]
    assert main(argv) == 0
    rows = read_results(tmp_path / "results.csv")
    assert {(r["difficulty"], r["reg"]) for r in rows} == {(8, 0), (8, 1), (12, 0), (12, 1)}
    assert "test acc" in capsys.readouterr().out


def test_plot_sweep(tmp_path):
    pytest.importorskip("matplotlib", reason="plots need the plot extra")
    from tnreg.locality.runner import plot_sweep

    rows = [
        {"task": "pathfinder", "difficulty": d, "reg": lam, "seed": s, "test_acc": 0.5}
        for d in (3, 9)
        for lam in (0.0, 3.0)
        for s in (0, 1)
    ]
    assert plot_sweep(rows, tmp_path / "a.png").stat().st_size > 0


@pytest.mark.parametrize(
    ("flag", "value", "match"),
    [
        ("--path-length", "0", r"argument --path-length: expected an integer in \[1, 64\]; got 0"),
        ("--reg", "1,-2", r"argument --reg: expected a number in \[0, 1e\+06\]; got '-2'"),
        ("--seeds", "x", r"argument --seeds: expected an integer in \[1, 1000\]; got 'x'"),
        ("--lr", "0", r"argument --lr: expected a number in \(0, 10\]; got '0'"),
        ("--reg", ",", "expected a comma-separated list"),
    ],
)
def test_cli_flag_errors(flag, value, match, capsys):
    with pytest.raises(SystemExit) as info:
        main(["locality", flag, value])
    assert info.value.code == 2
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1
    assert pytest.importorskip("re").search(match, err)


@pytest.mark.parametrize(
    ("kw", "match"),
    [
        ({"task": "mnist"}, "unknown task='mnist'"),
        ({"model": "vgg"}, "unknown model='vgg'"),
        ({"optimizer": "lbfgs"}, "unknown optimizer='lbfgs'"),
        ({"epochs": 0}, "epochs must be >= 1"),
        ({"batch_size": 1}, "batch_size must be >= 2"),
        ({"lr": 0.0}, "lr must be > 0"),
        ({"reg": -1.0}, "reg must be a finite number >= 0"),
    ],
)
def test_config_errors(kw, match):
    with pytest.raises(ValueError, match=match):
        LocalityConfig(**kw)
