"""Image patches: rectangles of the pixel grid, samplers of patch pairs, and patch swaps.

Vocabulary
----------
patch
    An axis-aligned rectangle of pixels ``(top, left, height, width)`` of an image batch of shape
    ``(B, C, H, W)``; all channels of those pixels belong to the patch.
patch pair
    Two disjoint patches ``(I, J)``: the regularizer asks how the network's gradient at ``I``
    depends on the content of ``J``.
distance
    The Euclidean distance between the centres of two patches, in pixels.
swap
    ``x`` with the pixels of a patch taken from another image ``x_other`` (in the regularizer,
    from the next sample of the batch: a cyclic shift).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch

__all__ = [
    "FixedPatches",
    "Patch",
    "RandomPatches",
    "patch_mask",
    "swap_patch",
]


@dataclass(frozen=True)
class Patch:
    """A rectangle of pixels: rows ``top:top+height``, columns ``left:left+width``.

    Examples
    --------
    >>> p = Patch(2, 3, 4, 4)
    >>> p.center
    (3.5, 4.5)
    >>> p.distance(Patch(2, 11, 4, 4))
    8.0
    """

    top: int
    left: int
    height: int
    width: int

    def __post_init__(self) -> None:
        for name in ("top", "left", "height", "width"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int):
                raise TypeError(f"Patch.{name} must be an int; got {type(value).__name__}")
        if self.top < 0 or self.left < 0 or self.height < 1 or self.width < 1:
            raise ValueError(
                "Patch needs top >= 0, left >= 0, height >= 1, width >= 1; got "
                f"top={self.top}, left={self.left}, height={self.height}, width={self.width}"
            )

    @property
    def center(self) -> tuple[float, float]:
        """The centre ``(row, column)`` in pixel coordinates."""
        return (self.top + (self.height - 1) / 2, self.left + (self.width - 1) / 2)

    def distance(self, other: Patch) -> float:
        """Euclidean distance between the two centres, in pixels."""
        (r0, c0), (r1, c1) = self.center, other.center
        return math.hypot(r1 - r0, c1 - c0)

    def overlaps(self, other: Patch) -> bool:
        """Whether the two rectangles share a pixel."""
        rows = self.top < other.top + other.height and other.top < self.top + self.height
        cols = self.left < other.left + other.width and other.left < self.left + self.width
        return rows and cols

    def check_fits(self, height: int, width: int, *, where: str = "patch") -> None:
        """Raise ``ValueError`` unless the patch lies inside an image of ``height × width``."""
        if self.top + self.height > height or self.left + self.width > width:
            raise ValueError(
                f"{where} {self} does not fit in an image of {height}x{width} pixels: it spans "
                f"rows {self.top}..{self.top + self.height - 1} and columns "
                f"{self.left}..{self.left + self.width - 1}. Move or shrink the patch."
            )


def patch_mask(
    patch: Patch, height: int, width: int, *, device: torch.device | str | None = None
) -> torch.Tensor:
    """Boolean mask of shape ``(height, width)``, true on the patch's pixels.

    Examples
    --------
    >>> patch_mask(Patch(0, 1, 1, 2), 2, 3).int()
    tensor([[0, 1, 1],
            [0, 0, 0]], dtype=torch.int32)
    """
    patch.check_fits(height, width)
    mask = torch.zeros(height, width, dtype=torch.bool, device=device)
    mask[patch.top : patch.top + patch.height, patch.left : patch.left + patch.width] = True
    return mask


def swap_patch(x: torch.Tensor, x_other: torch.Tensor, patch: Patch) -> torch.Tensor:
    """Return ``x`` with the pixels of ``patch`` taken from ``x_other`` (a new tensor).

    Both inputs have shape ``(B, C, H, W)``. Gradients flow to ``x`` outside the patch and to
    ``x_other`` inside it.

    Examples
    --------
    >>> x, y = torch.zeros(1, 1, 2, 2), torch.ones(1, 1, 2, 2)
    >>> swap_patch(x, y, Patch(0, 0, 1, 1))[0, 0]
    tensor([[1., 0.],
            [0., 0.]])
    """
    if x.ndim != 4 or x.shape != x_other.shape:
        raise ValueError(
            "swap_patch needs two image batches of the same shape (B, C, H, W); got "
            f"{tuple(x.shape)} and {tuple(x_other.shape)}"
        )
    mask = patch_mask(patch, x.shape[-2], x.shape[-1], device=x.device)
    return torch.where(mask, x_other, x)


@dataclass(frozen=True)
class FixedPatches:
    """Always the same pair of disjoint patches ``(I, J)``.

    Examples
    --------
    >>> s = FixedPatches(Patch(0, 0, 4, 4), Patch(0, 8, 4, 4))
    >>> s.sample(16, 16, generator=torch.Generator().manual_seed(0))[1]
    Patch(top=0, left=8, height=4, width=4)
    """

    patch_i: Patch
    patch_j: Patch

    def __post_init__(self) -> None:
        if self.patch_i.overlaps(self.patch_j):
            raise ValueError(
                f"patches I={self.patch_i} and J={self.patch_j} overlap; the regularizer needs "
                "disjoint patches (move J so that the rectangles share no pixel)"
            )

    def sample(self, height: int, width: int, *, generator: torch.Generator) -> tuple[Patch, Patch]:
        """Return ``(I, J)`` after checking that both fit a ``height × width`` image."""
        self.patch_i.check_fits(height, width, where="patch I")
        self.patch_j.check_fits(height, width, where="patch J")
        return self.patch_i, self.patch_j


@dataclass(frozen=True)
class RandomPatches:
    """Random disjoint square patches ``I`` and ``J`` of side ``size``, ``min_distance`` apart.

    Each call draws ``I`` uniformly among all positions, then ``J`` uniformly among the positions
    that do not overlap ``I`` and lie at least ``min_distance`` away (by rejection). With
    ``min_distance = 0`` (the default) this is the authors' sampler: ``I`` uniform, ``J`` uniform
    among the non-overlapping positions. When a drawn ``I`` admits no ``J``, ``I`` is redrawn;
    a ``ValueError`` names the largest feasible distance when no pair exists.

    Examples
    --------
    >>> s = RandomPatches(size=4, min_distance=10.0)
    >>> i, j = s.sample(32, 32, generator=torch.Generator().manual_seed(0))
    >>> i.distance(j) >= 10.0 and not i.overlaps(j)
    True
    """

    size: int = 2
    min_distance: float = 0.0
    max_tries: int = 1000

    def __post_init__(self) -> None:
        if isinstance(self.size, bool) or not isinstance(self.size, int) or self.size < 1:
            raise ValueError(f"RandomPatches.size must be an int >= 1; got {self.size!r}")
        if not (math.isfinite(self.min_distance) and self.min_distance >= 0):
            raise ValueError(
                f"RandomPatches.min_distance must be finite and >= 0; got {self.min_distance!r}"
            )

    def _check(self, height: int, width: int) -> None:
        s = self.size
        if s > height or s > width or (2 * s > height and 2 * s > width):
            raise ValueError(
                f"RandomPatches.size={s} leaves no two disjoint patches in a {height}x{width} "
                f"image; use size <= {max(height, width) // 2}"
            )
        reach = math.hypot(height - s, width - s)
        if self.min_distance > reach:
            raise ValueError(
                f"RandomPatches.min_distance={self.min_distance} is impossible with size={s} in "
                f"a {height}x{width} image; the largest centre distance is {reach:.1f}"
            )

    def sample(self, height: int, width: int, *, generator: torch.Generator) -> tuple[Patch, Patch]:
        """Draw one pair ``(I, J)`` inside a ``height × width`` image."""
        self._check(height, width)
        s, n = self.size, 256
        for _ in range(max(1, self.max_tries // 8)):
            top = int(torch.randint(0, height - s + 1, (), generator=generator))
            left = int(torch.randint(0, width - s + 1, (), generator=generator))
            for _ in range(8):
                tops = torch.randint(0, height - s + 1, (n,), generator=generator)
                lefts = torch.randint(0, width - s + 1, (n,), generator=generator)
                dr, dc = (tops - top).abs(), (lefts - left).abs()
                dist = torch.sqrt((dr * dr + dc * dc).double())
                ok = (dist >= self.min_distance) & ((dr >= s) | (dc >= s))
                if bool(ok.any()):
                    k = int(torch.nonzero(ok)[0, 0])
                    return Patch(top, left, s, s), Patch(int(tops[k]), int(lefts[k]), s, s)
        raise ValueError(
            f"RandomPatches found no disjoint pair of {s}x{s} patches at distance >= "
            f"{self.min_distance} in a {height}x{width} image after {self.max_tries} tries; "
            "lower min_distance or size"
        )
