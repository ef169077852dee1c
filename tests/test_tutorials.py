"""Every tutorial runs (smoke sizes) and its own asserts hold: as a notebook, executed cell by
cell in a Jupyter kernel (what the docs site renders; the same session's docs build reuses the
executed pages), or as a plain script when the notebook packages are not installed."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

TUTORIALS = sorted((Path(__file__).parents[1] / "tutorials").glob("[0-9]*.py"))


def test_there_are_tutorials():
    assert TUTORIALS


def _run_as_script(path: Path, cwd: Path) -> None:
    env = {**os.environ, "TNREG_TUTORIAL_SMOKE": "1", "MPLBACKEND": "Agg"}
    done = subprocess.run(
        [sys.executable, str(path)], cwd=cwd, env=env, capture_output=True, text=True,
        timeout=600,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]


@pytest.mark.parametrize("path", TUTORIALS, ids=lambda p: p.stem)
def test_tutorial_runs(path, tmp_path, tutorial_notebooks):
    if tutorial_notebooks is None:  # no jupyter packages: the plain script
        _run_as_script(path, tmp_path)
        return
    body, _ = tutorial_notebooks.run(path)
    assert body.startswith("# ")  # rendered, title first
