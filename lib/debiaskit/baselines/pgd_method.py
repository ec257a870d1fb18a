"""PGD (the draft's Algorithm 2) behind the same call shape as the baselines.

A thin adapter over :func:`debiaskit.pgd.debias`: the GCE-biased model is trained under
``biased_cfg`` (default: ``cfg`` without augmentation, Algorithm 2 line 5 uses raw mini-batches), the
de-biased one under ``cfg``. Every keyword of :func:`debiaskit.pgd.debias` passes through, e.g.
``variant="published"`` or ``score="pgd", k=100, lam=1.0``.
"""

from __future__ import annotations

import dataclasses

from debiaskit.baselines.common import MethodResult, ModelFn, check_split, stage_config
from debiaskit.baselines.registry import register
from debiaskit.core.augment import AugmentConfig
from debiaskit.core.splits import BiasedSplit
from debiaskit.core.training import TrainConfig


@register("pgd", "PGD (ours)", "the PGD draft, Algorithm 2 (debiaskit.pgd.debias)")
def fit(model_fn: ModelFn, train_split: BiasedSplit, cfg: TrainConfig, biased_cfg: TrainConfig | dict | None = None,
        augment: AugmentConfig | None = AugmentConfig(), progress: bool = True, **pgd_options) -> MethodResult:
    """Run PGD and return the de-biased model; ``extras`` hold the biased model, p_s and diagnostics."""
    from debiaskit.pgd import debias

    check_split(train_split)
    b_cfg = stage_config(dataclasses.replace(cfg, augment=False), biased_cfg)
    out = debias(model_fn, train_split, b_cfg, cfg, augment=augment, progress=progress, **pgd_options)
    return MethodResult("pgd", out.debiased.eval(), out.biased_history + out.debiased_history,
                        {"biased": out.biased, "p_s": out.p_s, "info": out.info}, 0.0)
