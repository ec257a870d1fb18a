"""Algorithm 2 of the draft as separate public steps, each usable on its own:

1. :func:`train_biased` -- train f_b with GCE (Algorithm 2, lines 3-7);
2. a scorer (:mod:`debiaskit.pgd.scorers`) applied to f_b and the data -- the per-sample scores (line 8);
3. :func:`sampling_distribution` -- the scores as sampling probabilities p_s (Section 4.2);
4. :func:`train_debiased` -- train f_d on mini-batches drawn with p_s (Algorithm 1; lines 9-14).

:func:`debiaskit.pgd.debias` chains them. Progress bars are infrastructure, not settings of the method:
:func:`progress_bars` turns them off (or on) for every step run inside it.
"""

from __future__ import annotations

import contextlib
import contextvars
from typing import Any, Callable, Iterator

import torch
from torch import nn

from debiaskit.core.augment import AugmentConfig
from debiaskit.core.inputs import as_split
from debiaskit.core.training import TrainConfig, TrainResult, train
from debiaskit.pgd.losses import GCE_FORMS, adjusting_objective, gce_objective
from debiaskit.pgd.probability import (
    DEFAULT_METHOD,
    DEFAULT_TARGET_ESS,
    acceptance_from_weights,
    effective_sample_size,
    sampling_probability,
)
from debiaskit.pgd.samplers import multinomial_sampler, published_sampler, rejection_sampler
from debiaskit.pgd.scores import PGDScores

SAMPLERS = ("rejection", "multinomial", "published")
"""How f_d's mini-batches are drawn with p_s: Algorithm 1 (distinct samples per batch), with replacement
per batch, or N draws with replacement per epoch (the published variant)."""
OBJECTIVES = ("resample", "reweight")
"""Draw batches with p_s (Algorithm 2), or Appendix H's adjusting objective (CE weighted by p_s / mean p_s)."""

_PROGRESS: contextvars.ContextVar[bool] = contextvars.ContextVar("debiaskit_pgd_progress", default=True)


@contextlib.contextmanager
def progress_bars(enabled: bool) -> Iterator[None]:
    """Show (``True``, the default outside this context) or hide the training progress bars of every PGD step
    run inside the ``with`` block."""
    token = _PROGRESS.set(bool(enabled))
    try:
        yield
    finally:
        _PROGRESS.reset(token)


def check_choice(value: Any, choices: tuple, what: str) -> None:
    """``ValueError`` naming ``what``, the value given and the allowed ones, unless ``value`` is among ``choices``."""
    if value not in choices:
        raise ValueError(f"{what} must be one of {choices}, got {value!r}")


def train_biased(model: nn.Module, data: Any, *, cfg: TrainConfig | dict, q: float = 0.7, gce_form: str = "true",
                 augment: AugmentConfig | None = AugmentConfig()) -> TrainResult:
    """Algorithm 2, step 1: train the biased model f_b in place with the GCE loss (Zhang & Sabuncu 2018; the
    draft's Section 3, :func:`~debiaskit.pgd.losses.gce_objective` with ``q`` and ``gce_form``).

    ``data``: a :class:`~debiaskit.core.splits.BiasedSplit` or an ``(x, y)`` pair; ``cfg``: its
    :class:`~debiaskit.core.training.TrainConfig` (Algorithm 2 trains f_b on raw mini-batches: ``augment=False``
    follows it literally); ``augment``: the batch augmentation when ``cfg.augment`` is on.
    Returns the training loop's :class:`~debiaskit.core.training.TrainResult` (the model, in eval mode, and its
    history).
    """
    check_choice(gce_form, GCE_FORMS, "gce_form")
    return train(model, data, cfg, objective=gce_objective(q, gce_form), augment=augment,
                 progress=_PROGRESS.get(), desc="biased (GCE)")


