"""tnreg.theory.mutants: patches apply and restore in isolation; mutants are killed."""

from __future__ import annotations

import pytest

import tnreg.theory.quantities as quantities
from tnreg.models import HierarchicalTensorFactorization
from tnreg.network import TensorNetwork
from tnreg.theory import Control, Measurement, get_claims, register
from tnreg.theory.mutants import MUTANTS, kill_matrix, replace_attribute, replace_function
from tnreg.theory.registry import cached
from tnreg.theory.report import format_kill_matrix

SEAMS = [
    (HierarchicalTensorFactorization, "forward"),
    (HierarchicalTensorFactorization, "matrices"),
    (HierarchicalTensorFactorization, "__init__"),
    (HierarchicalTensorFactorization, "balance_"),
    (TensorNetwork, "rank_bound"),
]


def _snapshot():
    import tnreg.analysis
    import tnreg.components
    import tnreg.theory.trajectories
    import tnreg.train

    funcs = [
        (tnreg.train, "gradient_flow"), (tnreg.components, "local_norms"),
        (tnreg.analysis, "node_spectra"), (quantities, "growth_exponent"),
        (tnreg.theory.trajectories, "gd_path"),
    ]  # fmt: skip
    return [owner.__dict__.get(name) for owner, name in SEAMS] + [getattr(m, n) for m, n in funcs]


def test_there_are_at_least_8_mutants_across_layers():
    assert len(MUTANTS) >= 8 and len({m.layer for m in MUTANTS}) >= 5
    assert len({m.name for m in MUTANTS}) == len(MUTANTS)


@pytest.mark.parametrize("mutant", MUTANTS, ids=lambda m: m.name)
def test_each_mutant_changes_something_and_restores_it(mutant):
    before = _snapshot()
    with mutant.apply():
        during = _snapshot()
    assert sum(a is not b for a, b in zip(before, during)) == 1
    assert all(a is b for a, b in zip(before, _snapshot()))


def test_a_patch_is_restored_after_an_error():
    before = _snapshot()
    with pytest.raises(RuntimeError, match="inside"), MUTANTS[0].apply():
        raise RuntimeError("inside")
    assert all(a is b for a, b in zip(before, _snapshot()))


def test_replace_function_reaches_names_imported_elsewhere():
    from tnreg.theory import catalog_learning  # holds growth_exponent by name

    with replace_function("tnreg.theory.quantities", "growth_exponent", lambda f: lambda k: 7.0):
        assert catalog_learning.growth_exponent(3) == 7.0
        assert quantities.growth_exponent(3) == 7.0
    assert catalog_learning.growth_exponent(3) == quantities.growth_exponent(3) == 2 - 2 / 3


def test_replace_attribute_on_a_class():
    class A:
        x = 1

    with replace_attribute(A, "x", 2):
        assert A.x == 2
    assert A.x == 1


def test_kill_matrix_runs_each_mutant_alone_and_forgets_cached_runs():
    mine: dict = {}
    calls = []

    @cached
    def shared(quick):
        calls.append(quick)
        return quantities.growth_exponent(3)

    @register("exponent", citation="-", statement="a = 4/3", status="derived", setting="-",
              tolerance=0.0, rule="measured == predicted", registry=mine)  # fmt: skip
    def exponent(quick):
        a = shared(quick)
        return Measurement(4 / 3, a, abs(a - 4 / 3) < 1e-12, control=Control("a = 1", 1.0, False))

    @register("other", citation="-", statement="-", status="consistency", setting="-",
              tolerance=0.0, rule="always", registry=mine)  # fmt: skip
    def other(quick):
        return Measurement(0, 0, True, control=Control("never", 1.0, False))

    wrong = next(m for m in MUTANTS if m.name == "wrong-rate-exponent")
    noop = next(m for m in MUTANTS if m.name == "rank-bound-off-by-one")
    shared(True)  # cached before: the matrix must not reuse it
    matrix = kill_matrix(list(mine.values()), [wrong, noop])
    assert [r.passed for r in matrix["wrong-rate-exponent"]] == [False, True]
    assert [r.passed for r in matrix["rank-bound-off-by-one"]] == [True, True]
    assert len(calls) == 3  # once before, once per mutant
    text = format_kill_matrix(matrix)
    assert "killed by  1  0" in text and "2: rank-bound-off-by-one" in text


CHEAP_KILLS = {
    "non-multilinear-forward": "cp-rate-general",
    "gradient-scaled-node": "cp-rate-general",
    "degraded-integrator": "cp-invariants",
    "squared-norms": "cp-rate",
    "wrong-node-spectrum": "spectrum-values",
    "rank-bound-off-by-one": "min-cut-bound",
    "wrong-rate-exponent": "cp-rate",
    "depth-ignored": "dmf-rate",
    "balance-noop": "cp-rate",
    "gd-step-off": "cp-invariants",
}


@pytest.mark.parametrize("name", sorted(CHEAP_KILLS))
def test_mutants_are_killed_by_a_cheap_claim(name):
    mutant = next(m for m in MUTANTS if m.name == name)
    claims = get_claims([CHEAP_KILLS[name]])
    assert claims[0].check(quick=True).passed  # the claim passes on the real code
    (result,) = kill_matrix(claims, [mutant])[name]
    assert not result.passed, result.detail


def test_a_claim_over_the_time_limit_is_marked_not_killed():
    import time

    mine: dict = {}

    @register("slow", citation="-", statement="-", status="consistency", setting="-",
              tolerance=0.0, rule="always", registry=mine)  # fmt: skip
    def slow(quick):
        time.sleep(5)
        return Measurement(0, 0, True, control=Control("never", 1.0, False))

    noop = next(m for m in MUTANTS if m.name == "rank-bound-off-by-one")
    (result,) = kill_matrix(list(mine.values()), [noop], timeout=0.2)[noop.name]
    assert not result.passed and "ClaimTimeout" in result.detail
    text = format_kill_matrix({noop.name: [result]})
    assert "slow       T" in text and "killed by  0" in text
