"""The command line: the demo runs end to end and shows each stage."""

from __future__ import annotations

import pytest

from tnreg.cli import main


def test_demo_runs_small(capsys):
    assert (
        main(
            [
                "demo",
                "--order",
                "4",
                "--dim",
                "3",
                "--width",
                "4",
                "--samples",
                "60",
                "--steps",
                "20",
            ]
        )
        == 0
    )
    out = capsys.readouterr().out
    for stage in ("Mode tree", "ContractionPlan", "optimizer:", "step", "Rank report", "erank"):
        assert stage in out


def test_unknown_command_exits_with_usage(capsys):
    with pytest.raises(SystemExit):
        main(["nope"])
    assert "invalid choice" in capsys.readouterr().err
