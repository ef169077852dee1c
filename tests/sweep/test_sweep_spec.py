"""Sweep files: parsing, the base config, axes, seeds and the errors on bad input."""

from __future__ import annotations

import pytest
from sweep_cases import tiny

from tnreg.sweep.spec import SweepError, axis_values, load_sweep, set_key, spec_from_dict


def test_grid_is_crossed_and_points_are_crossed_with_it() -> None:
    spec = spec_from_dict(
        tiny(
            grid={"model.init_std": [0.1, 0.3], "lr": [0.01, 0.05]},
            points=[{"model.widths": 2}, {"model.widths": 4, "data.num_train": 50}],
        )
    )
    combos = axis_values(spec)
    assert len(combos) == 2 * 2 * 2
    assert combos[0] == {"model.init_std": 0.1, "lr": 0.01, "model.widths": 2}
    assert combos[1] == {"model.init_std": 0.1, "lr": 0.01, "model.widths": 4, "data.num_train": 50}
    assert spec.axis_keys == ["model.init_std", "lr", "model.widths", "data.num_train"]


def test_defaults_per_kind() -> None:
    assert spec_from_dict(tiny()).seed_keys == ("model.seed",)
    loc = spec_from_dict({"kind": "locality", "base": {"task": "pathfinder"}})
    assert loc.seed_keys == ("seed",) and loc.seeds == (0,)


def test_set_table_overrides_the_base_both_spellings() -> None:
    spec = spec_from_dict(tiny(set={"steps": 7, "model": {"widths": 3}, "data.num_train": 30}))
    assert spec.base["steps"] == 7
    assert spec.base["model"]["widths"] == 3
    assert spec.base["data"]["num_train"] == 30


def test_base_from_a_file_relative_to_the_sweep_file(tmp_path) -> None:
    (tmp_path / "cfg").mkdir()
    (tmp_path / "cfg" / "base.toml").write_text('lr = 0.5\n[model]\nkind = "cp"\n')
    (tmp_path / "s.toml").write_text('base = "cfg/base.toml"\nseeds = [0, 1]\n')
    spec = load_sweep(tmp_path / "s.toml")
    assert spec.base == {"lr": 0.5, "model": {"kind": "cp"}}
    assert spec.source == tmp_path / "s.toml"


def test_set_key_refuses_to_descend_into_a_value() -> None:
    with pytest.raises(SweepError, match="'model' is 'cp', not a table"):
        set_key({"model": "cp"}, "model.widths", 4)


@pytest.mark.parametrize(
    ("raw", "match"),
    [
        ({"grids": {}}, "unknown key 'grids'; valid keys"),
        ({"kind": "trian"}, "key 'kind': unknown value 'trian'; valid options"),
        ({"seeds": [0, 0]}, "key 'seeds': expected a non-empty list of distinct ints"),
        ({"seeds": []}, "key 'seeds': expected a non-empty list"),
        ({"grid": {"lr": 0.1}}, "key 'grid.lr': expected a non-empty list of values"),
        ({"grid": {"lr": []}}, "key 'grid.lr': expected a non-empty list"),
        ({"points": [1]}, "key 'points': expected an array of tables"),
        ({"grid": {"lr": [1]}, "points": [{"lr": 2}]}, "'lr' is both a grid axis and set by"),
        ({"grid": {"model.seed": [1]}}, r"a seed key \['model.seed'\] is also an axis"),
        ({"pack": "yes"}, "key 'pack': expected true or false"),
        ({"max_pack": 0}, "key 'max_pack': expected an int >= 1"),
        ({"resources": {"cpus": 0}}, "key 'resources.cpus': expected an int >= 1"),
        ({"resources": {"gpus": -1}}, "key 'resources.gpus': expected a number >= 0"),
        ({"resources": {"mem": 1}}, "unknown key 'resources.mem'"),
        ({"base": 3}, "key 'base': expected a config file name or a table"),
        ({"metrics": "loss"}, "key 'metrics': expected a list of metric names"),
        ({"curve": 3}, "key 'curve': expected a metric name"),
        ({"name": ""}, "key 'name': expected a non-empty string"),
    ],
)
def test_bad_sweep_files_name_the_key(raw, match) -> None:
    with pytest.raises(SweepError, match=match):
        spec_from_dict(tiny(**raw), where="s.toml")


def test_missing_and_unparsable_files(tmp_path) -> None:
    with pytest.raises(SweepError, match="cannot read sweep file"):
        load_sweep(tmp_path / "nope.toml")
    (tmp_path / "bad.toml").write_text("seeds = [0,\n")
    with pytest.raises(SweepError, match="cannot parse sweep file"):
        load_sweep(tmp_path / "bad.toml")
    (tmp_path / "s.toml").write_text('base = "missing.toml"\n')
    with pytest.raises(SweepError, match="cannot read base config"):
        load_sweep(tmp_path / "s.toml")
