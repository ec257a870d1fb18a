"""What a stored Table 1 cell's model predicts, read from the model cache (never trained here).

Table 1's columns say how often a de-biased model is right on the majority and the minority; this says how it is
wrong. On the minority test images (colour class != label) it counts the predictions of the colour's class (a model
that follows the bias) and, on the majority images (colour class = label), the errors: a model that has learned to
vote *against* the colour gives up majority images while rarely predicting the colour on the minority. Run for a cell
stored under ``figures/cells/pgd/table1/`` whose model is in the cache (the machine that measured it)::

    DEBIASKIT_DATA=/path/to/data python benchmarks/cell_predictions.py cm99_s0_rubi cm99_s0_vanilla

It prints one line per cell; it exits with 2 naming the cell when that cell's model is not cached here.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import torch

from debiaskit.companion.cells import load_cells
from debiaskit.experiments.benchmarks import build_benchmark
from debiaskit.experiments.runs import is_trained, train_config, trained_model
from debiaskit.core.training import predict

ROOT = Path(__file__).resolve().parents[1]


def describe(record: dict) -> str:
    """One line: the cell's stored values, then its model's majority errors and its minority predictions."""
    cell, settings = record["cell"], record["settings"]
    bench = build_benchmark(cell["dataset"], cell["bias_ratio"], seed=cell["seed"], difficulty=settings.get("difficulty"),
                            n_train=settings.get("n_train"), n_test=settings.get("n_test"),
                            source=settings.get("source", "real"))
    cfg = train_config(settings["train"], seed=cell["seed"])
    if not is_trained(cell["method"], bench, cfg, settings.get("options")):
        raise LookupError(f"{record['key']}: its model is not in the model cache here (it is kept by the machine "
                          "that measured the cell); measure the cell here first")
    model = trained_model(cell["method"], bench, cfg, settings.get("options"), progress=False)
    test = bench.test
    pred = predict(model, test.x).argmax(1)
    major, minor = test.major, ~test.major
    wrong_major = major & (pred != test.y)
    colour_on_minor = (pred[minor] == test.bias[minor]).float().mean().item()
    right_on_minor = (pred[minor] == test.y[minor]).float().mean().item()
    classes = int(test.y.max()) + 1
    chance = (1 - right_on_minor) / (classes - 1)  # the colour's share if the errors were spread evenly
    per_class = torch.bincount(test.y[wrong_major], minlength=classes).tolist()
    return (f"{record['key']}: stored val/major/minor {record['values']['val']:.2f}/{record['values']['major']:.2f}/"
            f"{record['values']['minor']:.2f}; majority errors {int(wrong_major.sum())} of {int(major.sum())} "
            f"(by label {per_class}); minority predicted as the colour's class {100 * colour_on_minor:.1f}% "
            f"(evenly spread errors would give {100 * chance:.1f}%)")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("cells", nargs="+", help="stored cell keys, e.g. cm99_s0_rubi")
    args = parser.parse_args(argv)
    records = {r["key"]: r for r in load_cells(ROOT, "pgd/table1") if r["provenance"].get("code")}
    unknown = [k for k in args.cells if k not in records]
    if unknown:
        print(f"no stored cell {', '.join(unknown)}; stored: {', '.join(sorted(records))}", file=sys.stderr)
        return 2
    torch.set_num_threads(1)
    for key in args.cells:
        try:
            print(describe(records[key]), flush=True)
        except LookupError as exc:
            print(exc, file=sys.stderr)
            return 2
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
