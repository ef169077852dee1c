"""Conservation laws of gradient flow: exact (autograd) and under small-step gradient descent."""

from __future__ import annotations

import itertools

import pytest
import torch

from tnreg.analysis.invariants import (
    balancedness,
    cp_squared_norms,
    drift,
    invariants,
    local_squared_norms,
    pairwise_differences,
)
from tnreg.analysis.resolve import AnalysisError
from tnreg.models import HierarchicalTensorFactorization
from tnreg.testing import random_model
from tnreg.trees import children, from_nested, is_leaf, parent, postorder, root

F64 = torch.float64
MEMBERS = 2

# case name -> (nested tree, mode dims, width, trainable root, {node: inner layer widths})
CASES = {
    "cp-ones-root": ((0, 1, 2), (3, 3, 2), 4, False, {}),
    "cp-trainable-root": ((0, 1, 2), (3, 2, 3), 4, True, {}),
    "htf-3-child": (((0, 1, 2), (3, 4)), (2, 2, 2, 3, 2), 3, True, {}),
    "deep-nodes": (((0, 1), 2), (3, 3, 3), 3, False, {(0, 1): (4, 2), 2: (5,)}),
    "deep-cp": ((0, 1, 2), (3, 3, 3), 3, True, {0: (4,), 1: (2, 4), (0, 1, 2): (2,)}),
}


def _build(name: str, *, seed: int = 0, scale: float = 0.7):
    nested, dims, width, trainable_root, deep = CASES[name]
    tree = from_nested(nested)
    gen = torch.Generator().manual_seed(seed)
    layers = {}
    for v in postorder(tree):
        if v == root(tree) and not trainable_root:
            continue
        rows = dims[tree.nodes[v]["mode"]] if is_leaf(tree, v) else width
        cols = 1 if parent(tree, v) is None else width
        sizes = (rows, *deep.get(v, ()), cols)
        layers[v] = [
            (scale * torch.randn(MEMBERS, a, b, generator=gen, dtype=F64)).requires_grad_()
            for a, b in itertools.pairwise(sizes)
        ]
    fixed = None if trainable_root else torch.ones(MEMBERS, width, 1, dtype=F64)
    return tree, dims, layers, fixed


def _dense(tree, layers, fixed) -> torch.Tensor:
    """W (E, d_0, ..., d_{N-1}) by the recursion T^ν[..., r] = Σ_r' M_ν[r', r] ⊗_c T^c[..., r']."""

    def product(chain):
        m = chain[0]
        for a in chain[1:]:
            m = m @ a
        return m

    def rec(v):
        mat = fixed if v not in layers else product(layers[v])
        if is_leaf(tree, v):
            return mat, [tree.nodes[v]["mode"]]
        acc, modes = None, []
        for c in children(tree, v):
            t, m = rec(c)
            if acc is None:
                acc = t
            else:  # outer product over the mode axes, shared channel axis last
                acc = acc.reshape(*acc.shape[:-1], *[1] * (t.ndim - 2), acc.shape[-1])
                acc = acc * t.reshape(t.shape[0], *[1] * (len(modes)), *t.shape[1:])
            modes += m
        return torch.einsum("e...r,erc->e...c", acc, mat), modes

    t, modes = rec(root(tree))
    w = t[..., 0]
    order = sorted(range(len(modes)), key=lambda i: modes[i])
    return w.permute(0, *[1 + i for i in order])


def _problem(tree, dims, layers, fixed, *, seed: int = 1):
    gen = torch.Generator().manual_seed(seed)
    target = 2.0 * torch.randn(MEMBERS, *dims, generator=gen, dtype=F64)
    mask = (torch.rand(MEMBERS, *dims, generator=gen, dtype=F64) < 0.6).to(F64)

    def loss(params: list[torch.Tensor]) -> torch.Tensor:
        w = _dense(tree, _unflatten(layers, params), fixed)
        return 0.5 * ((mask * (w - target)) ** 2).sum()

    return loss


def _flat(layers) -> list[torch.Tensor]:
    return [a for chain in layers.values() for a in chain]


def _unflatten(layers, params):
    it = iter(params)
    return {v: [next(it) for _ in chain] for v, chain in layers.items()}


def _stacked(tree, layers) -> torch.Tensor:
    return torch.cat([q.flatten() for q in invariants(tree, layers).values()])


