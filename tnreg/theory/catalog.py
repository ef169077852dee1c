"""The built-in claims: which modules register them, and their order in the table.

Each catalog module registers its claims in :data:`tnreg.theory.registry.REGISTRY` when it is
imported; :func:`load_builtin` imports every module in :data:`CLAIM_MODULES` (once) and puts
the built-in claims first, in the order of the modules and, within a module, of definition.
A claim module of another part of tnreg joins the built-in set by adding its dotted name to
:data:`CLAIM_MODULES`; a user's module is loaded with ``tnreg verify --module``.
"""

from __future__ import annotations

import importlib

from tnreg.theory.registry import REGISTRY

__all__ = ["CLAIM_MODULES", "builtin_names", "load_builtin"]

CLAIM_MODULES = (
    "tnreg.theory.catalog_rates",
    "tnreg.theory.catalog_invariants",
    "tnreg.theory.catalog_ranks",
    "tnreg.theory.catalog_learning",
    "tnreg.theory.catalog_depth",
    "tnreg.entanglement.claims",
)

_BUILTIN: list[str] = []


def load_builtin() -> list[str]:
    """Import the claim modules (first call only); the built-in claims' names, in order."""
    if _BUILTIN:
        return list(_BUILTIN)
    before = dict(REGISTRY)
    for name in CLAIM_MODULES:
        importlib.import_module(name)
    mine = [n for n in REGISTRY if n not in before]
    ordered = {n: REGISTRY[n] for n in mine}
    ordered.update(before)  # claims a user registered earlier keep their place after
    REGISTRY.clear()
    REGISTRY.update(ordered)
    _BUILTIN.extend(mine)
    return list(mine)


def builtin_names() -> list[str]:
    """The names of the built-in claims, in table order."""
    return load_builtin()
