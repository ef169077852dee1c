"""Type aliases shared across tnreg.

Vocabulary: a *mode* is one axis of the end tensor (an ``int`` in ``0..N-1``); a *node* is any
hashable label of a mode-tree vertex; an *index* is any hashable label of a tensor-network edge
(an edge may join two or more tensors: a hyperedge).
"""

from __future__ import annotations

from collections.abc import Hashable, Sequence

Mode = int
Node = Hashable
Index = Hashable
Shape = tuple[int, ...]
Path = tuple[tuple[int, ...], ...]
Nested = int | Sequence["Nested"]

__all__ = ["Index", "Mode", "Nested", "Node", "Path", "Shape"]
