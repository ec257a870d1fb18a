"""What every method shares: its result type, stage configurations and small model helpers."""

from __future__ import annotations

import dataclasses
import time
from dataclasses import dataclass, field
from typing import Callable

import torch
import torch.nn.functional as F
from torch import nn

from debiaskit.core.splits import BiasedSplit
from debiaskit.core.training import TrainConfig, predict

ModelFn = Callable[[], nn.Module]


@dataclass
class MethodResult:
    """A method's de-biased ``model`` (evaluate this one), its training ``history`` and ``extras``
    (auxiliary models, learned weights, kept indices, diagnostics)."""

    name: str
    model: nn.Module
    history: list[dict] = field(default_factory=list)
    extras: dict = field(default_factory=dict)
    seconds: float = 0.0


def stage_config(cfg: TrainConfig, override: TrainConfig | dict | None) -> TrainConfig:
    """``cfg`` for an auxiliary stage (a biased model, a weight-learning phase): ``override`` may be a
    full :class:`TrainConfig` or a dict of fields to change (e.g. ``{"epochs": 5}``)."""
    if override is None:
        return cfg
    if isinstance(override, TrainConfig):
        return override
    unknown = set(override) - {f.name for f in dataclasses.fields(TrainConfig)}
    if unknown:
        raise ValueError(f"unknown TrainConfig fields {sorted(unknown)}")
    return dataclasses.replace(cfg, **override)


def features_and_logits(model: nn.Module, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """``(h, logits)`` in one forward pass, for models exposing ``features(x)`` and ``fc`` (every
    debiaskit model). Methods that regularise the representation (ReBias, LearnedMixin+H) need it."""
    if not (hasattr(model, "features") and isinstance(getattr(model, "fc", None), nn.Linear)):
        raise TypeError(f"{type(model).__name__} must expose .features(x) and a linear .fc (as debiaskit.core.models "
                        "do) for this method; wrap your network so that forward(x) == fc(features(x))")
    h = model.features(x)
    return h, model.fc(h)


@torch.no_grad()
def log_probs_of(model: nn.Module, x: torch.Tensor, batch_size: int = 1024) -> torch.Tensor:
    """Eval-mode log-softmax outputs [N, C] of a fixed model (CPU, float32)."""
    return F.log_softmax(predict(model, x, batch_size), dim=1)


class Timer:
    """``with Timer() as t: ...`` then ``t.seconds``."""

    def __enter__(self) -> "Timer":
        self.start = time.perf_counter()
        return self

    def __exit__(self, *exc) -> None:
        self.seconds = time.perf_counter() - self.start


def check_split(split: BiasedSplit) -> None:
    if len(split) == 0:
        raise ValueError("cannot train on an empty training split")
