"""Biased Action Recognition (BAR, Nam et al. 2020) as the PGD draft's Section 6.1.2 and Appendix B.2 use it.

Layout (the public release, https://github.com/alinlab/BAR): a folder ``BAR`` under the data root with
``train/`` (1,941 images) and ``test/`` (654 images), each image named ``<action>_<n>.jpg`` for the six
actions climbing, diving, fishing, racing, throwing and "pole vaulting" (the draft's "Vaulting").

BAR publishes no place (bias) labels. Its training images show each action at its usual place
(climbing on a rock wall, diving under water, ...), and its test images are the bias-conflicting ones
(climbing on an ice cliff, ...; ../shared/REFERENCE.md). So the training and validation splits are marked
majority (``bias = y``) and the test split minority (``bias = -1``, unknown place): the draft's Table 10
reports per-action test accuracy and their mean, and no method sees bias labels.

Images are decoded once (shorter side resized to ``image_size``, then centre-cropped) and cached as uint8
tensors (:mod:`debiaskit.data.image_folder`).
"""

from __future__ import annotations

from pathlib import Path

import torch

from debiaskit.core.config import DATA_ENV, data_root
from debiaskit.core.splits import BiasedBenchmark, BiasedSplit, split_validation
from debiaskit.data.image_folder import decode_cached, list_images
from debiaskit.data.sources import DataUnavailableError

ACTIONS = ("climbing", "diving", "fishing", "racing", "throwing", "pole vaulting")
"""Class order of the draft's Table 10 (Climbing, Diving, Fishing, Racing, Throwing, Vaulting)."""
DISPLAY = ("Climbing", "Diving", "Fishing", "Racing", "Throwing", "Vaulting")
URL = "https://github.com/alinlab/BAR"
SIZES = {"train": 1941, "test": 654}


def find_bar(root: str | Path | None = None) -> Path:
    """The BAR folder under the data root, or a :class:`DataUnavailableError` saying where to put it."""
    base = data_root(root)
    folder = base / "BAR"
    problems = [f"missing folder {folder / s}" for s in SIZES if not (folder / s).is_dir()]
    if problems:
        raise DataUnavailableError(
            f"Biased Action Recognition (BAR) is not available under the data root {base}: {'; '.join(problems)}.\n"
            f"Download it from {URL} (train/ and test/ image folders), put it at {folder}, and set {DATA_ENV} "
            f"(or the notebook's `data_root` parameter) to {base}.")
    return folder


def action_of(path: Path) -> int:
    """The class index of an image named ``<action>_<n>.<ext>`` (:data:`ACTIONS` order)."""
    action = path.stem.rsplit("_", 1)[0]
    if action not in ACTIONS:
        raise DataUnavailableError(f"{path} is not named <action>_<n> for an action of {ACTIONS}; is this BAR?")
    return ACTIONS.index(action)


def load_bar_split(split: str = "train", root: str | Path | None = None, image_size: int = 64,
                   progress: bool = False) -> tuple[torch.Tensor, torch.Tensor]:
    """One BAR folder as ``(uint8 images [N, 3, s, s], labels [N])``, sorted by file name; decoded once and
    cached (:func:`debiaskit.data.image_folder.decode_cached`)."""
    if split not in SIZES:
        raise ValueError(f"BAR has the splits {tuple(SIZES)}, not {split!r}")
    hint = f"download BAR again from {URL}"
    files = list_images(find_bar(root) / split, hint)
    return decode_cached(f"bar-{split}", files, image_size, hint, action_of, progress)


def bar(seed: int = 0, root: str | Path | None = None, image_size: int = 64, val_fraction: float = 0.1,
        progress: bool = False) -> BiasedBenchmark:
    """The BAR benchmark (Appendix B.2): the training folder less ``val_fraction`` held out at random as the
    validation split (Appendix A.1, "a validation set of 10% of the training set"), the test folder as the
    bias-conflicting test split. Images stay uint8 (the training loop converts each batch)."""
    x, y = load_bar_split("train", root, image_size, progress)
    x_test, y_test = load_bar_split("test", root, image_size, progress)
    gen = torch.Generator().manual_seed(seed)
    train, val = split_validation(BiasedSplit(x, y, y.clone()), val_fraction, gen)
    test = BiasedSplit(x_test, y_test, torch.full_like(y_test, -1))
    return BiasedBenchmark(name="BAR", train=train, val=val, test=test, num_classes=len(ACTIONS),
                           meta={"dataset": "bar", "seed": seed, "image_size": image_size,
                                 "val_fraction": val_fraction, "n_train_folder": len(x), "n_test": len(x_test)})
