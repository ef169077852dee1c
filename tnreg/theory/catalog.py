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
    """Import the claim modules (first call only); the built-in claims' names, in order.

    A claim is built-in when its check function is defined in one of :data:`CLAIM_MODULES`
    (whenever that module was imported); the built-in claims come first in the registry, in
    module order, then every other claim in registration order.
    """
    if _BUILTIN:
        return list(_BUILTIN)
    for name in CLAIM_MODULES:
        importlib.import_module(name)
    rank = {name: k for k, name in enumerate(CLAIM_MODULES)}
    mine = [n for n, c in REGISTRY.items() if getattr(c.check_fn, "__module__", None) in rank]
    mine.sort(key=lambda n: rank[REGISTRY[n].check_fn.__module__])  # stable: keeps def order
    ordered = {n: REGISTRY[n] for n in mine}
    ordered.update(REGISTRY)
    REGISTRY.clear()
    REGISTRY.update(ordered)
    _BUILTIN.extend(mine)
    return list(mine)


def builtin_names() -> list[str]:
    """The names of the built-in claims, in table order."""
    return load_builtin()
