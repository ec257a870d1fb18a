"""The paper's real-world CelebA setting: Blond_Hair as the target, Wearing_Necktie (the collar) as
the artifact, loaded through :func:`debiaskit.data.faces.open_celeba` into in-memory tensors.

CelebA cannot be downloaded reliably (Google Drive quotas) and is not available offline: place it
under ``<data root>/celeba/`` in torchvision's layout (``img_align_celeba/`` and the five
``list_*.txt``/``identity_CelebA.txt`` files). The artifact here is a real attribute, not pasted,
so the three test sets are: ``clean`` = test images without a necktie, ``as_trained`` = the whole
test split, ``attacked`` = test images with a necktie; there is no pixel mask (RRR and R_bias need one).
"""

from __future__ import annotations

from pathlib import Path

import torch

from debiaskit.core.splits import BiasedSplit
from debiaskit.data.faces import celeba_images, open_celeba
from debiaskit.rrclarc.data import ArtifactBenchmark


def _subset(n_all: int, n: int | None, gen: torch.Generator) -> torch.Tensor:
    perm = torch.randperm(n_all, generator=gen)
    return perm if n is None else perm[:n]


def celeba_benchmark(target: str = "Blond_Hair", artifact: str = "Wearing_Necktie", image_size: int = 128,
                     n_train: int | None = 16000, n_test: int | None = 4000, seed: int = 0,
                     root: str | Path | None = None, verify: bool = True) -> ArtifactBenchmark:
    """CelebA with ``target`` as the binary label and the attribute ``artifact`` as the bias, images read by
    :func:`debiaskit.data.faces.celeba_images` (shorter side resized to ``image_size``, centre crop); random
    subsets of the train and test splits of sizes ``n_train``/``n_test`` (None: all)."""
    gen = torch.Generator().manual_seed(seed)
    splits = {}
    for split, n in (("train", n_train), ("test", n_test)):
        ds = open_celeba(split, root, verify)
        for name in (target, artifact):
            if name not in ds.attr_names:
                raise ValueError(f"CelebA has no attribute {name!r}; choose from {', '.join(ds.attr_names[:40])}")
        index = _subset(len(ds), n, gen)
        attr = ds.attr[index]
        y = attr[:, ds.attr_names.index(target)].long()
        has = attr[:, ds.attr_names.index(artifact)].bool()
        x = celeba_images(ds, index, image_size, progress=True).float().div(255)
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
