"""Confidence scores of a softmax output (Section 3.2, Eqs. 1-4), each normalised to [0, 1].

All functions take logits ``[..., C]``. With ``normalize=True`` (default) the score is rescaled so that
a uniform softmax gives 0 and a one-hot softmax gives 1, as Section 3.2 asks ("normalizing outputs to a
[0, 1] range wherever feasible").
"""

from __future__ import annotations

import math
from typing import Callable

import torch

Confidence = Callable[[torch.Tensor], torch.Tensor]


def top_softmax(logits: torch.Tensor, normalize: bool = True) -> torch.Tensor:
    """Top softmax score ``max_i s_i`` (Eq. 2); normalised as ``(max s - 1/C) / (1 - 1/C)``."""
    c = logits.shape[-1]
    top = logits.softmax(-1).amax(-1)
    return (top - 1.0 / c) / (1.0 - 1.0 / c) if normalize else top


def margin(logits: torch.Tensor, normalize: bool = True) -> torch.Tensor:
    """Margin ``max_i s_i - max_{j != argmax} s_j`` (Eq. 3); already in [0, 1]."""
    if logits.shape[-1] < 2:
        raise ValueError("the margin needs at least two classes")
    top2 = logits.softmax(-1).topk(2, dim=-1).values
    return top2[..., 0] - top2[..., 1]


def negative_entropy(logits: torch.Tensor, normalize: bool = True) -> torch.Tensor:
    """Negative entropy ``sum_i s_i log s_i`` (Eq. 4, the paper's default confidence).

    Normalised as ``1 - H / log C`` (H the entropy): 0 for a uniform softmax, 1 for a certain one.
    Unnormalised it is ``-H`` in ``[-log C, 0]``.
    """
    c = logits.shape[-1]
    logp = logits.log_softmax(-1)
    neg_h = (logp.exp() * logp).sum(-1)
    return 1.0 + neg_h / math.log(c) if normalize else neg_h


CONFIDENCES: dict[str, Confidence] = {"top_softmax": top_softmax, "margin": margin, "negative_entropy": negative_entropy}


def get_confidence(name: str) -> Confidence:
    """A confidence function by name: ``top_softmax``, ``margin`` or ``negative_entropy``."""
    if name not in CONFIDENCES:
        raise ValueError(f"unknown confidence {name!r}; choose one of {sorted(CONFIDENCES)}")
    return CONFIDENCES[name]
