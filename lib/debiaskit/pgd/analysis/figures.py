"""Plots of the analysis notebooks, drawn the way the PGD draft draws them."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from debiaskit.pgd.analysis.landscape import Landscape

MAJORITY_COLOUR = "#4c72b0"
MINORITY_COLOUR = "#dd8452"


def plot_landscape(ax, land: Landscape, title: str, levels: int = 15):
    """Figure 4a/b: filled contours of the loss difference, the red arrow from the converged model
    (centre) to the lowest grid point."""
    a, b = np.meshgrid(land.alphas, land.betas)
    top = float(np.quantile(land.surface, 0.9))  # the far side of the gradient would swamp the colour scale
    bounds = np.linspace(float(land.surface.min()), max(top, float(land.surface.min()) + 1e-9), levels)
    cs = ax.contourf(a, b, land.surface, levels=bounds, cmap="viridis", extend="max")
    ax.contour(a, b, land.surface, levels=bounds, colors="k", linewidths=0.3, alpha=0.5)
    ma, mb, _ = land.minimum
    if land.arrow_length > 0:
        ax.annotate("", xy=(ma, mb), xytext=(0, 0), arrowprops={"arrowstyle": "-|>", "color": "red", "lw": 2})
    ax.plot([0], [0], "o", color="red", ms=4)
    ax.set_title(title)
    ax.set_xlabel("negative gradient direction")
    ax.set_ylabel("random direction")
    ax.set_aspect("equal")
    return cs


def plot_bin_shares(ax, shares: dict[str, np.ndarray], title: str, xlabel: str = "Bin index"):
    """Figure 4c: share (%) of majority and minority samples per bin, side by side."""
    bins = np.arange(1, len(shares["majority"]) + 1)
    width = 0.4
    ax.bar(bins - width / 2, 100 * shares["majority"], width, label="Majority", color=MAJORITY_COLOUR)
    ax.bar(bins + width / 2, 100 * shares["minority"], width, label="Minority", color=MINORITY_COLOUR)
    ax.set_xticks(bins)
    ax.set_ylim(0, 100)
    ax.set_xlabel(xlabel)
    ax.set_ylabel("Portion (%)")
    ax.set_title(title)
    return ax


def plot_matrix(ax, matrix: np.ndarray, title: str, annotate: bool = True, vmax: float | None = None):
    """Figure 14 / Figure 3 style heatmap: rows are labels, columns the bias attribute (colour)."""
    im = ax.imshow(matrix, cmap="Blues", vmin=0, vmax=vmax if vmax is not None else max(float(matrix.max()), 1e-12))
    if annotate:
        top = im.norm.vmax
        for (r, c), value in np.ndenumerate(matrix):
            ax.text(c, r, f"{value:.1f}", ha="center", va="center",
                    fontsize=5.5, color="white" if value > 0.6 * top else "black")
    n_rows, n_cols = matrix.shape
    ax.set_xticks(range(n_cols))
    ax.set_yticks(range(n_rows))
    ax.tick_params(labelsize=6)
    ax.set_xlabel("Color index")
    ax.set_ylabel("Label")
    ax.set_title(title)
    ax.grid(False)
    return im


def plot_grouped_bars(ax, table: pd.DataFrame, errors: pd.DataFrame | None = None, ylabel: str = "Accuracy (%)",
                      title: str = "", ylim: tuple[float, float] | None = (0, 100), paper: pd.DataFrame | None = None):
    """Bars of ``table`` (rows: groups on the x axis, columns: bars within a group), optional error bars
    and the paper's values as grey crosses."""
    n_rows, n_cols = table.shape
    x = np.arange(n_rows)
    width = 0.8 / n_cols
    palette = plt.rcParams["axes.prop_cycle"].by_key()["color"]
    for j, col in enumerate(table.columns):
        offset = (j - (n_cols - 1) / 2) * width
        yerr = None if errors is None else errors[col].to_numpy()
        ax.bar(x + offset, table[col].to_numpy(), width, yerr=yerr, capsize=2, label=str(col),
               color=palette[j % len(palette)])
        if paper is not None and col in paper.columns:
            values = paper.reindex(table.index)[col].to_numpy(dtype=float)
            ax.scatter(x + offset, values, marker="x", color="0.3", zorder=5, s=18,
                       label="paper" if j == 0 else None)
    ax.set_xticks(x, [str(i) for i in table.index])
    ax.set_ylabel(ylabel)
    if ylim is not None:
        ax.set_ylim(*ylim)
    ax.set_title(title)
    return ax
