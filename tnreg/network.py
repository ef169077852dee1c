"""Tensor networks: tensors joined by (hyper)edges, their einsum equation and min-cut rank bounds.

Vocabulary
----------
tensor
    A named array of the network; its *name* is any hashable value.
index
    A labelled axis shared by one or more tensors; its *label* is any hashable value and it has a
    *size*. An index carried by one tensor is summed over unless it is open.
hyperedge
    An index that joins three or more parties, counting the output as a party: e.g. the component
    index of a CP decomposition, or a batch index shared by several tensors and the output.
open index (output)
    The ordered indices that survive the contraction: the modes of the end tensor W.
matricization [W]_I
    The end tensor reshaped into a matrix whose rows are indexed by the open indices in I and
    whose columns by the remaining open indices J.
min-cut rank bound
    ``rank [W]_I <= prod of the sizes of any index set whose removal separates I from J``; the
    minimum over such sets is found by a max-flow/min-cut on the network graph.

Labels stay user labels everywhere; einsum symbols are produced only by
:meth:`TensorNetwork.equation` (through :func:`tnreg.einsum.to_equation`). Every method is
iterative and keeps per-index work O(1) (sets, integer flow nodes), so networks of 20,000 tensors
(an order-10,000 tree) build, print and min-cut.
"""

from __future__ import annotations

import math
from collections.abc import Hashable, Iterable, Mapping, Sequence
from typing import Any

import networkx as nx

from tnreg.einsum import EinsumError, check_size, parse, to_equation
from tnreg.typing import Index, Shape

__all__ = ["TensorNetwork", "TensorNetworkError", "holders", "is_tree_network"]

# Scale of the integer flow capacities: log(size) * _SCALE, rounded. Integer capacities keep
# networkx's max-flow exact; the cut's value is then recomputed exactly as a product of sizes.
_SCALE = 2**40
_SOURCE, _SINK = -1, -2  # flow-graph nodes; index k is split into 2k (in) and 2k + 1 (out)


class TensorNetworkError(EinsumError):
    """Invalid tensor-network structure, equation, arrays or matricization split."""


def _check_size(size: Any, label: Index) -> int:
    """Return ``size`` as an ``int >= 1`` or raise naming the index."""
    return check_size(size, f"index {label!r}", error=TensorNetworkError)


def _check_hashable(value: Any, what: str) -> None:
    if not isinstance(value, Hashable):
        raise TensorNetworkError(
            f"{what} must be hashable (str, int, tuple); received {type(value).__name__} {value!r}"
        )


def _as_labels(value: Any, what: str) -> tuple[Index, ...]:
    """``value`` as a tuple of hashable labels, or raise naming ``what``."""
    if isinstance(value, (bytes, Mapping)) or not isinstance(value, Iterable):
        raise TensorNetworkError(
            f"{what} must be a sequence of index labels such as ['i', 'r']; received "
            f"{type(value).__name__} {value!r}"
        )
    labels = tuple(value)
    for k, label in enumerate(labels):
        _check_hashable(label, f"{what}[{k}]")
    return labels


def _check_distinct(labels: Sequence[Index], what: str) -> None:
    counts: dict[Index, int] = {}
    for x in labels:
        counts[x] = counts.get(x, 0) + 1
    repeated = sorted(repr(x) for x, k in counts.items() if k > 1)
    if repeated:
        raise TensorNetworkError(
            f"{what} must be distinct; got {tuple(labels)} with {', '.join(repeated)} repeated"
        )


