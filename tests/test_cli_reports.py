"""What `tnreg train` and `tnreg analyze` print: final metrics, CP component norms, and the
optional TensorBoard event files of `tnreg train --tensorboard DIR`."""

from __future__ import annotations

import re
import sys

import pytest
import torch

from tnreg.analysis import AnalysisError, component_norms
from tnreg.analysis.cp_report import cp_component_report, is_cp
from tnreg.cli import main
from tnreg.models import CP, HierarchicalTensorFactorization
from tnreg.train import read_metrics
from tnreg.trees import balanced

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
ensemble = 2

[data]
task = "completion"
num_train = 30
num_test = 10
target = { kind = "cp", order = 3, dims = 4, rank = 2 }
"""


@pytest.fixture(autouse=True)
def _one_thread():
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.fixture
def cp_run(tmp_path, capsys):
    config = tmp_path / "cp.toml"
    config.write_text(CONFIG)
    run = tmp_path / "run"
    assert main(["train", str(config), "--out", str(run)]) == 0
    return run, capsys.readouterr().out


def test_train_prints_the_final_loss_and_errors_per_member(cp_run):
    run, out = cp_run
    rows = [r for r in read_metrics(run) if r["step"] == 20]
    assert "final metrics at step 20:" in out
    for row in rows:
        line = next(x for x in out.splitlines() if x.strip().startswith(f"member {row['member']}:"))
        for key in ("loss", "train_mse", "test_mse", "normalized_error"):
            printed = float(re.search(rf"{key} (\S+)", line).group(1))
            assert printed == pytest.approx(row[key], rel=1e-3), key


def test_train_and_analyze_print_cp_component_norms(cp_run, capsys):
    run, out = cp_run
    assert "CP component norms (5 components" in out
    assert main(["analyze", str(run), "--member", "1"]) == 0
    text = capsys.readouterr().out
    line = next(x for x in text.splitlines() if x.strip().startswith("member 1:"))
    count = int(re.search(r"(\d+) non-negligible", line).group(1))
    largest = [float(v) for v in line.split("largest:")[1].split()]
    assert len(largest) == 5 and largest == sorted(largest, reverse=True)
    assert count == sum(v > 1e-3 * largest[0] for v in largest)  # the run's rank_rtol
    assert "member 0:" not in text.split("CP component norms")[1]


def test_cp_component_report_against_component_norms():
    model = CP(3, 4, rank=6, init_std=0.5, seed=0, ensemble=2, dtype=torch.float64)
    with torch.no_grad():
        model.matrices()[0][1, :, 3:] = 0.0  # member 1: three components switched off
    norms = component_norms(model, sort=True).detach()
    text = cp_component_report(model, rtol=1e-6, top=6)
    assert "member 0: 6 non-negligible" in text and "member 1: 3 non-negligible" in text
    assert f"{float(norms[0, 0]):.4g}" in text
    assert is_cp(model)
    assert not is_cp(HierarchicalTensorFactorization(balanced(4), 3, 2))


def test_cp_component_report_rejects_other_models_and_members():
    with pytest.raises(AnalysisError, match=r"needs a CP model .* got HierarchicalTensorFact"):
        cp_component_report(HierarchicalTensorFactorization(balanced(4), 3, 2))
    with pytest.raises(AnalysisError, match=r"member must be in \[0, 0\] .* got 3"):
        cp_component_report(CP(3, 4, rank=2), member=3)


def test_train_tensorboard_flag_writes_event_files(tmp_path, capsys):
    pytest.importorskip("tensorboard", reason="needs pip install tnreg[tensorboard]")
    config = tmp_path / "cp.toml"
    config.write_text(CONFIG)
    tb = tmp_path / "tb"
    args = ["train", str(config), "--out", str(tmp_path / "run"), "--tensorboard", str(tb)]
    assert main(args) == 0
    assert list(tb.glob("events.out.tfevents.*"))


def test_train_tensorboard_without_the_package_is_one_line(tmp_path, capsys, monkeypatch):
    monkeypatch.setitem(sys.modules, "torch.utils.tensorboard", None)
    config = tmp_path / "cp.toml"
    config.write_text(CONFIG)
    args = ["train", str(config), "--out", str(tmp_path / "run"), "--tensorboard", str(tmp_path)]
    assert main(args) == 2
    assert "pip install 'tnreg[tensorboard]'" in capsys.readouterr().err
