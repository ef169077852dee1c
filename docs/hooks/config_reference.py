"""The config reference page, generated from the config dataclasses (every key, type, default)."""

from __future__ import annotations

import dataclasses
import inspect
import re


def _attribute_docs(cls: type) -> dict[str, str]:
    """Field name -> description, from the numpydoc ``Attributes`` section of ``cls``."""
    doc = inspect.getdoc(cls) or ""
    match = re.search(r"Attributes\n-+\n(.*?)(?:\n\n[A-Z][a-z]+\n-+\n|\Z)", doc, re.S)
    if match is None:
        return {}
    out: dict[str, str] = {}
    names: list[str] = []
    for line in match.group(1).splitlines():
        if line and not line.startswith(" "):
            names = [n.strip() for n in line.split(",")]
            for n in names:
                out[n] = ""
        elif line.strip():
            for n in names:
                out[n] = (out[n] + " " + line.strip()).strip()
    return out


def _default(f: dataclasses.Field) -> str:
    if f.default is not dataclasses.MISSING:
        return repr(f.default)
    if f.default_factory is not dataclasses.MISSING:
        value = f.default_factory()
        return "(see below)" if dataclasses.is_dataclass(value) else repr(value)
    return "required"


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def _table(cls: type, prefix: str) -> list[str]:
    docs = _attribute_docs(cls)
    rows = ["| key | type | default | meaning |", "|---|---|---|---|"]
    for f in dataclasses.fields(cls):
        kind = f.type if isinstance(f.type, str) else getattr(f.type, "__name__", str(f.type))
        kind = kind.replace(" | ", " or ")  # a pipe would split the table cell
        rows.append(
            f"| `{prefix}{f.name}` | `{_cell(kind)}` | `{_cell(_default(f))}` "
            f"| {_cell(docs.get(f.name, ''))} |"
        )
    return rows


def _data_keys() -> str:
    """The key list of :func:`tnreg.data.make_dataset`'s docstring, as markdown."""
    from tnreg.data import make_dataset

    doc = inspect.getdoc(make_dataset) or ""
    text = doc.split("Raises\n")[0].split("\n", 1)[-1].strip()
    return text.replace("``", "`")


def config_markdown() -> str:
    """Tables for :class:`TrainConfig` (top-level keys) and :class:`ModelConfig` (``[model]``)."""
    from tnreg.train.config import ModelConfig, TrainConfig

    lines = [
        "# Config keys",
        "",
        "Every key of a `tnreg train` config, its type and its default, generated from the",
        "config dataclasses while the site is built. Training keys sit at the top level of",
        "the TOML file, the model in `[model]`, the data in `[data]`; `--set key=value`",
        "overrides any of them (`--set model.init_std=1e-3`). A commented example:",
        "`examples/cp.toml`.",
        "",
        "## Training keys (top level): `TrainConfig`",
        "",
        *_table(TrainConfig, ""),
        "",
        "## `[model]`: `ModelConfig`",
        "",
        *_table(ModelConfig, "model."),
        "",
        "## `[data]`",
        "",
        "The `[data]` table is passed to `tnreg.data.make_dataset` (its docstring:)",
        "",
        _data_keys(),
        "",
    ]
    return "\n".join(lines)
