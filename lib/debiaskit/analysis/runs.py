"""Trained models of the analysis notebooks, each trained once per configuration and cached.

The analyses (PGD draft, Sections 3-4 and Appendix H) re-use one GCE-biased model per data set and
train many de-biased models from it that differ only in *how* its scores are used: the sampling
probabilities (Algorithm 1), loss weights (the adjusting objective), the starting point. So:

* :func:`biased_model` -- Algorithm 2, step 1 (GCE, or CE for the "impact of GCE" study);
* :func:`debiased_model` -- Algorithm 2, step 3 for given per-sample weights: ``"resample"`` draws
  mini-batches with Algorithm 1 (or the published with-replacement sampler), ``"reweight"`` is
  Appendix H's adjusting objective (CE weighted by p / mean p);
* :func:`method_model` -- any method of :mod:`debiaskit.baselines` (Vanilla, LfF, ... , PGD).

Every function keys the cache (:func:`debiaskit.cache.cached_model`) by the data set's construction
parameters, the training configuration and, for :func:`debiased_model`, a hash of the weights and of
the initial state, so two notebooks asking for the same model share it.
"""

from __future__ import annotations

import copy
import dataclasses
import hashlib

import torch
from torch import nn

from debiaskit.cache import cached_model
from debiaskit.data.biased import BiasedBenchmark
from debiaskit.models import build_model
from debiaskit.training import TrainConfig, cross_entropy, train

DEBIAS_MODES = ("resample", "reweight")
SAMPLERS = ("rejection", "published")
BIASED_LOSSES = ("gce", "ce")


def tensor_digest(*tensors: torch.Tensor) -> str:
    """Short hash of tensors' values (cache keys for weights and initial states)."""
    digest = hashlib.blake2b(digest_size=12)
    for t in tensors:
        t = t.detach().cpu().contiguous()
        digest.update(str((tuple(t.shape), str(t.dtype))).encode())
        digest.update(t.numpy().tobytes())
    return digest.hexdigest()


def state_digest(model: nn.Module) -> str:
    """Hash of a model's state dict (parameters and buffers)."""
    return tensor_digest(*[v.float() for _, v in sorted(model.state_dict().items())])


def model_builder(bench: BiasedBenchmark, model: str, seed: int):
    """A ``build()`` for ``bench``'s images and classes, seeded so that initial weights are reproducible."""

    def build() -> nn.Module:
        torch.manual_seed(seed)
        return build_model(model, in_channels=bench.in_channels, num_classes=bench.num_classes)

    return build


def biased_model(bench: BiasedBenchmark, cfg: TrainConfig, loss: str = "gce", q: float = 0.7,
                 model: str = "simple_convnet1", progress: bool = True) -> nn.Module:
    """The biased model f_b of Algorithm 2, step 1, trained on ``bench.train`` with GCE(q) or CE.

    Algorithm 2 trains f_b on raw mini-batches, so pass ``cfg.augment=False`` to follow it literally.
    """
    from debiaskit import pgd

    if loss not in BIASED_LOSSES:
        raise ValueError(f"loss must be one of {BIASED_LOSSES}, got {loss!r}")
    objective = pgd.gce_objective(q) if loss == "gce" else cross_entropy
    config = {"stage": "analysis-biased", "loss": loss, "q": q if loss == "gce" else None, "model": model,
              "data": bench.meta, "train": cfg.to_dict()}
    net, _ = cached_model(config, model_builder(bench, model, cfg.seed),
                          lambda m: train(m, bench.train, cfg, objective=objective, progress=progress,
                                          desc=f"biased ({loss}) {bench.name}"),
                          code=(pgd.losses,))
    return net.eval()


