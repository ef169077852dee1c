"""The mode tree drawn with every node's data entanglement (``pip install 'tnreg[plot]'``)."""

from __future__ import annotations

from typing import Any

import networkx as nx

from tnreg.entanglement.measure import EntanglementReport

__all__ = ["plot_entanglement"]


def plot_entanglement(tree: nx.DiGraph, report: EntanglementReport, ax: Any = None) -> Any:
    """Draw ``tree`` with each measured node annotated by its entropy ``H``.

    Leaves are annotated on trees of at most 16 modes (beyond, only interior nodes).

    Parameters
    ----------
    tree
        The mode tree the report was computed on.
    report
        :func:`tnreg.entanglement.data_entanglement` of the tree.
    ax
        Axes to draw on (default: a new figure).

    Returns
    -------
    matplotlib.figure.Figure
    """
    try:
        import matplotlib.pyplot as plt
    except ImportError as err:  # pragma: no cover - depends on the environment
        raise ImportError("plot_entanglement needs matplotlib: pip install 'tnreg[plot]'") from err
    from tnreg import tree_display, trees

    n = trees.order(tree)
    if ax is None:
        _, ax = plt.subplots(figsize=(min(30.0, max(4.0, 0.5 * n)), 1.6 + trees.depth(tree)))
    trees.draw(tree, ax=ax, labels=n <= 32)
    pos = tree_display.layout(tree)
    for row in report.rows:
        if row.node in pos and (n <= 16 or tree.out_degree(row.node) > 0):
            ax.annotate(f"{row.entropy:.2g}", pos[row.node], xytext=(6, 4),
                        textcoords="offset points", fontsize=7, color="tab:red")  # fmt: skip
    ax.set_title(
        f"entanglement entropy at each node: sum {report.total():.3f}, max {report.maximum():.3f}",
        fontsize=9,
    )
    return ax.figure
