"""Oracle validation (PGD draft, Appendix D, Tables 5-7): hyperparameters chosen with bias labels.

The draft's main results tune on the *biased* validation split (10% of the biased training set). Its
Appendix D instead tunes on a validation set "discriminated between majority and minority" and selects,
per method and setting, the configuration with the best *average of majority and minority accuracy*.
We build that set from the balanced test split: a random half becomes the oracle validation set and the
other half, disjoint from it, is where the chosen model is reported.
"""

from __future__ import annotations

import dataclasses
import itertools

import torch
from torch import nn

from debiaskit.core.splits import BiasedBenchmark, BiasedSplit
from debiaskit.core.training import TrainConfig, evaluate


def split_oracle(test: BiasedSplit, fraction: float = 0.5, seed: int = 0) -> tuple[BiasedSplit, BiasedSplit]:
    """``(oracle validation, remaining test)``: a random ``fraction`` of ``test`` and the rest,
    stratified by majority/minority membership so both keep the test split's share of minority samples."""
    if not 0 < fraction < 1:
        raise ValueError(f"fraction must be in (0, 1), got {fraction}")
    gen = torch.Generator().manual_seed(seed)
    val_rows, test_rows = [], []
    for mask in (test.major, ~test.major):
        rows = mask.nonzero(as_tuple=True)[0]
        rows = rows[torch.randperm(len(rows), generator=gen)]
        cut = int(round(fraction * len(rows)))
        val_rows.append(rows[:cut])
        test_rows.append(rows[cut:])
    return test.subset(torch.cat(val_rows).sort().values), test.subset(torch.cat(test_rows).sort().values)


def oracle_score(model: nn.Module, oracle_val: BiasedSplit) -> float:
    """The selection criterion of Appendix D: the mean of majority and minority accuracy (%)."""
    acc = evaluate(model, oracle_val)
    return 0.5 * (acc["major"] + acc["minor"])


def grid_configs(base: TrainConfig, grid: dict[str, list]) -> list[TrainConfig]:
    """Every combination of the ``grid`` values (TrainConfig fields, e.g. Figure 12's
    ``{"lr": [0.005, 0.01, 0.02], "epochs": [50, 100]}``) applied to ``base``."""
    fields = {f.name for f in dataclasses.fields(TrainConfig)}
    unknown = set(grid) - fields
    if unknown:
        raise ValueError(f"grid names unknown TrainConfig fields {sorted(unknown)}")
    keys = list(grid)
    return [dataclasses.replace(base, **dict(zip(keys, combo))) for combo in itertools.product(*(grid[k] for k in keys))]


def select_on_oracle(candidates: dict[str, nn.Module], bench: BiasedBenchmark, seed: int = 0
                     ) -> tuple[str, dict[str, float]]:
    """Pick the candidate (label -> trained model) with the best oracle score on half of ``bench.test``
    and report it on the other half: ``(label, {"oracle": score, "major": .., "minor": ..})``."""
    if not candidates:
        raise ValueError("no candidate models to select from")
    oracle_val, rest = split_oracle(bench.test, seed=seed)
    scores = {label: oracle_score(model, oracle_val) for label, model in candidates.items()}
    best = max(scores, key=lambda k: (scores[k], -list(candidates).index(k)))
    acc = evaluate(candidates[best], rest)
    return best, {"oracle": scores[best], "major": acc["major"], "minor": acc["minor"]}
