"""The package's layers, read from the imports (ast): lower layers never import higher ones.

structure (errors, trees, network, einsum, contract, paths, typing) < algebra (gramians,
components) < models < analysis < train, theory, data, plots, cli, experiments.
``models/`` in particular never imports ``analysis/``.

Two more rules hold between any two tnreg modules:

- **no import cycles.** Module A depends on module B when A imports B anywhere in its file:
  at module level *or inside a function*, since a function-level import only defers the
  dependency, it does not remove it. ``from tnreg.pkg import name`` depends on the submodule
  ``tnreg.pkg.name`` when that is a module, else on ``tnreg.pkg`` (its ``__init__``). The parent
  packages Python imports on the way (``tnreg``, ``tnreg.pkg``) are not counted: every module
  would otherwise depend on ``tnreg/__init__.py``, which re-exports the public API.
- **no private name across modules.** ``from tnreg.x import _y`` and ``x._y`` on an imported
  tnreg module are refused (dunders such as ``__version__`` excepted): a piece that two
  modules share gets a public name in one home below both.
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
    "tree_structure": ["models", "analysis", "train", "theory", "gramians", "components"],
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


# ---------------------------------------------------------------- cycles and private names


def _module_name(path: Path, root: Path) -> str:
    parts = list(path.relative_to(root.parent).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _target(name: str, modules: set[str]) -> str | None:
    """The deepest module of ``modules`` that ``name`` (a dotted import) names or lies in."""
    while name and name not in modules:
        name = name.rpartition(".")[0]
    return name or None


def _base(node: ast.ImportFrom, module: str, is_package: bool) -> str:
    """The absolute module of a ``from ... import``, relative imports resolved."""
    if not node.level:
        return node.module or ""
    package = module.split(".") if is_package else module.split(".")[:-1]
    package = package[: len(package) - (node.level - 1)]
    return ".".join(package + ([node.module] if node.module else []))


def _private(name: str) -> bool:
    return name.startswith("_") and not (name.startswith("__") and name.endswith("__"))


def _imports_of(module: str, path: Path, modules: set[str]) -> tuple[set, dict, list]:
    """(modules imported, local name -> module it is bound to, private names imported)."""
    top = module.split(".")[0]
    deps: set[str] = set()
    aliases: dict[str, str] = {}
    private: list[str] = []
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            for a in node.names:
                found = _target(a.name, modules) if a.name.split(".")[0] == top else None
                if found:
                    deps.add(found)
                    aliases[a.asname or top] = found if a.asname else top
        elif isinstance(node, ast.ImportFrom):
            base = _base(node, module, path.name == "__init__.py")
            for a in node.names if base.split(".")[0] == top else ():
                sub = f"{base}.{a.name}"
                deps.add(sub if sub in modules else _target(base, modules) or base)
                if sub in modules:
                    aliases[a.asname or a.name] = sub
                elif _private(a.name):
                    private.append(f"{module} imports {a.name} from {base}")
    return deps, aliases, private


def _scan(root: Path) -> tuple[dict[str, set[str]], list[str]]:
    """(module -> the modules it imports anywhere, the private names it takes from others)."""
    files = {_module_name(p, root): p for p in sorted(root.rglob("*.py"))}
    graph: dict[str, set[str]] = {}
    private: list[str] = []
    for module, path in files.items():
        deps, aliases, taken = _imports_of(module, path, set(files))
        private += taken
        for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
            if (
                isinstance(node, ast.Attribute)
                and isinstance(node.value, ast.Name)
                and aliases.get(node.value.id, module) != module
                and _private(node.attr)
            ):
                private.append(f"{module} uses {aliases[node.value.id]}.{node.attr}")
        graph[module] = (deps & set(files)) - {module}
    return graph, private


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components with more than one module (Tarjan, iterative)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []
    for start in sorted(graph):
        if start in index:
            continue
        work = [(start, iter(sorted(graph[start])))]
        index[start] = low[start] = len(index)
        stack.append(start)
        on_stack.add(start)
        while work:
            v, children = work[-1]
            w = next(children, None)
            if w is not None:
                if w not in index:
                    index[w] = low[w] = len(index)
                    stack.append(w)
                    on_stack.add(w)
                    work.append((w, iter(sorted(graph.get(w, ())))))
                elif w in on_stack:
                    low[v] = min(low[v], index[w])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[v])
            if low[v] == index[v]:
                component = []
                while True:
                    w = stack.pop()
                    on_stack.discard(w)
                    component.append(w)
                    if w == v:
                        break
                if len(component) > 1:
                    found.append(sorted(component))
    return found


def _describe(cycle: list[str], graph: dict[str, set[str]]) -> str:
    members = set(cycle)
    edges = [f"{a} -> {b}" for a in cycle for b in sorted(graph[a] & members)]
    return f"{cycle}: " + ", ".join(edges)


def test_no_import_cycles_between_tnreg_modules() -> None:
    graph, _ = _scan(PACKAGE)
    cycles = _cycles(graph)
    assert not cycles, "import cycles:\n" + "\n".join(_describe(c, graph) for c in cycles)


def test_no_private_name_is_imported_from_another_module() -> None:
    _, private = _scan(PACKAGE)
    assert not private, "private names used across modules:\n" + "\n".join(private)


def test_errors_imports_nothing_from_tnreg() -> None:
    graph, _ = _scan(PACKAGE)
    assert graph["tnreg.errors"] == set()


def _plant(tmp_path: Path, files: dict[str, str]) -> Path:
    root = tmp_path / "tnreg"
    for name, text in {"__init__.py": "", **files}.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(text)
    return root


@pytest.mark.parametrize(
    "files",
    [
        {"a.py": "import tnreg.b\n", "b.py": "from tnreg import a\n"},  # module level
        {"a.py": "from tnreg.b import f\n", "b.py": "def g():\n    from tnreg.a import h\n"},
        {
            "p/__init__.py": "from tnreg.p.x import f\n",
            "p/x.py": "from . import y\n",
            "p/y.py": "def g():\n    from tnreg.p import f\n",
        },
    ],
    ids=["module-level", "function-level", "through-a-package-init"],
)
def test_the_cycle_check_catches_a_planted_cycle(tmp_path: Path, files: dict[str, str]) -> None:
    graph, _ = _scan(_plant(tmp_path, files))
    assert len(_cycles(graph)) == 1
    graph, _ = _scan(_plant(tmp_path / "clean", {"a.py": "import tnreg.b\n", "b.py": "x = 1\n"}))
    assert _cycles(graph) == []


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("from tnreg.b import _helper\n", "tnreg.a imports _helper from tnreg.b"),
        ("def f():\n    from .b import _helper\n", "tnreg.a imports _helper from tnreg.b"),
        ("from tnreg import b\n\nb._helper()\n", "tnreg.a uses tnreg.b._helper"),
        ("import tnreg.b as bee\n\nbee._helper()\n", "tnreg.a uses tnreg.b._helper"),
    ],
)
def test_the_private_name_check_catches_a_planted_reach_through(
    tmp_path: Path, text: str, message: str
) -> None:
    root = _plant(tmp_path, {"a.py": text, "b.py": "def _helper():\n    pass\n"})
    assert _scan(root)[1] == [message]
    clean = _plant(tmp_path / "clean", {"a.py": "from tnreg.b import __doc__, helper\n"})
    assert _scan(clean)[1] == []
