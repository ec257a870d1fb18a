"""Accuracy summaries beyond the overall number: per (target, bias) cell."""

from __future__ import annotations

import torch


def cell_accuracy(pred: torch.Tensor, y: torch.Tensor, bias: torch.Tensor, num_classes: int,
                  num_bias: int | None = None) -> torch.Tensor:
    """Accuracy (%) of every (target y, bias attribute b) cell as a [num_classes, num_bias] matrix; NaN where empty.

    The PGD draft's Figure 3 and Figure 13 plot this matrix: the diagonal holds the majority
    samples, the off-diagonal cells the minority.
    """
    num_bias = num_bias or num_classes
    cell = y * num_bias + bias
    total = torch.bincount(cell, minlength=num_classes * num_bias).float()
    right = torch.bincount(cell, weights=(pred == y).float(), minlength=num_classes * num_bias)
    acc = 100 * right / total
    acc[total == 0] = float("nan")
    return acc.view(num_classes, num_bias)


def diagonal_and_off(matrix: torch.Tensor) -> tuple[float, float]:
    """Mean accuracy on the diagonal (majority cells) and off it (minority cells), ignoring empty cells."""
    eye = torch.eye(matrix.shape[0], matrix.shape[1], dtype=torch.bool)
    return float(matrix[eye].nanmean()), float(matrix[~eye].nanmean())
