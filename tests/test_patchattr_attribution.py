"""Grid, region classifier, Algorithm 1 as one fold, confidences and calibration."""

from __future__ import annotations

import math

import pytest
import torch
from torchmetrics.functional.classification import multiclass_calibration_error

from debiaskit.patchattr.attribution import algorithm1_loop, normalize_maps, pixel_maps, region_logits, region_maps
from debiaskit.patchattr.calibration import expected_calibration_error, reliability_bins
from debiaskit.patchattr.confidence import get_confidence, margin, negative_entropy, top_softmax
from debiaskit.patchattr.grid import PatchGrid
from debiaskit.patchattr.region_model import RegionClassifier


def test_paper_grid_has_2401_positions_with_stride_2():
    grid = PatchGrid(128, 32, 49)
    assert grid.positions == 2401 and grid.stride == 2
    x, y = grid.top_left(torch.tensor([0, 1, 49, 2400]))
    assert x.tolist() == [0, 2, 0, 96] and y.tolist() == [0, 0, 2, 96]


def test_grid_rejects_non_integer_stride():
    with pytest.raises(ValueError, match="multiple"):
        PatchGrid(32, 8, 12)
    assert PatchGrid.with_stride(32, 8, 2) == PatchGrid(32, 8, 13)


def test_unfold_and_crop_give_the_same_patches():
    grid = PatchGrid(12, 4, 5)
    images = torch.rand(3, 2, 12, 12)
    patches = grid.unfold(images).view(3, grid.positions, 2, 4, 4)
    for i, (x, y) in enumerate(grid.locations()):
        assert torch.equal(patches[:, i], images[:, :, y:y + 4, x:x + 4])
        assert torch.equal(grid.crop(images, torch.full((3,), i)), images[:, :, y:y + 4, x:x + 4])


@pytest.mark.parametrize("grid", [PatchGrid(32, 8, 13), PatchGrid(20, 8, 4), PatchGrid(9, 9, 1)])
def test_fold_pixel_map_equals_algorithm1_loop(grid):
    region = torch.rand(4, grid.per_side, grid.per_side, dtype=torch.float64)
    fast = pixel_maps(region, grid)
    for n in range(4):
        slow = algorithm1_loop(region[n].flatten(), grid.locations(), grid.patch, grid.image)
        assert torch.allclose(fast[n], slow, atol=1e-12)


def test_pixel_map_of_a_constant_region_map_is_constant():
    grid = PatchGrid(32, 8, 13)
    assert torch.allclose(pixel_maps(torch.full((13, 13), 0.3), grid), torch.full((32, 32), 0.3))


def test_region_map_from_unfold_equals_patch_by_patch():
    torch.manual_seed(0)
    grid = PatchGrid(12, 8, 3)
    model = RegionClassifier(grid, num_classes=3, backbone="small").eval()
    images = torch.rand(2, 3, 12, 12)
    fast = region_logits(model, images, grid, batch_size=4)  # batches smaller than one image's 9 patches
    with torch.no_grad():
        slow = torch.stack([torch.cat([model(images[n:n + 1, :, y:y + 8, x:x + 8], torch.tensor([i]))
                                       for i, (x, y) in enumerate(grid.locations())]) for n in range(2)])
    assert torch.allclose(fast, slow, atol=1e-5)
    maps = region_maps(model, images, grid)
    assert maps.shape == (2, 3, 3) and torch.allclose(maps.flatten(1), negative_entropy(fast), atol=1e-6)


def test_position_embedding_changes_the_output():
    torch.manual_seed(0)
    grid = PatchGrid(16, 8, 5)
    model = RegionClassifier(grid, 2, backbone="small").eval()
    patch = torch.rand(1, 3, 8, 8)
    with torch.no_grad():
        assert not torch.allclose(model(patch, torch.tensor([0])), model(patch, torch.tensor([24])))


def test_region_classifier_rejects_wrong_patch_size():
    model = RegionClassifier(PatchGrid(16, 8, 5), 2, backbone="small")
    with pytest.raises(ValueError, match="expected patches"):
        model(torch.rand(1, 3, 16, 16), torch.tensor([0]))


def test_confidences_known_values_and_ranges():
    certain = torch.tensor([[20.0, -20.0, -20.0]])
    uniform = torch.zeros(1, 3)
    for fn in (top_softmax, margin, negative_entropy):
        assert fn(certain).item() == pytest.approx(1.0, abs=1e-6)
        assert fn(uniform).item() == pytest.approx(0.0, abs=1e-6)
        values = fn(torch.randn(1000, 5) * 3)
        assert values.min() >= -1e-6 and values.max() <= 1 + 1e-6
    logits = torch.log(torch.tensor([[0.5, 0.3, 0.2]]))
    assert top_softmax(logits, normalize=False).item() == pytest.approx(0.5)
    assert margin(logits).item() == pytest.approx(0.2)
    entropy = -(0.5 * math.log(0.5) + 0.3 * math.log(0.3) + 0.2 * math.log(0.2))
    assert negative_entropy(logits, normalize=False).item() == pytest.approx(-entropy, rel=1e-5)
    assert negative_entropy(logits).item() == pytest.approx(1 - entropy / math.log(3), rel=1e-5)
    with pytest.raises(ValueError, match="unknown confidence"):
        get_confidence("variance")


def test_ece_by_hand_and_torchmetrics():
    # ten bins; top-label confidences 0.65 (bin 6) and 0.95 (bin 9), chosen away from the bin edges
    p0 = torch.tensor([0.65, 0.65, 0.95, 0.95])
    logits = torch.log(torch.stack([p0, 1 - p0], 1))
    labels = torch.tensor([0, 1, 0, 0])
    hand = 0.5 * abs(0.5 - 0.65) + 0.5 * abs(1.0 - 0.95)  # bin 6: accuracy 1/2; bin 9: accuracy 1
    assert expected_calibration_error(logits, labels, n_bins=10) == pytest.approx(hand, abs=1e-6)
    bins = reliability_bins(logits, labels, n_bins=10)
    assert bins.counts.tolist() == [0, 0, 0, 0, 0, 0, 2, 0, 0, 2]
    assert bins.ece == pytest.approx(hand, abs=1e-6)


def test_reliability_bins_agree_with_torchmetrics_on_random_data():
    gen = torch.Generator().manual_seed(1)
    logits = torch.randn(5000, 3, generator=gen) * 2
    labels = torch.randint(0, 3, (5000,), generator=gen)
    tm = float(multiclass_calibration_error(logits.softmax(1), labels, num_classes=3, n_bins=100))
    assert reliability_bins(logits, labels, 100).ece == pytest.approx(tm, abs=1e-5)
    assert int(reliability_bins(logits, labels, 100).counts.sum()) == 5000


def test_normalize_maps():
    maps = torch.tensor([[[1.0, 3.0], [2.0, 5.0]], [[2.0, 2.0], [2.0, 2.0]]])
    out = normalize_maps(maps)
    assert torch.allclose(out[0], torch.tensor([[0.0, 0.5], [0.25, 1.0]])) and torch.equal(out[1], torch.zeros(2, 2))
