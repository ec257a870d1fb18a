"""(Label, bias attribute) sampling-probability matrices and how uniform they are (PGD draft,
Appendix H "Pairwise sampling probability", Figure 14).

A sampler that draws sample i with probability proportional to w_i puts the mass
sum_{i: y_i = a, b_i = c} w_i on the cell (label a, colour c). Figure 14 shows this matrix for the raw
set (w = 1: the diagonal dominates) and for p_M, p_D and p_S, row by row. The draft states that p_S
is "the most uniformized"; we measure that with a **uniformity statistic**: the mean over labels of the
normalised Shannon entropy of the row,

    U = (1 / A) sum_a H(q_a) / log C,   q_a(c) = mass(a, c) / sum_c' mass(a, c'),

which is 1 when every row spreads its mass evenly over the C colours (every (label, colour) pair is
drawn equally often: the bias is gone from the batches) and 0 when every row puts all of it on one
colour (the raw 100%-biased case).
"""

from __future__ import annotations

import numpy as np
import torch
from scipy.stats import entropy


def cell_mass(weights: torch.Tensor, y: torch.Tensor, bias: torch.Tensor, num_classes: int,
              num_bias: int | None = None) -> np.ndarray:
    """Total sampling weight of every (label, bias attribute) cell, [num_classes, num_bias]."""
    num_bias = num_bias or num_classes
    w = torch.as_tensor(weights).double().cpu()
    y, bias = torch.as_tensor(y).long().cpu(), torch.as_tensor(bias).long().cpu()
    if not (len(w) == len(y) == len(bias)):
        raise ValueError(f"weights, labels and bias attributes differ in length: {len(w)}, {len(y)}, {len(bias)}")
    if not torch.isfinite(w).all() or (w < 0).any():
        raise ValueError("sampling weights must be finite and non-negative")
    cell = y * num_bias + bias
    mass = torch.bincount(cell, weights=w, minlength=num_classes * num_bias)
    return mass.view(num_classes, num_bias).numpy()


def sampling_matrix(weights: torch.Tensor, y: torch.Tensor, bias: torch.Tensor, num_classes: int,
                    num_bias: int | None = None) -> np.ndarray:
    """Figure 14's matrix: the cell masses normalised per label (each row sums to 1; a row without
    mass stays 0)."""
    mass = cell_mass(weights, y, bias, num_classes, num_bias)
    rows = mass.sum(1, keepdims=True)
    return np.divide(mass, rows, out=np.zeros_like(mass), where=rows > 0)


def uniformity(matrix: np.ndarray) -> float:
    """Mean normalised row entropy of a non-negative matrix, in [0, 1] (1 = every row uniform).
    Rows without mass are skipped; a single column is uniform by definition."""
    m = np.asarray(matrix, dtype=np.float64)
    if m.ndim != 2 or m.size == 0:
        raise ValueError(f"expected a non-empty 2-D matrix, got shape {m.shape}")
    if not np.isfinite(m).all() or (m < 0).any():
        raise ValueError("the matrix must be finite and non-negative")
    rows = m[m.sum(1) > 0]
    if len(rows) == 0:
        raise ValueError("every row of the matrix is empty")
    if m.shape[1] == 1:
        return 1.0
    return float(np.mean(entropy(rows, axis=1) / np.log(m.shape[1])))
