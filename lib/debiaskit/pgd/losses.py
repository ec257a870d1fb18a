"""Objectives for :func:`debiaskit.core.training.train` (``objective(model, x, y, idx) -> loss``).

* GCE (Zhang & Sabuncu 2018), the biased model's loss in Algorithm 2, step 1:
  L = (1 - p_y^q) / q, q = 0.7 (Table 4). ``form="true"`` is that loss; ``form="lff"`` is LfF's
  implementation, CE * p_y^q (detached) * q, whose gradient is q times GCE's.
* The "adjusting objective" ablation (Appendix H): per-sample CE weighted by p_s(i) / mean(p_s).
"""

from __future__ import annotations

from typing import Callable

import torch
import torch.nn.functional as F
from torch import nn

Objective = Callable[[nn.Module, torch.Tensor, torch.Tensor, torch.Tensor], torch.Tensor]
GCE_FORMS = ("true", "lff")


def gce_loss(logits: torch.Tensor, y: torch.Tensor, q: float = 0.7, form: str = "true") -> torch.Tensor:
    """Mean generalised cross-entropy of a batch. ``form="true"``: (1 - p_y^q) / q;
    ``form="lff"``: CE * p_y^q.detach() * q (LfF's code). q in (0, 1]; q -> 0 recovers CE."""
    if not 0 < q <= 1:
        raise ValueError(f"GCE's q must be in (0, 1], got {q}")
    if form not in GCE_FORMS:
        raise ValueError(f"form must be one of {GCE_FORMS}, got {form!r}")
    log_py = F.log_softmax(logits, dim=1).gather(1, y.unsqueeze(1)).squeeze(1)
    py_q = torch.exp(q * log_py)  # p_y^q without forming p_y first
    if form == "true":
        return ((1.0 - py_q) / q).mean()
    return (-log_py * py_q.detach() * q).mean()


def gce_objective(q: float = 0.7, form: str = "true") -> Objective:
    """GCE as a training objective (Algorithm 2, line 5)."""
    gce_loss(torch.zeros(1, 2), torch.zeros(1, dtype=torch.long), q, form)  # validate q/form now

    def objective(model: nn.Module, x: torch.Tensor, y: torch.Tensor, idx: torch.Tensor) -> torch.Tensor:
        return gce_loss(model(x), y, q, form)

    return objective


def adjusting_weights(p_s: torch.Tensor) -> torch.Tensor:
    """p_s(i) / (sum_j p_s(j) / N): the loss weights of Appendix H's "adjusting objective" ablation."""
    p = torch.as_tensor(p_s).double()
    if p.numel() == 0 or not torch.isfinite(p).all() or (p < 0).any() or not p.sum() > 0:
        raise ValueError("p_s must be a non-empty vector of finite, non-negative values with a positive sum")
    return (p / p.mean()).float()


def weighted_ce_objective(weights: torch.Tensor) -> Objective:
    """Cross-entropy with a fixed weight per training sample: mean_i w[idx_i] * CE_i (use with the
    default shuffled sampler; ``weights`` indexed like the training split)."""
    w = torch.as_tensor(weights).float()
    if not torch.isfinite(w).all() or (w < 0).any():
        raise ValueError("loss weights must be finite and non-negative")

    def objective(model: nn.Module, x: torch.Tensor, y: torch.Tensor, idx: torch.Tensor) -> torch.Tensor:
        ce = F.cross_entropy(model(x), y, reduction="none")
        return (w.to(ce.device)[idx] * ce).mean()

    return objective


def adjusting_objective(p_s: torch.Tensor) -> Objective:
    """The Appendix H ablation in one call: CE weighted by p_s / mean(p_s)."""
    return weighted_ce_objective(adjusting_weights(p_s))
