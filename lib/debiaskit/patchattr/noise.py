"""Targeted noise from attribution maps (Section 4.1, Fig. 6).

The pixels whose attribution exceeds the ``q``-quantile of the map are hidden from the classifier:

* **General** uses one map for every image (the normalised mean pixel map of the confounder, Fig. 5);
  **Specific** uses each image's own pixel map (threshold per image).
* **Mask** sets the chosen pixels to the data set's mean colour ("greying out"); **Noise** adds
  Gaussian noise N(0, 0.5^2) to them, drawn afresh for every batch.

The authors' code additionally clips the whole noised image to [0, 1]; ``clip=True`` does the same.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

#: The four kinds of targeted noise (General/Specific x Mask/Noise, Section 4.1).
NOISE_TYPES = ("general_mask", "specific_mask", "general_noise", "specific_noise")
NOISE_LABELS = {"general_mask": "General Mask", "specific_mask": "Specific Mask",
                "general_noise": "General Noise", "specific_noise": "Specific Noise"}


def quantile_mask(maps: torch.Tensor, quantile: float) -> torch.Tensor:
    """Pixels of each map [..., H, W] above its ``quantile`` (Section 4.1): a share ~ ``1 - quantile``."""
    if not 0.0 <= quantile <= 1.0:
        raise ValueError(f"quantile must be in [0, 1], got {quantile}")
    flat = maps.flatten(-2).float()
    threshold = torch.quantile(flat, quantile, dim=-1, keepdim=True)
    return (flat > threshold).view(maps.shape)


def apply_mask_or_noise(x: torch.Tensor, hide: torch.Tensor, mode: str, fill: torch.Tensor | None = None,
                        std: float = 0.5, generator: torch.Generator | None = None, clip: bool = False) -> torch.Tensor:
    """Hide pixels ``hide`` ([N or 1, H, W] bool) of images ``x`` [N, C, H, W] by ``mode`` ``mask`` or ``noise``."""
    if mode not in ("mask", "noise"):
        raise ValueError(f"mode must be 'mask' or 'noise', got {mode!r}")
    hide = hide.to(x.device).unsqueeze(1)  # [N, 1, H, W]
    if mode == "mask":
        if fill is None:
            raise ValueError("masking needs the fill colour (the data set's mean colour per channel)")
        out = torch.where(hide, fill.to(x.device, x.dtype).view(1, -1, 1, 1), x)
    else:
        noise = torch.randn(x.shape, generator=generator, dtype=x.dtype).to(x.device) * std
        out = x + noise * hide
    return out.clamp(0.0, 1.0) if clip else out


@dataclass
class TargetedNoise:
    """One of the four schemes of Section 4.1, applied on the fly to training batches.

    ``masks`` holds the pixels to hide: [1, H, W] for General, [N_train, H, W] for Specific (looked up by
    the batch's sample indices). Build it with :func:`targeted_noise`.
    """

    kind: str
    quantile: float
    masks: torch.Tensor
    fill: torch.Tensor
    std: float = 0.5
    clip: bool = False

    @property
    def mode(self) -> str:
        return self.kind.split("_")[1]

    def __call__(self, x: torch.Tensor, idx: torch.Tensor, generator: torch.Generator | None = None) -> torch.Tensor:
        hide = self.masks if self.masks.shape[0] == 1 else self.masks[idx.cpu()]
        return apply_mask_or_noise(x, hide, self.mode, self.fill, self.std, generator, self.clip)


def targeted_noise(kind: str, quantile: float, general_map: torch.Tensor | None = None,
                   specific_maps: torch.Tensor | None = None, fill: torch.Tensor | None = None,
                   std: float = 0.5, clip: bool = False) -> TargetedNoise:
    """Build a :class:`TargetedNoise` of ``kind`` (one of :data:`NOISE_TYPES`) at ``quantile``.

    ``general_map`` [H, W] is the data set's mean pixel map; ``specific_maps`` [N, H, W] the per-image
    pixel maps of the training set (same order as the training tensors); ``fill`` the mean colour [C].
    """
    if kind not in NOISE_TYPES:
        raise ValueError(f"unknown noise type {kind!r}; choose one of {NOISE_TYPES}")
    scope, mode = kind.split("_")
    source = general_map if scope == "general" else specific_maps
    if source is None:
        raise ValueError(f"{kind} needs {'general_map' if scope == 'general' else 'specific_maps'}")
    source = source.unsqueeze(0) if scope == "general" and source.ndim == 2 else source
    if mode == "mask" and fill is None:
        raise ValueError("mask types need fill (the training set's mean colour per channel)")
    fill = fill if fill is not None else torch.zeros(1)
    return TargetedNoise(kind, quantile, quantile_mask(source, quantile), fill, std, clip)
