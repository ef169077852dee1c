"""``reproduce``: a tiny preset end to end, and every real preset's quick variant for 2 steps."""

from __future__ import annotations

import csv

import pytest

from tnreg.experiments import presets, reproduce
from tnreg.experiments.presets import Preset, RunSpec


def test_tiny_preset_writes_runs_figures_and_summary(tiny, tmp_path):
    pytest.importorskip("matplotlib", reason="figures need matplotlib")
    lines = []
    result = reproduce("tiny", out=tmp_path / "out", formats=("png",), echo=lines.append)
    assert result.run_dirs == [tmp_path / "out" / "cp"]
    assert (tmp_path / "out" / "cp" / "metrics.csv").is_file()
    assert (tmp_path / "out" / "figures" / "components.png").is_file()
    assert (tmp_path / "out" / "figures" / "tree_ranks.png").is_file()
    summary = (tmp_path / "out" / "summary.txt").read_text()
    assert summary.startswith("component: rise")
    assert "init 0.01" in summary and "init 0.1" in summary and "reference: none" in summary
    assert lines[0].startswith("tiny: a tiny CP run")
    assert "[1/1] cp: finished 40 steps" in lines[1]


def test_existing_run_directory_is_refused(tiny, tmp_path):
    reproduce("tiny", out=tmp_path, figures=False, echo=lambda _: None)
    with pytest.raises(ValueError, match="exists"):
        reproduce("tiny", out=tmp_path, figures=False, echo=lambda _: None)


def _two_steps(build):
    def shrunk(quick: bool) -> list[RunSpec]:
        specs = build(quick)
        for spec in specs:
            spec.config.update(steps=2, track_every=1, checkpoint_every=2, device="cpu")
        return specs[:1] + [s for s in specs if s.name.endswith("rank02")][:1]

    return shrunk


@pytest.mark.parametrize("name", sorted(presets.PRESETS))
def test_quick_presets_run_two_steps(name, monkeypatch, tmp_path):
    preset = presets.PRESETS[name]
    if preset.name == "rank-complexity":
        pytest.importorskip("sklearn", reason="the digits need scikit-learn (tnreg[data])")
    if preset.name == "htf-incremental-paper":
        pytest.skip("the published setting (widths 512 at order 4) is too large for a unit test")
    shrunk = Preset(preset.name, preset.title, preset.family, _two_steps(preset.build))
    monkeypatch.setitem(presets.PRESETS, name, shrunk)
    result = reproduce(name, quick=True, out=tmp_path, figures=False, echo=lambda _: None)
    assert result.summary and all((d / "metrics.csv").is_file() for d in result.run_dirs)


def test_rank_complexity_fits_real_digits_but_not_random_labels(tmp_path):
    """The preset's setting (init near one, Adam, clamp) trains at order 64: after 300 steps a
    rank-1 CP fits the real digits far below the labels' variance (0.36), random labels not."""
    pytest.importorskip("sklearn", reason="the digits need scikit-learn (tnreg[data])")
    from tnreg.experiments.reproduce import train_spec

    final = {}
    for spec in presets.get_preset("rank-complexity").runs(True):
        if spec.name in ("none-rank01", "random_labels-rank01"):
            spec.config.update(steps=300, track_every=100, device="cpu")
            train_spec(spec, tmp_path / spec.name)
            with open(tmp_path / spec.name / "metrics.csv") as f:
                final[spec.name] = float(list(csv.DictReader(f))[-1]["train_mse"])
    assert final["none-rank01"] < 0.15 < 0.3 < final["random_labels-rank01"]
