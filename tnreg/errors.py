"""tnreg's exception family, and the command line's one-line error report.

Vocabulary
----------
TnregError
    The base of every exception class tnreg defines (``ModeTreeError``, ``PathError``,
    ``ConfigError``, ...). Each subclass also derives from the built-in exception it refines
    (``class ModeTreeError(TnregError, ValueError)``), so ``except ValueError`` still catches it
    and ``except tnreg.TnregError`` catches every error tnreg raises about its inputs.
error report
    What a ``tnreg`` subcommand prints when it fails on a bad input: one line on stderr,
    ``tnreg COMMAND: error: MESSAGE``, no traceback, exit status 2 (:func:`report_error`).
check helper
    A ``check_*`` / ``validate_*`` function raises on a bad value or returns it normalized.
    Every one takes its arguments in one order: the checked value first (a tree, when a tree
    is checked), then what it is checked against (options, bounds, dims), then ``where`` (the
    name the message gives it); optional settings are keyword-only, e.g.
    ``check_choice(value, options, where)``, ``check_count(value, where, *, minimum=1)``.

This module imports nothing from tnreg, so every layer can use it.
"""

from __future__ import annotations

import sys

__all__ = ["TnregError", "report_error"]


class TnregError(Exception):
    """Base class of every exception tnreg defines.

    Subclasses pair it with the built-in they refine, e.g. ``class ConfigError(TnregError,
    ValueError)``.

    Examples
    --------
    >>> from tnreg.trees import ModeTreeError
    >>> issubclass(ModeTreeError, TnregError), issubclass(ModeTreeError, ValueError)
    (True, True)
    """


def report_error(command: str, err: BaseException) -> int:
    """Print ``tnreg COMMAND: error: MESSAGE`` on stderr and return the exit status 2.

    Parameters
    ----------
    command
        The subcommand that failed (``"train"``, ``"plot"``, ...).
    err
        The exception whose message is reported; its traceback is not printed.

    Returns
    -------
    int
        2, the exit status of a command refused for a bad input.

    Examples
    --------
    >>> import contextlib, io
    >>> with contextlib.redirect_stderr(io.StringIO()) as err:
    ...     status = report_error("train", ValueError("lr must be > 0; got -1"))
    >>> status, err.getvalue()
    (2, 'tnreg train: error: lr must be > 0; got -1\\n')
    """
    print(f"tnreg {command}: error: {err}", file=sys.stderr)
    return 2
