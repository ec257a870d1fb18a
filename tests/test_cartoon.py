"""The Cartoon Set loader on a fixture folder in the public layout, and its error when the data are missing."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from PIL import Image

from debiaskit.data.cartoon import cartoon, load_cartoonset, merge_classes, read_attributes
from debiaskit.data.sources import DataUnavailableError

OTHER_ATTRIBUTES = ["eye_angle", "eye_lashes", "eye_lid", "chin_length", "eyebrow_weight", "eyebrow_shape",
                    "eyebrow_thickness", "face_shape", "facial_hair", "hair", "eye_color", "glasses",
                    "glasses_color", "eye_slant", "eyebrow_width", "eye_eyebrow_distance"]


def _write_avatar(folder, name, hair, face, rng):
    rows = [f'"{a}", {int(rng.integers(0, 3))}, 3' for a in OTHER_ATTRIBUTES]
    rows.insert(10, f'"face_color", {face}, 11')
    rows.insert(11, f'"hair_color", {hair}, 10')
    (folder / f"{name}.csv").write_text("\n".join(rows) + "\n")
    rgba = np.zeros((40, 40, 4), dtype=np.uint8)
    rgba[5:35, 5:35] = [20 * hair, 10 * face, 100, 255]  # opaque face; transparent border
    Image.fromarray(rgba, "RGBA").save(folder / f"{name}.png")


@pytest.fixture
def cartoon_root(tmp_path):
    """A data root holding cartoonset/ with 400 avatars in two sub-folders (as cartoonset100k has)."""
    rng = np.random.default_rng(0)
    for part in ("0", "1"):
        (tmp_path / "cartoonset" / part).mkdir(parents=True)
    for i in range(400):
        # 60% majority (merged hair == merged face), the rest spread over other pairs; a few outside the groups
        hair = int(rng.integers(0, 10))
        face = hair if rng.random() < 0.6 else int(rng.integers(0, 11))
        _write_avatar(tmp_path / "cartoonset" / str(i % 2), f"cs{i:05d}", hair, face, rng)
    return tmp_path


def test_read_attributes_and_merge(cartoon_root):
    attrs = read_attributes(next((cartoon_root / "cartoonset").rglob("*.csv")))
    assert len(attrs) == 18 and {"hair_color", "face_color"} <= set(attrs)
    merged = merge_classes(np.array([0, 1, 2, 3, 6, 7, 8, 9, 10]), ((0, 1), (2, 3), (4, 5), (6, 7)))
    assert merged.tolist() == [0, 0, 1, 1, 3, 3, -1, -1, -1]


def test_loader_reads_images_and_attributes(cartoon_root):
    images, attrs = load_cartoonset(cartoon_root, image_size=16)
    assert images.shape == (400, 3, 16, 16) and images.dtype == torch.uint8
    assert len(attrs["hair_color"]) == 400
    # transparent pixels are white, the opaque square keeps its colour
    assert images[:, :, 0, 0].eq(255).all()
    first_csv = sorted((cartoon_root / "cartoonset").rglob("*.csv"))[0]
    hair = read_attributes(first_csv)["hair_color"]
    assert int(images[0, 0, 8, 8]) == pytest.approx(20 * hair, abs=2)


@pytest.mark.parametrize("ratio", [0.95, 0.8])
def test_cartoon_benchmark_structure(cartoon_root, ratio):
    b = cartoon(ratio, seed=0, root=cartoon_root, image_size=16)
    assert b.num_classes == 4 and b.train.x.shape[1:] == (3, 16, 16)
    full_major = int(b.train.major.sum() + b.val.major.sum())
    full = len(b.train) + len(b.val)
    assert full_major / full == pytest.approx(ratio, abs=0.02)
    for s in (b.train, b.val, b.test):
        assert s.y.max() < 4 and s.bias.max() < 4 and s.y.min() >= 0
        assert torch.equal(s.major, s.y == s.bias)
    assert abs(b.test.minority_ratio - 0.5) < 0.02
    again = cartoon(ratio, seed=0, root=cartoon_root, image_size=16)
    assert torch.equal(again.train.x, b.train.x) and torch.equal(again.test.y, b.test.y)


def test_missing_cartoonset_says_where_to_put_it(tmp_path):
    with pytest.raises(DataUnavailableError, match=r"cartoonset.*google.github.io/cartoonset"):
        cartoon(0.99, root=tmp_path)


def test_png_missing_beside_its_csv(cartoon_root):
    victim = next((cartoon_root / "cartoonset").rglob("*.png"))
    victim.unlink()
    with pytest.raises(DataUnavailableError, match="missing"):
        load_cartoonset(cartoon_root, image_size=8)
