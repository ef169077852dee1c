"""The probe at initialization, at matched train accuracy and at the end of training."""

from __future__ import annotations

import csv

import pytest
import torch

from tnreg.locality.matched import compare_locality, load_run_model, matched_epoch
from tnreg.locality.probe import profile_model
from tnreg.locality.runner import LocalityConfig, make_model, make_task, run

TINY = dict(
    path_length=3,
    scale=0.1,
    n_train=48,
    n_val=8,
    n_test=16,
    epochs=3,
    batch_size=16,
    model="small",
    width=0.25,
    depth=2,
    device="cpu",
    snapshots=True,
)


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    torch.set_num_threads(1)
    root = tmp_path_factory.mktemp("runs")
    run(LocalityConfig(reg=0.0, **TINY), root / "base")
    run(LocalityConfig(reg=1.0, **TINY), root / "ref")
    return root / "ref", root / "base"


def _accuracies(run_dir):
    with open(run_dir / "metrics.csv") as fh:
        return [float(r["train_acc"]) for r in csv.DictReader(fh)]


def test_matched_epoch_is_the_closest_train_accuracy(runs):
    _, base = runs
    acc = _accuracies(base)
    for target in (*acc, 0.0, 1.0, 0.5 * (acc[0] + acc[-1])):
        best = min(abs(a - target) for a in acc)
        epoch = matched_epoch(base, target)
        assert abs(acc[epoch - 1] - target) == best
        assert all(abs(a - target) > best for a in acc[: epoch - 1])  # ties: the earlier epoch


def test_loaded_networks_are_the_saved_ones(runs):
    ref, _ = runs
    config = LocalityConfig(reg=1.0, **TINY)
    init = make_model(config, 1, 15).state_dict()
    loaded = load_run_model(ref, 0).state_dict()
    assert all(torch.equal(init[k], loaded[k]) for k in init)
    final = torch.load(ref / "checkpoint.pt", weights_only=False)["model"]
    assert all(torch.equal(final[k], v) for k, v in load_run_model(ref).state_dict().items())
    assert not load_run_model(ref).training


def test_compare_locality_probes_four_networks(runs):
    ref, base = runs
    out = compare_locality(ref, base, n_images=16)
    assert list(out["profiles"]) == [
        "init",
        "baseline_matched",
        "baseline_final",
        "reference_final",
    ]
    assert out["train_accuracy"]["reference_final"] == _accuracies(ref)[-1]
    epoch = out["matched_epoch"]
    assert out["train_accuracy"]["baseline_matched"] == _accuracies(base)[epoch - 1]
    _, _, test = make_task(LocalityConfig(reg=1.0, **TINY))
    expected = profile_model(load_run_model(ref, 0), test, patch_size=2, n_images=16)
    assert out["profiles"]["init"] == expected
    for rows in out["profiles"].values():
        assert all(0.0 <= r["interaction"] <= 1.0 for r in rows)


def test_errors_name_the_run(tmp_path, runs):
    ref, _ = runs
    with pytest.raises(ValueError, match=r"no snapshot of epoch 9 .*snapshots=True"):
        load_run_model(ref, 9)
    with pytest.raises(ValueError, match=r"is not a locality run directory: no config\.json"):
        load_run_model(tmp_path)
    with pytest.raises(ValueError, match=r"has no finished epoch in metrics\.csv"):
        matched_epoch(tmp_path, 0.5)
