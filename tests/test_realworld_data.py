"""CelebA (HeavyMakeup x Male) and ImageNet-9 / ImageNet-A loaders on fixture folders made here, and the
offline stand-ins of CelebA, ImageNet-9 and Cartoon Set: their structure, determinism and group shares."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from conftest import needs_mnist, write_celeba
from PIL import Image

from debiaskit.data import celeba, imagenet9
from debiaskit.data.cartoon import PAIRS, cartoon, merge_classes
from debiaskit.data.cartoon_standin import (
    FACE_COLORS,
    HAIR_COLORS,
    LIPSTICK,
    PART_MOUTH,
    draw_avatars,
    render_avatars,
    sample_avatars,
)
from debiaskit.data.sources import DataUnavailableError

# --- CelebA -------------------------------------------------------------------------------------------------

def _write_celeba(root, n=18):
    """torchvision's CelebA layout with attributes Heavy_Makeup and Male; partitions 0/1/2 in turn."""
    makeup = [1 if i % 2 else -1 for i in range(n)]
    male = [1 if i % 4 in (0, 3) else -1 for i in range(n)]
    write_celeba(root, [Image.new("RGB", (20, 24), (10 * i, 100, 50)) for i in range(n)],
                 {"Heavy_Makeup": makeup, "Male": male}, [i % 3 for i in range(n)])
    return np.array(makeup) > 0, np.array(male) > 0


def test_celeba_makeup_uses_the_official_partitions_and_bias_as_not_male(tmp_path, isolated_cache):
    makeup, male = _write_celeba(tmp_path)
    bench = celeba.celeba_makeup(root=tmp_path, image_size=8, verify_checksums=False)
    for split, part in ((bench.train, 0), (bench.val, 1), (bench.test, 2)):
        rows = [i for i in range(18) if i % 3 == part]
        assert split.y.tolist() == makeup[rows].astype(int).tolist()
        assert split.bias.tolist() == (~male[rows]).astype(int).tolist()
        # majority = made-up women and bare-faced men
        assert split.major.tolist() == (makeup[rows] != male[rows]).tolist()
        assert split.x.shape == (6, 3, 8, 8) and split.x.dtype == torch.uint8
    assert bench.meta["dataset"] == "celeba" and bench.num_classes == 2
    assert len(celeba.celeba_makeup(root=tmp_path, image_size=8, limit=4, verify_checksums=False).train) == 4


def test_celeba_missing_says_what_to_download(tmp_path):
    with pytest.raises(DataUnavailableError, match="list_attr_celeba.txt"):
        celeba.celeba_makeup(root=tmp_path)


def test_celeba_standin_keeps_celeba_s_group_shares_and_a_balanced_test():
    bench = celeba.celeba_makeup_standin(seed=0, image_size=24, n_train=2000, n_test=400)
    full_major = int(bench.train.major.sum() + bench.val.major.sum())
    assert full_major / 2000 == pytest.approx(0.80, abs=0.001)
    y = torch.cat([bench.train.y, bench.val.y])
    b = torch.cat([bench.train.bias, bench.val.bias])
    assert int(((y == 1) & (b == 0)).sum()) == 10  # made-up "men": 0.5%
    counts = torch.bincount(bench.test.y * 2 + bench.test.bias, minlength=4)
    assert counts.tolist() == [100, 100, 100, 100]
    again = celeba.celeba_makeup_standin(seed=0, image_size=24, n_train=2000, n_test=400)
    assert torch.equal(again.train.x, bench.train.x) and torch.equal(again.test.y, bench.test.y)
    assert not torch.equal(celeba.celeba_makeup_standin(seed=1, image_size=24, n_train=2000, n_test=400).train.x,
                           bench.train.x)


