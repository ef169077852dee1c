"""``tnreg verify``: the table, --claim, --json, --list, --module, --mutants, exit status."""

from __future__ import annotations

import json

import pytest

from tnreg.cli import main
from tnreg.theory import REGISTRY, Control, Measurement, register


def test_verify_selected_claims_passes_and_writes_json(tmp_path, capsys):
    out = tmp_path / "r.json"
    status = main(["verify", "--quick", "--claim", "dmf-rate", "--claim", "cp-rate",
                   "--json", str(out)])  # fmt: skip
    text = capsys.readouterr().out
    assert status == 0
    assert "dmf-rate" in text and "PASS" in text and "2/2 claims passed" in text
    assert "fails" in text  # the control column
    data = json.loads(out.read_text())
    assert data["passed"] is True and [c["name"] for c in data["claims"]] == [
        "dmf-rate",
        "cp-rate",
    ]


@pytest.fixture
def failing_claim():
    def check(quick):
        return Measurement(0.0, 1.0, False, "no", Control("-", 0.0, False))

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
    out = capsys.readouterr().out
    assert "deep-cp-exponent" in out and "consistency" in out


def test_verify_help_shows_examples_and_defaults(capsys):
    with pytest.raises(SystemExit):
        main(["verify", "--help"])
    out = capsys.readouterr().out
    assert "tnreg verify --module my_claims.py" in out and "(default: None)" in out
    assert "--mutants" in out


def test_verify_module_loads_a_users_claims(tmp_path, capsys):
    path = tmp_path / "my_claims.py"
    path.write_text(
        "from tnreg.theory import Control, Measurement, register\n"
        "@register('cli-user-claim', citation='t', statement='s', status='derived', "
        "setting='-', tolerance=0.0, rule='always')\n"
        "def c(quick):\n"
        "    return Measurement(0, 0, True, control=Control('-', 1.0, False))\n"
    )
    try:
        assert main(["verify", "--module", str(path), "--claim", "cli-user-claim"]) == 0
        assert "1/1 claims passed" in capsys.readouterr().out
    finally:
        REGISTRY.pop("cli-user-claim", None)
    assert main(["verify", "--module", str(tmp_path / "nope.py")]) == 2
    assert "no such file" in capsys.readouterr().err


def test_verify_mutants_prints_the_kill_matrix(capsys):
    assert main(["verify", "--mutants", "--quick", "--claim", "cp-rate"]) == 1
    out = capsys.readouterr().out
    assert "killed by" in out and "SURVIVED every claim" in out  # not every mutant touches it


def test_verify_unknown_mutant_exits_2(capsys):
    assert main(["verify", "--mutants", "--mutant", "nope", "--claim", "cp-rate"]) == 2
    assert "unknown mutant(s) ['nope']" in capsys.readouterr().err


def test_verify_one_mutant_killed(capsys):
    args = ["verify", "--mutants", "--quick", "--mutant", "rank-bound-off-by-one",
            "--claim", "min-cut-bound"]  # fmt: skip
    assert main(args) == 0
    assert "1/1 mutants killed" in capsys.readouterr().out
