"""The PGD draft's controlled benchmarks by name, every method's model trained into the cache (in worker processes,
or packed on an accelerator), and their evaluation together.

The notebooks read the models through :func:`debiaskit.experiments.runs.trained_model`, keyed by method, options,
network, training settings and the data set's construction parameters, so whichever notebook runs first trains them.
"""

from __future__ import annotations

from typing import Sequence

import pandas as pd
from torch import nn

from debiaskit.baselines.registry import DISPLAY_NAMES
from debiaskit.core.splits import BiasedBenchmark
from debiaskit.core.training import TrainConfig, evaluate
from debiaskit.experiments.benchmarks import SHORT
from debiaskit.experiments.runs import is_trained, model_factory, store_trained, trained_model

DATASETS = ("colored_mnist", "watermarked_mnist", "cartoon")
"""The controlled benchmarks (Section 6.1.1) of :data:`debiaskit.experiments.benchmarks.BENCHMARKS`."""


def warm_packed_vanilla(bench: BiasedBenchmark, configs: Sequence[TrainConfig], progress: bool = True) -> int:
    """Train the Vanilla models of ``configs`` (seeds x settings) that the cache lacks, all at once with
    :func:`debiaskit.core.packing.train_packed`, and store each under the key :func:`trained_model` reads; configurations
    that cannot share a step (other epochs, batch size or device) form separate packs. Returns how many were trained."""
    from debiaskit.core.packing import train_packed

    missing = [c for c in configs if not is_trained("vanilla", bench, c)]
    packs: dict[tuple, list[TrainConfig]] = {}
    for c in missing:
        packs.setdefault((c.epochs, c.batch_size, c.device, c.augment), []).append(c)
    for cfgs in packs.values():
        models = [model_factory(bench, c.seed)() for c in cfgs]
        results = train_packed(models, bench.train, cfgs, progress=progress, desc=f"vanilla {bench.name}")
        for c, res in zip(cfgs, results):
            store_trained("vanilla", bench, c, res.model.state_dict())
    return len(missing)


def warm_trained_models(methods: Sequence[str], bench: BiasedBenchmark, configs: Sequence[TrainConfig],
                        options: dict[str, dict] | None = None, workers: int | str = "auto",
                        pack: bool | str = "auto") -> int:
    """Train every (method, configuration) model of ``bench`` into the cache, ``workers`` at a time in
    worker processes (:func:`debiaskit.experiments.parallel.warm_cache`); then :func:`trained_model` reads them. Returns
    the number of workers (0: none started, the caller's loop trains the models).

    ``pack``: train the Vanilla models of several configurations in one vmapped loop first
    (:func:`warm_packed_vanilla`). ``"auto"`` packs on an accelerator, where one small model leaves the device
    idle, and not on a CPU, where packing gains nothing (benchmarks/README.md, "Packed training")."""
    from debiaskit.core.config import resolve_device

    options = options or {}
    if pack == "auto":
        pack = len(configs) > 1 and any(resolve_device(c.device).type != "cpu" for c in configs)
    if pack and "vanilla" in methods and not options.get("vanilla"):
        warm_packed_vanilla(bench, configs)
    return warm_models([(m, bench) for m in methods], configs, options, workers, desc=bench.name)


def warm_models(jobs: Sequence[tuple[str, BiasedBenchmark]], configs: TrainConfig | Sequence[TrainConfig],
                options: dict[str, dict] | None = None, workers: int | str = "auto", desc: str = "models") -> int:
    """Train the model of every ``(method, benchmark)`` of ``jobs`` under every configuration into the cache,
    ``workers`` processes at a time (:func:`debiaskit.experiments.parallel.warm_cache`), so that models of several
    benchmarks fill one pool. Returns the number of workers (0: none started)."""
    from debiaskit.experiments.parallel import warm_cache

    options = options or {}
    configs = [configs] if isinstance(configs, TrainConfig) else list(configs)
    calls = [(trained_model, (m, bench, c, options.get(m)), {"progress": False}) for m, bench in jobs for c in configs]
    return warm_cache(calls, workers, desc=desc)


def accuracy_rows(models: dict[str, nn.Module], bench: BiasedBenchmark) -> list[dict]:
    """Validation, majority and minority accuracy (%) of every model (Table 1's columns)."""
    rows = []
    for method, model in models.items():
        test = evaluate(model, bench.test)
        rows.append({"method": method, "val": evaluate(model, bench.val)["acc"], "major": test["major"],
                     "minor": test["minor"]})
    return rows


def summarise(rows: list[dict], keys: tuple[str, ...] = ("dataset", "bias_ratio", "method")) -> pd.DataFrame:
    """Mean and standard deviation over seeds of every metric, one row per ``keys`` combination."""
    df = pd.DataFrame(rows)
    metrics = [c for c in ("val", "major", "minor", "acc") if c in df]
    out = df.groupby(list(keys), sort=False)[metrics].agg(["mean", "std"])
    out.columns = [f"{m}_{s}" for m, s in out.columns]
    return out.reset_index().fillna({f"{m}_std": 0.0 for m in metrics})


def value_key(dataset: str, bias_ratio: float, method: str, metric: str) -> str:
    """The flat key of one table cell, e.g. ``cm995_pgd_minor`` (99.5% Colored MNIST)."""
    ratio = f"{100 * bias_ratio:g}".replace(".", "")
    return f"{SHORT.get(dataset, dataset)}{ratio}_{method}_{metric}"


def display_table(summary: pd.DataFrame) -> pd.DataFrame:
    """Table 1's layout: rows (data set, method), columns (ratio, metric) as 'mean ± std'."""
    df = summary.copy()
    df["method"] = df["method"].map(lambda m: DISPLAY_NAMES.get(m, m))
    for m in ("val", "major", "minor"):
        df[m] = [f"{a:.2f} ± {b:.2f}" for a, b in zip(df[f"{m}_mean"], df[f"{m}_std"])]
    df["bias_ratio"] = (100 * df["bias_ratio"]).map(lambda r: f"{r:g}%")
    return df.pivot(index=["dataset", "method"], columns="bias_ratio", values=["val", "major", "minor"]).swaplevel(
        0, 1, axis=1).sort_index(axis=1, level=0, sort_remaining=False)
