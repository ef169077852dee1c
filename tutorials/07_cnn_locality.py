# %% [markdown]
# # Countering locality in CNNs
#
# Gradient descent over hierarchical tensor factorizations is biased toward low hierarchical
# rank. For convolutional networks (their nonlinear cousins) this is a bias toward *locality*:
# weak interactions between distant parts of the input. Razin, Maman & Cohen (2022) counter it
# with an explicit regularizer: for patches `I` and `J`, compare the input gradient at `I`
# before and after swapping `J` with another sample's. If the gradient does not change
# (|cos| = 1), `I` and `J` do not interact; the penalty λ·mean|cos| pushes toward interaction.
#
# This tutorial: the regularizer on toy scores, the paper's Pathfinder task (and why its marker
# distance must carry no information), descending the penalty by double backprop, and the
# locality probe (the separation rank between patches). Training to the paper's
# accuracies takes hours (RESULTS.md); nothing here claims accuracy.

# %%
import os

import torch

from tnreg.locality import (
    Patch,
    SmallCNN,
    interaction_matrix,
    locality_penalty,
    pathfinder,
    probe,
    shortcut_accuracy,
)
from tnreg.locality.patches import patch_mask

SMOKE = os.environ.get("TNREG_TUTORIAL_SMOKE") == "1"
torch.manual_seed(0)
torch.set_num_threads(1 if SMOKE else torch.get_num_threads())

# %% [markdown]
# ## 1. The penalty on scores we understand
# `s = g(x_I)·h(x_J)` and `s = g(x_I) + h(x_J)` have no interaction between the patches that
# changes the *direction* of the gradient at `I`: the penalty is exactly 1. A bilinear score
# `x_Iᵀ M x_J` interacts, so it is below 1.

# %%
PI, PJ = Patch(0, 0, 3, 3), Patch(5, 5, 3, 3)


def part(x, p):
    return x[:, :, p.top : p.top + p.height, p.left : p.left + p.width].flatten(1)


M = torch.randn(9, 9, dtype=torch.float64)
scores = {
    "product": lambda x: torch.tanh(part(x, PI).sum(1)) * (1 + part(x, PJ).square().sum(1)),
    "additive": lambda x: torch.tanh(part(x, PI).sum(1)) + part(x, PJ).square().sum(1),
    "bilinear": lambda x: torch.einsum("bi,ij,bj->b", part(x, PI), M, part(x, PJ)),
}
x = torch.randn(16, 1, 8, 8, dtype=torch.float64)
penalties = {k: float(locality_penalty(f, x, PI, PJ).detach()) for k, f in scores.items()}
print(penalties)

# %% [markdown]
# ## 2. Pathfinder
# Two circular markers; are they joined by one dashed path? Paths are chains of short paddles
# that turn smoothly; the path length `L` (paddles) is the difficulty, and `90/L` short
# distractor paths fill the window. No path touches another. `scale` shrinks the whole image
# (150×150 pixels at 1) and `window` crops it (the same paths on a smaller field).

# %%
data = pathfinder(4, path_length=5, scale=0.4, window=160.0, seed=0)
print(tuple(data.x.shape), data.y.tolist())
for row in data.x[0, 0, ::2, :].tolist():
    print("".join("#" if v > 0.5 else "+" if v > 0.15 else "." for v in row))

# %% [markdown]
# A classifier could cheat: in the authors' rules the two seed paths start 27 units apart, so
# markers on two different paths tend to lie further apart than the ends of one path. The
# generator pairs connected and unconnected images with equal marker distances
# (`match_distance=True`, the default). The best classifier of the marker distance alone,
# fitted on one set and tested on another, shows the difference:

# %%
n_short = 300 if SMOKE else 2000
shortcut = {}
for match in (False, True):
    kw = dict(path_length=3, scale=0.1, supersample=1, match_distance=match)
    train, test = pathfinder(n_short, seed=1, **kw), pathfinder(n_short, seed=2, **kw)
    shortcut[match] = shortcut_accuracy(train, test, bins=10)
print(
    f"marker-distance shortcut, length 3: authors' rules {shortcut[False]:.2f}, "
    f"matched {shortcut[True]:.2f}"
)

# %% [markdown]
# ## 3. Descending the penalty
# Training adds `λ·Reg` to the loss and backpropagates through the input gradients (double
# backprop). Here a few SGD steps on `λ·Reg` alone, for a small CNN in training mode (as the
# runner trains it) and one fixed pair of 2×2 patches, on one standardized Pathfinder batch:
# `Reg` falls, i.e. the gradient at `I` comes to depend on the content of `J`. At `Reg = 1`
# exactly (no interaction at all) the penalty's gradient vanishes, so it cannot create an
# interaction from nothing, only strengthen one the network already has.

# %%
torch.set_num_threads(1)
batch = pathfinder(32, path_length=3, scale=0.4, window=160.0, seed=3).x
batch = (batch - batch.mean()) / batch.std()
torch.manual_seed(0)
net = SmallCNN(in_channels=1, width=8, depth=3)
opt = torch.optim.SGD(net.parameters(), lr=5e-2)
near_i, near_j = Patch(10, 10, 2, 2), Patch(14, 13, 2, 2)
trace = []
for _ in range(8):
    xb = batch.clone().requires_grad_()
    reg_value = locality_penalty(net, xb, near_i, near_j, logits=net(xb))
    trace.append(float(reg_value.detach()))
    opt.zero_grad()
    (9.0 * reg_value).backward()
    opt.step()
print("Reg during descent:", [round(v, 3) for v in trace])

# %% [markdown]
# ## 4. The locality probe
# Fill patch `I` from sample `p` and patch `J` from sample `q` (the rest from a base image):
# the matrix of scores `M[p, q]`, double-centered, has rank 1 for a product score and higher
# rank for an interacting one. This is the CNN analogue of the matricization rank `[W]_I`.

# %%
xs = torch.randn(21, 1, 8, 8, dtype=torch.float64)
mi, mj = patch_mask(PI, 8, 8), patch_mask(PJ, 8, 8)
ranks = {
    k: probe(interaction_matrix(f, xs[0], xs[1:11], xs[11:], mi, mj)).effective_rank
    for k, f in scores.items()
}
print({k: round(v, 3) for k, v in ranks.items()})

# %% [markdown]
# What the tutorial teaches, checked:

# %%
assert abs(penalties["product"] - 1) < 1e-6 and abs(penalties["additive"] - 1) < 1e-6
assert penalties["bilinear"] < 0.95
assert abs(ranks["product"] - 1) < 1e-6 and ranks["additive"] == 0.0 and ranks["bilinear"] > 2
assert shortcut[False] > 0.6 and abs(shortcut[True] - 0.5) < 0.08
assert sum(trace[-3:]) / 3 < trace[0] - 0.03
