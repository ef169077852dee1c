"""Running claims: look them up, run them, load a module of your own.

The registry itself (:class:`~tnreg.theory.registry.Claim`, :func:`register`, ...) lives in
:mod:`tnreg.theory.registry`, below the catalogs; this module sits above them and loads the
built-in catalog (:mod:`tnreg.theory.catalog`) on first use. Its names are re-exported here
for convenience.

Register and run a claim of your own::

    from tnreg.theory import Control, Measurement, register

    @register("my-claim", citation="...", statement="...", status="derived",
              setting="...", tolerance=1e-9, rule="measured <= tolerance")
    def my_claim(quick):
        err = ...       # compare a prediction with a measurement
        bad = ...       # the same comparison where the statement must not hold
        return Measurement(0.0, err, err <= 1e-9,
                           control=Control("what the control changes", bad, bad <= 1e-9))

Save it in ``my_claims.py`` and run ``tnreg verify --module my_claims.py`` (a file) or
``--module package.module`` (an importable module): importing it registers the claims.
"""

from __future__ import annotations

import importlib
import importlib.util
import sys
from collections.abc import Callable, Iterable
from pathlib import Path

from tnreg.theory.registry import (
    REGISTRY,
    STATUSES,
    Claim,
    ClaimError,
    ClaimResult,
    Control,
    Measurement,
    register,
)

__all__ = [
    "REGISTRY",
    "STATUSES",
    "Claim",
    "ClaimError",
    "ClaimResult",
    "Control",
    "Measurement",
    "get_claims",
    "load_claims",
    "register",
    "run_claims",
]


def builtin_registry() -> dict[str, Claim]:
    """The default registry with the built-in claims loaded (first), in catalog order."""
    from tnreg.theory.catalog import load_builtin

    load_builtin()
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
    reg = builtin_registry() if registry is None else registry
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


def load_claims(module: str) -> list[str]:
    """Import a module of claims (a dotted name or a ``.py`` file); the names it registered.

    Importing the module runs its ``@register`` decorators, which add its claims to the
    default registry after the built-in ones.

    Raises
    ------
    ClaimError
        When the file does not exist or the module cannot be imported (the message names it).
    """
    reg = builtin_registry()
    before = set(reg)
    path = Path(module)
    try:
        if module.endswith(".py") or path.exists():
            if not path.is_file():
                raise ClaimError(f"--module {module!r}: no such file")
            name = f"tnreg_user_claims_{path.stem}"
            spec = importlib.util.spec_from_file_location(name, path)
            mod = importlib.util.module_from_spec(spec)
            sys.modules[name] = mod
            spec.loader.exec_module(mod)
        else:
            importlib.import_module(module)
    except ClaimError:
        raise
    except Exception as err:
        raise ClaimError(
            f"--module {module!r}: importing it failed with {type(err).__name__}: {err}"
        ) from err
    return [n for n in reg if n not in before]
