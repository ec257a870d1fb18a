"""Alternative sampling scores: the naive metrics of Appendix H and the published gradient norm.

Appendix H ("Other metrics") defines, over the whole training set, scores that are higher for
unfamiliar samples and sum to 1:

* softmax response  S_softmax(i) = (1 - s_y(x_i)) / sum_j (1 - s_y(x_j)),
* logit             S_logit(i) = (m - f_y(x_i)) / sum_j (m - f_y(x_j)), m = max_k f_{y_k}(x_k),
* loss              S_loss(i) = L(x_i, y_i) / sum_j L(x_j, y_j),

and samples with probability proportional to them. The published PGD (ICLR 2023) scores by the
p-norm of the last linear layer's weight gradient (p = 0.7 in the authors' code), in closed form
||softmax - onehot||_p * ||h||_p (:func:`debiaskit.pgd.closed_form.last_layer_grad_norms`).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from debiaskit.core.training import as_float_images
from debiaskit.pgd.closed_form import last_layer_grad_norms
from debiaskit.pgd.params import eval_mode, model_device

METRICS = ("softmax", "logit", "loss", "gradnorm")


@torch.no_grad()
def logits_of(model: nn.Module, x: torch.Tensor, batch_size: int = 2048, device=None) -> torch.Tensor:
    """Eval-mode logits [N, C] (float64, CPU), computed in batches."""
    if len(x) == 0:
        raise ValueError("cannot score an empty data set")
    dev = torch.device(device) if device is not None else model_device(model)
    with eval_mode(model):
        return torch.cat([model(as_float_images(chunk.to(dev))).double().cpu() for chunk in x.split(batch_size)])


@torch.no_grad()
def training_error(model: nn.Module, x: torch.Tensor, y: torch.Tensor, batch_size: int = 2048, device=None) -> float:
    """Share of (x, y) that ``model`` (eval mode) misclassifies: the biased model's error rate that
    ``sampling_probability(..., target_ess="auto")`` balances on (:mod:`debiaskit.pgd.probability`)."""
    if len(x) != len(y):
        raise ValueError(f"x and y differ in length: {len(x)} vs {len(y)}")
    return float((logits_of(model, x, batch_size, device).argmax(1) != y.cpu()).double().mean())


def _normalise(score: torch.Tensor) -> torch.Tensor:
    total = score.sum()
    if not total > 0:  # every sample fitted perfectly: no sample is unfamiliar, so sample uniformly
        return torch.full_like(score, 1.0 / len(score))
    return score / total


def softmax_scores(logits: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """S_softmax (Appendix H): 1 - softmax response of the label, normalised to sum 1."""
    s_y = torch.softmax(logits.double(), 1).gather(1, y.view(-1, 1)).squeeze(1)
    return _normalise(1.0 - s_y)


def logit_scores(logits: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """S_logit (Appendix H): max label logit over the set minus the label logit, normalised to sum 1."""
    f_y = logits.double().gather(1, y.view(-1, 1)).squeeze(1)
    return _normalise(f_y.max() - f_y)


def loss_scores(logits: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """S_loss (Appendix H): the cross-entropy of each sample, normalised to sum 1."""
    return _normalise(F.cross_entropy(logits.double(), y, reduction="none"))


def metric_scores(model: nn.Module, x: torch.Tensor, y: torch.Tensor, metric: str, p: float = 0.7,
                  batch_size: int = 2048, device=None) -> torch.Tensor:
    """Scores [N] (float64, CPU, non-negative) of ``metric`` in ``METRICS``; sample proportionally to them.
    ``"gradnorm"`` is the published variant's ||grad_W L_CE||_p (not normalised)."""
    if metric not in METRICS:
        raise ValueError(f"metric must be one of {METRICS}, got {metric!r}")
    if len(x) != len(y):
        raise ValueError(f"x and y differ in length: {len(x)} vs {len(y)}")
    if metric == "gradnorm":
        return last_layer_grad_norms(model, x, y, p=p, batch_size=batch_size, device=device)
    logits = logits_of(model, x, batch_size, device)
    y = y.cpu()
    return {"softmax": softmax_scores, "logit": logit_scores, "loss": loss_scores}[metric](logits, y)
