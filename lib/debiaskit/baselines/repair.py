"""REPAIR-S (Li & Vasconcelos, CVPR 2019): learn per-sample weights that remove representation bias,
then resample the data set with them.

Weights w_i = sigmoid(t_i) in (0, 1) and a classifier theta play the REPAIR min-max game (Section 4):
the classifier minimises the w-weighted cross-entropy

    R(w, theta) = sum_i w_i CE(theta; x_i, y_i) / sum_i w_i,

and the weights *maximise* it, i.e. shift mass onto the samples the (biased) representation cannot
classify, which minimises the representation bias log|Y| - min_theta R. REPAIR-S ("sampling") then keeps
every sample independently with probability w_i and trains the de-biased model on that repaired set.

As the draft's Appendix C says, no bias labels are used: the classifier sees the images themselves
(the official code feeds it the bias feature, e.g. the RGB colour), relying on a network learning the
easy bias first. Both players are trained by one loop over a ``ModuleDict``; the weights' step is
``weight_lr`` (implemented as a gradient scale of ``weight_lr / cfg.lr`` on their term).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from debiaskit.baselines.common import MethodResult, ModelFn, check_split, stage_config
from debiaskit.baselines.registry import register
from debiaskit.core.augment import AugmentConfig
from debiaskit.core.splits import BiasedSplit
from debiaskit.core.training import TrainConfig, train


class SampleWeights(nn.Module):
    """One learnable logit per training sample; ``forward(idx)`` gives w = sigmoid(t[idx])."""

    def __init__(self, n: int) -> None:
        super().__init__()
        self.logits = nn.Parameter(torch.zeros(n))

    def forward(self, idx: torch.Tensor) -> torch.Tensor:
        return torch.sigmoid(self.logits[idx])

    def weights(self) -> torch.Tensor:
        return torch.sigmoid(self.logits.detach()).cpu()


def repair_loss(ce: torch.Tensor, w: torch.Tensor, weight_scale: float = 1.0) -> torch.Tensor:
    """One scalar for both players: its gradient w.r.t. the classifier descends the weighted risk
    R = sum w CE / sum w, and w.r.t. the weights *ascends* it (scaled by ``weight_scale``)."""
    risk_for_classifier = (w.detach() * ce).sum() / w.detach().sum()
    risk_for_weights = (w * ce.detach()).sum() / w.sum()
    return risk_for_classifier - weight_scale * risk_for_weights


def resample(weights: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
    """REPAIR-S: indices of the samples kept, each independently with probability w_i."""
    w = torch.as_tensor(weights).float()
    if w.numel() == 0 or not torch.isfinite(w).all() or (w < 0).any() or (w > 1).any():
        raise ValueError("REPAIR weights must be a non-empty vector in [0, 1]")
    keep = torch.rand(len(w), generator=generator) < w
    if not keep.any():
        keep[int(w.argmax())] = True
    return keep.nonzero(as_tuple=True)[0]


def learn_weights(model_fn: ModelFn, train_split: BiasedSplit, cfg: TrainConfig, weight_lr: float = 10.0,
                  augment: AugmentConfig | None = AugmentConfig(), progress: bool = True) -> tuple[torch.Tensor, list]:
    """The min-max phase: returns (w [N], history)."""
    nets = nn.ModuleDict({"classifier": model_fn(), "weights": SampleWeights(len(train_split))})
    scale = weight_lr / cfg.lr

    def objective(m: nn.ModuleDict, x: torch.Tensor, y: torch.Tensor, idx: torch.Tensor) -> torch.Tensor:
        ce = F.cross_entropy(m["classifier"](x), y, reduction="none")
        return repair_loss(ce, m["weights"](idx), scale)

    res = train(nets, train_split, cfg, objective=objective, augment=augment, progress=progress, desc="REPAIR weights")
    return nets["weights"].weights(), res.history


@register("repair", "REPAIR", "Li & Vasconcelos, CVPR 2019")
def fit(model_fn: ModelFn, train_split: BiasedSplit, cfg: TrainConfig, weight_lr: float = 10.0,
        weight_cfg: TrainConfig | dict | None = None, augment: AugmentConfig | None = AugmentConfig(),
        progress: bool = True) -> MethodResult:
    """Learn the weights (``weight_cfg``, default ``cfg``), resample once, train a fresh model on the kept set."""
    check_split(train_split)
    w, weight_history = learn_weights(model_fn, train_split, stage_config(cfg, weight_cfg), weight_lr, augment, progress)
    kept = resample(w, torch.Generator().manual_seed(cfg.seed))
    res = train(model_fn(), train_split.subset(kept), cfg, augment=augment, progress=progress, desc="REPAIR-S")
    sub = train_split.subset(kept)
    return MethodResult("repair", res.model, weight_history + res.history,
                        {"weights": w, "kept": kept, "kept_minority_share": sub.minority_ratio}, res.seconds)
