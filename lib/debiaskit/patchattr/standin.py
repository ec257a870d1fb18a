"""An offline stand-in for CelebA with the paper's structure and a KNOWN confounder region.

Each image is a Fashion-MNIST garment (28 x 28, padded to 32 x 32, grey on RGB). The *target* (the
role of perceived gender) is which of two garment classes it shows: 1 ("men") for ``classes[0]``, 0
("women") for ``classes[1]`` (default: T-shirt/top vs Pullover). Two binary *attributes* (the roles of Blond Hair, Eyeglasses, ...) are
localized coloured marks, each drawn independently with probability ``mark_prob``:

* ``band``: a yellow band over the top rows (height 5-8 px; the "hair/hat" analogue), region rows 0-7;
* ``corner``: a cyan square (side 5-8 px) somewhere in the bottom-right 10 x 10 corner.

Marks are alpha-blended (alpha ~ U(0.6, 1)) over the garment. :func:`true_region` gives the pixels a
mark can cover, against which attributions are scored. The grid of the quick profile keeps the paper's
structure: patches a quarter of the image side (k = 8 on 32 x 32), stride 2, 13 x 13 positions.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import torch
import torch.nn.functional as F

from debiaskit.data.faces import AttributeImages
from debiaskit.data.sources import load_fashion_mnist

SIZE = 32


@dataclass(frozen=True)
class Mark:
    """A coloured rectangle of random size inside ``region`` = (top, left, height, width)."""

    colour: tuple[float, float, float]
    region: tuple[int, int, int, int]
    min_side: int
    full_width: bool = False


MARKS = {
    "band": Mark(colour=(1.0, 0.85, 0.1), region=(0, 0, 8, SIZE), min_side=5, full_width=True),
    "corner": Mark(colour=(0.1, 0.8, 1.0), region=(22, 22, 10, 10), min_side=5),
}


def true_region(name: str, size: int = SIZE) -> torch.Tensor:
    """Bool [size, size]: the pixels mark ``name`` can cover (the known confounder region)."""
    if name not in MARKS:
        raise KeyError(f"unknown mark {name!r}; the stand-in has {sorted(MARKS)}")
    top, left, h, w = MARKS[name].region
    out = torch.zeros(SIZE, SIZE, dtype=torch.bool)
    out[top:top + h, left:left + w] = True
    return out if size == SIZE else F.interpolate(out[None, None].float(), size=(size, size)).bool()[0, 0]


def paint_mark(images: torch.Tensor, present: torch.Tensor, mark: Mark, gen: torch.Generator) -> torch.Tensor:
    """Blend ``mark`` into the float images [N, 3, S, S] where ``present``; returns a new tensor."""
    n = len(images)
    top, left, h, w = mark.region
    rows = torch.arange(SIZE)
    if mark.full_width:
        height = torch.randint(mark.min_side, h + 1, (n,), generator=gen)
        r0, c0 = torch.full((n,), top), torch.full((n,), left)
        hh, ww = height, torch.full((n,), w)
    else:
        side = torch.randint(mark.min_side, min(h, w) - 1, (n,), generator=gen)
        r0 = top + (torch.rand(n, generator=gen) * (h - side + 1)).long()
        c0 = left + (torch.rand(n, generator=gen) * (w - side + 1)).long()
        hh = ww = side
    inside_r = (rows[None] >= r0[:, None]) & (rows[None] < (r0 + hh)[:, None])
    inside_c = (rows[None] >= c0[:, None]) & (rows[None] < (c0 + ww)[:, None])
    area = (inside_r[:, :, None] & inside_c[:, None, :] & present[:, None, None]).unsqueeze(1)
    alpha = (0.6 + 0.4 * torch.rand(n, generator=gen)).view(n, 1, 1, 1)
    colour = torch.tensor(mark.colour).view(1, 3, 1, 1)
    return torch.where(area, (1 - alpha) * images + alpha * colour, images)


def standin_faces(split: str = "train", classes: tuple[int, int] = (0, 2), mark_prob: float = 0.5, seed: int = 0,
                  limit: int | None = None, root: str | None = None) -> AttributeImages:
    """The stand-in population of one split as :class:`AttributeImages` with ``target``, ``band``, ``corner``.

    ``classes`` are the two Fashion-MNIST classes (default T-shirt/top = "men", Pullover = "women");
    ``limit`` keeps a random subset of that many images (the marks do not depend on it).
    """
    if split not in ("train", "test"):
        raise ValueError(f"split must be 'train' or 'test', got {split!r}")
    if len(set(classes)) != 2 or not all(0 <= c < 10 for c in classes):
        raise ValueError(f"classes must be two different Fashion-MNIST classes, got {classes}")
    full = _population(split, tuple(classes), float(mark_prob), int(seed), None if root is None else str(root))
    if limit is None or limit >= len(full):
        return full
    gen = torch.Generator().manual_seed(seed + 7919)
    return full.subset(torch.randperm(len(full), generator=gen)[:limit].sort().values)


@lru_cache(maxsize=4)
def _population(split: str, classes: tuple[int, int], mark_prob: float, seed: int, root: str | None) -> AttributeImages:
    gen = torch.Generator().manual_seed(seed * 2 + (split == "test"))
    x, y = load_fashion_mnist(train=split == "train", root=root)
    keep = ((y == classes[0]) | (y == classes[1])).nonzero(as_tuple=True)[0]
    gray = F.pad(x[keep].float().div(255.0), (2, 2, 2, 2))
    images = gray.unsqueeze(1).expand(-1, 3, -1, -1).contiguous()
    labels = {"target": (y[keep] == classes[0]).long()}
    for name, mark in MARKS.items():
        present = torch.rand(len(keep), generator=gen) < mark_prob
        images = paint_mark(images, present, mark, gen)
        labels[name] = present.long()
    as_uint8 = images.mul(255).round().clamp(0, 255).to(torch.uint8)
    names = {"target": ["women", "men"], "band": ["no", "yes"], "corner": ["no", "yes"]}
    return AttributeImages(as_uint8, labels, names)