class TensorNetwork:
    """A tensor network: named tensors joined by labelled indices, some of them open.

    The structure lives in :attr:`graph`, a bipartite :class:`networkx.Graph` with nodes
    ``("tensor", name)`` (``kind="tensor"``) and ``("index", label)`` (``kind="index"``,
    ``size=int``, ``open=bool``); the edge tensor—index carries ``axis``, the position of the index
    on the tensor. Treat the graph as read-only: build with :meth:`add_index`,
    :meth:`add_tensor` and :meth:`set_output` (or :meth:`from_equation`).

    Examples
    --------
    >>> net = TensorNetwork.from_equation("ir,jr,kr->ijk", (4, 2), (5, 2), (6, 2))
    >>> net
    TensorNetwork(3 tensors, 4 indices, output=('i', 'j', 'k'), hyperedges=['r'])
    >>> net.equation()[0]
    'ab,cb,db->acd'
    """

    def __init__(self) -> None:
        self.graph: nx.Graph = nx.Graph()
        self._tensors: dict[Hashable, tuple[Index, ...]] = {}
        self._sizes: dict[Index, int] = {}
        self._output: tuple[Index, ...] = ()

    # ------------------------------------------------------------------ building
    def add_index(self, label: Index, size: int) -> None:
        """Add index ``label`` of ``size`` (an int >= 1); re-adding with the same size is a no-op.

        Raises
        ------
        TensorNetworkError
            If ``size`` is not an int >= 1 or ``label`` already has a different size.
        """
        _check_hashable(label, "an index label")
        size = _check_size(size, label)
        if label in self._sizes:
            if self._sizes[label] != size:
                raise TensorNetworkError(
                    f"index {label!r} already has size {self._sizes[label]}; cannot re-add it "
                    f"with size {size}"
                )
            return
        self._sizes[label] = size
        self.graph.add_node(("index", label), kind="index", size=size, open=False)

    def add_tensor(
        self, name: Hashable, indices: Sequence[Index], sizes: Mapping[Index, int] | None = None
    ) -> None:
        """Add tensor ``name`` whose axes carry ``indices`` in order.

        Parameters
        ----------
        name
            A new tensor name (any hashable value).
        indices
            One index label per axis; each label at most once (no traces/diagonals).
        sizes
            Sizes of indices not added before; entries for other indices are checked against
            the known sizes, entries for indices not on this tensor are ignored.

        Raises
        ------
        TensorNetworkError
            If the name exists, an index repeats, or an index has no (or a conflicting) size.
        """
        _check_hashable(name, "a tensor name")
        indices = _as_labels(indices, f"tensor {name!r} indices")
        if sizes is not None and not isinstance(sizes, Mapping):
            raise TensorNetworkError(
                f"tensor {name!r}: sizes must be a mapping index -> size such as {{'i': 2}}; "
                f"received {type(sizes).__name__}"
            )
        if name in self._tensors:
            raise TensorNetworkError(
                f"tensor {name!r} already exists with indices {self._tensors[name]}; "
                "choose a new name"
            )
        seen: set[Index] = set()
        new_sizes: dict[Index, int] = {}
        for axis, label in enumerate(indices):
            if label in seen:
                raise TensorNetworkError(
                    f"tensor {name!r} carries index {label!r} twice (axis {axis} of {indices}); "
                    "traces/diagonals are not supported: use two indices joined by a copy tensor"
                )
            seen.add(label)
            given = None
            if sizes is not None and label in sizes:
                given = _check_size(sizes[label], label)
            known = self._sizes.get(label)
            if known is None and given is None:
                raise TensorNetworkError(
                    f"tensor {name!r} axis {axis}: index {label!r} has no size; pass "
                    f"sizes={{{label!r}: ...}} or call add_index first"
                )
            if known is not None and given is not None and known != given:
                raise TensorNetworkError(
                    f"tensor {name!r} axis {axis}: index {label!r} has size {known}, "
                    f"but sizes gives {given}"
                )
            if known is None:
                new_sizes[label] = given
        for label, size in new_sizes.items():
            self.add_index(label, size)
        self._tensors[name] = indices
        self.graph.add_node(("tensor", name), kind="tensor")
        for axis, label in enumerate(indices):
            self.graph.add_edge(("tensor", name), ("index", label), axis=axis)

    def set_output(self, indices: Sequence[Index]) -> None:
        """Set the ordered open indices; each must be on some tensor and appear once.

        Raises
        ------
        TensorNetworkError
            If an index is unknown, on no tensor, or repeated.
        """
        indices = _as_labels(indices, "output indices")
        for label in indices:
            if label not in self._sizes:
                raise TensorNetworkError(
                    f"output index {label!r} is unknown; known indices: {list(self._sizes)}"
                )
            if self.graph.degree(("index", label)) == 0:
                raise TensorNetworkError(
                    f"output index {label!r} is on no tensor; add a tensor that carries it first"
                )
        _check_distinct(indices, "output indices")
        chosen = set(indices)
        for label in self._sizes:
            self.graph.nodes[("index", label)]["open"] = label in chosen
        self._output = indices

    @classmethod
    def from_equation(
        cls, eq: str, *shapes: Sequence[int], names: Sequence[Hashable] | None = None
    ) -> TensorNetwork:
        """Build a network from an einsum equation and the input shapes.

        Index labels are the equation's characters; tensor names default to ``0..k-1``. An
        implicit output (``'ab,bc'``) follows numpy: the indices used once, sorted. Parsing is
        :func:`tnreg.einsum.parse`, shared with :func:`tnreg.contract.plan`.

        Raises
        ------
        TensorNetworkError
            On a malformed equation, a shape count/length mismatch, a size that is not an int
            >= 1, or disagreeing sizes (naming the tensor, axis and index).

        Examples
        --------
        >>> TensorNetwork.from_equation("ab,bc", (2, 3), (3, 4)).output
        ('a', 'c')
        """
        if names is not None:
            names = _as_labels(names, "names")
        terms, output, sizes = parse(
            eq, shapes, names=names, noun="tensor", error=TensorNetworkError
        )
        names = range(len(terms)) if names is None else names
        net = cls()
        for name, term in zip(names, terms, strict=True):
            net.add_tensor(name, term, {char: sizes[char] for char in term})
        net.set_output(output)
        return net

    # ------------------------------------------------------------------ views
    @property
    def tensors(self) -> dict[Hashable, tuple[Index, ...]]:
        """Tensor name -> its index labels, in insertion order (a copy)."""
        return dict(self._tensors)

    @property
    def inputs(self) -> tuple[tuple[Index, ...], ...]:
        """Index labels of each tensor, in tensor order."""
        return tuple(self._tensors.values())

    @property
    def output(self) -> tuple[Index, ...]:
        """The ordered open indices."""
        return self._output

    @property
    def size_dict(self) -> dict[Index, int]:
        """Index label -> size for every added index (a copy)."""
        return dict(self._sizes)

    @property
    def hyperedges(self) -> tuple[Index, ...]:
        """Indices joining three or more parties (tensors, plus the output if open)."""
        chosen = set(self._output)
        return tuple(
            label
            for label in self._sizes
            if self.graph.degree(("index", label)) + (label in chosen) >= 3
        )

    @property
    def num_parameters(self) -> int:
        """Total number of entries of all tensors."""
        return sum(math.prod(shape) for shape in self.shapes())

    @property
    def output_size(self) -> int:
        """Number of entries of the contracted tensor."""
        return math.prod(self._sizes[label] for label in self._output)

    def shapes(self) -> list[Shape]:
        """Shape of each tensor, in tensor order."""
        return [tuple(self._sizes[label] for label in ix) for ix in self._tensors.values()]

    def equation(self) -> tuple[str, dict[Index, str]]:
        """Return the einsum equation and the label -> symbol map.

        Symbols (:func:`opt_einsum.get_symbol`) are assigned in order of first appearance over
        the inputs.

        Examples
        --------
        >>> net = TensorNetwork.from_equation("xy,yz->xz", (2, 3), (3, 4))
        >>> net.equation()
        ('ab,bc->ac', {'x': 'a', 'y': 'b', 'z': 'c'})
        """
        return to_equation(self.inputs, self._output)

    def check_arrays(self, arrays: Sequence[Any] | Mapping[Hashable, Any]) -> list[Any]:
        """Check arrays against the network and return them as a list in tensor order.

        Parameters
        ----------
        arrays
            A sequence in tensor order or a mapping tensor name -> array; anything with
            ``.shape`` (numpy, torch, ...).

        Raises
        ------
        TensorNetworkError
            On a wrong count, unknown or missing names, a missing ``.shape``, wrong ndim or size.
        """
        names = list(self._tensors)
        if isinstance(arrays, (str, bytes)) or not isinstance(arrays, (Iterable, Mapping)):
            raise TensorNetworkError(
                f"arrays must be a sequence in tensor order or a mapping tensor name -> array; "
                f"received {type(arrays).__name__}"
            )
        if isinstance(arrays, Mapping):
            unknown = [k for k in arrays if k not in self._tensors]
            missing = [k for k in names if k not in arrays]
            if unknown or missing:
                raise TensorNetworkError(
                    f"arrays must be keyed by the tensor names {names}; "
                    f"missing {missing}, unknown {unknown}"
                )
            ordered = [arrays[k] for k in names]
        else:
            ordered = list(arrays)
            if len(ordered) != len(names):
                raise TensorNetworkError(
                    f"expected {len(names)} arrays (one per tensor {names}), got {len(ordered)}"
                )
        for name, array in zip(names, ordered, strict=True):
            self._check_array(array, name)
        return ordered

    def _check_array(self, array: Any, name: Hashable) -> None:
        indices = self._tensors[name]
        shape = getattr(array, "shape", None)
        if shape is None:
            raise TensorNetworkError(
                f"tensor {name!r}: expected an array with .shape, got {type(array).__name__}"
            )
        if len(shape) != len(indices):
            raise TensorNetworkError(
                f"tensor {name!r} has {len(shape)} axes (shape {tuple(shape)}), expected "
                f"{len(indices)} for indices {indices}"
            )
        for axis, (label, size) in enumerate(zip(indices, shape, strict=True)):
            if size != self._sizes[label]:
                raise TensorNetworkError(
                    f"tensor {name!r} axis {axis} (index {label!r}) has size {size}, "
                    f"expected {self._sizes[label]}"
                )

    # ------------------------------------------------------------------ min-cut
    def min_cut(self, rows: Iterable[Index]) -> tuple[int, frozenset]:
        """Minimum index cut separating the open indices ``rows`` (I) from the others (J).

        Any set of indices whose removal disconnects every open index in I from every open index
        in J (open indices themselves may be cut) bounds the matricization rank:
        ``rank [W]_I <= prod of the cut's sizes``. The set minimizing that product is found by a
        max-flow/min-cut with capacity ``log(size)`` per index (each index, hyperedges included,
        is cut as a whole; tensors cannot be cut). The bound holds for every choice of arrays and
        may be strict for particular ones.

        Parameters
        ----------
        rows
            Distinct open indices forming I. Empty I, or I equal to all open indices, gives 1.

        Returns
        -------
        bound : int
            The exact integer product of the cut indices' sizes.
        cut : frozenset
            The cut index labels.

        Raises
        ------
        TensorNetworkError
            If a label in ``rows`` is unknown, not open, or repeated.

        Examples
        --------
        >>> net = TensorNetwork.from_equation("ij,jk->ik", (5, 2), (2, 5))
        >>> net.min_cut(["i"])
        (2, frozenset({'j'}))
        """
        rows = self._check_rows(rows)
        chosen = set(rows)
        cols = [label for label in self._output if label not in chosen]
        if not rows or not cols:
            return 1, frozenset()
        flow, number = self._flow_graph()
        flow.add_edges_from((_SOURCE, 2 * number[label]) for label in rows)
        flow.add_edges_from((2 * number[label] + 1, _SINK) for label in cols)
        _, (reachable, _) = nx.minimum_cut(flow, _SOURCE, _SINK)
        cut = frozenset(
            label
            for label, k in number.items()
            if 2 * k in reachable and 2 * k + 1 not in reachable
        )
        return math.prod(self._sizes[label] for label in cut), cut

    def rank_bound(self, rows: Iterable[Index]) -> int:
        """Min-cut upper bound on ``rank [W]_rows``; see :meth:`min_cut`.

        Examples
        --------
        >>> TensorNetwork.from_equation("ir,jr,kr->ijk", (4, 3), (5, 3), (6, 3)).rank_bound(["i"])
        3
        """
        return self.min_cut(rows)[0]

    def _check_rows(self, rows: Iterable[Index]) -> list[Index]:
        rows = list(_as_labels(rows, "rows"))
        chosen = set(self._output)
        for label in rows:
            if label not in self._sizes:
                raise TensorNetworkError(
                    f"rows: unknown index {label!r}; open indices are {self._output}"
                )
            if label not in chosen:
                raise TensorNetworkError(
                    f"rows: index {label!r} is not open; open indices are {self._output}"
                )
        _check_distinct(rows, "rows")
        return rows

    def _flow_graph(self) -> tuple[nx.DiGraph, dict[Index, int]]:
        """Directed flow network on integer nodes, and the index label -> number map.

        Index k is split into nodes 2k (in) -> 2k + 1 (out) with capacity ~ log(size); tensor t
        is node 2 * (number of indices) + t, joined both ways to its indices without capacity
        (infinite). Integer nodes keep hashing cheap on networks of 10,000+ tensors.
        """
        number = {label: k for k, label in enumerate(self._sizes)}
        flow = nx.DiGraph()
        flow.add_edges_from(
            (2 * k, 2 * k + 1, {"capacity": round(math.log(self._sizes[label]) * _SCALE)})
            for label, k in number.items()
        )
        first = 2 * len(number)
        for t, indices in enumerate(self._tensors.values()):
            flow.add_edges_from((first + t, 2 * number[label]) for label in indices)
            flow.add_edges_from((2 * number[label] + 1, first + t) for label in indices)
        return flow, number

    def __repr__(self) -> str:
        return (
            f"TensorNetwork({len(self._tensors)} tensors, {len(self._sizes)} indices, "
            f"output={self._output!r}, hyperedges={list(self.hyperedges)!r})"
        )


def is_tree_network(network: Any) -> bool:
    """Whether every index joins at most two tensors and the tensors joined by bonds form a tree."""
    held = holders(network)
    if any(len(h) > 2 for h in held.values()):
        return False
    modes = set(network.output)
    bonds = [h for i, h in held.items() if len(h) == 2 and i not in modes]
    names = list(network.tensors)
    if len(bonds) != len(names) - 1:
        return False
    parent = {n: n for n in names}

    def find(x):
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    for (a, _), (b, _) in bonds:
        ra, rb = find(a), find(b)
        if ra == rb:
            return False
        parent[ra] = rb
    return True


def holders(network: Any) -> dict[Hashable, list[tuple[Hashable, int]]]:
    """Index -> the (tensor name, axis) pairs that carry it."""
    out: dict[Hashable, list[tuple[Hashable, int]]] = {}
    for name, idx in network.tensors.items():
        for axis, i in enumerate(idx):
            out.setdefault(i, []).append((name, axis))
    return out
