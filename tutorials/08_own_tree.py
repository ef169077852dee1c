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
from tnreg.train import TrainConfig, build_model, fit, read_metrics

SMOKE = os.environ.get("TNREG_TUTORIAL_SMOKE") == "1"
STEPS = 1500 if SMOKE else 3000
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

# %% [markdown]
# ## 3. Training on the tree
# The task: 400 observed entries (and 200 held out) of a target that is itself an HTF on our tree
# with width 2, so its rank at every node is 2. The model has width 8 everywhere.
#
# ### A metric of our own
# A tracker is any function `(model, context) -> {metric name: one value per member}`; `fit`
# runs it at every check (under `torch.no_grad`) and writes its columns into `metrics.csv`.
# Ours is a smooth stand-in for the rank at the three-child node: the sum of its singular values
# divided by the largest (it is 1 for rank one and at most the rank).


# %%
THREE = (0, 1, 2)


def nuclear_ratio(model, context):
    s = node_spectra(model)[THREE]  # (members, k), float64, from the factors
    return {"nuclear_ratio/0-2": s.sum(-1) / s[:, 0]}


# %% [markdown]
# ### From a config
# A config is what `tnreg train` reads: training keys at the top level, the model and the data
# in tables (every key: the config reference page of the docs). `tree` takes nested lists.
# `tnreg train own_tree.toml` would train the same run; from Python, `load_config` reads it
# and `build_model` builds its model.

# %%
config_text = """
optimizer = "group_rmsprop"
lr = 5e-2
eps = 1e-14
track_every = 50
rank_rtol = 1e-2
device = "cpu"
progress = false

[model]
kind = "htf"
tree = [[0, 1, 2], [3], [4, 5]]
order = 6
dims = 3
widths = 8
init_std = 0.2

[data]
task = "completion"
num_train = 400
num_test = 200
seed = 0

[data.target]
kind = "tree"
tree = [[0, 1, 2], [3], [4, 5]]
dims = 3
widths = 2
seed = 1
"""
config_path = WORK / "own_tree.toml"
config_path.write_text(config_text)

from tnreg.data import make_dataset
from tnreg.train import load_config

config = load_config(config_path, [f"steps={STEPS}", f"checkpoint_every={STEPS}"])
data = make_dataset(config.data)
from_config = fit(build_model(config.model, dtype=torch.float64), data, config,
                  run_dir=WORK / "from-config", trackers=[nuclear_ratio])  # fmt: skip
print(from_config.message)

# %% [markdown]
# ### From Python
# The same run without a file: the tree object, the model class, the data functions.

# %%
target = random_tree_target(tree, 3, 2, seed=1)
print("target rank at every node:", {names[v]: r for v, r in target.hierarchical_rank().items()})
data_py = completion_task(target, 400, 200, seed=0)
model_py = tnreg.HierarchicalTensorFactorization(tree, 3, 8, init_std=0.2, seed=0,
                                                 dtype=torch.float64)  # fmt: skip
train_config = TrainConfig(lr=5e-2, eps=1e-14, steps=STEPS, track_every=50, rank_rtol=RTOL,
                           checkpoint_every=STEPS, device="cpu", progress=False)  # fmt: skip
from_python = fit(model_py, data_py, train_config, run_dir=WORK / "from-python",
                  trackers=[nuclear_ratio])  # fmt: skip
print(from_python.message)
same = from_python.final["loss"] == from_config.final["loss"]
print("the two runs end at the same loss:", same)

# %% [markdown]
# ### What it learned
# The final rank at every node (numerical rank, rtol 1e-2) against the target's, and our metric
# read back from the run's `metrics.csv`:

# %%
final = from_python.final
learned = {name: int(final[f"rank/{name}"][0]) for name in names.values() if name != "0-5"}
print("learned rank at every node:", learned)
print("test MSE:", float(final["test_mse"][0]), " normalized error:",
      float(final["normalized_error"][0]))  # fmt: skip
rows = read_metrics(WORK / "from-python")
steps = [r["step"] for r in rows]
ratio = [r["nuclear_ratio/0-2"] for r in rows]
print("nuclear_ratio/0-2 every 10th check:", [round(x, 3) for x in ratio[::10]])

# %% [markdown]
# ## 4. Plotting it
# Metrics are tidy rows (one per check and member), so any plotting tool works; tnreg's own
# figures (`tnreg plot RUN_DIR`, `tnreg.plots`) read the same files.

# %%
import matplotlib.pyplot as plt

from tnreg.plots import plot_effective_ranks