def test_standin_make_up_paints_the_mouth_and_gender_picks_the_hair():
    x, makeup, male, attrs = celeba.draw_makeup_faces({(1, 1): 20, (0, 0): 20, (0, 1): 20, (1, 0): 20}, 48, seed=3,
                                                      return_attributes=True)
    assert makeup.sum() == 40 and male.sum() == 40
    feminine_style = np.isin(attrs["hair"], celeba.FEMININE_HAIR)
    assert (feminine_style == (male.numpy() == 0)).all()
    assert (attrs["makeup"] == makeup.numpy()).all()
    params = sample_avatars(4, seed=0)
    params.attributes["makeup"] = np.array([1, 0, 1, 0])
    images, parts = render_avatars(params, 48, return_parts=True)
    for i in range(4):
        mouth = images[i][:, parts[i] == PART_MOUTH]
        assert mouth.shape[1] > 0
        is_lipstick = bool((mouth == torch.tensor(LIPSTICK, dtype=torch.uint8).view(3, 1)).all())
        assert is_lipstick == bool(params.attributes["makeup"][i])


# --- ImageNet-9 / ImageNet-A ------------------------------------------------------------------------------

def _write_imagenet(root, with_a=True):
    """1,000 WNID folders (n00000000 ...); images only in two of ImageNet-9's classes and one other class."""
    wnids = [f"n{i:08d}" for i in range(1000)]
    for w in wnids:
        (root / "imagenet" / "train" / w).mkdir(parents=True)
        (root / "imagenet" / "val" / w).mkdir(parents=True)
    for split, k in (("train", 3), ("val", 1)):
        for c, index in enumerate((151, 281, 500)):  # dog, cat, a class outside ImageNet-9
            for i in range(k):
                Image.new("RGB", (30, 20), (c * 80, i * 20, 0)).save(root / "imagenet" / split / wnids[index] / f"{i}.JPEG")
    # every ImageNet-9 folder needs images: fill the rest with one each
    for name, indices in imagenet9.SUPERCLASSES.items():
        for index in indices:
            for split in ("train", "val"):
                folder = root / "imagenet" / split / wnids[index]
                if not any(folder.iterdir()):
                    Image.new("RGB", (20, 20), (255, 255, 255)).save(folder / "x.JPEG")
    if with_a:
        for index in (151, 30, 500):  # dog, frog, and a class ImageNet-A has that ImageNet-9 does not
            (root / "imagenet-a" / wnids[index]).mkdir(parents=True)
            Image.new("RGB", (16, 16), (0, 0, 255)).save(root / "imagenet-a" / wnids[index] / "a.jpg")
    return wnids


def test_imagenet9_classes_are_the_42_of_bahng_et_al():
    indices = [i for v in imagenet9.SUPERCLASSES.values() for i in v]
    assert len(indices) == 42 and len(set(indices)) == 42 and list(imagenet9.SUPERCLASSES) == list(imagenet9.NAMES)


def test_imagenet9_loader_on_a_fixture(tmp_path, monkeypatch):
    monkeypatch.setenv("DEBIASKIT_CACHE", str(tmp_path / "cache"))
    _write_imagenet(tmp_path)
    bench = imagenet9.imagenet9(root=tmp_path, image_size=8)
    assert bench.num_classes == 9 and bench.train.x.dtype == torch.uint8 and bench.train.x.shape[1:] == (3, 8, 8)
    # dog and cat fixtures (3 images each), one image in each of the other 40 classes; 10% held out for validation
    assert len(bench.train) + len(bench.val) == 3 + 3 + 40 and len(bench.val) == 5
    y = torch.cat([bench.train.y, bench.val.y])
    assert int((y == 0).sum()) == 7 and int((y == 1).sum()) == 7  # 3 + 4 padding folders
    assert sorted(bench.test.y.tolist()) == [0, 2]  # dog and frog; the class outside ImageNet-9 is ignored
    assert not bool(bench.test.major.any()) and bool(bench.train.major.all())


def test_imagenet_missing_says_what_to_download(tmp_path):
    with pytest.raises(DataUnavailableError, match="1,000 WNID class folders") as err:
        imagenet9.imagenet9(root=tmp_path)
    assert "DEBIASKIT_DATA" in str(err.value)
    _write_imagenet(tmp_path, with_a=False)
    with pytest.raises(DataUnavailableError, match="natural-adv-examples"):
        imagenet9.load_imagenet9_split("imagenet-a", root=tmp_path, image_size=8)


