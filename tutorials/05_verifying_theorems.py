# %% [markdown]
# # 5 · Verifying theorems numerically
#
# The papers on implicit regularization in tensor factorizations state exact identities about
# gradient flow: how fast each component's norm grows, which quantities never change, which
# ranks can appear. `tnreg.theory` computes the predicted side of each statement from the
# factors, measures the other side with autograd or along a trajectory, and keeps every
# statement as a `Claim` in a registry that `tnreg verify` runs.
#
# We check, in order: the rate identity, the conserved quantities, incremental learning, the
# rank bound; then we watch a claim fail on a deliberately broken model and pass on the real
# one, and finally we register a claim of our own, with its negative control.

# %%
import os

import torch

from tnreg import CP, HierarchicalTensorFactorization, trees
from tnreg.analysis import node_spectra, numerical_rank
from tnreg.components import local_norms, local_squared_norms
from tnreg.theory import (
    Control,
    Measurement,
    balanced_rates,
    format_table,
    get_claims,
    measured_rates,
    predicted_rates,
    projected_gradients,
    register,
    run_claims,
)
from tnreg.theory.mutants import MUTANTS
from tnreg.theory.setups import all_entries, cp_target, curved_
from tnreg.theory.trajectories import flow_path, rise_times

SMOKE = os.environ.get("TNREG_TUTORIAL_SMOKE") == "1"
F64 = torch.float64

# %% [markdown]
# ## 1. The rate of a local component
# A local component (ν, r) of a hierarchical factorization is row r of ν's matrix and column r
# of each child's matrix: K_ν vectors, norm σ = Π ||v_j||. Under gradient flow
# dσ/dt = γ Σ_j Π_{j'≠j} ||v_j'||², where γ is the loss gradient projected on the normalized
# component. `measured_rates` differentiates σ along -∇L with autograd; nothing of the identity
# goes into it. The tree below has a node with three children and a single-child node.

# %%
tree = trees.from_nested(((0, 1, 2), (3,), 4))
print(trees.render(tree))
model = HierarchicalTensorFactorization(tree, 3, 3, init_std=0.7, seed=5, dtype=F64)
gen = torch.Generator().manual_seed(0)
idx = torch.stack([torch.randint(0, 3, (40,), generator=gen) for _ in range(5)], 1)
values = torch.randn(40, generator=gen, dtype=F64)

gammas = projected_gradients(model, idx, values)
predicted = predicted_rates(model, gammas)
measured = measured_rates(model, idx, values)
for node in measured:
    err = (predicted[node] - measured[node]).abs().max() / measured[node].abs().max()
    print(f"{node}: K = {local_squared_norms(tree, model.layers())[node].shape[-1]}, "
          f"relative error {float(err):.1e}")  # fmt: skip
    assert err < 1e-9

# %% [markdown]
# After balancing (equal norms within each local component, end tensor unchanged) the rate
# takes the closed form K γ σ^{2−2/K}: the exponent is what makes small components stay small.

# %%
model.balance_(tol=1e-14)
gammas = projected_gradients(model, idx, values)
balanced = balanced_rates(model, gammas)
measured = measured_rates(model, idx, values)
worst = max(
    float((balanced[v] - measured[v]).abs().max() / measured[v].abs().max()) for v in measured
)
print(f"balanced form, worst relative error {worst:.1e}")
assert worst < 1e-9

# %% [markdown]
# ## 2. Conserved quantities
# The differences of squared norms inside a local component do not move under gradient flow.
# We integrate the flow with tnreg's adaptive Dormand–Prince solver and compare.


# %%
def differences(m):
    q = local_squared_norms(m.tree, m.layers())
    return torch.cat([(x - x[..., :1]).detach().flatten() for x in q.values()])


before = differences(model)
flow_path(model, idx, values, [0.0, 1.0], lambda m: None, rtol=1e-10, atol=1e-14)
drift = float((differences(model) - before).abs().max())
print(f"largest change of a conserved difference along the flow: {drift:.1e}")
assert drift < 1e-8

# %% [markdown]
# ## 3. Incremental learning from small initialization
# A CP factorization with 5 components learns a fully observed order-3 tensor of CP rank 3.
# From a small initialization the components leave their plateau one after another.

