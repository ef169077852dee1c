"""Planned contraction: plan a tensor-network contraction once, run it many times.

Vocabulary: an *operand* is one input tensor; an *index* is a hashable label of one tensor axis
(an index on 3+ operands is a *hyperedge*, e.g. a batch index ``b``); the *output* is the tuple of
indices kept; the *size dict* maps every index to its dimension; a *path* is opt_einsum's list of
pairwise contractions; a *plan* (:class:`ContractionPlan`) freezes all of these together with the
compiled opt_einsum ``contract_expression`` that executes them.

Data flow: ``network or equation + shapes`` → :func:`plan` (validated, path found once, cached) →
``plan(*arrays)`` (numpy arrays, or torch tensors on any device/dtype, autograd included; every
call checks operand count, shapes, and that all operands share one array type, dtype and
device, refusing ``meta`` tensors). Equations are parsed by :func:`tnreg.einsum.parse`, the
parser :class:`~tnreg.network.TensorNetwork` uses too. Planning is deterministic (see
:mod:`tnreg.paths`): the same structure gives the same path in every process.

Caching: :func:`plan` is memoized (``functools.lru_cache``, 256 entries) on the canonical key
``(inputs, output, sorted size items, optimize, memory_limit)`` in user labels, so the same
structure always returns the *same* plan object; ``plan.cache_info()`` reports hits and misses and
``plan.cache_clear()`` empties it. Executing a plan never re-plans.
"""

from __future__ import annotations

import functools
import numbers
import time
from collections.abc import Hashable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

from opt_einsum.contract import ContractExpression

