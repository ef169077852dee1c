"""Mode trees: which modes of a tensor are grouped, in which order.

The one namespace for mode trees (``from tnreg import trees``): the structure (builders,
validation, queries) from :mod:`tnreg.tree_structure`, whose docstring holds the vocabulary
(mode, mode tree, mode set of a node), and the display (short node names, a text drawing, a
matplotlib figure) from :mod:`tnreg.tree_display`.

Examples
--------
>>> tree = balanced(4)
>>> root(tree), node_names(tree)[root(tree)]
((0, 1, 2, 3), '0-3')
"""

from tnreg.tree_display import draw, node_name, node_names, render
from tnreg.tree_structure import (
    ModeTreeError,
    ModeTuple,
    balanced,
    caterpillar,
    children,
    depth,
    depths,
    from_digraph,
    from_nested,
    is_leaf,
    leaves,
    mode_sets,
    modes_under,
    node_mode_sets,
    order,
    parent,
    postorder,
    random_tree,
    root,
    star,
    validate_node,
    validate_tree,
)

__all__ = [
    "ModeTreeError",
    "ModeTuple",
    "balanced",
    "caterpillar",
    "children",
    "depth",
    "depths",
    "draw",
    "from_digraph",
    "from_nested",
    "is_leaf",
    "leaves",
    "mode_sets",
    "modes_under",
    "node_mode_sets",
    "node_name",
    "node_names",
    "order",
    "parent",
    "postorder",
    "random_tree",
    "render",
    "root",
    "star",
    "validate_node",
    "validate_tree",
]
