"""PGD's settings as one value, and the two versions of the method as named presets.

* :data:`DRAFT` -- the ICLR 2022 draft (Algorithm 2): the magnitude + direction score S with K = 100
  (Table 4), p_s = C / S stabilised into two groups (:mod:`debiaskit.pgd.probability`), Algorithm 1's sampler,
  f_d trained from scratch;
* :data:`PUBLISHED` -- the ICLR 2023 version (the authors' code): p proportional to the last linear layer's
  gradient 0.7-norm, N draws with replacement per epoch, f_d initialised from f_b.

Both train f_b with GCE, q = 0.7 (Table 4). A preset is changed by name:
``pgd_settings("draft", k=20, lam=0.0)`` or ``pgd_settings(DRAFT, score=GradNormScore())``; keywords that
belong to the score (``k``, ``lam``, ``params``, ``p_norm``, ...) change the preset's scorer.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any

from debiaskit.pgd.losses import GCE_FORMS
from debiaskit.pgd.probability import DEFAULT_METHOD, DEFAULT_TARGET_ESS, STABILISERS
from debiaskit.pgd.scorers import GradientScore, GradNormScore, Scorer, is_scorer, scorer
from debiaskit.pgd.stages import OBJECTIVES, SAMPLERS, check_choice


@dataclass(frozen=True, kw_only=True)
class PGDSettings:
    """Every setting of the method (not of the training runs, which are
    :class:`~debiaskit.core.training.TrainConfig`\\ s):

    ``q``, ``gce_form``: the biased model's GCE loss (:func:`~debiaskit.pgd.stages.train_biased`);
    ``score``: the scorer (:mod:`debiaskit.pgd.scorers`); ``stabilise``, ``target_ess``, ``temperature``: how the
    draft's scores become p_s (:func:`~debiaskit.pgd.stages.sampling_distribution`); ``sampler``, ``objective``:
    how f_d uses p_s (:func:`~debiaskit.pgd.stages.train_debiased`); ``init_from_biased``: f_d starts from a copy
    of f_b instead of a fresh network; ``name``: the preset it came from.
    """

    name: str = "custom"
    q: float = 0.7
    gce_form: str = "true"
    score: Scorer = field(default_factory=GradientScore)
    stabilise: str = DEFAULT_METHOD
    target_ess: float | str = DEFAULT_TARGET_ESS
    temperature: float | None = None
    sampler: str = "rejection"
    objective: str = "resample"
    init_from_biased: bool = False

    def __post_init__(self) -> None:
        if not (isinstance(self.q, (int, float)) and 0 < self.q <= 1):
            raise ValueError(f"q (GCE's exponent) must be in (0, 1], got {self.q!r}")
        check_choice(self.gce_form, GCE_FORMS, "gce_form")
        if not is_scorer(self.score):
            raise TypeError(f"score must be a scorer object (GradientScore(), GradNormScore(), MetricScore('loss')) "
                            f"or, through pgd_settings, a score name; got {self.score!r}")
        check_choice(self.stabilise, STABILISERS, "stabilise")
        check_choice(self.sampler, SAMPLERS, "sampler")
        check_choice(self.objective, OBJECTIVES, "objective")
        if not isinstance(self.init_from_biased, bool):
            raise TypeError(f"init_from_biased must be True or False, got {self.init_from_biased!r}")


DRAFT = PGDSettings(name="draft")
"""The ICLR 2022 draft's Algorithm 2 (see the module docstring)."""
PUBLISHED = PGDSettings(name="published", score=GradNormScore(p_norm=0.7), sampler="published",
                        init_from_biased=True)
"""The published ICLR 2023 version (see the module docstring)."""
PRESETS = {"draft": DRAFT, "published": PUBLISHED}
"""The presets by name (:func:`pgd_settings`, a notebook's ``method_options``)."""


def pgd_settings(preset: str | PGDSettings = "draft", **changes: Any) -> PGDSettings:
    """The settings of ``preset`` (a name of :data:`PRESETS` or a :class:`PGDSettings`) with ``changes``.

    A change is a field of :class:`PGDSettings` (``score`` may be a scorer's name, e.g. ``score="loss"``) or a
    field of the score's scorer (``k``, ``lam``, ``params``, ``kappa_method``, ``p_norm``, ``batch_size``), applied
    to the scorer after a ``score`` change. An unknown name is a ``ValueError`` that lists the known ones.
    """
    if isinstance(preset, str):
        if preset not in PRESETS:
            raise ValueError(f"preset must be one of {sorted(PRESETS)} or a PGDSettings, got {preset!r}")
        preset = PRESETS[preset]
    elif not isinstance(preset, PGDSettings):
        raise TypeError(f"preset must be a name ({sorted(PRESETS)}) or a PGDSettings, got {type(preset).__name__}")
    if not changes:
        return preset
    own = {f.name for f in dataclasses.fields(PGDSettings)}
    settings_changes = {k: v for k, v in changes.items() if k in own}
    if isinstance(settings_changes.get("score"), str):
        settings_changes["score"] = scorer(settings_changes["score"])
    score = settings_changes.get("score", preset.score)
    score_changes = {k: v for k, v in changes.items() if k not in own}
    if score_changes:
        known = {f.name for f in dataclasses.fields(score)} if is_scorer(score) else set()
        unknown = sorted(set(score_changes) - known)
        if unknown:
            raise ValueError(f"unknown PGD settings {unknown}: PGDSettings has {sorted(own)} and the score "
                             f"{type(score).__name__} has {sorted(known)}")
        settings_changes["score"] = dataclasses.replace(score, **score_changes)
    name = settings_changes.pop("name", None) or f"{preset.name} (changed: {', '.join(sorted(changes))})"
    return dataclasses.replace(preset, name=name, **settings_changes)
