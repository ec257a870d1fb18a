"""CelebA as the PGD draft's real-world benchmark (Section 6.1.2, Appendix B.2, Table 8): target
``Heavy_Makeup``, bias ``Male``, the official train / valid / test partitions.

The bias attribute is expressed in the target's label space, ``bias = 1 - Male`` ("looks female", which goes
with make-up), so that the majority set M is ``y == bias`` (made-up women, bare-faced men) and the minority
set m the rest (bare-faced women, made-up men), as Table 8's "major" and "minor" columns are.

:func:`celeba_makeup` loads the real data set through torchvision's ``CelebA`` layout (``<root>/celeba/``,
see :func:`debiaskit.data.faces.open_celeba`, which says what to download when it is missing).
:func:`celeba_makeup_standin` draws an offline stand-in with the same structure from the procedural avatars
of :mod:`debiaskit.data.cartoon_standin`: a gender-like cue that is large and easy (hair style: long, bun or
volume vs short, spikes or fringe) and a make-up-like target that is smaller (lipstick on fuller lips, rouged
cheeks, eye shadow on the brows), with
the real training set's group shares (M about 80% of it) and a test set balanced over the four groups.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from debiaskit.core.splits import BiasedBenchmark, BiasedSplit, split_validation

TARGET, BIAS = "Heavy_Makeup", "Male"
TRAIN_GROUP_SHARES = {(1, 1): 0.385, (0, 0): 0.415, (0, 1): 0.195, (1, 0): 0.005}
"""Shares of (make-up, looks-female) in the stand-in's training set: about CelebA's own for Heavy_Makeup x
Male (made-up men are almost absent), so ``|M| / |D| = 0.80``."""
FEMININE_HAIR, MASCULINE_HAIR = (2, 3, 5), (0, 1, 4)
"""Avatar hair styles (``cartoon_standin.HAIR_STYLES``) of the gender-like cue: long, bun, volume / short,
fringe, spikes."""


def _split(x: torch.Tensor, makeup: torch.Tensor, male: torch.Tensor) -> BiasedSplit:
    return BiasedSplit(x, makeup.long(), 1 - male.long())


def celeba_makeup(seed: int = 0, root: str | Path | None = None, image_size: int = 128, limit: int | None = None,
                  verify_checksums: bool = True) -> BiasedBenchmark:
    """The real CelebA benchmark: official ``train`` / ``valid`` / ``test`` partitions as the training,
    validation and test splits (uint8 images, ``image_size`` pixels: the shorter side resized, then
    centre-cropped; decoded once and cached, :func:`debiaskit.data.faces.celeba_images`). ``limit`` keeps
    a random subset of that many images per partition (``seed`` draws it), e.g. for a smoke test."""
    from debiaskit.data.faces import celeba_images, celeba_labels, open_celeba

    gen = torch.Generator().manual_seed(seed)
    splits = {}
    for part in ("train", "valid", "test"):
        ds = open_celeba(part, root, verify_checksums)
        labels = celeba_labels(ds, [TARGET, BIAS])
        rows = torch.arange(len(ds.filename))
        if limit is not None:
            rows = torch.randperm(len(rows), generator=gen)[:limit].sort().values
        splits[part] = _split(celeba_images(ds, rows, image_size), labels[TARGET][rows], labels[BIAS][rows])
    return BiasedBenchmark(name="CelebA (HeavyMakeup, bias Male)", train=splits["train"], val=splits["valid"],
                           test=splits["test"], num_classes=2,
                           meta={"dataset": "celeba", "seed": seed, "image_size": image_size, "limit": limit,
                                 "class_names": ["no make-up", "make-up"]})


def _group_counts(n: int, shares: dict[tuple[int, int], float]) -> dict[tuple[int, int], int]:
    counts = {g: int(round(n * s)) for g, s in shares.items()}
    largest = max(counts, key=counts.get)
    counts[largest] += n - sum(counts.values())
    return counts


def draw_makeup_faces(counts: dict[tuple[int, int], int], image_size: int, seed: int, return_attributes: bool = False
                      ) -> tuple[torch.Tensor, ...]:
    """Stand-in faces: ``counts[(makeup, feminine)]`` avatars of each group, shuffled, as ``(uint8 images,
    makeup [N], male [N])`` (and, with ``return_attributes``, the avatars' attribute table); deterministic for
    ``seed``."""
    from debiaskit.data.cartoon_standin import render_avatars, sample_avatars

    groups = [g for g, k in counts.items() for _ in range(k)]
    n = len(groups)
    params = sample_avatars(n, seed)
    rng = np.random.default_rng(seed + 104729)
    order = rng.permutation(n)
    makeup = np.array([groups[i][0] for i in order], dtype=np.int64)
    feminine = np.array([groups[i][1] for i in order], dtype=np.int64)
    styles = np.where(feminine == 1, rng.choice(FEMININE_HAIR, n), rng.choice(MASCULINE_HAIR, n))
    params.attributes["hair"] = styles.astype(np.int64)
    params.attributes["makeup"] = makeup
    images = render_avatars(params, image_size)
    out = (images, torch.from_numpy(makeup), torch.from_numpy(1 - feminine))
    return (*out, params.attributes) if return_attributes else out


def celeba_makeup_standin(seed: int = 0, image_size: int = 32, n_train: int = 4000, n_test: int = 1200,
                          val_fraction: float = 0.1) -> BiasedBenchmark:
    """The offline CelebA stand-in (module docstring): ``n_train`` training avatars with
    :data:`TRAIN_GROUP_SHARES` (``val_fraction`` of them held out as the biased validation split, as the real
    ``valid`` partition is biased too) and ``n_test`` test avatars, a quarter per group."""
    x, makeup, male = draw_makeup_faces(_group_counts(n_train, TRAIN_GROUP_SHARES), image_size, seed)
    balanced = {g: 0.25 for g in TRAIN_GROUP_SHARES}
    x_test, makeup_test, male_test = draw_makeup_faces(_group_counts(n_test, balanced), image_size, seed + 1_000_003)
    gen = torch.Generator().manual_seed(seed)
    train, val = split_validation(_split(x, makeup, male), val_fraction, gen)
    return BiasedBenchmark(name="CelebA stand-in (make-up, bias gender-like hair)", train=train, val=val,
                           test=_split(x_test, makeup_test, male_test), num_classes=2,
                           meta={"dataset": "celeba", "standin": True, "seed": seed, "image_size": image_size,
                                 "n_train": n_train, "n_test": n_test, "val_fraction": val_fraction,
                                 "class_names": ["no make-up", "make-up"]})
