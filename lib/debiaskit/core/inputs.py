"""The door every public entry point goes through: what a user has (tensors, NumPy arrays, lists, an ``(x, y)`` pair,
a :class:`~debiaskit.core.splits.BiasedSplit`, a dict of settings) converted once and checked, with a message that
says what was given and what to do, instead of a traceback from deep inside the training loop."""

from __future__ import annotations

import warnings
from typing import Any, Callable

import numpy as np
import torch
from torch import nn

from debiaskit.core.splits import BiasedSplit


class InputError(TypeError, ValueError):
    """An input of the wrong type, dtype, shape or range; the message says what was given and what to do."""


def as_tensor(values: Any, name: str) -> torch.Tensor:
    """``values`` (tensor, NumPy array or nested list) as a tensor, without copying a tensor."""
    if isinstance(values, torch.Tensor):
        return values
    if isinstance(values, np.ndarray) or isinstance(values, (list, tuple)):
        try:
            return torch.as_tensor(np.asarray(values))
        except (TypeError, ValueError) as exc:
            raise InputError(f"{name} must be a tensor, a NumPy array or a list of numbers; converting the "
                             f"given {type(values).__name__} failed: {exc}") from None
    raise InputError(f"{name} must be a tensor, a NumPy array or a list of numbers, got {type(values).__name__}")


def as_inputs(x: Any, name: str = "inputs") -> torch.Tensor:
    """Network inputs of any shape ``[N, ...]`` (features, latents): a floating-point or uint8 tensor."""
    x = as_tensor(x, name)
    if x.dtype == torch.bool or not (x.dtype == torch.uint8 or x.is_floating_point()):
        raise InputError(f"{name} must be uint8 (0-255) or floating point, got dtype {x.dtype}; convert with x.float()")
    if x.ndim < 2:
        raise InputError(f"{name} must have a sample axis and a feature or image axis, got shape {list(x.shape)}")
    return x


def as_images(x: Any, name: str = "images") -> torch.Tensor:
    """Images as ``[N, C, H, W]``: uint8 (0-255) or floating point (0-1). A ``[N, H, W]`` set gets a channel;
    float16 and bfloat16 become float32 (float64 stays: :func:`~debiaskit.core.training.train` matches the images to
    the network's dtype); anything else is refused. Float images above 1 draw a warning (divide by 255)."""
    x = as_tensor(x, name)
    if x.dtype == torch.bool or not (x.dtype == torch.uint8 or x.is_floating_point()):
        raise InputError(f"{name} must be uint8 (0-255) or floating point (0-1), got dtype {x.dtype}; "
                         f"convert with x.float() / 255 or x.to(torch.uint8)")
    if x.ndim == 3:
        x = x.unsqueeze(1)
    if x.ndim != 4:
        raise InputError(f"{name} must have shape [N, C, H, W] (or [N, H, W] for one channel), got {list(x.shape)}")
    if x.is_floating_point() and x.dtype not in (torch.float32, torch.float64):
        x = x.float()
    if x.is_floating_point() and len(x) and float(x.max()) > 1.0 + 1e-6:
        warnings.warn(f"{name} are floats up to {float(x.max()):g}: the library expects floats in [0, 1] (or uint8 "
                      f"0-255); divide by 255 if these are 0-255 pixel values", stacklevel=3)
    return x


def as_labels(y: Any, n: int | None = None, name: str = "labels", num_classes: int | None = None) -> torch.Tensor:
    """Class labels as int64 ``[N]``: integer tensors, arrays or lists of any integer dtype; ``n`` and
    ``num_classes`` check the length and the range."""
    y = as_tensor(y, name)
    if y.is_floating_point() or y.dtype == torch.bool or y.is_complex():
        raise InputError(f"{name} must be integer class indices, got dtype {y.dtype}; use y.long() if they are "
                         f"whole numbers")
    if y.ndim != 1:
        raise InputError(f"{name} must be one class index per sample, shape [N], got {list(y.shape)}")
    if n is not None and len(y) != n:
        raise InputError(f"need one label per image: got {n} images and {len(y)} {name}")
    y = y.long()
    if len(y) and int(y.min()) < 0:
        raise InputError(f"{name} must be class indices 0..C-1, got {int(y.min())}")
    if num_classes is not None and len(y) and int(y.max()) >= num_classes:
        raise InputError(f"{name} must be below the number of classes ({num_classes}), got {int(y.max())}")
    return y


def as_split(data: Any, name: str = "data", images: bool = True) -> BiasedSplit:
    """A :class:`BiasedSplit` as given (checked), or one built from an ``(x, y)`` / ``(x, y, bias)`` pair or triple
    of tensors, arrays or lists; bias labels are optional. ``images``: ``x`` must be images (:func:`as_images`);
    otherwise any ``[N, ...]`` inputs (:func:`as_inputs`)."""
    check = as_images if images else as_inputs
    if isinstance(data, BiasedSplit):
        if not (data.x.dtype == torch.uint8 or data.x.is_floating_point()) or (images and data.x.ndim != 4):
            check(data.x, f"{name}.x")  # raises with the message
        if data.y.dtype != torch.long:
            raise InputError(f"{name}.y must be int64 class indices, got {data.y.dtype}; build the split with "
                             f"BiasedSplit(x, y.long(), ...)")
        return data
    if isinstance(data, dict):
        raise InputError(f"{name} must be a BiasedSplit or an (x, y) pair, got a dict with keys {sorted(data)}; "
                         f"pass BiasedSplit(**{name}) or ({name}['x'], {name}['y'])")
    if isinstance(data, (tuple, list)) and len(data) in (2, 3) and not isinstance(data[0], (int, float)):
        x = check(data[0], f"{name}[0] (images)" if images else f"{name}[0] (inputs)")
        y = as_labels(data[1], len(x), f"{name}[1] (labels)")
        bias = None if len(data) == 2 or data[2] is None else as_labels(data[2], len(x), f"{name}[2] (bias labels)")
        return BiasedSplit(x, y, bias)
    raise InputError(f"{name} must be a BiasedSplit or an (x, y) pair of images and labels, got "
                     f"{type(data).__name__}")


def check_model_factory(model_fn: Any, name: str = "model_fn") -> Callable[[], nn.Module]:
    """``model_fn`` must build a fresh network on each call: a class or a function, not a network instance."""
    if isinstance(model_fn, nn.Module):
        raise InputError(f"{name} must build a fresh network on each call (e.g. lambda: MyNet() or MyNet), but got "
                         f"the network instance {type(model_fn).__name__}; every stage needs its own freshly "
                         f"initialised copy, so pass a factory")
    if not callable(model_fn):
        raise InputError(f"{name} must be a function or class that returns an nn.Module, got {type(model_fn).__name__}")
    return model_fn


def check_logits(out: Any, batch: int, where: str = "the model") -> torch.Tensor:
    """A network's output must be a ``[batch, classes]`` tensor of logits."""
    if not isinstance(out, torch.Tensor):
        raise InputError(f"{where} must return a [batch, classes] tensor of logits, got {type(out).__name__}; "
                         f"wrap it so that forward returns the logits only")
    if out.ndim != 2 or out.shape[0] != batch:
        raise InputError(f"{where} must return logits of shape [batch, classes] = [{batch}, C], got {list(out.shape)}")
    return out
