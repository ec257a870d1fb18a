"""PGD: de-biasing with per-sample gradients of a biased classifier (the ICLR 2022 draft and the
published ICLR 2023 variant), as small reusable pieces.

Run it on your own model and data in a few lines::

    from debiaskit.data.colored_mnist import colored_mnist
    from debiaskit.core.models import simple_convnet1
    from debiaskit.core.training import TrainConfig, evaluate
    from debiaskit import pgd

    bench = colored_mnist(bias_ratio=0.995)
    out = pgd.debias(simple_convnet1, bench.train,
                     biased_cfg=TrainConfig(epochs=5, augment=False), debiased_cfg=TrainConfig(epochs=5),
                     preset="draft")                   # or "published", or pgd.pgd_settings("draft", k=50)
    print(out.info["ess"], evaluate(out.debiased, bench.test))

Or step by step (:mod:`debiaskit.pgd.stages`; any ``nn.Module`` whose output is its last ``nn.Linear``'s output for
the closed form)::

    biased = model_fn()
    pgd.train_biased(biased, split, cfg=biased_cfg)                       # step 1: GCE
    scores = pgd.GradientScore(k=100, lam=1.0)(biased, split)             # step 2: M, D, S per class
    p_s, info = pgd.sampling_distribution(                                # p_s: two groups, half the mass each
        scores, error_rate=pgd.training_error(biased, split.x, split.y))
    pgd.train_debiased(model_fn(), split, p_s, cfg=cfg)                   # step 3: Algorithm 1's batches

and below the steps, the pieces: ``pgd.topk_per_sample_grads`` (two streaming passes), ``pgd.pgd_scores``,
``pgd.sampling_probability``, ``pgd.rejection_sampler`` (Algorithm 1).

Modules: ``params`` (parameter selection, eval mode), ``grads`` (vmap per-sample gradients),
``closed_form`` (last linear layer without backward), ``topk`` (streaming k-dominant coordinates),
``vmf`` (log-space von Mises-Fisher), ``scores`` (M, D, S), ``probability`` (p_s, stabilisation, ESS),
``metrics`` (Appendix H scores, gradient norm), ``samplers`` (Algorithm 1 and equivalents),
``losses`` (GCE, adjusting objective), ``denoise`` (Section 5), ``scorers`` (score objects), ``stages`` (Algorithm 2's
steps), ``presets`` (the draft and published settings), ``debias`` (Algorithm 2 chained).
"""

from debiaskit.pgd.closed_form import features_and_logits, last_layer_grad_norms, last_layer_grads
from debiaskit.pgd.debias import DebiasResult, data_fingerprint, debias, debias_from
from debiaskit.pgd.denoise import DenoiseSplit, compensated_loss, denoise, denoise_split, split_by_compensated_loss
from debiaskit.pgd.grads import iter_per_sample_grads, per_sample_grads
from debiaskit.pgd.losses import adjusting_objective, adjusting_weights, gce_loss, gce_objective, weighted_ce_objective
from debiaskit.pgd.metrics import logit_scores, loss_scores, metric_scores, softmax_scores, training_error
from debiaskit.pgd.params import eval_mode, last_linear, select_parameters
from debiaskit.pgd.presets import DRAFT, PRESETS, PUBLISHED, PGDSettings, pgd_settings
from debiaskit.pgd.probability import (
                                       acceptance_from_weights,
                                       effective_sample_size,
                                       sampling_probability,
                                       temperature_for_ess,
                                       temperature_for_share,
)
from debiaskit.pgd.samplers import multinomial_sampler, published_sampler, rejection_sampler
from debiaskit.pgd.scorers import GradientScore, GradNormScore, MetricScore, scorer
from debiaskit.pgd.scores import PGDScores, aggregate_log_scores, direction_log_scores, magnitude_log_scores, pgd_scores
from debiaskit.pgd.stages import progress_bars, sampling_distribution, train_biased, train_debiased
from debiaskit.pgd.topk import (
                                       TopKGradients,
                                       dominant_coordinates,
                                       gather_coordinates,
                                       gradient_statistics,
                                       topk_per_sample_grads,
)
from debiaskit.pgd.vmf import log_bessel_iv, vmf_fit, vmf_log_density, vmf_log_normaliser

__all__ = [
    "DRAFT", "PRESETS", "PUBLISHED", "DebiasResult", "DenoiseSplit", "GradNormScore", "GradientScore", "MetricScore",
    "PGDScores", "PGDSettings", "TopKGradients", "data_fingerprint", "debias_from", "pgd_settings", "progress_bars",
    "sampling_distribution", "scorer", "train_biased", "train_debiased",
    "acceptance_from_weights", "adjusting_objective", "adjusting_weights", "aggregate_log_scores",
    "compensated_loss", "debias", "denoise", "denoise_split", "direction_log_scores", "dominant_coordinates",
    "effective_sample_size", "eval_mode", "features_and_logits", "gather_coordinates", "gce_loss",
    "gce_objective", "gradient_statistics", "iter_per_sample_grads", "last_layer_grad_norms", "last_layer_grads",
    "last_linear", "log_bessel_iv", "logit_scores", "loss_scores", "magnitude_log_scores", "metric_scores",
    "multinomial_sampler", "per_sample_grads", "pgd_scores", "published_sampler", "rejection_sampler",
    "sampling_probability", "select_parameters", "softmax_scores", "split_by_compensated_loss",
    "temperature_for_ess", "temperature_for_share", "training_error", "topk_per_sample_grads", "vmf_fit", "vmf_log_density", "vmf_log_normaliser",
    "weighted_ce_objective",
]
