"""Table 1's full protocol as a grid of cells, each measured on its own.

A cell of Table 1 (PGD draft, Section 6.1) is one data set x bias ratio x seed x method: one model, trained under the
full profile's settings for its data set, and its three numbers (validation, majority and minority accuracy, the
table's columns). Cells are measured one at a time, on whatever machine is at hand
(:mod:`debiaskit.companion.campaign`, or the Table 1 notebook under its full profile); the table is assembled from the
cells measured so far (:mod:`debiaskit.companion.cells`).
"""

from __future__ import annotations

from dataclasses import dataclass

from debiaskit.experiments.benchmarks import SHORT

METRICS = ("val", "major", "minor")
"""Table 1's columns: biased-validation accuracy, test accuracy on the majority M and on the minority m (%)."""


@dataclass(frozen=True)
class Table1Cell:
    """One cell of Table 1's grid."""

    dataset: str
    bias_ratio: float
    seed: int
    method: str

    @property
    def key(self) -> str:
        """``cm99_s0_vanilla``: the data set's short name, the ratio in percent, the seed, the method."""
        ratio = f"{100 * self.bias_ratio:g}".replace(".", "")
        return f"{SHORT.get(self.dataset, self.dataset)}{ratio}_s{self.seed}_{self.method}"

    def as_dict(self) -> dict:
        return {"dataset": self.dataset, "bias_ratio": self.bias_ratio, "seed": self.seed, "method": self.method}


def table1_grid(params: dict) -> list[Table1Cell]:
    """Every cell of a Table 1 profile's parameters (``datasets``, ``bias_ratios``, ``seeds``, ``methods``), seed by
    seed so that a partial run covers every method of a seed first."""
    methods = params.get("methods") or []
    return [Table1Cell(d, float(r), int(s), m) for d in params["datasets"] for r in params["bias_ratios"]
            for s in params["seeds"] for m in methods]


def table1_settings(params: dict, cell: Table1Cell) -> dict:
    """What a cell's numbers depend on besides the code: the data set's training settings, the method's options,
    the data (training and test sizes, difficulty, source)."""
    dataset = cell.dataset
    return {"train": dict((params.get("train_settings") or {}).get(dataset) or {}),
            "options": dict((params.get("method_options") or {}).get(cell.method) or {}),
            "n_train": (params.get("n_train") or {}).get(dataset), "n_test": params.get("n_test"),
            "difficulty": (params.get("difficulty") or {}).get(dataset),
            "source": (params.get("sources") or {}).get(dataset, "real")}


def measure_table1_cell(cell: Table1Cell, settings: dict, *, root: str | None = None,
                        progress: bool = True) -> dict[str, float]:
    """Train (or read from the model cache) the cell's model under ``settings`` (:func:`table1_settings`) and return
    its Table 1 numbers ``{"val", "major", "minor"}`` in percent."""
    from debiaskit.experiments.benchmarks import build_benchmark
    from debiaskit.experiments.runs import train_config, trained_model
    from debiaskit.experiments.suite import accuracy_rows

    bench = build_benchmark(cell.dataset, cell.bias_ratio, seed=cell.seed, difficulty=settings.get("difficulty"),
                            n_train=settings.get("n_train"), n_test=settings.get("n_test"), root=root,
                            source=settings.get("source", "real"))
    cfg = train_config(settings["train"], seed=cell.seed)
    model = trained_model(cell.method, bench, cfg, settings.get("options"), progress=progress)
    row = accuracy_rows({cell.method: model}, bench)[0]
    return {m: float(row[m]) for m in METRICS}
