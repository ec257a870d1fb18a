"""Trained models of the analysis notebooks, each trained once per configuration and cached.

The analyses (PGD draft, Sections 3-4 and Appendix H) re-use one GCE-biased model per data set and
train many de-biased models from it that differ only in *how* its scores are used: the sampling
probabilities (Algorithm 1), loss weights (the adjusting objective), the starting point. So:

* :func:`biased_model` -- Algorithm 2, step 1 (GCE, or CE for the "impact of GCE" study);
* :func:`debiased_model` -- Algorithm 2, step 3 for given per-sample weights: ``"resample"`` draws
  mini-batches with Algorithm 1 (or the published with-replacement sampler), ``"reweight"`` is
  Appendix H's adjusting objective (CE weighted by p / mean p).

Both are PGD's own steps (:func:`debiaskit.pgd.train_biased`, :func:`debiaskit.pgd.train_debiased`) with the model
cache around them.

Any compared method's model (Vanilla, LfF, ..., PGD) comes from :func:`debiaskit.experiments.runs.trained_model`,
the one function every notebook uses for it.

Every function keys the cache (:func:`debiaskit.experiments.cache.cached_model`) by the data set's construction
parameters, the training configuration and, for :func:`debiased_model`, a hash of the weights and of
the initial state, so two notebooks asking for the same model share it.
"""

from __future__ import annotations

import copy
import dataclasses
import hashlib

import torch
from torch import nn

from debiaskit.core.splits import BiasedBenchmark
from debiaskit.core.training import TrainConfig, cross_entropy, train
from debiaskit.experiments.cache import DATA, cached_model
from debiaskit.experiments.runs import model_factory

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


def biased_model(bench: BiasedBenchmark, cfg: TrainConfig, loss: str = "gce", q: float = 0.7,
                 model: str = "simple_convnet1", progress: bool = True) -> nn.Module:
    """The biased model f_b of Algorithm 2, step 1, trained on ``bench.train`` with GCE(q) or CE.

    Algorithm 2 trains f_b on raw mini-batches, so pass ``cfg.augment=False`` to follow it literally.
    """
    from debiaskit import pgd

    if loss not in BIASED_LOSSES:
        raise ValueError(f"loss must be one of {BIASED_LOSSES}, got {loss!r}")
    config = {"stage": "analysis-biased", "loss": loss, "q": q if loss == "gce" else None, "model": model,
              "data": bench.meta, "train": cfg.to_dict()}

    def fit(net: nn.Module) -> None:
        with pgd.progress_bars(progress):
            if loss == "gce":
                pgd.train_biased(net, bench.train, cfg=cfg, q=q)
            else:
                train(net, bench.train, cfg, objective=cross_entropy, progress=progress, desc=f"biased (ce) {bench.name}")

    net, _ = cached_model(config, model_factory(bench, cfg.seed, model), fit, trains=(pgd.train_biased, *DATA))
    return net.eval()


def debiased_model(bench: BiasedBenchmark, cfg: TrainConfig, weights: torch.Tensor, mode: str = "resample",
                   sampler: str = "rejection", init: nn.Module | None = None, model: str = "simple_convnet1",
                   progress: bool = True, desc: str = "de-biased") -> nn.Module:
    """A model trained on ``bench.train`` with per-sample ``weights`` (Algorithm 2, step 3).

    ``mode="resample"``: mini-batches from Algorithm 1 with acceptance ``weights / max weights``
    (``sampler="rejection"``, the draft) or N draws with replacement proportional to ``weights`` per
    epoch (``sampler="published"``, ICLR 2023), or another of :data:`debiaskit.pgd.stages.SAMPLERS`.
    ``mode="reweight"``: shuffled batches, CE weighted by ``weights / mean weights`` (Appendix H, "Adjusting
    objective vs Resampling"). ``init`` starts from a copy of that model (the published variant starts from the
    biased model) instead of a fresh one. An unknown ``mode`` or ``sampler`` is a ``ValueError``.
    """
    from debiaskit import pgd
    from debiaskit.pgd.stages import OBJECTIVES, SAMPLERS, check_choice

    check_choice(mode, OBJECTIVES, "mode")  # at the door: before a cache key is built from them
    check_choice(sampler, SAMPLERS, "sampler")
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
        return model_factory(bench, cfg.seed, model)()

    def fit(net: nn.Module) -> None:
        with pgd.progress_bars(progress):
            pgd.train_debiased(net, bench.train, p, cfg=cfg, sampler=sampler, objective=mode)

    net, _ = cached_model(config, build, fit, trains=(pgd.train_debiased, *DATA))
    return net.eval()


def scaled(cfg: TrainConfig, **changes) -> TrainConfig:
    """``cfg`` with some fields changed (a readable ``dataclasses.replace``)."""
    return dataclasses.replace(cfg, **changes)


def accuracy_row(model: nn.Module, bench: BiasedBenchmark) -> dict[str, float]:
    """The draft's report for one model (Table 1 columns): biased-validation accuracy, test majority and
    minority accuracy, and their average (Appendix H's "Avg."), all in percent."""
    from debiaskit.core.training import evaluate

    test = evaluate(model, bench.test)
    return {"val": evaluate(model, bench.val)["acc"], "major": test["major"], "minor": test["minor"],
            "avg": (test["major"] + test["minor"]) / 2}
