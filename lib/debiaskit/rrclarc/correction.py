"""RR-ClArC and the baselines it is compared with: Vanilla fine-tuning, A-ClArC, P-ClArC and RRR.

RR-ClArC (Right Reason ClArC, the paper's Section 3.3) fine-tunes a model with::

    L = CE + lambda * L_RR,    L_RR = mean over the batch of ( grad_a[ m . f(a) ] . h )^2,

where ``a`` is the latent activation of a chosen layer, ``f(a)`` the logits computed from it, ``m``
selects a logit-based scalar (see :func:`logit_scalar`), and ``h`` the artifact's CAV. For
convolutional layers the gradient is averaged over space before the projection (authors' code).
The gradient is taken with :func:`torch.func.grad`, whose result stays differentiable with respect to
the model's parameters, so the penalty trains end to end.

Every objective has the signature ``objective(model, x, y, idx) -> loss`` of
:func:`debiaskit.core.training.train`. ``layer=None`` means the model's input *is* the latent activation
(a :class:`~debiaskit.rrclarc.latent.LatentHead` trained on stored feature maps, the fast path when
only the linear head is fine-tuned, as in the authors' code); a layer name means images are fed to
the whole model and the activation is taken with hooks. The networks run in eval mode: BatchNorm
statistics and dropout of the frozen layers stay fixed.
"""

from __future__ import annotations

import copy
import dataclasses
from typing import Callable

import torch
import torch.nn.functional as F
from torch import nn

from debiaskit.core.splits import BiasedSplit
from debiaskit.core.training import TrainConfig, train
from debiaskit.rrclarc.latent import Head, forward_with_latent, image_head, replaced_output

SCALARS = ("target", "class", "random_signs", "max", "log_prob")


def logit_scalar(logits: torch.Tensor, kind: str, y: torch.Tensor | None = None, class_index: int | None = None,
                 signs: torch.Tensor | None = None) -> torch.Tensor:
    """Per-sample scalar ``m . f(a)`` whose latent gradient RR-ClArC penalises (Section 3.3):

    * ``target``: the logit of the sample's label ``y``;
    * ``class``: the logit of ``class_index`` (the class-specific variant: the biased class);
    * ``random_signs``: the sum of all logits with random signs ``signs`` [N, K] in {-1, +1};
    * ``max``: the largest logit;
    * ``log_prob``: the log-probability of the label ``y``.
    """
    if kind == "target":
        if y is None:
            raise ValueError("scalar 'target' needs the labels y")
        return logits.gather(1, y[:, None]).squeeze(1)
    if kind == "class":
        if class_index is None:
            raise ValueError("scalar 'class' (class-specific RR-ClArC) needs class_index, the biased class")
        return logits[:, class_index]
    if kind == "random_signs":
        if signs is None or signs.shape != logits.shape:
            raise ValueError(f"scalar 'random_signs' needs signs of shape {tuple(logits.shape)}")
        return (signs.to(logits.dtype) * logits).sum(1)
    if kind == "max":
        return logits.max(1).values
    if kind == "log_prob":
        if y is None:
            raise ValueError("scalar 'log_prob' needs the labels y")
        return F.log_softmax(logits, 1).gather(1, y[:, None]).squeeze(1)
    raise ValueError(f"unknown scalar {kind!r}; choose one of {SCALARS}")


def random_signs(shape: tuple[int, int], generator: torch.Generator | None = None) -> torch.Tensor:
    """A [N, K] matrix of independent random signs (+1/-1)."""
    return torch.randint(0, 2, shape, generator=generator).mul(2).sub(1)


def latent_gradient(head: Head, a: torch.Tensor, kind: str, y: torch.Tensor | None = None,
                    class_index: int | None = None, signs: torch.Tensor | None = None) -> torch.Tensor:
    """Per-sample gradient [N, C] of :func:`logit_scalar` with respect to the latent activation ``a``,
    averaged over space for ``[N, C, *spatial]`` activations (samples are independent in eval mode, so
    the gradient of the batch sum is the per-sample gradient)."""
    grad = torch.func.grad(lambda a_: logit_scalar(head(a_), kind, y, class_index, signs).sum())(a)
    return grad.flatten(2).mean(2) if grad.dim() > 2 else grad


