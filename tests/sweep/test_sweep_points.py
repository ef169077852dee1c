"""Points: names from axis values, full configs, validation before anything runs."""

from __future__ import annotations

import pytest
from sweep_cases import tiny

from tnreg.sweep.points import expand, format_value, labels
from tnreg.sweep.spec import SweepError, spec_from_dict


def test_points_are_named_from_their_axis_values_and_seed() -> None:
    spec = spec_from_dict(tiny(grid={"model.init_std": [5e-3, 0.1]}, seeds=[0, 3]))
    points = expand(spec)
    assert [p.name for p in points] == [
        "init_std=0.005,seed=0",
        "init_std=0.005,seed=3",
        "init_std=0.1,seed=0",
        "init_std=0.1,seed=3",
    ]
    p = points[1]
    assert p.values == {"model.init_std": 5e-3} and p.seed == 3
    assert p.config["model"]["init_std"] == 5e-3 and p.config["model"]["seed"] == 3
    assert p.config["steps"] == 40  # the rest of the base is kept


def test_seed_keys_set_every_listed_key() -> None:
    spec = spec_from_dict(tiny(seeds=[2], seed_keys=["model.seed", "data.seed"]))
    (point,) = expand(spec)
    assert point.config["model"]["seed"] == 2 and point.config["data"]["seed"] == 2


def test_labels_keep_whole_keys_when_last_parts_clash() -> None:
    assert labels(["data.seed", "model.seed", "lr"]) == {
        "data.seed": "data.seed",
        "model.seed": "model.seed",
        "lr": "lr",
    }


def test_format_value_is_file_name_safe() -> None:
    assert format_value("a/b c") == "a_b_c"
    assert format_value([[0, 1], 2]) == "0x1x2"


def test_duplicate_names_are_an_error() -> None:
    spec = spec_from_dict(tiny(points=[{"model.tree": "a/b"}, {"model.tree": "a b"}]))
    with pytest.raises(SweepError, match="have the same name 'tree=a_b,seed=0'"):
        expand(spec, validate=False)


def test_a_bad_axis_value_fails_before_anything_runs() -> None:
    spec = spec_from_dict(tiny(grid={"lr": [0.1, -1.0]}))
    with pytest.raises(SweepError, match=r"point 'lr=-1,seed=0'.*'lr': expected a number > 0"):
        expand(spec)
