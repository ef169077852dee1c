"""The API reference: one page per top-level part of tnreg, one section per public module."""

from __future__ import annotations

import pkgutil
from pathlib import Path

TITLES = {
    "tnreg": "tnreg (the curated top level)",
}


def public_modules(package_dir: Path) -> list[str]:
    """Dotted names of every module of ``tnreg`` whose path has no ``_private`` part."""
    names = ["tnreg"]
    for info in pkgutil.walk_packages([str(package_dir)], prefix="tnreg."):
        if not any(part.startswith("_") for part in info.name.split(".")):
            names.append(info.name)
    return sorted(names)


def api_pages(package_dir: Path) -> dict[str, str]:
    """Page name (``api/<group>.md``) -> markdown; the group is ``tnreg.<first part>``."""
    groups: dict[str, list[str]] = {}
    for name in public_modules(package_dir):
        group = ".".join(name.split(".")[:2])
        groups.setdefault(group, []).append(name)
    pages = {}
    for group, modules in groups.items():
        lines = [f"# `{group}`", ""]
        for module in modules:
            if module == "tnreg":
                lines += ["::: tnreg", "    options:", "      members: false", ""]
                continue
            lines += [f"::: {module}", ""]
        pages[f"api/{group}.md"] = "\n".join(lines)
    return pages


def api_index(pages: dict[str, str]) -> str:
    """The API landing page: one link per group page."""
    lines = [
        "# API reference",
        "",
        "Generated from the docstrings while the site is built: every public module of",
        "`tnreg`, grouped by the part of the package it belongs to. Docstring examples are",
        "doctests (`pytest --doctest-modules` runs them).",
        "",
    ]
    for page in sorted(pages):
        group = page.removeprefix("api/").removesuffix(".md")
        lines.append(f"- [`{group}`]({group}.md)")
    return "\n".join(lines) + "\n"