def debiased_model(bench: BiasedBenchmark, cfg: TrainConfig, weights: torch.Tensor, mode: str = "resample",
                   sampler: str = "rejection", init: nn.Module | None = None, model: str = "simple_convnet1",
                   progress: bool = True, desc: str = "de-biased") -> nn.Module:
    """A model trained on ``bench.train`` with per-sample ``weights`` (Algorithm 2, step 3).

    ``mode="resample"``: mini-batches from Algorithm 1 with acceptance ``weights / max weights``
    (``sampler="rejection"``, the draft) or N draws with replacement proportional to ``weights`` per
    epoch (``sampler="published"``, ICLR 2023). ``mode="reweight"``: shuffled batches, CE weighted by
    ``weights / mean weights`` (Appendix H, "Adjusting objective vs Resampling"). ``init`` starts from
    a copy of that model (the published variant starts from the biased model) instead of a fresh one.
    """
    from debiaskit import pgd

    if mode not in DEBIAS_MODES:
        raise ValueError(f"mode must be one of {DEBIAS_MODES}, got {mode!r}")
    if sampler not in SAMPLERS:
        raise ValueError(f"sampler must be one of {SAMPLERS}, got {sampler!r}")
    weights = torch.as_tensor(weights).double().cpu()
    if len(weights) != len(bench.train):
        raise ValueError(f"need one weight per training sample: {len(weights)} weights for {len(bench.train)} samples")
    p = pgd.acceptance_from_weights(weights)  # validates: finite, non-negative, positive max
    config = {"stage": "analysis-debiased", "mode": mode, "sampler": sampler if mode == "resample" else None,
              "weights": tensor_digest(p), "init": state_digest(init) if init is not None else None,
              "model": model, "data": bench.meta, "train": cfg.to_dict()}

    def build() -> nn.Module:
        if init is not None:
            return copy.deepcopy(init).train()
        return model_builder(bench, model, cfg.seed)()

    def fit(net: nn.Module) -> None:
        if mode == "reweight":
            train(net, bench.train, cfg, objective=pgd.adjusting_objective(p), progress=progress, desc=desc)
        elif sampler == "rejection":
            train(net, bench.train, cfg, sampler=pgd.rejection_sampler(p, cfg.batch_size, seed=cfg.seed),
                  progress=progress, desc=desc)
        else:
            train(net, bench.train, cfg, sampler=pgd.published_sampler(p, cfg.batch_size, seed=cfg.seed),
                  progress=progress, desc=desc)

    net, _ = cached_model(config, build, fit, code=(pgd.samplers, pgd.losses, pgd.probability))
    return net.eval()


def method_model(name: str, bench: BiasedBenchmark, cfg: TrainConfig, model: str = "simple_convnet1",
                 progress: bool = True, **options) -> nn.Module:
    """The de-biased network of baseline ``name`` (:func:`debiaskit.baselines.run_method`), cached."""
    from debiaskit import baselines, pgd

    config = {"stage": "analysis-method", "method": name, "options": options, "model": model,
              "data": bench.meta, "train": cfg.to_dict()}
    build = model_builder(bench, model, cfg.seed)

    def fit(net: nn.Module) -> None:
        result = baselines.run_method(name, build, bench.train, cfg, progress=progress, **options)
        net.load_state_dict(result.model.state_dict())

    net, _ = cached_model(config, build, fit, code=(baselines, pgd))
    return net.eval()


def scaled(cfg: TrainConfig, **changes) -> TrainConfig:
    """``cfg`` with some fields changed (a readable ``dataclasses.replace``)."""
    return dataclasses.replace(cfg, **changes)


def accuracy_row(model: nn.Module, bench: BiasedBenchmark) -> dict[str, float]:
    """The draft's report for one model (Table 1 columns): biased-validation accuracy, test majority and
    minority accuracy, and their average (Appendix H's "Avg."), all in percent."""
    from debiaskit.training import evaluate

    test = evaluate(model, bench.test)
    return {"val": evaluate(model, bench.val)["acc"], "major": test["major"], "minor": test["minor"],
            "avg": (test["major"] + test["minor"]) / 2}
