"""ImageNet-9 / ImageNet-A as the PGD draft's real-world benchmark (Section 6.1.2, Appendix B.2, Table 9).

ImageNet-9 (Bahng et al. 2020) groups 42 ImageNet classes into nine super-classes; the model trains on
ImageNet's training images of those classes and is tested on ImageNet-A (Hendrycks et al. 2019), whose
images are ImageNet's failure cases, often with unusual backgrounds. :data:`SUPERCLASSES` lists the 42
classes as 0-based indices into the sorted WNID folders of ImageNet's ``train`` folder (the ReBias code's
convention, ../shared/REFERENCE.md); ImageNet-A keeps only folders of those WNIDs (crab has none).

Layout under the data root (``<root>``): ``imagenet/train/<wnid>/*.JPEG`` (all 1,000 class folders, as
torchvision's ``ImageFolder`` reads them), ``imagenet/val/<wnid>/*.JPEG`` (the validation images sorted
into class folders; not used by :func:`imagenet9`) and ``imagenet-a/<wnid>/*.jpg`` (the ImageNet-A release).
The validation split is 10% of the training images (Appendix A.1). No bias labels exist: training and
validation images are marked majority (``bias = y``), ImageNet-A minority (``bias = -1``).

:func:`imagenet9_standin` is the offline stand-in with the same structure: nine Fashion-MNIST garment classes
pasted on class-typical procedural backgrounds (a class's own background with probability ``bias_ratio`` in
training), tested on images whose background is always another class's, i.e. unusual for the object.
"""

from __future__ import annotations

from pathlib import Path

import torch
import torch.nn.functional as F

from debiaskit.core.config import DATA_ENV, data_root
from debiaskit.core.splits import BiasedBenchmark, BiasedSplit, choose_minority, other_label, split_validation
from debiaskit.data.image_folder import decode_cached, list_images
from debiaskit.data.sources import DataUnavailableError, load_fashion_mnist

#: ImageNet-9's super-classes, in label order (label ``c`` is ``NAMES[c]``).
NAMES = ("dog", "cat", "frog", "turtle", "bird", "monkey", "fish", "crab", "insect")
SUPERCLASSES = {
    "dog": (151, 207, 234, 235, 254), "cat": (281, 282, 283, 284, 285), "frog": (30, 31, 32),
    "turtle": (33, 34, 35, 36, 37), "bird": (89, 90, 94, 96, 97), "monkey": (372, 373, 374, 375, 378),
    "fish": (393, 394, 395, 396, 397), "crab": (118, 119, 120, 121), "insect": (306, 307, 308, 309, 310),
}
"""Super-class -> ImageNet class indices (0-based, sorted WNIDs), Bahng et al. 2020's ImageNet-9."""
URL_IMAGENET = "https://image-net.org/download.php"
URL_IMAGENET_A = "https://github.com/hendrycks/natural-adv-examples"


def imagenet_wnids(root: str | Path | None = None) -> list[str]:
    """The sorted WNID folders of ImageNet's training folder (1,000 of them), or a clear error."""
    base = data_root(root)
    train = base / "imagenet" / "train"
    wnids = sorted(p.name for p in train.iterdir() if p.is_dir()) if train.is_dir() else []
    if len(wnids) != 1000:
        found = f"found {len(wnids)} class folders" if train.is_dir() else "the folder is missing"
        raise DataUnavailableError(
            f"ImageNet is not available under the data root {base}: {train} must hold the 1,000 WNID class folders "
            f"of ILSVRC-2012's training set ({found}).\nDownload ILSVRC-2012 from {URL_IMAGENET}, extract train/ and "
            f"val/ (val sorted into WNID folders) to {base / 'imagenet'}, and set {DATA_ENV} (or the notebook's "
            f"`data_root` parameter) to {base}.")
    return wnids


def superclass_of_wnid(wnids: list[str]) -> dict[str, int]:
    """WNID -> super-class index (:data:`NAMES` order) for the 42 classes of ImageNet-9."""
    return {wnids[i]: c for c, name in enumerate(NAMES) for i in SUPERCLASSES[name]}


def _folder_files(folders: list[Path], labels: list[int], hint: str) -> tuple[list[Path], list[int]]:
    files, ys = [], []
    for folder, label in zip(folders, labels):
        found = list_images(folder, hint)
        files += found
        ys += [label] * len(found)
    return files, ys


