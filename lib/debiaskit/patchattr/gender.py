"""The paper's gender classifier (Section 4.1) and its per-group evaluation (Table 1).

Three blocks of conv 5x5 (same padding) -> dropout 0.1 -> BatchNorm -> max-pool 2 -> LeakyReLU 0.1 with
3 -> 6 -> 12 -> 24 channels, then 24 (I/8)^2 -> 1000 -> 100 -> 2 with dropout 0.5 (6144 inputs at I = 128),
trained with AdamW (lr 1e-5, weight decay 1e-3), exponential decay 0.95, batch 128 (from the authors' code).
"""

from __future__ import annotations

import torch
from torch import nn

from debiaskit.patchattr.fitting import FitConfig, as_float_images

PAPER_GENDER_FIT = FitConfig(epochs=20, batch_size=128, lr=1e-5, weight_decay=1e-3, schedule="exponential", gamma=0.95)


def _block(c_in: int, c_out: int) -> list[nn.Module]:
    return [nn.Conv2d(c_in, c_out, 5, padding=2), nn.Dropout(0.1), nn.BatchNorm2d(c_out), nn.MaxPool2d(2),
            nn.LeakyReLU(0.1)]


def gender_cnn(image_size: int = 128, in_channels: int = 3, num_classes: int = 2) -> nn.Sequential:
    """The three-layer gender CNN of Section 4.1 for ``image_size`` x ``image_size`` inputs."""
    if image_size % 8:
        raise ValueError(f"image size must be a multiple of 8 (three 2x2 max-pools), got {image_size}")
    flat = 24 * (image_size // 8) ** 2
    return nn.Sequential(
        *_block(in_channels, 6), *_block(6, 12), *_block(12, 24), nn.Flatten(),
        nn.Linear(flat, 1000), nn.ReLU(inplace=True), nn.Dropout(0.5),
        nn.Linear(1000, 100), nn.ReLU(inplace=True), nn.Dropout(0.5),
        nn.Linear(100, num_classes),
    )


@torch.no_grad()
def group_accuracies(model: nn.Module, x: torch.Tensor, y: torch.Tensor, men_label: int = 1,
                     batch_size: int = 512) -> dict[str, float]:
    """Accuracy (percent) overall, for men (``y == men_label``), for women, and the gap ``|men - women|`` (Table 1)."""
    model.eval()
    device = next(model.parameters()).device
    pred = torch.cat([model(as_float_images(c).to(device)).argmax(1).cpu() for c in x.split(batch_size)])
    correct = (pred == y).float()
    men = y == men_label
    if not bool(men.any()) or bool(men.all()):
        raise ValueError("the test set must hold both men and women")
    out = {"acc": 100 * float(correct.mean()), "acc_men": 100 * float(correct[men].mean()),
           "acc_women": 100 * float(correct[~men].mean())}
    out["gap"] = abs(out["acc_men"] - out["acc_women"])
    return out
