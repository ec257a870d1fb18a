"""Face data sets of the paper as in-memory tensors: CelebA (torchvision) and FairFace (CSV + folders).

Both give an :class:`AttributeImages`: uint8 images [N, 3, S, S] (read by :mod:`debiaskit.data.image_folder`:
shorter side resized to S, centre crop; the paper resizes the aligned faces to 128 x 128) and a dict of
integer labels per attribute.
Reading the labels is cheap; images are decoded only for the indices asked for.

Layouts under the data root (``$DEBIASKIT_DATA``):

* CelebA, torchvision's: ``celeba/img_align_celeba/*.jpg``, ``celeba/list_attr_celeba.txt``,
  ``celeba/list_eval_partition.txt``, ``celeba/identity_CelebA.txt``, ``celeba/list_bbox_celeba.txt``,
  ``celeba/list_landmarks_align_celeba.txt``.
* FairFace: ``fairface/fairface_label_train.csv`` and ``fairface/fairface_label_val.csv`` with columns
  ``file,age,gender,race,service_test`` and the image folders they name (``train/1.jpg``, ``val/1.jpg``).
"""

from __future__ import annotations

import csv
from dataclasses import dataclass, field
from pathlib import Path

import torch

from debiaskit.core.config import DATA_ENV, data_root
from debiaskit.data.image_folder import decode_cached
from debiaskit.data.sources import DataUnavailableError

CELEBA_FILES = ("list_attr_celeba.txt", "list_eval_partition.txt", "identity_CelebA.txt", "list_bbox_celeba.txt",
                "list_landmarks_align_celeba.txt")
#: FairFace's label names per attribute: ``FAIRFACE_CLASSES[a][i]`` names label ``i`` of attribute ``a``.
FAIRFACE_CLASSES = {
    "age": ["0-2", "3-9", "10-19", "20-29", "30-39", "40-49", "50-59", "60-69", "more than 70"],
    "gender": ["Male", "Female"],
    "race": ["White", "Black", "Latino_Hispanic", "East Asian", "Southeast Asian", "Indian", "Middle Eastern"],
}


@dataclass
class AttributeImages:
    """Images with per-attribute integer labels; ``classes[a]`` names attribute ``a``'s labels."""

    images: torch.Tensor
    labels: dict[str, torch.Tensor]
    classes: dict[str, list[str]] = field(default_factory=dict)

    def __len__(self) -> int:
        return len(self.images)

    def subset(self, index: torch.Tensor) -> "AttributeImages":
        return AttributeImages(self.images[index], {k: v[index] for k, v in self.labels.items()}, self.classes)

    def num_classes(self, attribute: str) -> int:
        if attribute not in self.labels:
            raise KeyError(f"no attribute {attribute!r}; available: {sorted(self.labels)}")
        return len(self.classes.get(attribute) or [0, 1])


def celeba_images(ds, rows: torch.Tensor, image_size: int, progress: bool = False) -> torch.Tensor:
    """uint8 [N, 3, S, S] of the rows ``rows`` of a torchvision CelebA (:func:`open_celeba`), read by
    :func:`debiaskit.data.image_folder.decode_cached` (decoded once, cached)."""
    folder = Path(ds.root) / ds.base_folder / "img_align_celeba"
    return decode_cached(f"CelebA-{ds.split}", [folder / ds.filename[i] for i in rows.tolist()], image_size,
                         "download CelebA again (torchvision layout)", progress=progress)[0]


def _missing(name: str, root: Path, problems: list[str], hint: str) -> DataUnavailableError:
    lines = "\n  ".join(problems)
    return DataUnavailableError(
        f"{name} is not available under the data root {root}.\n  {lines}\n{hint}\n"
        f"Set {DATA_ENV} (or the notebook's `data_root` parameter) to the folder that holds it."
    )


def open_celeba(split: str = "train", root: str | Path | None = None, verify_checksums: bool = True):
    """torchvision's ``CelebA(root, split, target_type="attr", download=False)``.

    ``verify_checksums=False`` only checks that the files exist (for tests and re-packed copies).
    """
    from torchvision.datasets import CelebA

    base = data_root(root)
    folder = base / "celeba"
    problems = [f"missing {folder / f}" for f in CELEBA_FILES if not (folder / f).exists()]
    if not (folder / "img_align_celeba").is_dir():
        problems.append(f"missing folder {folder / 'img_align_celeba'}")
    if problems:
        raise _missing("CelebA", base, problems, "Download it with torchvision.datasets.CelebA(root, download=True) "
                       "or from https://mmlab.ie.cuhk.edu.hk/projects/CelebA.html (Align&Cropped images + annotation "
                       "files) into <root>/celeba/.")
    cls = CelebA if verify_checksums else _existence_checked(CelebA)
    try:
        return cls(str(base), split=split, target_type="attr", download=False)
    except RuntimeError as exc:
        raise _missing("CelebA", base, [f"torchvision rejected the files: {exc}"],
                       "An annotation file's MD5 differs from torchvision's; re-download it (or pass "
                       "verify_checksums=False for a re-packed copy).") from None


