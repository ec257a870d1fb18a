"""The PGD draft's analyses (Sections 3-4, Appendix H): why per-sample gradients find the minority,
and how the method behaves under its knobs.

Modules: ``runs`` (biased / de-biased / baseline models trained once and cached), ``gradients``
(per-sample gradient magnitudes and directional likelihoods of majority vs minority, Figure 4c),
``landscape`` (loss landscapes along the gradient, Figure 4a/b, after Li et al. 2018),
``sampling_matrix`` ((label, colour) sampling matrices and their uniformity statistic, Figure 14),
``probabilities`` (p_M, p_D, p_S, lambda, Appendix H metrics), ``timing`` (Table 14),
``figures`` (the plots).
"""

from debiaskit.analysis.gradients import GradientProfile, bin_shares, gradient_profile, quantile_bins, separation_auc
from debiaskit.analysis.landscape import (Landscape, filter_normalise, gradient_direction, gradient_landscape,
                                          loss_surface, mean_loss)
from debiaskit.analysis.probabilities import (lambda_probability, metric_probability, score_probabilities,
                                              stabilised)
from debiaskit.analysis.runs import accuracy_row, biased_model, debiased_model, method_model
from debiaskit.analysis.sampling_matrix import cell_mass, sampling_matrix, uniformity
from debiaskit.analysis.timing import parse_minutes, ratios_to, timed

__all__ = [
    "GradientProfile", "Landscape", "accuracy_row", "bin_shares", "biased_model", "cell_mass", "debiased_model", "filter_normalise",
    "gradient_direction", "gradient_landscape", "gradient_profile", "lambda_probability", "loss_surface", "mean_loss",
    "method_model", "metric_probability", "parse_minutes", "quantile_bins", "ratios_to", "sampling_matrix",
    "score_probabilities", "separation_auc", "stabilised", "timed", "uniformity",
]
