"""Train every method once per configuration (cached across notebooks) and evaluate them together.

The PGD draft's Table 1, Table 12, Figure 13 and Figure 15 all read the same trained models; they are
keyed by method, options, training settings and the data set's construction parameters
(:func:`debiaskit.cache.cached_model`), so whichever notebook runs first trains them.
"""

from __future__ import annotations

import dataclasses
from typing import Sequence

import pandas as pd
import torch
from torch import nn

from debiaskit.baselines.common import ModelFn
from debiaskit.baselines.registry import DISPLAY_NAMES, run_method
from debiaskit.cache import cached_model, is_cached
from debiaskit.data.biased import BiasedBenchmark
from debiaskit.models import resnet18, simple_convnet1, simple_convnet2
from debiaskit.training import TrainConfig, evaluate

DATASETS = ("colored_mnist", "watermarked_mnist", "cartoon")
SHORT = {"colored_mnist": "cm", "watermarked_mnist": "wm", "cartoon": "ct"}
METHOD_ORDER = ("vanilla", "learned_mixin", "rubi", "lff", "rebias", "aflite", "repair", "pgd")


def build_benchmark(dataset: str, bias_ratio: float, seed: int = 0, difficulty: float | None = None,
                    n_train: int | None = None, n_test: int | None = None, test_minority: float | str = 0.5,
                    root: str | None = None, label_noise: float = 0.0, source: str = "real") -> BiasedBenchmark:
    """One of the draft's controlled benchmarks (Section 6.1.1) by name; ``label_noise`` flips that share of
    its training and validation labels (Appendix B.3, :func:`debiaskit.data.label_noise.with_label_noise`).
    ``source="standin"`` draws Cartoon's procedural stand-in (:mod:`debiaskit.data.cartoon_standin`) instead
    of reading Cartoon Set; the MNIST variants are always real. ``n_train`` subsamples the source: MNIST's
    training images, or Cartoon's avatars (the pool its training, validation and test splits come from).
    ``n_test`` subsamples MNIST's test images; Cartoon ignores it (its test split is 20% of the avatar pool)."""
    from debiaskit.data.label_noise import with_label_noise

    if source != "real" and dataset != "cartoon":
        raise ValueError(f"{dataset} has no stand-in (source={source!r}); it is generated from MNIST, use 'real'")
    return with_label_noise(_clean_benchmark(dataset, bias_ratio, seed, difficulty, n_train, n_test, test_minority,
                                             root, source), label_noise)


def _clean_benchmark(dataset: str, bias_ratio: float, seed: int, difficulty: float | None, n_train: int | None,
                     n_test: int | None, test_minority: float | str, root: str | None,
                     source: str = "real") -> BiasedBenchmark:
    if dataset == "colored_mnist":
        from debiaskit.data.colored_mnist import colored_mnist

        return colored_mnist(bias_ratio, 1e-4 if difficulty is None else difficulty, seed=seed, n_train=n_train,
                             n_test=n_test, test_minority=test_minority, root=root)
    if dataset == "watermarked_mnist":
        from debiaskit.data.watermarked_mnist import watermarked_mnist

        return watermarked_mnist(bias_ratio, 8 if difficulty is None else int(difficulty), seed=seed, n_train=n_train,
                                 n_test=n_test, root=root)
    if dataset == "cartoon":
        from debiaskit.data.cartoon import cartoon

        # n_train subsamples the source, as for MNIST: here the avatar pool that train, val and test come from
        pool = {} if n_train is None else ({"n_avatars": n_train} if source == "standin" else {"limit": n_train})
        return cartoon(bias_ratio, seed=seed, root=root, source=source, **pool)
    raise ValueError(f"unknown data set {dataset!r}; choose one of {DATASETS}")


def model_factory(bench: BiasedBenchmark, seed: int = 0) -> ModelFn:
    """Simple ConvNet-1 for the MNIST variants, Simple ConvNet-2 for Cartoon, and for a benchmark whose
    ``meta["network"]`` names it (the real-world ones, :mod:`debiaskit.baselines.realworld`) torchvision's
    ResNet-18 (Appendix A.1, Table 4's "Network Type"), built under a fixed seed so that a method's initial
    weights do not depend on what ran before."""
    network = bench.meta.get("network") or {}
    if network and network.get("arch") != "resnet18":
        raise ValueError(f"unknown network {network!r} in the benchmark's meta; only resnet18 is built here")

    def arch() -> nn.Module:
        if network:
            return resnet18(bench.num_classes, pretrained=bool(network.get("pretrained")))
        conv = simple_convnet2 if bench.meta.get("dataset") == "cartoon" else simple_convnet1
        return conv(bench.in_channels, bench.num_classes)

    def build() -> nn.Module:
        with torch.random.fork_rng():
            torch.manual_seed(seed)
            return arch()

    return build


