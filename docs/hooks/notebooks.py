"""Executed tutorials: ``tutorials/NN_*.py`` (jupytext percent format) -> markdown + figures.

Each tutorial is read by jupytext, executed by nbclient in a fresh kernel (in a temporary
directory, so the files it writes go nowhere) and exported by nbconvert to markdown with its
printed output and its figures. Results are cached under ``build/docs-cache/`` (or
``TNREG_DOCS_CACHE``) keyed by the tutorial's text and the smoke flag
(``TNREG_TUTORIAL_SMOKE=1``: smoke sizes, as in the tests); delete the folder to execute
them again after changing tnreg itself (``make clean`` does).
``TNREG_DOCS_TUTORIALS=01,08`` executes only the tutorials whose names start so (a quicker
``make docs-serve`` while writing); the others get a page saying they were not executed.
Tutorials run two at a time, one single-threaded kernel per core of a 2-core machine
(``OMP_NUM_THREADS=1``: with more threads than free cores, torch's threads spin-wait for each
other and spend several times the CPU), the longest first (:data:`LONGEST_FIRST`) so that both
kernels finish together.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
import time
from pathlib import Path

SMOKE_VARIABLE = "TNREG_TUTORIAL_SMOKE"
TIMEOUT_S = 900
WORKERS = 2
KERNEL_THREADS = {"OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1"}
# Tutorial name prefixes by execution time at full size, longest first (BENCHMARKS.md,
# "Documentation build"); a tutorial not listed starts before these, its cost being unknown.
LONGEST_FIRST = ("09", "08", "06", "04", "05", "03", "07", "02", "01")


def selected(path: Path) -> bool:
    """Whether ``TNREG_DOCS_TUTORIALS`` (comma-separated name prefixes) selects ``path``."""
    chosen = os.environ.get("TNREG_DOCS_TUTORIALS", "").strip()
    return not chosen or any(path.name.startswith(p.strip()) for p in chosen.split(","))


def cache_dir(root: Path) -> Path:
    """Where executed tutorials are kept: ``TNREG_DOCS_CACHE`` or ``build/docs-cache``."""
    return Path(os.environ.get("TNREG_DOCS_CACHE") or root / "build" / "docs-cache")


def tutorial_paths(root: Path) -> list[Path]:
    """Every tutorial script, in order."""
    return sorted((root / "tutorials").glob("[0-9]*.py"))


def title_of(path: Path) -> str:
    """The first markdown heading of a tutorial (its title in the navigation)."""
    for line in path.read_text().splitlines():
        if line.startswith("# # "):
            return line.removeprefix("# # ").strip()
    return path.stem


def _execute(path: Path, smoke: bool) -> tuple[str, dict[str, bytes]]:
    import jupytext
    import nbclient
    from nbconvert import MarkdownExporter

    notebook = jupytext.read(path)
    notebook.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3"}
    with tempfile.TemporaryDirectory() as work:
        client = nbclient.NotebookClient(
            notebook,
            timeout=TIMEOUT_S,
            kernel_name="python3",
            extra_arguments=["--IPKernelApp.log_level=ERROR"],  # no transport warnings
            resources={"metadata": {"path": work}},
        )
        env = {k: v for k, v in os.environ.items() if k != "MPLBACKEND"}  # figures inline
        env[SMOKE_VARIABLE] = "1" if smoke else "0"
        env.update(KERNEL_THREADS)  # one core per kernel: WORKERS kernels at a time
        client.execute(env=env)
    body, resources = MarkdownExporter().from_notebook_node(
        notebook, resources={"output_files_dir": f"{path.stem}_files"}
    )
    return body, dict(resources.get("outputs", {}))


def render(
    path: Path, cache_dir: Path, *, smoke: bool | None = None
) -> tuple[str, dict[str, bytes], float]:
    """Markdown, figure files (name -> bytes) and execution seconds (0 when cached).

    ``smoke`` defaults to the ``TNREG_TUTORIAL_SMOKE`` environment variable. A failing cell
    raises ``nbclient.exceptions.CellExecutionError`` with the cell's traceback.
    """
    if not selected(path):
        note = f"*Not executed in this build (`TNREG_DOCS_TUTORIALS` left `{path.name}` out).*"
        return f"# {title_of(path)}\n\n{note}\n", {}, 0.0
    smoke = os.environ.get(SMOKE_VARIABLE) == "1" if smoke is None else smoke
    key = hashlib.sha256(path.read_bytes() + str(smoke).encode()).hexdigest()[:20]
    entry = cache_dir / f"{path.stem}-{key}"
    if (entry / "page.md").is_file():
        names = json.loads((entry / "files.json").read_text())
        files = {n: (entry / "files" / Path(n).name).read_bytes() for n in names}
        return (entry / "page.md").read_text(), files, 0.0
    t0 = time.perf_counter()
    body, files = _execute(path, smoke)
    seconds = time.perf_counter() - t0
    (entry / "files").mkdir(parents=True, exist_ok=True)
    for name, data in files.items():
        (entry / "files" / Path(name).name).write_bytes(data)
    (entry / "files.json").write_text(json.dumps(sorted(files)))
    (entry / "page.md").write_text(body)
    return body, files, seconds


def schedule(paths: list[Path]) -> list[Path]:
    """``paths`` in execution order: those not in :data:`LONGEST_FIRST`, then longest first."""

    def rank(path: Path) -> int:
        hits = [i for i, prefix in enumerate(LONGEST_FIRST) if path.name.startswith(prefix)]
        return hits[0] if hits else -1

    return sorted(paths, key=rank)  # stable: unlisted tutorials keep their order


def render_all(paths: list[Path], cache_dir: Path) -> list[tuple[str, dict[str, bytes], float]]:
    """:func:`render` for every path, :data:`WORKERS` at a time; results in the order of ``paths``.

    The tutorials start in the order of :func:`schedule`, so the longest do not come last.
    """
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(max_workers=WORKERS) as pool:
        futures = {p: pool.submit(render, p, cache_dir) for p in schedule(paths)}
        return [futures[p].result() for p in paths]


def with_header(path: Path, body: str) -> str:
    """``body`` with the note of :func:`page_header` right after its title."""
    title, _, rest = body.partition("\n")
    if not title.startswith("# "):
        return page_header(path) + body
    return f"{title}\n\n{page_header(path)}{rest}"


def page_header(path: Path) -> str:
    """What every tutorial page says first: where the script is, how to open it as a notebook."""
    smoke = os.environ.get(SMOKE_VARIABLE) == "1"
    note = " (built at smoke sizes: `TNREG_TUTORIAL_SMOKE=1`)" if smoke else ""
    return (
        f'!!! note "Executed while the site was built{note}"\n'
        f"    The source is `tutorials/{path.name}` (jupytext percent format). Run it with\n"
        f"    `python tutorials/{path.name}`, or open it as a notebook:\n"
        f"    `make notebooks` writes every tutorial to `notebooks/` (or\n"
        f"    `jupytext --to notebook tutorials/{path.name}`).\n\n"
    )


def tutorials_index(paths: list[Path]) -> str:
    """The tutorials landing page: one line per tutorial."""
    lines = [
        "# Tutorials",
        "",
        "Plain Python in jupytext percent format under `tutorials/`; each page below was",
        "executed while the site was built, with its printed output and its figures. Every",
        "tutorial ends with asserts on what its prose claims, and the test suite runs them.",
        "",
    ]
    for path in paths:
        lines.append(f"1. [{title_of(path)}]({path.stem}.md)")
    return "\n".join(lines) + "\n"