def sampling_distribution(scores: PGDScores | torch.Tensor, *, stabilise: str = DEFAULT_METHOD,
                          target_ess: float | str = DEFAULT_TARGET_ESS, temperature: float | None = None,
                          min_ess: float = 0.0, error_rate: float | None = None) -> tuple[torch.Tensor, dict]:
    """Algorithm 2, step 2's sampling probabilities ``(p_s, info)`` from a scorer's output.

    The draft's :class:`~debiaskit.pgd.scores.PGDScores`: p_s = C / S (Section 4.2) stabilised by ``stabilise``
    with ``target_ess``, ``temperature``, ``min_ess`` and the biased model's training error ``error_rate``
    (:func:`~debiaskit.pgd.probability.sampling_probability`, whose docstring explains each). A metric's scores
    (the published gradient norm, Appendix H's metrics): p_s proportional to them, scaled to max 1
    (:func:`~debiaskit.pgd.probability.acceptance_from_weights`); the stabilisation settings are unused.

    Returns ``p_s`` ``[N]`` (float64, max 1; sampling is proportional to it) and ``info``: ``ess`` (Kish's
    effective sample size of p_s), ``acceptance_rate`` (mean p_s) and, for the draft's scores, ``tau`` (or
    ``rest_p``, the second group's p_s, for ``"balanced"``), ``stabilise``, ``target_ess``, ``error_rate`` and
    ``ess_literal`` (the ESS of the unstabilised p_s).
    """
    info: dict = {}
    if isinstance(scores, PGDScores):
        p_s, tau = sampling_probability(scores.log_s, stabilise, target_ess, temperature, min_ess, error_rate)
        literal, _ = sampling_probability(scores.log_s, "literal")
        info.update({"rest_p" if stabilise == "balanced" else "tau": tau}, stabilise=stabilise,
                    target_ess=target_ess, error_rate=error_rate, ess_literal=effective_sample_size(literal))
    elif isinstance(scores, torch.Tensor):
        p_s = acceptance_from_weights(scores)
    else:
        raise TypeError(f"scores must be PGDScores (GradientScore's) or a tensor of per-sample scores, got "
                        f"{type(scores).__name__}")
    info["ess"] = effective_sample_size(p_s)
    info["acceptance_rate"] = float(p_s.mean())
    return p_s, info


def batch_sampler(kind: str, p_s: torch.Tensor, batch_size: int, seed: int) -> Callable[[int], Iterator[torch.Tensor]]:
    """The epoch-wise index batches of sampler ``kind`` (one of :data:`SAMPLERS`) with probabilities ``p_s``."""
    check_choice(kind, SAMPLERS, "sampler")
    make = {"rejection": rejection_sampler, "multinomial": multinomial_sampler, "published": published_sampler}[kind]
    return make(p_s, batch_size, seed=seed)


def train_debiased(model: nn.Module, data: Any, p_s: torch.Tensor, *, cfg: TrainConfig | dict,
                   sampler: str = "rejection", objective: str = "resample",
                   augment: AugmentConfig | None = AugmentConfig(),
                   on_epoch_end: Callable[[int, nn.Module], dict | None] | None = None) -> TrainResult:
    """Algorithm 2, step 3: train the de-biased model f_d in place with cross-entropy on ``data``, mini-batches
    drawn with ``p_s`` (one per sample of ``data``, any non-negative scale) by ``sampler``: ``"rejection"``
    (Algorithm 1), ``"multinomial"`` or ``"published"`` (N draws with replacement per epoch, ICLR 2023).
    ``objective="reweight"``: Appendix H's adjusting objective instead (shuffled batches, CE weighted by
    p_s / mean p_s). ``cfg``: f_d's :class:`~debiaskit.core.training.TrainConfig` (its seed seeds the sampler);
    ``augment``: the batch augmentation A (Algorithm 2, line 12); ``on_epoch_end`` goes to the training loop.

    Returns the training loop's :class:`~debiaskit.core.training.TrainResult`.
    """
    check_choice(objective, OBJECTIVES, "objective")
    check_choice(sampler, SAMPLERS, "sampler")
    cfg = TrainConfig.from_dict(cfg)
    data = as_split(data, "data", images=False)
    p_s = torch.as_tensor(p_s)
    if p_s.dim() != 1 or len(p_s) != len(data):
        raise ValueError(f"p_s must hold one probability per training sample: shape {tuple(p_s.shape)} for "
                         f"{len(data)} samples")
    if objective == "reweight":
        return train(model, data, cfg, objective=adjusting_objective(p_s), augment=augment,
                     on_epoch_end=on_epoch_end, progress=_PROGRESS.get(), desc="de-biased (reweighted)")
    return train(model, data, cfg, sampler=batch_sampler(sampler, p_s, cfg.batch_size, cfg.seed), augment=augment,
                 on_epoch_end=on_epoch_end, progress=_PROGRESS.get(), desc="de-biased")