def load_imagenet9_split(split: str = "train", root: str | Path | None = None, image_size: int = 128,
                         progress: bool = False) -> tuple[torch.Tensor, torch.Tensor]:
    """``(uint8 images, super-class labels)`` of ImageNet-9's ``train`` or ``val`` images, or of ImageNet-A's
    images of its classes (``split="imagenet-a"``); decoded once and cached."""
    if split not in ("train", "val", "imagenet-a"):
        raise ValueError(f"split must be 'train', 'val' or 'imagenet-a', got {split!r}")
    base = data_root(root)
    wnids = imagenet_wnids(root)
    classes = superclass_of_wnid(wnids)
    if split == "imagenet-a":
        folder = base / "imagenet-a"
        present = sorted(p.name for p in folder.iterdir() if p.is_dir() and p.name in classes) if folder.is_dir() else []
        if not present:
            raise DataUnavailableError(
                f"ImageNet-A is not available under the data root {base}: {folder} holds no class folder of "
                f"ImageNet-9's classes.\nDownload imagenet-a.tar from {URL_IMAGENET_A} and extract it to {folder}.")
        hint = f"download ImageNet-A again from {URL_IMAGENET_A}"
        folders = [folder / w for w in present]
    else:
        hint = f"download ILSVRC-2012 again from {URL_IMAGENET}"
        present = sorted(classes)
        folders = [base / "imagenet" / split / w for w in present]
        missing = [str(f) for f in folders if not f.is_dir()]
        if missing:
            raise DataUnavailableError(f"ImageNet's {split} folder lacks ImageNet-9's class folders {missing[:3]}...; "
                                       f"sort the {split} images into WNID folders ({hint}).")
    files, ys = _folder_files(folders, [classes[w] for w in present], hint)
    return decode_cached(f"imagenet9-{split}", files, image_size, hint, ys, progress)


def imagenet9(seed: int = 0, root: str | Path | None = None, image_size: int = 128, val_fraction: float = 0.1,
              progress: bool = False) -> BiasedBenchmark:
    """ImageNet-9's training images less ``val_fraction`` held out at random (``seed``) as the validation split
    (Appendix A.1, "a validation set of 10% of the training set"), and ImageNet-A for testing (module
    docstring)."""
    x, y = load_imagenet9_split("train", root, image_size, progress)
    x_test, y_test = load_imagenet9_split("imagenet-a", root, image_size, progress)
    train, val = split_validation(BiasedSplit(x, y, y.clone()), val_fraction, torch.Generator().manual_seed(seed))
    return BiasedBenchmark(name="ImageNet-9 / ImageNet-A", train=train, val=val,
                           test=BiasedSplit(x_test, y_test, torch.full_like(y_test, -1)), num_classes=len(NAMES),
                           meta={"dataset": "imagenet9", "seed": seed, "image_size": image_size,
                                 "val_fraction": val_fraction, "class_names": list(NAMES)})


# --- the offline stand-in -------------------------------------------------------------------------------

SCENES = (((70, 130, 200), (230, 220, 170), "horizontal"),   # sky over sand
          ((40, 110, 50), (120, 170, 80), "vertical"),       # forest
          ((20, 60, 140), (60, 140, 200), "waves"),          # water
          ((150, 100, 60), (200, 160, 110), "checker"),      # wooden floor
          ((180, 180, 190), (110, 110, 120), "diagonal"),    # street
          ((200, 80, 60), (240, 170, 90), "rings"),          # sunset
          ((90, 60, 120), (170, 140, 200), "horizontal"),    # dusk
          ((230, 230, 240), (180, 200, 230), "checker"),     # snow and ice
          ((100, 80, 40), (160, 140, 60), "waves"))          # savannah
"""Nine procedural backgrounds, one typical of each stand-in class: two colours and a pattern."""