# %%
target = cp_target(3, 3, [13.5, 6.75, 3.4], seed=0)
all_idx, all_values = all_entries(target)
cp = CP(3, 3, 5, init_std=1e-2, seed=1, dtype=F64)
t_end = 150.0 if SMOKE else 400.0
times = [t_end * k / 150 for k in range(151)]
root = trees.root(cp.tree)
ts, rows = flow_path(
    cp, all_idx, all_values, times, lambda m: local_norms(m.tree, m.layers())[root][0].detach(),
    rtol=1e-4, atol=1e-9,
)  # fmt: skip
norms = torch.stack(rows)
rises = rise_times(ts, norms, 0.34)
print("rise times:", [round(float(t), 1) for t in rises.sort().values if t < float("inf")])
finite = rises[torch.isfinite(rises)].sort().values
assert len(finite) >= 2 and bool((finite.diff() > 0).all())

# %% [markdown]
# ## 4. The rank bound
# The rank of the matricization at a node is at most the number of non-negligible local
# components at the node and at its parent. A width-2 node caps the rank of its matricization
# at 2, whatever the other widths.

# %%
narrow = HierarchicalTensorFactorization(
    tree, 3, {(0, 1, 2): 2, (3,): 3, (0, 1, 2, 3, 4): 3}, init_std=0.7, seed=2, dtype=F64
)
spectra = node_spectra(narrow)
rank = int(numerical_rank(spectra[(0, 1, 2)], rtol=1e-8))
print("rank of [W]_{0,1,2}:", rank)
assert rank <= 2

# %% [markdown]
# ## 5. A check that can fail
# A check that passes whatever the code does checks nothing. Bend the model's output to
# f + 0.2 f² (no longer multilinear): the rate identity must break, and it does.

# %%
bent = curved_(HierarchicalTensorFactorization(tree, 3, 3, init_std=0.7, seed=5, dtype=F64))
err_bent = float(
    max((p - m).abs().max() / m.abs().max() for p, m in zip(
        predicted_rates(bent, projected_gradients(bent, idx, values)).values(),
        measured_rates(bent, idx, values).values(),
    ))
)  # fmt: skip
print(f"rate identity on the bent model: relative error {err_bent:.2e}")
assert err_bent > 1e-3

# %% [markdown]
# The built-in claims run the same kind of control inside every check, and `tnreg verify
# --mutants` runs them against deliberately broken variants of tnreg (mutants). Here the
# claim `cp-rate-general` fails while the mutant "non-multilinear-forward" is installed (it
# bends every factorization's forward), and passes again once it is removed.

# %%
(claim,) = get_claims(["cp-rate-general"])
mutant = next(m for m in MUTANTS if m.name == "non-multilinear-forward")
with mutant.apply():
    broken = claim.check(quick=True)
real = claim.check(quick=True)
print(format_table([broken, real]))
assert not broken.passed and real.passed and real.control_holds is False

# %% [markdown]
# ## 6. A claim of your own
# A claim is a check function returning a `Measurement` (the compared quantities and whether
# the pass rule held) and a `Control`: the same rule applied where the statement must not hold.
# The claim passes only when its rule holds and the control's does not. Here: the rate
# identity at a random state of a weighted CP of order 5 (K = 6 vectors per component), with
# the bent model as control. `run_claims` times it and turns an exception into a FAIL that
# names it. Save such a function in a file and run `tnreg verify --module my_claims.py`.

# %%
mine: dict = {}


def rate_error(m, i, v):
    p = predicted_rates(m, projected_gradients(m, i, v))
    r = measured_rates(m, i, v)
    return max(float((p[k] - r[k]).abs().max() / r[k].abs().max()) for k in r)


@register(
    "cp5-weighted-rate", citation="this tutorial", status="derived", tolerance=1e-9,
    statement="rate identity for a weighted CP of order 5", setting="4 components, 30 entries",
    rule="measured <= tol", registry=mine,
)  # fmt: skip
def cp5_weighted_rate(quick):
    def build():
        return CP(5, 3, 4, weighted=True, init_std=0.8, seed=3, dtype=F64)

    i = torch.stack([torch.randint(0, 3, (30,), generator=gen) for _ in range(5)], 1)
    v = torch.randn(30, generator=gen, dtype=F64)
    err, bad = rate_error(build(), i, v), rate_error(curved_(build()), i, v)
    return Measurement(0.0, err, err <= 1e-9, control=Control("bent output", bad, bad <= 1e-9))


results = run_claims(registry=mine)
print(format_table(results))
assert all(r.passed for r in results)

# %% [markdown]
# The built-in claims (rates, invariants, incremental learning, blow-up scaling, rank bounds,
# the ε-bounds of Theorem 1, deep matrix factorization, the 2×2 example of Razin & Cohen,
# greedy low-rank learning, the order of deflation, consistency checks) run with
# `tnreg verify --quick`; `tnreg verify --list` names them with their status and citation.

# %%
quick = run_claims(["cp-rate", "dmf-rate", "spectrum-values"], quick=True)
print(format_table(quick))
assert all(r.passed for r in quick)
