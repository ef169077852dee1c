"""ResNet-18/34 and the small CNN: shapes, parameter counts, errors."""

from __future__ import annotations

import pytest
import torch

from tnreg.locality.resnet import ResNet, resnet18, resnet34
from tnreg.locality.small_cnn import SmallCNN


def test_parameter_counts_match_the_reference_architectures():
    # torchvision's resnet18/34 with a 2-class head: 11,177,538 and 21,285,698 parameters
    assert sum(p.numel() for p in resnet18(num_classes=2).parameters()) == 11_177_538
    assert sum(p.numel() for p in resnet34(num_classes=2).parameters()) == 21_285_698


@pytest.mark.parametrize("stem", ["imagenet", "cifar"])
def test_resnet_forward_shapes(stem):
    net = resnet18(num_classes=3, in_channels=1, width=0.125, stem=stem)
    assert net(torch.zeros(2, 1, 32, 32, dtype=torch.float32)).shape == (2, 3)
    assert len(resnet34(width=0.0625).stages) == 16


def test_small_cnn_and_double_backprop():
    net = SmallCNN(in_channels=1, num_classes=2, width=4, depth=3).double()
    x = torch.randn(3, 1, 16, 16, dtype=torch.float64, requires_grad=True)
    (g,) = torch.autograd.grad(net(x)[:, 1].sum(), x, create_graph=True)
    g.square().sum().backward()
    assert net.head.weight.grad is not None


@pytest.mark.parametrize(
    ("build", "match"),
    [
        (lambda: ResNet((2, 2), stem="vgg"), "unknown stem='vgg'"),
        (lambda: ResNet((), stem="cifar"), "1 to 4 stages"),
        (lambda: ResNet((1,), width=0.0), "width > 0"),
        (lambda: SmallCNN(depth=0), "depth >= 1"),
    ],
)
def test_model_errors(build, match):
    with pytest.raises(ValueError, match=match):
        build()


@pytest.mark.parametrize("depth", [2, 4, 5])
def test_small_cnn_receptive_field_is_two_to_the_depth_plus_one(depth):
    torch.manual_seed(0)
    net = SmallCNN(in_channels=1, num_classes=2, width=2, depth=depth).eval()
    x = torch.randn(1, 1, 96, 96, requires_grad=True)
    out = net.features(x)
    centre = out.shape[-1] // 2
    (grad,) = torch.autograd.grad(out[0, :, centre, centre].sum(), x)
    cols = grad[0, 0].abs().sum(0).nonzero().flatten()
    assert int(cols[-1] - cols[0]) + 1 == 2**depth + 1
