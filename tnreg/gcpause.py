"""Python's cyclic garbage collector paused around bulk analysis work.

Analysing a tree of thousands of nodes allocates tens of thousands of small acyclic containers
(shapes, grouping keys, per-node views) that reference counting frees at once. Their allocation
still triggers the cyclic collector, whose full passes over every object of the process cost
~100 ms in a training process. On a 2-core CPU, all node spectra at order 4096 (d=2, widths 8)
take a median 177 ms with the collector running and 140 ms with it paused; at order 1024 the
median is unchanged but single calls spike from 34 to 133 ms.

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
