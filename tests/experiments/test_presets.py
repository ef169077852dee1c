"""Every preset builds valid training configs; quick variants are smaller."""

from __future__ import annotations

import pytest

from tnreg.experiments.presets import PRESETS, get_preset
from tnreg.train import TrainConfig


@pytest.mark.parametrize("name", sorted(PRESETS))
@pytest.mark.parametrize("quick", [False, True], ids=["full", "quick"])
def test_preset_configs_validate(name, quick):
    specs = PRESETS[name].runs(quick)
    assert specs and len({s.name for s in specs}) == len(specs)
    for spec in specs:
        config = TrainConfig.from_dict(spec.config)
        assert config.model.kind in ("cp", "htf", "deep_mf")


@pytest.mark.parametrize("name", sorted(PRESETS))
def test_quick_is_no_larger_than_full(name):
    full, quick = PRESETS[name].runs(False), PRESETS[name].runs(True)
    cost = lambda specs: sum(  # noqa: E731
        s.config["steps"] * (s.config["model"]["widths"] or 1) for s in specs
    )
    assert cost(quick) <= cost(full)


def test_runs_are_copies():
    preset = get_preset("cp-incremental")
    preset.runs(True)[0].config["steps"] = 1
    assert preset.runs(True)[0].config["steps"] > 1


def test_cp_incremental_is_the_design_setting():
    (spec,) = get_preset("cp-incremental").runs(False)
    model, data = spec.config["model"], spec.config["data"]
    assert (model["order"], model["dims"], model["widths"]) == (4, 10, 1000)
    assert model["init_std"] == [5e-3, 1e-2, 5e-2]
    assert (data["num_train"], data["target"]["rank"]) == (2000, 5)
    assert spec.config["optimizer"] == "group_rmsprop" and spec.config["lr"] == 1e-2


def test_htf_paper_keeps_the_published_setting():
    (spec,) = get_preset("htf-incremental-paper").runs(False)
    model = spec.config["model"]
    assert (model["order"], model["dims"], model["widths"], model["init_std"]) == (
        4,
        16,
        512,
        1e-2,
    )
    assert spec.config["eps"] == 1e-6 and spec.config["steps"] == 40_000


def test_rank_complexity_has_real_data_and_two_controls():
    specs = get_preset("rank-complexity").runs(False)
    controls = {s.config["data"]["control"] for s in specs}
    assert controls == {"none", "random_images", "random_labels"}
    assert sorted({s.config["model"]["widths"] for s in specs}) == list(range(1, 16))


def test_unknown_preset_lists_the_valid_ones():
    with pytest.raises(ValueError, match=r"unknown preset 'cp'; valid options: \['cp-incremental'"):
        get_preset("cp")
