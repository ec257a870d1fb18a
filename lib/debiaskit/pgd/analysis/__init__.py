"""The PGD draft's analyses (Sections 3-4, Appendix H): why per-sample gradients find the minority,
and how the method behaves under its knobs.

Modules: ``gradients``
(per-sample gradient magnitudes and directional likelihoods of majority vs minority, Figure 4c),
``landscape`` (loss landscapes along the gradient, Figure 4a/b, after Li et al. 2018),
``sampling_matrix`` ((label, colour) sampling matrices and their uniformity statistic, Figure 14),
``probabilities`` (p_M, p_D, p_S, lambda, Appendix H metrics), ``timing`` (Table 14),
``figures`` (the plots). The cached models these analyses run on come from
:mod:`debiaskit.experiments.analysis_runs`.
"""

from debiaskit.pgd.analysis.gradients import (
                                          GradientProfile,
                                          bin_shares,
                                          gradient_profile,
                                          quantile_bins,
                                          separation_auc,
)
from debiaskit.pgd.analysis.landscape import (
                                          Landscape,
                                          filter_normalise,
                                          gradient_direction,
                                          gradient_landscape,
                                          loss_surface,
                                          mean_loss,
)
from debiaskit.pgd.analysis.probabilities import lambda_probability, metric_probability, score_probabilities, stabilised
from debiaskit.pgd.analysis.sampling_matrix import cell_mass, sampling_matrix, uniformity
from debiaskit.pgd.analysis.timing import parse_minutes, ratios_to, timed

__all__ = [
    "GradientProfile", "Landscape", "bin_shares", "cell_mass", "filter_normalise",
    "gradient_direction", "gradient_landscape", "gradient_profile", "lambda_probability", "loss_surface", "mean_loss",
    "metric_probability", "parse_minutes", "quantile_bins", "ratios_to", "sampling_matrix",
    "score_probabilities", "separation_auc", "stabilised", "timed", "uniformity",
]
