"""The PGD draft's real-world benchmarks (Section 6.1.2, Appendix B.2, Appendix F: Tables 3, 8, 9, 10).

Biased Action Recognition (BAR), CelebA (target HeavyMakeup, bias Male) and ImageNet-9 / ImageNet-A, each
with ResNet-18 (Appendix A.1; ImageNet-pretrained in the draft). :func:`real_world_benchmark` builds one,
from the real data (``source="real"``) or from a stand-in that keeps the benchmark's structure
(``source="standin"``), and records the network in ``meta["network"]``, so that
:func:`debiaskit.experiments.suite.trained_model` builds ResNet-18 for it and caches its models apart from
every other network. :func:`evaluation_row` gives a model's numbers, from which each table takes its cells:

* Table 10 (BAR): test accuracy per action and their mean ("Avg.");
* Table 8 (CelebA): majority / minority test accuracy and their mean;
* Table 9 (IN/IN-A): accuracy on ImageNet-A, the unusual-background test set;
* Table 3: the three averages side by side.
"""

from __future__ import annotations

from pathlib import Path
from typing import Sequence

import torch
from torch import nn

from debiaskit.core.splits import BiasedBenchmark
from debiaskit.core.training import TrainConfig, evaluate, group_accuracy, masked_accuracy, predict
from debiaskit.experiments.benchmarks import build_benchmark

#: The real-world benchmarks :func:`real_world_benchmark` builds.
DATASETS = ("bar", "celeba", "imagenet9")
VARIANTS = {"pgd_scratch": ("pgd", {"init_from_biased": False})}
"""Rows that run a method with changed options, as a like-for-like variant beside the method's own row:
``pgd_scratch`` starts PGD's de-biased model f_d from the network's initial weights (random when trained from
scratch, ImageNet's when pretrained) instead of from the GCE-biased model f_b, as the published variant does;
every other option is the ``pgd`` row's."""
ROW_NAMES = {"pgd_scratch": "PGD (f_d not from f_b)"}
TITLES = {"bar": "BAR", "celeba": "CelebA", "imagenet9": "IN/IN-A"}


def real_world_benchmark(dataset: str, seed: int = 0, source: str = "real", image_size: int | None = None,
                         pretrained: bool | str = False, root: str | Path | None = None,
                         standin: dict | None = None) -> BiasedBenchmark:
    """One real-world benchmark (one of :data:`DATASETS`) with ResNet-18 recorded as its network, through the one
    registry (:func:`debiaskit.experiments.benchmarks.build_benchmark`). ``source``: ``"real"`` loads the data set
    (BAR is on the project's machine; CelebA and ImageNet need downloading, see their loaders); ``"standin"`` draws
    CelebA's or ImageNet-9's stand-in (``standin``: its keyword arguments, e.g. sizes). BAR has no stand-in."""
    if dataset not in DATASETS:
        raise ValueError(f"unknown real-world data set {dataset!r}; choose one of {DATASETS}")
    settings = {"seed": seed, "source": source, "image_size": image_size, "pretrained": pretrained, "root": root}
    if dataset != "bar":
        settings["standin"] = standin
    return build_benchmark(dataset, **settings)


def method_of(row: str, method_options: dict[str, dict] | None = None) -> tuple[str, dict]:
    """``(method, options)`` that train a table row: the row's own method, or a :data:`VARIANTS` row's method with
    that method's options and the variant's changes. Every PGD row caches its GCE-biased model
    (option ``share_biased``, see :func:`debiaskit.experiments.suite.trained_model`), so that ``pgd`` and
    ``pgd_scratch`` share one."""
    method_options = method_options or {}
    base, changes = VARIANTS.get(row, (row, {}))
    options = {**(method_options.get(base) or {}), **changes}
    if row != base:
        options.update(method_options.get(row) or {})
    if base == "pgd":
        options["share_biased"] = True
    return base, options


def row_name(row: str) -> str:
    """The display name of a table row (a method's, or a variant's)."""
    from debiaskit.baselines import DISPLAY_NAMES

    return ROW_NAMES.get(row) or DISPLAY_NAMES[row]


def per_class_accuracy(correct: torch.Tensor, y: torch.Tensor, num_classes: int) -> list[float]:
    """Accuracy (%) of the 0/1 ``correct`` within every class of the labels ``y`` (Table 10's columns); NaN for a
    class absent from ``y``."""
    return [masked_accuracy(correct, y == c) for c in range(num_classes)]


def evaluation_row(model: nn.Module, bench: BiasedBenchmark) -> dict[str, float]:
    """Every reported number of ``model`` on ``bench``: validation accuracy, test accuracy, majority/minority
    test accuracy (NaN where a group is absent), per-class test accuracy (``class<i>``) and the draft's
    "Avg." of the data set's table (Tables 8-10, see the module docstring). The test set is predicted once."""
    val = evaluate(model, bench.val)["acc"]
    correct = predict(model, bench.test.x).argmax(1) == bench.test.y
    test = group_accuracy(correct, bench.test)
    classes = per_class_accuracy(correct, bench.test.y, bench.num_classes)
    row = {"val": val, "test": test["acc"], "major": test["major"], "minor": test["minor"]}
    row.update({f"class{c}": a for c, a in enumerate(classes)})
    dataset = bench.meta.get("dataset")
    if dataset == "bar":
        present = [a for a in classes if a == a]
        row["avg"] = sum(present) / len(present)
    elif dataset == "celeba":
        row["avg"] = (test["major"] + test["minor"]) / 2
    else:
        row["avg"] = test["acc"]
    return row


def value_key(dataset: str, method: str, metric: str) -> str:
    """The flat key of one cell, e.g. ``bar_pgd_avg``, ``celeba_vanilla_minor``, ``bar_lff_climbing``."""
    return f"{dataset}_{method}_{metric}"


def class_names(bench: BiasedBenchmark) -> list[str]:
    """Display names of ``bench``'s classes (BAR's actions; ``class<i>`` otherwise)."""
    if bench.meta.get("dataset") == "bar":
        from debiaskit.data.bar import DISPLAY

        return list(DISPLAY)
    return list(bench.meta.get("class_names") or [f"class{c}" for c in range(bench.num_classes)])



def warm_real_world(jobs: Sequence[tuple[str, BiasedBenchmark, TrainConfig]], options: dict[str, dict] | None = None,
                    workers: int | str = "auto") -> int:
    """Train the model of every ``(row, benchmark, configuration)`` (a row: a method or a :data:`VARIANTS` row)
    into the cache in one pool of worker processes (:func:`debiaskit.experiments.parallel.warm_cache`), the slowest first so
    that no worker idles at the end; then :func:`debiaskit.experiments.suite.trained_model` reads them. Returns the
    number of workers."""
    from debiaskit.experiments.parallel import warm_cache
    from debiaskit.experiments.runs import trained_model

    order = {m: i for i, m in enumerate(SLOWEST_FIRST)}
    ranked = sorted(jobs, key=lambda job: order.get(job[0], len(order)))
    calls = []
    for row, bench, cfg in ranked:
        method, opts = method_of(row, options)
        calls.append((trained_model, (method, bench, cfg, opts), {"progress": False}))
    return warm_cache(calls, workers, desc="real-world models")


SLOWEST_FIRST = ("pgd", "lff", "pgd_scratch", "repair", "vanilla")
"""PGD trains a GCE model and then the de-biased one; LfF two networks at once; the from-scratch PGD row reuses
PGD's GCE model (so it runs after it); REPAIR learns a weighting first."""
