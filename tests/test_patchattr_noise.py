"""Targeted noise (Section 4.1), biased subsets, the gender CNN, localisation and the Captum baselines."""

from __future__ import annotations

import pytest
import torch

from debiaskit.patchattr.fitting import FitConfig, cross_entropy_loss, fit
from debiaskit.patchattr.gender import gender_cnn, group_accuracies
from debiaskit.patchattr.localisation import region_iou
from debiaskit.patchattr.noise import apply_mask_or_noise, quantile_mask, targeted_noise
from debiaskit.patchattr.subsets import balanced_indices, balanced_test_indices, biased_indices


@pytest.mark.parametrize("q", [0.3, 0.7, 0.95])
def test_quantile_mask_touches_share_one_minus_q(q):
    maps = torch.rand(5, 32, 32, generator=torch.Generator().manual_seed(0))
    share = quantile_mask(maps, q).float().mean(dim=(1, 2))
    assert torch.allclose(share, torch.full((5,), 1 - q), atol=1.5 / 1024)


def test_quantile_mask_picks_the_highest_pixels():
    m = torch.arange(16.0).view(4, 4)
    mask = quantile_mask(m, 0.75)
    assert mask.sum() == 4 and mask.flatten()[-4:].all()


def _setup(kind, clip=False):
    gen = torch.Generator().manual_seed(0)
    x = torch.rand(6, 3, 8, 8, generator=gen)
    general = torch.rand(8, 8, generator=gen)
    specific = torch.rand(6, 8, 8, generator=gen)
    fill = torch.tensor([0.2, 0.4, 0.6])
    return x, targeted_noise(kind, 0.7, general, specific, fill, std=0.5, clip=clip), general, specific


def test_general_mask_greys_the_same_pixels_in_every_image():
    x, noise, general, _ = _setup("general_mask")
    out = noise(x, torch.arange(6))
    hide = quantile_mask(general, 0.7)
    assert torch.equal(out[:, :, ~hide], x[:, :, ~hide])
    assert torch.allclose(out[:, 1][:, hide], torch.full_like(out[:, 1][:, hide], 0.4))


def test_specific_mask_uses_each_images_own_map_by_index():
    x, noise, _, specific = _setup("specific_mask")
    idx = torch.tensor([4, 1])
    out = noise(x[idx], idx)
    for row, n in enumerate(idx.tolist()):
        hide = quantile_mask(specific[n], 0.7)
        assert torch.equal(out[row][:, ~hide], x[n][:, ~hide])
        assert torch.allclose(out[row, 0][hide], torch.tensor(0.2))


def test_noise_is_fresh_every_call_and_only_where_masked():
    x, noise, _, specific = _setup("specific_noise")
    gen = torch.Generator().manual_seed(3)
    a, b = noise(x, torch.arange(6), gen), noise(x, torch.arange(6), gen)
    hide = quantile_mask(specific, 0.7).unsqueeze(1).expand_as(x)
    assert not torch.allclose(a[hide], b[hide])
    assert torch.equal(a[~hide], x[~hide])
    assert (a - x)[hide].std().item() == pytest.approx(0.5, rel=0.15)


def test_clip_option_keeps_images_in_unit_range():
    x, noise, _, _ = _setup("general_noise", clip=False)
    assert noise(x, torch.arange(6), torch.Generator().manual_seed(0)).min() < 0
    x, clipped, _, _ = _setup("general_noise", clip=True)
    out = clipped(x, torch.arange(6), torch.Generator().manual_seed(0))
    assert out.min() >= 0 and out.max() <= 1


def test_noise_errors_are_clear():
    with pytest.raises(ValueError, match="unknown noise type"):
        targeted_noise("blur", 0.5, torch.rand(4, 4))
    with pytest.raises(ValueError, match="specific_maps"):
        targeted_noise("specific_noise", 0.5, general_map=torch.rand(4, 4))
    with pytest.raises(ValueError, match="fill"):
        targeted_noise("general_mask", 0.5, general_map=torch.rand(4, 4))
    with pytest.raises(ValueError, match="mode"):
        apply_mask_or_noise(torch.rand(1, 3, 4, 4), torch.ones(1, 4, 4, dtype=torch.bool), "erase")


def _population(n=400, seed=0):
    gen = torch.Generator().manual_seed(seed)
    return torch.randint(0, 2, (n,), generator=gen), torch.randint(0, 2, (n,), generator=gen)


