"""How much a model still uses the artifact: accuracies, TCAV, and attribution inside the artifact.

* accuracy on the *clean*, *as-trained* and *attacked* test sets (Section 4, Table 2 of the paper);
* TCAV score (Kim et al. 2018): share of samples whose biased-class logit increases along ``h``;
  TCAV sensitivity (authors' code): mean ``|grad_a f_c . h|``, the quantity RR-ClArC drives to zero;
* R_bias: the share of the absolute input attribution that falls inside the artifact mask.
"""

from __future__ import annotations

from typing import Callable

import torch
from torch import nn

from debiaskit.rrclarc.correction import latent_gradient
from debiaskit.rrclarc.latent import Head, forward_with_latent, image_head

ATTRIBUTIONS = ("input_x_gradient", "integrated_gradients", "saliency")


@torch.no_grad()
def accuracy(model: Callable[[torch.Tensor], torch.Tensor], x: torch.Tensor, y: torch.Tensor,
             batch_size: int = 1024) -> float:
    """Accuracy in percent of ``model`` (a module or any ``inputs -> logits`` callable, e.g. a head
    on stored feature maps) on ``x``."""
    if isinstance(model, nn.Module):
        model.eval()
    correct = torch.cat([model(xb).argmax(1).cpu() == yb for xb, yb in zip(x.split(batch_size), y.split(batch_size))])
    return 100 * float(correct.float().mean())


def tcav(head_or_model: Head | nn.Module, inputs: torch.Tensor, cav: torch.Tensor, class_index: int,
         layer: str | None = None, batch_size: int = 512) -> dict[str, float]:
    """TCAV score (percent of samples with ``grad_a f_c . h > 0``) and TCAV sensitivity (mean ``|grad_a f_c . h|``)
    for class ``class_index``; the gradient is averaged over space as in the RR loss.

    ``layer=None``: ``inputs`` are latent activations and ``head_or_model`` maps them to logits;
    else ``inputs`` are images and the gradient is taken at ``layer`` of the model.
    """
    projections = []
    for xb in inputs.split(batch_size):
        if layer is None:
            a, head = xb, head_or_model
        else:
            with torch.no_grad():
                a, _ = forward_with_latent(head_or_model, layer, xb)
            head = image_head(head_or_model, layer, xb)
        g = latent_gradient(head, a.detach(), "class", class_index=class_index)
        projections.append((g @ cav.to(g.dtype)).detach().cpu())
    p = torch.cat(projections)
    return {"score": 100 * float((p > 0).float().mean()), "sensitivity": float(p.abs().mean())}


def attributions(model: nn.Module, x: torch.Tensor, target: int | torch.Tensor, method: str = "input_x_gradient",
                 batch_size: int = 256) -> torch.Tensor:
    """Input attributions [N, H, W] for the logit ``target`` via Captum, summed over channels."""
    from captum.attr import InputXGradient, IntegratedGradients, Saliency

    makers = {"input_x_gradient": InputXGradient, "integrated_gradients": IntegratedGradients, "saliency": Saliency}
    if method not in makers:
        raise ValueError(f"attribution method must be one of {ATTRIBUTIONS}, got {method!r}")
    model.eval()
    explainer = makers[method](model)
    target = torch.as_tensor(target)
    out = []
    for i, xb in enumerate(x.split(batch_size)):
        tb = target if target.dim() == 0 else target[i * batch_size:(i + 1) * batch_size]
        attr = explainer.attribute(xb.clone().requires_grad_(True), target=tb.tolist() if tb.dim() else int(tb))
        out.append(attr.detach().sum(1).cpu())
    return torch.cat(out)


def r_bias(attr: torch.Tensor, mask: torch.Tensor) -> float:
    """R_bias: mean over samples of ``sum_{mask} |R| / sum |R|`` (in percent) for attributions [N, H, W]."""
    if attr.shape[-2:] != mask.shape[-2:]:
        raise ValueError(f"mask {tuple(mask.shape)} does not match attributions {tuple(attr.shape)}")
    r = attr.abs().flatten(1)
    inside = (r * mask.flatten().to(r.dtype)).sum(1)
    total = r.sum(1).clamp_min(1e-12)
    return 100 * float((inside / total).mean())
