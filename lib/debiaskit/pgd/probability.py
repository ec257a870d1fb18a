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

How far to concentrate is the stabilisation's one knob, and the default (``target_ess="auto"``) sets it
from the biased model itself, after the draft's premise that f_b gets the bias-aligned samples right and
the bias-conflicting ones wrong (Section 3): with rho the training error of f_b (capped at 1/2), tau is
chosen so that the rho N samples ranked most atypical hold **half of the mass**, the group balance
Section 4.2 aims at (:func:`temperature_for_share`). A biased model that misclassifies 1% of a 99%-biased
set gives ESS ~ 3% N; one that found no bias to exploit (error near or above 1/2, e.g. on unbiased data)
gives tau -> 0, i.e. p_s uniform and PGD reduces to plain training. Measured (quick analyses, biased
model 5 epochs at batch 64): on CM 99% (10k) f_b misclassifies 1.01% of the set and p_s puts 49% of the
mass on the 1% minority (ESS 2.9% of N); on unbiased CM (10%, 5k) f_b's error is ~19% (the hard digits)
and p_s is mild (ESS ~54% of N), where the rank form at a fixed 2% ESS cost PGD 50 points of accuracy
against Vanilla (Table 13).

Measured on a GCE-biased Simple ConvNet-1 (CM 99.5%, 54,000 samples, k = 100, lambda = 1, last
linear layer): kappa 3,700-8,900 per class, literal ESS 1.0; tempered with the default target 0.02,
tau = 7.4e-4, ESS 1,080 and 29% of the mass on the 0.49% minority.
"""

from __future__ import annotations

import math
from typing import Callable

import torch

METHODS = ("rank", "tempered", "literal")
AUTO = "auto"
DEFAULT_TARGET_ESS: float | str = AUTO
"""Default stabilisation target: ``"auto"`` (half of the mass on the share of samples the biased model
misclassifies, see the module docstring) or a fixed ESS / N in (0, 1]. A fixed 0.02 puts 39% of the
rank form's mass on the lowest 0.5% of the ranks and 63% on the lowest 1%, whatever the data."""
BALANCED_MASS = 0.5
"""Share of the mass ``"auto"`` gives the samples the biased model gets wrong (group balance)."""


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


def _largest_tau(holds: Callable[[float], bool], max_tau: float) -> float:
    """Bisection on log tau over [e^-60, max_tau] for the boundary of a condition that holds at small tau
    and fails at ``max_tau`` (the caller checks the end); returns the largest tau found where it holds."""
    lo, hi = -60.0, math.log(max_tau)
    for _ in range(100):
        mid = 0.5 * (lo + hi)
        if holds(math.exp(mid)):
            lo = mid
        else:
            hi = mid
    return math.exp(lo)


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
    return _largest_tau(lambda tau: _log_ess(a, tau) >= goal, max_tau)  # ESS(e^-60) ~ N >= goal


def _top_share(log_p: torch.Tensor, top: torch.Tensor, tau: float) -> float:
    return float(torch.exp(torch.logsumexp(tau * log_p[top], 0) - torch.logsumexp(tau * log_p, 0)))


def temperature_for_share(log_p: torch.Tensor, share: float, mass: float = BALANCED_MASS,
                          max_tau: float = 1.0) -> float:
    """The tau in [0, max_tau] at which the ceil(share N) samples with the largest ``log_p`` hold ``mass``
    of the total of exp(tau * log_p) (bisection on log tau; that mass rises with tau).

    tau = 0 (uniform) when those samples already hold ``mass`` uniformly (share >= mass); ``max_tau`` when
    even it leaves them less. Ties at the boundary are broken by position (a stable sort).
    """
    if not 0 <= share <= 1:
        raise ValueError(f"share is a fraction of the samples in [0, 1], got {share}")
    if not 0 < mass < 1:
        raise ValueError(f"mass must be in (0, 1), got {mass}")
    a = log_p.double() - log_p.max()
    count = min(len(a), max(1, math.ceil(share * len(a) - 1e-9)))
    top = torch.argsort(a, descending=True, stable=True)[:count]
    if count / len(a) >= mass:
        return 0.0
    if _top_share(a, top, max_tau) <= mass:
        return max_tau
    return _largest_tau(lambda tau: _top_share(a, top, tau) <= mass, max_tau)  # share(e^-60) ~ count / N


def _mean_ranks(values: torch.Tensor) -> torch.Tensor:
    """Ranks 1..N of ``values`` in ascending order; equal values share the mean of their ranks."""
    ranks = torch.empty(len(values), dtype=torch.float64)
    ranks[torch.argsort(values, stable=True)] = torch.arange(1, len(values) + 1, dtype=torch.float64)
    _, inverse = torch.unique(values, return_inverse=True)
    total = torch.zeros(int(inverse.max()) + 1, dtype=torch.float64).index_add_(0, inverse, ranks)
    return (total / torch.bincount(inverse).double())[inverse]


def sampling_probability(log_s: torch.Tensor, method: str = "rank", target_ess: float | str = DEFAULT_TARGET_ESS,
                         temperature: float | None = None, min_ess: float = 0.0, error_rate: float | None = None
                         ) -> tuple[torch.Tensor, float]:
    """``(p_s, tau)``: Algorithm 1's acceptance probabilities in [0, 1] (max exactly 1) from log S.

    ``"literal"``: p_s = C / S with C = min S (Section 4.2), tau = 1. ``"tempered"``: (C / S)^tau, tau
    from ``temperature`` or the target. ``"rank"`` (default): exp(-tau (rank - 1) / N) with the rank of
    S from the smallest, tau from ``temperature`` or the target. All three order the samples as the
    draft does (higher S, lower p_s); equal scores get equal p_s.
    The target: a fraction ``target_ess`` of N as the effective sample size (:func:`temperature_for_ess`),
    or ``"auto"``: half of the mass on the min(``error_rate``, 1/2) N samples of smallest S, with
    ``error_rate`` the biased model's training error (:func:`debiaskit.pgd.metrics.training_error`;
    :func:`temperature_for_share`; module docstring).
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
    auto = isinstance(target_ess, str)
    if auto and target_ess != AUTO:
        raise ValueError(f"target_ess must be a fraction of N in (0, 1] or {AUTO!r}, got {target_ess!r}")
    if auto and method != "literal" and temperature is None:
        if error_rate is None:
            raise ValueError("target_ess='auto' needs the biased model's training error (error_rate=..., e.g. "
                             "training_error(model, x, y)); or pass a fixed target_ess such as 0.02")
        if not 0 <= error_rate <= 1:
            raise ValueError(f"error_rate must be in [0, 1], got {error_rate}")
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
    elif auto:
        tau = temperature_for_share(log_p, min(error_rate, 0.5), BALANCED_MASS, max_tau)
        if min_ess > 0:  # the floor caps tau (ESS falls as tau rises)
            tau = min(tau, temperature_for_ess(log_p, min(1.0, min_ess / len(log_s)), max_tau))
    else:
        tau = temperature_for_ess(log_p, min(1.0, max(target_ess, min_ess / len(log_s))), max_tau)
    return torch.exp(tau * log_p), tau


def acceptance_from_weights(weights: torch.Tensor) -> torch.Tensor:
    """Probabilities proportional to non-negative ``weights`` rescaled to max 1, so Algorithm 1 accepts
    with them (used for the Appendix H metrics and the gradient-norm score)."""
    w = check_weights(weights, "score weights")
    return w / w.max()
