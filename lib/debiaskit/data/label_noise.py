"""Noisy labels on a biased benchmark, as the PGD draft's Appendix B.3 injects them.

"At first, we randomly sampled a set of noise label candidates regardless of whether the source of the
data samples are majority set or minority set. Flip the label y_i uniform randomly, so that the label is
not equal to the ground truth." Here exactly ``round(noise_ratio * N)`` samples of a split are chosen
uniformly, each gets a label drawn uniformly from the other classes, and the split remembers which samples
were flipped (``BiasedSplit.noisy``) and their true labels (``BiasedSplit.clean_y``). ``major`` keeps its
meaning: the *true* label agrees with the bias attribute. The training and validation splits are flipped
(independently), the test split stays clean.
"""

from __future__ import annotations

import dataclasses

import torch

from debiaskit.core.splits import BiasedBenchmark, BiasedSplit, choose_minority, other_label

NOISE_SEED_OFFSET = 7919
"""Added to the benchmark's seed for the flips, so that they are independent of its construction draws."""


def flip_labels(split: BiasedSplit, noise_ratio: float, num_classes: int, generator: torch.Generator) -> BiasedSplit:
    """``split`` with ``round(noise_ratio * len(split))`` uniformly chosen labels flipped to a uniformly drawn
    other class (Appendix B.3). Flipping an already noisy split is refused: its true labels would be lost."""
    if not 0.0 <= noise_ratio < 1.0:
        raise ValueError(f"noise_ratio is the share of flipped labels and must be in [0, 1), got {noise_ratio}")
    if num_classes < 2:
        raise ValueError(f"labels can only be flipped with at least two classes, got {num_classes}")
    if split.noisy is not None:
        raise ValueError("this split already carries flipped labels; flip the clean split instead")
    flipped = choose_minority(len(split), noise_ratio, generator)
    y = torch.where(flipped, other_label(split.y, num_classes, generator), split.y)
    return BiasedSplit(split.x, y, split.bias, split.major.clone(), noisy=flipped, clean_y=split.y.clone())


def with_label_noise(bench: BiasedBenchmark, noise_ratio: float) -> BiasedBenchmark:
    """``bench`` with ``noise_ratio`` of its training and validation labels flipped, seeded by the benchmark's
    own seed; the test split is untouched. A ratio of 0 returns ``bench`` itself, so that models trained on
    the clean benchmark are shared (the model cache keys on ``meta``, which gains ``label_noise``)."""
    if noise_ratio == 0:
        return bench
    if "label_noise" in bench.meta:
        raise ValueError(f"{bench.name} already has {bench.meta['label_noise']:.0%} flipped labels")
    gen = torch.Generator().manual_seed(int(bench.meta.get("seed", 0)) + NOISE_SEED_OFFSET)
    train = flip_labels(bench.train, noise_ratio, bench.num_classes, gen)
    val = flip_labels(bench.val, noise_ratio, bench.num_classes, gen)
    return dataclasses.replace(bench, name=f"{bench.name}, {100 * noise_ratio:g}% noisy labels", train=train, val=val,
                               meta={**bench.meta, "label_noise": noise_ratio})


def group_masks(split: BiasedSplit) -> dict[str, torch.Tensor]:
    """Bool masks of the four groups of Table 16: clean/noisy label x majority/minority (true label); every
    sample is clean when ``split.noisy`` is None."""
    noisy = split.noisy if split.noisy is not None else torch.zeros(len(split), dtype=torch.bool)
    major = split.major
    return {"clean_major": ~noisy & major, "clean_minor": ~noisy & ~major,
            "noisy_major": noisy & major, "noisy_minor": noisy & ~major}


def noise_groups(split: BiasedSplit) -> dict[str, int]:
    """Sample counts of the four groups of :func:`group_masks` (Table 16's rows)."""
    return {name: int(mask.sum()) for name, mask in group_masks(split).items()}
