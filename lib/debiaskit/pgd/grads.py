"""Per-sample gradients with ``torch.func`` (functional_call + vmap(grad)) for any ``nn.Module``.

The draft's per-sample gradient is g_i = d L_CE(x_i, y_i; theta_b) / d theta (Section 4.1). It is
taken with the model in eval mode and its buffers passed to ``functional_call``, so BatchNorm uses
its running statistics and dropout is off: g_i depends on sample i alone, exactly what a loop of
single-sample backward passes in eval mode gives.
"""

from __future__ import annotations

from typing import Callable, Iterator

import torch
import torch.nn.functional as F
from torch import nn
from torch.func import functional_call, grad, vmap

from debiaskit.core.training import as_float_images
from debiaskit.pgd.params import ParamSelection, eval_mode, model_device, select_parameters

LossFn = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]
"""``loss_fn(logits [1, C], target [1]) -> scalar``: the loss of one sample."""


def sample_cross_entropy(logits: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """L_CE of one sample (the loss the draft differentiates, Section 4.1)."""
    return F.cross_entropy(logits, target)


def per_sample_grads(
    model: nn.Module,
    x: torch.Tensor,
    y: torch.Tensor,
    params: ParamSelection = "all",
    loss_fn: LossFn = sample_cross_entropy,
    chunk_size: int | None = None,
    flatten: bool = True,
) -> torch.Tensor | dict[str, torch.Tensor]:
    """Gradients of ``loss_fn`` for every sample of one batch, w.r.t. the selected parameters.

    Returns ``[B, d]`` (the selected parameters flattened and concatenated in ``named_parameters``
    order) or, with ``flatten=False``, a dict ``name -> [B, *shape]``. ``x``/``y`` must be on the
    model's device. ``chunk_size`` is passed to ``vmap`` (limits activation memory, not the output).
    The model's train/eval flags are restored afterwards.
    """
    if len(x) == 0:
        raise ValueError("per_sample_grads needs at least one sample, got an empty batch")
    if len(x) != len(y):
        raise ValueError(f"x and y differ in length: {len(x)} vs {len(y)}")
    names = select_parameters(model, params)
    chosen = set(names)
    named = dict(model.named_parameters())
    trainable = {n: named[n].detach() for n in names}
    frozen = {n: p.detach() for n, p in named.items() if n not in chosen}
    buffers = dict(model.named_buffers())

    def one_loss(theta: dict[str, torch.Tensor], xi: torch.Tensor, yi: torch.Tensor) -> torch.Tensor:
        out = functional_call(model, (theta, frozen, buffers), (xi.unsqueeze(0),))
        return loss_fn(out, yi.unsqueeze(0))

    with eval_mode(model):
        grads = vmap(grad(one_loss), in_dims=(None, 0, 0), chunk_size=chunk_size)(trainable, x, y)
    if not flatten:
        return grads
    return torch.cat([grads[n].reshape(len(x), -1) for n in names], dim=1)


def iter_per_sample_grads(
    model: nn.Module,
    x: torch.Tensor,
    y: torch.Tensor,
    params: ParamSelection = "all",
    batch_size: int = 512,
    loss_fn: LossFn = sample_cross_entropy,
    device: torch.device | str | None = None,
    chunk_size: int | None = None,
    flatten: bool = True,
) -> Iterator[tuple[slice, torch.Tensor | dict[str, torch.Tensor]]]:
    """Stream ``(rows, grads [len(rows), d])`` over a whole data set, ``batch_size`` samples at a time
    (with ``flatten=False`` the per-parameter dict, which saves the concatenation copy).

    ``x``/``y`` may live on the CPU; each chunk is moved to ``device`` (default: the model's). Only one
    chunk of gradients exists at a time: the caller reduces it (see :mod:`debiaskit.pgd.topk`).
    """
    if len(x) == 0:
        raise ValueError("cannot compute per-sample gradients of an empty data set")
    if batch_size < 1:
        raise ValueError(f"batch_size must be positive, got {batch_size}")
    dev = torch.device(device) if device is not None else model_device(model)
    for start in range(0, len(x), batch_size):
        rows = slice(start, min(start + batch_size, len(x)))
        xb = as_float_images(x[rows].to(dev, non_blocking=True))
        yb = y[rows].to(dev, non_blocking=True)
        yield rows, per_sample_grads(model, xb, yb, params, loss_fn, chunk_size, flatten)
