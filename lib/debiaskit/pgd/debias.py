"""Algorithm 2 of the draft in one call: GCE-biased model -> scores -> p_s -> de-biased model.

Step 1 trains f_b with GCE (``debiaskit.core.training.train``), step 2 computes p_s(i) for every training
sample from f_b, step 3 trains f_d with CE on mini-batches from Algorithm 1 (or a listed alternative)
with augmentation A (the training loop's; Algorithm 2 line 12). ``variant="published"`` switches to
the ICLR 2023 version: p proportional to the last-layer gradient p-norm, sampling with replacement,
f_d initialised from f_b. Optionally Algorithm 3's de-noising runs first (``denoise_cfg``).
"""

from __future__ import annotations

import copy
import hashlib
from dataclasses import asdict, dataclass, field
from typing import Callable

import torch
from torch import nn

from debiaskit.core.augment import AugmentConfig
from debiaskit.core.config import resolve_device
from debiaskit.core.inputs import as_split, check_model_factory
from debiaskit.core.splits import BiasedSplit
from debiaskit.pgd.denoise import DenoiseSplit, denoise_split
from debiaskit.pgd.losses import adjusting_objective, gce_objective
from debiaskit.pgd.metrics import METRICS, metric_scores, training_error
from debiaskit.pgd.params import ParamSelection, model_device
from debiaskit.pgd.probability import (
    DEFAULT_METHOD,
    DEFAULT_TARGET_ESS,
    acceptance_from_weights,
    effective_sample_size,
    sampling_probability,
)
from debiaskit.pgd.samplers import multinomial_sampler, published_sampler, rejection_sampler
from debiaskit.pgd.scores import PGDScores, pgd_scores
from debiaskit.pgd.topk import topk_per_sample_grads

SCORES = ("pgd",) + METRICS
SAMPLERS = ("rejection", "multinomial", "published")
VARIANTS = ("draft", "published")


@dataclass
class DebiasResult:
    """Both models, the sampling probabilities ``p_s`` (max 1; sampling is proportional to them), the
    raw scores (``PGDScores`` or a metric vector), diagnostics in ``info`` and the training histories."""

    biased: nn.Module
    debiased: nn.Module
    p_s: torch.Tensor
    scores: PGDScores | torch.Tensor
    info: dict = field(default_factory=dict)
    biased_history: list[dict] = field(default_factory=list)
    debiased_history: list[dict] = field(default_factory=list)
    denoise: DenoiseSplit | None = None


def score_samples(model: nn.Module, x: torch.Tensor, y: torch.Tensor, score: str = "pgd", k: int = 100,
                  lam: float = 1.0, params: ParamSelection = "last_linear", stabilise: str = DEFAULT_METHOD,
                  target_ess: float | str = DEFAULT_TARGET_ESS, temperature: float | None = None, p_norm: float = 0.7,
                  kappa_method: str = "banerjee", batch_size: int = 512, device=None, min_ess: float = 0.0
                  ) -> tuple[torch.Tensor, PGDScores | torch.Tensor, dict]:
    """Algorithm 2, step 2: ``(p_s, scores, info)`` for every sample under the trained (biased) model.

    ``model``: the biased classifier f_b; ``x`` ``[N, C, H, W]`` and ``y`` ``[N]``: the samples to score, ``batch_size``
    rows at a time on ``device`` (default: the model's). ``score``: ``"pgd"``, or one of the metrics ``"softmax"``,
    ``"logit"``, ``"loss"`` and ``"gradnorm"`` (``p_norm``: the published variant's gradient norm's p).

    ``score="pgd"``: the ``k``-dominant per-sample gradients of ``params`` (Section 4.1), M, D and S per class
    (:func:`~debiaskit.pgd.scores.pgd_scores`: ``lam`` weighs D against M, ``kappa_method`` estimates the von
    Mises-Fisher concentration), p_s stabilised by ``stabilise`` with ``target_ess``, ``temperature`` and ``min_ess``
    (:func:`~debiaskit.pgd.probability.sampling_probability`). ``params`` defaults to the last linear layer (as the authors' code
    and REFERENCE.md's measurement; on a GCE-biased ConvNet-1 it separated the minority far better than
    all parameters); ``params="all"`` is the draft's literal "gradients of theta".
    Stabilisation: see :mod:`debiaskit.pgd.probability`; ``target_ess="auto"`` (default) measures the
    model's training error on (x, y) for it. Other scores (Appendix H metrics, ``"gradnorm"``) give
    p_s = score / max score. ``info`` holds the ESS (of p_s and, for "pgd", of the literal p_s), tau,
    the per-class kappa and the training error.

    Returns ``p_s`` ``[N]`` (acceptance probabilities, max 1), the raw ``scores`` (a
    :class:`~debiaskit.pgd.scores.PGDScores` for ``"pgd"``, else the metric's ``[N]`` scores) and ``info``.
    """
    if score not in SCORES:
        raise ValueError(f"score must be one of {SCORES}, got {score!r}")
    if len(x) == 0:
        raise ValueError("cannot score an empty data set")
    info: dict = {"score": score, "n": len(x)}
    if score == "pgd":
        top = topk_per_sample_grads(model, x, y, k, params, batch_size, device=device)
        scores = pgd_scores(top.grads, y, lam, kappa_method=kappa_method)
        error = training_error(model, x, y, batch_size, device)
        p_s, tau = sampling_probability(scores.log_s, stabilise, target_ess, temperature, min_ess, error)
        literal, _ = sampling_probability(scores.log_s, "literal")
        info.update({"rest_p" if stabilise == "balanced" else "tau": tau}, k=int(top.index.numel()), lam=lam,
                    stabilise=stabilise, target_ess=target_ess, error_rate=error, kappa=scores.kappa,
                    ess_literal=effective_sample_size(literal), coordinates=top.coordinate_names())
        result: PGDScores | torch.Tensor = scores
    else:
        result = metric_scores(model, x, y, score, p=p_norm, device=device)
        p_s = acceptance_from_weights(result)
    info["ess"] = effective_sample_size(p_s)
    info["acceptance_rate"] = float(p_s.mean())
    return p_s, result, info


