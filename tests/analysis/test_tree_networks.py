"""Linear-time node spectra of tree tensor networks against numpy's dense SVD."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from tnreg import trees
from tnreg.analysis import node_scaled_spectra, node_spectra
from tnreg.analysis.tree_networks import TreeNetworkSweep, is_tree_network
from tnreg.models import TensorTrain
from tnreg.network import TensorNetwork
from tnreg.testing import assert_close, dense_svd, random_model


@pytest.mark.parametrize("kind", ["tucker", "tt", "ht"])
@pytest.mark.parametrize("order", [3, 5])
def test_sweep_matches_dense_svd(kind, order) -> None:
    model = random_model(kind, order=order, dims=3, width=2, seed=4, ensemble=2)
    tensors = {k: v.detach() for k, v in model.tensors().items()}
    assert is_tree_network(model.network)
    sweep = TreeNetworkSweep(model.network, tensors)
    keys = sweep.node_keys(model.tree)
    dense = model.to_dense().detach()
    for v, modes in trees.node_mode_sets(model.tree).items():
        found = sweep.scaled(*keys[v])
        assert found is not None, v
        relative, log_max = found
        sigma = relative * log_max.exp()[:, None]
        for e in range(2):
            ref = dense_svd(dense[e].numpy(), modes)
            k = sigma.shape[-1]
            assert_close(sigma[e], ref[:k], rtol=0, atol=1e-12, scale=float(ref[0]))
            assert np.all(ref[k:] <= 1e-12 * ref[0])


def test_large_formats_take_the_sweep_and_stay_finite(monkeypatch) -> None:
    """Above the dense threshold node_spectra uses the sweep: no max-flow per node."""
    calls = []
    monkeypatch.setattr(TensorNetwork, "min_cut", lambda self, rows: calls.append(rows))
    model = TensorTrain(300, 2, 3, seed=0, init_std=1.0, dtype=torch.float64)
    scaled = node_scaled_spectra(model)
    assert calls == [] and len(scaled) == 2 * 300 - 2
    assert all(bool(torch.isfinite(s.log_max).all()) for s in scaled.values())
    assert all(s.relative.shape[-1] <= 3 for s in scaled.values())


def test_sweep_agrees_with_the_min_cut_route_at_moderate_order() -> None:
    """Order 22 (4M entries, above the dense threshold): sweep vs min-cut Gram networks."""
    model = random_model("ht", order=22, dims=2, width=2, seed=1)
    fast = node_spectra(model)
    from tnreg.analysis import matricization_spectrum

    for v in [0, 7, *list(fast)[-3:]]:
        slow = matricization_spectrum(model, list(trees.modes_under(model.tree, v)), method="gram")
        k = min(fast[v].shape[-1], slow.shape[-1])
        assert_close(fast[v][..., :k], slow[..., :k], rtol=1e-8, atol=1e-12, scale=1.0)


def test_not_a_tree_network() -> None:
    ring = TensorNetwork.from_equation("aib,bjc,cka->ijk", (2, 3, 2), (2, 3, 2), (2, 3, 2))
    assert not is_tree_network(ring)
    hyper = TensorNetwork.from_equation("ir,jr,kr->ijk", (2, 3), (2, 3), (2, 3))
    assert not is_tree_network(hyper)
