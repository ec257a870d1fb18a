"""Algorithm 2, step 2: how unusual the biased model finds each training sample, as score objects.

A scorer is configured once, in its constructor, and applied to a trained (biased) model and data:
``scores = GradientScore(k=100, lam=1.0)(model, (x, y))``. The scores are then turned into a sampling
distribution by :func:`debiaskit.pgd.stages.sampling_distribution`.

* :class:`GradientScore` -- the draft's magnitude + direction score (Section 4.1, Eq. 1, and Section 4.2):
  per class, M (inverse gradient norm), D (von Mises-Fisher density of the gradient's direction) and their
  lambda-weighted harmonic mean S, from the k-dominant coordinates of the per-sample gradients;
* :class:`GradNormScore` -- the published variant's score (ICLR 2023): the p-norm of the last linear
  layer's per-sample weight gradient;
* :class:`MetricScore` -- Appendix H's "other metrics": softmax response, logit, loss.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar, Literal, Protocol, Union

import torch
from torch import nn

from debiaskit.core.inputs import as_split
from debiaskit.pgd.metrics import metric_scores
from debiaskit.pgd.params import ParamSelection
from debiaskit.pgd.scores import PGDScores, pgd_scores
from debiaskit.pgd.topk import topk_per_sample_grads
from debiaskit.pgd.vmf import KAPPA_METHODS

GRADIENT_METHODS = ("auto", "vmap", "closed_form")
"""How :class:`GradientScore` computes per-sample gradients (:func:`~debiaskit.pgd.topk.topk_per_sample_grads`)."""

Scores = Union[PGDScores, torch.Tensor]
"""What a scorer returns: the draft's :class:`~debiaskit.pgd.scores.PGDScores` (log M, log D, log S per sample),
or a metric's non-negative ``[N]`` scores (float64, CPU), higher for a more unusual sample."""


class Scorer(Protocol):
    """Scores every sample of ``data`` (a split or an ``(x, y)`` pair) under a trained model."""

    name: ClassVar[str]

    def __call__(self, model: nn.Module, data: Any, *, device: str | torch.device | None = None) -> Scores: ...


def _positive_int(value: Any, what: str) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValueError(f"{what} must be a positive integer, got {value!r}")


@dataclass(frozen=True, kw_only=True)
class GradientScore:
    """The draft's score S (Section 4.1, Eq. 1; Section 4.2): magnitude M and direction D of every sample's
    gradient, from its ``k`` dominant coordinates (Section 4.1's dimension size, Table 4's K), per class.

    ``lam`` weighs D against M in S = (1 + lam) M D / (lam M + D) (:func:`~debiaskit.pgd.scores.pgd_scores`);
    ``params``: the parameters whose gradients are scored (``"last_linear"``, the authors' code and
    REFERENCE.md's measurement, or ``"all"``, the draft's literal "gradients of theta"); ``kappa_method``
    estimates the von Mises-Fisher concentration (Appendix G); ``batch_size`` rows per gradient pass; ``method``:
    how the per-sample gradients are computed, ``"auto"`` (the closed form when only the last linear layer is
    scored, else ``torch.func``), ``"vmap"`` (always ``torch.func``, for a model whose output is not its last
    linear layer's) or ``"closed_form"`` (:func:`~debiaskit.pgd.topk.topk_per_sample_grads`).
    Applied to a model and data it returns :class:`~debiaskit.pgd.scores.PGDScores` whose ``coordinates`` name
    the ``k`` coordinates kept.
    """

    name: ClassVar[str] = "pgd"
    k: int = 100
    lam: float = 1.0
    params: ParamSelection = "last_linear"
    kappa_method: str = "banerjee"
    batch_size: int = 512
    method: str = "auto"

    def __post_init__(self) -> None:
        _positive_int(self.k, "GradientScore's k (the number of dominant gradient coordinates)")
        if self.method not in GRADIENT_METHODS:
            raise ValueError(f"GradientScore's method must be one of {GRADIENT_METHODS}, got {self.method!r}")
        _positive_int(self.batch_size, "GradientScore's batch_size")
        if self.kappa_method not in KAPPA_METHODS:
            raise ValueError(f"kappa_method must be one of {KAPPA_METHODS}, got {self.kappa_method!r}")

    def __call__(self, model: nn.Module, data: Any, *, device: str | torch.device | None = None) -> PGDScores:
        split = as_split(data, "data", images=False)
        if len(split) == 0:
            raise ValueError("cannot score an empty data set")
        top = topk_per_sample_grads(model, split.x, split.y, self.k, self.params, self.batch_size, device=device,
                                    method=self.method)
        scores = pgd_scores(top.grads, split.y, self.lam, kappa_method=self.kappa_method)
        scores.coordinates = top.coordinate_names()
        return scores


