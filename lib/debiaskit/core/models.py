"""Networks of the PGD draft (Appendix A.1, Figure 9) and torchvision's ResNet-18.

Every model exposes ``features(x) -> [N, D]`` (the input of the last linear layer) and that layer
as ``fc``, so per-sample gradients of the last layer, CAMs and latent-space methods find them.
"""

from __future__ import annotations

from contextlib import contextmanager
from pathlib import Path
from typing import Callable, Iterator

import torch
from torch import nn

MaskSource = Callable[[torch.Size, int, torch.device], torch.Tensor]


def draw_keep_mask(shape: torch.Size, threshold: int, device: torch.device,
                   generator: torch.Generator | None = None) -> torch.Tensor:
    """:class:`Dropout`'s keep mask for an input of ``shape``: 15-bit integers, four per 64-bit word of
    ``generator`` (torch's global one by default), kept where they reach ``threshold``."""
    n = shape.numel()
    # torch's int64 random_() is uniform on [0, 2^63): each 16-bit lane has 15 uniform low bits
    bits = torch.empty((n + 3) // 4, dtype=torch.int64, device=device).random_(generator=generator)
    return (bits.view(torch.int16)[:n] & 0x7FFF).view(shape) >= threshold


_mask_sources: list[MaskSource] = []


@contextmanager
def dropout_masks(source: MaskSource) -> Iterator[None]:
    """Within the block, every :class:`Dropout` takes its keep mask from ``source(shape, threshold, device)``
    instead of drawing it: packed training (:mod:`debiaskit.core.packing`) hands each of several vmapped models
    the masks its own generator would have drawn."""
    _mask_sources.append(source)
    try:
        yield
    finally:
        _mask_sources.pop()


class Dropout(nn.Module):
    """Inverted dropout (Srivastava et al. 2014; the draft's Appendix A.1 regularisation) whose keep mask
    comes from 15-bit integers, four per 64-bit draw of torch's generator.

    Same semantics as ``nn.Dropout`` (train mode: zero each element with probability p, scale the rest by
    1 / (1 - p); eval mode: identity), but on a CPU ``nn.Dropout``'s ``bernoulli_`` costs ~11 ns per
    element, a quarter of a Simple ConvNet-1 training step; one ``random_`` per four elements costs ~2
    (benchmarks/training_step.py). The mask is applied as one float tensor holding the scale, so forward
    and backward are one multiplication each. p is rounded to a multiple of 2^-15 (0.1 -> 0.100006).
    """

    def __init__(self, p: float = 0.1) -> None:
        super().__init__()
        if not 0 <= p < 1:
            raise ValueError(f"dropout probability must be in [0, 1), got {p}")
        self.threshold = round(p * 2 ** 15)
        self.p = self.threshold / 2 ** 15

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if not self.training or self.threshold == 0:
            return x
        keep = (_mask_sources[-1] if _mask_sources else draw_keep_mask)(x.shape, self.threshold, x.device)
        # one float mask holding the scale: x * mask is x * keep * scale exactly, in one pass (and backward)
        scale = torch.full((), 1.0 / (1.0 - self.p), dtype=x.dtype, device=x.device)
        return x * torch.where(keep, scale, 0.0)

    def extra_repr(self) -> str:
        return f"p={self.p:g}"


def _block(c_in: int, c_out: int, kernel: int, dropout: float) -> list[nn.Module]:
    return [nn.Conv2d(c_in, c_out, kernel, padding=kernel // 2), nn.BatchNorm2d(c_out), nn.ReLU(inplace=True),
            Dropout(dropout)]


class SimpleConvNet(nn.Module):
    """Conv blocks (conv -> BatchNorm -> ReLU -> dropout) with 2x2 average pooling between them,
    global average pooling and one linear layer ``fc``."""

    def __init__(self, in_channels: int, num_classes: int, channels: list[int], kernels: list[int],
                 dropout: float = 0.1) -> None:
        super().__init__()
        layers: list[nn.Module] = []
        c_in = in_channels
        for i, (c_out, k) in enumerate(zip(channels, kernels)):
            if i:
                layers.append(nn.AvgPool2d(2))
            layers += _block(c_in, c_out, k, dropout)
            c_in = c_out
        self.body = nn.Sequential(*layers)
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(c_in, num_classes)

    def feature_maps(self, x: torch.Tensor) -> torch.Tensor:
        """The last convolutional activations [N, C, h, w] (for CAMs)."""
        return self.body(x)

    def features(self, x: torch.Tensor) -> torch.Tensor:
        return self.pool(self.body(x)).flatten(1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc(self.features(x))


def simple_convnet1(in_channels: int = 3, num_classes: int = 10, dropout: float = 0.1) -> SimpleConvNet:
    """Simple ConvNet-1 (PGD draft, Figure 9a): three 4x4 convolutions with 8, 32 and 64 filters,
    2x2 average pooling, global average pooling, a 64 -> classes linear layer (the authors' code's
    last layer is 10 x 64). Used for Colored and Watermarked MNIST."""
    return SimpleConvNet(in_channels, num_classes, [8, 32, 64], [4, 4, 4], dropout)


def simple_convnet2(in_channels: int = 3, num_classes: int = 4, dropout: float = 0.1) -> SimpleConvNet:
    """Simple ConvNet-2 (PGD draft, Figure 9b): five convolutions with kernel sizes [6, 6, 5, 5, 4]
    and 8, 16, 16, 32, 32 filters, 2x2 average pooling between them. Used for Cartoon."""
    return SimpleConvNet(in_channels, num_classes, [8, 16, 16, 32, 32], [6, 6, 5, 5, 4], dropout)


IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)


class PretrainedWeightsUnavailable(RuntimeError):
    """ImageNet weights were asked for but are neither in torch's cache nor downloadable."""


def resnet18_checkpoint() -> Path:
    """Where torch's hub cache keeps torchvision's ``ResNet18_Weights.IMAGENET1K_V1`` file."""
    from torchvision.models import ResNet18_Weights

    return Path(torch.hub.get_dir()) / "checkpoints" / ResNet18_Weights.IMAGENET1K_V1.url.rsplit("/", 1)[-1]


def resnet18_weights_cached() -> bool:
    """Whether torchvision's ``ResNet18_Weights.IMAGENET1K_V1`` file is already in torch's hub cache."""
    return resnet18_checkpoint().is_file()


class ResNetWithFeatures(nn.Module):
    """torchvision's ResNet-18 with ``features``/``fc`` split out. With ImageNet weights the input, images in
    [0, 1], is first normalised by ImageNet's channel mean and std, as the weights expect."""

    def __init__(self, num_classes: int, pretrained: bool = False) -> None:
        super().__init__()
        from torchvision.models import ResNet18_Weights, resnet18

        weights = ResNet18_Weights.IMAGENET1K_V1 if pretrained else None
        try:
            net = resnet18(weights=weights)
        except (OSError, RuntimeError) as err:  # offline (URLError is an OSError) or a truncated download
            if weights is None:
                raise
            target = resnet18_checkpoint()
            if target.is_file():
                raise PretrainedWeightsUnavailable(
                    f"the ImageNet-pretrained ResNet-18 weights in torch's cache, {target}, cannot be read ({err}); the "
                    f"file is corrupted: delete it and run again (online) or download {weights.url} there.") from err
            raise PretrainedWeightsUnavailable(
                f"ImageNet-pretrained ResNet-18 weights are not in torch's cache and could not be downloaded ({err}). "
                f"Download {weights.url} to {target} (or run once online), or build the network with "
                f"pretrained=False to train from scratch.") from err
        self.fc = nn.Linear(net.fc.in_features, num_classes)
        net.fc = nn.Identity()
        self.net = net
        self.pretrained = pretrained
        # constants, not state: both kinds of network have the same state_dict keys
        self.register_buffer("mean", torch.tensor(IMAGENET_MEAN).view(1, 3, 1, 1), persistent=False)
        self.register_buffer("std", torch.tensor(IMAGENET_STD).view(1, 3, 1, 1), persistent=False)

    def extra_repr(self) -> str:
        # part of the model caches' keys (repr(model_fn())): pretrained and from-scratch runs never share an entry
        return f"pretrained={self.pretrained}"

    def _input(self, x: torch.Tensor) -> torch.Tensor:
        return (x - self.mean) / self.std if self.pretrained else x

    def feature_maps(self, x: torch.Tensor) -> torch.Tensor:
        n = self.net
        x = n.maxpool(n.relu(n.bn1(n.conv1(self._input(x)))))
        return n.layer4(n.layer3(n.layer2(n.layer1(x))))

    def features(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(self._input(x))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc(self.features(x))


def resnet18(num_classes: int, pretrained: bool = False) -> ResNetWithFeatures:
    """ResNet-18 (He et al. 2016) for the real-world benchmarks (PGD draft, Appendix A.1: "pre-trained
    ResNet-18 provided by Pytorch torchvision, without freezing feature extractor"); ``pretrained`` loads
    ImageNet weights through torchvision (downloaded the first time; offline without them:
    :class:`PretrainedWeightsUnavailable`)."""
    return ResNetWithFeatures(num_classes, pretrained)


MODELS = {"simple_convnet1": simple_convnet1, "simple_convnet2": simple_convnet2, "resnet18": resnet18}


def build_model(name: str, **kwargs) -> nn.Module:
    """Build a model by name (``simple_convnet1``, ``simple_convnet2``, ``resnet18``)."""
    if name not in MODELS:
        raise ValueError(f"unknown model {name!r}; choose one of {sorted(MODELS)}")
    return MODELS[name](**kwargs)
