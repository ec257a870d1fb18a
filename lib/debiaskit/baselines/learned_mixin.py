"""LearnedMixin+H (Clark, Yatskar & Zettlemoyer, EMNLP 2019, Section 3.2.4 "Learned-Mixin +H").

A fixed bias-only model gives log-probabilities log b_i. The main model's log-probabilities log p_i
are combined with them in a product-of-experts whose bias weight is learned per sample:

    log p^_i = log softmax(log p_i + g(x_i) log b_i),   g(x_i) = softplus(w . h_i),

h_i being the main model's last hidden layer (``features``) and w a learned vector. "+H" adds the
entropy penalty R = w_H * H(softmax(g(x_i) log b_i)), so that g cannot simply switch the bias off.
Training minimises CE(log p^_i, y_i) + R; at test time only the main model is used.

As the draft's Appendix C says, the bias-only model is a network trained on the biased set itself
(LfF's argument: it learns the easy bias first). By default it is trained *jointly* with its own
cross-entropy (as in the ReBias code base the draft built on), its log-probabilities entering the
ensemble detached; a bias model that has already converged makes the ensemble fit every training
sample by itself, so the main model stops learning (measured: 21% majority accuracy on Colored MNIST).
Passing a trained ``biased_model`` gives Clark et al.'s original form: its outputs on the clean
training images are computed once and kept fixed.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from debiaskit.baselines.common import MethodResult, ModelFn, check_split, features_and_logits, log_probs_of
from debiaskit.baselines.registry import register
from debiaskit.core.augment import AugmentConfig
from debiaskit.core.splits import BiasedSplit
from debiaskit.core.training import TrainConfig, as_float_images, train


def learned_mixin_h_loss(logits: torch.Tensor, log_b: torch.Tensor, gate: torch.Tensor, y: torch.Tensor,
                         entropy_weight: float) -> torch.Tensor:
    """Mean LearnedMixin+H loss of a batch (Clark et al. 2019, Sec. 3.2.3-3.2.4).

    ``logits`` [B, C] of the main model, ``log_b`` [B, C] the bias model's log-probabilities, ``gate``
    [B] or [B, 1] the pre-softplus values w . h_i, ``entropy_weight`` w_H.
    """
    g = F.softplus(gate.reshape(-1, 1))
    scaled_bias = g * log_b
    ensemble = F.log_softmax(F.log_softmax(logits, dim=1) + scaled_bias, dim=1)
    nll = F.nll_loss(ensemble, y)
    log_q = F.log_softmax(scaled_bias, dim=1)
    entropy = -(log_q.exp() * log_q).sum(1).mean()
    return nll + entropy_weight * entropy


def make_gate(width: int, init: float | None) -> nn.Linear:
    """w . h_i (Clark et al.: no offset, random w) or, with ``init``, w = 0 plus an offset ``init``, so
    that g = softplus(init) starts near 0 and the main model first learns like a plain classifier."""
    if init is None:
        return nn.Linear(width, 1, bias=False)
    gate = nn.Linear(width, 1)
    nn.init.zeros_(gate.weight)
    nn.init.constant_(gate.bias, init)
    return gate


@register("learned_mixin", "LearnedMixinH", "Clark, Yatskar & Zettlemoyer, EMNLP 2019")
def fit(model_fn: ModelFn, train_split: BiasedSplit, cfg: TrainConfig, entropy_weight: float = 0.1,
        gate_init: float | None = None, biased_model: nn.Module | None = None, augment: AugmentConfig | None = AugmentConfig(),
        progress: bool = True) -> MethodResult:
    """Train LearnedMixin+H: jointly with a bias model (default), or against a fixed, already trained
    ``biased_model`` (Clark et al.'s form)."""
    check_split(train_split)
    main = model_fn()
    width = features_and_logits(main.eval(), as_float_images(train_split.x[:2]))[0].shape[1]
    with torch.random.fork_rng():  # a random gate drawn from cfg.seed, not from whatever ran before
        torch.manual_seed(cfg.seed)
        gate = make_gate(width, gate_init)
    nets = nn.ModuleDict({"main": main, "gate": gate})
    log_b_fixed = None
    if biased_model is not None:
        log_b_fixed = log_probs_of(biased_model, train_split.x)
    else:
        nets["bias"] = model_fn()

    def objective(m: nn.ModuleDict, x: torch.Tensor, y: torch.Tensor, idx: torch.Tensor) -> torch.Tensor:
        h, logits = features_and_logits(m["main"], x)
        if log_b_fixed is not None:
            return learned_mixin_h_loss(logits, log_b_fixed.to(x.device)[idx], m["gate"](h), y, entropy_weight)
        bias_logits = m["bias"](x)
        log_b = F.log_softmax(bias_logits, dim=1).detach()
        return learned_mixin_h_loss(logits, log_b, m["gate"](h), y, entropy_weight) + F.cross_entropy(bias_logits, y)

    res = train(nets, train_split, cfg, objective=objective, augment=augment, progress=progress, desc="LearnedMixin+H")
    bias = biased_model if biased_model is not None else nets["bias"].eval()
    return MethodResult("learned_mixin", nets["main"].eval(), res.history, {"biased": bias, "gate": nets["gate"]},
                        res.seconds)
