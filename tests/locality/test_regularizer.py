"""The locality regularizer: exact values on separable and bilinear scores, gradients, errors."""

from __future__ import annotations

import pytest
import torch

from tnreg.locality.patches import FixedPatches, Patch, RandomPatches
from tnreg.locality.regularizer import (
    LocalityRegularizer,
    gradient_cosines,
    locality_penalty,
    score,
)

PI, PJ = Patch(0, 0, 3, 3), Patch(5, 5, 3, 3)


def _part(x, p):
    return x[:, :, p.top : p.top + p.height, p.left : p.left + p.width].flatten(1)


class Product(torch.nn.Module):
    """s(x) = g(x_I) h(x_rest), with g and h small nonlinear nets."""

    def __init__(self):
        super().__init__()
        self.g = torch.nn.Linear(9, 1, dtype=torch.float64)
        self.h = torch.nn.Linear(64, 1, dtype=torch.float64)

    def forward(self, x):
        rest = x.clone()
        rest[:, :, :3, :3] = 0
        return torch.tanh(self.g(_part(x, PI)))[:, 0] * (1 + self.h(rest.flatten(1)).square()[:, 0])


class Additive(Product):
    def forward(self, x):
        rest = x.clone()
        rest[:, :, :3, :3] = 0
        return torch.tanh(self.g(_part(x, PI)))[:, 0] + torch.sin(self.h(rest.flatten(1)))[:, 0]


class Bilinear(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.m = torch.nn.Parameter(torch.randn(9, 9, dtype=torch.float64))

    def forward(self, x):
        return torch.einsum("bi,ij,bj->b", _part(x, PI), self.m, _part(x, PJ))


@pytest.fixture
def x():
    return torch.randn(6, 1, 8, 8, dtype=torch.float64, generator=torch.Generator().manual_seed(1))


@pytest.mark.parametrize("model", [Product, Additive], ids=["product", "additive"])
def test_penalty_is_one_for_separable_scores(model, x):
    torch.manual_seed(0)
    value = locality_penalty(model(), x, PI, PJ)
    assert abs(float(value.detach()) - 1.0) < 1e-6


def test_penalty_below_one_for_bilinear_and_gradient_reaches_parameters(x):
    torch.manual_seed(0)
    model = Bilinear()
    value = locality_penalty(model, x, PI, PJ)
    assert float(value.detach()) < 0.9
    value.backward()
    assert model.m.grad is not None and float(model.m.grad.abs().sum()) > 0


def test_reusing_the_loss_forward_gives_the_same_penalty(x):
    torch.manual_seed(0)
    model = Bilinear()
    xr = x.clone().requires_grad_(True)
    a = locality_penalty(model, x, PI, PJ)
    b = locality_penalty(model, xr, PI, PJ, logits=model(xr))
    torch.testing.assert_close(a, b, rtol=1e-12, atol=1e-12)


def test_cosines_float32_smoke():
    net = torch.nn.Sequential(
        torch.nn.Flatten(), torch.nn.Linear(64, 4), torch.nn.Tanh(), torch.nn.Linear(4, 2)
    )
    c = gradient_cosines(net, torch.randn(4, 1, 8, 8), PI, PJ)
    assert c.shape == (4,) and c.dtype == torch.float32 and bool((c.abs() <= 1 + 1e-5).all())


def test_score_kinds():
    z = torch.tensor([[1.0, 3.0, 0.0], [2.0, 0.0, 5.0]])
    assert score(z, torch.tensor([1, 2])).tolist() == [3.0, 5.0]
    assert score(z[:, :2], kind="difference").tolist() == [2.0, -2.0]
    assert score(z[:, :1]).tolist() == [1.0, 2.0]


@pytest.mark.parametrize(
    ("logits", "y", "kind", "match"),
    [
        (torch.zeros(2, 2), None, "nope", "unknown score kind='nope'"),
        (torch.zeros(2, 3), None, "label", "needs labels y of shape"),
        (torch.zeros(2, 3), None, "difference", "does not fit logits with 3 columns"),
        (torch.zeros(2, 2, 2), None, "auto", "logits of shape"),
    ],
)
def test_score_errors(logits, y, kind, match):
    with pytest.raises(ValueError, match=match):
        score(logits, y, kind=kind)


def test_cosine_errors(x):
    with pytest.raises(ValueError, match="B >= 2"):
        gradient_cosines(Bilinear(), x[:1], PI, PJ)
    with pytest.raises(ValueError, match="overlap"):
        gradient_cosines(Bilinear(), x, PI, Patch(1, 1, 3, 3))
    with pytest.raises(ValueError, match="requires_grad=True"):
        gradient_cosines(Bilinear(), x, PI, PJ, logits=torch.zeros(6))


def test_regularizer_object():
    with pytest.raises(ValueError, match="coefficient must be a finite number >= 0"):
        LocalityRegularizer(-1.0, FixedPatches(PI, PJ))
    with pytest.raises(ValueError, match="unknown score kind"):
        LocalityRegularizer(1.0, FixedPatches(PI, PJ), kind="x")
    zero = LocalityRegularizer(0.0, FixedPatches(PI, PJ))
    assert float(zero(Bilinear(), torch.randn(2, 1, 8, 8, dtype=torch.float64))) == 0.0
    reg = LocalityRegularizer(2.0, RandomPatches(size=2, min_distance=4.0), seed=3)
    value = reg(Bilinear(), torch.randn(4, 1, 8, 8, dtype=torch.float64))
    assert value.requires_grad and 0 <= reg.last_penalty <= 1 + 1e-9
    assert "coefficient=2.0" in repr(reg)


def test_penalty_and_double_backward_in_float32_match_float64():
    from tnreg.locality.small_cnn import SmallCNN

    torch.manual_seed(0)
    net32 = SmallCNN(in_channels=1, num_classes=2, width=4, depth=3)
    net64 = SmallCNN(in_channels=1, num_classes=2, width=4, depth=3).double()
    net64.load_state_dict({k: v.double() for k, v in net32.state_dict().items()})
    x64 = torch.randn(8, 1, 12, 12, dtype=torch.float64, generator=torch.Generator().manual_seed(2))
    pi, pj = Patch(1, 1, 2, 2), Patch(8, 7, 2, 2)
    values, grads = [], []
    for net, x in ((net32, x64.float()), (net64, x64)):
        x = x.clone().requires_grad_()
        penalty = locality_penalty(net, x, pi, pj, logits=net(x))
        g = torch.autograd.grad(penalty, list(net.parameters()), allow_unused=True)
        grads.append([t for t in g if t is not None])
        values.append(penalty)
    assert values[0].dtype == torch.float32 and values[1].dtype == torch.float64
    torch.testing.assert_close(values[0].double(), values[1], rtol=1e-4, atol=1e-5)
    for g32, g64 in zip(*grads):
        torch.testing.assert_close(g32.double(), g64, rtol=5e-3, atol=1e-4)