def render_backgrounds(scene: torch.Tensor, size: int, gen: torch.Generator) -> torch.Tensor:
    """Float backgrounds [N, 3, size, size] in [0, 1] of the scenes ``scene`` [N], with random pattern
    frequency, phase and pixel noise (deterministic for ``gen``)."""
    n = len(scene)
    coords = torch.arange(size, dtype=torch.float32) / size
    yy, xx = coords.view(1, size, 1), coords.view(1, 1, size)
    freq = (2.0 + 3.0 * torch.rand(n, generator=gen)).view(n, 1, 1)
    phase = torch.rand(n, generator=gen).view(n, 1, 1)
    kinds = {"horizontal": yy + 0 * xx, "vertical": xx + 0 * yy, "diagonal": (xx + yy) / 2,
             "waves": yy + 0.08 * torch.sin(12.0 * xx), "rings": ((xx - 0.5) ** 2 + (yy - 0.5) ** 2).sqrt()}
    pattern = torch.empty(n, size, size)
    for s, (_, _, kind) in enumerate(SCENES):
        sel = (scene == s).nonzero(as_tuple=True)[0]
        if len(sel) == 0:
            continue
        if kind == "checker":
            mix = ((torch.floor(xx * freq[sel] * 2) + torch.floor(yy * freq[sel] * 2)) % 2)
        else:
            mix = 0.5 + 0.5 * torch.sin(2 * torch.pi * (kinds[kind] * freq[sel] + phase[sel]))
        pattern[sel] = mix.expand(len(sel), size, size)
    colours = torch.tensor([[a, b] for a, b, _ in SCENES], dtype=torch.float32) / 255.0  # [9, 2, 3]
    c = colours[scene]
    bg = c[:, 0, :, None, None] * (1 - pattern[:, None]) + c[:, 1, :, None, None] * pattern[:, None]
    return (bg + 0.04 * torch.randn(bg.shape, generator=gen)).clamp(0, 1)


def composite_objects(garments: torch.Tensor, scene: torch.Tensor, image_size: int, gen: torch.Generator) -> torch.Tensor:
    """uint8 images: Fashion-MNIST garments (uint8 [N, 28, 28], grey) pasted on the backgrounds of ``scene``."""
    g = F.pad(garments.float().div(255.0), (2, 2, 2, 2)).unsqueeze(1)  # [N, 1, 32, 32]
    bg = render_backgrounds(scene, 32, gen)
    alpha = (g * 3.0).clamp(0, 1)
    out = alpha * g.expand(-1, 3, -1, -1) + (1 - alpha) * bg
    if image_size != 32:
        out = F.interpolate(out, size=(image_size, image_size), mode="bilinear", antialias=True, align_corners=False)
    return out.mul(255).round().clamp(0, 255).to(torch.uint8)


def _draw(train: bool, n: int, bias_ratio: float | None, image_size: int, gen: torch.Generator,
          root: str | Path | None) -> BiasedSplit:
    x, y = load_fashion_mnist(train=train, root=root)
    keep = (y < len(NAMES)).nonzero(as_tuple=True)[0]
    if n > len(keep):
        raise ValueError(f"the stand-in has {len(keep)} {'training' if train else 'test'} garments, asked for {n}")
    pick = keep[torch.randperm(len(keep), generator=gen)[:n]]
    labels = y[pick].long()
    if bias_ratio is None:  # ImageNet-A-like: always another class's background
        scene = other_label(labels, len(NAMES), gen)
    else:
        scene = torch.where(choose_minority(n, 1 - bias_ratio, gen), other_label(labels, len(NAMES), gen), labels)
    return BiasedSplit(composite_objects(x[pick], scene, image_size, gen), labels, scene)


def imagenet9_standin(seed: int = 0, image_size: int = 32, n_train: int = 4000, n_val: int = 400, n_test: int = 1000,
                      bias_ratio: float = 0.9, root: str | Path | None = None) -> BiasedBenchmark:
    """The offline ImageNet-9 / ImageNet-A stand-in (module docstring): training and validation images show
    their class's own background with probability ``bias_ratio`` (else another class's), test images always
    another class's (all bias-conflicting, as ImageNet-A's unusual backgrounds); deterministic for ``seed``."""
    if not 0.0 < bias_ratio <= 1.0:
        raise ValueError(f"bias_ratio must be in (0, 1], got {bias_ratio}")
    gen = torch.Generator().manual_seed(seed)
    train_val = _draw(True, n_train + n_val, bias_ratio, image_size, gen, root)
    order = torch.randperm(n_train + n_val, generator=gen)
    train, val = train_val.subset(order[:n_train]), train_val.subset(order[n_train:])
    test = _draw(False, n_test, None, image_size, gen, root)
    return BiasedBenchmark(name=f"ImageNet-9/A stand-in (backgrounds {100 * bias_ratio:g}%)", train=train, val=val,
                           test=test, num_classes=len(NAMES),
                           meta={"dataset": "imagenet9", "standin": True, "seed": seed, "image_size": image_size,
                                 "n_train": n_train, "n_val": n_val, "n_test": n_test, "bias_ratio": bias_ratio,
                                 "class_names": [f"{name} (garment {c})" for c, name in enumerate(NAMES)]})
