"""A small, fast convolutional network for CPU experiments.

Vocabulary
----------
stage
    A 3×3 convolution, batch normalization and a ReLU; every stage after the first halves the
    resolution (stride 2), and the channel count doubles up to ``4·width``. After the last stage,
    global average pooling and a linear layer give the logits. With ``depth`` stages the receptive
    field of one output of the last stage spans ``2^depth + 1`` pixels (17 at depth 4, 65 at
    depth 6). Only patches within one receptive field interact: for patches further apart the
    score is a sum of separate terms, so the network relates any two patches of a 32×32 image
    from depth 5 on.
"""

from __future__ import annotations

import torch
from torch import nn

__all__ = ["SmallCNN"]


class SmallCNN(nn.Module):
    """Conv-BN-ReLU stages with stride-2 downsampling, global average pooling, linear head.

    Parameters
    ----------
    in_channels
        Input channels.
    num_classes
        Number of logits.
    width
        Channels of the first stage (later stages: ``2·width``, then ``4·width``).
    depth
        Number of stages (>= 1).

    Examples
    --------
    >>> net = SmallCNN(in_channels=1, num_classes=2, width=8, depth=3)
    >>> tuple(net(torch.zeros(2, 1, 32, 32)).shape)
    (2, 2)
    """

    def __init__(
        self, *, in_channels: int = 1, num_classes: int = 2, width: int = 16, depth: int = 4
    ) -> None:
        super().__init__()
        if in_channels < 1 or num_classes < 1 or width < 1 or depth < 1:
            raise ValueError(
                "SmallCNN needs in_channels, num_classes, width and depth >= 1; got "
                f"in_channels={in_channels}, num_classes={num_classes}, width={width}, "
                f"depth={depth}"
            )
        layers: list[nn.Module] = []
        c_in = in_channels
        for k in range(depth):
            c_out = width * min(4, 2**k)
            layers += [
                nn.Conv2d(c_in, c_out, 3, 1 if k == 0 else 2, 1, bias=False),
                nn.BatchNorm2d(c_out),
                nn.ReLU(),
            ]
            c_in = c_out
        self.features = nn.Sequential(*layers)
        self.head = nn.Linear(c_in, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Logits of shape ``(B, num_classes)``."""
        return self.head(self.features(x).mean((-2, -1)))