from tnreg.einsum import check_size, parse, to_equation
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
            If the operand count or any operand's shape does not match the plan, or the
            operands mix dtypes, array types or devices (``meta`` tensors are refused).
        TypeError
            If an operand is not an array (it has no ``.shape`` and ``.dtype``).
        """
        self.validate(arrays)
        return self.expression(*arrays)

    def validate(self, arrays: Sequence[Any]) -> None:
        """Check operand count, types, shapes, dtypes and devices, naming the operand at fault.

        Examples
        --------
        >>> import numpy as np
        >>> p = plan("ab,bc->ac", (2, 3), (3, 4))
        >>> p.validate([np.ones((2, 3)), np.ones((3, 4), dtype=np.float32)])  # doctest: +ELLIPSIS
        Traceback (most recent call last):
        ...
        ValueError: operands must share one dtype; operand 0 is float64 but operand 1 is float32...
        """
        if len(arrays) != len(self.inputs):
            raise ValueError(
                f"plan expects {len(self.inputs)} operands for {self.eq!r}; received {len(arrays)}"
            )
        for k, (arr, labels) in enumerate(zip(arrays, self.inputs, strict=True)):
            if not (hasattr(arr, "shape") and hasattr(arr, "dtype")):
                raise TypeError(
                    f"operand {k} must be a numpy array or torch tensor; received "
                    f"{type(arr).__name__}. Convert it first, e.g. torch.as_tensor(x)"
                )
            shape = tuple(arr.shape)
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
        _check_alike(arrays)

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


def _check_alike(arrays: Sequence[Any]) -> None:
    """All operands of one array type, dtype and device (and none on ``meta``)."""
    kinds = [type(a).__module__.partition(".")[0] for a in arrays]
    for k, kind in enumerate(kinds):
        if kind != kinds[0]:
            raise ValueError(
                f"operands must all be numpy arrays or all torch tensors; operand 0 is "
                f"{type(arrays[0]).__name__} but operand {k} is {type(arrays[k]).__name__}. "
                "Convert them first, e.g. torch.as_tensor(x)"
            )
    for k, arr in enumerate(arrays):
        if arr.dtype != arrays[0].dtype:
            raise ValueError(
                f"operands must share one dtype; operand 0 is {_name(arrays[0].dtype)} but "
                f"operand {k} is {_name(arr.dtype)}. Cast them first, e.g. b.to(a.dtype) or "
                "b.astype(a.dtype)"
            )
    devices = [getattr(a, "device", None) for a in arrays]
    for k, device in enumerate(devices):
        if getattr(device, "type", None) == "meta":
            raise ValueError(
                f"operand {k} is on the 'meta' device, which holds no data; move it to a real "
                "device first, e.g. x.to('cpu') or x.to('cuda')"
            )
        if device != devices[0]:
            raise ValueError(
                f"operands must be on one device; operand 0 is on {devices[0]} but operand {k} "
                f"is on {device}. Move them first, e.g. b.to(a.device)"
            )


def _name(dtype: Any) -> str:
    return str(dtype).removeprefix("torch.")


def _normalize(network_or_eq: Any, shapes: tuple) -> tuple:
    """Return ``(inputs, output, sorted size items)`` in user labels, validated."""
    if isinstance(network_or_eq, str):
        inputs, output, sizes = parse(network_or_eq, shapes)
        return inputs, output, tuple(sorted(sizes.items()))
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
    inputs = tuple(_labels(t, f"operand {k}") for k, t in enumerate(_seq(inputs, "inputs")))
    output = _labels(output, "output")
    if not isinstance(sizes, Mapping):
        raise TypeError(
            f"size_dict must be a mapping index -> size; received {type(sizes).__name__}"
        )
    checked = {ix: check_size(dim, f"size_dict[{ix!r}]") for ix, dim in sizes.items()}
    _validate_labels(inputs, output, checked)
    return inputs, output, tuple(sorted(checked.items(), key=lambda item: repr(item[0])))


def _seq(value: Any, where: str) -> Sequence:
    if isinstance(value, (str, bytes, Mapping)) or not isinstance(value, Iterable):
        raise TypeError(
            f"{where} must be a sequence of index-label sequences, e.g. (('i', 'r'), ('j', 'r'));"
            f" received {type(value).__name__}"
        )
    return list(value)


def _labels(term: Any, where: str) -> tuple:
    """Return ``term`` as a tuple of hashable labels (a str term is a string of labels)."""
    if isinstance(term, Mapping) or not isinstance(term, Iterable):
        raise TypeError(
            f"{where} must be a sequence of hashable index labels; received "
            f"{type(term).__name__} {term!r}"
        )
    term = tuple(term)
    for axis, ix in enumerate(term):
        if not isinstance(ix, Hashable):
            raise TypeError(
                f"{where} axis {axis}: index labels must be hashable (str, int, tuple); "
                f"received {type(ix).__name__} {ix!r}"
            )
    return term


def _validate_labels(inputs: tuple, output: tuple, sizes: Mapping) -> None:
    if not inputs:
        raise ValueError("a contraction needs at least one operand; received none")
    used = {ix for t in inputs for ix in t}
    for k, t in enumerate(inputs):
        for axis, ix in enumerate(t):
            if ix not in sizes:
                raise ValueError(
                    f"index {ix!r} of operand {k} (axis {axis}) has no size in size_dict; "
                    f"add size_dict[{ix!r}]"
                )
            if t.index(ix) != axis:
                raise ValueError(
                    f"index {ix!r} repeats on operand {k} {t!r}; take a diagonal first"
                )
    for ix in output:
        if ix not in used:
            raise ValueError(
                f"output index {ix!r} is on no operand; operand indices: {sorted(used, key=repr)}"
            )
    if len(set(output)) != len(output):
        raise ValueError(f"output {output!r} repeats an index; each output index appears once")


def _check_options(optimize: str, memory_limit: int | None) -> None:
    if not isinstance(optimize, str) or optimize not in OPTIMIZERS:
        raise ValueError(f"unknown optimize={optimize!r}; valid options: {list(OPTIMIZERS)}")
    if memory_limit is None:
        return
    if isinstance(memory_limit, bool) or not isinstance(memory_limit, numbers.Real):
        raise ValueError(
            "memory_limit must be a positive number of elements or None; received "
            f"{type(memory_limit).__name__} {memory_limit!r}"
        )
    if not memory_limit >= 1 or memory_limit == float("inf"):
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
    eq, symbols = to_equation(inputs, output)
    shapes = [tuple(sizes[ix] for ix in t) for t in inputs]
    path, info, used = find_path(eq, shapes, optimize=optimize, memory_limit=memory_limit)
    # the expression reuses the contraction list of the path's PathInfo: opt_einsum's own
    # contract_expression would re-derive it, an O(n^2) pass (20 s at 20,000 operands)
    expression = ContractExpression(eq, info.contraction_list, {})
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
        Unknown ``optimize``, bad ``memory_limit``, a malformed equation
        (:class:`tnreg.einsum.EinsumError`), or inconsistent labels and sizes.
    tnreg.paths.PathError
        An exhaustive optimizer (``"optimal"``, ``"branch-all"``, ``"dp"``) asked for more
        operands than :data:`tnreg.paths.EXHAUSTIVE_MAX_OPERANDS` allows.
    TypeError
        ``network_or_eq`` of an unsupported type, shapes given with a network, unhashable
        labels, or a ``size_dict`` that is not a mapping.
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
        for k, array in enumerate(arrays):
            if not hasattr(array, "shape"):
                raise TypeError(
                    f"operand {k} must be a numpy array or torch tensor; received "
                    f"{type(array).__name__}. Convert it first, e.g. torch.as_tensor(x)"
                )
        shapes = [tuple(a.shape) for a in arrays]
        return plan(network_or_eq, *shapes, optimize=optimize)(*arrays)
    return plan(network_or_eq, optimize=optimize)(*arrays)
