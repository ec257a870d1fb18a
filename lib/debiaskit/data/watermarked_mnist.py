"""Watermarked MNIST (WM) as the PGD draft's Appendix B.1 describes.

Each MNIST digit is scaled up from 28x28 to a 56x56 canvas; a 28x28 Fashion-MNIST object (the
watermark) is pasted near the top-left corner, ``delta`` pixels from the top and from the left with
delta ~ U{0, ..., alpha} (alpha in {8, 16}). Majority samples carry an object whose Fashion-MNIST
class equals the digit; minority samples one of a uniformly drawn other class. Digit and object
are combined by a pixel-wise maximum (the draft does not say how they are blended).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from debiaskit.core.splits import BiasedBenchmark, BiasedSplit, choose_minority, other_label, split_validation
from debiaskit.data.sources import load_fashion_mnist, load_mnist, subsample

NUM_CLASSES = 10
CANVAS = 56


def watermark(digits: torch.Tensor, objects: torch.Tensor, offsets: torch.Tensor) -> torch.Tensor:
    """Compose uint8 digits [N, 28, 28] and objects [N, 28, 28] at per-sample ``offsets`` [N].

    Returns float [N, 1, 56, 56] in [0, 1].
    """
    canvas = F.interpolate(digits.float().div(255.0).unsqueeze(1), size=(CANVAS, CANVAS), mode="bilinear",
                           align_corners=False)
    obj = objects.float().div(255.0)
    pasted = torch.zeros_like(canvas)
    for delta in offsets.unique().tolist():  # at most alpha + 1 distinct offsets: a short loop
        rows = offsets == delta
        pasted[rows, 0, delta:delta + 28, delta:delta + 28] = obj[rows]
    return torch.maximum(canvas, pasted).contiguous()


def _objects_for(labels: torch.Tensor, fashion_x: torch.Tensor, fashion_y: torch.Tensor,
                 generator: torch.Generator) -> torch.Tensor:
    """For each label, a Fashion-MNIST image of that class drawn uniformly."""
    out = torch.empty(len(labels), 28, 28, dtype=fashion_x.dtype)
    for c in range(NUM_CLASSES):
        rows = (labels == c).nonzero(as_tuple=True)[0]
        pool = (fashion_y == c).nonzero(as_tuple=True)[0]
        out[rows] = fashion_x[pool[torch.randint(0, len(pool), (len(rows),), generator=generator)]]
    return out


def _split(digits, y, minority, alpha, fashion_x, fashion_y, gen) -> BiasedSplit:
    bias = torch.where(minority, other_label(y, NUM_CLASSES, gen), y)
    objects = _objects_for(bias, fashion_x, fashion_y, gen)
    offsets = torch.randint(0, int(alpha) + 1, (len(y),), generator=gen)
    return BiasedSplit(watermark(digits, objects, offsets), y.clone(), bias)


def watermarked_mnist(
    bias_ratio: float = 0.99,
    difficulty: int = 8,
    seed: int = 0,
    n_train: int | None = None,
    n_test: int | None = None,
    val_fraction: float = 0.1,
    test_minority: float = 0.5,
    root: str | None = None,
) -> BiasedBenchmark:
    """Build Watermarked MNIST with ``|M| / |D| = bias_ratio`` and offset range ``difficulty`` (alpha)."""
    if not 0.0 <= bias_ratio <= 1.0:
        raise ValueError(f"bias_ratio is |M|/|D| and must be in [0, 1], got {bias_ratio}")
    if not 0 <= int(difficulty) <= CANVAS - 28:
        raise ValueError(f"difficulty (max offset) must be in [0, {CANVAS - 28}], got {difficulty}")
    gen = torch.Generator().manual_seed(seed)
    x_tr, y_tr = load_mnist(train=True, root=root)
    x_te, y_te = load_mnist(train=False, root=root)
    fx_tr, fy_tr = load_fashion_mnist(train=True, root=root)
    fx_te, fy_te = load_fashion_mnist(train=False, root=root)
    x_tr, y_tr = subsample(x_tr, y_tr, n_train, gen)
    x_te, y_te = subsample(x_te, y_te, n_test, gen)
    full = _split(x_tr, y_tr, choose_minority(len(x_tr), 1.0 - bias_ratio, gen), difficulty, fx_tr, fy_tr, gen)
    train, val = split_validation(full, val_fraction, gen)
    test = _split(x_te, y_te, choose_minority(len(x_te), float(test_minority), gen), difficulty, fx_te, fy_te, gen)
    return BiasedBenchmark(
        name=f"WM {100 * bias_ratio:g}%",
        train=train, val=val, test=test, num_classes=NUM_CLASSES,
        meta={"dataset": "watermarked_mnist", "bias_ratio": bias_ratio, "difficulty": difficulty, "seed": seed,
              "n_train": n_train, "n_test": n_test, "val_fraction": val_fraction, "test_minority": test_minority},
    )
