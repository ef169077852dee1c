"""Contraction-path optimizers and tnreg's default chooser.

Vocabulary: an *equation* is an opt_einsum subscript string with one symbol per index; a *path*
is opt_einsum's linear list of operand-position tuples, one per pairwise contraction; the *cost*
of a path is opt_einsum's FLOP count (``PathInfo.opt_cost``); an *optimizer name* is one of
:data:`OPTIMIZERS`.

The chooser (``optimize="auto"``) picks by operand count, from measurements on the networks tnreg
uses (``bench/bench_planner.py``, results in ``BENCHMARKS.md``), and is **deterministic**: the
same network gives the same path in every process, whatever ``PYTHONHASHSEED`` or the thread
count (no time boxes; random searches run a fixed number of seeded trials, and opt_einsum sees
integer indices, whose set order does not depend on string hashing):

- up to :data:`DP_MAX_OPERANDS` operands, opt_einsum's dynamic programming (``"dp"``): optimal
  and planned in milliseconds;
- up to :data:`RANDOM_MAX_OPERANDS` operands, the best (fewest FLOPs) of opt_einsum
  ``"greedy"`` and a seeded ``RandomGreedy`` of :func:`random_trials` trials (64 up to 100
  operands, then fewer). On tree networks (batched forward passes, Gram networks) this finds
  the best path any optimizer found in the benchmark; on grids it can be several times worse
  (``optimize="cotengra"`` remains available there);
- above that, ``"greedy"`` alone.

Exhaustive optimizers refuse networks above :data:`EXHAUSTIVE_MAX_OPERANDS` (8 operands for
``"optimal"``, 9 for ``"branch-all"``, 30 for ``"dp"``; their time grows exponentially, and the
limits sit where planning reaches seconds, see BENCHMARKS.md), with a message that names
``"auto"``. The explicit ``"cotengra"`` optimizer is time-boxed and may differ between runs.

"""

from __future__ import annotations

import importlib.util
import warnings
from collections.abc import Sequence
from typing import Any

import opt_einsum as oe

from tnreg.errors import TnregError

__all__ = [
    "DP_MAX_OPERANDS",
    "EXHAUSTIVE_MAX_OPERANDS",
    "OPTIMIZERS",
    "RANDOM_MAX_OPERANDS",
    "PathError",
    "find_path",
    "random_trials",
]

#: Operand counts up to this use dynamic programming in the ``"auto"`` chooser.
DP_MAX_OPERANDS = 12

#: Operand counts up to this add a seeded random-greedy search to greedy in ``"auto"``.
RANDOM_MAX_OPERANDS = 1000

#: Exhaustive optimizers refuse networks with more operands than this (their planning time,
#: exponential in the operands, reaches seconds just above: BENCHMARKS.md, section Contraction).
EXHAUSTIVE_MAX_OPERANDS: dict[str, int] = {"optimal": 8, "branch-all": 9, "dp": 30}

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


class PathError(TnregError, ValueError):
    """An optimizer that cannot plan this network in bounded time."""


