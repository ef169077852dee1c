"""The package's layers, read from the imports (ast): lower layers never import higher ones.

structure (trees, network, einsum, contract, paths, typing) < algebra (gramians, components)
< models < analysis < train, theory, data, plots, cli, experiments.
``models/`` in particular never imports ``analysis/`` (issue 7).
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "tnreg"

# module (dotted, relative to tnreg) -> the tnreg modules it may never import
FORBIDDEN = {
    "trees": ["models", "analysis", "train", "theory", "gramians", "components"],
    "tree_display": ["models", "analysis", "train", "theory", "gramians", "components"],
    "network": ["models", "analysis", "train", "theory"],
    "contract": ["models", "analysis", "train", "theory"],
    "gramians": ["models", "analysis", "train", "theory"],
    "components": ["models", "analysis", "train", "theory"],
    "models": ["analysis", "train", "theory", "plots", "experiments", "cli"],
    "analysis": ["train", "theory", "plots", "experiments", "cli"],
}


def _modules(name: str) -> list[Path]:
    path = PACKAGE / name
    return sorted(path.rglob("*.py")) if path.is_dir() else [path.with_suffix(".py")]


def _imports(path: Path) -> set[str]:
    """Every tnreg module imported anywhere in the file (function bodies included)."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            found |= {a.name for a in node.names if a.name.startswith("tnreg")}
        elif isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("tnreg"):
            found.add(node.module)
            found |= {f"{node.module}.{a.name}" for a in node.names if node.module == "tnreg"}
    return found


@pytest.mark.parametrize("layer", sorted(FORBIDDEN))
def test_lower_layers_never_import_higher_ones(layer: str) -> None:
    files = _modules(layer)
    assert files and all(f.exists() for f in files), layer
    bad = []
    for f in files:
        for module in _imports(f):
            parts = module.split(".")
            if len(parts) > 1 and parts[1] in FORBIDDEN[layer]:
                bad.append(f"{f.relative_to(PACKAGE.parent)} imports {module}")
    assert not bad, "layering violated:\n" + "\n".join(bad)


def test_the_check_sees_imports_inside_functions(tmp_path: Path) -> None:
    src = tmp_path / "m.py"
    src.write_text("def f():\n    from tnreg.analysis.gramians import gramians\n")
    assert "tnreg.analysis.gramians" in _imports(src)
