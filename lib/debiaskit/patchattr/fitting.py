"""AdamW settings for the two networks of this paper, trained by debiaskit's one training loop.

:func:`debiaskit.core.training.train` defaults to SGD; this paper trains both of its networks with AdamW, the
region classifier with step decay (x0.1 every 40 of 90 epochs, Section 3.1) and the gender CNN with
exponential decay (gamma 0.95, Section 4.1). The batch loss here also gets the generator that shuffles the
batches: ``batch_loss(model, x, y, idx, generator) -> loss`` gets float images in [0, 1] (uint8 tensors are
converted per batch, so large image sets can stay uint8 in memory).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Callable

import torch
import torch.nn.functional as F
from torch import nn

from debiaskit.core.training import TrainConfig, as_float_images, shuffled_batches, train

__all__ = ["FitConfig", "as_float_images", "cross_entropy_loss", "fit", "make_optimizer"]

BatchLoss = Callable[[nn.Module, torch.Tensor, torch.Tensor, torch.Tensor, torch.Generator], torch.Tensor]


@dataclass
class FitConfig:
    """AdamW with a step (``schedule="step"``: x``gamma`` every ``step_size`` epochs) or exponential
    (``schedule="exponential"``: x``gamma`` every epoch) learning-rate decay."""

    epochs: int = 90
    batch_size: int = 256
    lr: float = 1e-3
    weight_decay: float = 1e-2
    schedule: str = "step"
    step_size: int = 40
    gamma: float = 0.1
    seed: int = 0
    device: str = "auto"

    def to_dict(self) -> dict:
        return asdict(self)


def make_optimizer(model: nn.Module, cfg: FitConfig) -> tuple[torch.optim.Optimizer, torch.optim.lr_scheduler.LRScheduler]:
    """AdamW on the trainable parameters with ``cfg``'s learning-rate schedule (Sections 3.1 and 4.1)."""
    if cfg.schedule not in ("step", "exponential"):
        raise ValueError(f"schedule must be 'step' or 'exponential', got {cfg.schedule!r}")
    opt = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad], lr=cfg.lr, weight_decay=cfg.weight_decay)
    if cfg.schedule == "step":
        return opt, torch.optim.lr_scheduler.StepLR(opt, step_size=cfg.step_size, gamma=cfg.gamma)
    return opt, torch.optim.lr_scheduler.ExponentialLR(opt, gamma=cfg.gamma)


def fit(model: nn.Module, x: torch.Tensor, y: torch.Tensor, cfg: FitConfig, batch_loss: BatchLoss,
        progress: bool = True, desc: str = "fit") -> list[dict]:
    """Train ``model`` in place on ``(x, y)`` with :func:`debiaskit.core.training.train` and AdamW; returns the
    per-epoch history (mean loss, lr) and a last row with the seconds taken. Seeded by ``cfg.seed``: one
    generator shuffles the batches and is handed to ``batch_loss``."""
    gen = torch.Generator().manual_seed(cfg.seed)
    # precise_bn off: the loss feeds the network patches or noised images, not the (x, y) train() holds
    loop = TrainConfig(epochs=cfg.epochs, batch_size=cfg.batch_size, augment=False, precise_bn=False, seed=cfg.seed,
                       device=cfg.device)
    result = train(model, (x, y), loop, objective=lambda m, xb, yb, idx: batch_loss(m, xb, yb, idx, gen),
                   sampler=shuffled_batches(len(x), cfg.batch_size, gen), augment=None,
                   optimizer=lambda m: make_optimizer(m, cfg), progress=progress, desc=desc)
    return result.history + [{"seconds": result.seconds}]


def cross_entropy_loss(transform: Callable | None = None, label_smoothing: float = 0.0) -> BatchLoss:
    """Plain cross-entropy on ``transform(x, idx, generator)`` (e.g. targeted noise) or on ``x``."""

    def loss(model, x, y, idx, gen):
        if transform is not None:
            x = transform(x, idx, gen)
        return F.cross_entropy(model(x), y, label_smoothing=label_smoothing)

    return loss