@needs_mnist
def test_imagenet9_standin_backgrounds_follow_the_class_in_training_and_never_in_test():
    bench = imagenet9.imagenet9_standin(seed=0, image_size=32, n_train=900, n_val=100, n_test=300, bias_ratio=0.9)
    full_major = int(bench.train.major.sum() + bench.val.major.sum())
    assert full_major == 900
    assert not bool(bench.test.major.any()) and bool((bench.test.bias != bench.test.y).all())
    assert bench.train.x.dtype == torch.uint8 and bench.num_classes == 9 and int(bench.train.y.max()) <= 8
    # the corner pixel (no garment there) lies between its scene's two colours, nearer them than other scenes'
    colours = torch.tensor([[a, b] for a, b, _ in imagenet9.SCENES], dtype=torch.float32)  # [9, 2, 3]
    for split in (bench.train, bench.test):
        corner = split.x[:, :, 0, 0].float()  # [N, 3]
        # distance of the pixel to the segment between each scene's two colours
        a, b = colours[:, 0][None], colours[:, 1][None]
        t = (((corner[:, None] - a) * (b - a)).sum(-1) / ((b - a) ** 2).sum(-1)).clamp(0, 1)
        dist = (corner[:, None] - (a + t[..., None] * (b - a))).norm(dim=-1)
        assert (dist.argmin(1) == split.bias).float().mean() > 0.9
    again = imagenet9.imagenet9_standin(seed=0, image_size=32, n_train=900, n_val=100, n_test=300, bias_ratio=0.9)
    assert torch.equal(again.train.x, bench.train.x)
    with pytest.raises(ValueError, match="bias_ratio"):
        imagenet9.imagenet9_standin(bias_ratio=0.0)


def test_backgrounds_are_told_apart_by_their_colours():
    gen = torch.Generator().manual_seed(0)
    scene = torch.arange(9).repeat_interleave(20)
    bg = imagenet9.render_backgrounds(scene, 16, gen)
    mean = bg.mean((2, 3))  # [180, 3]
    centroids = torch.stack([mean[scene == s].mean(0) for s in range(9)])
    nearest = torch.cdist(mean, centroids).argmin(1)
    assert (nearest == scene).float().mean() > 0.95


# --- the Cartoon Set stand-in -------------------------------------------------------------------------------

def test_cartoon_standin_renders_the_drawn_hair_and_face_colours():
    images, attrs = draw_avatars(64, image_size=48, seed=0)
    params = sample_avatars(64, seed=0)
    _, parts = render_avatars(params, 48, return_parts=True)
    for i in range(64):
        for part, palette, key in ((2, FACE_COLORS, "face_color"), (1, HAIR_COLORS, "hair_color")):
            pixels = images[i][:, parts[i] == part]
            if pixels.shape[1]:
                assert (pixels == torch.tensor(palette[attrs[key][i]], dtype=torch.uint8).view(3, 1)).all()


def test_rendering_a_subset_equals_the_subset_of_the_full_rendering():
    params = sample_avatars(50, seed=1)
    full = render_avatars(params, 32, chunk=16)
    idx = np.array([3, 17, 42])
    assert torch.equal(render_avatars(params.subset(idx), 32), full[torch.from_numpy(idx)])


def test_cartoon_benchmark_on_the_standin_has_the_draft_s_structure():
    b = cartoon(0.95, seed=0, source="standin", n_avatars=6000, image_size=24)
    assert b.meta["source"] == "standin" and "stand-in" in b.name and b.num_classes == 4
    full_major = int(b.train.major.sum() + b.val.major.sum())
    assert full_major / (len(b.train) + len(b.val)) == pytest.approx(0.95, abs=0.005)
    assert abs(b.test.minority_ratio - 0.5) < 0.01
    params = sample_avatars(6000, seed=0)
    hair = merge_classes(params.attributes["hair_color"], PAIRS)
    assert len(b.train) + len(b.val) + len(b.test) <= int((hair >= 0).sum())
    with pytest.raises(ValueError, match="source"):
        cartoon(0.95, source="web")
