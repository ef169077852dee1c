"""The CLI reference page, generated from the argparse parsers of ``tnreg`` (it cannot drift)."""

from __future__ import annotations

import argparse
import os


def _subcommands(parser: argparse.ArgumentParser) -> list[tuple[str, argparse.ArgumentParser]]:
    for action in parser._actions:  # argparse keeps its subparsers here
        if isinstance(action, argparse._SubParsersAction):
            return list(action.choices.items())
    return []


def _help_text(parser: argparse.ArgumentParser) -> str:
    previous = os.environ.get("COLUMNS")
    os.environ["COLUMNS"] = "100"
    try:
        return parser.format_help().rstrip()
    finally:
        if previous is None:
            del os.environ["COLUMNS"]
        else:
            os.environ["COLUMNS"] = previous


def _section(name: str, parser: argparse.ArgumentParser, level: int) -> list[str]:
    out = [f"{'#' * level} `{name}`", "", "```text", _help_text(parser), "```", ""]
    for sub, child in _subcommands(parser):
        out += _section(f"{name} {sub}", child, level + 1)
    return out


def cli_markdown() -> str:
    """The whole page: ``tnreg --help``, then every subcommand's ``--help`` as printed."""
    from tnreg.cli import build_parser

    parser = build_parser()
    lines = [
        "# Command line",
        "",
        "Every subcommand's `--help`, generated from the parsers while the site is built, so",
        "this page is what `tnreg ... --help` prints. Each subcommand's examples and every",
        "flag's default are part of its help.",
        "",
        "```text",
        _help_text(parser),
        "```",
        "",
    ]
    for name, child in _subcommands(parser):
        lines += _section(f"tnreg {name}", child, 2)
    return "\n".join(lines)
