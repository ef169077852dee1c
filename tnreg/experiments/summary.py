"""Read a finished run back: when each component rose, where it settled, the final errors.

Vocabulary
----------
rise step
    The first tracked step at which a component's norm reaches ``fraction`` (default one half)
    of its final value. Only components that end above ``active`` times the largest final
    norm count as risen; the others stayed near their initial size.
staircase
    Rise steps of the components of one family (``component`` for CP, ``local/<root>`` for the
    root's local components of a tree), sorted: incremental learning shows them well apart.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

__all__ = ["MemberSummary", "rise_steps", "summarize_member", "summary_table"]


def rise_steps(
    steps: np.ndarray,
    norms: Sequence[np.ndarray],
    *,
    fraction: float = 0.5,
    active: float = 0.05,
) -> list[int]:
    """The rise step of every component that ends active, in the order of ``norms``.

    Parameters
    ----------
    steps
        ``(T,)`` tracked steps.
    norms
        One ``(T,)`` array per component.
    fraction
        A component has risen once it reaches ``fraction`` of its final norm.
    active
        Components whose final norm is below ``active`` times the largest final norm are
        left out (they did not rise).

    Examples
    --------
    >>> steps = np.array([0, 100, 200, 300])
    >>> rise_steps(steps, [np.array([0.0, 0.9, 1.0, 1.0]), np.array([0.0, 0.0, 0.4, 0.5]),
    ...                    np.array([0.0, 0.0, 0.0, 0.001])])
    [100, 200]
    """
    if not 0 < fraction <= 1 or not 0 <= active < 1:
        raise ValueError(
            f"rise_steps needs 0 < fraction <= 1 and 0 <= active < 1; got fraction={fraction}, "
            f"active={active}"
        )
    finals = [float(y[-1]) for y in norms]
    top = max(finals, default=0.0)
    out = []
    for y, final in zip(norms, finals):
        if top <= 0 or final < active * top:
            continue
        hit = np.nonzero(y >= fraction * final)[0]
        out.append(int(steps[hit[0]]))
    return out


@dataclass
class MemberSummary:
    """Rise steps, final norms and final errors of one ensemble member of one run."""

    label: str
    family: str
    rises: list[int]
    final_norms: list[float]
    errors: dict[str, float]
    ranks: dict[str, int] = field(default_factory=dict)

    def line(self) -> str:
        """One printable line."""
        norms = ", ".join(f"{x:.3f}" for x in self.final_norms)
        errs = "  ".join(f"{k} {v:.3g}" for k, v in self.errors.items() if math.isfinite(v))
        rises = ", ".join(str(s) for s in self.rises) or "none"
        text = f"{self.label:>14}  rise steps [{rises}]  final norms [{norms}]  {errs}"
        if self.ranks:
            text += "  ranks " + " ".join(f"{n}:{r}" for n, r in self.ranks.items())
        return text


def summarize_member(series, family: str, *, fraction: float = 0.5, active: float = 0.05):
    """A :class:`MemberSummary` of one :class:`tnreg.plots.Series` for one metric family."""
    norms = series.family(family)
    finals = [float(y[-1]) for y in norms]
    top = max(finals, default=0.0)
    errors = {}
    ranks = {n: int(series.columns[f"rank/{n}"][-1]) for n in series.nodes("rank")}
    for name in ("train_mse", "test_mse", "normalized_error"):
        if name in series.columns:
            errors[name] = float(series.columns[name][-1])
    return MemberSummary(
        label=series.label,
        family=family,
        rises=rise_steps(series.steps, norms, fraction=fraction, active=active),
        final_norms=[x for x in finals if top > 0 and x >= active * top],
        errors=errors,
        ranks=ranks,
    )


def summary_table(summaries: Sequence[MemberSummary]) -> str:
    """The summaries one line each, under a header naming the metric family."""
    if not summaries:
        return "(no runs)"
    head = f"{summaries[0].family}: rise = first step at half the final norm"
    return "\n".join([head, *(s.line() for s in summaries)])
