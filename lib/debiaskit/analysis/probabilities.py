"""Sampling probabilities compared in the analyses (PGD draft, Section 4.2 and Appendix H).

* p_M, p_D, p_S (Figure 14): proportional to 1/M(i), 1/D(i) and 1/S(i). Taken literally these put
  all mass on a handful of samples (REFERENCE.md, "Measured pitfall"), so every one of them is
  stabilised the same way as the method itself (:func:`debiaskit.pgd.sampling_probability`,
  ``"tempered"``: (C/score)^tau with tau chosen for an effective sample size of ``target_ess`` N), which
  keeps each one's order of the samples.
* S(i) for another lambda (Table 11) re-aggregates the same M and D (no new gradients).
* The Appendix H metrics (softmax response, logit, loss) and the published gradient norm come from
  :func:`debiaskit.pgd.metric_scores`; they are used proportionally, as the draft defines them.
"""

from __future__ import annotations

import torch
from torch import nn

from debiaskit.analysis.gradients import GradientProfile

DEFAULT_TARGET_ESS = 0.05


def stabilised(log_score: torch.Tensor, target_ess: float = DEFAULT_TARGET_ESS) -> torch.Tensor:
    """p proportional to (1/score)^tau, max 1, tau for an effective sample size of ``target_ess`` N."""
    from debiaskit import pgd

    p, _ = pgd.sampling_probability(log_score, "tempered", target_ess)
    return p


def score_probabilities(profile: GradientProfile, target_ess: float = DEFAULT_TARGET_ESS) -> dict[str, torch.Tensor]:
    """``{"p_M", "p_D", "p_S"}`` of Figure 14, each stabilised to the same effective sample size."""
    return {"p_M": stabilised(profile.log_m, target_ess), "p_D": stabilised(profile.log_d, target_ess),
            "p_S": stabilised(profile.log_s, target_ess)}


def lambda_probability(profile: GradientProfile, lam: float, target_ess: float = DEFAULT_TARGET_ESS) -> torch.Tensor:
    """p_s for another balancing weight lambda (Table 11): S re-aggregated from the same M and D."""
    from debiaskit import pgd

    return stabilised(pgd.aggregate_log_scores(profile.log_m, profile.log_d, lam), target_ess)


def metric_probability(model: nn.Module, x: torch.Tensor, y: torch.Tensor, metric: str, p_norm: float = 0.7
                       ) -> torch.Tensor:
    """Sampling weights (max 1) proportional to an Appendix H metric or the published gradient norm."""
    from debiaskit import pgd

    return pgd.acceptance_from_weights(pgd.metric_scores(model, x, y, metric, p=p_norm))
