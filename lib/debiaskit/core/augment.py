"""Batched tensor augmentation of the PGD draft's Appendix A.1, one call per mini-batch.

RandomResizedCrop with scale (0.9, 1.1), RandomRotation of +-10 degrees (nearest, black fill) and
ColorJitter of hue and saturation 0.05 -- the same distributions as the torchvision transforms,
drawn per sample but applied to the whole batch at once: the geometric part as one
``affine_grid``/``grid_sample``, the colour part in HSV space.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F


@dataclass(frozen=True)
class AugmentConfig:
    scale: tuple[float, float] = (0.9, 1.1)
    ratio: tuple[float, float] = (3 / 4, 4 / 3)
    degrees: float = 10.0
    hue: float = 0.05
    saturation: float = 0.05


def _uniform(n: int, low: float, high: float, gen: torch.Generator | None, device) -> torch.Tensor:
    return torch.rand(n, generator=gen, device="cpu").to(device) * (high - low) + low


def random_affine_grid(n: int, size: tuple[int, int], cfg: AugmentConfig, gen: torch.Generator | None,
                       device) -> torch.Tensor:
    """Sampling grids for a random resized crop followed by a random rotation, per sample."""
    area = _uniform(n, *cfg.scale, gen, device)
    log_ratio = _uniform(n, math.log(cfg.ratio[0]), math.log(cfg.ratio[1]), gen, device)
    aspect = torch.exp(log_ratio)
    sw = torch.sqrt(area * aspect).clamp(max=1.2)  # crop width / image width
    sh = torch.sqrt(area / aspect).clamp(max=1.2)
    tx = (_uniform(n, -1, 1, gen, device) * (1 - sw).clamp(min=0))
    ty = (_uniform(n, -1, 1, gen, device) * (1 - sh).clamp(min=0))
    angle = _uniform(n, -cfg.degrees, cfg.degrees, gen, device) * math.pi / 180
    cos, sin = torch.cos(angle), torch.sin(angle)
    theta = torch.stack([
        torch.stack([cos * sw, -sin * sh, tx], dim=1),
        torch.stack([sin * sw, cos * sh, ty], dim=1),
    ], dim=1)
    return F.affine_grid(theta, [n, 1, *size], align_corners=False)


def _hsv_planes(rgb: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Hue in [0, 1), saturation and value of [N, 3, H, W] RGB, each [N, H, W] (colorsys' formulas)."""
    r, g, b = rgb.unbind(1)
    maxc = torch.maximum(torch.maximum(r, g), b)
    minc = torch.minimum(torch.minimum(r, g), b)
    delta = maxc - minc
    safe = torch.where(delta > 0, delta, 1.0)
    h = torch.where(maxc == r, (g - b) / safe, torch.where(maxc == g, 2.0 + (b - r) / safe, 4.0 + (r - g) / safe))
    h = torch.where(delta > 0, (h / 6.0) % 1.0, 0.0)
    s = torch.where(maxc > 0, delta / torch.where(maxc > 0, maxc, 1.0), 0.0)
    return h, s, maxc


# colorsys' sector table: in hue sector k, R is the (k)th, G the (k + 4)th and B the (k + 2)th (mod 6) of
# the planes (v, q, p, p, t, v)
_CHANNEL_OFFSETS = (0.0, 4.0, 2.0)


def _rgb_from_planes(h: torch.Tensor, s: torch.Tensor, v: torch.Tensor) -> torch.Tensor:
    """[N, 3, H, W] RGB from hue, saturation and value planes [N, H, W] (colorsys' hsv_to_rgb)."""
    i = torch.floor(h * 6.0)
    f = h * 6.0 - i
    p, q, t = v * (1 - s), v * (1 - s * f), v * (1 - s * (1 - f))
    planes = torch.stack([v, q, p, p, t, v], 1)
    offsets = torch.tensor(_CHANNEL_OFFSETS, dtype=i.dtype, device=i.device).view(1, 3, 1, 1)
    sector = ((i.unsqueeze(1) + offsets) % 6).long()
    return planes.gather(1, sector)


def rgb_to_hsv(rgb: torch.Tensor) -> torch.Tensor:
    """[N, 3, H, W] RGB in [0, 1] to HSV with hue in [0, 1)."""
    return torch.stack(_hsv_planes(rgb), 1)


def hsv_to_rgb(hsv: torch.Tensor) -> torch.Tensor:
    """Inverse of :func:`rgb_to_hsv`."""
    return _rgb_from_planes(*hsv.unbind(1))


def jitter_hue_saturation(x: torch.Tensor, cfg: AugmentConfig, gen: torch.Generator | None) -> torch.Tensor:
    """ColorJitter(hue, saturation) with a factor per sample; grayscale batches pass unchanged."""
    if x.shape[1] != 3 or (cfg.hue == 0 and cfg.saturation == 0):
        return x
    n = len(x)
    h, s, v = _hsv_planes(x)
    hue_shift = _uniform(n, -cfg.hue, cfg.hue, gen, x.device)
    sat_factor = _uniform(n, 1 - cfg.saturation, 1 + cfg.saturation, gen, x.device)
    h = (h + hue_shift[:, None, None]) % 1.0
    s = (s * sat_factor[:, None, None]).clamp(0, 1)
    return _rgb_from_planes(h, s, v)


def augment_batch(x: torch.Tensor, cfg: AugmentConfig = AugmentConfig(), gen: torch.Generator | None = None) -> torch.Tensor:
    """Apply the Appendix A.1 augmentation to a float batch [N, C, H, W] in [0, 1]."""
    grid = random_affine_grid(len(x), tuple(x.shape[-2:]), cfg, gen, x.device)
    out = F.grid_sample(x, grid, mode="nearest", padding_mode="zeros", align_corners=False)
    return jitter_hue_saturation(out, cfg, gen)