def _existence_checked(celeba_cls):
    """``celeba_cls`` with its MD5 check replaced by a check that the files exist."""

    class ExistenceChecked(celeba_cls):
        def _check_integrity(self) -> bool:
            folder = Path(self.root) / self.base_folder
            return all((folder / f).exists() for f in CELEBA_FILES) and (folder / "img_align_celeba").is_dir()

    return ExistenceChecked


def celeba_labels(dataset, attributes: list[str] | None = None) -> dict[str, torch.Tensor]:
    """0/1 labels of the named CelebA attributes (all 40 when ``None``)."""
    names = [n for n in dataset.attr_names if n]
    attributes = attributes or names
    unknown = sorted(set(attributes) - set(names))
    if unknown:
        raise KeyError(f"unknown CelebA attributes {unknown}; known: {names}")
    return {a: dataset.attr[:, names.index(a)].long() for a in attributes}


def load_celeba(split: str = "train", attributes: list[str] | None = None, image_size: int = 128,
                index: torch.Tensor | None = None, root: str | Path | None = None,
                verify_checksums: bool = True) -> AttributeImages:
    """CelebA ``split`` (``train``/``valid``/``test``) as :class:`AttributeImages`; ``index`` picks rows."""
    ds = open_celeba(split, root, verify_checksums)
    labels = celeba_labels(ds, attributes)
    rows = torch.arange(len(ds.filename)) if index is None else torch.as_tensor(index)
    images = celeba_images(ds, rows, image_size, progress=True)
    return AttributeImages(images, {k: v[rows] for k, v in labels.items()}, {k: ["no", "yes"] for k in labels})


def read_fairface_labels(split: str = "train", root: str | Path | None = None) -> tuple[list[Path], dict[str, torch.Tensor]]:
    """Image paths and age/gender/race labels (indices into :data:`FAIRFACE_CLASSES`) of a FairFace split."""
    if split not in ("train", "val"):
        raise ValueError(f"FairFace splits are 'train' and 'val', got {split!r}")
    base = data_root(root)
    folder = base / "fairface"
    table = folder / f"fairface_label_{split}.csv"
    if not table.exists():
        raise _missing("FairFace", base, [f"missing {table}"],
                       "Get the label CSVs and the image zip from https://github.com/joojs/fairface and unpack "
                       "them into <root>/fairface/ (train/ and val/ folders beside the CSVs).")
    paths, labels = [], {k: [] for k in FAIRFACE_CLASSES}
    with open(table, newline="") as fh:
        reader = csv.DictReader(fh)
        missing_cols = {"file", *FAIRFACE_CLASSES} - set(reader.fieldnames or [])
        if missing_cols:
            raise ValueError(f"{table} lacks the columns {sorted(missing_cols)} (expected file,age,gender,race,service_test)")
        for row in reader:
            paths.append(folder / row["file"])
            for k, names in FAIRFACE_CLASSES.items():
                if row[k] not in names:
                    raise ValueError(f"{table}: unknown {k} value {row[k]!r} (known: {names})")
                labels[k].append(names.index(row[k]))
    absent = [p for p in paths if not p.exists()]
    if absent:
        raise _missing("FairFace", base, [f"{len(absent)} images listed in {table.name} are missing, e.g. {absent[0]}"],
                       "Unpack the FairFace image zip next to the CSVs.")
    return paths, {k: torch.tensor(v) for k, v in labels.items()}


def load_fairface(split: str = "train", image_size: int = 128, index: torch.Tensor | None = None,
                  root: str | Path | None = None) -> AttributeImages:
    """FairFace ``split`` (``train``/``val``) as :class:`AttributeImages` with age, gender and race."""
    paths, labels = read_fairface_labels(split, root)
    rows = torch.arange(len(paths)) if index is None else torch.as_tensor(index)
    images, _ = decode_cached(f"FairFace-{split}", [paths[i] for i in rows.tolist()], image_size,
                              "download FairFace again", progress=True)
    return AttributeImages(images, {k: v[rows] for k, v in labels.items()}, dict(FAIRFACE_CLASSES))
