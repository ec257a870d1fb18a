"""From scores to sampling probabilities: the draft's p_s = C / S (Section 4.2), its stabilisation,
and the effective sample size.

Taken literally (``method="literal"``), p_s(i) = min_j S(j) / S(i) puts essentially all mass on one
sample on a GCE-biased ConvNet-1 (kappa ~ 1400, densities spanning hundreds of orders of magnitude,
ESS 1; REFERENCE.md "Measured pitfall"). The default stabilisation, ``"tempered"``, raises the
literal p_s to a power tau in (0, 1]:

    log p_s(i) = tau * (log C - log S(i)),   i.e.  p_s = (C / S)^tau,

which keeps the draft's order of the samples exactly (a monotone map of S), keeps p_s = 1 at the
sample with the smallest S (so Algorithm 1's acceptance rate stays as high as the draft's form allows),
and is computed in log space. tau is either given (``temperature``) or chosen by bisection as the
largest tau <= 1 whose effective sample size is at least ``target_ess * N`` (the ESS of p^tau falls
monotonically in tau).

The default, ``"rank"``, applies the same tempering to the *ranks* of S instead of its values:

    p_s(i) = exp(-tau * (r(i) - 1) / N),   r(i) = 1 for the smallest S, ..., N for the largest,

again order-preserving with p_s = 1 at the smallest S, and again with tau set by the ESS target (for an
exponential profile ESS ~ 2N / tau, so the top target_ess / 2 of the ranks hold 63% of the mass).
It exists because log D is heavy-tailed: on a GCE-biased ConvNet-1 (CM 99%, 10k samples, all-parameter
top-100 gradients) log D spans -4,794 to -2 nats per class while log M spans -12.7 to -3.8, and a few
extreme samples then set the tempering exponent. Tempered to ESS 5%, p_S left the 1% minority only 14%
of the mass although -log S ranks it almost perfectly (AUROC 0.9999); p_M got 39%. The rank form gives
every score the same mass profile along its own order (33% at ESS 5%, 63% at ESS 2%), so scores are
compared by how well they order the samples, not by the shape of their tails.

Measured on a GCE-biased Simple ConvNet-1 (CM 99.5%, 54,000 samples, k = 100, lambda = 1, last
linear layer): kappa 3,700-8,900 per class, literal ESS 1.0; tempered with the default target 0.02,
tau = 7.4e-4, ESS 1,080 and 29% of the mass on the 0.49% minority.
"""

from __future__ import annotations

import math

import torch

METHODS = ("rank", "tempered", "literal")
DEFAULT_TARGET_ESS = 0.02
"""Default ESS / N of the stabilised p_s. A p that puts half its mass evenly on a minority of share rho
and half on the rest has ESS = 4 rho (1 - rho) N, i.e. 0.02 N for rho = 0.5% (the draft's hardest
Colored MNIST setting); the rank form at ESS 0.02 N puts 39% of the mass on the lowest 0.5% of the
ranks and 63% on the lowest 1%. Tune it on a validation split like any hyperparameter."""


def check_weights(p: torch.Tensor, what: str = "sampling probabilities") -> torch.Tensor:
    """Return ``p`` as float64 after checking it is a non-empty vector of finite, non-negative values
    with a positive sum; raise ``ValueError`` naming the problem otherwise."""
    p = torch.as_tensor(p).double().flatten().cpu()
    if p.numel() == 0:
        raise ValueError(f"{what}: empty")
    if torch.isnan(p).any():
        raise ValueError(f"{what}: {int(torch.isnan(p).sum())} NaN values (a sampler fed NaN never accepts)")
    if torch.isinf(p).any() or (p < 0).any():
        raise ValueError(f"{what}: values must be finite and non-negative")
    if not p.max() > 0:
        raise ValueError(f"{what}: all zero, so the acceptance rate is zero and no sample could ever be drawn")
    return p


def effective_sample_size(p: torch.Tensor) -> float:
    """Kish's effective sample size (sum p)^2 / sum p^2 of sampling weights ``p`` (any scale).

    N for uniform weights, 1 when one sample holds all the mass.
    """
    p = check_weights(p, "effective_sample_size")
    p = p / p.max()
    return float(p.sum() ** 2 / (p * p).sum())