def test_dense_reference_matches_explicit_cp() -> None:
    tree, _, layers, fixed = _build("cp-trainable-root")
    w = _dense(tree, layers, fixed)
    a, b, c = (layers[n][0] for n in (0, 1, 2))
    ref = torch.einsum("r,ir,jr,kr->ijk", layers[(0, 1, 2)][0][1, :, 0], a[1], b[1], c[1])
    torch.testing.assert_close(w[1], ref, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("name", list(CASES))
def test_invariants_have_zero_time_derivative_under_gradient_flow(name: str) -> None:
    tree, dims, layers, fixed = _build(name)
    loss = _problem(tree, dims, layers, fixed)
    params = _flat(layers)
    grads = torch.autograd.grad(loss(params), params)
    velocity = tuple(-g for g in grads)
    _, rate = torch.autograd.functional.jvp(
        lambda *p: _stacked(tree, _unflatten(layers, list(p))), tuple(params), velocity
    )
    assert rate.abs().max().item() < 1e-10
    # non-trivial: the squared norms themselves do move
    _, norm_rate = torch.autograd.functional.jvp(
        lambda *p: torch.cat(
            [q.flatten() for q in local_squared_norms(tree, _unflatten(layers, list(p))).values()]
        ),
        tuple(params),
        velocity,
    )
    assert norm_rate.abs().max().item() > 1e-2


def _descend(name: str, lr: float, steps: int) -> tuple[float, float]:
    """Plain GD; returns (largest change of a squared norm, largest drift of an invariant)."""
    tree, dims, layers, fixed = _build(name)
    loss = _problem(tree, dims, layers, fixed)
    params = [p.detach().clone().requires_grad_() for p in _flat(layers)]

    def squared_norms():
        qs = local_squared_norms(tree, _unflatten(layers, params)).values()
        return torch.cat([q.detach().flatten() for q in qs])

    first, norms = invariants(tree, _unflatten(layers, params)), squared_norms()
    for _ in range(steps):
        grads = torch.autograd.grad(loss(params), params)
        with torch.no_grad():
            for p, g in zip(params, grads):
                p -= lr * g
    changes = drift(first, invariants(tree, _unflatten(layers, params)))
    return (squared_norms() - norms).abs().max().item(), max(
        float(d.max()) for d in changes.values()
    )


@pytest.mark.parametrize("name", list(CASES))
def test_gradient_descent_drift_is_small_and_first_order_in_lr(name: str) -> None:
    moved, worst = _descend(name, 1e-4, 200)
    assert moved > 3e-2  # the norms move ...
    assert worst < 1e-2 * moved  # ... the invariants barely
    _, finer = _descend(name, 5e-5, 400)  # same time, half the step: the drift halves
    assert 1.6 < worst / finer < 2.4


# ---------------------------------------------------------------- layout and validation


def test_cp_squared_norms_layout() -> None:
    tree, _, layers, _ = _build("cp-trainable-root")
    got = cp_squared_norms(tree, layers)
    assert got.shape == (MEMBERS, 4, 4)  # K = N + 1, root weight first
    torch.testing.assert_close(got[..., 0], layers[(0, 1, 2)][0][..., 0] ** 2)
    torch.testing.assert_close(got[..., 2], (layers[1][0] ** 2).sum(1))
    fixed_tree, _, fixed_layers, _ = _build("cp-ones-root")
    assert cp_squared_norms(fixed_tree, fixed_layers).shape == (MEMBERS, 4, 3)  # K = N


def test_local_squared_norms_use_first_and_last_layers() -> None:
    tree, _, layers, _ = _build("deep-nodes")
    got = local_squared_norms(tree, layers)
    assert got[(0, 1)].shape == (MEMBERS, 3, 3)
    torch.testing.assert_close(got[(0, 1)][..., 0], (layers[(0, 1)][0] ** 2).sum(-1))
    torch.testing.assert_close(got[(0, 1, 2)][..., 1], (layers[2][-1] ** 2).sum(1))
    assert got[(0, 1, 2)].shape == (MEMBERS, 3, 2)  # fixed root: children only


def test_balancedness_shapes_and_keys() -> None:
    tree, _, layers, _ = _build("deep-nodes")
    got = balancedness(tree, layers)
    assert {v: [tuple(b.shape) for b in bs] for v, bs in got.items()} == {
        (0, 1): [(MEMBERS, 4, 4), (MEMBERS, 2, 2)],
        2: [(MEMBERS, 5, 5)],
    }
    keys = set(invariants(tree, layers))
    assert keys == {
        ("local", (0, 1)),
        ("local", (0, 1, 2)),
        ("balance", (0, 1), 0),
        ("balance", (0, 1), 1),
        ("balance", 2, 0),
    }


def _model(name: str):
    """The tnreg model holding the layers of case ``name`` (loaded with ``load_matrices_``)."""
    _, dims, width, trainable_root, _ = CASES[name]
    tree, _, layers, _ = _build(name)
    model = HierarchicalTensorFactorization(
        tree,
        dims,
        width,
        output="trainable" if trainable_root else "ones",
        ensemble=MEMBERS,
        dtype=F64,
    )
    return model.load_matrices_({v: [a.detach() for a in chain] for v, chain in layers.items()})


@pytest.mark.parametrize("name", ["cp-ones-root", "cp-trainable-root", "htf-3-child"])
def test_model_and_bare_tensors_agree(name: str) -> None:
    tree, _, layers, _ = _build(name)
    bare = {v: chain[0] for v, chain in layers.items()}
    ref = invariants(tree, layers)
    for got in (invariants(_model(name)), invariants(tree, bare)):
        assert set(got) == set(ref)
        assert all(torch.equal(got[k], ref[k]) for k in ref)


def test_pairwise_differences() -> None:
    q = torch.tensor([[1.0, 4.0, 2.0]], dtype=F64)
    got = pairwise_differences(q)
    assert got.shape == (1, 3, 3)
    assert got[0, 1, 0].item() == 3.0 and got[0, 0, 2].item() == -1.0
    assert torch.equal(got, -got.transpose(-1, -2))


def test_drift_values() -> None:
    before = {"a": torch.zeros(2, 2, dtype=F64), "b": torch.ones(2, dtype=F64)}
    after = {"a": torch.tensor([[0.5, -1.0], [0.0, 0.0]], dtype=F64), "b": torch.ones(2, dtype=F64)}
    got = drift(before, after)
    assert got["a"].tolist() == [1.0, 0.0] and got["b"].tolist() == [0.0, 0.0]


def _layers_edit(edit):
    tree, _, layers, _ = _build("deep-nodes")
    layers = {v: list(chain) for v, chain in layers.items()}
    edit(layers)
    return tree, layers


@pytest.mark.parametrize(
    ("edit", "match"),
    [
        (lambda m: m.pop(2), r"missing \[2\]"),
        (lambda m: m.update({2: []}), "layers of node 2 is empty"),
        (lambda m: m.update({2: [torch.ones(3, 3, dtype=F64)]}), r"layer 0 of node 2 must be"),
        (lambda m: m.update({2: ["x"]}), r"layer 0 of node 2 must be a tensor .* got str"),
        (
            lambda m: m.update({2: [torch.ones(MEMBERS, 3, 4), torch.ones(MEMBERS, 5, 3)]}),
            "layers of node 2 do not chain",
        ),
        (lambda m: m.update({2: [torch.ones(MEMBERS, 3, 2, dtype=F64)]}), "expected the width"),
        (lambda m: m.update({2: [torch.full((MEMBERS, 3, 3), torch.nan)]}), "non-finite"),
    ],
)
def test_rejects_bad_layers(edit, match: str) -> None:
    tree, layers = _layers_edit(edit)
    with pytest.raises(AnalysisError, match=match):
        invariants(tree, layers)


def test_resolve_errors() -> None:
    tree, _, _, _ = _build("cp-ones-root")
    with pytest.raises(AnalysisError, match="node matrices are required with a plain tree"):
        invariants(tree)
    with pytest.raises(AnalysisError, match="expected a tnreg model or a mode tree"):
        invariants(object())


def test_dense_core_formats_have_bond_invariants() -> None:
    """Tucker/TT/HT: every bond's A A^T - B B^T is conserved (zero time derivative)."""
    for kind in ("tucker", "tt", "ht"):
        model = random_model(kind, order=3, dims=3, width=2, seed=1)
        inv = invariants(model)
        assert inv and all(k[0] in ("bond", "hyper") for k in inv)
        _assert_conserved_under_flow(model, inv)


def _assert_conserved_under_flow(model, inv) -> None:
    idx = torch.cartesian_prod(*(torch.arange(d) for d in model.dims))
    target = torch.randn(len(idx), generator=torch.Generator().manual_seed(0), dtype=F64)
    loss = (model(idx) - target).square().mean()
    grads = torch.autograd.grad(loss, list(model.parameters()))
    gen = torch.Generator().manual_seed(1)
    for key in inv:
        probe = (
            invariants(model, dtype=None)[key]
            * torch.randn(inv[key].shape, generator=gen, dtype=F64)
        ).sum()
        dq = torch.autograd.grad(probe, list(model.parameters()), allow_unused=True)
        rate = sum((g * d).sum() for g, d in zip(grads, dq) if d is not None)
        scale = sum(g.norm() * d.norm() for g, d in zip(grads, dq) if d is not None)
        assert abs(float(rate)) <= 1e-12 * float(scale) + 1e-300, key


def test_cp_squared_norms_needs_star() -> None:
    tree, _, layers, _ = _build("htf-3-child")
    with pytest.raises(ValueError, match="needs a star"):
        cp_squared_norms(tree, layers)


def test_pairwise_differences_rejects_scalar() -> None:
    with pytest.raises(ValueError, match=r"shape \(\.\.\., K\)"):
        pairwise_differences(torch.tensor(1.0, dtype=F64))


@pytest.mark.parametrize(
    ("after", "match"),
    [
        ({"b": torch.zeros(2)}, "same keys"),
        ({"a": torch.zeros(3)}, "changed shape"),
    ],
)
def test_drift_rejects_mismatch(after, match: str) -> None:
    with pytest.raises(ValueError, match=match):
        drift({"a": torch.zeros(2, dtype=F64)}, after)


def test_drift_rejects_scalars() -> None:
    with pytest.raises(ValueError, match="leading ensemble axis"):
        drift({"a": torch.tensor(0.0, dtype=F64)}, {"a": torch.tensor(1.0, dtype=F64)})


def test_float32_smoke() -> None:
    tree, _, layers, _ = _build("cp-ones-root")
    f32 = {v: [a.detach().float() for a in chain] for v, chain in layers.items()}
    assert all(q.dtype == torch.float64 for q in invariants(tree, f32).values())  # default
    assert all(q.dtype == torch.float32 for q in invariants(tree, f32, dtype=None).values())
