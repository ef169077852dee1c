"""Runner (protocol, stop rule, checkpoints, run_point), grid and the ``tnreg locality`` command."""

from __future__ import annotations

import csv
import json
import re

import pytest
import torch

from tnreg.cli import main
from tnreg.locality import runner
from tnreg.locality.grid import aggregate, plot_sweep, read_results
from tnreg.locality.runner import LocalityConfig, make_task, run, run_point, stop_reason

TINY = dict(
    path_length=3,
    scale=0.1,
    n_train=32,
    n_val=8,
    n_test=16,
    epochs=2,
    batch_size=16,
    model="small",
    width=0.25,
    depth=2,
    device="cpu",
)


def test_defaults_are_the_authors_protocol():
    c = LocalityConfig()
    assert (c.model, c.optimizer, c.lr, c.momentum, c.batch_size) == (
        "resnet18",
        "sgd",
        1e-2,
        0.9,
        64,
    )
    assert (c.epochs, c.patience, c.patch_size, c.min_distance) == (150, 20, 2, 0.0)
    assert (c.n_train, c.n_test, c.standardize, c.scale) == (10000, 10000, True, 1.0)


@pytest.mark.parametrize(
    ("history", "epochs", "patience", "expected"),
    [
        ([0.5, 1.0], 150, 20, None),
        ([0.5] + [1.0] * 20, 150, 20, None),
        ([0.5] + [1.0] * 21, 150, 20, "perfect_train_accuracy"),
        ([0.5, 1.0] + [0.99] * 20, 150, 20, "perfect_train_accuracy"),
        ([0.5] * 3, 3, 20, "max_epochs"),
        ([1.0], 150, 0, "perfect_train_accuracy"),
    ],
)
def test_stop_rule(history, epochs, patience, expected):
    assert stop_reason(history, epochs=epochs, patience=patience) == expected


def test_inputs_standardized_with_train_statistics():
    train, val, test = make_task(LocalityConfig(**TINY))
    assert abs(float(train.x.mean())) < 1e-5 and abs(float(train.x.std()) - 1) < 1e-4
    assert train.meta["mean"] == test.meta["mean"] == val.meta["mean"] > 0
    assert len(val) == 8 and len(test) == 16


def test_run_writes_a_resumable_run_directory(tmp_path, monkeypatch):
    torch.set_num_threads(1)
    config = LocalityConfig(reg=1.0, **TINY)
    whole = run(config, tmp_path / "whole")
    assert {p.name for p in (tmp_path / "whole").iterdir()} == {
        "config.json",
        "metrics.csv",
        "summary.json",
        "checkpoint.pt",
    }
    assert whole["epochs_run"] == 2 and whole["stop_reason"] == "max_epochs"
    assert 0 <= whole["test_accuracy"] <= 1 and 0 < whole["penalty"] <= 1 + 1e-6
    real_epoch, calls = runner._epoch, []

    def interrupted(*args, **kw):
        calls.append(1)
        if len(calls) == 2:
            raise KeyboardInterrupt
        return real_epoch(*args, **kw)

    monkeypatch.setattr(runner, "_epoch", interrupted)
    with pytest.raises(KeyboardInterrupt):
        run(config, tmp_path / "cut")
    monkeypatch.setattr(runner, "_epoch", real_epoch)
    resumed = run(config, tmp_path / "cut")
    with open(tmp_path / "cut" / "metrics.csv") as fh:
        rows = list(csv.DictReader(fh))
    assert [r["epoch"] for r in rows] == ["1", "2"]
    for key in ("test_accuracy", "train_accuracy", "penalty", "val_accuracy"):
        assert resumed[key] == pytest.approx(whole[key], abs=1e-6)


def test_run_point_settings_and_errors(tmp_path):
    settings = {**TINY, "length": 3, "lambda": 0.0, "seed": 1}
    del settings["path_length"]
    s = run_point(settings, tmp_path / "p")
    assert s["difficulty"] == 3 and s["seed"] == 1 and s["reg"] == 0.0
    assert run_point(settings, tmp_path / "p") == s  # finished: read back, not retrained
    assert (
        json.loads((tmp_path / "p" / "summary.json").read_text())["test_accuracy"]
        == s["test_accuracy"]
    )
    with pytest.raises(ValueError, match=r"unknown locality settings \['lenght'\]"):
        run_point({"lenght": 3}, tmp_path / "q")
    with pytest.raises(ValueError, match="holds another config"):
        run_point({**settings, "seed": 2}, tmp_path / "p")


