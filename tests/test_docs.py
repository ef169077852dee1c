"""The documentation site: `mkdocs build --strict` (tutorials executed as notebooks at smoke
sizes, shared with tests/test_tutorials.py), its generated pages, and a headless Chromium
opening the built site.

Needs the ``docs`` extra (``pip install tnreg[docs]``); the browser check also needs a system
Chromium (Debian's ``chromium`` package; Playwright never downloads one here) and skips with
the reason when there is none.
"""

from __future__ import annotations

import dataclasses
import functools
import http.server
import os
import shutil
import subprocess
import sys
import threading
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


@pytest.fixture(scope="module")
def site(tmp_path_factory, tutorial_notebooks) -> Path:
    """The site built once into a temporary folder, from the session's executed tutorials."""
    pytest.importorskip("mkdocs", reason="the docs need pip install 'tnreg[docs]'")
    pytest.importorskip("mkdocstrings", reason="the docs need pip install 'tnreg[docs]'")
    if tutorial_notebooks is None:
        pytest.skip("the docs need the notebook packages: pip install 'tnreg[docs]'")
    for script in sorted((ROOT / "tutorials").glob("[0-9]*.py")):
        tutorial_notebooks.run(script)  # once per session (test_tutorials shares them)
    out = tmp_path_factory.mktemp("site")
    env = {
        **os.environ,
        "TNREG_TUTORIAL_SMOKE": "1",
        "TNREG_DOCS_CACHE": str(tutorial_notebooks.cache),
        "NO_MKDOCS_2_WARNING": "1",
    }
    env.pop("MPLBACKEND", None)  # the notebooks' kernels show figures inline
    done = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir", str(out)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert done.returncode == 0, done.stderr[-5000:]
    return out


def test_site_builds_strict_with_every_page(site):
    for page in ("index", "getting-started", "design", "results", "benchmarks", "cite"):
        assert (site / f"{page}.html").is_file(), page
    concepts = sorted(p.stem for p in (site / "concepts").glob("*.html"))
    assert concepts == sorted(
        ["trees", "networks", "plans", "models", "analysis", "training", "theory", "locality"]
    )
    assert len(list((site / "concepts" / "figures").glob("*.png"))) == len(concepts)


def test_every_tutorial_is_rendered_executed_with_its_figures(site):
    scripts = sorted((ROOT / "tutorials").glob("[0-9]*.py"))
    for script in scripts:
        html = (site / "tutorials" / f"{script.stem}.html").read_text()
        assert "Executed while the site was built" in html, script.name
    figures = list((site / "tutorials").glob("*_files/*.png"))
    assert figures, "no tutorial produced an inline figure"


def test_cli_reference_is_generated_from_the_parsers(site):
    from tnreg.cli import build_parser

    html = (site / "reference" / "cli.html").read_text()
    sub = next(a for a in build_parser()._actions if a.__class__.__name__ == "_SubParsersAction")
    for name, parser in sub.choices.items():
        assert f"tnreg {name}" in html
        for action in parser._actions:
            for flag in action.option_strings:
                assert flag in html, (name, flag)


def test_config_reference_lists_every_key_with_its_default(site):
    from tnreg.train.config import ModelConfig, TrainConfig

    html = (site / "reference" / "config.html").read_text()
    for prefix, cls in (("", TrainConfig), ("model.", ModelConfig)):
        for field in dataclasses.fields(cls):
            assert f"<code>{prefix}{field.name}</code>" in html, field.name


def test_api_reference_documents_the_top_level_names(site):
    import tnreg

    text = "".join(p.read_text() for p in (site / "api").glob("*.html"))
    for name in tnreg.__all__:
        if name not in ("__version__", "trees"):
            assert f'id="tnreg.{name}"' in text or f'.{name}"' in text, name


def _chromium() -> str | None:
    for name in ("chromium", "chromium-browser", "google-chrome"):
        found = shutil.which(name)
        if found:
            return found
    return "/usr/bin/chromium" if Path("/usr/bin/chromium").is_file() else None


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture(scope="module")
def served(site):
    handler = functools.partial(_QuietHandler, directory=str(site))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def _open(browser, url: str) -> tuple[object, list[str]]:
    page = browser.new_page()
    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.on("requestfailed", lambda r: errors.append(f"failed: {r.url}"))
    page.goto(url, wait_until="networkidle")
    return page, errors


def test_site_renders_in_headless_chromium(served):
    executable = _chromium()
    if executable is None:
        pytest.skip("no system Chromium (apt-get install chromium); Playwright never downloads one")
    sync_api = pytest.importorskip("playwright.sync_api", reason="needs pip install playwright")
    tutorial = sorted(p.stem for p in (ROOT / "tutorials").glob("[0-9]*.py"))[1]
    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS)
        try:
            page, errors = _open(browser, f"{served}/index.html")
            assert "tnreg" in page.title()
            assert page.locator("nav").count() > 0
            page, more = _open(browser, f"{served}/tutorials/{tutorial}.html")
            errors += more
            images = page.locator("article img")
            assert images.count() >= 1
            widths = images.evaluate_all("imgs => imgs.map(i => i.complete && i.naturalWidth)")
            assert all(w and w > 0 for w in widths), widths  # every figure loaded
            page, more = _open(browser, f"{served}/api/tnreg.trees.html")
            errors += more
            assert page.locator("h2#tnreg\\.trees\\.balanced, [id='tnreg.trees.balanced']").count()
        finally:
            browser.close()
    assert not errors, errors


def _notebooks_hook():
    """``docs/hooks/notebooks.py`` as a module (it imports the notebook packages lazily)."""
    import importlib.util

    spec = importlib.util.spec_from_file_location("notebooks", ROOT / "docs/hooks/notebooks.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_tutorials_start_longest_first_and_come_back_in_order(monkeypatch):
    hook = _notebooks_hook()
    paths = [Path(f"tutorials/{name}") for name in ("01_a.py", "04_b.py", "09_c.py", "99_new.py")]
    assert [p.name for p in hook.schedule(paths)] == ["99_new.py", "09_c.py", "04_b.py", "01_a.py"]
    started = []
    monkeypatch.setattr(hook, "WORKERS", 1)  # one at a time: the start order is observable
    monkeypatch.setattr(
        hook, "render", lambda p, _cache: started.append(p.name) or (p.name, {}, 0.0)
    )
    assert [body for body, _, _ in hook.render_all(paths, ROOT)] == [p.name for p in paths]
    assert started == ["99_new.py", "09_c.py", "04_b.py", "01_a.py"]


def test_every_tutorial_has_its_place_in_the_schedule():
    hook = _notebooks_hook()
    for path in hook.tutorial_paths(ROOT):
        assert any(path.name.startswith(p) for p in hook.LONGEST_FIRST), path.name
