"""The claim registry: :class:`Claim`, what a check returns, and :func:`register`.

Vocabulary
----------
claim
    A :class:`Claim`: a name, the citation it comes from, the statement, its status, the
    setting it is checked in, the exact pass rule and its tolerance, and a check function.
    ``claim.check(quick=...)`` runs it and returns a :class:`ClaimResult`.
status
    ``"theorem"`` (proved in the cited paper, quoted with its number, checked in the cited
    setting), ``"derived"`` (follows from a cited result by a short argument given in the
    statement), ``"hypothesis"`` (conjectured or only observed empirically; a FAIL is a finding,
    not a bug) or ``"consistency"`` (a cross-check of two code paths computing the same thing).
measurement
    What a check function returns: :class:`Measurement` (the compared quantities, whether the
    pass rule held, a one-line detail) and a :class:`Control`.
negative control
    A setting, run in the same check, where the claimed effect must *not* hold (large init,
    an unbalanced state fed to the balanced formula, a non-multilinear model, ...). The claim
    passes only when its rule holds *and* the same rule fails on the control: a check whose
    rule also "passes" on its control cannot tell the claim from its negation.
cached run
    A trajectory several claims share, memoized with :func:`cached`; :func:`clear_caches`
    forgets every such run (the mutation self-test calls it around each mutant).

This module imports no catalog: catalogs import it to register their claims, and
:mod:`tnreg.theory.claims` loads the catalogs on first use.
"""

from __future__ import annotations

import functools
import math
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass

from tnreg.errors import TnregError

__all__ = [
    "REGISTRY",
    "STATUSES",
    "Claim",
    "ClaimError",
    "ClaimResult",
    "Control",
    "Measurement",
    "cached",
    "clear_caches",
    "register",
]

STATUSES = ("theorem", "derived", "hypothesis", "consistency")
NO_RULE = "as the check function decides"


class ClaimError(TnregError, ValueError):
    """A claim is malformed, duplicated or unknown."""


@dataclass(frozen=True)
class Control:
    """A negative control: the same pass rule applied where the effect must not hold.

    ``value`` is the control's measurement of the compared quantity; ``holds`` says whether
    the pass rule held on it (it must not).
    """

    setting: str
    value: float
    holds: bool


@dataclass(frozen=True)
class Measurement:
    """What a check function returns: ``predicted`` vs ``measured``, whether the rule held.

    ``tolerance`` (optional) overrides the claim's registered tolerance when the check sets
    it from data (e.g. from a spread over seeds); ``control`` is the negative control.
    """

    predicted: float
    measured: float
    passed: bool
    detail: str = ""
    control: Control | None = None
    tolerance: float | None = None


@dataclass(frozen=True)
class ClaimResult:
    """The outcome of one claim's check (one table row of ``tnreg verify``).

    ``passed`` is ``rule_held and not control_holds``; ``control_holds`` is ``None`` when the
    claim has no control.
    """

    name: str
    status: str
    predicted: float
    measured: float
    tolerance: float
    passed: bool
    seconds: float
    detail: str = ""
    rule: str = NO_RULE
    rule_held: bool = False
    control: str = ""
    control_value: float = math.nan
    control_holds: bool | None = None
    citation: str = ""


@dataclass(frozen=True)
class Claim:
    """A statement with a numerical check, its exact pass rule and a negative control.

    Parameters
    ----------
    name
        Short unique id (used by ``tnreg verify --claim NAME``).
    citation, statement, setting
        Where it comes from (theorem number where it is a theorem), what it says, and on what
        it is checked (sizes, seeds).
    status
        One of :data:`STATUSES`.
    tolerance
        The tolerance of the pass rule (shown in the table).
    check_fn
        ``check_fn(quick: bool) -> Measurement``; ``quick=True`` uses the small sizes.
    rule
        The exact pass rule, in terms of the table's columns.

    Examples
    --------
    >>> c = Claim("one", "arithmetic", "1 + 1 = 2", "theorem", "integers", 0.0,
    ...           lambda quick: Measurement(2.0, 1.0 + 1.0, 1 + 1 == 2), "measured == predicted")
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
    rule: str = NO_RULE

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
        except Exception as err:  # a crashing check is a failed claim, reported with its error
            where = traceback.extract_tb(err.__traceback__)[-1]
            detail = f"error: {type(err).__name__}: {err} (at {where.name}:{where.lineno})"
            m = Measurement(math.nan, math.nan, False, detail)
        return self._result(m, time.perf_counter() - start)

    def _result(self, m: Measurement, seconds: float) -> ClaimResult:
        ctrl = m.control
        held = bool(m.passed)
        holds = None if ctrl is None else bool(ctrl.holds)
        return ClaimResult(
            self.name, self.status, float(m.predicted), float(m.measured),
            self.tolerance if m.tolerance is None else float(m.tolerance),
            held and not holds, seconds, m.detail, self.rule, held,
            "" if ctrl is None else ctrl.setting,
            math.nan if ctrl is None else float(ctrl.value), holds, self.citation,
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
    rule: str = NO_RULE,
    registry: dict[str, Claim] | None = None,
    replace: bool = False,
) -> Callable[[Callable[[bool], Measurement]], Callable[[bool], Measurement]]:
    """Decorator: register ``check_fn(quick) -> Measurement`` as a claim (default registry).

    Examples
    --------
    >>> mine: dict = {}
    >>> @register("two", citation="me", statement="2 > 1", status="derived",
    ...           setting="reals", tolerance=0.0, rule="measured > predicted", registry=mine)
    ... def two(quick):
    ...     control = Control("compare 1 with 1", 1.0, holds=1.0 > 1.0)
    ...     return Measurement(predicted=1.0, measured=2.0, passed=2.0 > 1.0, control=control)
    >>> mine["two"].check().passed
    True
    """
    target = REGISTRY if registry is None else registry

    def decorate(fn: Callable[[bool], Measurement]) -> Callable[[bool], Measurement]:
        claim = Claim(name, citation, statement, status, setting, tolerance, fn, rule)
        if name in target and not replace:
            raise ClaimError(
                f"a claim named {name!r} is already registered; choose another name or pass "
                f"replace=True"
            )
        target[name] = claim
        return fn

    return decorate


_CACHES: list = []


def cached(fn: Callable) -> Callable:
    """Memoize a run several claims share; :func:`clear_caches` forgets it.

    Examples
    --------
    >>> calls = []
    >>> @cached
    ... def run(quick):
    ...     calls.append(quick)
    ...     return len(calls)
    >>> run(True), run(True), clear_caches(), run(True)
    (1, 1, None, 2)
    """
    memo = functools.lru_cache(maxsize=8)(fn)
    _CACHES.append(memo)
    return memo


def clear_caches() -> None:
    """Forget every run memoized with :func:`cached`."""
    for memo in _CACHES:
        memo.cache_clear()
