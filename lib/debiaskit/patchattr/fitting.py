"""A small AdamW training loop for the two networks of this paper.

:func:`debiaskit.training.train` builds SGD; this paper trains both of its networks with AdamW, the region
classifier with step decay (x0.1 every 40 of 90 epochs, Section 3.1) and the gender CNN with exponential
decay (gamma 0.95, Section 4.1). The batch loss is pluggable, as in :mod:`debiaskit.training`:
``batch_loss(model, x, y, idx, generator) -> loss`` gets float images in [0, 1] (uint8 tensors are
converted per batch, so large image sets can stay uint8 in memory).
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass
from typing import Callable

import torch
import torch.nn.functional as F
from torch import nn
from tqdm.auto import tqdm

from debiaskit.config import resolve_device

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


def as_float_images(x: torch.Tensor) -> torch.Tensor:
    """uint8 images to float in [0, 1]; float images unchanged."""
    return x.float().div_(255.0) if x.dtype == torch.uint8 else x.float()


def make_scheduler(opt: torch.optim.Optimizer, cfg: FitConfig) -> torch.optim.lr_scheduler.LRScheduler:
    if cfg.schedule == "step":
        return torch.optim.lr_scheduler.StepLR(opt, step_size=cfg.step_size, gamma=cfg.gamma)
    if cfg.schedule == "exponential":
        return torch.optim.lr_scheduler.ExponentialLR(opt, gamma=cfg.gamma)
    raise ValueError(f"schedule must be 'step' or 'exponential', got {cfg.schedule!r}")


def fit(model: nn.Module, x: torch.Tensor, y: torch.Tensor, cfg: FitConfig, batch_loss: BatchLoss,
        progress: bool = True, desc: str = "fit") -> list[dict]:
    """Train ``model`` in place on ``(x, y)``; returns the per-epoch history (mean loss, lr). Seeded by ``cfg.seed``."""
    if len(x) == 0 or len(x) != len(y):
        raise ValueError(f"need the same positive number of images and labels, got {len(x)} and {len(y)}")
    device = resolve_device(cfg.device)
    torch.manual_seed(cfg.seed)
    gen = torch.Generator().manual_seed(cfg.seed)
    model.to(device)
    opt = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad], lr=cfg.lr, weight_decay=cfg.weight_decay)
    sched = make_scheduler(opt, cfg)
    history = []
    start = time.perf_counter()
    for epoch in tqdm(range(cfg.epochs), desc=desc, disable=not progress, leave=False):
        model.train()
        total, count = 0.0, 0
        for idx in torch.randperm(len(x), generator=gen).split(cfg.batch_size):
            xb = as_float_images(x[idx]).to(device)
            yb = y[idx].to(device)
            loss = batch_loss(model, xb, yb, idx, gen)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            total += float(loss.detach()) * len(idx)
            count += len(idx)
        sched.step()
        history.append({"epoch": epoch + 1, "loss": total / count, "lr": opt.param_groups[0]["lr"]})
    model.eval()
    history.append({"seconds": time.perf_counter() - start})
    return history


def cross_entropy_loss(transform: Callable | None = None, label_smoothing: float = 0.0) -> BatchLoss:
    """Plain cross-entropy on ``transform(x, idx, generator)`` (e.g. targeted noise) or on ``x``."""

    def loss(model, x, y, idx, gen):
        if transform is not None:
            x = transform(x, idx, gen)
        return F.cross_entropy(model(x), y, label_smoothing=label_smoothing)

    return loss
