"""What the de-biased models learned (PGD draft, Appendix H): the random-colour test (Table 12), the
(target, bias) accuracy matrix (Figure 13) and class activation maps (Figure 15)."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from debiaskit.core.splits import BiasedSplit
from debiaskit.core.training import predict
from debiaskit.data.colored_mnist import colourise
from debiaskit.data.sources import load_mnist


def random_rgb_test(difficulty: float = 1e-4, seed: int = 0, root: str | None = None) -> BiasedSplit:
    """Table 12's test set: every MNIST test digit coloured with RGB ~ U(0, 1)^3 (then jittered by
    N(0, difficulty I) as every CM colour). ``bias`` is -1: no colour belongs to a class."""
    gray, y = load_mnist(train=False, root=root)
    gen = torch.Generator().manual_seed(seed)
    palette = torch.rand(len(y), 3, generator=gen)
    x = colourise(gray, torch.arange(len(y)), difficulty, gen, palette)
    return BiasedSplit(x, y.clone(), torch.full_like(y, -1), torch.zeros(len(y), dtype=torch.bool))


def accuracy(model: nn.Module, split: BiasedSplit) -> float:
    """Overall accuracy (%)."""
    return 100 * float((predict(model, split.x).argmax(1) == split.y).float().mean())


def class_activation_maps(model: nn.Module, x: torch.Tensor, target: torch.Tensor | None = None) -> torch.Tensor:
    """Grad-CAM (Selvaraju et al. 2017, the draft's Figure 15) of ``target`` (default: the predicted class)
    on the model's last feature maps, by captum's ``LayerGradCam`` on the layer that returns
    ``feature_maps``; upsampled to the input size and scaled to [0, 1] per image. For a network ending in
    global average pooling and one linear layer this is the CAM of Zhou et al. 2016 up to a positive factor."""
    from captum.attr import LayerAttribution, LayerGradCam

    layer = getattr(model, "body", None)
    if layer is None:
        raise TypeError(f"{type(model).__name__} has no .body layer producing its feature maps; pass a debiaskit model")
    model.eval()
    if target is None:
        with torch.no_grad():
            target = model(x).argmax(1)
    cam = LayerGradCam(model, layer).attribute(x, target=target, relu_attributions=True)
    cam = LayerAttribution.interpolate(cam, tuple(x.shape[-2:]), interpolate_mode="bilinear")[:, 0]
    top = cam.flatten(1).max(1).values.clamp(min=1e-12)
    return (cam / top[:, None, None]).detach()


def cam_reference(model: nn.Module, x: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """CAM by its definition, sum_k w_{c,k} A_k(x) (ReLU, upsampled, max-scaled): the slow path that
    :func:`class_activation_maps` is tested against."""
    with torch.no_grad():
        maps = model.feature_maps(x)
        weights = model.fc.weight[target]
        cam = F.relu(torch.einsum("nk,nkhw->nhw", weights, maps))
        cam = F.interpolate(cam[:, None], size=tuple(x.shape[-2:]), mode="bilinear", align_corners=False)[:, 0]
    return cam / cam.flatten(1).max(1).values.clamp(min=1e-12)[:, None, None]