def data_fingerprint(split: BiasedSplit) -> str:
    """Hash of a split's images and labels (for cache keys): 32 hex digits over the shapes, dtypes and bytes of
    ``split.x`` and ``split.y``."""
    digest = hashlib.blake2b(digest_size=16)
    for t in (split.x, split.y):
        digest.update(str((tuple(t.shape), str(t.dtype))).encode())
        digest.update(memoryview(t.detach().cpu().contiguous().numpy()).cast("B"))
    return digest.hexdigest()


def _make_sampler(kind: str, p_s: torch.Tensor, batch_size: int, seed: int):
    if kind == "rejection":
        return rejection_sampler(p_s, batch_size, seed=seed)
    if kind == "multinomial":
        return multinomial_sampler(p_s, batch_size, seed=seed)
    return published_sampler(p_s, batch_size, seed=seed)


def debias(
    model_fn: Callable[[], nn.Module],
    train_split: BiasedSplit,
    biased_cfg,
    debiased_cfg,
    score: str | None = None,
    k: int = 100,
    lam: float = 1.0,
    q: float = 0.7,
    gce_form: str = "true",
    params: ParamSelection = "last_linear",
    stabilise: str = DEFAULT_METHOD,
    target_ess: float | str = DEFAULT_TARGET_ESS,
    temperature: float | None = None,
    p_norm: float = 0.7,
    sampler: str | None = None,
    objective: str = "resample",
    variant: str = "draft",
    init_from_biased: bool | None = None,
    denoise_cfg=None,
    augment: AugmentConfig | None = AugmentConfig(),
    store: Callable[..., tuple[nn.Module, bool]] | None = None,
    on_epoch_end: Callable | None = None,
    progress: bool = True,
) -> DebiasResult:
    """Run PGD (Algorithm 2) on ``train_split`` with models from ``model_fn()``.

    ``model_fn()`` builds a fresh network (f_b, f_d unless it starts from f_b, the noise model);
    ``train_split`` is a :class:`~debiaskit.core.splits.BiasedSplit`.
    ``biased_cfg``/``debiased_cfg`` are :class:`debiaskit.core.training.TrainConfig` (Algorithm 2 trains f_b
    on the raw set, so set ``augment=False`` in ``biased_cfg`` to follow it literally). f_b is trained with GCE
    (``q``, ``gce_form``: :func:`~debiaskit.pgd.losses.gce_objective`); its samples are scored by
    :func:`score_samples` with ``score``, ``k``, ``lam``, ``params``, ``stabilise``, ``target_ess``, ``temperature``
    and ``p_norm``. ``sampler`` draws f_d's batches: ``"rejection"`` (Algorithm 1), ``"multinomial"`` or
    ``"published"`` (with replacement). ``variant``:
    ``"draft"`` (defaults: score "pgd", Algorithm 1 sampler, f_d from scratch) or ``"published"``
    (score "gradnorm" with ``p_norm``, with-replacement sampler, f_d initialised from f_b); explicit
    ``score``/``sampler``/``init_from_biased`` override those defaults. ``objective="reweight"`` is
    Appendix H's adjusting-objective ablation (CE weighted by p_s / mean p_s, shuffled batches).
    ``denoise_cfg`` (a TrainConfig) runs Algorithm 3 first and de-biases D_clean only.
    ``store`` (e.g. :func:`debiaskit.experiments.cache.cached_model`) is called as ``store(config, build, fit,
    trains=...)`` to fetch the GCE-biased model trained before on the same data and settings, or train it once.
    ``augment``: the training loop's batch augmentation for every stage (``None``: none); ``on_epoch_end`` goes to
    f_d's training (:func:`~debiaskit.core.training.train`); ``progress`` shows progress bars.

    Returns a :class:`DebiasResult`: f_b and f_d (in eval mode), ``p_s`` and the scores of the samples f_d was
    trained on (D_clean after de-noising), ``info`` (:func:`score_samples`' plus the settings and the minority's
    share of the sampling mass), both training histories and the de-noising split (``None`` without it).
    """
    from debiaskit.core.training import TrainConfig, train

    model_fn = check_model_factory(model_fn)
    biased_cfg, debiased_cfg = TrainConfig.from_dict(biased_cfg), TrainConfig.from_dict(debiased_cfg)
    train_split = as_split(train_split, "train_split", images=False)
    if variant not in VARIANTS:
        raise ValueError(f"variant must be one of {VARIANTS}, got {variant!r}")
    published = variant == "published"
    score = score or ("gradnorm" if published else "pgd")
    sampler = sampler or ("published" if published else "rejection")
    init_from_biased = published if init_from_biased is None else init_from_biased
    if sampler not in SAMPLERS:
        raise ValueError(f"sampler must be one of {SAMPLERS}, got {sampler!r}")
    if objective not in ("resample", "reweight"):
        raise ValueError(f"objective must be 'resample' or 'reweight', got {objective!r}")
    if len(train_split) == 0:
        raise ValueError("cannot de-bias an empty training set")

    data, noise = train_split, None
    if denoise_cfg is not None:  # Algorithm 3: noise model with CE, keep D_clean
        noise_model = train(model_fn(), train_split, denoise_cfg, augment=augment, progress=progress,
                            desc="noise model").model
        noise = denoise_split(noise_model, train_split.x, train_split.y)
        data = train_split.subset(noise.clean)

    gce = gce_objective(q, gce_form)
    biased_history: list[dict] = []

    def fit_biased(model: nn.Module) -> None:
        biased_history.extend(train(model, data, biased_cfg, objective=gce, augment=augment, progress=progress,
                                    desc="biased (GCE)").history)

    if store is not None:
        config = {"stage": "pgd-biased-gce", "model": repr(model_fn()), "train": biased_cfg.to_dict(), "q": q,
                  "gce_form": gce_form, "augment": asdict(augment) if augment else None,
                  "data": data_fingerprint(data)}
        biased, _ = store(config, model_fn, fit_biased, trains=(train, gce_objective))
    else:
        biased = model_fn()
        fit_biased(biased)
    biased.to(resolve_device(biased_cfg.device)).eval()

    # Algorithm 1 fills batches with distinct samples: keep p_s spread over at least two batches' worth
    p_s, scores, info = score_samples(biased, data.x, data.y, score, k, lam, params, stabilise, target_ess,
                                      temperature, p_norm, device=model_device(biased),
                                      min_ess=2 * debiased_cfg.batch_size if sampler == "rejection" else 0.0)
    minority_mass = float("nan") if data.major is None else float(p_s[~data.major].sum() / p_s.sum())
    info.update(variant=variant, sampler=sampler, objective=objective, init_from_biased=init_from_biased,
                n_clean=len(data), minority_mass=minority_mass)

    debiased = copy.deepcopy(biased) if init_from_biased else model_fn()
    debiased.train()
    if objective == "reweight":
        result = train(debiased, data, debiased_cfg, objective=adjusting_objective(p_s), augment=augment,
                       on_epoch_end=on_epoch_end, progress=progress, desc="de-biased (reweighted)")
    else:
        batches = _make_sampler(sampler, p_s, debiased_cfg.batch_size, debiased_cfg.seed)
        result = train(debiased, data, debiased_cfg, sampler=batches, augment=augment, on_epoch_end=on_epoch_end,
                       progress=progress, desc="de-biased")
    return DebiasResult(biased=biased, debiased=result.model, p_s=p_s, scores=scores, info=info,
                        biased_history=biased_history, debiased_history=result.history, denoise=noise)
