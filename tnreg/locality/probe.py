"""A locality probe: the separation rank of a trained network between two patches.

Vocabulary
----------
interaction matrix
    For a network score ``s`` (see :func:`tnreg.locality.regularizer.score`), a base image ``x0``,
    patches ``I`` and ``J`` and two lists of images ``u_1..u_a`` and ``v_1..v_b``:
    ``M[p, q] = s(x0 with patch I from u_p and patch J from v_q)``. With ``J`` the complement of
    ``I`` (``mask_j = ~mask_i``) the base drops out and ``M`` is the matrix of the issue: patch
    ``I`` from sample ``p``, everything else from sample ``q``.
separation rank
    The rank of ``M``: 1 when ``s = g(x_I) h(x_J)`` on these inputs. It is the CNN counterpart of
    the matricization rank ``rank [W]_I`` of tnreg's tensor factorizations (Razin et al. 2022).
centering
    Subtracting row and column means (double centering) removes additive terms ``g(x_I) + h(x_J)``,
    which carry no interaction: after centering, ``g h^T`` plus additive terms has rank 1 and
    ``g + h`` rank 0. The probe centers by default.
interaction fraction
    ``||centered M||_F / ||M - mean(M)||_F`` in ``[0, 1]``: the share of the score's variation that
    needs both patches (0 for additive scores).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import torch

from tnreg.analysis import effective_rank
from tnreg.locality.data import TaskData
from tnreg.locality.patches import Patch, patch_mask
from tnreg.locality.regularizer import score

__all__ = [
    "ProbeResult",
    "interaction_matrix",
    "locality_profile",
    "plot_locality_profile",
    "probe",
    "profile_model",
]


def interaction_matrix(
    model: Callable[[torch.Tensor], torch.Tensor],
    base: torch.Tensor,
    rows: torch.Tensor,
    cols: torch.Tensor,
    mask_i: torch.Tensor,
    mask_j: torch.Tensor,
    *,
    kind: str = "auto",
    y: int | None = None,
    chunk: int = 4096,
) -> torch.Tensor:
    """``M[p, q] = s(base with I from rows[p], J from cols[q])``, shape ``(a, b)``, no grad.

    Parameters
    ----------
    model
        The network (put it in eval mode first if it has batch normalization).
    base
        One image ``(C, H, W)``: the pixels outside ``I`` and ``J``.
    rows, cols
        Images ``(a, C, H, W)`` and ``(b, C, H, W)`` giving patch ``I`` and patch ``J``.
    mask_i, mask_j
        Disjoint boolean masks ``(H, W)``.
    kind, y
        Score kind; ``y`` is the class for ``kind="label"`` (the same for every entry).
    chunk
        Largest batch fed to the model at once.

    Raises
    ------
    ValueError
        If shapes disagree or the masks overlap.

    Examples
    --------
    >>> f = lambda z: z[:, 0, 0, 0] * z[:, 0, 0, 1]
    >>> m_i = torch.tensor([[True, False]]); m_j = ~m_i
    >>> u = torch.tensor([1.0, 2.0]).reshape(2, 1, 1, 1).expand(2, 1, 1, 2)
    >>> interaction_matrix(f, torch.zeros(1, 1, 2), u, 3 * u, m_i, m_j)
    tensor([[ 3.,  6.],
            [ 6., 12.]])
    """
    if base.ndim != 3 or rows.shape[1:] != base.shape or cols.shape[1:] != base.shape:
        raise ValueError(
            "interaction_matrix needs base (C, H, W) and rows/cols (n, C, H, W) of that shape; "
            f"got {tuple(base.shape)}, {tuple(rows.shape)}, {tuple(cols.shape)}"
        )
    if mask_i.shape != base.shape[-2:] or mask_j.shape != base.shape[-2:]:
        raise ValueError(
            f"masks must have shape {tuple(base.shape[-2:])}; got {tuple(mask_i.shape)} and "
            f"{tuple(mask_j.shape)}"
        )
    if bool((mask_i & mask_j).any()):
        raise ValueError("mask_i and mask_j overlap; the probe needs disjoint patches")
    a, b = rows.shape[0], cols.shape[0]
    mi, mj = mask_i.to(rows.device), mask_j.to(rows.device)
    out = []
    with torch.no_grad():
        x = torch.where(mj, cols[None], torch.where(mi, rows[:, None], base))  # (a, b, C, H, W)
        flat = x.reshape(a * b, *base.shape)
        for start in range(0, a * b, chunk):
            xb = flat[start : start + chunk]
            yy = None if y is None else torch.full((xb.shape[0],), y, device=xb.device)
            out.append(score(model(xb), yy, kind=kind))
    return torch.cat(out).reshape(a, b)


@dataclass(frozen=True)
class ProbeResult:
    """Singular values of the (centered) interaction matrix and the measures read from them."""

    singular_values: torch.Tensor
    effective_rank: float
    interaction_fraction: float


def probe(matrix: torch.Tensor, *, center: bool = True, rtol: float = 1e-6) -> ProbeResult:
    """Singular values, effective rank and interaction fraction of an interaction matrix.

    Singular values ``<= rtol · σ_max`` of ``M - mean(M)`` count as zero (so a purely additive
    score has effective rank 0 after centering).

    Examples
    --------
    >>> g = torch.arange(1.0, 5.0, dtype=torch.float64)
    >>> h = torch.arange(2.0, 5.0, dtype=torch.float64)
    >>> r = probe(g[:, None] * h[None, :])
    >>> round(r.effective_rank, 6), round(r.interaction_fraction, 3)
    (1.0, 0.226)
    >>> probe(g[:, None] + h[None, :]).effective_rank
    0.0
    """
    if matrix.ndim != 2:
        raise ValueError(f"probe needs a 2-d interaction matrix; got shape {tuple(matrix.shape)}")
    m = matrix.double()
    spread = m - m.mean()
    if center:
        m = m - m.mean(0, keepdim=True) - m.mean(1, keepdim=True) + m.mean()
    s = torch.linalg.svdvals(m)
    scale = float(torch.linalg.svdvals(spread)[0]) if spread.numel() else 0.0
    erank = float(effective_rank(s, atol=rtol * max(scale, float(s.max()))))
    total = float(spread.norm())
    frac = float(m.norm()) / total if total > 0 else 0.0
    return ProbeResult(s, erank, frac if center else 1.0)


def _pair_at(height: int, width: int, size: int, distance: int, gen: torch.Generator):
    """A random horizontal pair of ``size``-patches whose left edges are ``distance`` apart."""
    if distance < size or distance + size > width or size > height:
        raise ValueError(
            f"no two disjoint {size}x{size} patches at horizontal distance {distance} in a "
            f"{height}x{width} image; use {size} <= distance <= {width - size}"
        )
    top = int(torch.randint(0, height - size + 1, (), generator=gen))
    left = int(torch.randint(0, width - size - distance + 1, (), generator=gen))
    return Patch(top, left, size, size), Patch(top, left + distance, size, size)


def _varies(images: torch.Tensor, mask: torch.Tensor) -> bool:
    """Whether the patch ``mask`` differs between any two of ``images``."""
    patch = images[:, :, mask]
    return bool((patch != patch[:1]).any())


def _informative_draw(
    x: torch.Tensor, size: int, distance: int, n_samples: int, gen: torch.Generator, tries: int
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor] | None:
    """A patch pair at ``distance`` and source images in which both patches vary, or ``None``.

    Where a patch is the same in every sampled image (blank borders, sparse images) the matrix
    has no interaction to show whatever the network, so such draws are redrawn (``tries``).
    """
    height, width = x.shape[-2:]
    for _ in range(tries):
        pi, pj = _pair_at(height, width, size, distance, gen)
        src = x[torch.randint(0, x.shape[0], (2 * n_samples + 1,), generator=gen)]
        mi = patch_mask(pi, height, width, device=x.device)
        mj = patch_mask(pj, height, width, device=x.device)
        if _varies(src[1 : n_samples + 1], mi) and _varies(src[n_samples + 1 :], mj):
            return src, mi, mj
    return None


def locality_profile(
    model: torch.nn.Module,
    x: torch.Tensor,
    *,
    patch_size: int,
    distances: Sequence[int],
    n_samples: int = 16,
    n_bases: int = 4,
    kind: str = "auto",
    seed: int = 0,
    tries: int = 20,
) -> list[dict[str, float]]:
    """Mean effective rank and interaction fraction of the probe at each patch distance.

    For each distance, ``n_bases`` random horizontal patch pairs on random base images of ``x``;
    patch contents from ``n_samples`` random images of ``x`` each way. A draw in which patch
    ``I`` or ``J`` is the same in all its sampled images shows no interaction whatever the
    network, so it is redrawn up to ``tries`` times and then left out; ``n`` counts the draws
    used (a distance with ``n = 0`` has NaN measures). The model is evaluated in eval mode
    (restored afterwards).

    Returns
    -------
    list of dict
        One row per distance: ``distance``, ``n``, ``erank``, ``erank_std``, ``interaction``,
        ``interaction_std``.
    """
    gen = torch.Generator().manual_seed(seed)
    was_training = model.training
    model.eval()
    rows_out = []
    try:
        for d in distances:
            eranks, fracs = [], []
            for _ in range(n_bases):
                draw = _informative_draw(x, patch_size, int(d), n_samples, gen, tries)
                if draw is None:
                    continue
                src, mi, mj = draw
                m = interaction_matrix(
                    model, src[0], src[1 : n_samples + 1], src[n_samples + 1 :], mi, mj, kind=kind
                )
                r = probe(m)
                eranks.append(r.effective_rank)
                fracs.append(r.interaction_fraction)
            e = torch.tensor(eranks, dtype=torch.float64)
            f = torch.tensor(fracs, dtype=torch.float64)
            nan = float("nan")
            rows_out.append(
                {
                    "distance": float(d),
                    "n": len(fracs),
                    "erank": float(e.mean()) if len(e) else nan,
                    "erank_std": float(e.std()) if len(e) > 1 else 0.0,
                    "interaction": float(f.mean()) if len(f) else nan,
                    "interaction_std": float(f.std()) if len(f) > 1 else 0.0,
                }
            )
    finally:
        model.train(was_training)
    return rows_out


def profile_model(
    model: torch.nn.Module, data: TaskData, *, patch_size: int, seed: int = 0, n_images: int = 64
) -> list[dict[str, float]]:
    """:func:`locality_profile` at five horizontal distances, from adjacent to the widest.

    Uses the first ``n_images`` images of ``data`` (16 samples each way, 8 random bases per
    distance).
    """
    _, _, width = data.image_shape
    size = patch_size
    distances = sorted({round(size + k * (width - 2 * size) / 4) for k in range(5)})
    x = data.x[:n_images].to(next(model.parameters()).device)
    return locality_profile(
        model, x, patch_size=size, distances=distances, n_samples=16, n_bases=8, seed=seed
    )


def plot_locality_profile(
    profiles: Mapping[str, Sequence[Mapping[str, float]]],
    path: str | Path,
    *,
    measure: str = "interaction",
) -> Path:
    """Plot ``measure`` (``"interaction"`` or ``"erank"``) against distance, one line per label.

    matplotlib is imported here (``pip install tnreg[plot]``).
    """
    if measure not in ("interaction", "erank"):
        raise ValueError(f"unknown measure={measure!r}; valid options: ['interaction', 'erank']")
    from tnreg.plots import pyplot

    plt = pyplot()

    fig, ax = plt.subplots(figsize=(5, 3.5))
    for label, rows in profiles.items():
        d = [r["distance"] for r in rows]
        ax.errorbar(
            d,
            [r[measure] for r in rows],
            [r[f"{measure}_std"] for r in rows],
            marker="o",
            capsize=3,
            label=label,
        )
    ax.set_xlabel("distance between patches I and J (pixels)")
    ax.set_ylabel("interaction fraction" if measure == "interaction" else "effective rank")
    ax.legend()
    fig.tight_layout()
    path = Path(path)
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return path
