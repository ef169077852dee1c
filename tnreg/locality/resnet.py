"""ResNet-18 and ResNet-34 (He et al. 2016) written in tnreg, with a width multiplier.

Vocabulary
----------
basic block
    Two 3×3 convolutions with batch normalization and a ReLU between them, plus the identity
    (or a strided 1×1 convolution when the shape changes), then a ReLU.
stage
    A run of basic blocks at one width; stages 2-4 halve the resolution in their first block.
    ResNet-18 has ``(2, 2, 2, 2)`` blocks per stage, ResNet-34 ``(3, 4, 6, 3)``, at widths
    ``(64, 128, 256, 512)·width``.
stem
    ``"imagenet"``: 7×7 stride-2 convolution and 3×3 stride-2 max pooling, as torchvision's model
    that Razin et al. (2022) trained; ``"cifar"``: one 3×3 stride-1 convolution (small images).

The output is ``num_classes`` logits (``num_classes=1``: a single logit for binary tasks).
torchvision is not used (its CPU wheels for these machines do not load with the CPU torch).
"""

from __future__ import annotations

import torch
from torch import nn

__all__ = ["STEMS", "BasicBlock", "ResNet", "resnet18", "resnet34"]

#: Accepted ``stem`` names.
STEMS: tuple[str, ...] = ("imagenet", "cifar")


class BasicBlock(nn.Module):
    """``relu(bn(conv(relu(bn(conv(x))))) + shortcut(x))``."""

    def __init__(self, c_in: int, c_out: int, stride: int = 1) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(c_in, c_out, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(c_out)
        self.conv2 = nn.Conv2d(c_out, c_out, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(c_out)
        self.shortcut: nn.Module = nn.Identity()
        if stride != 1 or c_in != c_out:
            self.shortcut = nn.Sequential(
                nn.Conv2d(c_in, c_out, 1, stride, bias=False), nn.BatchNorm2d(c_out)
            )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Apply the block."""
        out = torch.relu(self.bn1(self.conv1(x)))
        return torch.relu(self.bn2(self.conv2(out)) + self.shortcut(x))


class ResNet(nn.Module):
    """A ResNet of basic blocks.

    Parameters
    ----------
    blocks
        Blocks per stage, e.g. ``(2, 2, 2, 2)``.
    num_classes
        Number of logits.
    in_channels
        Input channels (1 for Pathfinder and digits, 3 for CIFAR).
    width
        Multiplier of the stage widths ``(64, 128, 256, 512)`` (at least 1 channel each).
    stem
        ``"imagenet"`` or ``"cifar"`` (see the module docstring).

    Examples
    --------
    >>> net = ResNet((1, 1), num_classes=2, in_channels=1, width=0.125, stem="cifar")
    >>> tuple(net(torch.zeros(3, 1, 16, 16)).shape)
    (3, 2)
    """

    def __init__(
        self,
        blocks: tuple[int, ...],
        *,
        num_classes: int = 2,
        in_channels: int = 3,
        width: float = 1.0,
        stem: str = "imagenet",
    ) -> None:
        super().__init__()
        if stem not in STEMS:
            raise ValueError(f"unknown stem={stem!r}; valid options: {list(STEMS)}")
        if not blocks or any(b < 1 for b in blocks) or len(blocks) > 4:
            raise ValueError(f"ResNet blocks must be 1 to 4 stages of >= 1 block; got {blocks}")
        if not width > 0 or num_classes < 1 or in_channels < 1:
            raise ValueError(
                "ResNet needs width > 0, num_classes >= 1 and in_channels >= 1; got "
                f"width={width}, num_classes={num_classes}, in_channels={in_channels}"
            )
        widths = [max(1, round(c * width)) for c in (64, 128, 256, 512)][: len(blocks)]
        if stem == "imagenet":
            self.stem = nn.Sequential(
                nn.Conv2d(in_channels, widths[0], 7, 2, 3, bias=False),
                nn.BatchNorm2d(widths[0]),
                nn.ReLU(),
                nn.MaxPool2d(3, 2, 1),
            )
        else:
            self.stem = nn.Sequential(
                nn.Conv2d(in_channels, widths[0], 3, 1, 1, bias=False),
                nn.BatchNorm2d(widths[0]),
                nn.ReLU(),
            )
        layers: list[nn.Module] = []
        c_in = widths[0]
        for k, (n_blocks, c_out) in enumerate(zip(blocks, widths)):
            for b in range(n_blocks):
                layers.append(BasicBlock(c_in, c_out, 2 if (k > 0 and b == 0) else 1))
                c_in = c_out
        self.stages = nn.Sequential(*layers)
        self.head = nn.Linear(c_in, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Logits of shape ``(B, num_classes)``."""
        h = self.stages(self.stem(x))
        return self.head(h.mean((-2, -1)))


def resnet18(
    *, num_classes: int = 2, in_channels: int = 3, width: float = 1.0, stem: str = "imagenet"
) -> ResNet:
    """ResNet-18: ``(2, 2, 2, 2)`` basic blocks (11.2M parameters at width 1, 2 classes)."""
    return ResNet(
        (2, 2, 2, 2), num_classes=num_classes, in_channels=in_channels, width=width, stem=stem
    )


def resnet34(
    *, num_classes: int = 2, in_channels: int = 3, width: float = 1.0, stem: str = "imagenet"
) -> ResNet:
    """ResNet-34: ``(3, 4, 6, 3)`` basic blocks (21.3M parameters at width 1, 2 classes)."""
    return ResNet(
        (3, 4, 6, 3), num_classes=num_classes, in_channels=in_channels, width=width, stem=stem
    )
