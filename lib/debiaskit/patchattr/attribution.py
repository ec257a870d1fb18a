"""Region-based attributions (Section 3.4) and their pixel-space form (Algorithm 1).

* :func:`region_maps` classifies every patch position of a batch of images, cut out by one ``unfold``
  and sent through the region classifier in large batches, and returns a ``sqrt(p) x sqrt(p)`` map of
  confidences per image.
* :func:`pixel_maps` turns region maps into pixel maps: each pixel gets the mean confidence of all
  patches covering it (Algorithm 1), computed as one transposed convolution with a k x k kernel of ones
  divided by the same op on a map of ones.
* :func:`algorithm1_loop` is Algorithm 1 as written, the slow reference.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn
from tqdm.auto import tqdm

from debiaskit.patchattr.confidence import Confidence, negative_entropy
from debiaskit.patchattr.grid import PatchGrid


@torch.no_grad()
def region_logits(model: nn.Module, images: torch.Tensor, grid: PatchGrid, batch_size: int = 8192,
                  progress: bool = False) -> torch.Tensor:
    """Logits of every patch of every image: [N, p, C] (model in eval mode)."""
    grid.check_images(images)
    model.eval()
    device = next(model.parameters()).device
    per_chunk = max(1, batch_size // grid.positions)
    positions = torch.arange(grid.positions, device=device)
    out = []
    for chunk in tqdm(images.split(per_chunk), desc="attribution", disable=not progress, leave=False):
        chunk = chunk.to(device).float()
        patches = grid.unfold(chunk)
        pos = positions.repeat(len(chunk))
        logits = torch.cat([model(p, q) for p, q in zip(patches.split(batch_size), pos.split(batch_size))])
        out.append(logits.view(len(chunk), grid.positions, -1).float().cpu())
    return torch.cat(out)


def region_maps(model: nn.Module, images: torch.Tensor, grid: PatchGrid, confidence: Confidence = negative_entropy,
                batch_size: int = 8192, progress: bool = False) -> torch.Tensor:
    """Region attribution maps [N, sqrt(p), sqrt(p)]: the confidence of each patch (Section 3.4)."""
    logits = region_logits(model, images, grid, batch_size, progress)
    return confidence(logits).view(len(images), grid.per_side, grid.per_side)


def pixel_maps(region: torch.Tensor, grid: PatchGrid) -> torch.Tensor:
    """Algorithm 1 for a batch of region maps [N, g, g] -> pixel maps [N, I, I], as one fold.

    ``conv_transpose2d`` of the map with a k x k kernel of ones and stride s sums the confidences of
    the patches covering each pixel (line 6); the same op on ones counts them (line 7); their ratio is
    line 9.
    """
    if region.shape[-2:] != (grid.per_side, grid.per_side):
        raise ValueError(f"expected region maps [..., {grid.per_side}, {grid.per_side}], got {tuple(region.shape)}")
    lead = region.shape[:-2]
    flat = region.reshape(-1, 1, grid.per_side, grid.per_side).to(torch.float64 if region.dtype == torch.float64 else torch.float32)
    kernel = torch.ones(1, 1, grid.patch, grid.patch, dtype=flat.dtype, device=flat.device)
    sums = F.conv_transpose2d(flat, kernel, stride=grid.stride)
    counts = F.conv_transpose2d(torch.ones_like(flat[:1]), kernel, stride=grid.stride)
    return (sums / counts).reshape(*lead, grid.image, grid.image)


def algorithm1_loop(confidences: torch.Tensor, locations: list[tuple[int, int]], k: int, image_size: int) -> torch.Tensor:
    """Algorithm 1 exactly as written: accumulate each patch's confidence over its k x k window."""
    heat = torch.zeros(image_size, image_size, dtype=confidences.dtype)
    counts = torch.zeros(image_size, image_size, dtype=confidences.dtype)
    for i, (x, y) in enumerate(locations):
        heat[y:y + k, x:x + k] += confidences[i]
        counts[y:y + k, x:x + k] += 1
    return heat / counts


def normalize_maps(maps: torch.Tensor) -> torch.Tensor:
    """Min-max normalise each map [..., H, W] to [0, 1] (Section 3.4); constant maps become 0."""
    flat = maps.flatten(-2)
    lo = flat.amin(-1, keepdim=True)
    span = (flat.amax(-1, keepdim=True) - lo)
    out = torch.where(span > 0, (flat - lo) / span.clamp(min=torch.finfo(maps.dtype).tiny), torch.zeros_like(flat))
    return out.view_as(maps)


def mean_map(region: torch.Tensor) -> torch.Tensor:
    """The mean ("general") map over a data set's region maps [N, g, g] -> [g, g] (Figs. 4 and 5)."""
    return region.mean(0)
