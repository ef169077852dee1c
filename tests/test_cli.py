"""The command line: demo, train, analyze; one-line errors with exit status 2."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch

from tnreg.cli import main
from tnreg.train import read_metrics

CONFIG = """
steps = 20
track_every = 10
lr = 0.05
progress = false

[model]
kind = "cp"
order = 3
dims = 4
widths = 5
init_std = 0.2

[data]
task = "completion"
num_train = 30
num_test = 10
target = { kind = "cp", order = 3, dims = 4, rank = 2 }
"""


@pytest.fixture(autouse=True)
def _one_thread():
    """Tiny tensors: one intra-op thread is faster, and much faster on a shared machine."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.fixture
def config_file(tmp_path) -> Path:
    path = tmp_path / "small.toml"
    path.write_text(CONFIG)
    return path


def test_demo_runs_small(capsys, tmp_path):
    args = ["demo", "--order", "4", "--dim", "3", "--width", "4", "--samples", "60"]
    assert main([*args, "--steps", "20", "--out", str(tmp_path / "demo"), "--no-figures"]) == 0
    out = capsys.readouterr().out
    for stage in ("Mode tree", "ContractionPlan", "optimizer:", "step", "Rank report", "erank"):
        assert stage in out


def test_unknown_command_exits_with_usage(capsys):
    with pytest.raises(SystemExit):
        main(["nope"])
    assert "invalid choice" in capsys.readouterr().err


def test_train_writes_a_run_and_analyze_reads_it(config_file, tmp_path, capsys):
    run = tmp_path / "run"
    assert main(["train", str(config_file), "--out", str(run), "--set", "model.seed=2"]) == 0
    out = capsys.readouterr().out
    assert "finished 20 steps" in out and "Rank report" in out and str(run) in out
    assert [r["step"] for r in read_metrics(run)] == [0, 10, 20]
    saved = (run / "config.json").read_text()
    assert '"seed": 2' in saved and '"noise_std"' in saved  # the resolved data config
    assert main(["analyze", str(run)]) == 0
    out = capsys.readouterr().out
    assert "at step 20" in out and "erank" in out
    assert main(["analyze", str(run / "checkpoints" / "best.pt"), "--rtol", "1e-2"]) == 0
    assert "rtol 0.01" in capsys.readouterr().out


def test_train_again_from_config_json_reproduces_the_run(config_file, tmp_path):
    assert main(["train", str(config_file), "--out", str(tmp_path / "a")]) == 0
    assert main(["train", str(tmp_path / "a" / "config.json"), "--out", str(tmp_path / "b")]) == 0
    strip = [{k: v for k, v in r.items() if k != "time_s"} for r in read_metrics(tmp_path / "a")]
    again = [{k: v for k, v in r.items() if k != "time_s"} for r in read_metrics(tmp_path / "b")]
    assert strip == again


def test_resume_with_more_steps(config_file, tmp_path, capsys):
    run = tmp_path / "run"
    assert main(["train", str(config_file), "--out", str(run)]) == 0
    assert main(["train", "--resume", str(run), "--set", "steps=30"]) == 0
    assert [r["step"] for r in read_metrics(run)] == [0, 10, 20, 30]
    assert "finished 30 steps" in capsys.readouterr().out


@pytest.mark.parametrize(
    ("args", "match"),
    [
        (["--set", "lr=-1"], "tnreg train: error: config key 'lr': expected a number > 0; got -1"),
        (["--set", "optimizer=rms"], "'optimizer': unknown value 'rms'; valid options"),
        (["--set", "bogus=1"], "unknown config key 'bogus'"),
        (["--set", "data.task=nope"], "nope"),
        (
            [
                "--set",
                "model.kind=htf",
                "--set",
                "model.order=6",
                "--set",
                "model.tree=[[0,1,2],[3,4]]",
            ],
            "config key 'model.tree' has 5 modes but model.order = 6",
        ),
        (["--set", "model.tree=caterpillar"], "applies to kind = 'htf' only; kind = 'cp'"),
        (["--set", "model.ordr=3"], "unknown config key 'model.ordr' in --set 'model.ordr=3'"),
    ],
)
def test_bad_values_give_one_line_and_status_2(config_file, tmp_path, capsys, args, match):
    assert main(["train", str(config_file), "--out", str(tmp_path / "r"), *args]) == 2
    err = capsys.readouterr().err
    assert match in err and err.count("\n") == 1 and "Traceback" not in err


def test_missing_inputs_give_one_line_and_status_2(config_file, tmp_path, capsys):
    assert main(["train"]) == 2
    assert "missing CONFIG" in capsys.readouterr().err
    assert main(["train", str(config_file), "--resume", str(tmp_path)]) == 2
    assert "is not a run directory" in capsys.readouterr().err
    assert main(["analyze", str(tmp_path / "nothing")]) == 2
    assert "no run directory or checkpoint at" in capsys.readouterr().err
    junk = tmp_path / "junk.pt"
    junk.write_text("not a checkpoint")
    assert main(["analyze", str(junk)]) == 2
    assert "is not a tnreg checkpoint" in capsys.readouterr().err


def test_bad_flags_give_one_line(capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(["analyze", "x", "--checkpoint", "first"])
    assert exit_info.value.code == 2
    err = capsys.readouterr().err
    assert "--checkpoint: invalid choice: 'first'" in err and err.count("\n") == 1


@pytest.mark.parametrize("command", ["train", "analyze", "demo"])
def test_help_has_examples_and_defaults(command, capsys):
    with pytest.raises(SystemExit):
        main([command, "--help"])
    out = capsys.readouterr().out
    assert "default" in out
    if command != "demo":
        assert f"tnreg {command} " in out.split("examples:")[1]


def test_divergence_stops_with_a_message_and_status_1(config_file, tmp_path, capsys):
    args = ["--set", "optimizer=gd", "--set", "lr=1e8", "--out", str(tmp_path / "run")]
    assert main(["train", str(config_file), *args]) == 1
    out = capsys.readouterr().out
    assert "became NaN/Inf at step 10" in out and "checkpoint at step 0" in out
    assert "Rank report" in out  # of the last good state


def test_ctrl_c_saves_and_exits_130(config_file, tmp_path):
    run = tmp_path / "run"
    cmd = [sys.executable, "-m", "tnreg.cli", "train", str(config_file), "--out", str(run),
           "--set", "steps=1000000", "--set", "track_every=50"]  # fmt: skip
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env)
    deadline = time.monotonic() + 120
    while not (run / "metrics.csv").is_file() and time.monotonic() < deadline:
        time.sleep(0.2)
    time.sleep(0.5)
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, err.decode()
    assert b"interrupted at step" in out and b"--resume" in out
    assert '"stop_reason": "interrupted"' in (run / "summary.json").read_text()
    assert (run / "checkpoints" / "last.pt").is_file()


def test_a_reader_that_stops_early_gets_no_traceback():
    code = "import sys; from tnreg.cli import main; sys.exit(main(['verify', '--list']))"
    proc = subprocess.Popen(
        [sys.executable, "-c", code], stdout=subprocess.PIPE, stderr=subprocess.PIPE
    )
    proc.stdout.close()  # the reader is gone before the command prints anything (`| head`)
    _, err = proc.communicate(timeout=120)
    assert b"Traceback" not in err and b"BrokenPipeError" not in err
    assert proc.returncode == 141