def _log_ess(a: torch.Tensor, tau: float) -> float:
    return float(2 * torch.logsumexp(tau * a, 0) - torch.logsumexp(2 * tau * a, 0))


def temperature_for_ess(log_p: torch.Tensor, target_ess: float, max_tau: float = 1.0) -> float:
    """The largest tau in (0, max_tau] with ESS(exp(tau * log_p)) >= target_ess * N (bisection on log tau)."""
    if not 0 < target_ess <= 1:
        raise ValueError(f"target_ess is a fraction of N in (0, 1], got {target_ess}")
    a = log_p.double() - log_p.max()
    goal = math.log(target_ess * len(a))
    if _log_ess(a, max_tau) >= goal - 1e-12:
        return max_tau
    lo, hi = -60.0, math.log(max_tau)  # log tau: ESS(e^lo) ~ N >= goal > ESS(e^hi)
    for _ in range(100):
        mid = 0.5 * (lo + hi)
        if _log_ess(a, math.exp(mid)) >= goal:
            lo = mid
        else:
            hi = mid
    return math.exp(lo)


def _mean_ranks(values: torch.Tensor) -> torch.Tensor:
    """Ranks 1..N of ``values`` in ascending order; equal values share the mean of their ranks."""
    ranks = torch.empty(len(values), dtype=torch.float64)
    ranks[torch.argsort(values, stable=True)] = torch.arange(1, len(values) + 1, dtype=torch.float64)
    _, inverse = torch.unique(values, return_inverse=True)
    total = torch.zeros(int(inverse.max()) + 1, dtype=torch.float64).index_add_(0, inverse, ranks)
    return (total / torch.bincount(inverse).double())[inverse]


def sampling_probability(log_s: torch.Tensor, method: str = "rank", target_ess: float = DEFAULT_TARGET_ESS,
                         temperature: float | None = None, min_ess: float = 0.0) -> tuple[torch.Tensor, float]:
    """``(p_s, tau)``: Algorithm 1's acceptance probabilities in [0, 1] (max exactly 1) from log S.

    ``"literal"``: p_s = C / S with C = min S (Section 4.2), tau = 1. ``"tempered"``: (C / S)^tau, tau
    from ``temperature`` or :func:`temperature_for_ess`. ``"rank"`` (default): exp(-tau (rank - 1) / N)
    with the rank of S from the smallest, tau from ``temperature`` or the ESS target. All three order
    the samples as the draft does (higher S, lower p_s); equal scores get equal p_s.
    ``min_ess`` is a floor on the effective sample size in samples (the target is
    max(target_ess N, min_ess), capped at N): Algorithm 1 fills batches with *distinct* samples, so p_s
    must spread over more samples than a batch holds (:func:`debiaskit.pgd.debias` passes twice its
    batch size), which a fraction of a small N may not.
    """
    log_s = torch.as_tensor(log_s).double().cpu()
    if log_s.numel() == 0:
        raise ValueError("cannot turn an empty score vector into probabilities")
    if torch.isnan(log_s).any() or torch.isposinf(log_s).any():
        raise ValueError("log S contains NaN or +inf; compute the scores in log space (pgd_scores) first")
    if method not in METHODS:
        raise ValueError(f"method must be one of {METHODS}, got {method!r}")
    if temperature is not None and not temperature > 0:
        raise ValueError(f"temperature must be positive, got {temperature}")
    if method == "rank":
        ranks = _mean_ranks(log_s)
        log_p = -(ranks - ranks.min()) / len(log_s)  # in (-1, 0], 0 at the smallest S
        max_tau = 10.0 * len(log_s)
    else:
        log_p = log_s.min() - log_s  # log(C / S), <= 0
        max_tau = 1.0
    if method == "literal":
        tau = 1.0
    elif temperature is not None:
        tau = float(temperature)
    else:
        tau = temperature_for_ess(log_p, min(1.0, max(target_ess, min_ess / len(log_s))), max_tau)
    return torch.exp(tau * log_p), tau


def acceptance_from_weights(weights: torch.Tensor) -> torch.Tensor:
    """Probabilities proportional to non-negative ``weights`` rescaled to max 1, so Algorithm 1 accepts
    with them (used for the Appendix H metrics and the gradient-norm score)."""
    w = check_weights(weights, "score weights")
    return w / w.max()
