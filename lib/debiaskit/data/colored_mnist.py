"""Colored MNIST (CM) exactly as the PGD draft's Section 6.1 and Appendix B.1 describe.

Each class c owns a colour C_c drawn uniformly from the RGB cube. A majority sample of class y is
coloured with C_y; a minority sample with C_{c'} for a class c' != y drawn uniformly. Every sample's
colour is then jittered, C_i ~ N(C, alpha I) (alpha is the *difficulty*, a variance: 1e-4 or 5e-4).
The digit (foreground) is coloured, the background stays black.
"""

from __future__ import annotations

import torch

from debiaskit.core.splits import BiasedBenchmark, BiasedSplit, choose_minority, other_label, split_validation
from debiaskit.data.sources import load_mnist, subsample

NUM_CLASSES = 10
PALETTE_SEED = 0
MIN_COLOUR_DISTANCE = 0.3


def class_colours(seed: int = PALETTE_SEED, min_distance: float = MIN_COLOUR_DISTANCE) -> torch.Tensor:
    """Ten class colours drawn uniformly from [0, 1]^3 (Appendix B.1).

    Draws are rejected until every pair is at least ``min_distance`` apart and no colour is nearly
    black (which would erase the digit); the draft does not say how it avoided such collisions.
    """
    gen = torch.Generator().manual_seed(seed)
    while True:
        colours = torch.rand(NUM_CLASSES, 3, generator=gen)
        dist = torch.cdist(colours, colours) + torch.eye(NUM_CLASSES) * 10
        if dist.min() >= min_distance and colours.max(dim=1).values.min() > 0.4:
            return colours


def colourise(gray: torch.Tensor, colour_index: torch.Tensor, alpha: float, generator: torch.Generator,
              palette: torch.Tensor | None = None) -> torch.Tensor:
    """Colour uint8 digits [N, 28, 28] with jittered palette colours; returns float [N, 3, 28, 28] in [0, 1]."""
    palette = class_colours() if palette is None else palette
    colour = palette[colour_index] + alpha**0.5 * torch.randn(len(colour_index), 3, generator=generator)
    colour = colour.clamp(0.0, 1.0)
    return (gray.float().div(255.0).unsqueeze(1) * colour[:, :, None, None]).contiguous()


def _split(gray: torch.Tensor, y: torch.Tensor, minority: torch.Tensor, alpha: float,
           generator: torch.Generator, palette: torch.Tensor) -> BiasedSplit:
    bias = torch.where(minority, other_label(y, NUM_CLASSES, generator), y)
    return BiasedSplit(colourise(gray, bias, alpha, generator, palette), y.clone(), bias)


def colored_mnist(
    bias_ratio: float = 0.99,
    difficulty: float = 1e-4,
    seed: int = 0,
    n_train: int | None = None,
    n_test: int | None = None,
    val_fraction: float = 0.1,
    test_minority: float | str = 0.5,
    root: str | None = None,
) -> BiasedBenchmark:
    """Build Colored MNIST with ``|M| / |D| = bias_ratio``, deterministic for ``seed``.

    ``n_train``/``n_test`` subsample MNIST (quick profiles); ``val_fraction`` of the biased training
    set is held out as the biased validation split (Section 6.1.1). The test split holds
    ``test_minority`` minority samples (a share), or ``"random"``: every test colour drawn uniformly
    from the ten (Table 12's random-colour test).
    """
    if not 0.0 <= bias_ratio <= 1.0:
        raise ValueError(f"bias_ratio is |M|/|D| and must be in [0, 1], got {bias_ratio}")
    gen = torch.Generator().manual_seed(seed)
    palette = class_colours()
    x_tr, y_tr = load_mnist(train=True, root=root)
    x_te, y_te = load_mnist(train=False, root=root)
    x_tr, y_tr = subsample(x_tr, y_tr, n_train, gen)
    x_te, y_te = subsample(x_te, y_te, n_test, gen)
    full = _split(x_tr, y_tr, choose_minority(len(x_tr), 1.0 - bias_ratio, gen), difficulty, gen, palette)
    train, val = split_validation(full, val_fraction, gen)
    if test_minority == "random":
        colour = torch.randint(0, NUM_CLASSES, y_te.shape, generator=gen)
        test = BiasedSplit(colourise(x_te, colour, difficulty, gen, palette), y_te.clone(), colour)
    else:
        test = _split(x_te, y_te, choose_minority(len(x_te), float(test_minority), gen), difficulty, gen, palette)
    return BiasedBenchmark(
        name=f"CM {100 * bias_ratio:g}%",
        train=train, val=val, test=test, num_classes=NUM_CLASSES,
        meta={"dataset": "colored_mnist", "bias_ratio": bias_ratio, "difficulty": difficulty, "seed": seed,
              "n_train": n_train, "n_test": n_test, "val_fraction": val_fraction, "test_minority": test_minority,
              "palette": palette.tolist()},
    )
