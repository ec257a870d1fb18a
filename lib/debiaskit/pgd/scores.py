"""The draft's gradient-based scores (Section 4.1, Eq. 1, and Section 4.2), per class, in log space.

Eq. 1 (garbled in the draft's text; what is legible, REFERENCE.md):

* magnitude  M(i) = (1/||g_i||) / sum_{j in class} (1/||g_j||),
* direction  D(i) = p_dir(i) / sum_{j in class} p_dir(j), p_dir(i) = f_d(g_i/||g_i||; u, kappa) (vMF, Def. 4.1),
* aggregate  S(i): the lambda-weighted harmonic mean (Section 4.2), read here as
  S = (1 + lam) M D / (lam M + D) = 1 / (1/(1+lam) * 1/M + lam/(1+lam) * 1/D),
  so lam = 0 gives S = M, lam = 1 the plain harmonic mean 2MD/(M+D), lam -> inf gives D
  (Table 11 sweeps lam over {0, 1, 10, 100}).

Every quantity is kept as a log: with kappa ~ 1e3 the densities span hundreds of orders of magnitude
(REFERENCE.md, "Measured pitfall"). Within a class the vMF normaliser C_d(kappa) cancels in D(i).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import torch

from debiaskit.pgd.vmf import unit_vectors, vmf_fit, vmf_log_normaliser

NORM_FLOOR = 1e-30
"""Gradient norms are floored here so that 1/||g|| stays finite for a zero gradient (a sample the model
fits perfectly gets the largest magnitude score of its class)."""


@dataclass
class PGDScores:
    """Per-sample log scores and the per-class vMF fits behind them (all float64, CPU), and the gradient
    coordinates they were computed on."""

    log_m: torch.Tensor
    log_d: torch.Tensor
    log_s: torch.Tensor
    log_density: torch.Tensor
    lam: float
    kappa: dict[int, float] = field(default_factory=dict)
    mean_direction: dict[int, torch.Tensor] = field(default_factory=dict)
    resultant: dict[int, float] = field(default_factory=dict)
    coordinates: list[tuple[str, int]] = field(default_factory=list)
    """The gradient coordinates the scores were computed on (``(parameter, index)``; empty when not known)."""


def _check(grads: torch.Tensor, y: torch.Tensor) -> None:
    if grads.dim() != 2:
        raise ValueError(f"gradients must be a matrix [N, d], got shape {tuple(grads.shape)}")
    if len(grads) == 0:
        raise ValueError("cannot score an empty data set")
    if len(grads) != len(y):
        raise ValueError(f"gradients and labels differ in length: {len(grads)} vs {len(y)}")
    if not torch.isfinite(grads).all():
        raise ValueError("the per-sample gradients contain NaN or inf; scores would be meaningless")


def _per_class_log_normalise(values: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """values(i) - log sum_{j in class(i)} exp(values(j)): a per-class normalisation in log space."""
    out = torch.empty_like(values)
    for c in torch.unique(y):
        rows = y == c
        out[rows] = values[rows] - torch.logsumexp(values[rows], 0)
    return out


def magnitude_log_scores(norms: torch.Tensor, y: torch.Tensor, floor: float = NORM_FLOOR) -> torch.Tensor:
    """log M(i), M(i) = (1/||g_i||) / sum_{j in class} 1/||g_j|| (Eq. 1, magnitude score)."""
    norms = norms.double().cpu()
    if len(norms) == 0:
        raise ValueError("cannot score an empty data set")
    if not torch.isfinite(norms).all() or (norms < 0).any():
        raise ValueError("gradient norms must be finite and non-negative")
    return _per_class_log_normalise(-torch.log(norms.clamp(min=floor)), y.cpu())


def direction_log_scores(grads: torch.Tensor, y: torch.Tensor, kappa_method: str = "banerjee"
                         ) -> tuple[torch.Tensor, torch.Tensor, dict[int, tuple[torch.Tensor, float, float]]]:
    """``(log D, log p_dir, fits)`` with p_dir(i) = f_d(v_i; u_c, kappa_c) fitted per class c (Eq. 1,
    Appendix G). ``fits[c] = (u_c, kappa_c, r_c)``.

    Safe values: a class of one sample has D = 1 (kappa is capped, see :func:`vmf_fit`); a zero
    gradient has no direction and is scored at the mode (u'v = 1): a sample the model fits perfectly is
    the most typical one, so with its maximal M it gets the smallest p_s of its class; a class whose
    gradients are all zero gets the uniform density (D = 1/n).
    """
    _check(grads, y)
    v = unit_vectors(grads.double().cpu())
    y = y.cpu()
    d = v.shape[1]
    log_density = torch.empty(len(v), dtype=torch.float64)
    fits: dict[int, tuple[torch.Tensor, float, float]] = {}
    for c in torch.unique(y).tolist():
        rows = y == c
        vc = v[rows]
        if not bool((vc != 0).any()):
            log_density[rows] = vmf_log_normaliser(d, 0.0)
            fits[c] = (torch.zeros(d, dtype=torch.float64), 0.0, 0.0)
            continue
        mu, kappa, r = vmf_fit(vc, kappa_method)
        cosine = torch.where((vc != 0).any(1), vc @ mu, torch.ones(len(vc), dtype=torch.float64))
        log_density[rows] = vmf_log_normaliser(d, kappa) + kappa * cosine
        fits[c] = (mu, kappa, r)
    return _per_class_log_normalise(log_density, y), log_density, fits


def aggregate_log_scores(log_m: torch.Tensor, log_d: torch.Tensor, lam: float = 1.0) -> torch.Tensor:
    """log S(i) for S = (1 + lam) M D / (lam M + D), the lam-weighted harmonic mean of Section 4.2."""
    if not (lam >= 0 and math.isfinite(lam)):
        raise ValueError(f"lambda must be a finite non-negative number, got {lam}")
    if lam == 0:
        return log_m.clone()
    denominator = torch.logaddexp(math.log(lam) + log_m, log_d)
    return math.log1p(lam) + log_m + log_d - denominator


def pgd_scores(grads: torch.Tensor, y: torch.Tensor, lam: float = 1.0, norms: torch.Tensor | None = None,
               kappa_method: str = "banerjee") -> PGDScores:
    """M, D and S of every sample from its (sub-)gradient g_i, computed per class (Section 4.1-4.2).

    ``grads`` [N, k] are usually the k-dominant sub-gradients of :func:`~debiaskit.pgd.topk.topk_per_sample_grads`; the
    magnitude uses their norms unless ``norms`` (e.g. the full-gradient norms of pass 1) are given.
    """
    _check(grads, y)
    y = y.cpu()
    norms = torch.linalg.vector_norm(grads.double().cpu(), dim=1) if norms is None else norms
    log_m = magnitude_log_scores(norms, y)
    log_d, log_density, fits = direction_log_scores(grads, y, kappa_method)
    log_s = aggregate_log_scores(log_m, log_d, lam)
    return PGDScores(
        log_m=log_m, log_d=log_d, log_s=log_s, log_density=log_density, lam=lam,
        kappa={c: f[1] for c, f in fits.items()},
        mean_direction={c: f[0] for c, f in fits.items()},
        resultant={c: f[2] for c, f in fits.items()},
    )
