"""Shared figure style and small plotting helpers for the notebooks."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import seaborn as sns
import torch


def use_style() -> None:
    """One look for every figure: seaborn's whitegrid, paper context, readable sizes."""
    sns.set_theme(context="paper", style="whitegrid", font_scale=1.1)
    plt.rcParams.update({"figure.dpi": 100, "savefig.dpi": 150, "axes.titlesize": "medium"})


def image_grid(images: torch.Tensor, nrow: int, ax=None, pad: int = 1):
    """Show a batch [N, C, H, W] in [0, 1] as one grid image on ``ax``."""
    from torchvision.utils import make_grid

    grid = make_grid(images, nrow=nrow, padding=pad, pad_value=1.0)
    ax = ax or plt.gca()
    ax.imshow(np.clip(grid.permute(1, 2, 0).numpy(), 0, 1), interpolation="nearest")
    ax.set_axis_off()
    return ax


def mark_paper_values(ax, x, values, label: str | None = "paper", marker: str = "_", size: float = 140, **kwargs):
    """Mark the paper's numbers beside reproduced bars or points: a black tick at each ``(x, value)``; ``None`` or
    NaN values (numbers the paper does not report) are left out. ``label`` goes into the legend once."""
    ys = np.array([np.nan if v is None else float(v) for v in values], dtype=float)
    xs = np.asarray(x, dtype=float)
    if xs.shape != ys.shape:
        raise ValueError(f"mark_paper_values needs one x per value, got {xs.shape} positions and {ys.shape} values")
    keep = ~np.isnan(ys)
    return ax.scatter(xs[keep], ys[keep], marker=marker, s=size, color=kwargs.pop("color", "black"),
                      zorder=kwargs.pop("zorder", 3), label=label, **kwargs)