def rr_penalty(head: Head, a: torch.Tensor, cav: torch.Tensor, kind: str = "random_signs",
               y: torch.Tensor | None = None, class_index: int | None = None,
               signs: torch.Tensor | None = None) -> torch.Tensor:
    """L_RR = mean over the batch of (grad_a[m . f(a)] . h)^2 (Section 3.3)."""
    g = latent_gradient(head, a, kind, y, class_index, signs)
    return (g @ cav.to(g.dtype)).pow(2).mean()


def _latent_and_head(model: nn.Module, x: torch.Tensor, layer: str | None) -> tuple[torch.Tensor, Head]:
    if layer is None:
        return x, model
    a, _ = forward_with_latent(model, layer, x)
    return a, image_head(model, layer, x)


def rr_clarc_objective(cav: torch.Tensor, lam: float, kind: str = "random_signs", class_index: int | None = None,
                       layer: str | None = None, seed: int = 0) -> Callable:
    """The RR-ClArC loss CE + ``lam`` * L_RR as a training objective (Section 3.3).

    ``kind="class"`` with the biased ``class_index`` is the class-specific variant. Random signs are
    drawn from a generator seeded with ``seed``.
    """
    gen = torch.Generator().manual_seed(seed)

    def objective(model: nn.Module, x: torch.Tensor, y: torch.Tensor, idx: torch.Tensor) -> torch.Tensor:
        model.eval()
        a, head = _latent_and_head(model, x, layer)
        logits = head(a)
        signs = random_signs(tuple(logits.shape), gen).to(logits.device) if kind == "random_signs" else None
        penalty = rr_penalty(head, a, cav.to(a.device), kind, y, class_index, signs)
        return F.cross_entropy(logits, y) + lam * penalty

    return objective


def vanilla_objective(layer: str | None = None) -> Callable:
    """Plain fine-tuning with cross-entropy (the paper's 'Vanilla' baseline)."""

    def objective(model: nn.Module, x: torch.Tensor, y: torch.Tensor, idx: torch.Tensor) -> torch.Tensor:
        model.eval()
        return F.cross_entropy(model(x), y)

    return objective


def projection_length(a: torch.Tensor, cav: torch.Tensor) -> torch.Tensor:
    """``h . a`` per sample [N] (for ``[N, C, *spatial]``, per location ``[N, *spatial]``)."""
    h = cav.to(a.dtype)
    return torch.einsum("nc...,c->n...", a, h)


def shift_along(a: torch.Tensor, cav: torch.Tensor, z: float) -> torch.Tensor:
    """Move ``a`` along ``h`` so that its projection on ``h`` equals ``z``: a + (z - h.a) h, applied at
    every spatial location (the ClArC 'concept shift', Anders et al. 2022)."""
    h = cav.to(a.dtype).view(1, -1, *([1] * (a.dim() - 2)))
    return a + (z - projection_length(a, cav)).unsqueeze(1) * h


def concept_level(a: torch.Tensor, cav: torch.Tensor) -> float:
    """Mean projection on ``h`` of activations ``a`` (averaged over space too): the ``z`` that
    A-ClArC (artifact samples) and P-ClArC (clean samples) shift to."""
    z = projection_length(a, cav)
    return float(z.flatten(1).mean(1).mean() if z.dim() > 1 else z.mean())


def a_clarc_objective(cav: torch.Tensor, z_artifact: float, layer: str | None = None) -> Callable:
    """A-ClArC: fine-tune with every sample's activation shifted to the artifact's level ``z_artifact``
    along ``h``, so the artifact no longer tells the classes apart; tested without the shift."""

    def objective(model: nn.Module, x: torch.Tensor, y: torch.Tensor, idx: torch.Tensor) -> torch.Tensor:
        model.eval()
        if layer is None:
            return F.cross_entropy(model(shift_along(x, cav.to(x.device), z_artifact)), y)
        with replaced_output(model, layer, lambda out: shift_along(out, cav.to(out.device), z_artifact)):
            return F.cross_entropy(model(x), y)

    return objective


