"""RR-ClArC: "From Hope to Safety: Unlearning Biases of Deep Models via Gradient Penalization in
Latent Space" (Dreyer, Pahde et al., AAAI 2024).

* :mod:`~debiaskit.rrclarc.data` / :mod:`~debiaskit.rrclarc.celeba`: a controlled pasted artifact
  (quick profile) and the CelebA Blond_Hair / Wearing_Necktie setting (full profile);
* :mod:`~debiaskit.rrclarc.latent`: activations of any named layer, pooled over space;
* :mod:`~debiaskit.rrclarc.cav`: signal / SVM / ridge / lasso / logistic CAVs and their alignment;
* :mod:`~debiaskit.rrclarc.correction`: the RR-ClArC loss and the Vanilla, A-ClArC, P-ClArC and RRR baselines;
* :mod:`~debiaskit.rrclarc.metrics`: clean / as-trained / attacked accuracy, TCAV, R_bias;
* :mod:`~debiaskit.experiments.rrclarc`: the notebooks' experiments.
"""

from debiaskit.rrclarc.cav import CAV_TYPES, CavError, cav_alignment, fit_cav, signal_cav
from debiaskit.rrclarc.correction import (
                                          a_clarc_objective,
                                          finetune,
                                          logit_scalar,
                                          p_clarc,
                                          rr_clarc_objective,
                                          rr_penalty,
                                          rrr_objective,
                                          vanilla_objective,
)
from debiaskit.rrclarc.data import ArtifactBenchmark, artifact_benchmark, artifact_mask, paste_artifact
from debiaskit.rrclarc.latent import find_layer, latent_activations, pool_space
from debiaskit.rrclarc.metrics import accuracy, attributions, r_bias, tcav

__all__ = [
    "CAV_TYPES", "CavError", "cav_alignment", "fit_cav", "signal_cav",
    "a_clarc_objective", "finetune", "logit_scalar", "p_clarc", "rr_clarc_objective", "rr_penalty",
    "rrr_objective", "vanilla_objective",
    "ArtifactBenchmark", "artifact_benchmark", "artifact_mask", "paste_artifact",
    "find_layer", "latent_activations", "pool_space",
    "accuracy", "attributions", "r_bias", "tcav",
]
