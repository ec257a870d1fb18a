"""The auxiliary *biased* model several methods start from.

The draft (Appendix C) trains it "simply on the biased data set", relying on LfF's argument that a
network picks up the easy bias attribute first: plain cross-entropy for LearnedMixin+H and AFLite's
representation, GCE for LfF and PGD (Zhang & Sabuncu 2018, :func:`debiaskit.pgd.gce_loss`).
"""

from __future__ import annotations

from torch import nn

from debiaskit.baselines.common import ModelFn
from debiaskit.core.augment import AugmentConfig
from debiaskit.core.splits import BiasedSplit
from debiaskit.core.training import TrainConfig, cross_entropy, train
from debiaskit.pgd.losses import gce_objective

LOSSES = ("ce", "gce")


def train_biased_model(model_fn: ModelFn, split: BiasedSplit, cfg: TrainConfig, loss: str = "ce", q: float = 0.7,
                       augment: AugmentConfig | None = AugmentConfig(), progress: bool = True) -> nn.Module:
    """A model trained on the biased ``split`` with cross-entropy (``loss="ce"``) or GCE(q)."""
    if loss not in LOSSES:
        raise ValueError(f"loss must be one of {LOSSES}, got {loss!r}")
    objective = cross_entropy if loss == "ce" else gce_objective(q)
    return train(model_fn(), split, cfg, objective=objective, augment=augment, progress=progress,
                 desc=f"biased ({loss})").model
