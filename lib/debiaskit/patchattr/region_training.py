"""Training the region classifier (Section 3.1): one random patch per image per step, label smoothing 0.1,
AdamW (lr 1e-3) with step decay x0.1 every 40 epochs, 90 epochs, batch 256 in the paper."""

from __future__ import annotations

import torch
import torch.nn.functional as F

from debiaskit.cache import cached_model
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
                            cache_config: dict | None = None, progress: bool = True) -> tuple[RegionClassifier, bool]:
    """Train (or fetch from the model cache) a region classifier for one attribute.

    ``cache_config`` must describe the data (e.g. data set, attribute, sizes, seed); the grid, backbone
    and optimisation settings are added to it. Returns ``(model, cache_hit)``.
    """
    grid.check_images(images)
    config = {"kind": "patchattr.region_classifier", "data": cache_config or {}, "grid": vars(grid).copy(),
              "num_classes": num_classes, "backbone": backbone, "label_smoothing": label_smoothing,
              "fit": cfg.to_dict(), "in_channels": int(images.shape[1])}

    def build():
        torch.manual_seed(cfg.seed)
        return RegionClassifier(grid, num_classes, int(images.shape[1]), backbone)

    def train_fn(model):
        fit(model, images, labels, cfg, random_patch_loss(grid, label_smoothing), progress, desc="region classifier")

    if cache_config is None:
        model = build()
        train_fn(model)
        return model, False
    # the entry depends on the code that builds the data, the model and the loop, not on the rest of patchattr
    code = ("patchattr/fitting.py", "patchattr/grid.py", "patchattr/region_model.py", "patchattr/region_training.py",
            "patchattr/standin.py", "patchattr/faces.py")
    return cached_model(config, build, train_fn, code=code)
