"""One call shape for every method: ``run_method(name, model_fn, train_split, cfg, **options)``.

``model_fn()`` builds a fresh network (any ``nn.Module``; LearnedMixin+H, ReBias and AFLite also need
``features(x)`` and a linear ``fc``, as every debiaskit model has), ``train_split`` is a
:class:`~debiaskit.data.biased.BiasedSplit` (only ``x`` and ``y`` are used: no method sees bias labels),
``cfg`` a :class:`~debiaskit.training.TrainConfig`. Method-specific options are keywords of the
method's ``fit`` (listed by :func:`method_options`).
"""

from __future__ import annotations

import inspect
import time
from typing import Callable

from debiaskit.baselines import aflite, learned_mixin, lff, pgd_method, rebias, repair, rubi, vanilla
from debiaskit.baselines.common import MethodResult, ModelFn
from debiaskit.data.biased import BiasedSplit
from debiaskit.training import TrainConfig

METHODS: dict[str, Callable[..., MethodResult]] = {
    "vanilla": vanilla.fit,
    "learned_mixin": learned_mixin.fit,
    "rubi": rubi.fit,
    "lff": lff.fit,
    "rebias": rebias.fit,
    "aflite": aflite.fit,
    "repair": repair.fit,
    "pgd": pgd_method.fit,
}

DISPLAY_NAMES = {
    "vanilla": "Vanilla", "learned_mixin": "LearnedMixinH", "rubi": "RUBi", "lff": "LfF", "rebias": "ReBias",
    "aflite": "AFLite", "repair": "REPAIR", "pgd": "PGD (ours)",
}


def method_options(name: str) -> list[str]:
    """The keyword options ``name`` accepts besides the common ones."""
    fn = _lookup(name)
    common = {"model_fn", "train_split", "cfg", "augment", "progress"}
    params = inspect.signature(fn).parameters
    extra = [p for p in params if p not in common and params[p].kind is not inspect.Parameter.VAR_KEYWORD]
    if any(p.kind is inspect.Parameter.VAR_KEYWORD for p in params.values()):
        extra.append("**options of debiaskit.pgd.debias")
    return extra


def _lookup(name: str) -> Callable[..., MethodResult]:
    if name not in METHODS:
        raise ValueError(f"unknown method {name!r}; choose one of {', '.join(METHODS)}")
    return METHODS[name]


def run_method(name: str, model_fn: ModelFn, train_split: BiasedSplit, cfg: TrainConfig, **options) -> MethodResult:
    """Train method ``name`` on ``train_split`` and return its :class:`MethodResult` (``.model`` is the
    de-biased network to evaluate)."""
    fn = _lookup(name)
    accepted = inspect.signature(fn).parameters
    if not any(p.kind is inspect.Parameter.VAR_KEYWORD for p in accepted.values()):
        unknown = sorted(set(options) - set(accepted))
        if unknown:
            raise TypeError(f"method {name!r} has no option {', '.join(map(repr, unknown))}; "
                            f"its options: {', '.join(method_options(name))}")
    start = time.perf_counter()
    result = fn(model_fn, train_split, cfg, **options)
    result.seconds = time.perf_counter() - start
    return result
