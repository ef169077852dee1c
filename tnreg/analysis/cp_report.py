"""CP component norms as text: what ``tnreg analyze`` prints for a CP factorization.

Vocabulary
----------
component norm
    σ_r = Π_n ||w_r^n|| (times |root[r]| with a trainable output): the quantity whose
    one-at-a-time rise Razin, Maman & Cohen (2021) describe.
non-negligible component
    A component with σ_r > rtol · max_r σ_r (the same relative tolerance as the numerical
    ranks of :func:`tnreg.analysis.rank_report`).
"""

from __future__ import annotations

from typing import Any

from tnreg import trees
from tnreg.analysis.norms import component_norms
from tnreg.analysis.resolve import AnalysisError

__all__ = ["cp_component_report", "is_cp"]


def is_cp(model: Any) -> bool:
    """Whether ``model`` is a product-pooling factorization on a star tree (a CP model)."""
    tree = getattr(model, "tree", None)
    if tree is None or not hasattr(model, "matrices"):
        return False
    return all(trees.is_leaf(tree, c) for c in trees.children(tree, trees.root(tree)))


def cp_component_report(
    model: Any, *, rtol: float = 1e-3, member: int | None = None, top: int = 10
) -> str:
    """The sorted component norms and the number of non-negligible ones, per member.

    Parameters
    ----------
    model
        A CP model (star tree; see :func:`is_cp`).
    rtol
        A component counts when its norm exceeds ``rtol`` times the largest one.
    member
        Report one ensemble member (default: every member).
    top
        How many of the largest norms to print.

    Raises
    ------
    AnalysisError
        If ``model`` is not a CP model, or ``member`` is out of range.

    Examples
    --------
    >>> from tnreg.models import CP
    >>> model = CP(3, 4, rank=5, init_std=0.5, seed=0)
    >>> print(cp_component_report(model, rtol=1e-3, top=3).splitlines()[0])
    CP component norms (5 components; non-negligible: norm > 0.001 x the largest)
    """
    if not is_cp(model):
        raise AnalysisError(
            f"cp_component_report needs a CP model (a star mode tree); got {type(model).__name__}"
        )
    norms = component_norms(model, sort=True).detach()
    members = range(norms.shape[0]) if member is None else [member]
    if member is not None and not 0 <= member < norms.shape[0]:
        raise AnalysisError(
            f"member must be in [0, {norms.shape[0] - 1}] for this ensemble; got {member}"
        )
    lines = [
        f"CP component norms ({norms.shape[1]} components; non-negligible: "
        f"norm > {rtol:g} x the largest)"
    ]
    for e in members:
        row = norms[e]
        count = int((row > rtol * row[0]).sum()) if bool(row[0] > 0) else 0
        shown = " ".join(f"{v:.4g}" for v in row[:top].tolist())
        more = " ..." if row.numel() > top else ""
        lines.append(f"  member {e}: {count} non-negligible; largest: {shown}{more}")
    return "\n".join(lines)
