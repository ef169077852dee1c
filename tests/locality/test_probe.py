"""The locality probe: rank 1 for separable scores, > 1 for bilinear ones."""

from __future__ import annotations

import pytest
import torch

from tnreg.locality.patches import Patch, patch_mask
from tnreg.locality.probe import interaction_matrix, locality_profile, probe

PI, PJ = Patch(0, 0, 3, 3), Patch(0, 5, 3, 3)


def _part(x, p):
    return x[:, :, p.top : p.top + p.height, p.left : p.left + p.width].flatten(1)


def _matrix(f, seed=0):
    gen = torch.Generator().manual_seed(seed)
    x = torch.randn(13, 1, 8, 8, dtype=torch.float64, generator=gen)
    mi, mj = patch_mask(PI, 8, 8), patch_mask(PJ, 8, 8)
    return interaction_matrix(f, x[0], x[1:7], x[7:], mi, mj)


def test_separable_score_has_rank_one():
    f = lambda z: torch.tanh(_part(z, PI).sum(1)) * (2 + _part(z, PJ).square().sum(1))  # noqa: E731
    r = probe(_matrix(f))
    assert abs(r.effective_rank - 1.0) < 1e-6
    assert r.singular_values[1:].max() < 1e-9 * r.singular_values[0]


def test_additive_score_has_no_interaction():
    f = lambda z: torch.tanh(_part(z, PI).sum(1)) + _part(z, PJ).square().sum(1)  # noqa: E731
    r = probe(_matrix(f))
    assert r.effective_rank == 0.0 and r.interaction_fraction < 1e-9


def test_bilinear_score_has_higher_rank():
    m = torch.randn(9, 9, dtype=torch.float64, generator=torch.Generator().manual_seed(3))
    f = lambda z: torch.einsum("bi,ij,bj->b", _part(z, PI), m, _part(z, PJ))  # noqa: E731
    r = probe(_matrix(f))
    assert r.effective_rank > 2.0 and r.interaction_fraction > 0.5


def test_complement_mask_is_the_issue_matrix():
    f = lambda z: _part(z, PI).sum(1) * z.flatten(1).sum(1)  # noqa: E731
    x = torch.randn(4, 1, 8, 8, dtype=torch.float64)
    mi = patch_mask(PI, 8, 8)
    mat = interaction_matrix(f, x[0], x, x, mi, ~mi)
    direct = f(torch.where(mi, x[1], x[2])[None])
    torch.testing.assert_close(mat[1, 2], direct[0])


def test_profile_rows():
    net = torch.nn.Sequential(
        torch.nn.Flatten(), torch.nn.Linear(64, 8), torch.nn.Tanh(), torch.nn.Linear(8, 1)
    )
    rows = locality_profile(
        net, torch.randn(10, 1, 8, 8), patch_size=2, distances=[2, 5], n_samples=4, n_bases=2
    )
    assert [r["distance"] for r in rows] == [2.0, 5.0] and net.training
    assert all(0 <= r["interaction"] <= 1 + 1e-6 for r in rows)


def test_probe_errors():
    x = torch.zeros(3, 1, 4, 4)
    m = torch.zeros(4, 4, dtype=torch.bool)
    with pytest.raises(ValueError, match="overlap"):
        interaction_matrix(lambda z: z.sum((1, 2, 3)), x[0], x, x, ~m, ~m)
    with pytest.raises(ValueError, match="masks must have shape"):
        interaction_matrix(lambda z: z.sum((1, 2, 3)), x[0], x, x, m[:2], m)
    with pytest.raises(ValueError, match="base"):
        interaction_matrix(lambda z: z.sum((1, 2, 3)), x, x, x, m, m)
    with pytest.raises(ValueError, match="2-d interaction matrix"):
        probe(torch.zeros(3))
    with pytest.raises(ValueError, match="no two disjoint"):
        locality_profile(torch.nn.Flatten(), x, patch_size=2, distances=[3])


def test_profile_leaves_out_draws_where_a_patch_never_varies():
    torch.manual_seed(0)
    x = torch.zeros(32, 1, 8, 16, dtype=torch.float64)
    x[:, :, :, :6] = torch.randn(32, 1, 8, 6, dtype=torch.float64)  # columns 6.. always blank

    def product(z):  # interacts everywhere: any informative draw has interaction > 0
        return z[:, :, :, :8].sum((1, 2, 3)) * z[:, :, :, 2:].sum((1, 2, 3))

    net = torch.nn.Module()
    net.forward = product
    rows = locality_profile(net, x, patch_size=2, distances=[2, 12], n_samples=4, n_bases=3)
    near, far = rows
    assert near["n"] == 3 and near["interaction"] > 0.05
    assert far["n"] == 0 and far["interaction"] != far["interaction"]  # NaN: nothing to see
