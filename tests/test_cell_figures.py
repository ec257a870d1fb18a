"""The protocol cells' figure: one panel per Table 1 column, each cell a point in Table 1's order beside the paper."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import numpy as np  # noqa: E402
import pytest  # noqa: E402

from debiaskit.companion.cell_figures import plot_protocol_cells  # noqa: E402


def _row(method: str, minor: float, paper_minor: float | None) -> dict:
    row = {"cell": f"cm99_s0_{method}", "cell_fields": ("colored_mnist", 0.99, method), "counted": True}
    for metric, value in (("val", 99.0), ("major", 99.5), ("minor", minor)):
        row[metric] = value
        row[f"paper_{metric}"] = paper_minor if metric == "minor" else 99.0
        row[f"paper_{metric}_std"] = 0.5
    return row


def test_every_cell_is_a_point_in_table_1s_order_beside_the_papers_band():
    rows = [_row("pgd", 98.0, 97.76), _row("vanilla", 52.5, None)]
    fig = plot_protocol_cells(rows, {"vanilla": "Vanilla", "pgd": "PGD (ours)"})
    axes = fig.axes
    assert [ax.get_title() for ax in axes] == ["Validation (biased)", "Majority M", "Minority m"]
    minor = axes[2]
    (points,) = minor.collections[-1:]
    assert [tuple(p) for p in points.get_offsets()] == [(-0.12, 52.5), (0.88, 98.0)]  # Vanilla first, as in Table 1
    assert [t.get_text().split("\n")[0] for t in minor.get_xticklabels()] == ["Vanilla", "PGD (ours)"]


def test_nothing_measured_is_said_not_drawn():
    with pytest.raises(ValueError, match="no protocol cell to plot"):
        plot_protocol_cells([])


def test_rows_of_another_shape_are_refused_at_the_door():
    row = _row("pgd", 98.0, 97.76)
    del row["paper_minor_std"]
    with pytest.raises(ValueError, match=r"cell_table.*'cm99_s0_pgd'.*without \['paper_minor_std'\]"):
        plot_protocol_cells([row])
    with pytest.raises(ValueError, match="takes rows of .*cell_table; got tuple"):
        plot_protocol_cells([("cm99_s0_pgd", 98.0)])
    with pytest.raises(ValueError, match="takes a list of .*cell_table's rows; got ndarray"):
        plot_protocol_cells(np.zeros((2, 3)))
    with pytest.raises(ValueError, match="'cm99_s0_pgd' is not counted"):
        plot_protocol_cells([{**_row("pgd", 98.0, 97.76), "counted": False}])
