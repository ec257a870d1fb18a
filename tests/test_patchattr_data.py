"""CelebA and FairFace loaders on fixture folders made here, the offline stand-in, and region training."""

from __future__ import annotations

import csv

import numpy as np
import pytest
import torch
from conftest import needs_mnist, write_celeba
from PIL import Image

from debiaskit.data.faces import FAIRFACE_CLASSES, load_celeba, load_fairface, open_celeba
from debiaskit.data.sources import DataUnavailableError
from debiaskit.patchattr.subsets import biased_indices

ATTRS = ["5_o_Clock_Shadow", "Blond_Hair", "Eyeglasses", "Male", "Smiling", "Wearing_Hat"]


def _jpeg(seed, size=(178, 218)):
    rng = np.random.default_rng(seed)
    return Image.fromarray(rng.integers(0, 255, (size[1], size[0], 3), dtype=np.uint8))


def make_celeba(root, n=12):
    """A tiny CelebA in torchvision's layout: n images, splits 0/1/2 in turn, random +-1 attributes."""
    rng = np.random.default_rng(0)
    attrs = rng.choice([-1, 1], size=(n, len(ATTRS)))
    names = write_celeba(root, [_jpeg(i) for i in range(n)], {a: attrs[:, j].tolist() for j, a in enumerate(ATTRS)},
                         [i % 3 for i in range(n)])
    return attrs, names


def test_celeba_loader_on_fixture(tmp_path, isolated_cache):
    attrs, names = make_celeba(tmp_path)
    data = load_celeba("train", ["Male", "Blond_Hair"], image_size=32, root=tmp_path, verify_checksums=False)
    train_rows = [i for i in range(len(names)) if i % 3 == 0]
    assert data.images.shape == (len(train_rows), 3, 32, 32) and data.images.dtype == torch.uint8
    assert data.labels["Male"].tolist() == [(attrs[i, ATTRS.index("Male")] + 1) // 2 for i in train_rows]
    assert data.labels["Blond_Hair"].tolist() == [(attrs[i, ATTRS.index("Blond_Hair")] + 1) // 2 for i in train_rows]
    picked = load_celeba("valid", ["Smiling"], 16, index=torch.tensor([1]), root=tmp_path, verify_checksums=False)
    assert picked.images.shape == (1, 3, 16, 16)
    with pytest.raises(KeyError, match="unknown CelebA attributes"):
        load_celeba("train", ["Bald"], 16, root=tmp_path, verify_checksums=False)


def test_celeba_checksums_are_verified_by_default(tmp_path):
    make_celeba(tmp_path)
    with pytest.raises(DataUnavailableError, match="MD5"):
        open_celeba("train", root=tmp_path)


def test_celeba_missing_folder_says_what_to_do(tmp_path):
    with pytest.raises(DataUnavailableError, match="list_attr_celeba.txt") as err:
        open_celeba("train", root=tmp_path)
    assert "DEBIASKIT_DATA" in str(err.value)


def test_biased_builder_on_celeba_fixture(tmp_path, isolated_cache):
    make_celeba(tmp_path, n=60)
    data = load_celeba("all", ["Male", "Eyeglasses"], 16, root=tmp_path, verify_checksums=False)
    t, c = data.labels["Male"], data.labels["Eyeglasses"]
    counts = {(1, 0): 4, (1, 1): 0, (0, 1): 3, (0, 0): 2}
    idx = biased_indices(t, c, counts)
    assert int(((t[idx] == 1) & (c[idx] == 0)).sum()) == 4 and int(((t[idx] == 0) & (c[idx] == 1)).sum()) == 3
    assert int(((t[idx] == 0) & (c[idx] == 0)).sum()) == 2 and len(idx) == 9


def make_fairface(root, n=5):
    folder = root / "fairface"
    rows = {}
    for split in ("train", "val"):
        (folder / split).mkdir(parents=True)
        rows[split] = []
        for i in range(n):
            _jpeg(i, size=(224, 224)).save(folder / split / f"{i + 1}.jpg")
            rows[split].append({"file": f"{split}/{i + 1}.jpg", "age": FAIRFACE_CLASSES["age"][i % 9],
                                "gender": FAIRFACE_CLASSES["gender"][i % 2], "race": FAIRFACE_CLASSES["race"][i % 7],
                                "service_test": "True"})
        with open(folder / f"fairface_label_{split}.csv", "w", newline="") as fh:
            writer = csv.DictWriter(fh, fieldnames=["file", "age", "gender", "race", "service_test"])
            writer.writeheader()
            writer.writerows(rows[split])
    return rows


def test_fairface_loader_on_fixture(tmp_path, isolated_cache):
    make_fairface(tmp_path)
    data = load_fairface("val", image_size=24, root=tmp_path)
    assert data.images.shape == (5, 3, 24, 24)
    assert data.labels["gender"].tolist() == [0, 1, 0, 1, 0]
    assert data.labels["age"].tolist() == [0, 1, 2, 3, 4] and data.num_classes("race") == 7


def test_fairface_errors(tmp_path):
    with pytest.raises(DataUnavailableError, match="fairface_label_train.csv"):
        load_fairface("train", root=tmp_path)
    make_fairface(tmp_path)
    (tmp_path / "fairface" / "train" / "3.jpg").unlink()
    with pytest.raises(DataUnavailableError, match="missing"):
        load_fairface("train", root=tmp_path)
    with pytest.raises(ValueError, match="splits"):
        load_fairface("test", root=tmp_path)


def test_standin_marks_sit_in_their_true_regions():
    from debiaskit.patchattr.standin import MARKS, paint_mark, true_region

    gen = torch.Generator().manual_seed(0)
    blank = torch.zeros(50, 3, 32, 32)
    for name, mark in MARKS.items():
        present = torch.arange(50) % 2 == 0
        out = paint_mark(blank, present, mark, gen)
        changed = (out != blank).any(1)
        assert not changed[~present].any(), "absent marks leave the image untouched"
        assert changed[present].any(dim=(1, 2)).all()
        assert not changed[:, ~true_region(name)].any(), f"{name} stays inside its true region"


@needs_mnist  # the stand-in is built from Fashion-MNIST, which sits beside MNIST
def test_region_classifier_learns_a_mark_and_is_cached(isolated_cache):
    from debiaskit.experiments.patchattr import cached_region_classifier
    from debiaskit.patchattr.attribution import pixel_maps, region_maps
    from debiaskit.patchattr.fitting import FitConfig
    from debiaskit.patchattr.grid import PatchGrid
    from debiaskit.patchattr.localisation import region_iou
    from debiaskit.patchattr.standin import standin_faces, true_region

    data = standin_faces("train", limit=1500)
    grid = PatchGrid(32, 8, 13)
    cfg = FitConfig(epochs=6, batch_size=128, lr=5e-3, schedule="step", step_size=4)
    key = {"data": "standin-train-1500", "attribute": "corner"}
    model, hit = cached_region_classifier(data.images, data.labels["corner"], grid, 2, cfg, "small", cache_config=key,
                                          progress=False)
    again, hit2 = cached_region_classifier(data.images, data.labels["corner"], grid, 2, cfg, "small", cache_config=key,
                                           progress=False)
    assert not hit and hit2
    maps = region_maps(again, data.images[:100].float() / 255, grid)
    mean_pixel = pixel_maps(maps.mean(0), grid)
    assert region_iou(mean_pixel, true_region("corner"), "area").item() > 0.5
