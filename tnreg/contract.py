"""Planned contraction: plan a tensor-network contraction once, run it many times.

Vocabulary: an *operand* is one input tensor; an *index* is a hashable label of one tensor axis
(an index on 3+ operands is a *hyperedge*, e.g. a batch index ``b``); the *output* is the tuple of
indices kept; the *size dict* maps every index to its dimension; a *path* is opt_einsum's list of
pairwise contractions; a *plan* (:class:`ContractionPlan`) freezes all of these together with the
compiled opt_einsum ``contract_expression`` that executes them.

Data flow: ``network or equation + shapes`` → :func:`plan` (validated, path found once, cached) →
``plan(*arrays)`` (numpy arrays, or torch tensors on any device/dtype, autograd included).

Caching: :func:`plan` is memoized (``functools.lru_cache``, 256 entries) on the canonical key
``(inputs, output, sorted size items, optimize, memory_limit)`` in user labels, so the same
structure always returns the *same* plan object; ``plan.cache_info()`` reports hits and misses and
``plan.cache_clear()`` empties it. Executing a plan never re-plans.
"""

from __future__ import annotations

import functools
import time
from collections.abc import Hashable, Mapping, Sequence
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

import opt_einsum as oe

from tnreg.paths import OPTIMIZERS, find_path

__all__ = ["OPTIMIZERS", "ContractionPlan", "contract", "plan"]

_Labels = tuple[Hashable, ...]


@dataclass(frozen=True, eq=False)
class ContractionPlan:
    """A frozen contraction: labels, equation, path, costs and the compiled expression.

    Build it with :func:`plan`; call it on arrays to contract. Plans compare and hash by identity
    (:func:`plan` returns the same object for the same structure).

    Attributes
    ----------
    inputs, output
        Index labels per operand and of the result, as the user gave them.
    size_dict
        Read-only map from index label to dimension.
    eq, symbols
        The opt_einsum equation and the label → symbol map it was built with.
    path
        opt_einsum's contraction path.
    optimizer
        The optimizer that produced ``path`` (``"auto:dp"``, ``"greedy"``, ...).
    flops, largest_intermediate, plan_seconds
        opt_einsum's FLOP count, the largest intermediate (elements), and the planning time.
    """

    inputs: tuple[_Labels, ...]
    output: _Labels
    size_dict: Mapping[Hashable, int]
    eq: str
    symbols: Mapping[Hashable, str]
    path: tuple[tuple[int, ...], ...]
    optimizer: str
    flops: int
    largest_intermediate: int
    plan_seconds: float
    info: Any = field(repr=False)
    expression: Any = field(repr=False)

    def __call__(self, *arrays: Any) -> Any:
        """Contract ``arrays`` (numpy or torch; torch keeps device, dtype and autograd).

        Raises
        ------
        ValueError
            If the operand count or any operand's shape does not match the plan.
        """
        self.validate(arrays)
        return self.expression(*arrays)

    def validate(self, arrays: Sequence[Any]) -> None:
        """Check operand count and shapes, naming operand, axis and index on a mismatch."""
        if len(arrays) != len(self.inputs):
            raise ValueError(
                f"plan expects {len(self.inputs)} operands for {self.eq!r}; received {len(arrays)}"
            )
        for k, (arr, labels) in enumerate(zip(arrays, self.inputs, strict=True)):
            shape = tuple(getattr(arr, "shape", ()))
            expected = tuple(self.size_dict[ix] for ix in labels)
            if len(shape) != len(labels):
                raise ValueError(
                    f"operand {k} must have {len(labels)} axes {labels!r} with shape {expected}; "
                    f"received {len(shape)} axes, shape {shape}"
                )
            for axis, (got, want, ix) in enumerate(zip(shape, expected, labels, strict=True)):
                if got != want:
                    raise ValueError(
                        f"operand {k} axis {axis} (index {ix!r}) must have size {want}; "
                        f"received {got} (operand shape {shape})"
                    )

    def cost_report(self, *, steps: bool = False) -> str:
        """Return a readable cost report; ``steps=True`` appends opt_einsum's per-step table."""
        lines = [
            f"ContractionPlan: {len(self.inputs)} operands -> output {self.output!r}",
            f"  optimizer:            {self.optimizer}",
            f"  FLOPs:                {self.flops:.4g}",
            f"  largest intermediate: {self.largest_intermediate:.4g} elements",
            f"  plan time:            {self.plan_seconds:.4f} s",
            f"  equation:             {self.eq}",
        ]
        if steps:
            lines.append(str(self.info))
        return "\n".join(lines)

    def __repr__(self) -> str:
        return (
            f"ContractionPlan(operands={len(self.inputs)}, output={self.output!r}, "
            f"optimizer={self.optimizer!r}, flops={self.flops:.3g}, "
            f"largest_intermediate={self.largest_intermediate:.3g})"
        )


