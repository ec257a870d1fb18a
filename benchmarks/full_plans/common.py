"""Shared record for the full-profile training plans that `benchmarks/full_profile_minutes.py` turns into minutes."""
from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Training:
    """``count`` trainings of one network, each ``epochs`` passes over ``n_images`` images in batches of ``batch``.

    arch: "simple_convnet1" | "simple_convnet2" | "resnet18" | "small_cnn" (any other: name it and describe it in ``note``)
    image_shape: (C, H, W) of the network's input
    method: "vanilla" | "gce" (the GCE-biased model of PGD) | "pgd" (PGD's de-biased training, excluding its GCE model)
            | "lff" | "rebias" | "rubi" | "learned_mixin" | "aflite" | "repair" | "region" (a patch/region classifier)
            | "head" (a small head on stored features) | "other"
    note: one short phrase saying what this is in the notebook (e.g. "Table 1 main grid")
    """

    arch: str
    image_shape: tuple[int, int, int]
    n_images: int
    epochs: int
    batch: int
    method: str
    count: int = 1
    note: str = ""
