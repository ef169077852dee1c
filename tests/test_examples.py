"""The example config: it loads, and it is set up for the effect it is for (a staircase)."""

from __future__ import annotations

from pathlib import Path

from tnreg.data import make_dataset
from tnreg.train import build_model, load_config

EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "cp.toml"


def test_cp_example_has_a_staircase_target_and_stops_once_fitted():
    config = load_config(EXAMPLE, []).validate()
    data = make_dataset(config.data)
    norms = sorted(data.target.component_norms().tolist(), reverse=True)
    assert len(norms) >= 3 and norms[-1] > 0.1  # three components to rise, none negligible
    assert config.tolerance is not None and config.tolerance <= 1e-10  # stop once fitted
    assert config.model.init_std < 1e-2 and config.model.widths >= 10 * len(norms)  # small init
    model = build_model(config.model)
    assert model.members == 1
