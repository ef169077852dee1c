"""Session fixtures shared by several test files."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOK_PACKAGES = ("jupytext", "nbclient", "nbconvert", "ipykernel")


class TutorialNotebooks:
    """Runs each tutorial as a notebook (smoke sizes) at most once per test session.

    The executed pages land in ``cache``, the folder the docs build reads
    (``TNREG_DOCS_CACHE``), so building the site in the same session executes nothing again.
    """

    def __init__(self, cache: Path) -> None:
        self.cache = cache
        sys.path.insert(0, str(ROOT / "docs" / "hooks"))
        import notebooks

        self._notebooks = notebooks
        sys.path.remove(str(ROOT / "docs" / "hooks"))

    @staticmethod
    def available() -> bool:
        return all(importlib.util.find_spec(p) is not None for p in NOTEBOOK_PACKAGES)

    def run(self, path: Path) -> tuple[str, dict[str, bytes]]:
        """The executed page (markdown) and its figures; raises on a failing cell."""
        body, files, _ = self._notebooks.render(path, self.cache, smoke=True)
        return body, files


@pytest.fixture(scope="session")
def tutorial_notebooks(tmp_path_factory) -> TutorialNotebooks | None:
    """The session's notebook runner; ``None`` without the ``docs`` extra's packages."""
    if not TutorialNotebooks.available():
        return None
    return TutorialNotebooks(tmp_path_factory.mktemp("tutorial-notebooks"))