def _parse_equation(eq: str, shapes: Sequence[Sequence[int]]) -> tuple:
    """Turn an explicit or implicit einsum string plus shapes into labels and sizes."""
    if "." in eq:
        raise ValueError(f"ellipsis ('...') is not supported in {eq!r}; name every index")
    eq = eq.replace(" ", "")
    lhs, arrow, rhs = eq.partition("->")
    terms = lhs.split(",")
    if not arrow:
        counts = {c: lhs.count(c) for c in lhs if c != ","}
        rhs = "".join(sorted(c for c, k in counts.items() if k == 1))
    if len(shapes) != len(terms):
        raise ValueError(
            f"equation {eq!r} has {len(terms)} operands; received {len(shapes)} shapes"
        )
    sizes: dict[Hashable, int] = {}
    for k, (term, shape) in enumerate(zip(terms, shapes, strict=True)):
        shape = tuple(shape)
        if len(shape) != len(term):
            raise ValueError(
                f"operand {k} of {eq!r} has {len(term)} indices {term!r}; "
                f"received shape {shape} with {len(shape)} axes"
            )
        for ix, dim in zip(term, shape, strict=True):
            sizes.setdefault(ix, int(dim))
            if sizes[ix] != dim:
                raise ValueError(
                    f"index {ix!r} has size {sizes[ix]} elsewhere in {eq!r}; "
                    f"operand {k} gives it size {dim}"
                )
    return tuple(tuple(t) for t in terms), tuple(rhs), sizes


def _normalize(network_or_eq: Any, shapes: tuple) -> tuple:
    """Return ``(inputs, output, sorted size items)`` in user labels, validated."""
    if isinstance(network_or_eq, str):
        inputs, output, sizes = _parse_equation(network_or_eq, shapes)
    else:
        if shapes:
            raise TypeError(
                "shapes are only accepted with an einsum string; a network or "
                f"(inputs, output, size_dict) triple carries its sizes (received {len(shapes)})"
            )
        if isinstance(network_or_eq, tuple) and len(network_or_eq) == 3:
            inputs, output, sizes = network_or_eq
        elif all(hasattr(network_or_eq, a) for a in ("inputs", "output", "size_dict")):
            inputs = network_or_eq.inputs
            output = network_or_eq.output
            sizes = network_or_eq.size_dict
        else:
            raise TypeError(
                "plan() takes an einsum string with shapes, an (inputs, output, size_dict) "
                "triple, or an object with .inputs/.output/.size_dict; "
                f"received {type(network_or_eq).__name__}"
            )
        inputs = tuple(tuple(t) for t in inputs)
        output = tuple(output)
    _validate_labels(inputs, output, sizes)
    return inputs, output, tuple(sorted(((ix, int(sizes[ix])) for ix in sizes), key=repr))


def _validate_labels(inputs: tuple, output: tuple, sizes: Mapping) -> None:
    if not inputs:
        raise ValueError("a contraction needs at least one operand; received none")
    used = {ix for t in inputs for ix in t}
    for k, t in enumerate(inputs):
        for ix in t:
            if ix not in sizes:
                raise ValueError(f"index {ix!r} of operand {k} has no size in size_dict")
            if t.count(ix) > 1:
                raise ValueError(
                    f"index {ix!r} repeats on operand {k} {t!r}; take a diagonal first"
                )
    for ix in output:
        if ix not in used:
            raise ValueError(f"output index {ix!r} is on no operand; operand indices: {used!r}")
    if len(set(output)) != len(output):
        raise ValueError(f"output {output!r} repeats an index")
    for ix, dim in sizes.items():
        if isinstance(dim, bool) or int(dim) != dim or dim < 1:
            raise ValueError(f"index {ix!r} must have a positive integer size; received {dim!r}")


def _check_options(optimize: str, memory_limit: int | None) -> None:
    if optimize not in OPTIMIZERS:
        raise ValueError(f"unknown optimize={optimize!r}; valid options: {list(OPTIMIZERS)}")
    if memory_limit is not None and (isinstance(memory_limit, bool) or memory_limit < 1):
        raise ValueError(
            f"memory_limit must be a positive number of elements or None; received {memory_limit!r}"
        )