def test_cli_help_shows_defaults(capsys):
    with pytest.raises(SystemExit) as info:
        main(["locality", "--help"])
    assert info.value.code == 0
    out = " ".join(capsys.readouterr().out.split())
    for flag, default in (("epochs", "150"), ("lr", "0.01"), ("seeds", "3"), ("n-train", "10000")):
        pattern = rf"--{flag} [A-Z_]+ (?:(?!--).)*?\(default: {re.escape(default)}\)"
        assert re.search(pattern, out), flag


def test_cli_grid_same_class(tmp_path, capsys):
    pytest.importorskip("sklearn", reason="Is-Same-Class on digits needs the data extra")
    argv = ["locality", "--task", "same-class", "--distance", "0,4", "--canvas", "16"]
    argv += ["--reg", "0,1", "--seeds", "1", "--n-train", "32", "--n-val", "4", "--n-test", "16"]
    argv += ["--epochs", "1", "--batch-size", "16", "--model", "small", "--width", "0.25"]
    argv += ["--no-plot", "--out", str(tmp_path)]
    assert main(argv) == 0
    rows = read_results(tmp_path / "results.csv")
    assert {(r["difficulty"], r["reg"]) for r in rows} == {(0, 0), (0, 1), (4, 0), (4, 1)}
    assert "test acc" in capsys.readouterr().out


def test_plot_and_aggregate(tmp_path):
    pytest.importorskip("matplotlib", reason="plots need the plot extra")
    rows = [
        {
            "task": "pathfinder",
            "difficulty": d,
            "reg": lam,
            "seed": s,
            "test_accuracy": 0.5 + s / 10,
        }
        for d in (3, 9)
        for lam in (0.0, 3.0)
        for s in (0, 1)
    ]
    table = aggregate(rows)
    assert len(table) == 4 and table[0]["mean"] == pytest.approx(0.55) and table[0]["n"] == 2
    assert plot_sweep(rows, tmp_path / "a.png").stat().st_size > 0


