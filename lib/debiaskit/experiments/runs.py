"""One way to a trained model for any compared method: trained once per configuration, then read from the model cache.

Every notebook asks :func:`trained_model` (method, benchmark, training settings, the method's options, network),
so a model trained for Table 1 serves the sensitivity analysis, Figure 2 or the oracle tables whenever the
configuration is the same. The key (:func:`model_key`) is the configuration plus the normalised code that trains it:
every method through :func:`debiaskit.baselines.run_method`, the networks and the data sets
(:func:`debiaskit.experiments.cache.cached_model`).
"""

from __future__ import annotations

import dataclasses

import torch
from torch import nn

from debiaskit.baselines.common import ModelFn
from debiaskit.baselines.registry import run_method
from debiaskit.core.models import build_model, resnet18
from debiaskit.core.splits import BiasedBenchmark
from debiaskit.core.training import TrainConfig
from debiaskit.experiments.cache import DATA, cached_model, is_cached

TRAINS = (run_method, build_model, *DATA)
"""The code that trains a model (every method, the networks, the data sets): a change in its import closure
retrains; a docstring or comment does not."""


def network_name(bench: BiasedBenchmark, model: str | None = None) -> str:
    """The network a benchmark trains (Appendix A.1, Table 4's "Network Type"): ``model`` when given, else
    ResNet-18 for a benchmark whose ``meta["network"]`` names it (the real-world ones), Simple ConvNet-2 for
    Cartoon and Simple ConvNet-1 for the MNIST variants."""
    if model is not None:
        return model
    network = bench.meta.get("network") or {}
    if network:
        if network.get("arch") != "resnet18":
            raise ValueError(f"unknown network {network!r} in the benchmark's meta; only resnet18 is built here")
        return "resnet18"
    return "simple_convnet2" if bench.meta.get("dataset") == "cartoon" else "simple_convnet1"


def model_factory(bench: BiasedBenchmark, seed: int = 0, model: str | None = None) -> ModelFn:
    """A ``build()`` of :func:`network_name`'s network (``model`` overrides it) for ``bench``'s images and classes,
    under the fixed ``seed`` so that a method's initial weights do not depend on what ran before. Each call of the
    returned function builds a fresh network with the same initial weights."""
    name = network_name(bench, model)
    pretrained = bool((bench.meta.get("network") or {}).get("pretrained"))

    def build() -> nn.Module:
        with torch.random.fork_rng():
            torch.manual_seed(seed)
            if name == "resnet18":
                return resnet18(bench.num_classes, pretrained=pretrained)
            return build_model(name, in_channels=bench.in_channels, num_classes=bench.num_classes)

    return build


def train_config(settings: dict, seed: int) -> TrainConfig:
    """A :class:`TrainConfig` from a notebook's plain ``settings`` dict (lists become tuples) with ``seed``;
    an unknown setting is a ``ValueError``."""
    fields = {f.name for f in dataclasses.fields(TrainConfig)}
    unknown = set(settings) - fields
    if unknown:
        raise ValueError(f"unknown training settings {sorted(unknown)}; TrainConfig has {sorted(fields)}")
    values = {k: tuple(v) if isinstance(v, list) else v for k, v in settings.items()}
    return TrainConfig(seed=seed, **values)


def model_key(method: str, bench: BiasedBenchmark, cfg: TrainConfig, options: dict | None = None,
              model: str | None = None) -> dict:
    """The one cache-key format: ``method``, its ``options``, the network (:func:`network_name` of ``bench`` and
    ``model``), the data set's construction parameters (``bench.meta``) and the training settings (``cfg``), as a
    plain dict."""
    return {"method": method, "options": dict(options or {}), "model": network_name(bench, model),
            "data": bench.meta, "train": cfg.to_dict()}


def trained_model(method: str, bench: BiasedBenchmark, cfg: TrainConfig, options: dict | None = None, *,
                  model: str | None = None, progress: bool = True) -> nn.Module:
    """``method``'s de-biased model on ``bench.train`` (any name of :func:`debiaskit.baselines.run_method`),
    trained once per configuration and cached; in eval mode.

    ``options`` are the method's keywords, plus two of the cache's own: ``{"features": "vanilla"}`` (AFLite) takes
    the representation from the cached Vanilla model of the same configuration, and ``{"share_biased": True}``
    (PGD) keeps its GCE-biased model in the cache too, so that variants of PGD on the same data share it.
    ``model`` names the network (default: :func:`network_name`). ``bench``: the benchmark (its ``train`` split is
    trained on, its ``meta`` is part of the key); ``cfg``: the training settings, whose ``seed`` also fixes the
    initial weights (:func:`model_factory`); ``progress`` shows progress bars while it trains.

    Returns the trained network, in eval mode.
    """
    options = dict(options or {})
    model_fn = model_factory(bench, cfg.seed, model)
    call = dict(options)
    if call.pop("share_biased", False):
        call["store"] = cached_model
    if call.pop("features", None) == "vanilla":
        call["feature_model"] = trained_model("vanilla", bench, cfg, model=model, progress=progress)

    def fit(net: nn.Module) -> None:
        result = run_method(method, model_fn, bench.train, cfg, progress=progress, **call)
        net.load_state_dict(result.model.state_dict())

    net, _ = cached_model(model_key(method, bench, cfg, options, model), model_fn, fit, trains=TRAINS)
    return net.eval()


def is_trained(method: str, bench: BiasedBenchmark, cfg: TrainConfig, options: dict | None = None, *,
               model: str | None = None) -> bool:
    """Whether :func:`trained_model` (with the same arguments) would read the model from the cache without
    training it."""
    return is_cached(model_key(method, bench, cfg, options, model), trains=TRAINS)


def store_trained(method: str, bench: BiasedBenchmark, cfg: TrainConfig, state: dict, options: dict | None = None, *,
                  model: str | None = None) -> None:
    """Put a model trained elsewhere (e.g. packed, :func:`debiaskit.core.packing.train_packed`) under the key
    :func:`trained_model` reads for the same arguments: ``state`` (its ``state_dict``) is loaded into a fresh
    :func:`model_factory` network and stored. Nothing is written when that key is cached already."""
    cached_model(model_key(method, bench, cfg, options, model), model_factory(bench, cfg.seed, model),
                 lambda net: net.load_state_dict(state), trains=TRAINS)
