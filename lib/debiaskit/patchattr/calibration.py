"""Calibration of the region classifier (Section 3.3): ECE (Eq. 5) and reliability diagrams.

ECE = sum over equal-width bins of ``(n_b / N) |acc_b - conf_b|`` on the top-label confidence, computed
with torchmetrics; :func:`reliability_bins` gives the per-bin accuracy, mean confidence and counts that
Fig. 2 plots (the paper uses 100 bins over all patches of the validation set).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torchmetrics.functional.classification import multiclass_calibration_error


def expected_calibration_error(logits: torch.Tensor, labels: torch.Tensor, n_bins: int = 100) -> float:
    """ECE of Eq. 5 (L1, top label) through torchmetrics' ``multiclass_calibration_error``."""
    if logits.ndim != 2 or len(logits) != len(labels):
        raise ValueError(f"expected logits [N, C] and labels [N], got {tuple(logits.shape)} and {tuple(labels.shape)}")
    probs = logits.float().softmax(-1)
    return float(multiclass_calibration_error(probs, labels.long(), num_classes=logits.shape[1], n_bins=n_bins,
                                              norm="l1"))


@dataclass
class ReliabilityBins:
    """Per-bin statistics of a reliability diagram (bins ``[edges[i], edges[i+1])``; 1.0 joins the last bin)."""

    edges: torch.Tensor
    counts: torch.Tensor
    confidence: torch.Tensor  # mean confidence per bin (NaN when empty)
    accuracy: torch.Tensor  # accuracy per bin (NaN when empty)

    @property
    def ece(self) -> float:
        """Eq. 5 from the bins: ``sum_b (n_b / N) |acc_b - conf_b|``."""
        keep = self.counts > 0
        w = self.counts[keep] / self.counts.sum()
        return float((w * (self.accuracy[keep] - self.confidence[keep]).abs()).sum())


def reliability_bins(logits: torch.Tensor, labels: torch.Tensor, n_bins: int = 100) -> ReliabilityBins:
    """Top-label confidence and accuracy in ``n_bins`` equal-width bins, with counts (Fig. 2)."""
    probs = logits.float().softmax(-1)
    conf, pred = probs.max(-1)
    correct = (pred == labels).double()
    edges = torch.linspace(0, 1, n_bins + 1, dtype=torch.float64)
    index = (conf.double() * n_bins).floor().long().clamp(0, n_bins - 1)
    counts = torch.bincount(index, minlength=n_bins).double()
    conf_sum = torch.zeros(n_bins, dtype=torch.float64).index_add_(0, index, conf.double())
    acc_sum = torch.zeros(n_bins, dtype=torch.float64).index_add_(0, index, correct)
    safe = counts.clamp(min=1)
    nan = torch.full_like(counts, float("nan"))
    return ReliabilityBins(edges, counts, torch.where(counts > 0, conf_sum / safe, nan),
                           torch.where(counts > 0, acc_sum / safe, nan))
