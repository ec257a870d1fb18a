"""Process-wide settings: where data and caches live, seeding, devices and threads."""

from __future__ import annotations

import os
import random
from pathlib import Path

import numpy as np
import torch

DATA_ENV = "DEBIASKIT_DATA"
CACHE_ENV = "DEBIASKIT_CACHE"
DEFAULT_DATA_ROOT = Path.home() / ".cache" / "debiaskit" / "data"
DEFAULT_CACHE_ROOT = Path.home() / ".cache" / "debiaskit" / "models"


def data_root(override: str | os.PathLike | None = None) -> Path:
    """Root under which torchvision-layout data sets live.

    Order: an explicit ``override`` (a notebook parameter), then ``$DEBIASKIT_DATA``,
    then ``~/.cache/debiaskit/data``.
    """
    if override:
        return Path(override).expanduser().resolve()
    env = os.environ.get(DATA_ENV)
    if env:
        return Path(env).expanduser().resolve()
    return DEFAULT_DATA_ROOT


def cache_root(override: str | os.PathLike | None = None) -> Path:
    """Folder of trained models shared between notebooks (``$DEBIASKIT_CACHE``)."""
    if override:
        return Path(override).expanduser().resolve()
    env = os.environ.get(CACHE_ENV)
    return Path(env).expanduser().resolve() if env else DEFAULT_CACHE_ROOT


def seed_everything(seed: int) -> torch.Generator:
    """Seed Python, NumPy and torch; return a torch generator seeded the same way."""
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)
    return torch.Generator().manual_seed(seed)


def default_device() -> torch.device:
    """CUDA when available (Colab), else CPU."""
    return torch.device("cuda" if torch.cuda.is_available() else "cpu")


def resolve_device(device: str | torch.device | None) -> torch.device:
    """``None`` or ``"auto"`` picks :func:`default_device`; anything else is taken as given."""
    if device is None or device == "auto":
        return default_device()
    return torch.device(device)
