"""MkDocs hook: the generated pages of the tnreg site (see mkdocs.yml).

- ``reference/cli.md``: every ``tnreg`` subcommand's ``--help`` (:mod:`cli_reference`);
- ``reference/config.md``: every config key, type and default (:mod:`config_reference`);
- ``api/*.md``: one page per part of the package (:mod:`api_reference`);
- ``tutorials/*.md``: every ``tutorials/NN_*.py`` executed, with figures (:mod:`notebooks`);
- ``concepts/figures/*.png``: one figure per concept page (:mod:`figures`);
- the navigation: tutorials and API pages listed as found; optional guide pages kept only
  when their file exists.
"""

from __future__ import annotations

import hashlib
import logging
import re
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
sys.path.insert(0, str(HERE))

import api_reference  # noqa: E402
import cli_reference  # noqa: E402
import config_reference  # noqa: E402
import figures  # noqa: E402
import notebooks  # noqa: E402

log = logging.getLogger("mkdocs.hooks.tnreg")
OPTIONAL = {"sweeps.md", "entanglement.md", "verify.md", "locality.md"}


def _expand(nav: list, docs_dir: Path) -> list:
    out = []
    for item in nav:
        if isinstance(item, dict):
            ((title, value),) = item.items()
            if isinstance(value, list):
                value = _expand(value, docs_dir)
                if value:
                    out.append({title: value})
                continue
            if value in OPTIONAL and not (docs_dir / value).is_file():
                log.info("tnreg site: %s is not written yet; left out of the navigation", value)
                continue
            if value == "tutorials/index.md":
                pages = [{notebooks.title_of(p): f"tutorials/{p.stem}.md"} for p in _tutorials()]
                out.append({title: ["tutorials/index.md", *pages]})
                continue
            if value == "api/index.md":
                groups = sorted(api_reference.api_pages(ROOT / "tnreg"))
                out.append({title: ["api/index.md", *groups]})
                continue
        out.append(item)
    return out


def _tutorials() -> list[Path]:
    return notebooks.tutorial_paths(ROOT)


INCLUDE = re.compile(r'^--8<-- "(RESULTS\.md|BENCHMARKS\.md)"$', re.M)
LINK = re.compile(r"(!?)\[([^\]]*)\]\(([^)\s]+)\)")


def _docs_link(match: re.Match) -> str:
    """A link of a repository-root file, made valid on the site (or plain text)."""
    bang, text, target = match.groups()
    if re.match(r"^(https?:|mailto:|#)", target):
        return match.group(0)
    if target.startswith("docs/"):
        return f"{bang}[{text}]({target.removeprefix('docs/')})"
    return text if text != target else f"`{text}`"  # a repository file: no page on the site


def include_root_files(markdown: str) -> str:
    """Replace ``--8<-- "RESULTS.md"`` (or BENCHMARKS.md) by the file, links rewritten."""

    def include(match: re.Match) -> str:
        return LINK.sub(_docs_link, (ROOT / match.group(1)).read_text())

    return INCLUDE.sub(include, markdown)


def on_page_markdown(markdown, page, config, files, **kwargs):
    return include_root_files(markdown)


def on_config(config, **kwargs):
    config["nav"] = _expand(config["nav"], Path(config["docs_dir"]))
    return config


def _add(files, config, path: str, content: str | bytes) -> None:
    from mkdocs.structure.files import File

    existing = files.get_file_from_path(path)
    if existing is not None:
        files.remove(existing)
    files.append(File.generated(config, path, content=content))


def _concept_figures() -> dict[str, bytes]:
    key = hashlib.sha256((HERE / "figures.py").read_bytes()).hexdigest()[:20]
    entry = notebooks.cache_dir(ROOT) / f"figures-{key}"
    if not entry.is_dir():
        entry.mkdir(parents=True)
        for name, data in figures.concept_figures().items():
            (entry / f"{name}.png").write_bytes(data)
    return {p.stem: p.read_bytes() for p in sorted(entry.glob("*.png"))}


def on_files(files, config, **kwargs):
    _add(files, config, "reference/cli.md", cli_reference.cli_markdown())
    _add(files, config, "reference/config.md", config_reference.config_markdown())
    pages = api_reference.api_pages(ROOT / "tnreg")
    for path, text in pages.items():
        _add(files, config, path, text)
    _add(files, config, "api/index.md", api_reference.api_index(pages))
    for name, data in _concept_figures().items():
        _add(files, config, f"concepts/figures/{name}.png", data)
    paths = _tutorials()
    _add(files, config, "tutorials/index.md", notebooks.tutorials_index(paths))
    rendered = notebooks.render_all(paths, notebooks.cache_dir(ROOT))
    for path, (body, outputs, seconds) in zip(paths, rendered):
        if seconds:
            log.info("tnreg site: executed %s in %.1f s", path.name, seconds)
        _add(files, config, f"tutorials/{path.stem}.md", notebooks.with_header(path, body))
        for name, data in outputs.items():
            _add(files, config, f"tutorials/{name}", data)
    return files
