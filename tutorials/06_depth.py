# %% [markdown]
# # 6 · Depth: deep CP and deep matrix factorization
#
# Replacing each factor matrix by a product of L matrices (a "deep" factorization) changes the
# dynamics. For deep matrix factorization under balanced initialization the singular values
# obey an exact law (Arora et al. 2019):
# dσ_r/dt = L (σ_r²)^{1−1/L} ⟨−∇L(W), u_r v_rᵀ⟩. For deep CP the papers state that the implicit
# regularization grows polynomially with depth; counting N·L balanced factors per component
# suggests the growth exponent 2 − 2/(N·L). That exponent is a **hypothesis**, and here we
# measure it.

# %%
import itertools
import os

import torch

from tnreg.analysis import effective_rank
from tnreg.theory.catalog_depth import deep_cp_exponent, razin_cohen_run
from tnreg.theory.catalog_rates import dmf_rate_error

SMOKE = os.environ.get("TNREG_TUTORIAL_SMOKE") == "1"
DEPTHS = (1, 2) if SMOKE else (1, 2, 3)

# %% [markdown]
# ## 1. Deep matrix factorization: the singular-value law
# A balanced factorization W = A_1 ⋯ A_L (A_jᵀA_j = A_{j+1}A_{j+1}ᵀ) of a random 5×4 matrix;
# the rate of each singular value is measured as u_rᵀ (dW/dt) v_r with autograd and compared
# with the law.

# %%
for depth in (2, 3, 4):
    err = dmf_rate_error(depth, seed=depth)
    print(f"L={depth}: relative error {err:.1e}")
    assert err < 1e-9

# %% [markdown]
# ## 2. Deep CP: the growth exponent against depth
# A deep CP of order N = 3 and two components learns a rank-1 tensor from a small balanced
# initialization (rescaled to the same end-tensor norm 1e-3 at every depth). Along the flow we
# record the leading component's norm σ, its rate dσ/dt (autograd) and γ, and fit
# log(dσ/dt / γ) against log σ on the rising phase.

# %%
rows = []
for depth in DEPTHS:
    predicted = 2 - 2 / (3 * depth)
    measured = deep_cp_exponent(depth, seed=0)
    rows.append((depth, predicted, measured))
    print(f"L={depth}: fitted exponent {measured:.3f}, hypothesis 2 - 2/(N·L) = {predicted:.3f}")

# %% [markdown]
# The exponent grows with depth, toward 2: the deeper the factorization, the longer small
# components stay small relative to large ones. With one seed, the fit agrees with
# 2 − 2/(N·L) within 10% at these sizes (the `deep-cp-exponent` claim of `tnreg verify` fits
# several seeds and reports the numbers).

# %%
import matplotlib.pyplot as plt

fig, ax = plt.subplots(figsize=(4.5, 3))
ax.plot([d for d, _, _ in rows], [m for _, _, m in rows], "o", label="fitted")
ax.plot([d for d, _, _ in rows], [p for _, p, _ in rows], "x--", label="2 − 2/(N·L)")
ax.set_xlabel("depth L")
ax.set_ylabel("growth exponent")
ax.legend()
fig.savefig("deep_cp_exponent.png", dpi=100)

# %%
exponents = [m for _, _, m in rows]
assert all(b > a for a, b in itertools.pairwise(exponents))
assert all(abs(m - p) / p < 0.1 for _, p, m in rows)

# %% [markdown]
# ## 3. Depth and the 2×2 example of Razin & Cohen (2020)
# Observed entries [[·, 1], [1, 0]], initialization W(0) = 0.3^L·I (positive determinant).
# The determinant's sign can never change, so fitting the observations forces |W₁₁| → ∞ while
# the effective rank goes to 1: the norm grows without bound while the rank is minimized.

# %%
for depth in (2, 3):
    records = razin_cohen_run(depth)
    signs = {r[0] for r in records}
    print(f"L={depth}: det signs {sorted(signs)}, |W11| {records[0][1]:.3f} -> "
          f"{records[-1][1]:.2f}, effective rank {records[-1][2]:.4f}")  # fmt: skip
    assert signs == {1.0} and records[-1][1] > 5 * records[0][1] and records[-1][2] < 1.05

# %%
print("effective rank of diag(1, 0.01):", float(effective_rank(torch.tensor([1.0, 0.01]))))
