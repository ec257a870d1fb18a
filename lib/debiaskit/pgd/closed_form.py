"""Closed-form per-sample gradients of the last linear layer: one forward pass, no backward.

For logits z = W h + b and L = CE(z, y), dL/dz = softmax(z) - onehot(y) =: r, so
grad_W = r outer h and grad_b = r (REFERENCE.md; the published PGD's score uses grad_W only).
The p-norm of an outer product factorises: ||r outer h||_p = ||r||_p * ||h||_p, so the published
variant's gradient-norm score needs no gradient at all.
"""

from __future__ import annotations

import math
from typing import Iterator, Sequence

import torch
import torch.nn.functional as F
from torch import nn

from debiaskit.core.training import as_float_images
from debiaskit.pgd.params import eval_mode, last_linear, model_device


@torch.no_grad()
def features_and_logits(model: nn.Module, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """``(h, z)``: the input of the last linear layer [B, D] and the logits [B, C], in eval mode.

    ``h`` is captured with a forward hook, so any model works whose output *is* that layer's output;
    a model that transforms the logits afterwards is rejected (the closed form would be wrong).
    """
    _, layer = last_linear(model)
    seen: dict[str, torch.Tensor] = {}

    def hook(module: nn.Module, inputs: tuple[torch.Tensor, ...], output: torch.Tensor) -> None:
        seen["h"], seen["z"] = inputs[0], output

    handle = layer.register_forward_hook(hook)
    try:
        with eval_mode(model):
            out = model(x)
    finally:
        handle.remove()
    if "h" not in seen:
        raise ValueError("the last linear layer was not called in forward(); the closed form does not apply")
    h, z = seen["h"], seen["z"]
    if h.dim() != 2 or (out is not z and not torch.equal(out, z)):
        raise ValueError("the model's output is not the last linear layer's output on [B, D] features (e.g. it ends "
                         "in log_softmax), so the closed form of the last-layer gradients does not apply (nor the published "
                         "gradient-norm score): score with GradientScore(method='vmap') (per-sample gradients "
                         "through torch.func; in debias: preset=pgd_settings('draft', method='vmap')), or pass "
                         "method='vmap' to topk_per_sample_grads")
    return h, z


def logit_residual(z: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """r = softmax(z) - onehot(y) = dL_CE/dz, per sample [B, C]."""
    return torch.softmax(z, dim=1) - F.one_hot(y, z.shape[1]).to(z.dtype)


def outer_grads(r: torch.Tensor, h: torch.Tensor, parts: Sequence[str] = ("weight", "bias")) -> torch.Tensor:
    """Flattened per-sample gradients [B, d] of the parts of an ``nn.Linear`` in ``named_parameters``
    order: grad_W = r outer h (row-major, C*D entries), then grad_b = r (C entries)."""
    blocks = []
    for part in parts:
        if part == "weight":
            blocks.append((r.unsqueeze(2) * h.unsqueeze(1)).reshape(len(r), -1))
        elif part == "bias":
            blocks.append(r)
        else:
            raise ValueError(f"an nn.Linear has 'weight' and 'bias', not {part!r}")
    return torch.cat(blocks, dim=1)


def linear_parts(model: nn.Module, names: Sequence[str]) -> list[str] | None:
    """The parts (``"weight"``/``"bias"``) of the last linear layer that ``names`` select, in order, or
    ``None`` when ``names`` include anything else (then the closed form does not apply)."""
    prefix, layer = last_linear(model)
    lead = f"{prefix}." if prefix else ""
    own = {f"{lead}{n}": n for n, _ in layer.named_parameters(recurse=False)}
    if not names or any(n not in own for n in names):
        return None
    return [own[n] for n in names]


def last_layer_grads(model: nn.Module, x: torch.Tensor, y: torch.Tensor,
                     parts: Sequence[str] = ("weight", "bias")) -> torch.Tensor:
    """Closed-form per-sample gradients [B, d] of L_CE w.r.t. the last linear layer (one batch, on the
    model's device); equal to ``per_sample_grads(model, x, y, "last_linear")`` when the layer has a bias."""
    if len(x) == 0:
        raise ValueError("last_layer_grads needs at least one sample, got an empty batch")
    _, layer = last_linear(model)
    if "bias" in parts and layer.bias is None:
        parts = [p for p in parts if p != "bias"]
    h, z = features_and_logits(model, x)
    return outer_grads(logit_residual(z, y), h, parts)


def iter_last_layer_grads(model: nn.Module, x: torch.Tensor, y: torch.Tensor, parts: Sequence[str],
                          batch_size: int = 4096, device: torch.device | str | None = None
                          ) -> Iterator[tuple[slice, torch.Tensor]]:
    """Stream ``(rows, grads)`` of :func:`last_layer_grads` over a data set held on any device."""
    if len(x) == 0:
        raise ValueError("cannot compute per-sample gradients of an empty data set")
    dev = torch.device(device) if device is not None else model_device(model)
    for start in range(0, len(x), batch_size):
        rows = slice(start, min(start + batch_size, len(x)))
        yield rows, last_layer_grads(model, as_float_images(x[rows].to(dev)), y[rows].to(dev), parts)


def _pnorm(v: torch.Tensor, p: float) -> torch.Tensor:
    return torch.linalg.vector_norm(v, ord=p, dim=1)


@torch.no_grad()
def last_layer_grad_norms(model: nn.Module, x: torch.Tensor, y: torch.Tensor, p: float = 0.7,
                          include_bias: bool = False, batch_size: int = 4096,
                          device: torch.device | str | None = None) -> torch.Tensor:
    """||grad_W L_CE(x_i, y_i)||_p for every sample [N] (float64, on the CPU), without a backward pass.

    Uses ||r outer h||_p = ||r||_p ||h||_p; with ``include_bias`` the bias block is added,
    (||r||_p^p (||h||_p^p + 1))^(1/p) (for p = inf: ||r||_inf max(||h||_inf, 1)). ``p`` may be below 1
    (the published code's default 0.7 is a quasi-norm; the factorisation still holds).
    """
    if not p > 0:
        raise ValueError(f"p must be positive, got {p}")
    if len(x) == 0:
        raise ValueError("cannot score an empty data set")
    dev = torch.device(device) if device is not None else model_device(model)
    out = []
    for start in range(0, len(x), batch_size):
        h, z = features_and_logits(model, as_float_images(x[start:start + batch_size].to(dev)))
        r = logit_residual(z, y[start:start + batch_size].to(dev))
        r, h = r.double(), h.double()
        rn, hn = _pnorm(r, p), _pnorm(h, p)
        if not include_bias:
            norm = rn * hn
        elif math.isinf(p):
            norm = rn * hn.clamp(min=1.0)
        else:
            norm = rn * (hn**p + 1.0) ** (1.0 / p)
        out.append(norm.cpu())
    return torch.cat(out)
