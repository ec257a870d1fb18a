"""How majority and minority samples differ in their per-sample gradients (PGD draft, Section 4.1,
Figure 4c).

The draft's observation: under the biased model, minority samples have *larger* gradient magnitudes
||g_i|| and *lower* directional likelihoods p_dir(i) (the per-class vMF density of g_i / ||g_i||,
Definition 4.1) than majority samples. Figure 4(c) shows it as histograms of the share of majority and
minority samples per bin of each quantity; here the bins are the deciles of the pooled values (bin 1
holds the lowest tenth), so each group's shares sum to 1 and a group spread evenly would put 10% in
every bin. The AUROC summarises the same separation in one number.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from sklearn.metrics import roc_auc_score
from torch import nn

from debiaskit.core.splits import BiasedSplit


@dataclass
class GradientProfile:
    """Per-sample gradient quantities of one split under one model (float64, CPU).

    ``norm``: ||g_i|| on the k dominant coordinates (what M(i) uses); ``log_direction``: log p_dir(i);
    ``log_m``/``log_d``/``log_s``: the draft's scores (Eq. 1, Section 4.2); ``major``: the majority flags;
    ``error_rate``: the model's training error on the split (what ``target_ess="auto"`` balances on).
    """

    norm: torch.Tensor
    log_direction: torch.Tensor
    log_m: torch.Tensor
    log_d: torch.Tensor
    log_s: torch.Tensor
    major: torch.Tensor
    y: torch.Tensor
    bias: torch.Tensor
    kappa: dict
    grads: torch.Tensor
    error_rate: float


def gradient_profile(model: nn.Module, split: BiasedSplit, k: int = 100, lam: float = 1.0, params="all",
                     batch_size: int = 512) -> GradientProfile:
    """Per-sample gradients of ``model`` on ``split`` (k dominant coordinates, Section 4.1) and the
    draft's scores M, D and S computed from them per class."""
    from debiaskit import pgd

    top = pgd.topk_per_sample_grads(model, split.x, split.y, k=k, params=params, batch_size=batch_size)
    scores = pgd.pgd_scores(top.grads, split.y, lam=lam)
    norm = torch.linalg.vector_norm(top.grads.double(), dim=1)
    return GradientProfile(norm=norm, log_direction=scores.log_density, log_m=scores.log_m, log_d=scores.log_d,
                           log_s=scores.log_s, major=split.major.cpu(), y=split.y.cpu(), bias=split.bias.cpu(),
                           kappa=scores.kappa, grads=top.grads,
                           error_rate=pgd.training_error(model, split.x, split.y, batch_size))


def quantile_bins(values: torch.Tensor, bins: int = 10) -> torch.Tensor:
    """Bin index 0..bins-1 of every value by the quantiles of ``values`` (ties share a bin)."""
    if bins < 1:
        raise ValueError(f"bins must be at least 1, got {bins}")
    v = torch.as_tensor(values).double().cpu()
    if v.numel() == 0:
        raise ValueError("cannot bin an empty vector")
    if not torch.isfinite(v).all():
        raise ValueError("values to bin must be finite")
    edges = torch.quantile(v, torch.linspace(0, 1, bins + 1, dtype=torch.float64)[1:-1])
    return torch.bucketize(v, edges, right=True)


def bin_shares(bin_index: torch.Tensor, groups: torch.Tensor, bins: int = 10) -> dict[str, np.ndarray]:
    """Share of each group's samples per bin (Figure 4c): ``{"majority": [bins], "minority": [bins]}``,
    each summing to 1. ``groups`` are the majority flags."""
    idx = torch.as_tensor(bin_index).long().cpu()
    major = torch.as_tensor(groups).bool().cpu()
    if len(idx) != len(major):
        raise ValueError(f"bin indices and group flags differ in length: {len(idx)} vs {len(major)}")
    if len(idx) and (idx.min() < 0 or idx.max() >= bins):
        raise ValueError(f"bin indices must be in [0, {bins})")
    out = {}
    for name, mask in (("majority", major), ("minority", ~major)):
        if not bool(mask.any()):
            raise ValueError(f"no {name} samples: the shares of an empty group are undefined")
        counts = torch.bincount(idx[mask], minlength=bins).double()
        out[name] = (counts / counts.sum()).numpy()
    return out


def separation_auc(values: torch.Tensor, major: torch.Tensor) -> float:
    """AUROC (%) of ``values`` for telling minority (positive) from majority samples: the probability
    that a random minority sample has a larger value than a random majority one (50 = no separation)."""
    major = torch.as_tensor(major).bool().cpu().numpy()
    if major.all() or not major.any():
        raise ValueError("need both majority and minority samples")
    return 100.0 * float(roc_auc_score(~major, torch.as_tensor(values).double().cpu().numpy()))
