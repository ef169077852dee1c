"""The mutation self-test: deliberately broken variants of tnreg, each applied in isolation.

A check that passes on broken code checks nothing. Each :class:`Mutant` patches one public
seam (a model class's method, the flow integrator, an analysis or theory function as the
claims look it up, a network's rank bound, the init scale, the depth) for the duration of a
``with`` block and restores it afterwards; :func:`kill_matrix` runs the claims under each
mutant and records which claims fail ("kill" it). A mutant that survives every claim shows a
gap in the checks. ``tnreg verify --mutants`` prints the matrix.

Patching a function replaces it in every loaded ``tnreg`` module that holds it (so a claim
that did ``from tnreg.analysis import node_spectra`` sees the mutant too); patching a method
replaces the class attribute. Both are undone on exit, even after an error.
"""

from __future__ import annotations

import contextlib
import functools
import signal
import sys
import threading
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass

import torch

from tnreg.errors import TnregError
from tnreg.theory.registry import ClaimResult, clear_caches

__all__ = [
    "MUTANTS",
    "ClaimTimeout",
    "Mutant",
    "kill_matrix",
    "replace_attribute",
    "replace_function",
    "time_limit",
]


class ClaimTimeout(TnregError, TimeoutError):
    """A claim gave no result within the mutation test's time limit (not counted as a kill)."""


@contextlib.contextmanager
def time_limit(seconds: float | None) -> Iterator[None]:
    """Raise :class:`ClaimTimeout` in the block after ``seconds`` (main thread, POSIX only;
    elsewhere, or with ``None``, no limit).

    Examples
    --------
    >>> with time_limit(None):
    ...     pass
    """
    if not seconds or threading.current_thread() is not threading.main_thread():
        yield
        return

    def stop(signum, frame):
        raise ClaimTimeout(f"no result within {seconds:g} s")

    old = signal.signal(signal.SIGALRM, stop)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, old)


@contextlib.contextmanager
def replace_attribute(owner, name: str, new) -> Iterator[None]:
    """Set ``owner.name = new`` inside the block; restore the original on exit.

    Examples
    --------
    >>> class A:
    ...     def f(self):
    ...         return 1
    >>> with replace_attribute(A, "f", lambda self: 2):
    ...     A().f()
    2
    >>> A().f()
    1
    """
    old = owner.__dict__[name] if isinstance(owner, type) else getattr(owner, name)
    setattr(owner, name, new)
    try:
        yield
    finally:
        setattr(owner, name, old)


@contextlib.contextmanager
def replace_function(module: str, name: str, make: Callable[[Callable], Callable]):
    """Replace function ``module.name`` by ``make(original)`` in every loaded tnreg module
    that holds it, inside the block; restore every binding on exit.

    Examples
    --------
    >>> import tnreg.theory.quantities as q
    >>> with replace_function("tnreg.theory.quantities", "growth_exponent",
    ...                       lambda f: lambda k: 0.0):
    ...     q.growth_exponent(3)
    0.0
    >>> q.growth_exponent(2)
    1.0
    """
    __import__(module)
    original = getattr(sys.modules[module], name)
    new = make(original)
    touched = []
    for mod_name, mod in list(sys.modules.items()):
        if not mod_name.startswith("tnreg") or mod is None:
            continue
        for attr, value in list(vars(mod).items()):
            if value is original:
                touched.append((mod, attr))
                setattr(mod, attr, new)
    try:
        yield
    finally:
        for mod, attr in touched:
            setattr(mod, attr, original)


@dataclass(frozen=True)
class Mutant:
    """A deliberately broken variant: ``apply()`` returns a context manager that installs it."""

    name: str
    layer: str
    description: str
    apply: Callable[[], contextlib.AbstractContextManager]


def _htf():
    from tnreg.models import HierarchicalTensorFactorization

    return HierarchicalTensorFactorization


def _curved_forward():
    cls = _htf()
    forward = cls.forward

    def bent(self, indices):
        out = forward(self, indices)
        return out + 0.2 * out.square()

    return replace_attribute(cls, "forward", bent)


def _scaled_gradient():
    cls = _htf()
    matrices = cls.matrices

    def scaled(self):
        mats = dict(matrices(self))
        first = next(iter(self.layers()))
        m = mats[first]
        mats[first] = 2 * m - m.detach()  # same value, gradient x2 on this node
        return mats

    return replace_attribute(cls, "matrices", scaled)


def _loose_integrator():
    def make(flow):
        @functools.wraps(flow)
        def loose(*args, rtol=1e-8, atol=1e-12, **kw):
            return flow(*args, rtol=max(rtol, 1e-3), atol=max(atol, 1e-6), **kw)

        return loose

    return replace_function("tnreg.train", "gradient_flow", make)


