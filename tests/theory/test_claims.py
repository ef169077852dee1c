"""tnreg.theory.registry and .claims: Claim, controls, the registry, loading a module."""

from __future__ import annotations

import json
import math

import pytest

from tnreg.theory import (
    REGISTRY,
    Claim,
    ClaimError,
    ClaimResult,
    Control,
    Measurement,
    format_table,
    get_claims,
    load_claims,
    register,
    results_to_json,
    run_claims,
)
from tnreg.theory.catalog import builtin_names


def _ok(quick):
    return Measurement(1.0, 1.0, True, "fine", Control("other", 2.0, False))


def test_register_a_claim_in_a_few_lines():
    mine: dict = {}

    @register("mine", citation="me", statement="1 = 1", status="derived", setting="-",
              tolerance=0.0, rule="measured == predicted", registry=mine)  # fmt: skip
    def check(quick):
        return Measurement(1.0, 1.0, True, control=Control("1 = 2", 2.0, holds=False))

    (result,) = run_claims(registry=mine)
    assert result.passed and result.name == "mine" and result.seconds >= 0
    assert result.rule == "measured == predicted" and result.control_holds is False


def test_a_claim_whose_control_also_passes_fails():
    def check(quick):
        return Measurement(0, 0, True, control=Control("x", 0.0, holds=True))

    c = Claim("c", "", "", "derived", "", 0.0, check)
    result = c.check()
    assert result.rule_held and result.control_holds and not result.passed


def test_a_failed_rule_fails_even_with_a_good_control():
    def check(quick):
        return Measurement(0, 1, False, control=Control("x", 0.0, holds=False))

    c = Claim("c", "", "", "derived", "", 0.0, check)
    assert not c.check().passed


def test_a_measurement_may_set_the_tolerance_from_data():
    c = Claim("c", "", "", "hypothesis", "", 0.5,
              lambda quick: Measurement(0, 0, True, tolerance=0.03))  # fmt: skip
    assert c.check().tolerance == 0.03


def test_duplicate_names_are_refused():
    mine: dict = {}
    register("a", citation="", statement="", status="theorem", setting="", tolerance=0,
             registry=mine)(_ok)  # fmt: skip
    with pytest.raises(ClaimError, match="already registered"):
        register("a", citation="", statement="", status="theorem", setting="", tolerance=0,
                 registry=mine)(_ok)  # fmt: skip


def test_unknown_status_is_refused():
    with pytest.raises(ClaimError, match="unknown status 'lemma'"):
        Claim("x", "", "", "lemma", "", 0.0, _ok)


def test_bad_name_and_check_are_refused():
    with pytest.raises(ClaimError, match="without spaces"):
        Claim("a b", "", "", "theorem", "", 0.0, _ok)
    with pytest.raises(ClaimError, match="callable"):
        Claim("a", "", "", "theorem", "", 0.0, None)


def test_a_crashing_check_is_a_failed_result_that_names_the_error():
    def boom(quick):
        raise RuntimeError("kaput")

    result = Claim("boom", "", "", "hypothesis", "", 0.0, boom).check()
    assert not result.passed and math.isnan(result.measured)
    assert "RuntimeError: kaput" in result.detail


def test_a_check_must_return_a_measurement():
    result = Claim("bad", "", "", "theorem", "", 0.0, lambda quick: 3.0).check()
    assert not result.passed and "must return a Measurement" in result.detail


def test_unknown_claim_names_list_the_registered_ones():
    with pytest.raises(ClaimError, match="registered claims"):
        get_claims(["no-such-claim"])


def test_the_builtin_catalog():
    names = builtin_names()
    assert list(REGISTRY)[: len(names)] == names and len(names) >= 20
    claims = get_claims(names)
    assert {c.status for c in claims} == {"theorem", "derived", "hypothesis", "consistency"}
    for c in claims:
        assert c.rule != "as the check function decides", c.name
        if c.status == "theorem":  # a theorem is quoted with its number
            assert "Theorem" in c.citation and "not verified" not in c.citation, c.name


def test_table_and_json():
    rows = [
        ClaimResult("a", "theorem", 0.0, 1e-16, 1e-9, True, 0.1, rule="m <= tol",
                    rule_held=True, control="c", control_value=0.5, control_holds=False),
        ClaimResult("b", "hypothesis", 2.0, math.nan, 0.1, False, 0.2, "error: x"),
    ]  # fmt: skip
    text = format_table(rows)
    assert "PASS" in text and "FAIL" in text and "nan" in text and "0.5 fails" in text
    assert format_table(rows, markdown=True).startswith("| claim | status |")
    data = json.loads(results_to_json(rows))
    assert data["passed"] is False and data["claims"][1]["measured"] is None


USER_MODULE = """
from tnreg.theory import Control, Measurement, register

@register("user-claim", citation="test", statement="1 < 2", status="derived", setting="-",
          tolerance=0.0, rule="measured < 2")
def user_claim(quick):
    return Measurement(2.0, 1.0, 1.0 < 2.0, control=Control("3 < 2", 3.0, 3.0 < 2.0))
"""


def test_load_claims_from_a_file(tmp_path):
    path = tmp_path / "user_claims.py"
    path.write_text(USER_MODULE)
    try:
        assert load_claims(str(path)) == ["user-claim"]
        (result,) = run_claims(["user-claim"])
        assert result.passed
    finally:
        REGISTRY.pop("user-claim", None)


def test_load_claims_errors_name_the_module(tmp_path):
    with pytest.raises(ClaimError, match="no such file"):
        load_claims(str(tmp_path / "missing.py"))
    with pytest.raises(ClaimError, match="importing it failed with ModuleNotFoundError"):
        load_claims("tnreg_no_such_module_xyz")
