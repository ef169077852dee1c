"""Contraction-path optimizers and tnreg's default chooser.

Vocabulary: an *equation* is an opt_einsum subscript string with one symbol per index; a *path*
is opt_einsum's linear list of operand-position tuples, one per pairwise contraction; the *cost*
of a path is opt_einsum's FLOP count (``PathInfo.opt_cost``); an *optimizer name* is one of
:data:`OPTIMIZERS`.

The chooser (``optimize="auto"``) picks by operand count, from measurements on the networks tnreg
uses (``bench/bench_planner.py``, results in ``BENCHMARKS.md``):

- up to :data:`DP_MAX_OPERANDS` operands, opt_einsum's dynamic programming (``"dp"``): optimal
  and planned in milliseconds (above ~16 operands it can take seconds: 4.3 s on a 30-tensor Gram
  network with bond size 4);
- larger networks, the best (fewest FLOPs) of opt_einsum ``"greedy"`` and either a time-boxed
  cotengra ``HyperOptimizer`` (greedy + kahypar trials with subtree reconfiguration, 0.015 s per
  operand, at most 1.5 s) when cotengra is importable, or else a time-boxed opt_einsum
  ``RandomGreedy`` (0.004 s per operand, at most 0.4 s). Both reach the best known path on tree
  networks (batched forward passes, Gram networks; greedy alone is up to 1.3x worse and
  opt_einsum's own ``"auto"`` up to 21x worse at 11 tensors); only cotengra's hypergraph
  partitioning comes close on grids (greedy and random greedy are 3-24x worse there).
"""

from __future__ import annotations

import importlib.util
import warnings
from collections.abc import Sequence
from typing import Any

import opt_einsum as oe

__all__ = ["DP_MAX_OPERANDS", "OPTIMIZERS", "find_path"]

#: Operand counts up to this use dynamic programming in the ``"auto"`` chooser.
DP_MAX_OPERANDS = 12

#: Every accepted ``optimize`` name: tnreg's chooser, opt_einsum's registry, and cotengra.
OPTIMIZERS: tuple[str, ...] = (
    "auto",
    "greedy",
    "dp",
    "optimal",
    "branch-all",
    "branch-2",
    "branch-1",
    "random-greedy",
    "random-greedy-128",
    "auto-hq",
    "oe-auto",
    "cotengra",
)

_Shapes = Sequence[tuple[int, ...]]
_Path = list[tuple[int, ...]]


def _rg_seconds(n: int) -> float:
    """Time box of the random-greedy candidate for ``n`` operands (0.4 s at 100)."""
    return round(min(0.4, 0.004 * n), 3)


def _ctg_seconds(n: int) -> float:
    """Time box of the cotengra candidate for ``n`` operands (1.5 s at 100)."""
    return round(min(1.5, 0.015 * n), 3)


def has_cotengra() -> bool:
    """Return whether the optional cotengra extra is importable."""
    return importlib.util.find_spec("cotengra") is not None


def cotengra_optimizer(
    *, max_time: float | None = None, max_repeats: int = 128, reconfigure: bool = False
) -> Any:
    """Build a single-process cotengra ``HyperOptimizer`` minimizing FLOPs.

    Raises
    ------
    ImportError
        If cotengra is not installed; the message names ``pip install tnreg[cotengra]``.

    Notes
    -----
    ``reconfigure=True`` adds subtree reconfiguration of each trial's tree; on grids it lowers
    the spread of the result between runs.
    """
    if not has_cotengra():
        raise ImportError(
            "optimize='cotengra' needs the optional cotengra package; "
            "install it with `pip install tnreg[cotengra]`"
        )
    import cotengra as ctg

    methods = ["greedy", "kahypar"] if importlib.util.find_spec("kahypar") else ["greedy"]
    return ctg.HyperOptimizer(
        methods=methods,
        minimize="flops",
        max_repeats=max_repeats,
        max_time=max_time,
        parallel=False,
        progbar=False,
        **({"reconf_opts": {}} if reconfigure else {}),
    )


def _run(eq: str, shapes: _Shapes, optimizer: Any, memory_limit: int | None) -> tuple[_Path, Any]:
    with warnings.catch_warnings():
        # cotengra warns when optional speed-ups (e.g. a faster optuna sampler) are missing
        warnings.simplefilter("ignore", UserWarning)
        return oe.contract_path(
            eq, *shapes, shapes=True, optimize=optimizer, memory_limit=memory_limit
        )


def _named(name: str, n: int) -> Any:
    """Map an explicit optimizer name to what opt_einsum accepts."""
    if name == "cotengra":
        if n <= DP_MAX_OPERANDS:  # tiny: a few trials already find the optimum
            return cotengra_optimizer(max_repeats=16)
        return cotengra_optimizer(max_time=_ctg_seconds(n))
    if name == "oe-auto":
        return "auto"
    return name


def _auto_candidates(n: int) -> list[tuple[str, Any]]:
    if n <= DP_MAX_OPERANDS:
        return [("dp", "dp")]
    cands: list[tuple[str, Any]] = [("greedy", "greedy")]
    if has_cotengra():  # matches random greedy on trees, and wins on grids
        ctg_opt = cotengra_optimizer(max_time=_ctg_seconds(n), max_repeats=4096, reconfigure=True)
        cands.append((f"cotengra-hyper({_ctg_seconds(n)}s)", ctg_opt))
    else:
        rg = oe.RandomGreedy(max_repeats=10_000, max_time=_rg_seconds(n), minimize="flops")
        cands.append((f"random-greedy({_rg_seconds(n)}s)", rg))
    return cands


def find_path(
    eq: str, shapes: _Shapes, *, optimize: str, memory_limit: int | None
) -> tuple[_Path, Any, str]:
    """Find a contraction path for ``eq`` with the named optimizer.

    Parameters
    ----------
    eq
        Explicit opt_einsum equation (``"ab,bc->ac"``).
    shapes
        One shape per operand.
    optimize
        One of :data:`OPTIMIZERS`; ``"auto"`` is tnreg's chooser (see the module docstring).
    memory_limit
        Largest intermediate allowed, in elements (passed to opt_einsum).

    Returns
    -------
    path, info, used
        opt_einsum's path and ``PathInfo``, and the name of the optimizer that produced the path
        (for ``"auto"``: ``"auto:dp"`` or ``"auto:<winner> of [<candidates>]"``).
    """
    n = len(shapes)
    if optimize != "auto":
        path, info = _run(eq, shapes, _named(optimize, n), memory_limit)
        return path, info, optimize
    results = []
    cands = _auto_candidates(n)
    for name, opt in cands:
        path, info = _run(eq, shapes, opt, memory_limit)
        results.append((int(info.opt_cost), name, path, info))
    _, name, path, info = min(results, key=lambda r: r[0])
    if len(cands) == 1:
        return path, info, f"auto:{name}"
    return path, info, f"auto:{name} of [{', '.join(c for c, _ in cands)}]"
