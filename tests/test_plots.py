"""Figures from run directories: synthetic metrics written by the tests, Agg backend."""

from __future__ import annotations

import math

import pytest

pytest.importorskip("matplotlib", reason="plots need matplotlib (pip install 'tnreg[plot]')")

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt

from tnreg import plots
from tnreg.train.rundir import RunDir


def _cp_rows(members: int, steps: int = 5) -> list[dict]:
    rows = []
    for step in range(0, 100 * steps, 100):
        for m in range(members):
            row = {"step": step, "time_s": step / 1000, "member": m, "loss": 1.0 / (1 + step)}
            row.update({"train_mse": 1.0 / (1 + step), "normalized_error": 0.5 ** (step / 100)})
            row.update({f"component/{k}": math.tanh(step / (100 * (k + 1))) for k in range(3)})
            row.update({"erank/0": 3.0 - step / 250, "rank/0": 3 - step // 250})
            row.update({"sigma/0/0": 1.0, "sigma/0/1": 0.1 ** (1 + step / 100)})
            rows.append(row)
    return rows


def _htf_rows() -> list[dict]:
    rows = []
    for step in (0, 10, 20):
        row = {"step": step, "time_s": 0.0, "member": 0, "test_mse": 0.1}
        for node in ("0", "1", "0-1", "2", "3", "2-3"):
            row.update({f"erank/{node}": 2.0, f"rank/{node}": 2, f"sigma/{node}/0": 1.0})
        for node in ("0-1", "2-3", "0-3"):
            row.update({f"local/{node}/0": 1.0, f"local/{node}/1": 0.5})
        rows.append(row)
    return rows


@pytest.fixture
def cp_run(tmp_path):
    model = {"kind": "cp", "order": 3, "init_std": [1e-3, 1e-1]}
    run = RunDir.create(tmp_path / "cp", {"model": model})
    run.append_rows(_cp_rows(2))
    return run.path


@pytest.fixture
def htf_run(tmp_path):
    model = {"kind": "htf", "tree": "balanced", "order": 4, "init_std": 0.01}
    run = RunDir.create(tmp_path / "htf", {"model": model})
    run.append_rows(_htf_rows())
    return run.path


def test_load_series_one_per_member_labelled_by_init(cp_run):
    series = plots.load_series([cp_run])
    assert [s.label for s in series] == ["init 0.001", "init 0.1"]
    assert list(series[1].steps) == [0, 100, 200, 300, 400]
    assert len(series[0].family("component")) == 3
    assert series[0].nodes("erank") == ["0"]


def test_load_series_overlays_runs(cp_run, htf_run):
    series = plots.load_series([cp_run, htf_run])
    assert [s.label for s in series] == ["cp, init 0.001", "cp, init 0.1", "htf"]


@pytest.mark.parametrize(
    "draw, panels",
    [
        (plots.plot_components, 2),
        (plots.plot_errors, 2),
        (plots.plot_effective_ranks, 1),
        (plots.plot_singular_values, 1),
    ],
)
def test_cp_figures_have_one_panel_per_series_or_node(cp_run, draw, panels):
    fig = draw([cp_run])
    assert len([ax for ax in fig.axes if ax.get_visible()]) == panels
    plt.close(fig)


def test_local_components_one_panel_per_interior_node(htf_run):
    fig = plots.plot_local_components([htf_run])
    assert [ax.get_title() for ax in fig.axes if ax.get_visible()] == [
        "node 0-1",
        "node 2-3",
        "node 0-3",
    ]
    plt.close(fig)


def test_tree_ranks_annotates_every_named_node(htf_run):
    tree = plots.run_tree({"model": {"kind": "htf", "tree": "balanced", "order": 4}})
    fig = plots.plot_tree_ranks(tree, {"0": 1, "0-1": 2})
    texts = sorted(t.get_text() for t in fig.axes[0].texts if t.get_text().startswith("r="))
    assert texts == ["r=1", "r=2"]
    plt.close(fig)


def test_run_tree_by_kind():
    assert len(plots.run_tree({"model": {"kind": "cp", "order": 5}})) == 6
    assert len(plots.run_tree({"model": {"kind": "deep_mf", "order": 2}})) == 3
    with pytest.raises(ValueError, match="no 'model' table"):
        plots.run_tree({})


def test_plot_runs_writes_png_and_pdf(cp_run, htf_run, tmp_path):
    written = plots.plot_runs([cp_run, htf_run], tmp_path / "figs")
    names = {p.name for p in written}
    for name in ("components", "errors", "effective_ranks", "local_components", "tree_ranks"):
        assert {f"{name}.png", f"{name}.pdf"} <= names
    assert all(p.stat().st_size > 0 for p in written)


def test_plot_runs_defaults_to_the_runs_figures_folder(htf_run):
    written = plots.plot_runs([htf_run], formats=("png",))
    assert all(p.parent == htf_run / "figures" and p.suffix == ".png" for p in written)


def test_missing_family_names_the_tracker(htf_run):
    with pytest.raises(ValueError, match=r"no 'component/<k>' columns.*'components' tracker"):
        plots.plot_components([htf_run])
    with pytest.raises(ValueError, match="no 'local/<node>/<k>' columns"):
        plots.plot_local_components([_empty_run(htf_run.parent)])


def _empty_run(root):
    run = RunDir.create(root / "bare", {})
    run.append_rows([{"step": 0, "time_s": 0.0, "member": 0, "loss": 1.0}])
    return run.path


def test_errors_figure_needs_error_columns(tmp_path):
    with pytest.raises(ValueError, match=r"none of \['train_mse'"):
        plots.plot_errors([_empty_run(tmp_path)])
    with pytest.raises(ValueError, match="'erank/<node>' columns"):
        plots.plot_effective_ranks([_empty_run(tmp_path / "x")])


def test_nothing_to_plot_and_bad_format(tmp_path):
    bare = _empty_run(tmp_path)
    with pytest.raises(ValueError, match="nothing to plot"):
        plots.plot_runs([bare])
    with pytest.raises(ValueError, match=r"unknown figure format\(s\) \['svgz'\]"):
        plots.plot_runs([bare], formats=("svgz",))


def test_no_runs_and_empty_metrics(tmp_path):
    with pytest.raises(ValueError, match="at least one run directory"):
        plots.load_series([])
    run = RunDir.create(tmp_path / "new", {})
    (run.path / "metrics.csv").write_text("step,time_s,member,loss\n")
    with pytest.raises(ValueError, match="no metric rows yet"):
        plots.load_series([run.path])


def test_import_tnreg_does_not_import_matplotlib():
    import subprocess
    import sys

    code = "import sys, tnreg; print('matplotlib' in sys.modules)"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert done.stdout.strip() == "False", done.stderr


@pytest.mark.parametrize("draw", [plots.plot_errors, plots.plot_effective_ranks])
def test_overlaid_runs_keep_their_colour_in_every_panel(cp_run, htf_run, draw):
    series = plots.load_series([cp_run, htf_run])  # the htf run alone has test_mse, node 0-1
    fig = draw(series)
    cycle = plt.rcParams["axes.prop_cycle"].by_key()["color"]
    expected = {s.label: cycle[i] for i, s in enumerate(series)}
    seen = 0
    for ax in fig.axes:
        for line in ax.lines:
            if not line.get_label().startswith("_"):
                assert matplotlib.colors.same_color(line.get_color(), expected[line.get_label()])
                seen += 1
    assert seen >= len(series)
    legend = [t.get_text() for t in fig.axes[0].get_legend().get_texts()]
    assert legend == list(expected)  # every run named, also where it has no data
    plt.close(fig)


def test_overlaid_local_components_colour_by_run(htf_run, tmp_path):
    other = RunDir.create(tmp_path / "other", {"model": {"kind": "htf", "order": 4}})
    other.append_rows([{k: v for k, v in r.items() if not k.startswith("local/0-1")}
                       for r in _htf_rows()])  # fmt: skip
    series = plots.load_series([htf_run, other.path])
    fig = plots.plot_local_components(series)
    cycle = plt.rcParams["axes.prop_cycle"].by_key()["color"]
    panel = fig.axes[0]  # node 0-1: only the first run has data there
    assert all(matplotlib.colors.same_color(ln.get_color(), cycle[0]) for ln in panel.lines)
    others = [ln for ax in fig.axes[1:] for ln in ax.lines[2:]]  # the second run's curves
    assert others and all(matplotlib.colors.same_color(ln.get_color(), cycle[1]) for ln in others)
    plt.close(fig)
