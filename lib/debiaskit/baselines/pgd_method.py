"""PGD (the draft's Algorithm 2) behind the same call shape as the baselines.

A thin adapter over :func:`debiaskit.pgd.debias`: the GCE-biased model is trained under
``biased_cfg`` (default: ``cfg`` without augmentation, Algorithm 2 line 5 uses raw mini-batches), the
de-biased one under ``cfg``. The method's settings are a preset (``preset="draft"`` or ``"published"``) and
changes of :func:`debiaskit.pgd.pgd_settings` (e.g. ``k=100, lam=1.0`` or ``init_from_biased=False``), plain
values that fit a notebook's ``method_options``. ``store`` (e.g. :func:`debiaskit.experiments.cache.cached_model`)
fetches the GCE-biased model trained before on the same data and settings, or trains it once.
"""

from __future__ import annotations

import dataclasses
from dataclasses import asdict
from typing import Callable

from torch import nn

from debiaskit.baselines.common import MethodResult, ModelFn, check_split, stage_config
from debiaskit.baselines.registry import register
from debiaskit.core.augment import AugmentConfig
from debiaskit.core.config import resolve_device
from debiaskit.core.splits import BiasedSplit
from debiaskit.core.training import TrainConfig

Store = Callable[..., tuple[nn.Module, bool]]


@register("pgd", "PGD (ours)", "the PGD draft, Algorithm 2 (debiaskit.pgd.debias)")
def fit(model_fn: ModelFn, train_split: BiasedSplit, cfg: TrainConfig, biased_cfg: TrainConfig | dict | None = None,
        augment: AugmentConfig | None = AugmentConfig(), progress: bool = True, preset: str = "draft",
        denoise_cfg: TrainConfig | dict | None = None, store: Store | None = None, **changes) -> MethodResult:
    """Run PGD and return the de-biased model; ``extras`` hold the biased model, p_s and diagnostics.

    ``store(config, build, fit, trains=...)`` returns ``(model, hit)`` for a configuration dict: the GCE-biased
    model is taken from it instead of being trained here (not combined with ``denoise_cfg``)."""
    from debiaskit import pgd

    check_split(train_split)
    settings = pgd.pgd_settings(preset, **changes)
    b_cfg = stage_config(dataclasses.replace(cfg, augment=False), biased_cfg)
    with pgd.progress_bars(progress):
        if store is None:
            out = pgd.debias(model_fn, train_split, biased_cfg=b_cfg, debiased_cfg=cfg, preset=settings,
                             denoise_cfg=denoise_cfg, augment=augment)
        else:
            if denoise_cfg is not None:
                raise ValueError("a stored biased model is trained on the whole set; de-noising (denoise_cfg) "
                                 "trains it on D_clean: run without store")
            config = {"stage": "pgd-biased-gce", "model": repr(model_fn()), "train": b_cfg.to_dict(),
                      "q": settings.q, "gce_form": settings.gce_form,
                      "augment": asdict(augment) if augment else None, "data": pgd.data_fingerprint(train_split)}
            history: list[dict] = []

            def fit_biased(model: nn.Module) -> None:
                history.extend(pgd.train_biased(model, train_split, cfg=b_cfg, q=settings.q,
                                                gce_form=settings.gce_form, augment=augment).history)

            biased, _ = store(config, model_fn, fit_biased, trains=(pgd.train_biased,))
            biased.to(resolve_device(b_cfg.device))
            out = dataclasses.replace(pgd.debias_from(biased, model_fn, train_split, debiased_cfg=cfg, preset=settings,
                                                      augment=augment), biased_history=history)
    return MethodResult("pgd", out.debiased.eval(), out.biased_history + out.debiased_history,
                        {"biased": out.biased, "p_s": out.p_s, "info": out.info}, 0.0)
