"""From scores to sampling probabilities: the draft's p_s = C / S (Section 4.2), its stabilisation,
and the effective sample size.

Taken literally (``method="literal"``), p_s(i) = min_j S(j) / S(i) puts essentially all mass on one
sample on a GCE-biased ConvNet-1 (kappa ~ 1400, densities spanning hundreds of orders of magnitude,
ESS 1; REFERENCE.md "Measured pitfall"). Every stabilisation below keeps the draft's order of the
samples (higher S, lower p_s; equal S, equal p_s) and p_s = 1 at the smallest S, so that Algorithm 1's
acceptance rate stays as high as the form allows.

* ``"balanced"`` (the default) turns the score into two groups, after the draft's premise that the
  biased model f_b gets the bias-aligned samples right and the bias-conflicting ones wrong (Section 3):
  with rho the training error of f_b, the ceil(rho N) samples of smallest S (the score's guess at the
  bias-conflicting group) share **half of the mass** uniformly and the others share the other half
  uniformly, the balance behind Figure 14's "most uniformized" p_S (p_s = 1 in the first group and
  w = c (1 - m) / ((N - c) m) in the second, with c the group's size and m = 1/2). A biased model that
  is wrong on half of the set or more found no bias to exploit (e.g. on unbiased data): p_s is uniform
  and PGD reduces to plain training. The score matters through which samples it ranks first; the order
  inside each group does not, so scores that agree on the group give the same p_s (Table 11's lambda).
* ``"rank"`` tempers the ranks: p_s(i) = exp(-tau (r(i) - 1) / N), r(i) = 1 for the smallest S, ...,
  N for the largest; for an exponential profile ESS ~ 2N / tau.
* ``"tempered"`` tempers the values: p_s = (C / S)^tau, tau in (0, 1], computed in log space.

For the last two, tau is given (``temperature``) or set by the target: a fixed effective sample size
``target_ess`` N (:func:`temperature_for_ess`), or ``"auto"``: the ceil(rho N) samples ranked most
atypical hold half of the mass (:func:`temperature_for_share`).

Why two groups by default. log D is heavy-tailed: on a GCE-biased ConvNet-1 (CM 99%, 10k samples,
all-parameter top-100 gradients) log D spans -4,794 to -2 nats per class while log M spans -12.7 to -3.8,
and a few extreme samples set a tempering exponent ("tempered" to ESS 5% left the 1% minority 14% of the
mass although -log S ranks it almost perfectly, AUROC 0.9999). The rank form removes the tails, but to
give the top 1% half of the mass its exponential profile puts the other half on ranks 1-5% (atypical
majority samples) and almost none on the rest of the majority (ESS ~3% of N). Measured in the quick
analyses' setting (biased model 5 epochs at batch 64, de-biased 3 epochs, one seed, one thread, before
debiaskit's own dropout layer), "balanced" against "rank" with the same half-mass target:

* CM 99% majority/minority 98.7/74.9 vs 94.7/78.0, and lambda = 0 vs 1 changes the minority accuracy
  by 2.6 points instead of 4.4;
* unbiased CM (10%; f_b misclassifies ~20%, the hard digits) 91.2/91.8 vs 89.1/90.0, Vanilla 91.4/92.8;
* CM 90%: 97.0/81.4 vs 94.6/81.6.
"""

from __future__ import annotations

import math
from typing import Callable

import torch

STABILISERS = ("balanced", "rank", "tempered", "literal")
"""The ways of turning log-scores into sampling probabilities (:func:`sampling_probability`)."""
DEFAULT_METHOD = "balanced"
AUTO = "auto"
DEFAULT_TARGET_ESS: float | str = AUTO
"""Default stabilisation target: ``"auto"`` (half of the mass on the share of samples the biased model
misclassifies, see the module docstring; the only target of ``"balanced"``) or, for ``"rank"`` and
``"tempered"``, a fixed ESS / N in (0, 1]. A fixed 0.02 puts 39% of the rank form's mass on the lowest
0.5% of the ranks and 63% on the lowest 1%, whatever the data."""
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


