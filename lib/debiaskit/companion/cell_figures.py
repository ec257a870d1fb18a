"""The protocol cells beside the paper, as a figure: each stored cell's three numbers against the paper's mean ± std.

Table 1's columns (validation, majority and minority accuracy) are one panel each; every cell of today's full-profile
settings is a point, and the paper's value for its method and setting is drawn beside it as the mean with a bar of
two standard deviations (the report's *within* band, with its 2-point floor as a lighter bar).
"""

from __future__ import annotations

import numpy as np

METRIC_TITLES = {"val": "Validation (biased)", "major": "Majority M", "minor": "Minority m"}


def plot_protocol_cells(rows: list[dict], names: dict[str, str] | None = None):
    """A figure of ``rows`` (:func:`debiaskit.companion.cells.cell_table`'s, those with ``counted`` True) beside the
    paper: one panel per metric, one position per cell (``cell``'s key, labelled by its method's display name from
    ``names`` and in its order), the reproduced value as a dot and the paper's mean ± 2 std (at least ± 2 points) as
    a bar. ``rows`` that are not a list, are empty, or hold a row without those keys or not counted: ``ValueError``."""
    import matplotlib.pyplot as plt

    if not isinstance(rows, (list, tuple)):
        raise ValueError(f"plot_protocol_cells takes a list of debiaskit.companion.cells.cell_table's rows; got "
                         f"{type(rows).__name__}")
    if not rows:
        raise ValueError("no protocol cell to plot: store cells with `debiaskit campaign` first")
    needed = {"cell", "cell_fields", "counted", *METRIC_TITLES, *(f"paper_{m}" for m in METRIC_TITLES),
              *(f"paper_{m}_std" for m in METRIC_TITLES)}
    door = "plot_protocol_cells takes rows of debiaskit.companion.cells.cell_table; got"
    for row in rows:
        if not isinstance(row, dict):
            raise ValueError(f"{door} {type(row).__name__} {row!r}")
        if missing := sorted(needed - row.keys()):
            raise ValueError(f"{door} dict {row.get('cell', '')!r} without {missing}")
        if not row["counted"]:
            raise ValueError(f"cell {row['cell']!r} is not counted (measured under other settings or dated): plot "
                             "the rows whose 'counted' is True")
    names = names or {}
    order = {method: i for i, method in enumerate(names)}  # Table 1's row order where ``names`` gives it

    def setting(row: dict) -> str:
        """``cm99 s0``: the cell's key less its method (a method's name may hold underscores, the rest does not)."""
        return " ".join(row["cell"].split("_")[:2])

    rows = sorted(rows, key=lambda r: (setting(r), order.get(r["cell_fields"][2], len(order))))
    labels = [f"{names.get(r['cell_fields'][2], r['cell_fields'][2])}\n{setting(r)}" for r in rows]
    x = np.arange(len(rows))
    fig, axes = plt.subplots(1, len(METRIC_TITLES), figsize=(max(6.0, 0.9 * len(rows)) * 1.6, 3.8), squeeze=False)
    for ax, (metric, title) in zip(axes[0], METRIC_TITLES.items()):
        paper = np.array([np.nan if r[f"paper_{metric}"] is None else r[f"paper_{metric}"] for r in rows], dtype=float)
        std = np.array([r[f"paper_{metric}_std"] or 0.0 for r in rows], dtype=float)
        ax.errorbar(x + 0.12, paper, yerr=np.maximum(2 * std, 2.0), fmt="none", ecolor="0.75", elinewidth=6,
                    label="paper ± max(2 std, 2 points)")
        ax.errorbar(x + 0.12, paper, yerr=2 * std, fmt="_", color="black", markersize=12, capsize=3,
                    label="paper mean ± 2 std")
        ax.scatter(x - 0.12, [r[metric] for r in rows], color="tab:blue", zorder=3, label="reproduced")
        ax.set_xticks(x, labels, rotation=45, ha="right", fontsize=8)
        ax.set_ylim(-2, 103)
        ax.set_title(title)
    axes[0][0].set_ylabel("accuracy (%)")
    handles, legend = axes[0][0].get_legend_handles_labels()
    fig.legend(handles, legend, loc="upper center", ncol=3, bbox_to_anchor=(0.5, 1.06))
    fig.tight_layout()
    return fig
