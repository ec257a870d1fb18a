"""The de-noising module of Section 5 (Algorithm 3, Eq. 2): drop noisy labels, keep rare samples.

A noise model f_n trained with plain CE on the raw (biased, noisy) set gives each sample a loss L_i
and a softmax entropy H_i = H(f_n(x_i)). Noisy labels have high loss *and* a confident prediction;
clean minority samples have high loss but an uncertain one. Eq. 2 compensates the loss by the
entropy and splits at delta = sum_i L_i / sum_i H_i:

    L~_i = L_CE(x_i, y_i; theta_n) / H(f_n(x_i)),   D_clean = {L~_i < delta},   D_noise = {L~_i >= delta}.

Safe values: H_i = 0 (a one-hot softmax) gives L~_i = 0 when L_i = 0 (clean) and +inf when L_i > 0
(certain and contradicted by its label: noisy). Everything is float64.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import torch
import torch.nn.functional as F
from torch import nn

from debiaskit.core.augment import AugmentConfig
from debiaskit.core.splits import BiasedSplit
from debiaskit.pgd.metrics import logits_of


@dataclass
class DenoiseSplit:
    """Masks of D_clean and D_noise, the compensated losses L~, the threshold delta, and L and H."""

    clean: torch.Tensor
    noisy: torch.Tensor
    compensated: torch.Tensor
    threshold: float
    loss: torch.Tensor
    entropy: torch.Tensor


def loss_and_entropy(logits: torch.Tensor, y: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Per-sample CE loss L_i and softmax entropy H_i (float64)."""
    logp = F.log_softmax(logits.double(), dim=1)
    loss = -logp.gather(1, y.view(-1, 1)).squeeze(1)
    entropy = -(logp.exp() * logp).nan_to_num(0.0).sum(1)  # 0 * log 0 = 0
    return loss, entropy.clamp(min=0.0)


def compensated_loss(loss: torch.Tensor, entropy: torch.Tensor) -> torch.Tensor:
    """L~_i = L_i / H_i (Eq. 2) with the safe values of the module docstring for H_i = 0."""
    safe = torch.where(entropy > 0, entropy, torch.ones_like(entropy))
    ratio = loss / safe
    return torch.where(entropy > 0, ratio, torch.where(loss > 0, torch.full_like(loss, float("inf")),
                                                       torch.zeros_like(loss)))


def split_by_compensated_loss(logits: torch.Tensor, y: torch.Tensor) -> DenoiseSplit:
    """Eq. 2 from logits: delta = sum L / sum H; clean where L~ < delta. If every entropy is 0, delta
    is undefined (reported as +inf): samples with L > 0 are then noisy (L~ = inf), the rest clean."""
    if len(logits) == 0:
        raise ValueError("cannot de-noise an empty data set")
    if len(logits) != len(y):
        raise ValueError(f"logits and labels differ in length: {len(logits)} vs {len(y)}")
    if not torch.isfinite(logits).all():
        raise ValueError("the noise model's logits contain NaN or inf")
    loss, entropy = loss_and_entropy(logits, y.cpu())
    compensated = compensated_loss(loss, entropy)
    total_h = float(entropy.sum())
    delta = float(loss.sum()) / total_h if total_h > 0 else float("inf")
    noisy = (compensated >= delta) if total_h > 0 else torch.isinf(compensated)
    return DenoiseSplit(~noisy, noisy, compensated, delta, loss, entropy)


def denoise_split(model: nn.Module, x: torch.Tensor, y: torch.Tensor, batch_size: int = 2048,
                  device=None) -> DenoiseSplit:
    """Algorithm 3, step 2: split a data set into D_clean / D_noise with a trained noise model."""
    if len(x) != len(y):
        raise ValueError(f"x and y differ in length: {len(x)} vs {len(y)}")
    return split_by_compensated_loss(logits_of(model, x, batch_size, device), y)


def denoise(model_fn: Callable[[], nn.Module], data: BiasedSplit, cfg, augment: AugmentConfig | None = None,
            progress: bool = False) -> tuple[BiasedSplit, DenoiseSplit, nn.Module]:
    """Algorithm 3, steps 1-2: train the noise model f_n with CE (``debiaskit.core.training.train`` with
    ``cfg``), split, and return ``(D_clean, split, f_n)``; run any de-biasing method on D_clean (step 3)."""
    from debiaskit.core.training import train

    if len(data) == 0:
        raise ValueError("cannot de-noise an empty data set")
    model = train(model_fn(), data, cfg, augment=augment, progress=progress, desc="noise model").model
    split = denoise_split(model, data.x, data.y)
    return data.subset(split.clean), split, model
