"""Tests of tnreg.contract: planned contraction against numpy.einsum in float64."""

from __future__ import annotations

import json
import os
import random
import subprocess
import sys
from pathlib import Path

import numpy as np
import opt_einsum
import pytest
import torch

from tnreg import paths
from tnreg.contract import OPTIMIZERS, ContractionPlan, contract, plan

# Case table: (name, inputs, output, size_dict) with hashable labels, grouped by structure.
CASES = [
    # star / CP: N leaf factors (i_n, r) sharing the component index r (hyperedge)
    (
        "star",
        [("i", "r"), ("j", "r"), ("k", "r"), ("l", "r")],
        ("i", "j", "k", "l"),
        {"i": 2, "j": 3, "k": 2, "l": 3, "r": 4},
    ),
    # balanced binary tree, order 4: leaves (i_n, r_parent), interior (r_nu, r_root), root (r_root,)
    (
        "balanced",
        [("i", "a"), ("j", "a"), ("k", "c"), ("l", "c"), ("a", "z"), ("c", "z"), ("z",)],
        ("i", "j", "k", "l"),
        {"i": 2, "j": 3, "k": 2, "l": 2, "a": 3, "c": 2, "z": 3},
    ),
    # caterpillar (TT-like)
    (
        "caterpillar",
        [("i", "a"), ("j", "a"), ("a", "c"), ("k", "c"), ("c", "z"), ("l", "z"), ("z",)],
        ("i", "j", "k", "l"),
        {"i": 2, "j": 2, "k": 3, "l": 2, "a": 3, "c": 2, "z": 2},
    ),
    # unbalanced, a node with 3 children
    (
        "three-children",
        [("i", "a"), ("j", "a"), ("k", "a"), ("a", "z"), ("l", "z"), ("z",)],
        ("i", "j", "k", "l"),
        {"i": 2, "j": 3, "k": 2, "l": 2, "a": 3, "z": 2},
    ),
    # size-1 modes and ranks
    (
        "size-1",
        [("i", "a"), ("j", "a"), ("a", "z"), ("k", "z"), ("z",)],
        ("i", "j", "k"),
        {"i": 1, "j": 3, "k": 1, "a": 1, "z": 2},
    ),
    # order 2: matrix factorization
    ("order-2", [("i", "r"), ("j", "r")], ("i", "j"), {"i": 3, "j": 4, "r": 2}),
    # ring (tensor ring, closed bonds), fully contracted
    (
        "ring",
        [("a", "i", "b"), ("b", "j", "c"), ("c", "k", "a")],
        (),
        {"a": 2, "b": 3, "c": 2, "i": 2, "j": 2, "k": 3},
    ),
    # hyperedge summed away (r on 3 operands, not in output)
    (
        "hyperedge",
        [("i", "r"), ("j", "r"), ("r", "k")],
        ("i", "j"),
        {"i": 2, "j": 3, "k": 2, "r": 4},
    ),
    # batch index b kept in the output: batched tree forward pass at gathered entries
    (
        "batch",
        [("b", "a"), ("b", "a"), ("b", "z"), ("a", "z"), ("z",)],
        ("b",),
        {"b": 5, "a": 3, "z": 2},
    ),
]
CASE_IDS = [c[0] for c in CASES]


def _arrays(inputs, sizes, seed):
    rng = np.random.default_rng(seed)
    return [rng.standard_normal([sizes[ix] for ix in t]) for t in inputs]


def _reference(p: ContractionPlan, arrays):
    return np.einsum(p.eq, *arrays, optimize=False)


@pytest.mark.parametrize("optimize", OPTIMIZERS)
@pytest.mark.parametrize(("name", "inputs", "output", "sizes"), CASES, ids=CASE_IDS)
def test_case_table_matches_numpy(name, inputs, output, sizes, optimize):
    p = plan((inputs, output, sizes), optimize=optimize)
    arrays = _arrays(inputs, sizes, seed=len(name))
    got = p(*arrays)
    np.testing.assert_allclose(got, _reference(p, arrays), rtol=1e-10, atol=1e-12)
    assert got.dtype == np.float64
    assert got.shape == tuple(sizes[ix] for ix in output)


def _random_tree_network(n_leaves, seed):
    """Random mode tree (nodes with 2-3 children), as the einsum of its HTF."""
    rng = random.Random(seed)
    nodes = [("leaf", n) for n in range(n_leaves)]
    inputs, sizes, k = [], {}, 0
    while len(nodes) > 1:
        m = min(len(nodes), rng.choice([2, 3]))
        children = [nodes.pop(rng.randrange(len(nodes))) for _ in range(m)]
        parent, k = ("r", k), k + 1
        sizes[parent] = rng.randint(1, 3)
        for c in children:
            sizes.setdefault(c, rng.randint(1, 3))
            inputs.append((c, parent))
        nodes.append(parent)
    inputs.append((nodes[0],))
    return inputs, tuple(("leaf", n) for n in range(n_leaves)), sizes


