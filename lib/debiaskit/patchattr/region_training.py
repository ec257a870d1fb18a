"""Training the region classifier (Section 3.1): one random patch per image per step, label smoothing 0.1,
AdamW (lr 1e-3) with step decay x0.1 every 40 epochs, 90 epochs, batch 256 in the paper."""

from __future__ import annotations

import torch
import torch.nn.functional as F

from debiaskit.patchattr.fitting import FitConfig, fit
from debiaskit.patchattr.grid import PatchGrid
from debiaskit.patchattr.region_model import RegionClassifier

PAPER_REGION_FIT = FitConfig(epochs=90, batch_size=256, lr=1e-3, weight_decay=1e-2, schedule="step", step_size=40, gamma=0.1)


def random_patch_loss(grid: PatchGrid, label_smoothing: float = 0.1):
    """Batch loss: crop one uniformly drawn grid position per image and classify it (Section 3.1)."""

    def loss(model, x, y, idx, gen):
        positions = torch.randint(0, grid.positions, (len(x),), generator=gen)
        patches = grid.crop(x, positions.to(x.device))
        return F.cross_entropy(model(patches, positions.to(x.device)), y, label_smoothing=label_smoothing)

    return loss


def train_region_classifier(images: torch.Tensor, labels: torch.Tensor, grid: PatchGrid, num_classes: int,
                            cfg: FitConfig = PAPER_REGION_FIT, backbone: str = "resnet18", label_smoothing: float = 0.1,
                            progress: bool = True) -> RegionClassifier:
    """Train a region classifier for one attribute (Section 3.1): a fresh :class:`RegionClassifier` seeded by
    ``cfg.seed``, fitted with :func:`random_patch_loss`. The model cache lives with the experiment drivers
    (:func:`debiaskit.experiments.patchattr.cached_region_classifier`)."""
    grid.check_images(images)
    torch.manual_seed(cfg.seed)
    model = RegionClassifier(grid, num_classes, int(images.shape[1]), backbone)
    fit(model, images, labels, cfg, random_patch_loss(grid, label_smoothing), progress, desc="region classifier")
    return model
