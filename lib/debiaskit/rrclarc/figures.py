"""The figures of the RR-ClArC notebooks (seaborn style of :func:`debiaskit.companion.plotting.use_style`)."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import torch

CAV_COLOURS = {"signal": "C3", "svm": "C0", "ridge": "C1", "lasso": "C2", "logistic": "C4"}
METHOD_STYLE = {"biased model": ("black", "x"), "Vanilla": ("C7", "o"), "A-ClArC": ("C1", "s"), "P-ClArC": ("C2", "D"),
                "RR-ClArC": ("C3", "*"), "RR-ClArC (class)": ("C9", "v"), "RRR": ("C0", "^")}


def plot_alignment(table: pd.DataFrame):
    """CAV alignment against the number of labelled samples, mean and std over seeds, per CAV type:
    cosine with the mean artifact shift (left) and mean per-sample cosine (right)."""
    fig, axes = plt.subplots(1, 2, figsize=(10, 3.6), sharey=True)
    for ax, col, title in zip(axes, ("alignment", "alignment_per_sample"),
                              ("cos(h, mean artifact shift)", "mean over samples of cos(h, artifact shift)")):
        for kind, part in table.groupby("cav", sort=False):
            stats = part.groupby("n_labelled")[col].agg(["mean", "std"])
            top = kind == "signal"  # thick, with logistic dotted on top: the two often coincide
            ax.plot(stats.index, stats["mean"], marker="o" if kind != "logistic" else "x", label=kind,
                    color=CAV_COLOURS.get(kind), lw=3 if top else (2 if kind == "logistic" else 1.4),
                    ms=7 if top else 5, zorder={"signal": 5, "logistic": 6}.get(kind, 3),
                    ls=":" if kind == "logistic" else "-")
            ax.fill_between(stats.index, stats["mean"] - stats["std"], stats["mean"] + stats["std"], alpha=0.2,
                            color=CAV_COLOURS.get(kind))
        ax.set_xscale("log", base=2)
        ax.set_xlabel("labelled samples (half with the artifact)")
        ax.set_title(title)
    axes[0].set_ylabel("CAV alignment")
    handles, labels = axes[0].get_legend_handles_labels()
    fig.legend(handles, labels, title="CAV type", loc="center left", bbox_to_anchor=(1.0, 0.5))
    fig.tight_layout()
    return fig


def plot_tradeoff(sweep: pd.DataFrame, chosen_lambda: float | None = None):
    """Left: clean vs attacked accuracy (RR-ClArC and RRR over their lambda sweeps as lines, the
    lambda-free methods as points). Right: TCAV sensitivity of the biased class against lambda."""
    fig, (ax, bx) = plt.subplots(1, 2, figsize=(11, 4), gridspec_kw={"width_ratios": [1.15, 1]})
    for method, part in sweep.groupby("method", sort=False):
        colour, marker = METHOD_STYLE.get(method, ("grey", "o"))
        swept = part["lambda"].notna().any()
        ax.plot(part.clean, part.attacked, marker=marker, color=colour, ls="-" if swept else "none", ms=8 if swept else 9,
                label=method + (" (over λ)" if swept else ""))
        if swept:
            for _, r in part.iloc[[0, -1]].iterrows():  # the ends of the sweep
                ax.annotate(f"{r['lambda']:g}", (r.clean, r.attacked), textcoords="offset points", xytext=(4, -9),
                            fontsize=7, color=colour)
    ax.set_xlabel("clean accuracy (%)")
    ax.set_ylabel("attacked accuracy (%)")
    ax.set_title("clean vs attacked accuracy (labels: smallest and largest λ)")
    ax.legend(fontsize=8, loc="best")
    base = sweep.loc[sweep.method == "biased model", "tcav_sensitivity"].iloc[0]
    for method, part in sweep.groupby("method", sort=False):
        colour, marker = METHOD_STYLE.get(method, ("grey", "o"))
        rel = 100 * part.tcav_sensitivity / base
        if part["lambda"].notna().any():
            bx.plot(part["lambda"], rel.clip(lower=1e-3), marker=marker, color=colour,
                    label=method + (" (its own λ scale)" if method == "RRR" else ""))
        else:
            value = float(rel.iloc[0])
            bx.axhline(max(value, 1e-3), color=colour, ls="--", lw=1, label=method + (" (≈0)" if value < 1e-3 else ""))
    if chosen_lambda is not None:
        bx.axvline(chosen_lambda, color="grey", lw=0.8, ls=":")
    bx.set_xscale("log")
    bx.set_yscale("log")
    bx.set_xlabel("λ")
    bx.set_ylabel("TCAV sensitivity (% of the biased model)")
    bx.set_title("sensitivity of the biased class to the CAV")
    bx.legend(fontsize=7, loc="lower left")
    fig.tight_layout()
    return fig


def plot_heatmaps(images: torch.Tensor, maps: dict[str, torch.Tensor], mask: torch.Tensor | None,
                  r_bias: dict[str, float] | None = None, title: str | None = None):
    """Inputs in the first row, then one row of attribution heatmaps per model (red: for the
    explained class, blue: against), the artifact region outlined."""
    n = len(images)
    rows = 1 + len(maps)
    fig, axes = plt.subplots(rows, n, figsize=(1.5 * n + 1.2, 1.5 * rows), squeeze=False)
    for j in range(n):
        img = images[j].permute(1, 2, 0).numpy()
        axes[0, j].imshow(img.squeeze(-1) if img.shape[-1] == 1 else img, cmap="gray", vmin=0, vmax=1)
        for i, (name, attr) in enumerate(maps.items(), start=1):
            a = attr[j].numpy()
            lim = max(float(np.abs(a).max()), 1e-12)
            axes[i, j].imshow(a, cmap="bwr", vmin=-lim, vmax=lim)
            if mask is not None:
                axes[i, j].contour(mask.numpy().astype(float), levels=[0.5], colors="k", linewidths=0.6)
    for ax in axes.ravel():
        ax.set_xticks([])
        ax.set_yticks([])
    axes[0, 0].set_ylabel("input", fontsize=9)
    for i, name in enumerate(maps, start=1):
        label = name + (f"\nR_bias {r_bias[name]:.0f}%" if r_bias and name in r_bias else "")
        axes[i, 0].set_ylabel(label, fontsize=8)
    if title:
        fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    return fig
