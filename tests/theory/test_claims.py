"""tnreg.theory.claims: the Claim object, the registry, results, tables and JSON."""

from __future__ import annotations

import json
import math

import pytest

from tnreg.theory import (
    REGISTRY,
    Claim,
    ClaimError,
    ClaimResult,
    Measurement,
    format_table,
    get_claims,
    register,
    results_to_json,
    run_claims,
)
from tnreg.theory.catalog import BUILTIN


def _ok(quick):
    return Measurement(1.0, 1.0, True, "fine")


def test_register_a_claim_in_a_few_lines():
    mine: dict = {}

    @register("mine", citation="me", statement="1 = 1", status="derived", setting="-",
              tolerance=0.0, registry=mine)  # fmt: skip
    def check(quick):
        return Measurement(predicted=1.0, measured=1.0, passed=True)

    (result,) = run_claims(registry=mine)
    assert result.passed and result.name == "mine" and result.seconds >= 0


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


def test_the_builtin_registry_holds_the_fifteen_claims_in_order():
    get_claims()
    assert list(REGISTRY)[: len(BUILTIN)] == list(BUILTIN) and len(BUILTIN) == 15
    assert {c.status for c in get_claims(BUILTIN)} == {"theorem", "derived", "hypothesis"}
    assert get_claims(["deep-cp-exponent"])[0].status == "hypothesis"


def test_table_and_json():
    rows = [
        ClaimResult("a", "theorem", 0.0, 1e-16, 1e-9, True, 0.1),
        ClaimResult("b", "hypothesis", 2.0, math.nan, 0.1, False, 0.2, "error: x"),
    ]
    text = format_table(rows)
    assert "PASS" in text and "FAIL" in text and "nan" in text
    assert format_table(rows, markdown=True).startswith("| claim | status |")
    data = json.loads(results_to_json(rows))
    assert data["passed"] is False and data["claims"][1]["measured"] is None
