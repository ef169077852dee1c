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
# This tutorial: the regularizer on toy scores, the Pathfinder task, a short training run with
# and without the regularizer, and the locality probe (the separation rank between patches).

# %%
import os

import torch

from tnreg.locality import (
    LocalityConfig,
    Patch,
    interaction_matrix,
    locality_penalty,
    pathfinder,
    probe,
    run,
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
penalties = {k: float(locality_penalty(f, x, PI, PJ)) for k, f in scores.items()}
print(penalties)

# %% [markdown]
# ## 2. Pathfinder
# Two markers; are they joined by one dashed path? Path length (number of segments) is the
# difficulty. Generation is vectorized (20,000 images in about a second).

# %%
data = pathfinder(8, path_length=6, image_size=32, seed=0)
print(data.x.shape, data.y.tolist())
for row in data.x[0, 0, ::2, ::1].int().tolist()[:8]:
    print("".join("#" if v else "." for v in row))

# %% [markdown]
# ## 3. Training with and without the regularizer
# `run` trains one classifier and returns a summary; `tnreg locality ...` runs sweeps. Here a tiny
# CNN for a few steps (see RESULTS.md for the real experiments: on this task, with few epochs,
# neither run generalizes, which matches the paper's λ=0 baseline at long paths).

# %%
tiny = dict(
    path_length=4,
    image_size=24,
    n_train=64 if SMOKE else 2000,
    n_test=32 if SMOKE else 500,
    epochs=1 if SMOKE else 5,
    batch_size=16 if SMOKE else 64,
    model="small",
    width=0.25 if SMOKE else 0.5,
    optimizer="adam",
    lr=2e-3,
    progress=False,
    device="cpu",
)
summaries = {lam: run(LocalityConfig(reg=lam, **tiny)) for lam in (0.0, 3.0)}
for lam, s in summaries.items():
    print(
        f"λ={lam}: test acc {s['test_acc']:.3f}, penalty {s['penalty']:.3f}, "
        f"{1e3 * s['sec_per_step']:.0f} ms/step"
    )

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
assert summaries[0.0]["penalty"] == 0.0 and 0 < summaries[3.0]["penalty"] <= 1 + 1e-6
assert all(0 <= s["test_acc"] <= 1 for s in summaries.values())
