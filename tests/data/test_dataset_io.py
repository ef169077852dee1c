"""Tests of tnreg.data.io and tnreg.data.dataset: datasets from configs, one-file save and load."""

from __future__ import annotations

import pytest
import torch

from tnreg.data import (
    CPTarget,
    DataError,
    Dataset,
    DenseTarget,
    TreeTarget,
    image_task,
    load_dataset,
    make_dataset,
    save_dataset,
)
from tnreg.data.dataset import FORMAT

CONFIGS = [
    {
        "task": "completion",
        "target": {"kind": "cp", "order": 4, "dims": 6, "rank": 3},
        "num_train": 300,
        "num_test": 50,
        "noise_std": 0.01,
        "seed": 4,
    },
    {
        "task": "sensing",
        "target": {"kind": "tree", "tree": "balanced", "order": 4, "dims": 3, "widths": 2},
        "num_train": 40,
        "num_test": 10,
    },
    {
        "task": "completion",
        "target": {"kind": "deep", "tree": [[0, 1], 2], "dims": 4, "widths": 2, "depth": 2},
        "num_train": 20,
    },
    {"task": "sensing", "target": {"kind": "full_rank", "dims": [3, 4]}, "num_train": 30},
]

TENSORS = ["train_values", "test_values", "train_indices", "test_indices"]


def _assert_same(a: Dataset, b: Dataset) -> None:
    assert a.kind == b.kind and a.dims == b.dims and a.config == b.config and a.info == b.info
    for name in TENSORS:
        x, y = getattr(a, name), getattr(b, name)
        assert (x is None and y is None) or (x.dtype == y.dtype and torch.equal(x, y)), name
    for name in ("train_vectors", "test_vectors"):
        x, y = getattr(a, name), getattr(b, name)
        assert (x is None and y is None) or all(torch.equal(u, v) for u, v in zip(x, y)), name
    if a.target is None:
        assert b.target is None
    else:
        assert type(a.target) is type(b.target) and a.target.config == b.target.config
        idx = torch.zeros(3, a.order, dtype=torch.long)
        assert torch.equal(a.target(idx), b.target(idx))


@pytest.mark.parametrize("config", CONFIGS)
def test_make_dataset_is_reproducible_from_its_resolved_config(config):
    data = make_dataset(config)
    assert data.config["seed"] == config.get("seed", 0)
    assert data.config["target"]["seed"] == data.config["seed"]
    _assert_same(make_dataset(data.config), data)


@pytest.mark.parametrize("config", CONFIGS)
def test_save_load_round_trip(tmp_path, config):
    data = make_dataset(config)
    path = tmp_path / "data.pt"
    data.save(path)
    loaded = Dataset.load(path)
    _assert_same(loaded, data)
    kinds = {"cp": CPTarget, "tree": TreeTarget, "deep": TreeTarget, "full_rank": DenseTarget}
    assert isinstance(loaded.target, kinds[config["target"]["kind"]])


def test_round_trip_of_real_data_without_target(tmp_path):
    entries = torch.tensor([[0, 1], [1, 1], [1, 0]])
    data = image_task(entries, torch.tensor([6, 0, 6]), test_fraction=0.3, seed=0)
    save_dataset(data, tmp_path / "img.pt")
    _assert_same(load_dataset(tmp_path / "img.pt"), data)


def test_loaded_tensors_come_from_the_file_not_from_regeneration(tmp_path):
    data = make_dataset(CONFIGS[0])
    data.target.factors[0].mul_(2.0)  # the file keeps what was saved, even if seeds would differ
    data.save(tmp_path / "d.pt")
    loaded = load_dataset(tmp_path / "d.pt")
    assert torch.equal(loaded.target.factors[0], data.target.factors[0])


def test_dataset_file_loads_with_weights_only(tmp_path):
    make_dataset(CONFIGS[1]).save(tmp_path / "d.pt")
    blob = torch.load(tmp_path / "d.pt", weights_only=True)
    assert blob["format"] == FORMAT and blob["version"] == 1


@pytest.mark.parametrize(
    ("config", "match"),
    [
        ({"num_train": 3}, r"a data config needs the key 'task' \(one of \['completion'"),
        ({"task": "regression"}, r"unknown data task='regression'; valid options"),
        ({"task": "completion", "num_train": 3, "nosie": 1}, r"unknown key\(s\) \['nosie'\]"),
        ({"task": "sensing", "num_train": 3}, r"needs the keys 'target' and 'num_train'"),
        ({"task": "digits", "colour": 1}, r"unknown key\(s\) \['colour'\] in the data config"),
        ({"task": "mnist", "labels": "x"}, r"needs the key 'images' \(an IDX path\)"),
    ],
)
def test_make_dataset_errors(config, match):
    with pytest.raises(DataError, match=match):
        make_dataset(config)


def test_load_errors(tmp_path):
    torch.save({"a": 1}, tmp_path / "other.pt")
    with pytest.raises(DataError, match=r"is not a tnreg dataset file \(no format tag"):
        load_dataset(tmp_path / "other.pt")
    (tmp_path / "junk.pt").write_bytes(b"not a torch file")
    with pytest.raises(DataError, match=r"is not a tnreg dataset file: "):
        load_dataset(tmp_path / "junk.pt")
    make_dataset(CONFIGS[3]).save(tmp_path / "d.pt")
    blob = torch.load(tmp_path / "d.pt", weights_only=True)
    blob["version"] = 99
    torch.save(blob, tmp_path / "new.pt")
    with pytest.raises(DataError, match=r"format version 99; this tnreg reads up to 1"):
        load_dataset(tmp_path / "new.pt")
