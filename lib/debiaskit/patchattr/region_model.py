"""The region classifier of Section 3.1: a CNN on one k x k patch plus a learned position embedding.

The patch position ``i`` is looked up in an ``nn.Embedding(p, k*k)``, reshaped to one k x k plane and
concatenated to the patch as an extra input channel (the ViT-like "region indicator"); the authors' code
uses a CIFAR-style ResNet-18 (3x3 stem, no max-pool) on these 4 channels.
"""

from __future__ import annotations

import torch
from torch import nn

from debiaskit.patchattr.grid import PatchGrid


def cifar_resnet18(in_channels: int, num_classes: int) -> nn.Module:
    """torchvision's ResNet-18 with the CIFAR stem: 3x3 stride-1 first convolution, no max-pool."""
    from torchvision.models import resnet18

    net = resnet18(num_classes=num_classes)
    net.conv1 = nn.Conv2d(in_channels, 64, kernel_size=3, stride=1, padding=1, bias=False)
    net.maxpool = nn.Identity()
    return net


def small_patch_cnn(in_channels: int, num_classes: int, width: int = 16) -> nn.Module:
    """A small CNN for CPU-sized patches (the quick profile's stand-in for the ResNet-18)."""
    return nn.Sequential(
        nn.Conv2d(in_channels, width, 3, padding=1), nn.BatchNorm2d(width), nn.ReLU(inplace=True),
        nn.Conv2d(width, 2 * width, 3, padding=1), nn.BatchNorm2d(2 * width), nn.ReLU(inplace=True),
        nn.MaxPool2d(2),
        nn.Conv2d(2 * width, 2 * width, 3, padding=1), nn.BatchNorm2d(2 * width), nn.ReLU(inplace=True),
        nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(2 * width, num_classes),
    )


BACKBONES = {"resnet18": cifar_resnet18, "small": small_patch_cnn}


class RegionClassifier(nn.Module):
    """Classify ``patches [B, C, k, k]`` taken at grid ``positions [B]`` (Section 3.1)."""

    def __init__(self, grid: PatchGrid, num_classes: int, in_channels: int = 3, backbone: str = "resnet18") -> None:
        super().__init__()
        if backbone not in BACKBONES:
            raise ValueError(f"unknown backbone {backbone!r}; choose one of {sorted(BACKBONES)}")
        self.grid = grid
        self.num_classes = num_classes
        self.in_channels = in_channels
        self.position = nn.Embedding(grid.positions, grid.patch * grid.patch)
        self.backbone = BACKBONES[backbone](in_channels + 1, num_classes)

    def forward(self, patches: torch.Tensor, positions: torch.Tensor) -> torch.Tensor:
        k = self.grid.patch
        if patches.shape[1:] != (self.in_channels, k, k):
            raise ValueError(f"expected patches [B, {self.in_channels}, {k}, {k}], got {tuple(patches.shape)}")
        plane = self.position(positions).view(-1, 1, k, k)
        return self.backbone(torch.cat([patches, plane.to(patches.dtype)], dim=1))
