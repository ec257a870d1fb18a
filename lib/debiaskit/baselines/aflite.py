"""AFLite, adversarial filtering of dataset biases (Le Bras et al., ICML 2020, Algorithm 1).

On a fixed representation Phi(x), repeatedly: draw ``m`` random partitions of the current set into a
training part of size ``t`` and a held-out part; fit a linear classifier (L2-regularised multinomial
logistic regression, the m of them at once by L-BFGS in torch: scikit-learn's one-at-a-time fits took
10 s each on the shared CPU) on each training part and record its predictions on the held-out part; every sample's
*predictability* p(i) is the share of correct held-out predictions. Remove the (up to) ``k`` most
predictable samples with p(i) >= tau; stop when fewer than ``k`` qualify or the set has shrunk to
``n``. A de-biased model is then trained on what is left: the hard-to-predict samples, in which the
easy (biased) correlations are diluted.

Le Bras et al. take Phi from a model fine-tuned on a held-out slice of the data that is then
discarded; ``feature_model=None`` does that (``feature_fraction`` of the set). Passing a trained
``feature_model`` (e.g. the Vanilla model) skips that step and filters the whole set.
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from debiaskit.baselines.biased_model import train_biased_model
from debiaskit.baselines.common import MethodResult, ModelFn, check_split, stage_config
from debiaskit.baselines.registry import register
from debiaskit.core.augment import AugmentConfig
from debiaskit.core.splits import BiasedSplit
from debiaskit.core.training import TrainConfig, as_float_images, train


@torch.no_grad()
def representation(model: nn.Module, x: torch.Tensor, batch_size: int = 1024) -> np.ndarray:
    """Phi(x): the model's ``features`` (eval mode) as a float64 array [N, D]."""
    model.eval()
    device = next(model.parameters()).device
    return torch.cat([model.features(as_float_images(c.to(device))).cpu() for c in x.split(batch_size)]).double().numpy()


def fit_linear_probes(features: torch.Tensor, labels: torch.Tensor, train_masks: torch.Tensor,
                      num_classes: int, l2: float = 1.0, max_iter: int = 100) -> tuple[torch.Tensor, torch.Tensor]:
    """m multinomial logistic regressions at once: probe j minimises the mean CE over the rows where
    ``train_masks[j]`` is True plus ``l2 / (2 n_j)`` ||W_j||^2 (scikit-learn's C = 1 / l2 scaling).
    Returns weights [m, D, C] and biases [m, C]."""
    m, d = len(train_masks), features.shape[1]
    w = torch.zeros(m, d, num_classes, dtype=features.dtype, requires_grad=True)
    b = torch.zeros(m, num_classes, dtype=features.dtype, requires_grad=True)
    mask = train_masks.to(features.dtype)
    counts = mask.sum(1)
    onehot = F.one_hot(labels, num_classes).to(features.dtype)
    opt = torch.optim.LBFGS([w, b], max_iter=max_iter, line_search_fn="strong_wolfe")

    def closure() -> torch.Tensor:
        opt.zero_grad()
        logits = torch.einsum("nd,mdc->mnc", features, w) + b[:, None, :]
        nll = -(F.log_softmax(logits, dim=2) * onehot).sum(2)
        loss = ((nll * mask).sum(1) / counts + l2 / (2 * counts) * w.pow(2).sum((1, 2))).sum()
        loss.backward()
        return loss

    opt.step(closure)
    return w.detach(), b.detach()


def predictability(features: np.ndarray, labels: np.ndarray, num_partitions: int, train_size: int,
                   rng: np.random.Generator, max_iter: int = 100) -> np.ndarray:
    """p(i): share of correct held-out predictions of ``num_partitions`` linear classifiers, each fit
    on a random ``train_size`` subset (Algorithm 1, inner loop); NaN for a sample never held out."""
    n = len(labels)
    if not 0 < train_size < n:
        raise ValueError(f"train_size must be in (0, {n}), got {train_size}")
    x = torch.as_tensor(features, dtype=torch.float64)
    x = (x - x.mean(0)) / x.std(0).clamp(min=1e-8)
    y = torch.as_tensor(labels, dtype=torch.long)
    masks = torch.zeros(num_partitions, n, dtype=torch.bool)
    for j in range(num_partitions):
        masks[j, torch.from_numpy(rng.permutation(n)[:train_size])] = True
    w, b = fit_linear_probes(x, y, masks, int(y.max()) + 1, max_iter=max_iter)
    pred = (torch.einsum("nd,mdc->mnc", x, w) + b[:, None, :]).argmax(2)
    held_out = ~masks
    correct = ((pred == y) & held_out).sum(0).double()
    counted = held_out.sum(0).double()
    return (correct / counted).numpy()


