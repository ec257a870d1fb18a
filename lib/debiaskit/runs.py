"""Trained models shared between notebooks: train once per configuration, then load from the cache."""

from __future__ import annotations

import torch
from torch import nn

from debiaskit.cache import cached_model
from debiaskit.data.biased import BiasedBenchmark
from debiaskit.models import build_model
from debiaskit.training import TrainConfig, train


def vanilla_model(bench: BiasedBenchmark, cfg: TrainConfig, model: str = "simple_convnet1",
                  progress: bool = True) -> nn.Module:
    """A Vanilla model (plain cross-entropy, Appendix C) trained on ``bench.train``, cached by configuration.

    The data set enters the cache key through ``bench.meta`` (its construction parameters).
    """
    config = {"method": "vanilla", "data": bench.meta, "train": cfg.to_dict(), "model": model}

    def build() -> nn.Module:
        torch.manual_seed(cfg.seed)
        return build_model(model, in_channels=bench.in_channels, num_classes=bench.num_classes)

    net, _ = cached_model(config, build, lambda m: train(m, bench.train, cfg, progress=progress,
                                                         desc=f"vanilla {bench.name}"))
    return net