def balanced_probability(log_s: torch.Tensor, share: float, mass: float = BALANCED_MASS, min_ess: float = 0.0
                         ) -> tuple[torch.Tensor, float]:
    """``(p, w)``: two-group acceptance probabilities (module docstring, ``"balanced"``: the balance
    behind Figure 14's "most uniformized" p_S). The ceil(``share`` N) samples of smallest ``log_s`` (and any sample tied with the
    last of them) get p = 1 and hold ``mass`` of the total; the others get p = w and hold the rest.
    Uniform (w = 1) when the group already holds ``mass`` uniformly (its share >= ``mass``). ``min_ess``
    (samples) raises w until the effective sample size reaches it (capped at N)."""
    if not 0 <= share <= 1:
        raise ValueError(f"share is a fraction of the samples in [0, 1], got {share}")
    if not 0 < mass < 1:
        raise ValueError(f"mass must be in (0, 1), got {mass}")
    log_s = torch.as_tensor(log_s).double().cpu()
    n = len(log_s)
    count = min(n, max(1, math.ceil(share * n - 1e-9)))
    group = log_s <= torch.kthvalue(log_s, count).values  # ties with the boundary join the group
    c = int(group.sum())
    if c / n >= mass:
        return torch.ones(n, dtype=torch.float64), 1.0
    w = c * (1 - mass) / ((n - c) * mass)

    def ess(weight: float) -> float:  # Kish's ESS of c ones and n - c weights
        return (c + (n - c) * weight) ** 2 / (c + (n - c) * weight ** 2)

    goal = min(float(min_ess), float(n))
    if ess(w) < goal:  # the ESS rises with w up to N at w = 1: bisection on [w, 1]
        lo, hi = w, 1.0
        for _ in range(100):
            mid = 0.5 * (lo + hi)
            lo, hi = (lo, mid) if ess(mid) >= goal else (mid, hi)
        w = hi
    return torch.where(group, torch.ones(n, dtype=torch.float64), torch.full((n,), w, dtype=torch.float64)), w


def _mean_ranks(values: torch.Tensor) -> torch.Tensor:
    """Ranks 1..N of ``values`` in ascending order; equal values share the mean of their ranks."""
    ranks = torch.empty(len(values), dtype=torch.float64)
    ranks[torch.argsort(values, stable=True)] = torch.arange(1, len(values) + 1, dtype=torch.float64)
    _, inverse = torch.unique(values, return_inverse=True)
    total = torch.zeros(int(inverse.max()) + 1, dtype=torch.float64).index_add_(0, inverse, ranks)
    return (total / torch.bincount(inverse).double())[inverse]


def sampling_probability(log_s: torch.Tensor, method: str = DEFAULT_METHOD,
                         target_ess: float | str = DEFAULT_TARGET_ESS, temperature: float | None = None,
                         min_ess: float = 0.0, error_rate: float | None = None) -> tuple[torch.Tensor, float]:
    """``(p_s, tau)``: Algorithm 1's acceptance probabilities in [0, 1] (max exactly 1) from log S.

    ``"balanced"`` (default): two groups, the ceil(``error_rate`` N) samples of smallest S holding half
    of the mass (:func:`balanced_probability`); its second value is the other group's p_s, w, instead
    of a tau, and it takes no fixed ``target_ess`` and no ``temperature``. ``"literal"``: p_s = C / S
    with C = min S (Section 4.2), tau = 1. ``"tempered"``: (C / S)^tau, tau from ``temperature`` or the
    target. ``"rank"``: exp(-tau (rank - 1) / N) with the rank of S from the smallest, tau from
    ``temperature`` or the target. All of them order the samples as the draft does (higher S, lower
    p_s); equal scores get equal p_s.
    The target of "rank" and "tempered": a fraction ``target_ess`` of N as the effective sample size
    (:func:`temperature_for_ess`), or ``"auto"``: half of the mass on the min(``error_rate``, 1/2) N
    samples of smallest S (:func:`temperature_for_share`). ``error_rate`` is the biased model's training
    error (:func:`debiaskit.pgd.metrics.training_error`; module docstring).
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
    if method not in STABILISERS:
        raise ValueError(f"method must be one of {STABILISERS}, got {method!r}")
    if temperature is not None and not temperature > 0:
        raise ValueError(f"temperature must be positive, got {temperature}")
    auto = isinstance(target_ess, str)
    if auto and target_ess != AUTO:
        raise ValueError(f"target_ess must be a fraction of N in (0, 1] or {AUTO!r}, got {target_ess!r}")
    if method == "balanced" and (not auto or temperature is not None):
        raise ValueError("method='balanced' sizes its two groups from the biased model's error: use "
                         "target_ess='auto' without a temperature, or method='rank' for a fixed ESS or tau")
    if auto and method != "literal" and temperature is None:
        if error_rate is None:
            raise ValueError("target_ess='auto' needs the biased model's training error (error_rate=..., e.g. "
                             "training_error(model, x, y)); or pass method='rank' with a fixed target_ess such "
                             "as 0.02")
        if not 0 <= error_rate <= 1:
            raise ValueError(f"error_rate must be in [0, 1], got {error_rate}")
    if method == "balanced":
        return balanced_probability(log_s, error_rate, BALANCED_MASS, min_ess)
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
