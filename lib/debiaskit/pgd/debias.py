"""Algorithm 2 of the draft in one call: GCE-biased model -> scores -> p_s -> de-biased model.

:func:`debias` chains the steps of :mod:`debiaskit.pgd.stages` (optionally after Algorithm 3's de-noising,
Section 5); :func:`debias_from` runs the steps after the first one on a biased model trained elsewhere (for
instance read from a cache). What the steps do is one value, :class:`~debiaskit.pgd.presets.PGDSettings`: the
draft's and the published version's are the presets ``"draft"`` and ``"published"``
(:mod:`debiaskit.pgd.presets`).
"""

from __future__ import annotations

import copy
import dataclasses
import hashlib
from dataclasses import dataclass, field
from typing import Any, Callable

import torch
from torch import nn

from debiaskit.core.augment import AugmentConfig
from debiaskit.core.config import resolve_device
from debiaskit.core.inputs import as_split, check_model_factory
from debiaskit.core.splits import BiasedSplit
from debiaskit.core.training import TrainConfig, train
from debiaskit.pgd.denoise import DenoiseSplit, denoise_split
from debiaskit.pgd.metrics import training_error
from debiaskit.pgd.params import model_device
from debiaskit.pgd.presets import PGDSettings, pgd_settings
from debiaskit.pgd.scorers import GradientScore
from debiaskit.pgd.scores import PGDScores
from debiaskit.pgd.stages import _PROGRESS, sampling_distribution, train_biased, train_debiased


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


def data_fingerprint(split: BiasedSplit) -> str:
    """Hash of a split's images and labels (for cache keys): 32 hex digits over the shapes, dtypes and bytes of
    ``split.x`` and ``split.y``."""
    digest = hashlib.blake2b(digest_size=16)
    for t in (split.x, split.y):
        digest.update(str((tuple(t.shape), str(t.dtype))).encode())
        digest.update(memoryview(t.detach().cpu().contiguous().numpy()).cast("B"))
    return digest.hexdigest()


def debias_from(biased: nn.Module, model_fn: Callable[[], nn.Module], data: Any, *,
                debiased_cfg: TrainConfig | dict, preset: str | PGDSettings = "draft",
                augment: AugmentConfig | None = AugmentConfig(),
                on_epoch_end: Callable[[int, nn.Module], dict | None] | None = None) -> DebiasResult:
    """Algorithm 2 after step 1: score ``data`` under the trained biased model ``biased`` with the preset's scorer,
    turn the scores into p_s (:func:`~debiaskit.pgd.stages.sampling_distribution`) and train f_d
    (:func:`~debiaskit.pgd.stages.train_debiased`) under ``debiased_cfg``, from a copy of ``biased`` when the
    preset's ``init_from_biased`` is set, else from ``model_fn()``.

    ``data``: the split f_b was trained on (a :class:`~debiaskit.core.splits.BiasedSplit` or an ``(x, y)`` pair);
    ``preset``: ``"draft"``, ``"published"`` or a :class:`~debiaskit.pgd.presets.PGDSettings`
    (:func:`~debiaskit.pgd.presets.pgd_settings` changes one); ``augment``: f_d's batch augmentation A;
    ``on_epoch_end`` goes to f_d's training loop. For Algorithm 1 (``sampler="rejection"``) the draft's p_s is kept
    spread over at least two batches' worth of samples (``min_ess``).

    Returns a :class:`DebiasResult` with an empty ``biased_history`` (f_b was trained elsewhere).
    """
    settings = pgd_settings(preset)
    model_fn = check_model_factory(model_fn)
    if not isinstance(biased, nn.Module):
        raise TypeError(f"biased must be the trained biased model (an nn.Module), got {type(biased).__name__}")
    debiased_cfg = TrainConfig.from_dict(debiased_cfg)
    data = as_split(data, "data", images=False)
    if len(data) == 0:
        raise ValueError("cannot de-bias an empty training set")
    biased.eval()
    device = model_device(biased)
    score = settings.score
    scores = score(biased, data, device=device)
    error = training_error(biased, data.x, data.y, score.batch_size, device) \
        if isinstance(score, GradientScore) else None
    # Algorithm 1 fills batches with distinct samples: keep p_s spread over at least two batches' worth
    min_ess = 2 * debiased_cfg.batch_size if settings.sampler == "rejection" else 0.0
    p_s, info = sampling_distribution(scores, stabilise=settings.stabilise, target_ess=settings.target_ess,
                                      temperature=settings.temperature, min_ess=min_ess, error_rate=error)
    info = {"score": score.name, "n": len(data), **info}
    if isinstance(scores, PGDScores):
        info.update(k=len(scores.coordinates), lam=scores.lam, kappa=scores.kappa, coordinates=scores.coordinates)
    minority_mass = float("nan") if data.major is None else float(p_s[~data.major].sum() / p_s.sum())
    info.update(preset=settings.name, sampler=settings.sampler, objective=settings.objective,
                init_from_biased=settings.init_from_biased, n_clean=len(data), minority_mass=minority_mass)

    debiased = copy.deepcopy(biased) if settings.init_from_biased else model_fn()
    debiased.train()
    result = train_debiased(debiased, data, p_s, cfg=debiased_cfg, sampler=settings.sampler,
                            objective=settings.objective, augment=augment, on_epoch_end=on_epoch_end)
    return DebiasResult(biased=biased, debiased=result.model, p_s=p_s, scores=scores, info=info,
                        debiased_history=result.history)


