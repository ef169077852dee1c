# %% [markdown]
# # 3 · Incremental rank learning in CP factorization
#
# Razin, Maman & Cohen (2021) show that gradient descent on a CP factorization
# W = Σ_r w_r^1 ⊗ ... ⊗ w_r^N, started near zero, learns the components **one at a time**: the norm
# σ_r = Π_n ||w_r^n|| of a component obeys dσ_r/dt = N γ_r σ_r^{2-2/N} (balanced case), so a
# component that is tiny barely moves until it is the one best aligned with the residual, then
# rises fast. Small init makes the steps of this staircase far apart and ends at a low-rank
# solution; a large init lets many components move at once and ends further from the target.
#
# We fit two models in one ensemble (small and large init) to a few entries of a CP-rank-3
# tensor, record the component norms with tnreg's trainer and look at when each one rose.

# %%
import os

import torch

from tnreg import CP
from tnreg.data import completion_task, random_cp_target
from tnreg.experiments.summary import rise_steps
from tnreg.train import TrainConfig, fit

SMOKE = os.environ.get("TNREG_TUTORIAL_SMOKE") == "1"
STEPS = 1500 if SMOKE else 3000
INITS = [1e-3, 0.3]  # small and large init std
LR = 3e-2  # GroupRMSprop moves the parameters by about LR per step

# %% [markdown]
# ## Task: an order-3 tensor of CP rank 3, ||W*|| = 1, 250 of its 512 entries observed

# %%
target = random_cp_target(3, 8, 3, seed=3)
print("target component norms:", [round(float(x), 3) for x in target.component_norms()])
data = completion_task(target, 250, 0, seed=0)

# %% [markdown]
# ## Model: 20 components, two init scales trained side by side
# `ensemble=2` puts both members in one contraction; the optimizer is the papers' adaptive-step
# gradient descent (GroupRMSprop, one step size per member). Its `eps` is set far below the
# gradient of the small init, so the step stays adaptive from the first iteration.

# %%
model = CP(3, 8, rank=20, ensemble=2, init_std=INITS, seed=0, dtype=torch.float64)
config = TrainConfig(lr=LR, eps=1e-14, steps=STEPS, track_every=25, checkpoint_every=STEPS,
                     top_k=5, rank_rtol=1e-2, device="cpu", progress=False)  # fmt: skip
result = fit(model, data, config)
print(result.message)

# %% [markdown]
# ## Component norms over iterations
# `result.metrics` has one row per (tracked step, member): `component/k` is the k-th largest
# component norm. We read each member's curves and find when each component rose (first step at
# half its final norm).


# %%
def curves(member: int) -> tuple[torch.Tensor, list[torch.Tensor]]:
    rows = [r for r in result.metrics if r["member"] == member]
    steps = torch.tensor([r["step"] for r in rows])
    norms = [torch.tensor([r[f"component/{k}"] for r in rows]) for k in range(5)]
    return steps, norms


rises = {}
for member, init in enumerate(INITS):
    steps, norms = curves(member)
    rises[init] = rise_steps(steps.numpy(), [n.numpy() for n in norms])
    final = [round(float(n[-1]), 3) for n in norms]
    print(f"init {init:g}: rise steps {rises[init]}, final norms {final}")

# %% [markdown]
# With matplotlib installed, draw the staircase (one panel per init):

# %%
try:
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 2, figsize=(9, 3))
    for ax, (member, init) in zip(axes, enumerate(INITS)):
        steps, norms = curves(member)
        for k, n in enumerate(norms):
            ax.plot(steps, n, label=f"{k}")
        ax.set_title(f"init std {init:g}")
        ax.set_xlabel("iteration")
    axes[0].legend(title="k")
    fig.savefig("cp_incremental.png", dpi=100)
except ImportError:
    print("matplotlib is not installed: no figure")

# %% [markdown]
# ## Reconstruction error against the whole tensor
# `normalized_error` = ||W - W*|| / ||W*|| over all 512 entries (cheap here, so exact).

# %%
errors = result.final["normalized_error"]
ranks = result.final["rank/0"]
for init, err, rank in zip(INITS, errors, ranks):
    print(f"init {init:g}: normalized error {float(err):.3f}, rank of [W]_0: {int(rank)}")

# %% [markdown]
# What the run shows: from the small init the three components rise one after another, well
# apart, and the factorization ends at CP rank 3 close to the target; from the large init the
# components move together and the reconstruction is worse.

# %%
small, large = INITS
assert len(rises[small]) == 3  # exactly the target's three components rose
assert rises[small][1] > rises[small][0] and rises[small][2] > rises[small][1]  # one at a time
assert float(errors[0]) < 0.1  # the small init recovers the tensor
assert float(errors[0]) < float(errors[1])  # better than the large init
spread = {init: max(r) - min(r) for init, r in rises.items() if r}
assert spread[large] < spread[small]  # the large init's components rise close together