def test_biased_subset_counts_match_the_paper_structure():
    target, conf = _population(2000)
    counts = {(1, 0): 300, (1, 1): 0, (0, 1): 200, (0, 0): 100}
    idx = biased_indices(target, conf, counts)
    assert len(idx) == 600 and len(idx.unique()) == 600
    t, c = target[idx], conf[idx]
    assert int(((t == 1) & (c == 0)).sum()) == 300 and int(((t == 1) & (c == 1)).sum()) == 0
    assert int(((t == 0) & (c == 1)).sum()) == 200 and int(((t == 0) & (c == 0)).sum()) == 100
    with pytest.raises(ValueError, match="only"):
        biased_indices(target, conf, {(1, 0): 5000})


def test_balanced_and_test_subsets():
    target, conf = _population(2000)
    idx = balanced_indices(target, conf, 300)
    for t in (0, 1):
        assert int((target[idx] == t).sum()) == 300 and int(((target[idx] == t) & (conf[idx] == 1)).sum()) == 150
    test = balanced_test_indices(target, conf, 50)
    cells = torch.stack([target[test], conf[test]], 1).unique(dim=0, return_counts=True)[1]
    assert cells.tolist() == [50, 50, 50, 50]
    # too few with the confounder: the rest comes from the other cell (the paper's 54/46 for blond men)
    conf2 = conf.clone()
    conf2[((target == 1) & (conf == 1)).nonzero()[10:, 0]] = 0
    idx2 = balanced_indices(target, conf2, 300)
    assert int(((target[idx2] == 1) & (conf2[idx2] == 1)).sum()) == 10 and int((target[idx2] == 1).sum()) == 300


def test_gender_cnn_shapes_and_paper_head():
    assert gender_cnn(128)[-7].in_features == 6144
    assert gender_cnn(32)(torch.rand(2, 3, 32, 32)).shape == (2, 2)
    with pytest.raises(ValueError, match="multiple of 8"):
        gender_cnn(30)


def test_fit_learns_and_group_accuracies():
    gen = torch.Generator().manual_seed(0)
    y = torch.randint(0, 2, (128,), generator=gen)
    x = torch.rand(128, 3, 8, 8, generator=gen) * 0.2
    x[y == 1, 0] += 0.8  # class 1 is red
    torch.manual_seed(0)
    model = gender_cnn(8)
    cfg = FitConfig(epochs=15, batch_size=64, lr=3e-3, weight_decay=1e-3, schedule="exponential", gamma=0.95)
    hist = fit(model, x, y, cfg, cross_entropy_loss(), progress=False)
    assert hist[-2]["loss"] < hist[0]["loss"]
    acc = group_accuracies(model, x, y)
    assert acc["acc"] > 90 and acc["gap"] == pytest.approx(abs(acc["acc_men"] - acc["acc_women"]))


def test_region_iou():
    region = torch.zeros(8, 8, dtype=torch.bool)
    region[:2] = True
    perfect = region.float() + 0.01 * torch.rand(8, 8)
    assert region_iou(perfect, region).item() == pytest.approx(1.0)
    assert region_iou(perfect, region, "area").item() == pytest.approx(1.0)
    shifted = torch.zeros(8, 8)
    shifted[1:3] = 1
    assert region_iou(shifted, region).item() == pytest.approx(8 / 24)
    with pytest.raises(ValueError, match="same size"):
        region_iou(torch.rand(4, 4), region)


def test_captum_baselines_find_a_planted_pixel_region():
    pytest.importorskip("captum")
    from debiaskit.patchattr.baselines import occlusion_maps, saliency_maps
    from debiaskit.patchattr.grid import PatchGrid

    class TopLeft(torch.nn.Module):  # logit 1 = mean of the top-left 4x4 block
        def forward(self, x):
            s = x[:, :, :4, :4].mean(dim=(1, 2, 3))
            return torch.stack([-s, s], 1)

    x = torch.rand(2, 3, 12, 12)
    occ = occlusion_maps(TopLeft(), x, PatchGrid(12, 4, 5))
    sal = saliency_maps(TopLeft(), x)
    region = torch.zeros(12, 12, dtype=torch.bool)
    region[:4, :4] = True
    assert occ.shape == sal.shape == (2, 12, 12)
    assert (region_iou(sal, region, "area") == 1).all()
    assert (region_iou(occ, region, "area") > 0.4).all()
