"""FINE (Kim et al. 2021, "FINE Samples for Learning with Noisy Labels"): the sample selector that the PGD
draft's Appendix I (Table 16) compares its de-noising module with.

Per class k, the representations z_i of the samples *labelled* k span a dominant direction: the principal
eigenvector v_k of their (uncentred) gram matrix sum_i z_i z_i^T (FINE, Section 3.1, Eq. 3; equivalently the
first right-singular vector of the stacked features). A sample's alignment score is, as the authors' code
computes it, its absolute cosine with v_k: ``f_i = |<v_k, z_i / ||z_i||>|`` (FINE Eq. 4). Clean samples align with
their class's direction, mislabelled ones (whose features follow their *true* class) do not. A
two-component Gaussian mixture fitted per class to the 1-D scores (FINE, Section 3.2) decides: a sample is
clean when the posterior of the component with the larger mean exceeds ``zeta`` (0.5).

FINE runs once here, on the representation of a model trained with CE on the noisy set (its warm-up);
FINE itself repeats the selection during training.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from debiaskit.baselines.common import features_and_logits
from debiaskit.core.training import as_float_images
from debiaskit.pgd.params import eval_mode, model_device


@dataclass
class FineSplit:
    """Masks of the samples FINE keeps (clean) and drops, the alignment scores and each class's direction."""

    clean: torch.Tensor
    noisy: torch.Tensor
    scores: torch.Tensor
    directions: dict[int, torch.Tensor]


def class_direction(z: torch.Tensor) -> torch.Tensor:
    """The principal eigenvector of sum_i z_i z_i^T for the rows z_i of ``z`` (FINE Eq. 3), sign-fixed so that
    its largest-magnitude entry is positive (the score uses ``|<v, z>|``, so the sign does not matter)."""
    if z.ndim != 2 or len(z) == 0:
        raise ValueError(f"need a non-empty [n, d] feature matrix, got shape {tuple(z.shape)}")
    _, eigvecs = torch.linalg.eigh(z.double().T @ z.double())
    v = eigvecs[:, -1]
    return v * torch.sign(v[v.abs().argmax()])


def alignment_scores(z: torch.Tensor, direction: torch.Tensor) -> torch.Tensor:
    """``|<v, z_i / ||z_i||>|`` (FINE Eq. 4); a zero feature vector scores 0."""
    norms = z.double().norm(dim=1).clamp_min(1e-12)
    return (z.double() @ direction.double()).abs() / norms


def gmm_clean_posterior(scores: torch.Tensor, seed: int = 0) -> torch.Tensor:
    """Posterior of the higher-mean component of a two-component 1-D Gaussian mixture (FINE, Section 3.2),
    fitted with scikit-learn as the authors' code does (full covariance, tol 1e-6, 100 iterations)."""
    from sklearn.mixture import GaussianMixture

    s = scores.double().cpu().numpy().reshape(-1, 1)
    if len(s) < 2 or np.ptp(s) < 1e-12:  # one sample, or all equal: nothing to separate, keep them
        return torch.ones(len(s), dtype=torch.float64)
    gmm = GaussianMixture(n_components=2, covariance_type="full", tol=1e-6, max_iter=100, random_state=seed).fit(s)
    clean = int(np.argmax(gmm.means_.ravel()))
    return torch.from_numpy(gmm.predict_proba(s)[:, clean])


def fine_split_features(z: torch.Tensor, y: torch.Tensor, zeta: float = 0.5, seed: int = 0) -> FineSplit:
    """FINE's selection from features ``z`` [N, d] and (possibly noisy) labels ``y`` [N]."""
    if len(z) != len(y):
        raise ValueError(f"features and labels differ in length: {len(z)} vs {len(y)}")
    if len(z) == 0:
        raise ValueError("cannot select from an empty data set")
    if not 0.0 < zeta < 1.0:
        raise ValueError(f"zeta is a posterior threshold in (0, 1), got {zeta}")
    y = y.cpu()
    scores = torch.zeros(len(y), dtype=torch.float64)
    clean = torch.zeros(len(y), dtype=torch.bool)
    directions = {}
    for k in torch.unique(y).tolist():
        rows = (y == k).nonzero(as_tuple=True)[0]
        directions[k] = class_direction(z[rows])
        scores[rows] = alignment_scores(z[rows], directions[k])
        clean[rows] = gmm_clean_posterior(scores[rows], seed) > zeta
    return FineSplit(clean, ~clean, scores, directions)


@torch.no_grad()
def penultimate_features(model: nn.Module, x: torch.Tensor, batch_size: int = 2048) -> torch.Tensor:
    """Eval-mode representations (the input of the last linear layer) [N, d], float32 on the CPU."""
    dev = model_device(model)
    with eval_mode(model):
        return torch.cat([features_and_logits(model, as_float_images(chunk.to(dev)))[0].cpu()
                          for chunk in x.split(batch_size)])


def fine_split(model: nn.Module, x: torch.Tensor, y: torch.Tensor, zeta: float = 0.5, seed: int = 0) -> FineSplit:
    """FINE's clean/noisy split of (x, y) with ``model``'s penultimate representation."""
    return fine_split_features(penultimate_features(model, x), y, zeta, seed)