@pytest.mark.parametrize("seed", range(6))
@pytest.mark.parametrize("optimize", ["auto", "greedy", "random-greedy"])
def test_random_trees_match_numpy(seed, optimize):
    inputs, output, sizes = _random_tree_network(3 + seed, seed)
    p = plan((inputs, output, sizes), optimize=optimize)
    arrays = _arrays(inputs, sizes, seed)
    np.testing.assert_allclose(p(*arrays), _reference(p, arrays), rtol=1e-10, atol=1e-12)


def test_large_network_uses_candidates_and_matches():
    inputs, output, sizes = _random_tree_network(12, seed=7)
    p = plan((inputs, output, sizes))
    assert len(inputs) > paths.DP_MAX_OPERANDS
    assert p.optimizer.startswith("auto:") and " of [greedy, " in p.optimizer
    arrays = _arrays(inputs, sizes, 7)
    np.testing.assert_allclose(p(*arrays), _reference(p, arrays), rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize(
    ("eq", "shapes"),
    [
        ("ab,bc->ac", [(2, 3), (3, 4)]),
        ("ab,bc", [(2, 3), (3, 4)]),
        ("ba,cb", [(3, 2), (4, 3)]),
        ("ab,ab,ab->a", [(2, 3)] * 3),
        ("i,i", [(4,), (4,)]),
    ],
)
def test_equations_explicit_and_implicit(eq, shapes):
    arrays = [np.random.default_rng(0).standard_normal(s) for s in shapes]
    got = contract(eq, *arrays)
    np.testing.assert_allclose(got, np.einsum(eq, *arrays), rtol=1e-10)


def test_network_object_and_cache_identity():
    class Net:
        def __init__(self):
            self.inputs = (("i", "r"), ("j", "r"))
            self.output = ("i", "j")
            self.size_dict = {"r": 2, "j": 3, "i": 2}

    plan.cache_clear()
    p1 = plan(Net())
    p2 = plan(((("i", "r"), ("j", "r")), ("i", "j"), {"i": 2, "j": 3, "r": 2}))
    assert p1 is p2
    assert plan.cache_info().hits == 1
    assert plan(Net(), optimize="greedy") is not p1
    assert p1.expression is p2.expression


def test_cost_report_and_repr():
    p = plan("ab,bc->ac", (2, 3), (3, 4), optimize="greedy")
    report = p.cost_report(steps=True)
    for word in ("optimizer:", "greedy", "FLOPs:", "largest intermediate:", "plan time:"):
        assert word in report
    assert repr(p).startswith("ContractionPlan(operands=2")
    assert p.flops == 48 and p.largest_intermediate == 8
    assert dict(p.size_dict) == {"a": 2, "b": 3, "c": 4}
    with pytest.raises(TypeError):
        p.size_dict["a"] = 5  # read-only


def test_memory_limit_is_passed():
    eq, shapes = "ab,bc,cd->ad", [(8, 8), (8, 8), (8, 8)]
    p = plan(eq, *shapes, optimize="greedy", memory_limit=64)
    assert p.largest_intermediate <= 64
    arrays = [np.ones(s) for s in shapes]
    np.testing.assert_allclose(p(*arrays), np.einsum(eq, *arrays), rtol=1e-10)


def test_torch_dtype_and_autograd():
    _, inputs, output, sizes = CASES[1]
    p = plan((inputs, output, sizes))
    arrays = [torch.tensor(a, dtype=torch.float32) for a in _arrays(inputs, sizes, 0)]
    assert p(*arrays).dtype == torch.float32
    tensors = [
        torch.tensor(a, dtype=torch.float64, requires_grad=True) for a in _arrays(inputs, sizes, 1)
    ]
    assert torch.autograd.gradcheck(p, tuple(tensors))


@pytest.mark.gpu
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
def test_cuda_follows_device():
    _, inputs, output, sizes = CASES[-1]
    p = plan((inputs, output, sizes))
    arrays = _arrays(inputs, sizes, 0)
    tensors = [torch.tensor(a, dtype=torch.float64, device="cuda") for a in arrays]
    got = p(*tensors)
    assert got.device.type == "cuda"
    np.testing.assert_allclose(got.cpu().numpy(), _reference(p, arrays), rtol=1e-10)


@pytest.mark.gpu
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
def test_cuda_and_cpu_operands_are_refused():
    _, inputs, output, sizes = CASES[0]
    p = plan((inputs, output, sizes))
    arrays = [torch.ones([sizes[ix] for ix in t], dtype=torch.float64) for t in inputs]
    arrays[2] = arrays[2].cuda()
    with pytest.raises(ValueError, match="operand 0 is on cpu but operand 2 is on cuda:0"):
        p(*arrays)


# Bad inputs (options, labels, sizes, operands, dtypes, devices) are rows of
# tests/test_bad_inputs.py.
NET = ((("i", "r"), ("j", "r")), ("i", "j"), {"i": 2, "j": 3, "r": 4})


def test_call_accepts_matching_operands():
    p = plan(NET)
    np.testing.assert_allclose(p(np.ones((2, 4)), np.ones((3, 4))), np.full((2, 3), 4.0))


def test_cotengra_missing_names_extra(monkeypatch):
    monkeypatch.setattr(paths, "has_cotengra", lambda: False)
    with pytest.raises(ImportError, match=r"pip install tnreg\[cotengra\]"):
        paths.cotengra_optimizer()
    assert (
        "cotengra"
        not in paths.find_path(
            "ab,bc,cd,de,ef,fg,gh,hi,ij,jk,kl,lm,mn,no->ao",
            [(2, 2)] * 14,
            optimize="auto",
            memory_limit=None,
        )[2]
    )


# --- determinism: the same network gives the same path in every process -------------------
_DETERMINISM_SCRIPT = """
import json, random
from tnreg.contract import plan
def network(n, seed):
    rng = random.Random(seed)
    nodes, inputs, sizes, k = ["m%d" % i for i in range(n)], [], {}, 0
    while len(nodes) > 1:
        kids = [nodes.pop(rng.randrange(len(nodes))) for _ in range(min(len(nodes), 2))]
        parent, k = "r%d" % k, k + 1
        sizes[parent] = rng.randint(2, 4)
        for c in kids:
            sizes.setdefault(c, rng.randint(2, 4))
            inputs.append(("b", c, parent) if c.startswith("m") else (c, parent))
        nodes.append(parent)
    inputs.append((nodes[0],))
    sizes["b"] = 8
    return tuple(inputs), ("b",), sizes
out = []
for n, optimize in [(5, "auto"), (12, "auto"), (40, "auto"), (40, "greedy"), (20, "random-greedy")]:
    p = plan(network(n, n), optimize=optimize)
    out.append([p.optimizer, p.flops, p.path])
print(json.dumps(out))
"""


def test_planning_is_deterministic_across_processes_hash_seeds_and_threads():
    """Three processes with different PYTHONHASHSEED and thread counts plan the same paths."""
    root = str(Path(plan.__code__.co_filename).resolve().parents[1])
    runs = []
    for hash_seed, threads in [("0", "1"), ("1", "2"), ("12345", "1")]:
        env = {**os.environ, "PYTHONHASHSEED": hash_seed, "PYTHONPATH": root}
        env.update(OMP_NUM_THREADS=threads, MKL_NUM_THREADS=threads)
        command = [sys.executable, "-c", _DETERMINISM_SCRIPT]
        runs.append(subprocess.Popen(command, env=env, stdout=subprocess.PIPE, text=True))
    results = [json.loads(run.communicate(timeout=300)[0]) for run in runs]
    assert all(run.returncode == 0 for run in runs)
    assert results[0] == results[1] == results[2]
    assert any("random-greedy" in r[0] for r in results[0])  # the seeded search ran


def test_exhaustive_optimizers_accept_networks_up_to_their_limit():
    inputs = tuple((k, k + 1) for k in range(paths.EXHAUSTIVE_MAX_OPERANDS["optimal"]))
    p = plan((inputs, (0, len(inputs)), {k: 2 for k in range(len(inputs) + 1)}), optimize="optimal")
    assert p.optimizer == "optimal" and len(p.path) == len(inputs) - 1


@pytest.mark.parametrize("seed", range(4))
def test_linear_path_info_equals_opt_einsums(seed):
    inputs, output, sizes = _random_tree_network(30 + 40 * seed, seed)
    if seed % 2:  # a batch hyperedge kept in the output, as in a batched forward pass
        inputs = [(*t, "batch") if "leaf" in str(t[0]) else t for t in inputs]
        output, sizes = ("batch",), {**sizes, "batch": 3}
    p = plan((inputs, output, sizes), optimize="greedy")
    shapes = [tuple(p.size_dict[ix] for ix in t) for t in p.inputs]
    fast = paths.path_info(p.eq, shapes, list(p.path))
    _, slow = paths._run(p.eq, shapes, list(p.path), None)
    assert fast.contraction_list == slow.contraction_list
    for name in ("opt_cost", "naive_cost", "largest_intermediate", "scale_list", "size_list"):
        assert getattr(fast, name) == getattr(slow, name), name
    assert str(fast) == str(slow)


def test_large_networks_use_the_linear_path_info():
    """A batched forward pass over 200 leaves (401 operands) against a step-by-step reference."""
    inputs, _, sizes = _random_tree_network(200, seed=3)
    inputs = [(*t, "batch") if "leaf" in str(t[0]) else t for t in inputs]
    sizes = {**sizes, "batch": 3}
    p = plan((inputs, ("batch",), sizes), optimize="greedy")
    assert len(inputs) > paths.FAST_INFO_MIN_OPERANDS
    arrays = _arrays(inputs, sizes, 3)
    reference = opt_einsum.contract(p.eq, *arrays, optimize="greedy")  # opt_einsum's own path info
    np.testing.assert_allclose(p(*arrays), reference, rtol=1e-10, atol=1e-12)
