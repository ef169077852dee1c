# %% [markdown]
# # 1 · Mode trees, tensor networks and planned contraction
#
# A *mode tree* says which modes of a tensor are grouped, and in which order. Every
# factorization in tnreg is built on one, and every analysis reads the same tree back.

# %%
import numpy as np
import torch

import tnreg
from tnreg import trees

# %% [markdown]
# ## Building trees
# `star` is CP, `balanced` the hierarchical tree of the HTF paper, `caterpillar` is TT-like, and
# `from_nested` takes any grouping, with any number of children per node and any leaf order.

# %%
for tree in (trees.star(4), trees.balanced(4), trees.caterpillar(4)):
    print(trees.render(tree), end="\n\n")

tree = trees.from_nested(((0, 1, 2), (3, (4, 5))))
print(trees.render(tree))
print("hierarchical-rank matricizations:", list(trees.node_mode_sets(tree).values()))
ax = trees.draw(tree)  # leaves in orange, interior nodes in blue (needs matplotlib)

# %% [markdown]
# Bad trees are refused with a message that says what is wrong and where.

# %%
try:
    trees.from_nested(((0, 1), (1, 2)))
except tnreg.ModeTreeError as err:
    print("ModeTreeError:", err)

# %% [markdown]
# ## The tensor network of a factorization
# A hierarchical factorization on that tree is a tensor network: one matrix per node, and one
# index per interior node shared by the node's matrix and its children's (a hyperedge).
# The network knows, without any numbers, an upper bound on the rank of every matricization:
# a minimum cut of the graph.

# %%
model = tnreg.HierarchicalTensorFactorization(tree, dims=3, widths=2, seed=0, dtype=torch.float64)
net = model.network
print(net)
print("rank bound at {3, 4, 5}:", net.rank_bound([3, 4, 5]))
print("rank bound at {0, 3} (not a node):", net.rank_bound([0, 3]))

# %% [markdown]
# ## Planning a contraction once
# `tnreg.plan` chooses a contraction path once and returns a frozen plan with its cost; calling
# the plan contracts torch tensors on their device, with autograd.

# %%
eq, _ = net.equation()
p = tnreg.plan(net)
print(p.cost_report())
tensors = model.tensors()
dense = p(*(tensors[name][0] for name in net.tensors))
reference = np.einsum(eq, *(tensors[name][0].detach().numpy() for name in net.tensors))
assert np.allclose(dense.detach().numpy(), reference)
assert tnreg.plan(net) is p  # cached: the same structure gives the same plan

# %% [markdown]
# ## What the numbers say
# The end tensor's matricization at a node can have no larger rank than the bound, and with
# width 2 it is at most 2 at every node below the root.

# %%
spectra = tnreg.node_spectra(model)
for node, s in spectra.items():
    rank = int((s[0] > 1e-9 * s[0].max()).sum())
    assert rank <= net.rank_bound(trees.modes_under(model.tree, node))
    assert node == trees.root(model.tree) or rank <= 2  # width 2: at most 2 below the root
    print(f"{node!s:12s} rank {rank}  bound {net.rank_bound(trees.modes_under(model.tree, node))}")