@dataclass(frozen=True, kw_only=True)
class GradNormScore:
    """The published variant's score (ICLR 2023, the authors' code): ||grad_W L_CE(x_i, y_i)||_p of the last
    linear layer's weights, ``p_norm`` = 0.7, in closed form ||softmax - onehot||_p ||h||_p
    (:func:`~debiaskit.pgd.closed_form.last_layer_grad_norms`); ``batch_size`` rows per forward pass."""

    name: ClassVar[str] = "gradnorm"
    p_norm: float = 0.7
    batch_size: int = 2048

    def __post_init__(self) -> None:
        if not (isinstance(self.p_norm, (int, float)) and self.p_norm > 0):
            raise ValueError(f"p_norm must be a positive number, got {self.p_norm!r}")
        _positive_int(self.batch_size, "GradNormScore's batch_size")

    def __call__(self, model: nn.Module, data: Any, *, device: str | torch.device | None = None) -> torch.Tensor:
        split = as_split(data, "data", images=False)
        return metric_scores(model, split.x, split.y, "gradnorm", p=self.p_norm, batch_size=self.batch_size,
                             device=device)


@dataclass(frozen=True)
class MetricScore:
    """One of Appendix H's "other metrics", normalised to sum 1 over the set: ``"softmax"`` (1 - the label's
    softmax response), ``"logit"`` (the largest label logit minus the label logit) or ``"loss"`` (the
    cross-entropy) (:mod:`debiaskit.pgd.metrics`); ``batch_size`` rows per forward pass."""

    metric: Literal["softmax", "logit", "loss"]
    batch_size: int = 2048

    def __post_init__(self) -> None:
        if self.metric not in METRIC_NAMES:
            raise ValueError(f"MetricScore's metric must be one of {METRIC_NAMES}, got {self.metric!r}")
        _positive_int(self.batch_size, "MetricScore's batch_size")

    @property
    def name(self) -> str:  # type: ignore[override]
        return self.metric

    def __call__(self, model: nn.Module, data: Any, *, device: str | torch.device | None = None) -> torch.Tensor:
        split = as_split(data, "data", images=False)
        return metric_scores(model, split.x, split.y, self.metric, batch_size=self.batch_size, device=device)


METRIC_NAMES = ("softmax", "logit", "loss")
SCORE_NAMES = (GradientScore.name, GradNormScore.name) + METRIC_NAMES
"""Every scorer by name (:func:`scorer`)."""


def scorer(name: str) -> Scorer:
    """The scorer called ``name`` (one of :data:`SCORE_NAMES`) with its default settings."""
    if name == GradientScore.name:
        return GradientScore()
    if name == GradNormScore.name:
        return GradNormScore()
    if name in METRIC_NAMES:
        return MetricScore(name)  # type: ignore[arg-type]
    raise ValueError(f"score must be one of {SCORE_NAMES} (or a scorer object such as GradientScore(k=100)), "
                     f"got {name!r}")


def is_scorer(value: Any) -> bool:
    """Whether ``value`` is one of this module's scorer objects."""
    return isinstance(value, (GradientScore, GradNormScore, MetricScore))
