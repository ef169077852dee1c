"""Trackers against dense, independent references (float64)."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from conftest import small_cp, small_htf

from tnreg.testing import assert_close
from tnreg.train import TrainConfig, fit
from tnreg.train.losses import loss_function
from tnreg.train.trackers import TRACKERS, TrackContext, resolve_trackers, run_trackers


def _context(data, **kwargs) -> TrackContext:
    return TrackContext(
        step=0, data=data, train_inputs=data.train_indices, train_values=data.train_values,
        test_inputs=data.test_indices, test_values=data.test_values,
        loss_fn=loss_function("mse"), **kwargs,
    )  # fmt: skip


def _track(model, data, names, **kwargs):
    return run_trackers(model, _context(data, **kwargs), resolve_trackers(names), model.members)


def test_errors_match_the_dense_tensors(cp_data):
    model = small_htf(ensemble=2)
    got = _track(model, cp_data, ["loss", "errors"])
    dense = model.to_dense().detach()  # (2, 5, 5, 5)
    truth = cp_data.target(torch.cartesian_prod(*[torch.arange(5)] * 3)).reshape(5, 5, 5)
    idx = cp_data.train_indices
    train_pred = dense[:, idx[:, 0], idx[:, 1], idx[:, 2]]
    mse = (train_pred - cp_data.train_values).square().mean(-1)
    assert_close(torch.tensor(got["train_mse"]), mse)
    assert_close(torch.tensor(got["loss"]), mse)
    t = cp_data.test_indices
    test_mse = (dense[:, t[:, 0], t[:, 1], t[:, 2]] - cp_data.test_values).square().mean(-1)
    assert_close(torch.tensor(got["test_mse"]), test_mse)
    exact = (dense - truth).flatten(1).norm(dim=1) / truth.norm()  # 125 entries: exact
    assert_close(torch.tensor(got["normalized_error"]), exact)


def test_spectra_match_the_dense_svd(cp_data):
    model = small_htf()
    got = _track(model, cp_data, ["spectra"], top_k=3, rank_rtol=1e-3)
    w = model.to_dense().detach().numpy()  # a single model: shape (5, 5, 5)
    s = np.linalg.svd(w.reshape(25, 5), compute_uv=False)  # node (0, 1) vs mode 2
    assert_close(torch.tensor([got[f"sigma/0-1/{k}"][0] for k in range(3)]), torch.tensor(s[:3]))
    p = s / s.sum()
    assert_close(torch.tensor(got["erank/0-1"][0]), torch.tensor(np.exp(-(p * np.log(p)).sum())))
    assert got["rank/0-1"][0] == int((s > 1e-3 * s[0]).sum())


def test_cp_component_norms_are_sorted_products_of_factor_norms(cp_data):
    model = small_cp(ensemble=2)
    got = _track(model, cp_data, ["components"], top_k=4)
    norms = torch.ones(2, 4, dtype=torch.float64)
    for p in model.params:
        norms = norms * p.detach().norm(dim=1)
    expected = norms.sort(dim=1, descending=True).values
    assert_close(torch.tensor([got[f"component/{k}"] for k in range(4)]).T, expected)
    assert not any(k.startswith("local/") for k in got)


def test_param_norm_and_invariant_drift(cp_data):
    model = small_cp()
    context = _context(cp_data)
    fns = resolve_trackers(["param_norm", "invariants"])
    first = run_trackers(model, context, fns, 1)
    total = sum(p.detach().square().sum() for p in model.params).sqrt()
    assert_close(torch.tensor(first["param_norm"][0]), total)
    assert first["invariant_drift"] == [0.0]
    with torch.no_grad():
        model.params[0][0, :, 0] *= 2  # changes ||w_0^0||² only: drift = 3 ||w_0^0||²
        moved = 3 * model.params[0][0, :, 0].square().sum() / 4
    later = run_trackers(model, context, fns, 1)
    assert_close(torch.tensor(later["invariant_drift"][0]), moved)


def test_invariant_drift_stays_small_under_small_steps(cp_data):
    config = TrainConfig(
        optimizer="gd", lr=1e-3, steps=40, track_every=40, trackers=["invariants"], progress=False
    )
    result = fit(small_cp(), cp_data, config)
    assert 0 < result.final["invariant_drift"][0] < 1e-3


def test_every_builtin_tracker_is_registered():
    assert set(TRACKERS) == {"loss", "errors", "param_norm", "spectra", "components", "invariants"}


def test_unknown_tracker_and_bad_values_are_rejected(cp_data):
    with pytest.raises(ValueError, match="unknown tracker 'ranks'; valid options"):
        resolve_trackers(["ranks"])
    with pytest.raises(ValueError, match="trackers must be callables"):
        resolve_trackers([], ["loss"])
    model = small_cp(ensemble=2)

    def wrong_shape(model, context):
        return {"x": torch.zeros(3)}

    with pytest.raises(ValueError, match=r"tracker value 'x' must be a number or a \(2,\) tensor"):
        run_trackers(model, _context(cp_data), [wrong_shape], 2)

    def twice(model, context):
        return {"loss": 1.0}

    fns = [*resolve_trackers(["loss"]), twice]
    with pytest.raises(ValueError, match="two trackers return the metric 'loss'"):
        run_trackers(model, _context(cp_data), fns, 2)
