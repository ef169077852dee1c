"""Patches, patch samplers and swaps."""

from __future__ import annotations

import math

import pytest
import torch

from tnreg.locality.patches import FixedPatches, Patch, RandomPatches, patch_mask, swap_patch


def test_patch_geometry():
    a, b = Patch(0, 0, 2, 2), Patch(1, 1, 2, 2)
    assert a.overlaps(b) and not a.overlaps(Patch(0, 2, 2, 2))
    assert patch_mask(a, 3, 3).sum() == 4


@pytest.mark.parametrize(
    ("args", "error", "match"),
    [
        ((0, 0, 0, 1), ValueError, "height >= 1"),
        ((-1, 0, 1, 1), ValueError, "top >= 0"),
        ((0.5, 0, 1, 1), TypeError, "Patch.top must be an int"),
    ],
)
def test_patch_errors(args, error, match):
    with pytest.raises(error, match=match):
        Patch(*args)


def test_patch_must_fit():
    with pytest.raises(ValueError, match="does not fit in an image of 4x4"):
        patch_mask(Patch(3, 3, 2, 2), 4, 4)


def test_swap_patch_takes_only_the_patch():
    x, y = torch.zeros(2, 3, 4, 4, dtype=torch.float64), torch.ones(2, 3, 4, 4, dtype=torch.float64)
    out = swap_patch(x, y, Patch(1, 1, 2, 2))
    assert out.sum() == 2 * 3 * 4 and out[:, :, 1:3, 1:3].eq(1).all()
    with pytest.raises(ValueError, match="same shape"):
        swap_patch(x, y[:1], Patch(0, 0, 1, 1))


@pytest.mark.parametrize("seed", range(5))
def test_random_patches_respect_distance(seed):
    gen = torch.Generator().manual_seed(seed)
    i, j = RandomPatches(size=3, min_distance=12.0).sample(20, 24, generator=gen)
    assert i.distance(j) >= 12.0 and not i.overlaps(j)
    i.check_fits(20, 24)
    j.check_fits(20, 24)


def test_sampler_errors():
    gen = torch.Generator().manual_seed(0)
    with pytest.raises(ValueError, match="overlap"):
        FixedPatches(Patch(0, 0, 2, 2), Patch(1, 1, 2, 2))
    with pytest.raises(ValueError, match="patch J"):
        FixedPatches(Patch(0, 0, 2, 2), Patch(5, 5, 2, 2)).sample(4, 4, generator=gen)
    with pytest.raises(ValueError, match="largest centre distance"):
        RandomPatches(size=2, min_distance=100.0).sample(8, 8, generator=gen)
    with pytest.raises(ValueError, match=r"size=5 leaves no two disjoint patches in a 8x8 image"):
        RandomPatches(size=5).sample(8, 8, generator=gen)
    with pytest.raises(ValueError, match="size must be an int >= 1"):
        RandomPatches(size=0)
    with pytest.raises(ValueError, match="min_distance must be finite"):
        RandomPatches(size=1, min_distance=-1.0)


def test_random_patches_follow_the_authors_distribution():
    # 4x5 image, 2x2 patches: 12 positions for I; J uniform among those not overlapping I.
    gen = torch.Generator().manual_seed(0)
    sampler = RandomPatches(size=2)
    positions = [(t, left) for t in range(3) for left in range(4)]
    counts = torch.zeros(12, 12)
    for _ in range(6000):
        i, j = sampler.sample(4, 5, generator=gen)
        assert not i.overlaps(j)
        counts[positions.index((i.top, i.left)), positions.index((j.top, j.left))] += 1
    free = torch.tensor(
        [[not Patch(*a, 2, 2).overlaps(Patch(*b, 2, 2)) for b in positions] for a in positions]
    )
    expected = free / free.sum(1, keepdim=True) / 12  # I uniform, then J uniform among free
    observed = counts / counts.sum()
    assert float((observed - expected).abs().sum()) / 2 < 0.06  # total variation
    assert float((counts.sum(1) / 6000 - 1 / 12).abs().max()) < 0.02


def test_random_patches_give_up_after_their_tries():
    sampler = RandomPatches(size=1, min_distance=math.hypot(3, 3), max_tries=8)
    with pytest.raises(ValueError, match="found no disjoint pair of 1x1 patches"):
        sampler.sample(4, 4, generator=torch.Generator().manual_seed(1))
