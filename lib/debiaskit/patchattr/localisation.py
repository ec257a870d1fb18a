"""How well an attribution map finds a known confounder region (beyond the paper).

A map is thresholded either at a fixed level of its [0, 1]-normalised values (default 0.5) or, with
``threshold="area"``, by keeping as many top pixels as the true region has; the score is the
intersection over union of the kept pixels with the true region.
"""

from __future__ import annotations

import torch

from debiaskit.patchattr.attribution import normalize_maps


def threshold_map(maps: torch.Tensor, threshold: float | str, area: int | None = None) -> torch.Tensor:
    """Bool pixels kept from maps [..., H, W]: normalised value >= ``threshold``, or the top ``area`` pixels."""
    norm = normalize_maps(maps.float())
    if threshold == "area":
        if not area:
            raise ValueError("threshold='area' needs the true region's pixel count (area)")
        flat = norm.flatten(-2)
        kth = flat.topk(area, dim=-1).values[..., -1:]
        return (flat >= kth).view(norm.shape)
    if isinstance(threshold, str):
        raise ValueError(f"threshold must be a number in [0, 1] or 'area', got {threshold!r}")
    return norm >= float(threshold)


def region_iou(maps: torch.Tensor, region: torch.Tensor, threshold: float | str = 0.5) -> torch.Tensor:
    """IoU of each thresholded map [..., H, W] with the bool ``region`` [H, W]."""
    if maps.shape[-2:] != region.shape:
        raise ValueError(f"maps {tuple(maps.shape[-2:])} and region {tuple(region.shape)} must have the same size")
    kept = threshold_map(maps, threshold, int(region.sum()))
    inter = (kept & region).flatten(-2).sum(-1).float()
    union = (kept | region).flatten(-2).sum(-1).float()
    return inter / union.clamp(min=1)
