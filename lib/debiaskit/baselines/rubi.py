"""RUBi (Cadene, Dancette, Ben-younes, Cord & Parikh, NeurIPS 2019, Section 3.2).

A bias-only branch c_b produces a mask sigma(c_b(x)) that multiplies the main model's logits:

    f_QM(x) = f(x) * sigmoid(c_b(x)),   L_QM = CE(f_QM(x), y),   L_QO = CE(c_b(x), y),
    L = L_QM + L_QO.

Samples the bias branch already gets right are down-weighted (the mask raises the fused logit of the
bias-predicted class, lowering L_QM), so f learns from the others. Here, as in the draft (Appendix C),
the bias-only branch is a whole network of the same type trained jointly on the biased set; its own
logits serve both as the mask and for L_QO (the paper's extra classifier c'_q is the identity), and
both terms update it. At test time only f is used.
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


def rubi_logits(main_logits: torch.Tensor, bias_logits: torch.Tensor) -> torch.Tensor:
    """The fused logits f(x) * sigmoid(c_b(x)) (RUBi, Eq. for f_QM)."""
    return main_logits * torch.sigmoid(bias_logits)


def rubi_loss(main_logits: torch.Tensor, bias_logits: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """L_QM + L_QO (RUBi, Section 3.2): CE of the masked logits plus the bias branch's own CE."""
    return F.cross_entropy(rubi_logits(main_logits, bias_logits), y) + F.cross_entropy(bias_logits, y)


@register("rubi", "RUBi", "Cadene, Dancette, Ben-younes, Cord & Parikh, NeurIPS 2019")
def fit(model_fn: ModelFn, train_split: BiasedSplit, cfg: TrainConfig, augment: AugmentConfig | None = AugmentConfig(),
        progress: bool = True) -> MethodResult:
    """Train the main model and the bias branch jointly (one ``nn.ModuleDict``)."""
    check_split(train_split)
    nets = nn.ModuleDict({"main": model_fn(), "bias": model_fn()})

    def objective(m: nn.ModuleDict, x: torch.Tensor, y: torch.Tensor, idx: torch.Tensor) -> torch.Tensor:
        return rubi_loss(m["main"](x), m["bias"](x), y)

    res = train(nets, train_split, cfg, objective=objective, augment=augment, progress=progress, desc="RUBi")
    return MethodResult("rubi", nets["main"].eval(), res.history, {"biased": nets["bias"].eval()}, res.seconds)
