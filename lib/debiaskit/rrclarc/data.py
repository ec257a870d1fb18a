"""A controlled, localized artifact (a small bright square) in most training images of one class.

This is the CPU stand-in for the paper's controlled settings (Section 4, e.g. the LSB text in ISIC):
the artifact is pasted into a share ``artifact_share`` of the training images of ``biased_class``
and nowhere else, so a model learns it as a shortcut for that class. Three test sets measure it:

* ``clean``: no artifact anywhere;
* ``as_trained``: the artifact in the same share of the biased class's test images as in training;
* ``attacked``: the artifact pasted into *every* test image.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import torch

from debiaskit.core.splits import BiasedSplit
from debiaskit.data.sources import load_fashion_mnist, load_mnist, subsample

SOURCES = {"mnist": load_mnist, "fashion_mnist": load_fashion_mnist}
CORNERS = ("top_left", "top_right", "bottom_left", "bottom_right")


def artifact_mask(shape: tuple[int, int], size: int = 3, corner: str = "top_left", margin: int = 1) -> torch.Tensor:
    """Bool [H, W] mask of a ``size`` x ``size`` square ``margin`` pixels from ``corner``."""
    if corner not in CORNERS:
        raise ValueError(f"corner must be one of {CORNERS}, got {corner!r}")
    h, w = shape
    if size < 1 or margin < 0 or size + margin > min(h, w):
        raise ValueError(f"a {size}x{size} square {margin} px from the border does not fit a {h}x{w} image")
    mask = torch.zeros(h, w, dtype=torch.bool)
    top = margin if corner.startswith("top") else h - margin - size
    left = margin if corner.endswith("left") else w - margin - size
    mask[top:top + size, left:left + size] = True
    return mask


def paste_artifact(x: torch.Tensor, mask: torch.Tensor, value: float = 1.0, where: torch.Tensor | None = None) -> torch.Tensor:
    """Copy of images ``x`` [N, C, H, W] with pixels under ``mask`` set to ``value``.

    ``where`` (bool [N]) limits the paste to some images; default: all of them.
    """
    if x.shape[-2:] != mask.shape:
        raise ValueError(f"mask {tuple(mask.shape)} does not match images {tuple(x.shape[-2:])}")
    out = x.clone()
    sel = torch.ones(len(x), dtype=torch.bool) if where is None else where.to(torch.bool)
    region = mask.to(x.device)[None, None] & sel.to(x.device)[:, None, None, None]
    out[region.expand_as(out)] = value
    return out


@dataclass
class ArtifactBenchmark:
    """Training split with the artifact, the three test splits and the artifact's mask.

    In every split ``bias`` is 1 where the image carries the artifact, and ``major`` marks the
    samples that follow the shortcut (biased class with artifact, other classes without).
    """

    name: str
    train: BiasedSplit
    clean: BiasedSplit
    as_trained: BiasedSplit
    attacked: BiasedSplit
    mask: torch.Tensor | None  # None for real (not pasted) artifacts, e.g. CelebA's necktie
    biased_class: int
    num_classes: int
    meta: dict = field(default_factory=dict)

    @property
    def in_channels(self) -> int:
        return int(self.train.x.shape[1])

    def with_artifact(self, x: torch.Tensor) -> torch.Tensor:
        """``x`` with the artifact pasted into every image (the 'attack')."""
        if self.mask is None:
            raise ValueError(f"{self.name}: the artifact is a real attribute and cannot be pasted")
        return paste_artifact(x, self.mask, self.meta.get("value", 1.0))

    def describe(self) -> str:
        t = self.train
        in_class = t.y == self.biased_class
        share = float(t.bias[in_class].float().mean())
        return (f"{self.name}: train {len(t)}, class {self.biased_class} carries the artifact in "
                f"{100 * share:.0f}% of its {int(in_class.sum())} images (other classes: "
                f"{int(t.bias[~in_class].sum())}); test: clean {len(self.clean)}, attacked {len(self.attacked)}"
                + (f"; artifact mask {int(self.mask.sum())} px" if self.mask is not None else ""))


def _split(x: torch.Tensor, y: torch.Tensor, has: torch.Tensor, biased_class: int, mask: torch.Tensor,
           value: float) -> BiasedSplit:
    major = (y == biased_class) == has
    return BiasedSplit(paste_artifact(x, mask, value, has), y.clone(), has.long(), major)


def _share_mask(y: torch.Tensor, biased_class: int, share: float, gen: torch.Generator) -> torch.Tensor:
    has = torch.zeros(len(y), dtype=torch.bool)
    idx = (y == biased_class).nonzero(as_tuple=True)[0]
    pick = idx[torch.randperm(len(idx), generator=gen)[: int(round(share * len(idx)))]]
    has[pick] = True
    return has


def artifact_benchmark(
    dataset: str = "mnist",
    biased_class: int = 8,
    artifact_share: float = 0.9,
    size: int = 3,
    corner: str = "top_left",
    value: float = 1.0,
    n_train: int | None = 10000,
    n_test: int | None = 2000,
    seed: int = 0,
    root: str | None = None,
) -> ArtifactBenchmark:
    """MNIST or Fashion-MNIST with a ``size`` x ``size`` square of brightness ``value`` in a corner
    of a share ``artifact_share`` of ``biased_class``'s images; deterministic for ``seed``."""
    if dataset not in SOURCES:
        raise ValueError(f"dataset must be one of {sorted(SOURCES)}, got {dataset!r}")
    if not 0.0 < artifact_share <= 1.0:
        raise ValueError(f"artifact_share must be in (0, 1], got {artifact_share}")
    if not 0 <= biased_class < 10:
        raise ValueError(f"biased_class must be a class index 0..9, got {biased_class}")
    gen = torch.Generator().manual_seed(seed)
    x_tr, y_tr = SOURCES[dataset](train=True, root=root)
    x_te, y_te = SOURCES[dataset](train=False, root=root)
    x_tr, y_tr = subsample(x_tr, y_tr, n_train, gen)
    x_te, y_te = subsample(x_te, y_te, n_test, gen)
    x_tr = x_tr.float().div(255).unsqueeze(1)
    x_te = x_te.float().div(255).unsqueeze(1)
    mask = artifact_mask(tuple(x_tr.shape[-2:]), size, corner)
    train = _split(x_tr, y_tr, _share_mask(y_tr, biased_class, artifact_share, gen), biased_class, mask, value)
    none = torch.zeros(len(y_te), dtype=torch.bool)
    clean = _split(x_te, y_te, none, biased_class, mask, value)
    as_trained = _split(x_te, y_te, _share_mask(y_te, biased_class, artifact_share, gen), biased_class, mask, value)
    attacked = _split(x_te, y_te, ~none, biased_class, mask, value)
    return ArtifactBenchmark(
        name=f"{dataset} + {size}x{size} square ({corner}) in {100 * artifact_share:g}% of class {biased_class}",
        train=train, clean=clean, as_trained=as_trained, attacked=attacked, mask=mask,
        biased_class=biased_class, num_classes=10,
        meta={"dataset": dataset, "artifact_share": artifact_share, "size": size, "corner": corner,
              "value": value, "seed": seed, "n_train": n_train, "n_test": n_test},
    )
