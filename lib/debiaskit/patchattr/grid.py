"""The regular grid of patch positions of Section 3.1.

Patch ``i`` of a grid with ``sqrt(p)`` positions per side has its top-left corner at
``x = (i mod sqrt(p)) * s``, ``y = floor(i / sqrt(p)) * s`` with stride ``s = (I - k) / (sqrt(p) - 1)``
(Section 3.1; the paper's "p = 2041" is a typo for 2401 = 49 x 49, k = 32, I = 128, s = 2).
The index order is row-major, the same order as :func:`torch.nn.functional.unfold`.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F


@dataclass(frozen=True)
class PatchGrid:
    """``per_side`` x ``per_side`` patches of ``patch`` x ``patch`` pixels on ``image`` x ``image`` images."""

    image: int = 128
    patch: int = 32
    per_side: int = 49

    def __post_init__(self) -> None:
        if not 0 < self.patch <= self.image:
            raise ValueError(f"patch size must be in [1, image size {self.image}], got {self.patch}")
        if self.per_side < 1:
            raise ValueError(f"per_side must be >= 1, got {self.per_side}")
        if self.per_side == 1 and self.patch != self.image:
            raise ValueError("a single position only covers the image when patch == image")
        if self.per_side > 1 and (self.image - self.patch) % (self.per_side - 1):
            raise ValueError(
                f"(image - patch) = {self.image - self.patch} is not a multiple of (per_side - 1) = "
                f"{self.per_side - 1}: choose per_side so that the stride (I - k)/(sqrt(p) - 1) is an integer, "
                f"e.g. per_side = {(self.image - self.patch) // 2 + 1} for stride 2"
            )

    @classmethod
    def with_stride(cls, image: int, patch: int, stride: int) -> "PatchGrid":
        """The grid with the given ``stride`` (``(image - patch)`` must be a multiple of it)."""
        if stride < 1 or (image - patch) % stride:
            raise ValueError(f"stride {stride} must be >= 1 and divide image - patch = {image - patch}")
        return cls(image, patch, (image - patch) // stride + 1)

    @property
    def stride(self) -> int:
        """``s = (I - k) / (sqrt(p) - 1)`` (Section 3.1)."""
        return 1 if self.per_side == 1 else (self.image - self.patch) // (self.per_side - 1)

    @property
    def positions(self) -> int:
        """``p``, the number of patch positions."""
        return self.per_side * self.per_side

    def top_left(self, index: torch.Tensor | int) -> tuple[torch.Tensor, torch.Tensor]:
        """``(x, y)`` top-left pixel of patch ``index`` (Section 3.1's formula)."""
        index = torch.as_tensor(index)
        return (index % self.per_side) * self.stride, torch.div(index, self.per_side, rounding_mode="floor") * self.stride

    def locations(self) -> list[tuple[int, int]]:
        """Every position's ``(x, y)`` in index order (the ``locations`` input of Algorithm 1)."""
        xs, ys = self.top_left(torch.arange(self.positions))
        return list(zip(xs.tolist(), ys.tolist()))

    def check_images(self, images: torch.Tensor) -> None:
        if images.ndim != 4 or images.shape[-2:] != (self.image, self.image):
            raise ValueError(f"expected images [N, C, {self.image}, {self.image}] for this grid, got {tuple(images.shape)}")

    def crop(self, images: torch.Tensor, index: torch.Tensor) -> torch.Tensor:
        """One patch per image: ``images[n]`` cropped at position ``index[n]`` -> [N, C, k, k]."""
        self.check_images(images)
        k = self.patch
        xs, ys = self.top_left(index.cpu())
        offsets = torch.arange(k)
        rows = (ys[:, None] + offsets).to(images.device)  # [N, k]
        cols = (xs[:, None] + offsets).to(images.device)
        n = torch.arange(len(images), device=images.device)[:, None, None]
        patches = images.permute(0, 2, 3, 1)[n, rows[:, :, None], cols[:, None, :]]  # [N, k, k, C]
        return patches.permute(0, 3, 1, 2).contiguous()

    def unfold(self, images: torch.Tensor) -> torch.Tensor:
        """Every patch of every image with one ``unfold``: [N * p, C, k, k], image-major, position in index order."""
        self.check_images(images)
        n, c = images.shape[:2]
        k = self.patch
        cols = F.unfold(images, kernel_size=k, stride=self.stride)  # [N, C*k*k, p]
        return cols.transpose(1, 2).reshape(n * self.positions, c, k, k)
