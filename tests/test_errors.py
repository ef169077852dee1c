"""One error family: every exception class tnreg defines derives from tnreg.TnregError."""

from __future__ import annotations

import ast
import builtins
import contextlib
import io
from pathlib import Path

import pytest

import tnreg
from tnreg.errors import TnregError, report_error

PACKAGE = Path(__file__).resolve().parents[1] / "tnreg"
BUILTIN_ERRORS = {
    name
    for name, value in vars(builtins).items()
    if isinstance(value, type) and issubclass(value, BaseException)
}


def _exception_classes(root: Path) -> dict[str, tuple[str, list[str]]]:
    """Class name -> (file, base names) for every class of ``root`` derived from an exception."""
    classes: dict[str, tuple[str, list[str]]] = {}
    for path in sorted(root.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
            if isinstance(node, ast.ClassDef):
                bases = [ast.unparse(b).rpartition(".")[2] for b in node.bases]
                classes[node.name] = (str(path.relative_to(root.parent)), bases)
    exceptions: dict[str, tuple[str, list[str]]] = {}
    changed = True
    while changed:
        changed = False
        for name, (where, bases) in classes.items():
            if name not in exceptions and any(
                b in BUILTIN_ERRORS or b in exceptions or b == "TnregError" for b in bases
            ):
                exceptions[name] = (where, bases)
                changed = True
    return exceptions


def _outside_the_family(root: Path) -> list[str]:
    exceptions = _exception_classes(root)
    family = {"TnregError"}
    changed = True
    while changed:
        changed = False
        for name, (_, bases) in exceptions.items():
            if name not in family and any(b in family for b in bases):
                family.add(name)
                changed = True
    return [f"{where}: class {n}({', '.join(b)})" for n, (where, b) in exceptions.items()
            if n not in family]  # fmt: skip


def test_every_tnreg_exception_class_derives_from_tnreg_error() -> None:
    outside = _outside_the_family(PACKAGE)
    assert not outside, "exception classes outside the TnregError family:\n" + "\n".join(outside)


def test_the_family_check_catches_a_planted_class(tmp_path: Path) -> None:
    root = tmp_path / "tnreg"
    root.mkdir()
    (root / "a.py").write_text(
        "class Good(TnregError, ValueError): ...\n"
        "class AlsoGood(Good): ...\n"
        "class Bad(ValueError): ...\n"
        "class NotAnError: ...\n"
    )
    assert _outside_the_family(root) == ["tnreg/a.py: class Bad(ValueError)"]


@pytest.mark.parametrize(
    "name",
    ["ModeTreeError", "EinsumError", "TensorNetworkError", "PathError", "ConfigError",
     "RunDirError", "DataError", "AnalysisError", "ClaimError", "TheoryError", "DeviceError"],
)  # fmt: skip
def test_each_error_is_a_tnreg_error_and_still_a_value_error(name: str) -> None:
    import tnreg.analysis.resolve
    import tnreg.data.checks
    import tnreg.devices
    import tnreg.einsum
    import tnreg.network
    import tnreg.paths
    import tnreg.theory.claims
    import tnreg.theory.quantities
    import tnreg.train.config
    import tnreg.train.rundir

    modules = [tnreg.trees, tnreg.einsum, tnreg.network, tnreg.paths, tnreg.train.config,
               tnreg.train.rundir, tnreg.data.checks, tnreg.analysis.resolve,
               tnreg.theory.claims, tnreg.theory.quantities, tnreg.devices]  # fmt: skip
    cls = next(getattr(m, name) for m in modules if hasattr(m, name))
    assert issubclass(cls, TnregError) and issubclass(cls, ValueError)


def test_tnreg_error_is_exported_and_catches_a_bad_tree() -> None:
    assert tnreg.TnregError is TnregError and "TnregError" in tnreg.__all__
    with pytest.raises(tnreg.TnregError, match="tensor order must be >= 2"):
        tnreg.star(1)


def test_report_error_prints_one_line_and_returns_2() -> None:
    with contextlib.redirect_stderr(io.StringIO()) as err:
        assert report_error("plot", OSError("no run directory at 'x'")) == 2
    assert err.getvalue() == "tnreg plot: error: no run directory at 'x'\n"
