"""LfF, Learning from Failure (Nam, Cha, Ahn, Lee & Shin, NeurIPS 2020, Algorithm 1).

Two networks train simultaneously on the same mini-batches. The biased model f_B minimises the
generalised cross-entropy GCE(f_B(x), y) = (1 - p_y^q) / q (Eq. 2; Zhang & Sabuncu 2018), which
amplifies its reliance on easy (bias-aligned) samples. The de-biased model f_D minimises
W(x) * CE(f_D(x), y) with the relative difficulty score (Eq. 3)

    W(x) = CE(f_B(x), y) / (CE(f_B(x), y) + CE(f_D(x), y)),

large for samples the biased model fails on (the minority). W is treated as a constant (no gradient).

``ema`` (off by default, the paper's per-batch W) switches to the authors' code: each sample's losses
are exponential moving averages over the epochs with decay ``ema`` (0.7 in their code), divided by
the largest average of the sample's class before forming W.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from debiaskit.baselines.common import MethodResult, ModelFn, check_split
from debiaskit.baselines.registry import register
from debiaskit.core.augment import AugmentConfig
from debiaskit.core.splits import BiasedSplit
from debiaskit.core.training import TrainConfig, train
from debiaskit.pgd.losses import gce_loss

EPS = 1e-8


def relative_difficulty(ce_biased: torch.Tensor, ce_debiased: torch.Tensor) -> torch.Tensor:
    """W(x) = CE_B / (CE_B + CE_D) per sample (LfF, Eq. 3), detached."""
    ce_b, ce_d = ce_biased.detach(), ce_debiased.detach()
    return ce_b / (ce_b + ce_d + EPS)


class ClassNormalisedEMA:
    """Per-sample exponential moving average of a loss, read out divided by the class-wise maximum
    (the LfF authors' code). The first update of a sample sets its average to the loss itself."""

    def __init__(self, labels: torch.Tensor, decay: float, num_classes: int | None = None) -> None:
        if not 0 <= decay < 1:
            raise ValueError(f"EMA decay must be in [0, 1), got {decay}")
        self.labels = labels.cpu()
        self.decay = decay
        self.num_classes = num_classes or int(labels.max()) + 1
        self.value = torch.zeros(len(labels))
        self.seen = torch.zeros(len(labels), dtype=torch.bool)

    def update(self, idx: torch.Tensor, loss: torch.Tensor) -> torch.Tensor:
        """Fold ``loss`` (per sample of ``idx``) in and return the normalised averages of ``idx``."""
        idx = idx.cpu()
        loss = loss.detach().float().cpu()
        old = self.value[idx]
        self.value[idx] = torch.where(self.seen[idx], self.decay * old + (1 - self.decay) * loss, loss)
        self.seen[idx] = True
        class_max = torch.zeros(self.num_classes).scatter_reduce(0, self.labels[self.seen], self.value[self.seen],
                                                                 reduce="amax", include_self=True)
        return self.value[idx] / (class_max[self.labels[idx]] + EPS)


def lff_losses(biased_logits: torch.Tensor, debiased_logits: torch.Tensor, y: torch.Tensor, q: float = 0.7,
               weights: torch.Tensor | None = None) -> tuple[torch.Tensor, torch.Tensor]:
    """``(GCE of f_B, mean of W * CE of f_D)`` for a batch (Algorithm 1, lines 5-7); ``weights``
    overrides W (e.g. from the EMA losses)."""
    ce_b = F.cross_entropy(biased_logits, y, reduction="none")
    ce_d = F.cross_entropy(debiased_logits, y, reduction="none")
    w = relative_difficulty(ce_b, ce_d) if weights is None else weights.to(ce_d.device).detach()
    return gce_loss(biased_logits, y, q), (w * ce_d).mean()


@register("lff", "LfF", "Nam, Cha, Ahn, Lee & Shin, NeurIPS 2020")
def fit(model_fn: ModelFn, train_split: BiasedSplit, cfg: TrainConfig, q: float = 0.7, ema: float | None = None,
        augment: AugmentConfig | None = AugmentConfig(), progress: bool = True) -> MethodResult:
    """Train f_B (GCE) and f_D (W-weighted CE) jointly; returns f_D."""
    check_split(train_split)
    nets = nn.ModuleDict({"debiased": model_fn(), "biased": model_fn()})
    averages = None
    if ema is not None:
        averages = (ClassNormalisedEMA(train_split.y, ema), ClassNormalisedEMA(train_split.y, ema))

    def objective(m: nn.ModuleDict, x: torch.Tensor, y: torch.Tensor, idx: torch.Tensor) -> torch.Tensor:
        logits_b, logits_d = m["biased"](x), m["debiased"](x)
        weights = None
        if averages is not None:
            ce_b = averages[0].update(idx, F.cross_entropy(logits_b, y, reduction="none"))
            ce_d = averages[1].update(idx, F.cross_entropy(logits_d, y, reduction="none"))
            weights = relative_difficulty(ce_b, ce_d)
        gce, weighted_ce = lff_losses(logits_b, logits_d, y, q, weights)
        return gce + weighted_ce

    res = train(nets, train_split, cfg, objective=objective, augment=augment, progress=progress, desc="LfF")
    return MethodResult("lff", nets["debiased"].eval(), res.history, {"biased": nets["biased"].eval()}, res.seconds)
