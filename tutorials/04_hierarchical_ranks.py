# %% [markdown]
# # 4 · Hierarchical ranks: local components and node spectra during training
#
# A hierarchical tensor factorization (HTF) on a mode tree has, at every interior node ν, local
# components: channel r of ν's matrix together with the columns r of its children's matrices.
# Razin, Maman & Cohen (2022) show that from small init gradient descent learns them one at a
# time, and that the rank of the matricization [W]_ν at a tree node is bounded by the number of
# non-negligible local components. So training lowers the **hierarchical rank**: the ranks at
# the nodes of the tree. Matricizations that are not tree nodes get no such bound.
#
# We train an HTF on a balanced tree over 4 modes, on entries of a target of hierarchical rank 2,
# and follow the local component norms, the singular values at the tree nodes, and (with a
# custom tracker) the spectrum of the non-tree matricization [W]_{0,2}.

# %%
import os

import torch

from tnreg import trees
from tnreg.analysis import matricization_spectrum, numerical_rank
from tnreg.data import completion_task, random_tree_target
from tnreg.train import ModelConfig, TrainConfig, build_model, fit

SMOKE = os.environ.get("TNREG_TUTORIAL_SMOKE") == "1"
STEPS = 1200 if SMOKE else 3000
RTOL = 1e-2

# %% [markdown]
# ## Target: hierarchical rank 2 at every node of the balanced tree
# `random_tree_target` draws an HTF of width 2; its rank at every tree node is 2. At the
# non-tree split {0, 2} | {1, 3} the network's minimum cut crosses two bonds of size 2, so the
# rank there can reach 4.

# %%
tree = trees.balanced(4)
print(trees.render(tree))
names = trees.node_names(tree)
target = random_tree_target(tree, 6, 2, seed=1)
print("target hierarchical rank:", {names[v]: r for v, r in target.hierarchical_rank().items()})
target_02 = matricization_spectrum(target.model, [0, 2])[0]
print("target spectrum of [W*]_{0,2}:", [round(float(x), 4) for x in target_02])
data = completion_task(target, 600, 500, seed=0)

# %% [markdown]
# ## A tracker of our own: the spectrum of a non-tree matricization
# A tracker is any callable `(model, context) -> {name: value per member}`; `fit` runs it at every
# check and writes its columns into the metrics.


# %%
def non_tree_spectrum(model, context):
    s = matricization_spectrum(model, [0, 2])
    return {f"sigma/0,2/{k}": s[:, k] for k in range(4)} | {
        "rank/0,2": numerical_rank(s, rtol=RTOL)
    }


model_config = ModelConfig(kind="htf", tree="balanced", order=4, dims=6, widths=16,
                           init_std=0.05, seed=0)  # fmt: skip
model = build_model(model_config, dtype=torch.float64)
config = TrainConfig(lr=1e-2, eps=1e-14, steps=STEPS, track_every=50, checkpoint_every=STEPS,
                     top_k=4, rank_rtol=RTOL, device="cpu", progress=False)  # fmt: skip
result = fit(model, data, config, trackers=[non_tree_spectrum])
print(result.message)

# %% [markdown]
# ## Local component norms at the root and the singular values at node {0, 1}
# Read from the metric rows: `local/0-3/k` (root local components, largest first) and
# `sigma/0-1/k`.

# %%
rows = result.metrics
shown = rows[:: max(1, len(rows) // 8)]
for r in shown + ([] if shown[-1] is rows[-1] else rows[-1:]):
    local = ", ".join(f"{r[f'local/0-3/{k}']:.3f}" for k in range(4))
    sigma = ", ".join(f"{r[f'sigma/0-1/{k}']:.3f}" for k in range(3))
    print(f"step {r['step']:5d}  root local [{local}]  σ(0-1) [{sigma}]  rank(0,2) {r['rank/0,2']}")

# %%
import matplotlib.pyplot as plt

fig, axes = plt.subplots(1, 2, figsize=(9, 3))
steps = [r["step"] for r in rows]
for k in range(4):
    axes[0].plot(steps, [r[f"local/0-3/{k}"] for r in rows], label=f"{k}")
    axes[1].semilogy(steps, [r[f"sigma/0,2/{k}"] for r in rows], label=f"{k}")
axes[0].set_title("root local component norms", fontsize=9)
axes[1].set_title("singular values of [W]_{0,2} (not a tree node)", fontsize=9)
for ax in axes:
    ax.set_xlabel("step")
axes[0].legend(title="k", fontsize=7)
fig.savefig("hierarchical_ranks.png", dpi=100)

# %% [markdown]
# ## At the end: ranks at the tree nodes against the non-tree matricization

# %%
final = result.final
tree_ranks = {name: int(final[f"rank/{name}"][0]) for name in ["0", "1", "0-1", "2", "3", "2-3"]}
print("learned rank at every tree node:", tree_ranks)
print("learned rank of [W]_{0,2}:", int(final["rank/0,2"][0]))
print("normalized error:", float(final["normalized_error"][0]))

# %% [markdown]
# The tree nodes end at the target's rank 2: the implicit regularization acts node by node on
# the tree. The non-tree matricization [W]_{0,2} is not a node, so nothing keeps it at 2: it
# ends above, at the target's own rank there.

# %%
assert all(r == 2 for r in tree_ranks.values())  # the hierarchical rank equals the target's
assert int(final["rank/0,2"][0]) > 2  # a non-tree matricization is not kept low
assert int(final["rank/0,2"][0]) == int(numerical_rank(target_02, rtol=RTOL))
assert float(final["normalized_error"][0]) < 0.1  # and the tensor is recovered
