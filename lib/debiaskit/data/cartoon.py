"""Cartoon (Cartoon Set, Royer et al. 2020) as the PGD draft's Section 6.1.1 and Appendix B.1 use it.

Layout (the public release, https://google.github.io/cartoonset/): a folder ``cartoonset`` (or
``cartoonset10k`` / ``cartoonset100k``) under the data root, holding -- possibly in sub-folders --
one ``csNNNN.png`` per avatar and beside it ``csNNNN.csv`` with one line per attribute,
``"attribute", variant, number_of_variants`` (18 attributes, e.g. ``"hair_color", 3, 10``).

Target: ``hair_color``; bias: ``face_color``. The draft merges "2 classes (similar colors) into 1" to
get 4 classes of each; which colours are similar it does not say, so the default merges consecutive
variant indices pairwise, (0, 1) -> 0, (2, 3) -> 1, (4, 5) -> 2, (6, 7) -> 3, and drops avatars whose
colour falls outside the groups (``hair_groups`` / ``face_groups`` change this). Majority: the merged
target equals the merged bias; the biased training set keeps every majority avatar of the training
pool and as many minority avatars as ``|M| / |D| = bias_ratio`` allows; 10% of it is the biased
validation split; the test split is a disjoint pool with half majority and half minority avatars.
"""

from __future__ import annotations

import csv
from pathlib import Path
from typing import Sequence

import numpy as np
import torch
from PIL import Image

from debiaskit.core.config import DATA_ENV, data_root
from debiaskit.core.splits import BiasedBenchmark, BiasedSplit, split_validation
from debiaskit.data.sources import DataUnavailableError

FOLDERS = ("cartoonset", "cartoonset100k", "cartoonset10k")
TARGET, BIAS = "hair_color", "face_color"
PAIRS = ((0, 1), (2, 3), (4, 5), (6, 7))
URL = "https://google.github.io/cartoonset/"


def find_cartoonset(root: str | Path | None = None) -> Path:
    """The Cartoon Set folder under the data root, or a :class:`DataUnavailableError` saying where to put it."""
    base = data_root(root)
    for name in FOLDERS:
        folder = base / name
        if folder.is_dir() and next(folder.rglob("*.csv"), None) is not None:
            return folder
    raise DataUnavailableError(
        f"Cartoon Set is not available under the data root {base} (looked for {', '.join(FOLDERS)} holding "
        f"csNNNN.png + csNNNN.csv files).\nDownload cartoonset10k.tgz or cartoonset100k.tgz from {URL}, extract it "
        f"to {base / 'cartoonset'}, and set {DATA_ENV} (or the notebook's `data_root` parameter) to {base}."
    )


def read_attributes(path: Path) -> dict[str, int]:
    """``{attribute: variant}`` from one avatar's CSV file."""
    out: dict[str, int] = {}
    with open(path, newline="") as fh:
        for row in csv.reader(fh, skipinitialspace=True):
            if len(row) >= 2 and row[0].strip():
                out[row[0].strip()] = int(row[1])
    return out


def merge_classes(values: np.ndarray, groups: Sequence[Sequence[int]]) -> np.ndarray:
    """Map each variant index to the index of its group (Appendix B.1's merging); -1 when in no group."""
    table = {v: g for g, members in enumerate(groups) for v in members}
    return np.array([table.get(int(v), -1) for v in values], dtype=np.int64)


def load_cartoonset(root: str | Path | None = None, image_size: int = 64, limit: int | None = None
                    ) -> tuple[torch.Tensor, dict[str, np.ndarray]]:
    """All avatars as ``(uint8 images [N, 3, s, s], {attribute: variants [N]})``, sorted by file name.

    Transparent pixels are composited onto white. ``limit`` reads only the first avatars (quick tests).
    """
    folder = find_cartoonset(root)
    csvs = sorted(folder.rglob("*.csv"))[:limit]
    images, attrs = [], []
    for path in csvs:
        png = path.with_suffix(".png")
        if not png.exists():
            raise DataUnavailableError(f"{png} is missing although {path.name} is there; re-extract the archive")
        with Image.open(png) as im:
            rgba = im.convert("RGBA")
            canvas = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
            rgb = Image.alpha_composite(canvas, rgba).convert("RGB").resize((image_size, image_size), Image.BILINEAR)
        images.append(torch.from_numpy(np.asarray(rgb).copy()).permute(2, 0, 1))
        attrs.append(read_attributes(path))
    names = sorted(set().union(*attrs)) if attrs else []
    missing = [n for n in (TARGET, BIAS) if n not in names]
    if missing:
        raise DataUnavailableError(f"the CSV files under {folder} lack the attribute(s) {missing}; is this Cartoon Set?")
    table = {n: np.array([a.get(n, -1) for a in attrs], dtype=np.int64) for n in names}
    return torch.stack(images), table


