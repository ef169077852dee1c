# %% [markdown]
# # 2 · A factorization from small initialization, node by node
#
# We fit a hierarchical tensor factorization to a few observed entries of a low-rank tensor and
# watch the effective rank at every node of the mode tree. Spectra come from Gramians of the
# factors: the dense tensor is never built.

# %%
import os

import torch

import tnreg
from tnreg import trees
from tnreg.analysis import effective_rank, node_spectra, rank_report

SMOKE = os.environ.get("TNREG_TUTORIAL_SMOKE") == "1"
STEPS = 300 if SMOKE else 1500
torch.manual_seed(0)

# %% [markdown]
# ## Task: completion of an order-4 tensor of CP rank 2
# The target is a CP model with two components, rescaled to unit Frobenius norm (from
# Gramians). We observe 600 of its 1296 entries.

# %%
tree = trees.balanced(4)
target = tnreg.CP(4, 6, rank=2, init_std=1.0, seed=1, dtype=torch.float64).rescale_(1.0)
idx = torch.randint(0, 6, (600, 4), generator=torch.Generator().manual_seed(0))
with torch.no_grad():
    y = target(idx)

# %% [markdown]
# ## Model: width 16 at every node, small initialization
# An ensemble of three seeds trains in one contraction; the loss is the sum over members, so each
# member follows its own gradient.

# %%
model = tnreg.HierarchicalTensorFactorization(
    tree, 6, 16, init_std=0.05, seed=0, ensemble=3, dtype=torch.float64
)
print(model)
opt = torch.optim.Adam(model.parameters(), lr=1e-2)
history = []
for step in range(STEPS + 1):
    opt.zero_grad()
    per_member = 0.5 * (model(idx) - y).square().mean(-1)
    per_member.sum().backward()
    opt.step()
    if step % (STEPS // 10) == 0:
        spectra = node_spectra(model)
        history.append({node: effective_rank(s) for node, s in spectra.items()})
        losses = ", ".join(f"{v:.2e}" for v in per_member.tolist())
        print(f"step {step:5d}  loss per member [{losses}]")

# %% [markdown]
# ## Effective rank at the two interior nodes over training (member 0)

# %%
for node in [(0, 1), (2, 3)]:
    print(node, [round(float(h[node][0]), 2) for h in history])

# %% [markdown]
# ## The report at the end
# One row per node: its modes, largest singular value, effective rank, numerical rank, the
# min-cut bound of the network and the number of non-negligible local components.

# %%
report = rank_report(model, rtol=1e-3, member=0)
print(report)

# %%
final = history[-1]
assert float(per_member.detach().max()) < 1e-3  # every member fits the observed entries
assert all(float(final[node].max()) < 3.0 for node in [(0, 1), (2, 3)])  # low rank, not 16
