"""Einsum equations: the one parser and the one label -> symbol mapping of tnreg.

Vocabulary
----------
equation
    An einsum string such as ``"ab,bc->ac"``: one *term* per operand (a string of index
    characters), then optionally ``->`` and the *output* term. Without ``->`` the output follows
    numpy's implicit rule: the indices used exactly once, sorted.
label
    A hashable name of an index (``"i"``, ``("r", 3)``, ``7``). Networks, plans and analysis keep
    user labels everywhere; einsum *symbols* (:func:`opt_einsum.get_symbol`) are produced only at
    the last step, by :func:`symbols` / :func:`to_equation`.
size dict
    Index label -> its size, an int >= 1.

:func:`parse` is shared by :meth:`tnreg.network.TensorNetwork.from_equation` and
:func:`tnreg.contract.plan`; both accept the same equations and raise the same messages (the
caller picks the exception class and names operands its own way).
"""

from __future__ import annotations

import operator
from collections.abc import Hashable, Iterable, Sequence
from typing import Any

import opt_einsum

from tnreg.errors import TnregError
from tnreg.typing import Index

__all__ = ["EinsumError", "check_size", "parse", "symbols", "to_equation"]

_RESERVED = frozenset(",->.")


class EinsumError(TnregError, ValueError):
    """A malformed einsum equation, or shapes that do not fit it."""


def check_size(value: Any, where: str, *, error: type[Exception] = EinsumError) -> int:
    """Return ``value`` as an ``int >= 1`` or raise ``error`` naming ``where``.

    Accepts Python and numpy integers (anything with ``__index__``); refuses bools, floats
    (also integral ones such as ``3.0``), NaN and values below 1.

    Examples
    --------
    >>> check_size(3, "index 'a'")
    3
    >>> check_size(3.5, "index 'a'")
    Traceback (most recent call last):
    ...
    tnreg.einsum.EinsumError: index 'a': size must be an int >= 1; received 3.5 (float)
    """
    if isinstance(value, bool):
        raise error(f"{where}: size must be an int >= 1; received {value!r} (bool)")
    try:
        size = operator.index(value)
    except TypeError:
        raise error(
            f"{where}: size must be an int >= 1; received {value!r} ({type(value).__name__})"
        ) from None
    if size < 1:
        raise error(f"{where}: size must be an int >= 1; received {size}")
    return size


def _split(eq: str, error: type[Exception]) -> tuple[list[str], str]:
    """Split ``eq`` into its input terms and output term (implicit output filled in)."""
    if not isinstance(eq, str):
        raise error(f"equation must be a str such as 'ab,bc->ac'; received {type(eq).__name__}")
    clean = "".join(eq.split())
    if "." in clean:
        raise error(f"equation {eq!r}: ellipsis '...' is not supported; name every index")
    lhs, arrow, out = clean.partition("->")
    if "-" in lhs + out or ">" in lhs + out or "," in out:
        raise error(f"equation {eq!r} must look like 'ab,bc->ac' (one '->' at most)")
    terms = lhs.split(",")
    if not arrow:
        counts: dict[str, int] = {}
        for char in lhs.replace(",", ""):
            counts[char] = counts.get(char, 0) + 1
        out = "".join(sorted(c for c, k in counts.items() if k == 1))
    used = set(lhs)
    unknown = [c for c in out if c not in used]
    if unknown:
        raise error(f"equation {eq!r}: output indices {unknown} appear in no input term")
    repeated = sorted({c for c in out if out.count(c) > 1})
    if repeated:
        raise error(
            f"equation {eq!r}: output indices must be distinct; got {out!r} with "
            f"{', '.join(map(repr, repeated))} repeated"
        )
    return terms, out


