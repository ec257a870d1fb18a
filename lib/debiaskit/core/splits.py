"""Containers for biased benchmarks: tensors with target, bias attribute and majority flags."""

from __future__ import annotations

from dataclasses import dataclass, field

import torch


@dataclass
class BiasedSplit:
    """One split held in memory.

    ``x`` float32 images in [0, 1] (or uint8 0-255) of shape [N, C, H, W]; ``y`` target labels (int64); ``bias``
    the bias attribute (same label space as ``y`` for CM/WM), or ``None`` when unknown (no method needs it; only
    the accuracy by group does); ``major`` True where the bias attribute agrees with the target (the majority set
    M), False for the minority set m, ``None`` without bias labels. With noisy labels
    (:mod:`debiaskit.data.label_noise`), ``noisy`` marks the flipped samples and ``clean_y`` holds their
    true labels (``major`` is then about the true label); both are ``None`` for clean labels.
    """

    x: torch.Tensor
    y: torch.Tensor
    bias: torch.Tensor | None = None
    major: torch.Tensor = field(default=None)  # type: ignore[assignment]
    noisy: torch.Tensor | None = None
    clean_y: torch.Tensor | None = None

    def __post_init__(self) -> None:
        n = len(self.x)
        if len(self.y) != n or (self.bias is not None and len(self.bias) != n):
            raise ValueError(f"x, y and bias must have the same length, got {n}, {len(self.y)}, "
                             f"{None if self.bias is None else len(self.bias)}")
        for name in ("noisy", "clean_y", "major"):
            value = getattr(self, name)
            if value is not None and len(value) != n:
                raise ValueError(f"{name} must have one entry per sample, got {len(value)} for {n}")
        if self.major is None and self.bias is not None:
            self.major = self.y == self.bias

    def __len__(self) -> int:
        return len(self.x)

    def subset(self, index: torch.Tensor) -> "BiasedSplit":
        """The samples at ``index`` (a bool mask or integer indices)."""
        return BiasedSplit(self.x[index], self.y[index], _index(self.bias, index), _index(self.major, index),
                           _index(self.noisy, index), _index(self.clean_y, index))

    @property
    def minority_ratio(self) -> float:
        """``|m| / |D|`` of this split (NaN without bias labels)."""
        if self.major is None:
            return float("nan")
        return float((~self.major).float().mean()) if len(self) else 0.0

    def to(self, device: torch.device | str) -> "BiasedSplit":
        return BiasedSplit(self.x.to(device), self.y.to(device), _to(self.bias, device), _to(self.major, device),
                           _to(self.noisy, device), _to(self.clean_y, device))


def _index(t: torch.Tensor | None, index: torch.Tensor) -> torch.Tensor | None:
    return None if t is None else t[index]


def _to(t: torch.Tensor | None, device: torch.device | str) -> torch.Tensor | None:
    return None if t is None else t.to(device)


@dataclass
class BiasedBenchmark:
    """A biased training split, a biased validation split (10% of training) and a test split."""

    name: str
    train: BiasedSplit
    val: BiasedSplit
    test: BiasedSplit
    num_classes: int
    meta: dict = field(default_factory=dict)

    @property
    def in_channels(self) -> int:
        return int(self.train.x.shape[1])

    def describe(self) -> str:
        t = self.train
        return (
            f"{self.name}: train {len(t)} (minority {100 * t.minority_ratio:.2f}%), "
            f"val {len(self.val)}, test {len(self.test)} "
            f"(majority {int(self.test.major.sum())}, minority {int((~self.test.major).sum())}), "
            f"images {tuple(t.x.shape[1:])}"
        )


def split_validation(split: BiasedSplit, fraction: float, generator: torch.Generator) -> tuple[BiasedSplit, BiasedSplit]:
    """Hold out ``fraction`` of ``split`` at random as a validation split with the same bias."""
    perm = torch.randperm(len(split), generator=generator)
    n_val = int(round(fraction * len(split)))
    return split.subset(perm[n_val:]), split.subset(perm[:n_val])


def choose_minority(n: int, minority_ratio: float, generator: torch.Generator) -> torch.Tensor:
    """A bool mask with exactly ``round(minority_ratio * n)`` True entries, placed at random."""
    if not 0.0 <= minority_ratio <= 1.0:
        raise ValueError(f"minority ratio must be in [0, 1], got {minority_ratio}")
    mask = torch.zeros(n, dtype=torch.bool)
    mask[torch.randperm(n, generator=generator)[: int(round(minority_ratio * n))]] = True
    return mask


def other_label(y: torch.Tensor, num_classes: int, generator: torch.Generator) -> torch.Tensor:
    """A label drawn uniformly from the classes other than ``y`` (elementwise)."""
    shift = torch.randint(1, num_classes, y.shape, generator=generator)
    return (y + shift) % num_classes
