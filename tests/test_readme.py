"""The README as the front door: its Python blocks run as written (the quickstart stays true),
its quickstart is short, and its links, command table and tutorial list match the repository."""

from __future__ import annotations

import argparse
import re
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"


def _quickstart() -> str:
    text = README.read_text()
    match = re.search(r"\[start:quickstart\] -->\n```python\n(.*?)```", text, re.S)
    assert match, "the README has no marked quickstart block"
    return match.group(1)


def test_readme_python_blocks_run(capsys) -> None:
    blocks = re.findall(r"```python\n(.*?)```", README.read_text(), re.S)
    assert blocks, "the README has no python blocks"
    namespace: dict = {}
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # small tensors on a shared machine
    try:
        for block in blocks:
            exec(compile(block, str(README), "exec"), namespace)
            if block == _quickstart():
                trained = namespace["model"]
    finally:
        torch.set_num_threads(threads)
    out = capsys.readouterr().out
    assert "RankReport" in out and "finished" in out  # the quickstart trained and reported
    from tnreg.analysis import node_spectra, numerical_rank

    for node, s in node_spectra(trained).items():  # what the quickstart says
        assert int(numerical_rank(s, rtol=1e-2)[0]) <= 2, node  # width 8 would allow 4


def test_quickstart_is_short() -> None:
    lines = [x for x in _quickstart().splitlines() if x.strip()]
    assert len(lines) <= 15, len(lines)


def test_readme_links_point_at_files() -> None:
    for target in re.findall(r"\]\(([^)#]+)(?:#[^)]*)?\)", README.read_text()):
        if not target.startswith(("http://", "https://")):
            assert (ROOT / target).exists(), target


def test_readme_lists_every_subcommand_and_tutorial() -> None:
    from tnreg.cli import build_parser

    text = README.read_text()
    parser = build_parser()
    sub = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    for name in sub.choices:
        assert f"| `tnreg {name}" in text, f"tnreg {name} is missing from the command table"
    for path in sorted((ROOT / "tutorials").glob("[0-9]*.py")):
        assert f"`{path.name}`" in text, f"{path.name} is missing from the tutorials list"