fig, ax = plt.subplots(figsize=(5, 3))
ax.plot(steps, ratio, label="Σσ / σ_max at node 0-2")
ax.axhline(2, color="gray", linestyle=":", label="target rank 2")
ax.set_xlabel("step")
ax.set_ylabel("nuclear ratio")
ax.legend()
fig.savefig(WORK / "nuclear_ratio.png", dpi=100)
fig2 = plot_effective_ranks([WORK / "from-python"])

# %% [markdown]
# The interior nodes end at the target's rank 2, at the sizes and the number of steps used
# here (see the output above). The leaves under the three-child node may end higher, up to
# their size 3: the rank of a node is bounded by the number of non-negligible local components
# at its parent (Razin, Maman & Cohen 2022), and from this init (std 0.2, not small) the local
# components at node 0-2 do not become negligible, so that bound does not bite. The report
# shows both columns:

# %%
from tnreg.analysis import local_component_norms

print(tnreg.rank_report(model_py, rtol=RTOL))
local = local_component_norms(model_py, sort=True)[THREE][0]
active = int((local > RTOL * local[0]).sum())
print("non-negligible local components at node 0-2:", active)

# %% [markdown]
# ## 5. A claim of our own for `tnreg verify`
# `tnreg verify` checks registered claims: a statement, where it comes from, a check returning
# the predicted and the measured value, and a negative control where the statement must fail
# (so a check that always passes is caught). A file of ours registers one; `--module` loads it.
#
# The claim: a single-child node has the same mode set as its child, so its matricization is
# the same matrix and their spectra agree exactly. The control compares with another leaf.

# %%
claims_file = WORK / "my_claims.py"
claims_file.write_text("""
import torch

import tnreg
from tnreg import trees
from tnreg.analysis import node_spectra
from tnreg.theory import Control, Measurement, register


def _gap(spectra, a, b):
    return float((spectra[a] - spectra[b]).abs().max() / spectra[b].max())


@register("single-child-spectrum", citation="tutorial 08 (a mode set fixes the matricization)",
          statement="a single-child node and its child have the same singular values",
          status="derived", setting="random HTF on ((0, 1, 2), (3,), (4, 5)), d = 3, width 4",
          tolerance=1e-10, rule="measured <= tol")
def single_child_spectrum(quick):
    tree = trees.from_nested(((0, 1, 2), (3,), (4, 5)))
    model = tnreg.HierarchicalTensorFactorization(tree, 3, 4, init_std=0.5, seed=0,
                                                  dtype=torch.float64)
    spectra = node_spectra(model)
    gap = _gap(spectra, (3,), 3)
    other = _gap(spectra, (3,), 4)  # a different mode set: the spectra must differ
    control = Control("compare node 3' with leaf 4", other, holds=other <= 1e-10)
    return Measurement(predicted=0.0, measured=gap, passed=gap <= 1e-10, control=control)
""")

import subprocess
import sys

command = [sys.executable, "-m", "tnreg.cli", "verify", "--quick", "--module", str(claims_file),
           "--claim", "single-child-spectrum"]  # fmt: skip
verify = subprocess.run(command, capture_output=True, text=True, timeout=600)
print(verify.stdout)
print("exit status:", verify.returncode)

# %% [markdown]
# The same from Python: `load_claims` imports the file (its `@register` runs), `run_claims`
# checks the claims by name.

# %%
from tnreg.theory import load_claims, run_claims

names_loaded = load_claims(str(claims_file))
(mine,) = run_claims(["single-child-spectrum"], quick=True)
print(names_loaded, mine.passed, mine.measured)

# %% [markdown]
# ## What this tutorial showed, checked

# %%
assert len(trees.children(tree, THREE)) == 3 and len(trees.children(tree, (3,))) == 1
assert torch.allclose(by_hand, model.to_dense())  # the hand-written network is the model's
assert plan.flops > 0 and plan.largest_intermediate == 3**6  # the cost report's numbers
assert same  # a config and the Python API give the same run
assert all(learned[n] == 2 for n in ("0-2", "3'", "4-5"))  # interior nodes: the target's rank
assert all(learned[n] <= min(3, active) for n in ("0", "1", "2"))  # the leaves' bounds
assert float(final["normalized_error"][0]) < 0.15  # the tensor is recovered to a few percent
recomputed = nuclear_ratio(model_py, None)["nuclear_ratio/0-2"][0]
assert abs(ratio[-1] - float(recomputed)) < 1e-9  # our metric, as written in metrics.csv
assert (WORK / "nuclear_ratio.png").is_file()
assert verify.returncode == 0 and "single-child-spectrum" in verify.stdout
assert names_loaded == ["single-child-spectrum"] and mine.passed
