"""Sampling probabilities compared in the analyses (PGD draft, Section 4.2 and Appendix H).

* p_M, p_D, p_S (Figure 14): proportional to 1/M(i), 1/D(i) and 1/S(i). Taken literally these put
  all mass on a handful of samples (REFERENCE.md, "Measured pitfall"), so every one of them is
  stabilised the same way as the method itself (:func:`debiaskit.pgd.sampling_probability`, default
  ``"balanced"``: the samples a score ranks first, as many as the biased model misclassifies, share
  half of the mass uniformly and the rest the other half), which keeps each one's order of the samples
  and gives all three the same mass profile along it (``method="rank"`` with a fixed ``target_ess``
  tempers the ranks instead).
* S(i) for another lambda (Table 11) re-aggregates the same M and D (no new gradients).
* The Appendix H metrics (softmax response, logit, loss) and the published gradient norm come from
  :func:`debiaskit.pgd.metric_scores`; they are used proportionally, as the draft defines them.
"""

from __future__ import annotations

import torch
from torch import nn

from debiaskit.pgd.analysis.gradients import GradientProfile
from debiaskit.pgd.probability import DEFAULT_METHOD, DEFAULT_TARGET_ESS  # one default for the method and its analyses

MIN_ESS = 128
"""Floor on the effective sample size of the analyses' p (twice their de-biased batch of 64), so that
Algorithm 1 can fill batches of distinct samples on small (ci-profile) training sets."""


def stabilised(log_score: torch.Tensor, target_ess: float | str = DEFAULT_TARGET_ESS, method: str = DEFAULT_METHOD,
               min_ess: float = MIN_ESS, error_rate: float | None = None) -> torch.Tensor:
    """p decreasing in the score, max 1, stabilised by ``method`` (:func:`debiaskit.pgd.sampling_probability`)
    to ``target_ess`` (``"auto"`` needs the biased model's ``error_rate``), with an effective sample size
    of at least ``min_ess``."""
    from debiaskit import pgd

    p, _ = pgd.sampling_probability(log_score, method, target_ess, min_ess=min_ess, error_rate=error_rate)
    return p


def score_probabilities(profile: GradientProfile, target_ess: float | str = DEFAULT_TARGET_ESS
                        ) -> dict[str, torch.Tensor]:
    """``{"p_M", "p_D", "p_S"}`` of Figure 14, each stabilised to the same target."""
    return {name: stabilised(log, target_ess, error_rate=profile.error_rate)
            for name, log in (("p_M", profile.log_m), ("p_D", profile.log_d), ("p_S", profile.log_s))}


def lambda_probability(profile: GradientProfile, lam: float, target_ess: float | str = DEFAULT_TARGET_ESS,
                       method: str = DEFAULT_METHOD) -> torch.Tensor:
    """p_s for another balancing weight lambda (Table 11): S re-aggregated from the same M and D."""
    from debiaskit import pgd

    return stabilised(pgd.aggregate_log_scores(profile.log_m, profile.log_d, lam), target_ess, method,
                      error_rate=profile.error_rate)


def metric_probability(model: nn.Module, x: torch.Tensor, y: torch.Tensor, metric: str, p_norm: float = 0.7
                       ) -> torch.Tensor:
    """Sampling weights (max 1) proportional to an Appendix H metric or the published gradient norm."""
    from debiaskit import pgd

    return pgd.acceptance_from_weights(pgd.metric_scores(model, x, y, metric, p=p_norm))
