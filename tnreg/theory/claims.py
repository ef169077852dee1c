"""Claims: statements about the dynamics, each with a numerical check, and a registry of them.

Vocabulary
----------
claim
    A :class:`Claim`: a name, the citation it comes from, the statement, its status, the
    setting it is checked in, a tolerance and a check function. ``claim.check(quick=...)``
    runs it and returns a :class:`ClaimResult`.
status
    ``"theorem"`` (proved in the cited paper), ``"derived"`` (follows from a theorem by a short
    argument given in the statement) or ``"hypothesis"`` (conjectured; the check is a numerical
    test of it, and a FAIL is a finding, not a bug).
measurement
    What a check function returns: :class:`Measurement` (predicted value, measured value,
    pass/fail and a one-line detail). :meth:`Claim.check` adds the timing; an exception in the
    check becomes a failed result whose detail names it (never hidden).
registry
    :data:`REGISTRY` holds the built-in claims of :mod:`tnreg.theory.catalog`; register your own
    with :func:`register` (a decorator) and run them with :func:`run_claims` or ``tnreg verify``.
"""

from __future__ import annotations

import json
import math
import time
import traceback
from collections.abc import Callable, Iterable, Sequence
from dataclasses import asdict, dataclass

__all__ = [
    "REGISTRY",
    "STATUSES",
    "Claim",
    "ClaimError",
    "ClaimResult",
    "Measurement",
    "format_table",
    "get_claims",
    "register",
    "results_to_json",
    "run_claims",
]

STATUSES = ("theorem", "derived", "hypothesis")


class ClaimError(ValueError):
    """A claim is malformed, duplicated or unknown."""


@dataclass(frozen=True)
class Measurement:
    """What a check function returns: ``predicted`` vs ``measured`` and whether it passed."""

    predicted: float
    measured: float
    passed: bool
    detail: str = ""


@dataclass(frozen=True)
class ClaimResult:
    """The outcome of one claim's check (one table row of ``tnreg verify``)."""

    name: str
    status: str
    predicted: float
    measured: float
    tolerance: float
    passed: bool
    seconds: float
    detail: str = ""


@dataclass(frozen=True)
class Claim:
    """A statement with a numerical check.

    Parameters
    ----------
    name
        Short unique id (used by ``tnreg verify --claim NAME``).
    citation, statement, setting
        Where it comes from, what it says, and on what it is checked (sizes, seeds).
    status
        One of :data:`STATUSES`.
    tolerance
        The tolerance the check applies (shown in the table).
    check_fn
        ``check_fn(quick: bool) -> Measurement``; ``quick=True`` uses the small sizes.

    Examples
    --------
    >>> c = Claim("one", "arithmetic", "1 + 1 = 2", "theorem", "integers", 0.0,
    ...           lambda quick: Measurement(2.0, 1.0 + 1.0, 1 + 1 == 2))
    >>> c.check().passed
    True
    """

    name: str
    citation: str
    statement: str
    status: str
    setting: str
    tolerance: float
    check_fn: Callable[[bool], Measurement]

    def __post_init__(self) -> None:
        if not isinstance(self.name, str) or not self.name or any(c.isspace() for c in self.name):
            raise ClaimError(
                f"a claim name must be a non-empty string without spaces; got {self.name!r}"
            )
        if self.status not in STATUSES:
            raise ClaimError(
                f"claim {self.name!r}: unknown status {self.status!r}; valid statuses: "
                f"{list(STATUSES)}"
            )
        if not callable(self.check_fn):
            raise ClaimError(
                f"claim {self.name!r}: check_fn must be callable (quick) -> Measurement"
            )

    def check(self, *, quick: bool = True) -> ClaimResult:
        """Run the check; an exception becomes a failed result that names it."""
        start = time.perf_counter()
        try:
            m = self.check_fn(quick)
            if not isinstance(m, Measurement):
                raise ClaimError(
                    f"claim {self.name!r}: check_fn must return a Measurement; got "
                    f"{type(m).__name__}"
                )
            pred, meas, ok, detail = float(m.predicted), float(m.measured), bool(m.passed), m.detail
        except Exception as err:  # a crashing check is a failed claim, reported with its error
            where = traceback.extract_tb(err.__traceback__)[-1]
            pred, meas, ok = math.nan, math.nan, False
            detail = f"error: {type(err).__name__}: {err} (at {where.name}:{where.lineno})"
        return ClaimResult(
            self.name, self.status, pred, meas, self.tolerance, ok,
            time.perf_counter() - start, detail,
        )  # fmt: skip


