"""Latent activations of a named layer, pooled over space, and the network "above" that layer.

Any module name of ``model.named_modules()`` works (forward hooks). For the package's models, whose
last convolutional output is globally average-pooled into one linear layer ``fc``, the part of the
network above that output is just ``fc(mean over space)``: :func:`latent_head` returns it so that
methods fine-tuning the linear head can work on stored activations instead of images.
"""

from __future__ import annotations

from contextlib import contextmanager
from typing import Callable, Iterator

import torch
from torch import nn
from tqdm.auto import tqdm

POOLS = ("max", "mean", "none")
Head = Callable[[torch.Tensor], torch.Tensor]


def find_layer(model: nn.Module, name: str) -> nn.Module:
    """The sub-module called ``name``; a clear error listing the choices when there is none."""
    modules = dict(model.named_modules())
    if name not in modules or name == "":
        names = [n for n in modules if n]
        shown = ", ".join(names[:25]) + (", ..." if len(names) > 25 else "")
        raise ValueError(f"{type(model).__name__} has no layer {name!r}; its layers are: {shown} "
                         f"(see model.named_modules())")
    return modules[name]


def feature_maps_layer(model: nn.Module) -> str | None:
    """Name of the layer whose output is ``model.feature_maps(x)`` (the input of the global pool and
    ``fc``) for the package's models, else ``None``."""
    from debiaskit.core.models import ResNetWithFeatures, SimpleConvNet

    if isinstance(model, SimpleConvNet):
        return "body"
    if isinstance(model, ResNetWithFeatures):
        return "net.layer4"
    return None


def pool_space(a: torch.Tensor, pool: str) -> torch.Tensor:
    """Pool activations ``[N, C, *spatial]`` over space to [N, C] (``max`` as in the authors' code, or
    ``mean``); ``none`` or already-flat activations pass through flattened to [N, D]."""
    if pool not in POOLS:
        raise ValueError(f"pool must be one of {POOLS}, got {pool!r}")
    if a.dim() <= 2 or pool == "none":
        return a.flatten(1)
    flat = a.flatten(2)
    return flat.amax(2) if pool == "max" else flat.mean(2)


@contextmanager
def capture(model: nn.Module, layer: str) -> Iterator[list[torch.Tensor]]:
    """Within the block, every forward pass appends ``layer``'s output to the yielded list."""
    store: list[torch.Tensor] = []
    handle = find_layer(model, layer).register_forward_hook(lambda m, i, out: store.append(out))
    try:
        yield store
    finally:
        handle.remove()


@contextmanager
def replaced_output(model: nn.Module, layer: str, fn: Callable[[torch.Tensor], torch.Tensor]) -> Iterator[None]:
    """Within the block, ``layer``'s output ``a`` is replaced by ``fn(a)`` in every forward pass."""
    handle = find_layer(model, layer).register_forward_hook(lambda m, i, out: fn(out))
    try:
        yield
    finally:
        handle.remove()


def forward_with_latent(model: nn.Module, layer: str, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """``(activation of layer, logits)`` from one forward pass of ``x``."""
    with capture(model, layer) as store:
        logits = model(x)
    return store[-1], logits


def latent_activations(model: nn.Module, x: torch.Tensor, layer: str, pool: str = "max", batch_size: int = 512,
                       progress: bool = False) -> torch.Tensor:
    """Activations of ``layer`` for every image in ``x`` (eval mode, no gradients), pooled over
    space with ``pool`` (``max``, ``mean`` or ``none`` to keep the maps); returned on the CPU."""
    find_layer(model, layer)
    device = next(model.parameters()).device
    was_training = model.training
    model.eval()
    out = []
    with torch.no_grad(), capture(model, layer) as store:
        for chunk in tqdm(x.split(batch_size), desc=f"activations {layer}", disable=not progress, leave=False):
            store.clear()
            model(chunk.to(device))
            out.append(pool_space(store[-1], pool).float().cpu() if pool != "none" else store[-1].float().cpu())
    model.train(was_training)
    return torch.cat(out)


def latent_head(model: nn.Module, layer: str) -> Head | None:
    """The function ``a -> logits`` of the network above ``layer``, when it is known in closed form
    (global average pool then ``fc`` for the package's models); ``None`` otherwise."""
    if layer != feature_maps_layer(model):
        return None
    return lambda a: model.fc(a.flatten(2).mean(2) if a.dim() > 2 else a)


def image_head(model: nn.Module, layer: str, x: torch.Tensor) -> Head:
    """The function ``a -> logits`` that runs ``model`` on ``x`` with ``layer``'s output replaced by
    ``a``: works for any layer (the layers below are recomputed and ignored)."""
    find_layer(model, layer)

    def head(a: torch.Tensor) -> torch.Tensor:
        with replaced_output(model, layer, lambda out: a):
            return model(x)

    return head


class LatentHead(nn.Module):
    """The part of ``model`` above its feature maps as a module taking stored feature maps.

    It shares ``model.fc``: training it fine-tunes ``model`` in place (the only trainable layer
    above the feature maps of the package's models).
    """

    def __init__(self, model: nn.Module) -> None:
        super().__init__()
        layer = feature_maps_layer(model)
        if layer is None:
            raise TypeError(f"{type(model).__name__} has no known head; fine-tune it on images instead")
        self.fc = model.fc
        self.layer = layer

    def forward(self, a: torch.Tensor) -> torch.Tensor:
        return self.fc(a.flatten(2).mean(2) if a.dim() > 2 else a)
