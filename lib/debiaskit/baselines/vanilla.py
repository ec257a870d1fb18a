"""Vanilla: the plain classifier every de-biasing method is compared with (PGD draft, Appendix C).

Cross-entropy, shuffled mini-batches, the draft's augmentation; no de-biasing module.
"""

from __future__ import annotations

from debiaskit.baselines.common import MethodResult, ModelFn, check_split
from debiaskit.baselines.registry import register
from debiaskit.core.augment import AugmentConfig
from debiaskit.core.splits import BiasedSplit
from debiaskit.core.training import TrainConfig, cross_entropy, train


@register("vanilla", "Vanilla", "plain cross-entropy (PGD draft, Appendix C)")
def fit(model_fn: ModelFn, train_split: BiasedSplit, cfg: TrainConfig, augment: AugmentConfig | None = AugmentConfig(),
        progress: bool = True) -> MethodResult:
    """Train ``model_fn()`` with mean cross-entropy on ``train_split``."""
    check_split(train_split)
    res = train(model_fn(), train_split, cfg, objective=cross_entropy, augment=augment, progress=progress,
                desc="vanilla")
    return MethodResult("vanilla", res.model, res.history, {}, res.seconds)
