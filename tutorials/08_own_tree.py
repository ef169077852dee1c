# %% [markdown]
# # 8 · Your own tree, your own model, your own metric
#
# Everything in tnreg starts from a mode tree, and any tree will do. Here we
#
# 1. define a tree with a three-child node and a single-child node;
# 2. build the tensor network of a hierarchical factorization on it by hand, plan its
#    contraction and read the cost report;
# 3. train a hierarchical tensor factorization (HTF) on it, once from a config and once from
#    Python, with a tracker of our own whose metric lands in `metrics.csv`;
# 4. plot that metric;
# 5. register a claim of our own with `tnreg verify`.

# %%
import os
import tempfile
from pathlib import Path

import torch

import tnreg
from tnreg import trees
from tnreg.analysis import node_spectra
from tnreg.data import completion_task, random_tree_target
from tnreg.train import ModelConfig, TrainConfig, build_model, fit, read_metrics

SMOKE = os.environ.get("TNREG_TUTORIAL_SMOKE") == "1"
STEPS = 800 if SMOKE else 3000
RTOL = 1e-2
WORK = Path(tempfile.mkdtemp(prefix="tnreg-tutorial-08-"))  # run directories go here

# %% [markdown]
# ## 1. The tree
# Nested tuples group the modes: `(0, 1, 2)` is a node with three children, `(3,)` a node with a
# single child (a matrix applied to mode 3's channels, as the 2022 paper's code does for a lone
# mode), `(4, 5)` a pair. The root has three children.

# %%
tree = trees.from_nested(((0, 1, 2), (3,), (4, 5)))
print(trees.render(tree))
names = trees.node_names(tree)
print("node names:", list(names.values()))
ax = trees.draw(tree)

# %% [markdown]
# ## 2. A network on it, by hand
# In an HTF every node ν owns a matrix W^ν; its channel index r_ν is shared by ν's own matrix
# (as rows) and by the matrices of all its children (as columns): a **hyperedge**. Leaves carry
# their mode as an open index. We write that down with `TensorNetwork.add_tensor`.

# %%
DIM, WIDTH = 3, 4
net = tnreg.TensorNetwork()
for v in trees.postorder(tree):
    parent = trees.parent(tree, v)
    up = ("r", parent) if parent is not None else None
    own = v if trees.is_leaf(tree, v) else ("r", v)
    indices = [own] + ([up] if up is not None else [])
    sizes = {own: DIM if trees.is_leaf(tree, v) else WIDTH}
    if up is not None:
        sizes[up] = WIDTH
    net.add_tensor(v, indices, sizes)
net.set_output(tuple(range(6)))  # the open indices: the six modes, in order
print(net)
plan = tnreg.plan(net)
print(plan.cost_report())

# %% [markdown]
# The report names the optimizer that chose the contraction order (`auto:dp` is opt_einsum's
# dynamic programming, picked for a network this small), the FLOP count, the largest
# intermediate in elements (here the 3^6 = 729 entries of the output) and the einsum equation
# in symbols. The plan is frozen: call it on tensors as often as you like.
#
# tnreg's own HTF on this tree has the same network. Its root matrix has one output column;
# with `output="ones"` that column is fixed to ones, which is what our root tensor (a row
# index only) means. Contracting our network with the model's matrices gives its tensor:

# %%
model = tnreg.HierarchicalTensorFactorization(tree, DIM, WIDTH, init_std=0.5, seed=0,
                                              output="ones", dtype=torch.float64)  # fmt: skip
mats = {v: m[0] for v, m in model.matrices().items()}  # member 0: drop the ensemble axis
top = trees.root(tree)
arrays = [mats[v].squeeze(-1) if v == top else mats[v] for v in net.tensors]
by_hand = plan(*arrays)
print("by hand == model.to_dense():", torch.allclose(by_hand, model.to_dense()))
print("min-cut bound on rank [W]_{0,1,2}:", net.rank_bound([0, 1, 2]))
print("min-cut bound on rank [W]_{0,3}:", net.rank_bound([0, 3]))