@functools.lru_cache(maxsize=256)
def _cached_plan(
    inputs: tuple, output: tuple, size_items: tuple, optimize: str, memory_limit: int | None
) -> ContractionPlan:
    """Build the plan for a canonical, validated key (memoized)."""
    start = time.perf_counter()
    sizes = dict(size_items)
    symbols: dict[Hashable, str] = {}
    for ix in (*(ix for t in inputs for ix in t), *output):
        symbols.setdefault(ix, oe.get_symbol(len(symbols)))
    eq = ",".join("".join(symbols[ix] for ix in t) for t in inputs)
    eq += "->" + "".join(symbols[ix] for ix in output)
    shapes = [tuple(sizes[ix] for ix in t) for t in inputs]
    path, info, used = find_path(eq, shapes, optimize=optimize, memory_limit=memory_limit)
    expression = oe.contract_expression(eq, *shapes, optimize=path)
    return ContractionPlan(
        inputs=inputs,
        output=output,
        size_dict=MappingProxyType({ix: sizes[ix] for t in inputs for ix in t}),
        eq=eq,
        symbols=MappingProxyType(symbols),
        path=tuple(tuple(step) for step in path),
        optimizer=used,
        flops=int(info.opt_cost),
        largest_intermediate=int(info.largest_intermediate),
        plan_seconds=time.perf_counter() - start,
        info=info,
        expression=expression,
    )


def plan(
    network_or_eq: Any,
    *shapes: Sequence[int],
    optimize: str = "auto",
    memory_limit: int | None = None,
) -> ContractionPlan:
    """Plan a contraction once; the result is cached per structure.

    Parameters
    ----------
    network_or_eq
        An einsum string (explicit ``"ab,bc->ac"`` or implicit ``"ab,bc"``; then ``shapes`` are
        the operand shapes), an ``(inputs, output, size_dict)`` triple of hashable index labels, or
        any object with ``.inputs``, ``.output`` and ``.size_dict`` (a ``TensorNetwork``).
    *shapes
        Operand shapes, only with an einsum string.
    optimize
        ``"auto"`` (tnreg's chooser, see :mod:`tnreg.paths`) or another name in
        :data:`OPTIMIZERS`: an opt_einsum optimizer, ``"oe-auto"`` (opt_einsum's own
        ``"auto"``) or ``"cotengra"`` (needs ``pip install tnreg[cotengra]``).
    memory_limit
        Largest intermediate allowed, in elements; ``None`` for no limit.

    Returns
    -------
    ContractionPlan
        The frozen plan; the same object for the same structure and options.

    Raises
    ------
    ValueError
        Unknown ``optimize``, bad ``memory_limit``, or inconsistent labels and sizes.
    TypeError
        ``network_or_eq`` of an unsupported type, or shapes given with a network.
    ImportError
        ``optimize="cotengra"`` without cotengra installed.

    Examples
    --------
    >>> p = plan("ab,bc->ac", (2, 3), (3, 4))
    >>> p.optimizer, p.flops
    ('auto:dp', 48)
    >>> net = ((("i", "r"), ("j", "r")), ("i", "j"), {"i": 2, "j": 2, "r": 5})
    >>> plan(net) is plan(net)
    True
    """
    _check_options(optimize, memory_limit)
    inputs, output, size_items = _normalize(network_or_eq, shapes)
    return _cached_plan(inputs, output, size_items, optimize, memory_limit)


plan.cache_info = _cached_plan.cache_info  # type: ignore[attr-defined]
plan.cache_clear = _cached_plan.cache_clear  # type: ignore[attr-defined]


def contract(network_or_eq: Any, *arrays: Any, optimize: str = "auto") -> Any:
    """Plan (cached) and execute a contraction in one call.

    Parameters
    ----------
    network_or_eq
        As in :func:`plan`; with an einsum string the shapes are read from ``arrays``.
    *arrays
        The operands (numpy arrays or torch tensors).
    optimize
        As in :func:`plan`.

    Returns
    -------
    array
        The contracted result, of the operands' array type (and device, dtype).
    """
    if isinstance(network_or_eq, str):
        shapes = [tuple(getattr(a, "shape", ())) for a in arrays]
        return plan(network_or_eq, *shapes, optimize=optimize)(*arrays)
    return plan(network_or_eq, optimize=optimize)(*arrays)
