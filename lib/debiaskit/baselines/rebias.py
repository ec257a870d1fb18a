"""ReBias (Bahng, Chun, Yun, Choo & Oh, ICML 2020, Section 3): de-biased representations that are
statistically independent of a biased one.

The de-biased model f and the biased model g play a min-max game over the unbiased HSIC of their
representations (:mod:`debiaskit.baselines.hsic`):

    f:  min  L(f(x), y) + lambda   * HSIC_1(f(x), g(x)),
    g:  min  L(g(x), y) - lambda_g * HSIC_1(f(x), g(x)),

g is pushed to stay predictive (it picks up the easy bias) while tracking whatever f still shares
with it; f is pushed to be independent of it. The paper gives g small receptive fields; like the draft
(Appendix C) we use the same network for both. HSIC is taken on the ``features`` (input of ``fc``).
One backward pass updates both: each HSIC term is detached from the other player, which makes it a
simultaneous rather than alternating gradient step.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from debiaskit.baselines.common import MethodResult, ModelFn, check_split, features_and_logits
from debiaskit.baselines.hsic import hsic
from debiaskit.baselines.registry import register
from debiaskit.core.augment import AugmentConfig
from debiaskit.core.splits import BiasedSplit
from debiaskit.core.training import TrainConfig, train


def rebias_loss(h_f: torch.Tensor, logits_f: torch.Tensor, h_g: torch.Tensor, logits_g: torch.Tensor, y: torch.Tensor,
                lam: float = 1.0, lam_g: float = 1.0) -> torch.Tensor:
    """Both players' objectives in one scalar whose gradient w.r.t. f is f's and w.r.t. g is g's."""
    loss_f = F.cross_entropy(logits_f, y) + lam * hsic(h_f, h_g.detach())
    loss_g = F.cross_entropy(logits_g, y) - lam_g * hsic(h_f.detach(), h_g)
    return loss_f + loss_g


@register("rebias", "ReBias", "Bahng, Chun, Yun, Choo & Oh, ICML 2020")
def fit(model_fn: ModelFn, train_split: BiasedSplit, cfg: TrainConfig, lam: float = 1.0, lam_g: float = 1.0,
        augment: AugmentConfig | None = AugmentConfig(), progress: bool = True) -> MethodResult:
    """Train f and g jointly; returns f."""
    check_split(train_split)
    nets = nn.ModuleDict({"debiased": model_fn(), "biased": model_fn()})

    def objective(m: nn.ModuleDict, x: torch.Tensor, y: torch.Tensor, idx: torch.Tensor) -> torch.Tensor:
        if len(x) < 4:  # HSIC_1 needs 4 samples; a tiny last batch trains on CE only
            return F.cross_entropy(m["debiased"](x), y) + F.cross_entropy(m["biased"](x), y)
        h_f, logits_f = features_and_logits(m["debiased"], x)
        h_g, logits_g = features_and_logits(m["biased"], x)
        return rebias_loss(h_f, logits_f, h_g, logits_g, y, lam, lam_g)

    res = train(nets, train_split, cfg, objective=objective, augment=augment, progress=progress, desc="ReBias")
    return MethodResult("rebias", nets["debiased"].eval(), res.history, {"biased": nets["biased"].eval()}, res.seconds)
