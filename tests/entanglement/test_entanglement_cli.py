"""``tnreg entanglement``: the per-node table, the search, the figure, one-line errors."""

from __future__ import annotations

import importlib.util
import re

import numpy as np
import pytest

from tnreg.cli import main


def test_table_on_planted_tree(capsys) -> None:
    assert main(["entanglement", "planted", "--tree", "planted", "--max-samples", "64"]) == 0
    out = capsys.readouterr().out
    assert "planted: 512 samples, 32 features" in out and "M=64 samples" in out


def test_search_and_plot_on_a_file(tmp_path, capsys) -> None:
    rng = np.random.default_rng(0)
    np.savez(tmp_path / "d.npz", x=rng.random((40, 6)), y=rng.choice([-1.0, 1.0], 40))
    args = ["entanglement", str(tmp_path / "d.npz"), "--tree", "[[0, 1, 2], [3, [4, 5]]]",
            "--search", "agglomerative", "--theta", "0.3"]  # fmt: skip
    if importlib.util.find_spec("matplotlib"):
        args += ["--plot", str(tmp_path / "t.png")]
    assert main(args) == 0
    out = capsys.readouterr().out
    assert "searched tree (agglomerative" in out
    if importlib.util.find_spec("matplotlib"):
        assert (tmp_path / "t.png").stat().st_size > 0


@pytest.mark.parametrize(
    ("args", "match"),
    [
        (["nowhere.npz"], "no such data file: 'nowhere.npz'"),
        (["planted", "--tree", "[[0, 1]"], "--tree is not valid JSON"),
        (["planted", "--tree", "[[0, 1], [2, 3]]"], "the tree has 4 modes but x has 32"),
        (["planted", "--search", "--theta", "0.9"], r"theta in \(0, 0.5\)"),
    ],
)
def test_errors_are_one_line(args: list, match: str, capsys) -> None:
    assert main(["entanglement", *args]) == 2
    err = capsys.readouterr().err
    assert err.startswith("tnreg entanglement: error:") and err.count("\n") == 1
    assert re.search(match, err)


def test_bad_flag_values_exit_2(capsys) -> None:
    with pytest.raises(SystemExit) as exc:
        main(["entanglement", "planted", "--theta", "2"])
    assert exc.value.code == 2
    assert "expected a number in (0, 1]" in capsys.readouterr().err