def random_trials(n: int) -> int:
    """Seeded random-greedy trials for ``n`` operands: 64 up to 100 operands, then fewer.

    Examples
    --------
    >>> random_trials(50), random_trials(400), random_trials(1000)
    (64, 16, 8)
    """
    return max(8, min(64, 6400 // max(n, 1)))


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


def _run_int(
    eq: str, shapes: _Shapes, optimizer: Any, memory_limit: int | None
) -> tuple[_Path, Any]:
    """Run an opt_einsum optimizer on integer indices, so its set order is deterministic.

    opt_einsum's optimizers iterate over sets of index symbols; sets of one-character strings
    iterate in an order that depends on ``PYTHONHASHSEED``, sets of small ints do not.
    """
    lhs, _, rhs = eq.partition("->")
    terms = lhs.split(",")
    if len(terms) < 3:
        return _run(eq, shapes, "greedy", memory_limit)
    code: dict[str, int] = {}
    for char in lhs.replace(",", ""):
        code.setdefault(char, len(code))
    inputs = [frozenset(code[c] for c in term) for term in terms]
    sizes = {code[c]: d for term, shape in zip(terms, shapes) for c, d in zip(term, shape)}
    fn = oe.paths.get_path_fn(optimizer) if isinstance(optimizer, str) else optimizer
    path = [
        tuple(step) for step in fn(inputs, frozenset(code[c] for c in rhs), sizes, memory_limit)
    ]
    if len(terms) > FAST_INFO_MIN_OPERANDS:
        return path, path_info(eq, shapes, path)
    return _run(eq, shapes, path, None)


#: Above this many operands :func:`path_info` replaces ``opt_einsum.contract_path`` (whose
#: per-step index union makes it O(n^2): 20 s at 20,000 operands).
FAST_INFO_MIN_OPERANDS = 256


def path_info(eq: str, shapes: _Shapes, path: _Path) -> Any:
    """opt_einsum's ``PathInfo`` for an explicit ``path``, in time linear in the path length.

    Mirrors ``opt_einsum.contract_path`` step by step (same contraction list, costs, sizes and
    BLAS choices; a test checks equality), but keeps a count of the remaining operands carrying
    each index instead of re-uniting all remaining index sets at every step.
    """
    from opt_einsum import blas, helpers, parser
    from opt_einsum.contract import PathInfo

    lhs, _, output = eq.partition("->")
    input_list = lhs.split(",")
    input_shapes = [tuple(int(d) for d in shape) for shape in shapes]
    sizes = {c: d for term, shape in zip(input_list, input_shapes) for c, d in zip(term, shape)}
    indices = frozenset(lhs.replace(",", ""))
    inner = sum(len(set(term)) for term in input_list) - len(indices) > 0
    naive = helpers.flop_count(indices, inner, len(input_list), sizes)
    sets = [frozenset(term) for term in input_list]
    count: dict[str, int] = {}
    for term_set in sets:
        for c in term_set:
            count[c] = count.get(c, 0) + 1
    out_set = frozenset(output)
    costs, scales, out_sizes, contractions = [], [], [], []
    for step, positions in enumerate(path):
        positions = tuple(sorted(positions, reverse=True))
        picked = [sets.pop(i) for i in positions]
        idx_contract = frozenset().union(*picked)
        for term_set in picked:
            for c in term_set:
                count[c] -= 1
        out_inds = frozenset(c for c in idx_contract if c in out_set or count[c] > 0)
        idx_removed = idx_contract - out_inds
        for c in out_inds:
            count[c] += 1
        sets.append(out_inds)
        costs.append(helpers.flop_count(idx_contract, bool(idx_removed), len(positions), sizes))
        scales.append(len(idx_contract))
        out_sizes.append(helpers.compute_size_by_dict(out_inds, sizes))
        tmp_inputs = [input_list.pop(i) for i in positions]
        tmp_shapes = [input_shapes.pop(i) for i in positions]
        do_blas = blas.can_blas(tmp_inputs, "".join(out_inds), idx_removed, tmp_shapes)
        if step == len(path) - 1:
            idx_result = output
        else:
            joined = "".join(tmp_inputs)
            idx_result = "".join(sorted(out_inds, key=joined.find))
        input_list.append(idx_result)
        input_shapes.append(parser.find_output_shape(tmp_inputs, tmp_shapes, idx_result))
        remaining = tuple(input_list) if len(input_list) <= 20 else None
        einsum_str = ",".join(tmp_inputs) + "->" + idx_result
        contractions.append((positions, idx_removed, einsum_str, remaining, do_blas))
    return PathInfo(
        contractions, lhs, output, indices, path, scales, naive, sum(costs), out_sizes, sizes
    )


def _check_bounded(n: int, name: str) -> None:
    limit = EXHAUSTIVE_MAX_OPERANDS.get(name)
    if limit is not None and n > limit:
        raise PathError(
            f"optimize={name!r} is exhaustive and refused above {limit} operands (its planning "
            f"time grows exponentially); this network has {n}. Use optimize='auto' "
            "(deterministic, seconds at most) or 'greedy'"
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
    if n <= RANDOM_MAX_OPERANDS:
        trials = random_trials(n)
        rg = oe.RandomGreedy(max_repeats=trials, minimize="flops")
        cands.append((f"random-greedy({trials} seeded trials)", rg))
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

    Raises
    ------
    PathError
        If an exhaustive optimizer is asked for more than :data:`EXHAUSTIVE_MAX_OPERANDS`
        operands, or if no path meets ``memory_limit`` (the message gives the least limit a
        path can meet).
    """
    if not isinstance(optimize, str) or optimize not in OPTIMIZERS:
        raise ValueError(f"unknown optimize={optimize!r}; valid options: {list(OPTIMIZERS)}")
    _check_bounded(len(shapes), optimize)
    try:
        return _find(eq, shapes, optimize, memory_limit)
    except RuntimeError as err:
        if "memory_limit" not in str(err) or memory_limit is None:
            raise
        raise PathError(_memory_message(eq, shapes, optimize, memory_limit)) from None


def _memory_message(eq: str, shapes: _Shapes, optimize: str, memory_limit: int) -> str:
    """Which limit failed, and the least largest intermediate a path can have."""
    n = len(shapes)
    size = oe.DynamicProgramming(minimize="size") if n <= DP_MAX_OPERANDS else "greedy"
    smallest = int(_run(eq, shapes, size, None)[1].largest_intermediate)
    how = "dynamic programming on size" if n <= DP_MAX_OPERANDS else "greedy, an upper bound"
    return (
        f"no contraction path found by optimize={optimize!r} keeps every intermediate within "
        f"memory_limit={memory_limit!r} elements; the smallest intermediate possible is "
        f"{smallest:,} elements (the least largest intermediate of a path, by {how}): raise "
        f"memory_limit to at least {smallest}, or pass memory_limit=None"
    )


def _find(
    eq: str, shapes: _Shapes, optimize: str, memory_limit: int | None
) -> tuple[_Path, Any, str]:
    n = len(shapes)
    if optimize == "cotengra":
        path, info = _run(eq, shapes, _named(optimize, n), memory_limit)
        return path, info, optimize
    if optimize != "auto":
        path, info = _run_int(eq, shapes, _named(optimize, n), memory_limit)
        return path, info, optimize
    results = []
    cands = _auto_candidates(n)
    for name, opt in cands:
        path, info = _run_int(eq, shapes, opt, memory_limit)
        results.append((int(info.opt_cost), name, path, info))
    _, name, path, info = min(results, key=lambda r: r[0])
    if len(cands) == 1:
        return path, info, f"auto:{name}"
    return path, info, f"auto:{name} of [{', '.join(c for c, _ in cands)}]"