@pytest.mark.parametrize(
    ("flag", "value", "match"),
    [
        ("--path-length", "0", r"argument --path-length: expected an integer in \[1, 32\]; got 0"),
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
    assert re.search(match, err)


@pytest.mark.parametrize(
    ("kw", "match"),
    [
        ({"task": "mnist"}, "unknown task='mnist'"),
        ({"model": "vgg"}, "unknown model='vgg'"),
        ({"optimizer": "lbfgs"}, "unknown optimizer='lbfgs'"),
        ({"epochs": 0}, "epochs must be >= 1"),
        ({"patience": -1}, "patience must be >= 0"),
        ({"batch_size": 1}, "batch_size must be >= 2"),
        ({"lr": 0.0}, "lr must be > 0"),
        ({"scale": 0.0}, "scale must be > 0"),
        ({"reg": -1.0}, "reg must be a finite number >= 0"),
        ({"penalty_batch": 1}, r"penalty_batch must be 0 \(the whole batch\) or in \[2, "),
        ({"penalty_batch": 65}, r"batch_size=64\]; got 65"),
    ],
)
def test_config_errors(kw, match):
    with pytest.raises(ValueError, match=match):
        LocalityConfig(**kw)


def test_run_with_probe_adds_the_profile():
    torch.set_num_threads(1)
    s = run(LocalityConfig(probe=True, **{**TINY, "epochs": 1}))
    assert [row["distance"] for row in s["probe"]] == [2.0, 5.0, 8.0, 10.0, 13.0]
    assert all(0.0 <= row["interaction"] <= 1.0 for row in s["probe"])


def test_penalty_batch_takes_the_first_samples(tmp_path, monkeypatch):
    torch.set_num_threads(1)
    sizes, real_call = [], runner.LocalityRegularizer.__call__

    def recording(self, model, x, y=None, *, logits=None):
        sizes.append((x.shape[0], logits is None))
        return real_call(self, model, x, y, logits=logits)

    monkeypatch.setattr(runner.LocalityRegularizer, "__call__", recording)
    s = run(LocalityConfig(reg=1.0, penalty_batch=4, **{**TINY, "epochs": 1}))
    assert sizes == [(4, True)] * 2  # 32 train images, batch 16: two steps
    assert 0 < s["penalty"] <= 1 + 1e-6
    sizes.clear()
    run(LocalityConfig(reg=1.0, penalty_batch=16, **{**TINY, "epochs": 1}))
    assert sizes == [(16, False)] * 2  # the whole batch: the loss's own forward pass is reused


def test_snapshots_keep_every_epoch(tmp_path):
    torch.set_num_threads(1)
    config = LocalityConfig(snapshots=True, **TINY)
    run(config, tmp_path / "r")
    saved = sorted(p.name for p in (tmp_path / "r" / "snapshots").iterdir())
    assert saved == ["epoch-000.pt", "epoch-001.pt", "epoch-002.pt"]
    init = runner.make_model(config, 1, 15).state_dict()
    first = torch.load(runner.snapshot_path(tmp_path / "r", 0), weights_only=True)
    last = torch.load(runner.snapshot_path(tmp_path / "r", 2), weights_only=True)
    final = torch.load(tmp_path / "r" / "checkpoint.pt", weights_only=False)["model"]
    assert all(torch.equal(first[k], init[k]) for k in init)
    assert all(torch.equal(last[k], final[k]) for k in final)
    with pytest.raises(ValueError, match="snapshots needs a run directory"):
        run(config)


def test_run_directory_of_an_older_config_resumes(tmp_path):
    torch.set_num_threads(1)
    config = LocalityConfig(**TINY)
    s = run(config, tmp_path / "r")
    path = tmp_path / "r" / "config.json"
    old = json.loads(path.read_text())
    del old["penalty_batch"], old["snapshots"]  # written before these settings existed
    path.write_text(json.dumps(old))
    assert run(config, tmp_path / "r") == s


def test_data_cache_on_disk(tmp_path):
    config = LocalityConfig(data_cache=str(tmp_path / "cache"), **TINY)
    first = make_task(config)
    (path,) = (tmp_path / "cache").iterdir()
    assert path.name.startswith("pathfinder-3-") and path.suffix == ".pt"
    runner._task_cached.cache_clear()
    again = make_task(config)  # read from the file, not generated
    assert all(torch.equal(a.x, b.x) and torch.equal(a.y, b.y) for a, b in zip(first, again))
    plain = make_task(LocalityConfig(**TINY))
    assert all(torch.equal(a.x, b.x) for a, b in zip(first, plain))
    s = run(config, tmp_path / "r")
    moved = LocalityConfig(**{**TINY, "data_cache": str(tmp_path / "elsewhere")})
    assert run(moved, tmp_path / "r") == s  # where the data is kept is not part of the run


def test_raising_epochs_continues_a_finished_run(tmp_path):
    torch.set_num_threads(1)
    short = LocalityConfig(reg=1.0, **{**TINY, "epochs": 1})
    longer = LocalityConfig(reg=1.0, **TINY)
    run(short, tmp_path / "grown")
    grown = run(longer, tmp_path / "grown")
    fresh = run(longer, tmp_path / "fresh")
    assert grown["epochs_run"] == 2 and grown["stop_reason"] == "max_epochs"
    assert grown["test_accuracy"] == fresh["test_accuracy"]

    def rows(name):
        with open(tmp_path / name / "metrics.csv") as fh:
            return [{k: v for k, v in r.items() if k != "seconds"} for r in csv.DictReader(fh)]

    assert rows("grown") == rows("fresh")  # the run that had 2 epochs from the start
    a, b = (torch.load(tmp_path / n / "checkpoint.pt")["model"] for n in ("grown", "fresh"))
    assert all(torch.equal(a[k], b[k]) for k in a)
    assert json.loads((tmp_path / "grown" / "config.json").read_text())["epochs"] == 2
    assert run(longer, tmp_path / "grown") == grown  # finished at the new limit: no training
    with pytest.raises(ValueError, match=r"has run 2 epochs; epochs=1 asks for fewer"):
        run(short, tmp_path / "grown")
    with pytest.raises(ValueError, match=r"holds another config .*'reg': \(1.0, 2.0\)"):
        run(LocalityConfig(reg=2.0, **TINY), tmp_path / "grown")
    perfect = {"stop_reason": "perfect_train_accuracy", "epochs_run": 3}
    assert not runner.wants_more_epochs(perfect, LocalityConfig(epochs=10).epochs)