REGISTRY: dict[str, Claim] = {}


def register(
    name: str,
    *,
    citation: str,
    statement: str,
    status: str,
    setting: str,
    tolerance: float,
    registry: dict[str, Claim] | None = None,
    replace: bool = False,
) -> Callable[[Callable[[bool], Measurement]], Callable[[bool], Measurement]]:
    """Decorator: register ``check_fn(quick) -> Measurement`` as a claim (default registry).

    Examples
    --------
    >>> mine: dict = {}
    >>> @register("two", citation="me", statement="2 > 1", status="derived",
    ...           setting="reals", tolerance=0.0, registry=mine)
    ... def two(quick):
    ...     return Measurement(predicted=1.0, measured=2.0, passed=2.0 > 1.0)
    >>> [r.passed for r in run_claims(registry=mine)]
    [True]
    """
    target = REGISTRY if registry is None else registry

    def decorate(fn: Callable[[bool], Measurement]) -> Callable[[bool], Measurement]:
        claim = Claim(name, citation, statement, status, setting, tolerance, fn)
        if name in target and not replace:
            raise ClaimError(
                f"a claim named {name!r} is already registered; choose another name or pass "
                f"replace=True"
            )
        target[name] = claim
        return fn

    return decorate


def _builtin(registry: dict[str, Claim] | None) -> dict[str, Claim]:
    if registry is not None:
        return registry
    import tnreg.theory.catalog  # noqa: F401  (registers the built-in claims)

    return REGISTRY


def get_claims(
    names: Iterable[str] | None = None, *, registry: dict[str, Claim] | None = None
) -> list[Claim]:
    """The claims with these names (all when ``None``), in registry order.

    Raises
    ------
    ClaimError
        On an unknown name (the message lists the registered names).
    """
    reg = _builtin(registry)
    if names is None:
        return list(reg.values())
    names = list(names)
    unknown = [n for n in names if n not in reg]
    if unknown:
        raise ClaimError(f"unknown claim(s) {unknown!r}; registered claims: {list(reg)}")
    return [reg[n] for n in names]


def run_claims(
    names: Iterable[str] | None = None,
    *,
    quick: bool = True,
    registry: dict[str, Claim] | None = None,
    progress: Callable[[ClaimResult], None] | None = None,
) -> list[ClaimResult]:
    """Check the claims in order; ``progress`` is called with each result as it comes."""
    results = []
    for claim in get_claims(names, registry=registry):
        result = claim.check(quick=quick)
        results.append(result)
        if progress is not None:
            progress(result)
    return results


def _num(x: float) -> str:
    return "nan" if math.isnan(x) else f"{x:.3g}"


def format_table(results: Sequence[ClaimResult], *, markdown: bool = False) -> str:
    """The results as a text (or Markdown) table: claim, status, predicted, measured, ...

    Examples
    --------
    >>> r = ClaimResult("one", "theorem", 2.0, 2.0, 0.0, True, 0.01)
    >>> print(format_table([r]).splitlines()[2])
    one    theorem  2          2         0          PASS    0.01
    """
    head = ["claim", "status", "predicted", "measured", "tolerance", "result", "seconds"]
    rows = [
        [
            r.name, r.status, _num(r.predicted), _num(r.measured), _num(r.tolerance),
            "PASS" if r.passed else "FAIL", f"{r.seconds:.2f}",
        ]
        for r in results
    ]  # fmt: skip
    if markdown:
        lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
        lines += ["| " + " | ".join(row) + " |" for row in rows]
        return "\n".join(lines)
    widths = [max(len(x) for x in col) for col in zip(head, *rows)]
    fmt = "  ".join(f"{{:<{w}}}" for w in widths)
    lines = [fmt.format(*head), fmt.format(*("-" * w for w in widths))]
    lines += [fmt.format(*row).rstrip() for row in rows]
    return "\n".join(lines)


def results_to_json(results: Sequence[ClaimResult]) -> str:
    """The results as JSON (NaN written as null)."""
    rows = [
        {k: (None if isinstance(v, float) and math.isnan(v) else v) for k, v in asdict(r).items()}
        for r in results
    ]
    return json.dumps({"claims": rows, "passed": all(r.passed for r in results)}, indent=2)