def _biased_indices(target: np.ndarray, bias: np.ndarray, pool: np.ndarray, bias_ratio: float,
                    rng: np.random.Generator) -> np.ndarray:
    major = pool[target[pool] == bias[pool]]
    minor = pool[target[pool] != bias[pool]]
    if bias_ratio >= 1.0:
        return np.sort(major)
    n_minor = int(round(len(major) * (1 - bias_ratio) / bias_ratio))
    if n_minor > len(minor):  # too few minority avatars: shrink the majority instead
        n_minor = len(minor)
        major = rng.choice(major, int(round(n_minor * bias_ratio / (1 - bias_ratio))), replace=False)
    return np.sort(np.concatenate([major, rng.choice(minor, n_minor, replace=False)]))


def cartoon(bias_ratio: float = 0.99, seed: int = 0, root: str | Path | None = None, image_size: int = 64,
            test_fraction: float = 0.2, val_fraction: float = 0.1, hair_groups: Sequence[Sequence[int]] = PAIRS,
            face_groups: Sequence[Sequence[int]] = PAIRS, limit: int | None = None, source: str = "real",
            n_avatars: int = 100_000) -> BiasedBenchmark:
    """Build the biased Cartoon benchmark with ``|M| / |D| = bias_ratio`` (deterministic for ``seed``).

    ``source="real"`` reads Cartoon Set from the data root; ``source="standin"`` draws ``n_avatars`` avatars
    of the procedural stand-in (:mod:`debiaskit.data.cartoon_standin`, the avatars drawn under ``seed``) and
    renders only those the benchmark keeps."""
    if not 0.0 < bias_ratio <= 1.0:
        raise ValueError(f"bias_ratio is |M|/|D| and must be in (0, 1], got {bias_ratio}")
    if len(hair_groups) != len(face_groups):
        raise ValueError("hair_groups and face_groups must define the same number of classes")
    if source not in ("real", "standin"):
        raise ValueError(f"source must be 'real' (Cartoon Set) or 'standin' (procedural avatars), got {source!r}")
    if source == "standin":
        from debiaskit.data.cartoon_standin import render_avatars, sample_avatars

        params = sample_avatars(n_avatars if limit is None else min(limit, n_avatars), seed)
        attrs = params.attributes
        render = lambda idx: render_avatars(params.subset(idx), image_size)  # noqa: E731
    else:
        images, attrs = load_cartoonset(root, image_size, limit)
        render = lambda idx: images[torch.from_numpy(idx)]  # noqa: E731
    target = merge_classes(attrs[TARGET], hair_groups)
    bias = merge_classes(attrs[BIAS], face_groups)
    usable = np.flatnonzero((target >= 0) & (bias >= 0))
    if len(usable) == 0:
        raise DataUnavailableError("no avatar has a hair and face colour inside the merge groups")
    rng = np.random.default_rng(seed)
    usable = rng.permutation(usable)
    n_test = int(round(test_fraction * len(usable)))
    test_pool, train_pool = usable[:n_test], usable[n_test:]
    train_idx = _biased_indices(target, bias, train_pool, bias_ratio, rng)
    test_idx = _biased_indices(target, bias, test_pool, 0.5, rng)

    def split(idx: np.ndarray) -> BiasedSplit:
        return BiasedSplit(render(idx).float().div(255.0), torch.from_numpy(target[idx]), torch.from_numpy(bias[idx]))

    gen = torch.Generator().manual_seed(seed)
    train, val = split_validation(split(train_idx), val_fraction, gen)
    return BiasedBenchmark(
        name=f"Cartoon{' stand-in' if source == 'standin' else ''} {100 * bias_ratio:g}%", train=train, val=val, test=split(test_idx),
        num_classes=len(hair_groups),
        meta={"dataset": "cartoon", "bias_ratio": bias_ratio, "seed": seed, "image_size": image_size,
              "test_fraction": test_fraction, "val_fraction": val_fraction, "limit": limit,
              "hair_groups": [list(g) for g in hair_groups], "face_groups": [list(g) for g in face_groups],
              "source": source, **({"n_avatars": n_avatars} if source == "standin" else {})},
    )
