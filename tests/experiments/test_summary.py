"""Rise steps and summaries read back from runs."""

from __future__ import annotations

import numpy as np
import pytest

from tnreg.experiments.summary import MemberSummary, rise_steps, summary_table
from tnreg.plots import Series

STEPS = np.array([0.0, 100.0, 200.0, 300.0, 400.0])


def test_rise_step_is_first_step_at_half_the_final_norm():
    norms = [np.array([0.0, 0.2, 0.6, 1.0, 1.0]), np.array([0.0, 0.0, 0.0, 0.3, 0.5])]
    assert rise_steps(STEPS, norms) == [200, 300]
    assert rise_steps(STEPS, norms, fraction=0.1) == [100, 300]


def test_components_that_stay_small_did_not_rise():
    norms = [np.array([0.0, 1.0, 1.0, 1.0, 1.0]), np.full(5, 1e-3)]
    assert rise_steps(STEPS, norms) == [100]
    assert rise_steps(STEPS, norms, active=0.0) == [100, 0]
    assert rise_steps(STEPS, [np.zeros(5)]) == []


@pytest.mark.parametrize("kwargs", [{"fraction": 0.0}, {"fraction": 1.5}, {"active": 1.0}])
def test_bad_thresholds(kwargs):
    with pytest.raises(ValueError, match="rise_steps needs 0 < fraction <= 1"):
        rise_steps(STEPS, [np.ones(5)], **kwargs)


def test_summarize_member_reads_family_errors_and_ranks():
    from tnreg.experiments.summary import summarize_member

    columns = {
        "component/0": np.array([0.0, 0.1, 0.9, 1.0, 1.0]),
        "component/1": np.array([0.0, 0.0, 0.0, 0.2, 0.4]),
        "component/2": np.full(5, 1e-4),
        "train_mse": np.array([1.0, 0.5, 0.1, 0.01, 0.001]),
        "rank/0": np.array([3.0, 3.0, 1.0, 2.0, 2.0]),
    }
    s = Series("init 0.01", None, 0, STEPS, columns)
    summary = summarize_member(s, "component")
    assert summary.rises == [200, 300]
    assert summary.final_norms == [1.0, 0.4]
    assert summary.errors == {"train_mse": 0.001}
    assert summary.ranks == {"0": 2}
    line = summary.line()
    assert "rise steps [200, 300]" in line and "final norms [1.000, 0.400]" in line
    assert "ranks 0:2" in line


def test_summary_table_header_and_empty():
    row = MemberSummary("a", "component", [1], [0.5], {"train_mse": 0.1})
    assert summary_table([row]).splitlines()[0].startswith("component: rise")
    assert summary_table([]) == "(no runs)"