def aflite_filter(features: np.ndarray, labels: np.ndarray, target_size: int, num_partitions: int = 64,
                  train_fraction: float = 0.5, slice_size: int = 500, threshold: float = 0.75,
                  seed: int = 0) -> np.ndarray:
    """Algorithm 1 of Le Bras et al.: the indices (into ``features``) that survive the filtering.

    ``train_fraction`` sets t as a share of the current set; ``slice_size`` is k, ``threshold`` tau.
    """
    labels = np.asarray(labels)
    if not 0 < target_size <= len(labels):
        raise ValueError(f"target_size must be in (0, {len(labels)}], got {target_size}")
    if slice_size < 1 or not 0 <= threshold <= 1 or not 0 < train_fraction < 1:
        raise ValueError("need slice_size >= 1, threshold in [0, 1] and train_fraction in (0, 1)")
    rng = np.random.default_rng(seed)
    keep = np.arange(len(labels))
    while len(keep) > target_size:
        p = predictability(features[keep], labels[keep], num_partitions, int(train_fraction * len(keep)), rng)
        p = np.nan_to_num(p, nan=0.0)
        order = np.argsort(-p, kind="stable")
        budget = min(slice_size, len(keep) - target_size)
        chosen = order[:budget][p[order[:budget]] >= threshold]
        keep = np.delete(keep, chosen)
        if len(chosen) < slice_size:  # early stop (|S| < k); also reached when the target is met
            break
    return keep


@register("aflite", "AFLite", "Le Bras, Swayamdipta, Bhagavatula, Zellers, Peters, Sabharwal & Choi, ICML 2020")
def fit(model_fn: ModelFn, train_split: BiasedSplit, cfg: TrainConfig, target_fraction: float = 0.2,
        num_partitions: int = 64, train_fraction: float = 0.5, slice_size: int | float = 0.05, threshold: float = 0.75,
        feature_model: nn.Module | None = None, feature_fraction: float = 0.1,
        feature_cfg: TrainConfig | dict | None = None, augment: AugmentConfig | None = AugmentConfig(),
        progress: bool = True) -> MethodResult:
    """Filter ``train_split`` with AFLite down to ``target_fraction`` of its size, then train on the rest.

    ``slice_size`` below 1 is a share of the set. Without ``feature_model`` a CE model is first trained
    on a random ``feature_fraction`` of the set (``feature_cfg``), which is then left out.
    """
    check_split(train_split)
    gen = torch.Generator().manual_seed(cfg.seed)
    pool = torch.arange(len(train_split))
    if feature_model is None:
        perm = torch.randperm(len(train_split), generator=gen)
        n_feat = max(1, int(round(feature_fraction * len(train_split))))
        feature_model = train_biased_model(model_fn, train_split.subset(perm[:n_feat]),
                                           stage_config(cfg, feature_cfg), "ce", augment=augment, progress=progress)
        pool = perm[n_feat:].sort().values
    phi = representation(feature_model, train_split.x[pool])
    k = int(round(slice_size * len(pool))) if slice_size < 1 else int(slice_size)
    target = max(1, int(round(target_fraction * len(train_split))))
    kept = pool[torch.from_numpy(aflite_filter(phi, train_split.y[pool].numpy(), min(target, len(pool)),
                                               num_partitions, train_fraction, max(k, 1), threshold, cfg.seed))]
    kept = kept.sort().values
    res = train(model_fn(), train_split.subset(kept), cfg, augment=augment, progress=progress, desc="AFLite")
    sub = train_split.subset(kept)
    return MethodResult("aflite", res.model, res.history,
                        {"kept": kept, "feature_model": feature_model, "kept_minority_share": sub.minority_ratio},
                        res.seconds)
