"""``tnreg plot``, ``tnreg reproduce`` and ``tnreg demo`` through the command line."""

from __future__ import annotations

import pytest

from tnreg.cli import main
from tnreg.train.rundir import RunDir


@pytest.fixture
def run(tmp_path):
    run = RunDir.create(tmp_path / "run", {"model": {"kind": "cp", "order": 3}})
    run.append_rows(
        [
            {
                "step": s,
                "time_s": 0.0,
                "member": 0,
                "train_mse": 1.0 / (1 + s),
                "component/0": s / 10,
            }
            for s in (0, 10)
        ]
    )
    return run.path


def test_plot_writes_figures(run, tmp_path, capsys):
    pytest.importorskip("matplotlib", reason="figures need matplotlib")
    assert main(["plot", str(run), "--out", str(tmp_path / "figs"), "--format", "png"]) == 0
    out = capsys.readouterr().out
    assert "files in" in out and "components.png" in out
    assert (tmp_path / "figs" / "errors.png").is_file()


def test_plot_missing_run_is_one_line_exit_2(tmp_path, capsys):
    assert main(["plot", str(tmp_path / "nowhere")]) == 2
    err = capsys.readouterr().err
    assert err.startswith("tnreg plot: error: no metrics file") and err.count("\n") == 1


def test_plot_bad_format_names_the_choices(run, capsys):
    with pytest.raises(SystemExit) as done:
        main(["plot", str(run), "--format", "svg"])
    assert done.value.code == 2
    assert "invalid choice: 'svg'" in capsys.readouterr().err


def test_reproduce_unknown_preset_lists_presets(capsys):
    with pytest.raises(SystemExit) as done:
        main(["reproduce", "cp"])
    assert done.value.code == 2
    err = capsys.readouterr().err
    assert "invalid choice: 'cp'" in err and "cp-incremental" in err


def test_reproduce_help_lists_presets_with_examples(capsys):
    with pytest.raises(SystemExit) as done:
        main(["reproduce", "--help"])
    assert done.value.code == 0
    out = capsys.readouterr().out
    assert "examples:" in out and "htf-incremental-paper" in out and "(default:" in out


def test_reproduce_runs_a_preset(tiny, tmp_path, capsys):
    assert main(["reproduce", "tiny", "--out", str(tmp_path), "--no-figures"]) == 0
    out = capsys.readouterr().out
    assert "rise steps" in out and f"runs in {tmp_path}" in out
    assert main(["reproduce", "tiny", "--out", str(tmp_path), "--no-figures"]) == 2
    assert "tnreg reproduce: error:" in capsys.readouterr().err


def test_demo_prints_learned_vs_target_ranks(tmp_path, capsys):
    argv = ["demo", "--dim", "3", "--width", "4", "--samples", "60", "--steps", "20"]
    assert main([*argv, "--out", str(tmp_path / "demo"), "--no-figures"]) == 0
    out = capsys.readouterr().out
    for stage in ("Mode tree", "ContractionPlan", "optimizer:", "step", "Rank report", "erank"):
        assert stage in out
    assert "Learned vs target rank at every node" in out
    assert "every node's numerical rank equals the target's:" in out
    assert (tmp_path / "demo" / "metrics.csv").is_file()


def test_demo_bad_setting_is_one_line(tmp_path, capsys):
    argv = ["demo", "--dim", "3", "--samples", "500", "--out", str(tmp_path / "d")]
    assert main(argv) == 2
    assert capsys.readouterr().err.startswith("tnreg demo: error: cannot sample 500")