def train_config(settings: dict, seed: int) -> TrainConfig:
    """A :class:`TrainConfig` from a notebook's plain settings dict (lists become tuples)."""
    fields = {f.name for f in dataclasses.fields(TrainConfig)}
    unknown = set(settings) - fields
    if unknown:
        raise ValueError(f"unknown training settings {sorted(unknown)}; TrainConfig has {sorted(fields)}")
    values = {k: tuple(v) if isinstance(v, list) else v for k, v in settings.items()}
    return TrainConfig(seed=seed, **values)


def trained_model(method: str, bench: BiasedBenchmark, cfg: TrainConfig, options: dict | None = None,
                  progress: bool = True) -> nn.Module:
    """``method``'s de-biased model on ``bench.train``, trained once per configuration and cached.

    ``options`` are the method's keywords; ``{"features": "vanilla"}`` for AFLite takes the representation
    from the (cached) Vanilla model of the same configuration.
    """
    options = dict(options or {})
    model_fn = model_factory(bench, cfg.seed)
    config = _model_config(method, bench, cfg, options)
    call = dict(options)
    if call.pop("features", None) == "vanilla":
        call["feature_model"] = trained_model("vanilla", bench, cfg, None, progress)

    def fit(model: nn.Module) -> None:
        result = run_method(method, model_fn, bench.train, cfg, progress=progress, **call)
        model.load_state_dict(result.model.state_dict())

    model, _ = cached_model(config, model_fn, fit, code=METHOD_CODE)
    return model.eval()


METHOD_CODE = ("baselines", "pgd")
"""The methods' own code, beyond the core training modules, whose changes invalidate a suite model."""


def _model_config(method: str, bench: BiasedBenchmark, cfg: TrainConfig, options: dict) -> dict:
    return {"suite": "pgd-table1", "method": method, "options": options, "data": bench.meta, "train": cfg.to_dict()}


def warm_packed_vanilla(bench: BiasedBenchmark, configs: Sequence[TrainConfig], progress: bool = True) -> int:
    """Train the Vanilla models of ``configs`` (seeds x settings) that the cache lacks, all at once with
    :func:`debiaskit.packing.train_packed`, and store each under the key :func:`trained_model` reads; configurations
    that cannot share a step (other epochs, batch size or device) form separate packs. Returns how many were trained."""
    from debiaskit.packing import train_packed

    missing = [(c, key) for c in configs
               if not is_cached(key := _model_config("vanilla", bench, c, {}), code=METHOD_CODE)]
    packs: dict[tuple, list[tuple[TrainConfig, dict]]] = {}
    for c, key in missing:
        packs.setdefault((c.epochs, c.batch_size, c.device, c.augment), []).append((c, key))
    for group in packs.values():
        cfgs = [c for c, _ in group]
        models = [model_factory(bench, c.seed)() for c in cfgs]
        results = train_packed(models, bench.train, cfgs, progress=progress, desc=f"vanilla {bench.name}")
        for (c, key), res in zip(group, results):
            state = res.model.state_dict()
            cached_model(key, model_factory(bench, c.seed), lambda model, state=state: model.load_state_dict(state),
                         code=METHOD_CODE)
    return len(missing)


def warm_trained_models(methods: Sequence[str], bench: BiasedBenchmark, configs: Sequence[TrainConfig],
                        options: dict[str, dict] | None = None, workers: int | str = "auto",
                        pack: bool | str = "auto") -> int:
    """Train every (method, configuration) model of ``bench`` into the cache, ``workers`` at a time in
    worker processes (:func:`debiaskit.parallel.warm_cache`); then :func:`trained_model` reads them. Returns
    the number of workers (0: none started, the caller's loop trains the models).

    ``pack``: train the Vanilla models of several configurations in one vmapped loop first
    (:func:`warm_packed_vanilla`). ``"auto"`` packs on an accelerator, where one small model leaves the device
    idle, and not on a CPU, where packing gains nothing (benchmarks/README.md, "Packed training")."""
    from debiaskit.config import resolve_device

    options = options or {}
    if pack == "auto":
        pack = len(configs) > 1 and any(resolve_device(c.device).type != "cpu" for c in configs)
    if pack and "vanilla" in methods and not options.get("vanilla"):
        warm_packed_vanilla(bench, configs)
    return warm_models([(m, bench) for m in methods], configs, options, workers, desc=bench.name)


def warm_models(jobs: Sequence[tuple[str, BiasedBenchmark]], configs: TrainConfig | Sequence[TrainConfig],
                options: dict[str, dict] | None = None, workers: int | str = "auto", desc: str = "models") -> int:
    """Train the model of every ``(method, benchmark)`` of ``jobs`` under every configuration into the cache,
    ``workers`` processes at a time (:func:`debiaskit.parallel.warm_cache`), so that models of several
    benchmarks fill one pool. Returns the number of workers (0: none started)."""
    from debiaskit.parallel import warm_cache

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
