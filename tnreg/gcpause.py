"""Python's cyclic garbage collector paused around bulk analysis work.

Analysing a tree of thousands of nodes allocates tens of thousands of small acyclic containers
(shapes, grouping keys, per-node views) that reference counting frees at once. Their allocation
still triggers the cyclic collector, whose full passes over every object of a large process
(a training run) can cost as much as the analysis itself, at unpredictable calls. BENCHMARKS.md
(section Spectra) records the effect on node spectra.

:func:`paused` turns the collector off for the duration and back on after (also on error),
and does nothing when the caller had turned it off.
"""

from __future__ import annotations

import contextlib
import gc
from collections.abc import Iterator

__all__ = ["paused"]


@contextlib.contextmanager
def paused() -> Iterator[None]:
    """Pause the cyclic garbage collector inside the block (reference counting goes on).

    Examples
    --------
    >>> import gc
    >>> with paused():
    ...     gc.isenabled()
    False
    >>> gc.isenabled()
    True
    """
    if not gc.isenabled():
        yield
        return
    gc.disable()
    try:
        yield
    finally:
        gc.enable()
