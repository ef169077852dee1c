"""Interoperability with Google's ``tensornetwork`` package (0.4.6), imported lazily.

Vocabulary
----------
node
    A ``tensornetwork.Node`` holding one array of a :class:`~tnreg.network.TensorNetwork`.
copy node
    A ``tensornetwork.CopyNode`` (the delta tensor); tnreg's hyperedges become copy nodes, and
    copy nodes become hyperedges on the way back.
output edges
    The dangling edges of the nodes, ordered as the network's open indices.

Labels survive a round trip: ``tensornetwork`` names must be strings, so nodes and edges are
named ``str(label)`` and also carry the original tnreg label (attributes ``_tnreg_name`` /
``_tnreg_label``), which :func:`from_tensornetwork` prefers; integer and tuple labels come back
as they were.

Only ``tensornetwork.contractors.greedy`` is used: in 0.4.6 ``contractors.custom`` with opt_einsum's
``dp``, torch ``eigh``, ``ncon_cost_check`` and ``FiniteMPS`` with torch dtypes are broken.
"""

from __future__ import annotations

import warnings
from collections.abc import Hashable, Iterable, Mapping, Sequence
from typing import Any

import numpy as np

from tnreg.network import TensorNetwork, TensorNetworkError

__all__ = ["contract_tensornetwork", "from_tensornetwork", "to_tensornetwork"]

_BACKENDS = ("numpy", "pytorch")


