"""One call shape for every compared method: ``run_method(name, model_fn, train_split, cfg, **options)``.

Each method lives in a module of its own that registers its ``fit`` with :func:`register` (name, the name the
draft's tables print, the method's paper); :data:`COMPARED_METHODS` lists them in the order the package imports
them (Table 1's). ``model_fn()`` builds a fresh network (any ``nn.Module``; LearnedMixin+H, ReBias and AFLite also
need ``features(x)`` and a linear ``fc``, as every debiaskit model has), ``train_split`` is a
:class:`~debiaskit.core.splits.BiasedSplit` (only ``x`` and ``y`` are used: no method sees bias labels), ``cfg`` a
:class:`~debiaskit.core.training.TrainConfig`. Method-specific options are keywords of the method's ``fit``
(listed by :func:`method_options`).
"""

from __future__ import annotations

import inspect
import time
from dataclasses import dataclass
from typing import Callable

from debiaskit.baselines.common import MethodResult, ModelFn
from debiaskit.core.inputs import as_split, check_model_factory
from debiaskit.core.splits import BiasedSplit
from debiaskit.core.training import TrainConfig

COMMON_ARGUMENTS = ("model_fn", "train_split", "cfg", "augment", "progress")
"""The keywords every method's ``fit`` takes; the others are the method's own options."""


@dataclass(frozen=True)
class ComparedMethod:
    """A compared method: its registry name, the name the draft's tables print, its paper, and its ``fit``."""

    name: str
    display_name: str
    paper: str
    fit: Callable[..., MethodResult]

    @property
    def options(self) -> list[str]:
        """The keyword options ``fit`` accepts besides :data:`COMMON_ARGUMENTS`."""
        params = inspect.signature(self.fit).parameters
        extra = [p for p, v in params.items() if p not in COMMON_ARGUMENTS and v.kind is not inspect.Parameter.VAR_KEYWORD]
        if any(v.kind is inspect.Parameter.VAR_KEYWORD for v in params.values()):
            extra.append("**changes of debiaskit.pgd.pgd_settings (k, lam, score, sampler, init_from_biased, ...)")
        return extra


COMPARED_METHODS: dict[str, ComparedMethod] = {}
"""Every registered method by name, in registration order."""

DISPLAY_NAMES: dict[str, str] = {}
"""Method name -> the name the draft's tables print (``"lff"`` -> ``"LfF"``)."""


def register(name: str, display_name: str, paper: str) -> Callable[[Callable[..., MethodResult]], Callable[..., MethodResult]]:
    """Decorator for a method's ``fit(model_fn, train_split, cfg, ..., augment=..., progress=...)``: adds it to
    :data:`COMPARED_METHODS` under ``name``, with ``display_name`` (the name the draft's tables print, also in
    :data:`DISPLAY_NAMES`) and ``paper`` (the method's reference).

    Returns the decorator, which returns ``fit`` unchanged. Registering another function under a taken ``name`` is
    a ``ValueError``; a ``fit`` without ``model_fn``, ``train_split`` and ``cfg`` parameters, a ``TypeError``."""

    def add(fit: Callable[..., MethodResult]) -> Callable[..., MethodResult]:
        if name in COMPARED_METHODS and COMPARED_METHODS[name].fit is not fit:
            raise ValueError(f"a method named {name!r} is registered already ({COMPARED_METHODS[name].fit.__module__})")
        missing = [p for p in ("model_fn", "train_split", "cfg") if p not in inspect.signature(fit).parameters]
        if missing:
            raise TypeError(f"{fit.__module__}.{fit.__name__} cannot be a method: it lacks {missing}")
        COMPARED_METHODS[name] = ComparedMethod(name, display_name, paper, fit)
        DISPLAY_NAMES[name] = display_name
        return fit

    return add


def method_options(name: str) -> list[str]:
    """The names of the keyword options method ``name`` accepts besides the common ones
    (:data:`COMMON_ARGUMENTS`); an unknown ``name`` is a ``ValueError``."""
    return _lookup(name).options


def _lookup(name: str) -> ComparedMethod:
    if name not in COMPARED_METHODS:
        raise ValueError(f"unknown method {name!r}; choose one of {', '.join(COMPARED_METHODS)}")
    return COMPARED_METHODS[name]


def run_method(name: str, model_fn: ModelFn, train_split: BiasedSplit, cfg: TrainConfig, **options) -> MethodResult:
    """Train method ``name`` on ``train_split`` and return its :class:`MethodResult` (``.model`` is the
    de-biased network to evaluate).

    ``name``: a key of :data:`COMPARED_METHODS`; ``model_fn()`` builds a fresh network; ``train_split``: a
    :class:`~debiaskit.core.splits.BiasedSplit`; ``cfg``: the :class:`~debiaskit.core.training.TrainConfig`;
    ``options``: the common ``augment`` and ``progress`` and the method's own keywords (:func:`method_options`; one
    it does not take is a ``TypeError``). The result's ``seconds`` is the wall-clock time of the whole call."""
    fn = _lookup(name).fit
    check_model_factory(model_fn)
    cfg = TrainConfig.from_dict(cfg)
    train_split = as_split(train_split, "train_split", images=False)
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