def debias(model_fn: Callable[[], nn.Module], data: Any, *, biased_cfg: TrainConfig | dict,
           debiased_cfg: TrainConfig | dict, preset: str | PGDSettings = "draft",
           denoise_cfg: TrainConfig | dict | None = None, augment: AugmentConfig | None = AugmentConfig(),
           on_epoch_end: Callable[[int, nn.Module], dict | None] | None = None) -> DebiasResult:
    """Run PGD (Algorithm 2) on ``data`` with networks from ``model_fn()``: train the biased model f_b with GCE
    (:func:`~debiaskit.pgd.stages.train_biased`, under ``biased_cfg``), then :func:`debias_from` (scores, p_s and
    the de-biased model f_d under ``debiased_cfg``).

    ``model_fn()`` builds a fresh network (f_b; f_d unless it starts from f_b; the noise model); ``data``: a
    :class:`~debiaskit.core.splits.BiasedSplit` or an ``(x, y)`` pair (bias labels are optional: they only give
    ``info["minority_mass"]``); ``biased_cfg``/``debiased_cfg``: :class:`~debiaskit.core.training.TrainConfig`\\ s
    or dicts of their settings (Algorithm 2 trains f_b on raw mini-batches: ``augment=False`` in ``biased_cfg``
    follows it literally). ``preset``: the method's settings, ``"draft"`` (default), ``"published"`` or a
    :class:`~debiaskit.pgd.presets.PGDSettings`, e.g. ``pgd_settings("draft", k=20)``. ``denoise_cfg`` runs
    Algorithm 3 first (a noise model trained with CE under it, Section 5) and de-biases D_clean only.
    ``augment``: the training loop's batch augmentation for every stage (``None``: none); ``on_epoch_end`` goes
    to f_d's training loop. Progress bars: :func:`~debiaskit.pgd.stages.progress_bars`.

    Returns a :class:`DebiasResult`: f_b and f_d (in eval mode), ``p_s`` and the scores of the samples f_d was
    trained on (D_clean after de-noising), ``info`` (:func:`~debiaskit.pgd.stages.sampling_distribution`'s plus
    ``score``, ``n``, the preset's name and settings, ``minority_mass``, the minority's share of the sampling
    mass, and for the draft's score ``k``, ``lam``, ``kappa`` per class and the gradient ``coordinates``), both
    training histories and the de-noising split (``None`` without it).
    """
    model_fn = check_model_factory(model_fn)
    biased_cfg, debiased_cfg = TrainConfig.from_dict(biased_cfg), TrainConfig.from_dict(debiased_cfg)
    settings = pgd_settings(preset)
    data = as_split(data, "data", images=False)
    if len(data) == 0:
        raise ValueError("cannot de-bias an empty training set")
    noise = None
    if denoise_cfg is not None:  # Algorithm 3: noise model with CE, keep D_clean
        noise_model = train(model_fn(), data, denoise_cfg, augment=augment, progress=_PROGRESS.get(),
                            desc="noise model").model
        noise = denoise_split(noise_model, data.x, data.y)
        data = data.subset(noise.clean)
    biased = model_fn()
    history = train_biased(biased, data, cfg=biased_cfg, q=settings.q, gce_form=settings.gce_form,
                           augment=augment).history
    biased.to(resolve_device(biased_cfg.device))
    out = debias_from(biased, model_fn, data, debiased_cfg=debiased_cfg, preset=settings, augment=augment,
                      on_epoch_end=on_epoch_end)
    return dataclasses.replace(out, biased_history=history, denoise=noise)
