"""The paper's real-world CelebA setting: Blond_Hair as the target, Wearing_Necktie (the collar) as
the artifact, loaded through :class:`torchvision.datasets.CelebA` into in-memory tensors.

CelebA cannot be downloaded reliably (Google Drive quotas) and is not available offline: place it
under ``<data root>/celeba/`` in torchvision's layout (``img_align_celeba/`` and the five
``list_*.txt``/``identity_CelebA.txt`` files). The artifact here is a real attribute, not pasted,
so the three test sets are: ``clean`` = test images without a necktie, ``as_trained`` = the whole
test split, ``attacked`` = test images with a necktie; there is no pixel mask (RRR and R_bias need one).
"""

from __future__ import annotations

import os
from pathlib import Path

import torch
from torchvision import datasets

from debiaskit.config import data_root
from debiaskit.data.biased import BiasedSplit
from debiaskit.data.sources import DataUnavailableError
from debiaskit.rrclarc.data import ArtifactBenchmark

CELEBA_FILES = ("list_attr_celeba.txt", "identity_CelebA.txt", "list_bbox_celeba.txt",
                "list_landmarks_align_celeba.txt", "list_eval_partition.txt")


class _CelebA(datasets.CelebA):
    """torchvision's CelebA; ``verify=False`` checks that the files exist instead of their MD5."""

    verify = True

    def _check_integrity(self) -> bool:
        if self.verify:
            return super()._check_integrity()
        folder = os.path.join(self.root, self.base_folder)
        return all(os.path.exists(os.path.join(folder, f)) for f in CELEBA_FILES) and \
            os.path.isdir(os.path.join(folder, "img_align_celeba"))


def open_celeba(root: str | Path | None = None, split: str = "train", verify: bool = True) -> datasets.CelebA:
    """torchvision's CelebA (attributes as targets); a clear error when the files are missing."""
    root = data_root(root)
    cls = type("CelebA", (_CelebA,), {"verify": verify})
    try:
        return cls(str(root), split=split, target_type="attr", download=False)
    except RuntimeError as exc:
        folder = root / "celeba"
        missing = [f for f in (*CELEBA_FILES, "img_align_celeba/") if not (folder / f.rstrip("/")).exists()]
        detail = f"missing: {', '.join(missing)}" if missing else "files present but their MD5 differs"
        raise DataUnavailableError(
            f"CelebA is not available under {folder} ({detail}; torchvision said: {exc}).\n"
            f"Download it from https://mmlab.ie.cuhk.edu.hk/projects/CelebA.html (Align&Cropped images "
            f"and the annotation files) into {folder} in torchvision's layout, or set DEBIASKIT_DATA / the "
            f"notebook's data_root parameter to the folder that holds celeba/.") from None


def _images(ds: datasets.CelebA, index: torch.Tensor, size: int) -> torch.Tensor:
    """uint8 images of the rows ``index``: the shorter side (178 px) resized to ``size``, then centre-cropped (the
    centre 178 x 178 square), decoded once and cached by :func:`debiaskit.data.image_folder.decode_cached`."""
    from debiaskit.data.image_folder import decode_cached

    folder = Path(ds.root) / ds.base_folder / "img_align_celeba"
    files = [folder / ds.filename[i] for i in index.tolist()]
    images, _ = decode_cached(f"CelebA-{ds.split}", files, [0] * len(files), size, "download CelebA again",
                              progress=True)
    return images


def _subset(n_all: int, n: int | None, gen: torch.Generator) -> torch.Tensor:
    perm = torch.randperm(n_all, generator=gen)
    return perm if n is None else perm[:n]


def celeba_benchmark(target: str = "Blond_Hair", artifact: str = "Wearing_Necktie", image_size: int = 128,
                     n_train: int | None = 16000, n_test: int | None = 4000, seed: int = 0,
                     root: str | Path | None = None, verify: bool = True) -> ArtifactBenchmark:
    """CelebA with ``target`` as the binary label and the attribute ``artifact`` as the bias, images
    center-cropped to 178 px and resized to ``image_size``; random subsets of the train and test
    splits of sizes ``n_train``/``n_test`` (None: all)."""
    gen = torch.Generator().manual_seed(seed)
    splits = {}
    for split, n in (("train", n_train), ("test", n_test)):
        ds = open_celeba(root, split, verify)
        for name in (target, artifact):
            if name not in ds.attr_names:
                raise ValueError(f"CelebA has no attribute {name!r}; choose from {', '.join(ds.attr_names[:40])}")
        index = _subset(len(ds), n, gen)
        attr = ds.attr[index]
        y = attr[:, ds.attr_names.index(target)].long()
        has = attr[:, ds.attr_names.index(artifact)].bool()
        x = _images(ds, index, image_size).float().div(255)
        splits[split] = BiasedSplit(x, y, has.long(), (y == 1) == has)
    test = splits["test"]
    has = test.bias.bool()
    return ArtifactBenchmark(
        name=f"CelebA {target} with {artifact} as the artifact",
        train=splits["train"], clean=test.subset(~has), as_trained=test, attacked=test.subset(has),
        mask=None, biased_class=1, num_classes=2,
        meta={"dataset": "celeba", "target": target, "artifact": artifact, "image_size": image_size,
              "n_train": n_train, "n_test": n_test, "seed": seed},
    )