def parse(
    eq: str,
    shapes: Sequence[Sequence[int]],
    *,
    names: Sequence[Hashable] | None = None,
    noun: str = "operand",
    error: type[Exception] = EinsumError,
) -> tuple[tuple[tuple[str, ...], ...], tuple[str, ...], dict[str, int]]:
    """Parse an einsum equation and its operand shapes into labels and sizes.

    Parameters
    ----------
    eq
        Explicit (``"ab,bc->ac"``) or implicit (``"ab,bc"``) equation; spaces are ignored. Any
        character other than ``,``, ``-``, ``>``, ``.`` and whitespace is an index.
    shapes
        One shape per term; sizes are ints >= 1 (numpy integers too).
    names
        How messages name the operands: ``tensor <name>``; by default ``<noun> <k>``.
    noun
        The word for an unnamed operand in messages (``"operand"``, ``"tensor"``).
    error
        The exception class to raise (a ``ValueError`` subclass of the caller's layer).

    Returns
    -------
    inputs, output, size_dict
        Index characters per operand and of the output, and character -> size.

    Raises
    ------
    EinsumError
        (or ``error``) naming the equation, the operand, the axis and the index: a non-str or
        malformed equation, an ellipsis, a term/shape count or length mismatch, a repeated
        index on one operand (a trace), a repeated or unknown output index, a size that is not
        an int >= 1, or an index given two sizes.

    Examples
    --------
    >>> parse("ab,bc", [(2, 3), (3, 4)])
    ((('a', 'b'), ('b', 'c')), ('a', 'c'), {'a': 2, 'b': 3, 'c': 4})
    """
    terms, out = _split(eq, error)
    shapes = list(shapes)
    if names is not None and len(names) != len(terms):
        raise error(f"equation {eq!r} has {len(terms)} tensors but {len(names)} names were given")
    where = [f"tensor {n!r}" for n in names] if names is not None else None
    where = where or [f"{noun} {k}" for k in range(len(terms))]
    if len(shapes) != len(terms):
        raise error(
            f"equation {eq!r} has {len(terms)} input terms (operands); received "
            f"{len(shapes)} shapes"
        )
    sizes: dict[str, int] = {}
    first: dict[str, str] = {}
    for k, (term, shape) in enumerate(zip(terms, shapes)):
        shape = _as_shape(shape, f"{where[k]} of {eq!r}", error)
        if len(shape) != len(term):
            raise error(
                f"{where[k]} has term {term!r} ({len(term)} indices) in {eq!r}; received shape "
                f"{shape} ({len(shape)} axes)"
            )
        for axis, (char, dim) in enumerate(zip(term, shape)):
            at = f"{where[k]} axis {axis} (index {char!r})"
            if term.index(char) != axis:
                raise error(
                    f"{where[k]} carries index {char!r} twice in {eq!r} (axes "
                    f"{term.index(char)} and {axis}); traces/diagonals are not supported: take "
                    "the diagonal first"
                )
            dim = check_size(dim, at, error=error)
            if char in sizes and sizes[char] != dim:
                raise error(
                    f"{at} has size {dim}, but {first[char]} gives index {char!r} size "
                    f"{sizes[char]} in {eq!r}"
                )
            sizes.setdefault(char, dim)
            first.setdefault(char, at.partition(" (")[0])
    return tuple(tuple(t) for t in terms), tuple(out), sizes


def _as_shape(shape: Any, where: str, error: type[Exception]) -> tuple:
    if isinstance(shape, (str, bytes)) or not isinstance(shape, Iterable):
        raise error(
            f"{where}: a shape must be a sequence of ints such as (2, 3); received "
            f"{type(shape).__name__} {shape!r}"
        )
    return tuple(shape)


def symbols(labels: Iterable[Index]) -> dict[Index, str]:
    """Map hashable labels to einsum symbols in order of first appearance.

    Examples
    --------
    >>> symbols(["x", ("r", 0), "x", 7])
    {'x': 'a', ('r', 0): 'b', 7: 'c'}
    """
    out: dict[Index, str] = {}
    for label in labels:
        if label not in out:
            out[label] = opt_einsum.get_symbol(len(out))
    return out


def to_equation(
    inputs: Sequence[Sequence[Index]], output: Sequence[Index]
) -> tuple[str, dict[Index, str]]:
    """Build the einsum string for labelled operands and its label -> symbol map.

    Symbols are assigned in order of first appearance over the inputs, then the output.

    Examples
    --------
    >>> to_equation([("i", "r"), ("j", "r")], ("i", "j"))
    ('ab,cb->ac', {'i': 'a', 'r': 'b', 'j': 'c'})
    """
    table = symbols([*(label for term in inputs for label in term), *output])
    terms = ",".join("".join(table[label] for label in term) for term in inputs)
    return terms + "->" + "".join(table[label] for label in output), table