def _squared_norms():
    def make(local_norms):
        return lambda tree, layers: {v: s.square() for v, s in local_norms(tree, layers).items()}

    return replace_function("tnreg.components", "local_norms", make)


def _wrong_node_spectrum():
    def make(node_spectra):
        def shifted(*args, **kw):
            out = node_spectra(*args, **kw)
            keys = list(out)
            return {k: out[keys[(i + 1) % len(keys)]] for i, k in enumerate(keys)}

        return shifted

    return replace_function("tnreg.analysis", "node_spectra", make)


def _rank_bound_plus_one():
    from tnreg.network import TensorNetwork

    bound = TensorNetwork.rank_bound
    return replace_attribute(TensorNetwork, "rank_bound", lambda self, rows: bound(self, rows) + 1)


def _wrong_exponent():
    return replace_function(
        "tnreg.theory.quantities", "growth_exponent", lambda f: lambda k: 2 - 1 / k
    )


def _init_wrapper(**forced):
    cls = _htf()
    init = cls.__init__

    @functools.wraps(init)
    def patched(self, *args, **kw):
        kw.update(forced)
        init(self, *args, **kw)

    return replace_attribute(cls, "__init__", patched)


def _balance_noop():
    cls = _htf()
    return replace_attribute(cls, "balance_", lambda self, **kw: self)


def _gd_step_off():
    def make(gd_path):
        def off(model, indices, values, *, lr, **kw):
            return gd_path(model, indices, values, lr=lr * 1.01, **kw)

        return off

    return replace_function("tnreg.theory.trajectories", "gd_path", make)


MUTANTS: tuple[Mutant, ...] = (
    Mutant("non-multilinear-forward", "models", "entries f + 0.2 f² (HTF and CP forward)",
           _curved_forward),
    Mutant("gradient-scaled-node", "models", "the gradient through one node's matrix doubled",
           _scaled_gradient),
    Mutant("degraded-integrator", "train", "gradient flow at rtol 1e-3, atol 1e-6",
           _loose_integrator),
    Mutant("squared-norms", "components", "local_norms returns squared norms", _squared_norms),
    Mutant("wrong-node-spectrum", "analysis", "node_spectra reports the next node's spectrum",
           _wrong_node_spectrum),
    Mutant("rank-bound-off-by-one", "network", "the min-cut rank bound plus one",
           _rank_bound_plus_one),
    Mutant("wrong-rate-exponent", "theory", "growth exponent 2 − 1/K instead of 2 − 2/K",
           _wrong_exponent),
    Mutant("init-scale-ignored", "models", "every factorization initialized at std 0.3",
           lambda: _init_wrapper(init_std=0.3)),
    Mutant("depth-ignored", "models", "every factorization built with depth 1",
           lambda: _init_wrapper(depth=1)),
    Mutant("balance-noop", "models", "balance_ leaves the factors as they are", _balance_noop),
    Mutant("gd-step-off", "theory", "gradient descent steps 1% longer than asked",
           _gd_step_off),
)  # fmt: skip


def kill_matrix(
    claims: Sequence,
    mutants: Sequence[Mutant] = MUTANTS,
    *,
    quick: bool = True,
    baseline: Sequence[ClaimResult] | None = None,
    timeout: float | None = None,
    progress: Callable[[str, ClaimResult], None] | None = None,
) -> dict[str, list[ClaimResult]]:
    """Run every claim under every mutant (each alone); mutant name -> results.

    Shared runs are forgotten before and after each mutant, and each mutant is removed
    before the next is applied, so no result leaks from one to another. With ``baseline``
    (the claims' results on the real code), a claim that already fails there is not run under
    the mutants: it could not tell a mutant from the real code (its results are ``None``).
    ``timeout`` (seconds) stops a claim a mutant has made too slow; its result is a failure
    whose detail names :class:`ClaimTimeout`, shown ``T`` and not counted as a kill.
    """
    usable = [True] * len(claims) if baseline is None else [r.passed for r in baseline]
    out: dict[str, list[ClaimResult]] = {}
    for mutant in mutants:
        clear_caches()
        results = []
        with mutant.apply(), torch.random.fork_rng():
            for claim, use in zip(claims, usable):
                result = None
                if use:
                    with time_limit(timeout):
                        result = claim.check(quick=quick)
                results.append(result)
                if progress is not None and result is not None:
                    progress(mutant.name, result)
        out[mutant.name] = results
    clear_caches()
    return out