def _import_tensornetwork() -> Any:
    """Import ``tensornetwork``, silencing only its own import-time deprecation warnings."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", category=DeprecationWarning)
        try:
            import tensornetwork
        except ImportError as err:  # pragma: no cover - depends on the environment
            raise ImportError(
                "tnreg.interop needs the optional dependency tensornetwork>=0.4.6; "
                "install it with `pip install tnreg[tn]`"
            ) from err
    return tensornetwork


def _numpy_dtype(array: Any) -> np.dtype:
    """The numpy dtype matching a numpy or torch array (for ``CopyNode``)."""
    dtype = array.dtype
    if isinstance(dtype, np.dtype):
        return dtype
    return np.dtype(str(dtype).removeprefix("torch."))


def to_tensornetwork(
    network: TensorNetwork,
    arrays: Sequence[Any] | Mapping[Hashable, Any],
    *,
    backend: str = "numpy",
) -> tuple[list, list]:
    """Build ``tensornetwork`` nodes for ``network`` holding ``arrays``.

    An index on exactly two tensors and not open becomes an ordinary edge; every other used index
    (a hyperedge, an open index on two or more tensors, a summed index on one tensor) goes
    through a ``CopyNode`` named ``str(label)``. Nodes are named ``str(name)`` and edges
    ``str(label)``.

    Parameters
    ----------
    network
        The network.
    arrays
        Arrays in tensor order, or a mapping tensor name -> array (see
        :meth:`TensorNetwork.check_arrays`); numpy arrays or torch tensors to match ``backend``.
    backend
        ``"numpy"`` or ``"pytorch"``.

    Returns
    -------
    nodes : list
        The tensor nodes in tensor order, then the copy nodes.
    output_edges : list
        The dangling edges in ``network.output`` order.

    Raises
    ------
    TensorNetworkError
        If ``backend`` is unknown or the arrays do not fit the network.
    """
    if not isinstance(backend, str) or backend not in _BACKENDS:
        raise TensorNetworkError(f"unknown backend={backend!r}; valid options: {list(_BACKENDS)}")
    if not isinstance(network, TensorNetwork):
        raise TensorNetworkError(
            f"network must be a tnreg TensorNetwork; received {type(network).__name__}. Build "
            "one with TensorNetwork.from_equation or add_tensor"
        )
    arrays = network.check_arrays(arrays)
    _check_backend(arrays, backend)
    tn = _import_tensornetwork()
    nodes = []
    for name, array in zip(network.tensors, arrays, strict=True):
        nodes.append(tn.Node(array, name=str(name), backend=backend))
        nodes[-1]._tnreg_name = name
    legs: dict[Hashable, list] = {label: [] for label in network.size_dict}
    for node, indices in zip(nodes, network.inputs, strict=True):
        for axis, label in enumerate(indices):
            legs[label].append(node[axis])
    dtype = _numpy_dtype(arrays[0]) if arrays else np.float64
    outputs: dict[Hashable, Any] = {}
    for label, edges in legs.items():
        is_open = label in network.output
        if len(edges) == 2 and not is_open:
            tn.connect(edges[0], edges[1], name=str(label))._tnreg_label = label
        elif len(edges) == 1 and is_open:
            edges[0].set_name(str(label))
            edges[0]._tnreg_label = label
            outputs[label] = edges[0]
        elif edges:
            copy = tn.CopyNode(
                len(edges) + is_open,
                network.size_dict[label],
                name=str(label),
                backend=backend,
                dtype=dtype,
            )
            copy._tnreg_label = label
            for axis, edge in enumerate(edges):
                tn.connect(edge, copy[axis], name=str(label))._tnreg_label = label
            if is_open:
                copy[len(edges)].set_name(str(label))
                copy[len(edges)]._tnreg_label = label
                outputs[label] = copy[len(edges)]
            nodes.append(copy)
    return nodes, [outputs[label] for label in network.output]


def from_tensornetwork(
    nodes: Sequence[Any], output_edges: Sequence[Any]
) -> tuple[TensorNetwork, list]:
    """Build a :class:`TensorNetwork` and its arrays from ``tensornetwork`` nodes.

    Copy nodes are merged into hyperedges; ordinary nodes become tensors, in order. Tensor names
    are the node names and index labels the edge names (a copy node's group takes the copy
    node's name) when these are all distinct and set; otherwise positions ``0, 1, ...``.

    Parameters
    ----------
    nodes
        All nodes of the network, copy nodes included.
    output_edges
        Its dangling edges, in the desired output order.

    Returns
    -------
    network : TensorNetwork
        The structure.
    arrays : list
        ``node.tensor`` of each ordinary node (backend tensors), in tensor order.

    Raises
    ------
    TensorNetworkError
        If an edge leaves ``nodes``, the output edges are not exactly the dangling edges, a copy
        node touches no ordinary node, or an index would appear twice on one tensor.
    """
    tn = _import_tensornetwork()
    nodes = _as_list(nodes, "nodes", tn.AbstractNode)
    output_edges = _as_list(output_edges, "output_edges", tn.Edge)
    tensors = [node for node in nodes if not isinstance(node, tn.CopyNode)]
    group, group_name = _edge_groups(nodes, tn)
    _check_output_edges(nodes, output_edges)
    groups = list(dict.fromkeys(group[edge] for node in tensors for edge in node.edges))
    orphans = set(group.values()) - set(groups)
    if orphans:
        raise TensorNetworkError(
            f"copy node(s) {sorted(group_name[g] for g in orphans)} touch no ordinary node; "
            "contract them away first"
        )
    labels = _unique_or_positions([group_name[g] for g in groups])
    label_of = dict(zip(groups, labels, strict=True))
    names = _unique_or_positions([_name(node) for node in tensors])
    network = TensorNetwork()
    for name, node in zip(names, tensors, strict=True):
        indices = [label_of[group[edge]] for edge in node.edges]
        network.add_tensor(name, indices, dict(zip(indices, node.shape, strict=True)))
    network.set_output([label_of[group[edge]] for edge in output_edges])
    return network, [node.tensor for node in tensors]


def _edge_groups(nodes: list, tn: Any) -> tuple[dict, dict]:
    """Union the edges meeting at copy nodes; return edge -> group id and group id -> name."""
    known = set(nodes)
    parent: dict[Any, Any] = {}

    def find(edge: Any) -> Any:
        while parent.setdefault(edge, edge) is not edge:
            edge = parent[edge]
        return edge

    for node in nodes:
        for axis, edge in enumerate(node.edges):
            for other in (edge.node1, edge.node2):
                if other is not None and other not in known:
                    raise TensorNetworkError(
                        f"node {node.name!r} axis {axis}: edge {edge.name!r} leads to node "
                        f"{other.name!r}, which is not in nodes; pass every node of the network"
                    )
            find(edge)
        if isinstance(node, tn.CopyNode):
            for edge in node.edges[1:]:
                parent[find(edge)] = find(node.edges[0])
    group = {edge: find(edge) for edge in parent}
    group_name: dict[Any, Any] = {}
    for node in nodes:
        for edge in node.edges:
            if isinstance(node, tn.CopyNode):
                group_name[group[edge]] = getattr(node, "_tnreg_label", node.name)
            group_name.setdefault(group[edge], getattr(edge, "_tnreg_label", edge.name))
    return group, group_name


def _as_list(values: Any, what: str, kind: type) -> list:
    if isinstance(values, (str, bytes)) or not isinstance(values, Iterable):
        raise TensorNetworkError(
            f"{what} must be a list of tensornetwork {kind.__name__} objects; received "
            f"{type(values).__name__}"
        )
    values = list(values)
    for k, value in enumerate(values):
        if not isinstance(value, kind):
            raise TensorNetworkError(
                f"{what}[{k}] must be a tensornetwork {kind.__name__}; received "
                f"{type(value).__name__}"
            )
    return values


def _name(node: Any) -> Hashable:
    """The tnreg tensor name a node carries, else its tensornetwork name."""
    return getattr(node, "_tnreg_name", node.name)


def _check_backend(arrays: list, backend: str) -> None:
    """numpy arrays for ``"numpy"``, torch tensors for ``"pytorch"``."""
    want = "numpy" if backend == "numpy" else "torch"
    for k, array in enumerate(arrays):
        if type(array).__module__.partition(".")[0] != want:
            fix = "numpy.asarray(x)" if want == "numpy" else "torch.as_tensor(x)"
            raise TensorNetworkError(
                f"backend={backend!r} needs {want} arrays; tensor {k} is "
                f"{type(array).__module__}.{type(array).__name__}. Convert it with {fix} or "
                "choose the matching backend"
            )


def _check_output_edges(nodes: list, output_edges: Sequence[Any]) -> None:
    dangling = [edge for node in nodes for edge in node.edges if edge.is_dangling()]
    wrong = [_where(edge) for edge in output_edges if edge not in dangling]
    missing = [_where(edge) for edge in dangling if edge not in output_edges]
    if wrong or missing or len(set(output_edges)) != len(output_edges):
        raise TensorNetworkError(
            f"output_edges must be the {len(dangling)} dangling edges of nodes, each once; got "
            f"{len(output_edges)}; not dangling or foreign: {wrong}; dangling but missing: "
            f"{missing}"
        )


def _where(edge: Any) -> str:
    """``"'A'[1]"``: the first node and axis of an edge, for messages."""
    return f"{edge.node1.name!r}[{edge.axis1}]"


def _unique_or_positions(names: list) -> list:
    """``names`` if all set (not None, not tensornetwork's default) and distinct, else 0..n-1."""
    defaults = {None, "", "__unnamed_node__", "__unnamed_edge__"}
    if len(set(names)) == len(names) and not any(name in defaults for name in names):
        return names
    return list(range(len(names)))


def contract_tensornetwork(nodes: Sequence[Any], output_edges: Sequence[Any]) -> Any:
    """Contract ``nodes`` with ``tensornetwork.contractors.greedy`` and return the tensor.

    The nodes are copied first, so the caller's network is left intact.

    Parameters
    ----------
    nodes
        All nodes of the network, copy nodes included.
    output_edges
        Its dangling edges, in the order of the result's axes.

    Returns
    -------
    The contracted backend tensor (numpy array or torch tensor).

    Raises
    ------
    TensorNetworkError
        If ``nodes`` or ``output_edges`` hold other objects, an edge leaves ``nodes``, or the
        output edges are not exactly the dangling edges.
    """
    tn = _import_tensornetwork()
    nodes = _as_list(nodes, "nodes", tn.AbstractNode)
    output_edges = _as_list(output_edges, "output_edges", tn.Edge)
    _edge_groups(nodes, tn)  # every edge stays inside nodes
    _check_output_edges(nodes, output_edges)
    node_copies, edge_copies = tn.copy(nodes)
    result = tn.contractors.greedy(
        list(node_copies.values()),
        output_edge_order=[edge_copies[edge] for edge in output_edges],
    )
    return result.tensor
