"""``tnreg verify``: the table, --claim, --json, --list and the exit status."""

from __future__ import annotations

import json

import pytest

from tnreg.cli import main
from tnreg.theory import REGISTRY, Measurement, register


def test_verify_selected_claims_passes_and_writes_json(tmp_path, capsys):
    out = tmp_path / "r.json"
    status = main(["verify", "--quick", "--claim", "dmf-rate", "--claim", "cp-rate",
                   "--json", str(out)])  # fmt: skip
    text = capsys.readouterr().out
    assert status == 0
    assert "dmf-rate" in text and "PASS" in text and "2/2 claims passed" in text
    data = json.loads(out.read_text())
    assert data["passed"] is True and [c["name"] for c in data["claims"]] == [
        "dmf-rate",
        "cp-rate",
    ]


@pytest.fixture
def failing_claim():
    def check(quick):
        return Measurement(0.0, 1.0, False, "no")

    register("always-fails", citation="test", statement="false", status="hypothesis",
             setting="-", tolerance=0.0)(check)  # fmt: skip
    yield "always-fails"
    REGISTRY.pop("always-fails")


def test_verify_exits_1_when_a_claim_fails(failing_claim, capsys):
    assert main(["verify", "--claim", failing_claim]) == 1
    assert "FAILED: always-fails" in capsys.readouterr().out


def test_verify_unknown_claim_exits_2(capsys):
    assert main(["verify", "--claim", "nope"]) == 2
    assert "unknown claim(s) ['nope']" in capsys.readouterr().err


def test_verify_list(capsys):
    assert main(["verify", "--list"]) == 0
    assert "deep-cp-exponent" in capsys.readouterr().out
