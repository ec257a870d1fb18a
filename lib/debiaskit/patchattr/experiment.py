"""The confounder experiment of Section 4 as functions: attribution maps for a training set, the
original / balanced / noised gender models, and their per-group accuracies (Table 1, Figs. 7 and 8)."""

from __future__ import annotations

from dataclasses import dataclass, field

import torch
from torch import nn
from tqdm.auto import tqdm

from debiaskit.patchattr.attribution import normalize_maps, pixel_maps, region_maps
from debiaskit.patchattr.confidence import Confidence, negative_entropy
from debiaskit.patchattr.fitting import FitConfig, as_float_images, cross_entropy_loss, fit
from debiaskit.patchattr.gender import PAPER_GENDER_FIT, gender_cnn, group_accuracies
from debiaskit.patchattr.grid import PatchGrid
from debiaskit.patchattr.noise import NOISE_TYPES, targeted_noise


def specific_pixel_maps(model: nn.Module, images: torch.Tensor, grid: PatchGrid, confidence: Confidence = negative_entropy,
                        batch_size: int = 8192, progress: bool = False) -> torch.Tensor:
    """Each image's pixel map (Algorithm 1), normalised to [0, 1] per image: [N, I, I]."""
    region = region_maps(model, as_float_images(images), grid, confidence, batch_size, progress)
    return normalize_maps(pixel_maps(region, grid))


def general_pixel_map(model: nn.Module, images: torch.Tensor, grid: PatchGrid, confidence: Confidence = negative_entropy,
                      batch_size: int = 8192, progress: bool = False) -> torch.Tensor:
    """The data set's mean pixel map, normalised to [0, 1]: [I, I] (Figs. 4-5; "General" noise)."""
    region = region_maps(model, as_float_images(images), grid, confidence, batch_size, progress)
    return normalize_maps(pixel_maps(region.mean(0), grid))


def mean_colour(images: torch.Tensor) -> torch.Tensor:
    """Per-channel mean of a set of images in [0, 1] (the "greying out" fill colour)."""
    return as_float_images(images).mean(dim=(0, 2, 3))


@dataclass
class NoiseStudy:
    """Everything the noised trainings of one confounder need."""

    train_x: torch.Tensor
    train_y: torch.Tensor
    test_x: torch.Tensor
    test_y: torch.Tensor
    specific_maps: torch.Tensor
    general_map: torch.Tensor
    balanced_x: torch.Tensor | None = None
    balanced_y: torch.Tensor | None = None
    fit: FitConfig = field(default_factory=lambda: PAPER_GENDER_FIT)
    mask_epochs: int | None = None
    std: float = 0.5
    clip: bool = False
    men_label: int = 1

    def train_and_test(self, kind: str | None = None, quantile: float | None = None, seed: int = 0,
                       epochs: int | None = None) -> dict[str, float]:
        """Train a gender CNN on the original data (``kind=None``), the balanced data (``kind="balanced"``)
        or with targeted noise ``kind`` at ``quantile``; return its per-group test accuracies.

        Mask types train for ``mask_epochs`` when set (the paper: 10 for masks, 20 for noise); ``epochs``
        overrides both (to train the original/balanced references for the mask rows)."""
        x, y, transform = self.train_x, self.train_y, None
        cfg = FitConfig(**{**self.fit.to_dict(), "seed": seed})
        if kind == "balanced":
            if self.balanced_x is None:
                raise ValueError("this study has no balanced training set")
            x, y = self.balanced_x, self.balanced_y
        elif kind is not None:
            if kind not in NOISE_TYPES:
                raise ValueError(f"unknown kind {kind!r}: None, 'balanced' or one of {NOISE_TYPES}")
            transform = targeted_noise(kind, quantile, self.general_map, self.specific_maps, mean_colour(self.train_x),
                                       self.std, self.clip)
            if kind.endswith("mask") and self.mask_epochs:
                cfg.epochs = self.mask_epochs
        if epochs is not None:
            cfg.epochs = epochs
        torch.manual_seed(seed)
        model = gender_cnn(int(x.shape[-1]), int(x.shape[1]))
        fit(model, x, y, cfg, cross_entropy_loss(transform), progress=False)
        return group_accuracies(model, self.test_x, self.test_y, self.men_label)

    def sweep(self, runs: list[tuple[str | None, float | None]], seed: int = 0, progress: bool = True,
              epochs: int | None = None) -> list[dict]:
        """:meth:`train_and_test` for each ``(kind, quantile)``; rows with kind, quantile and the accuracies."""
        rows = []
        for kind, q in tqdm(runs, desc="noise study", disable=not progress, leave=False):
            rows.append({"kind": kind or "original", "quantile": q, **self.train_and_test(kind, q, seed, epochs)})
        return rows


def best_per_kind(rows: list[dict]) -> dict[str, dict]:
    """For each noise type, the row with the smallest gap (ties: higher accuracy) -- Table 1 keeps the
    quantile "yielding the most significant results" per type."""
    best: dict[str, dict] = {}
    for row in rows:
        if row["kind"] not in NOISE_TYPES:
            continue
        cur = best.get(row["kind"])
        if cur is None or (row["gap"], -row["acc"]) < (cur["gap"], -cur["acc"]):
            best[row["kind"]] = row
    return best