class LatentEdit(nn.Module):
    """``model`` with the output ``a`` of ``layer`` replaced by ``edit(a)`` in every forward pass."""

    def __init__(self, model: nn.Module, layer: str, edit: Callable[[torch.Tensor], torch.Tensor]) -> None:
        super().__init__()
        self.model, self.layer, self.edit = model, layer, edit

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        with replaced_output(self.model, self.layer, self.edit):
            return self.model(x)


def p_clarc(model: nn.Module, layer: str, cav: torch.Tensor, z_clean: float) -> LatentEdit:
    """P-ClArC: no training; at test time project the artifact out of ``layer``'s activations by
    shifting them along ``h`` to the clean samples' level ``z_clean``."""
    return LatentEdit(model, layer, lambda a: shift_along(a, cav.to(a.device), z_clean))


def input_gradient(model: nn.Module, x: torch.Tensor) -> torch.Tensor:
    """Gradient of the summed log-probabilities with respect to the input, kept differentiable (RRR)."""
    x = x.detach().requires_grad_(True)
    logp = F.log_softmax(model(x), 1)
    (grad,) = torch.autograd.grad(logp.sum(), x, create_graph=True)
    return grad


def rrr_objective(masks: torch.Tensor, lam: float) -> Callable:
    """RRR, "Right for the Right Reasons" (Ross et al. 2017): CE + ``lam`` * sum over the batch of the
    squared input gradient of the summed log-probabilities inside the artifact mask, per sample.

    ``masks`` [N, H, W] (bool or float) is indexed by the training sample index ``idx``; samples
    without the artifact have an empty mask.
    """

    def objective(model: nn.Module, x: torch.Tensor, y: torch.Tensor, idx: torch.Tensor) -> torch.Tensor:
        model.eval()
        m = masks[idx.cpu()].to(x.device, x.dtype).unsqueeze(1)
        loss = F.cross_entropy(model(x), y)
        annotated = m.flatten(1).any(1)  # the penalty is zero elsewhere: skip the double backward there
        if bool(annotated.any()):
            grad = input_gradient(model, x[annotated])
            loss = loss + lam * (m[annotated] * grad).pow(2).sum() / len(x)
        return loss

    return objective


def freeze_all_but_linear(model: nn.Module) -> list[str]:
    """Make only ``nn.Linear`` parameters trainable (the authors fine-tune the dense layers); returns
    the names of the trainable parameters."""
    linear = {id(p) for m in model.modules() if isinstance(m, nn.Linear) for p in m.parameters()}
    names = []
    for name, p in model.named_parameters():
        p.requires_grad_(id(p) in linear)
        if id(p) in linear:
            names.append(name)
    if not names:
        raise ValueError(f"{type(model).__name__} has no nn.Linear layer to fine-tune")
    return names


def finetune(model: nn.Module, data: BiasedSplit, objective: Callable, cfg: TrainConfig, on_latents: bool = False,
             progress: bool = False, desc: str = "fine-tune") -> nn.Module:
    """A fine-tuned copy of ``model``: only its linear layers train, with ``objective``.

    ``on_latents=True``: ``data.x`` holds stored feature maps and the model's head
    (:class:`~debiaskit.rrclarc.latent.LatentHead`) is trained on them; else ``data.x`` holds images.
    """
    from debiaskit.rrclarc.latent import LatentHead

    tuned = copy.deepcopy(model)
    freeze_all_but_linear(tuned)
    target = LatentHead(tuned) if on_latents else tuned
    frozen_bn = dataclasses.replace(cfg, precise_bn=False)  # only the linear layers train: BatchNorm stays as it was
    train(target, data, frozen_bn, objective=objective, augment=None, progress=progress, desc=desc)
    tuned.eval()
    return tuned
