"""Batched augmentation: colour conversions against colorsys, identity at zero strength, ranges."""

import colorsys

import torch

from debiaskit.core.augment import AugmentConfig, augment_batch, hsv_to_rgb, rgb_to_hsv


def test_hsv_matches_colorsys():
    rgb = torch.rand(1, 3, 7, 9, generator=torch.Generator().manual_seed(0), dtype=torch.float64)
    hsv = rgb_to_hsv(rgb)
    for i in range(7):
        for j in range(9):
            expected = colorsys.rgb_to_hsv(*rgb[0, :, i, j].tolist())
            assert torch.allclose(hsv[0, :, i, j], torch.tensor(expected, dtype=torch.float64), atol=1e-9)
    assert torch.allclose(hsv_to_rgb(hsv), rgb, atol=1e-9)


def test_hsv_to_rgb_matches_colorsys_in_every_sector():
    gen = torch.Generator().manual_seed(1)
    hue = torch.cat([torch.arange(6, dtype=torch.float64) / 6, torch.rand(42, generator=gen, dtype=torch.float64),
                     torch.tensor([1 - 1e-12, 0.5 - 1e-12], dtype=torch.float64)])
    hsv = torch.stack([hue, torch.rand(50, generator=gen, dtype=torch.float64),
                       torch.rand(50, generator=gen, dtype=torch.float64)]).view(1, 3, 5, 10)
    rgb = hsv_to_rgb(hsv)
    for i in range(5):
        for j in range(10):
            expected = colorsys.hsv_to_rgb(*hsv[0, :, i, j].tolist())
            assert torch.allclose(rgb[0, :, i, j], torch.tensor(expected, dtype=torch.float64), atol=1e-12)


def test_zero_strength_is_identity():
    x = torch.rand(4, 3, 28, 28)
    cfg = AugmentConfig(scale=(1.0, 1.0), ratio=(1.0, 1.0), degrees=0.0, hue=0.0, saturation=0.0)
    assert torch.allclose(augment_batch(x, cfg, torch.Generator().manual_seed(0)), x)


def test_augmentation_is_seeded_and_in_range():
    x = torch.rand(16, 3, 28, 28)
    a = augment_batch(x, gen=torch.Generator().manual_seed(1))
    b = augment_batch(x, gen=torch.Generator().manual_seed(1))
    c = augment_batch(x, gen=torch.Generator().manual_seed(2))
    assert torch.equal(a, b) and not torch.equal(a, c)
    assert a.shape == x.shape and a.min() >= 0 and a.max() <= 1


def test_hue_jitter_keeps_value_and_grayscale_passes():
    x = torch.rand(8, 3, 5, 5)
    cfg = AugmentConfig(scale=(1.0, 1.0), ratio=(1.0, 1.0), degrees=0.0, hue=0.05, saturation=0.05)
    y = augment_batch(x, cfg, torch.Generator().manual_seed(0))
    assert torch.allclose(y.max(1).values, x.max(1).values, atol=1e-6)  # V is unchanged
    g = torch.rand(8, 1, 5, 5)
    assert torch.allclose(augment_batch(g, cfg, torch.Generator().manual_seed(0)), g)
