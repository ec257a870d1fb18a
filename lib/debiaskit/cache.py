"""A cache of trained models keyed by their full configuration, shared between notebooks.

The key is a hash of the configuration *and* of the library's source, so a change to the training
code invalidates old entries. Entries are written atomically: an interrupted run never leaves a
half-written model behind.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Callable

import torch
from torch import nn

from debiaskit.config import cache_root
from debiaskit.io import atomic_write_bytes

_PACKAGE = Path(__file__).resolve().parent


def library_fingerprint() -> str:
    """Hash of every ``.py`` file of the installed debiaskit package."""
    digest = hashlib.sha256()
    for path in sorted(_PACKAGE.rglob("*.py")):
        digest.update(path.relative_to(_PACKAGE).as_posix().encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()[:16]


def config_key(config: dict) -> str:
    """Stable short hash of a JSON-able configuration plus the library fingerprint."""
    blob = json.dumps({"config": config, "lib": library_fingerprint()}, sort_keys=True, default=str)
    return hashlib.sha256(blob.encode()).hexdigest()[:20]


def cached_model(config: dict, build: Callable[[], nn.Module], fit: Callable[[nn.Module], object],
                 root: str | Path | None = None) -> tuple[nn.Module, bool]:
    """Return ``(model, hit)``: the model trained for ``config``, from the cache when present.

    ``build()`` makes an untrained model; ``fit(model)`` trains it in place. On a miss the trained
    ``state_dict`` is stored under ``cache_root()/<key>.pt`` with the configuration beside it.
    """
    folder = cache_root(root)
    key = config_key(config)
    path = folder / f"{key}.pt"
    model = build()
    if path.exists():
        try:
            model.load_state_dict(torch.load(path, map_location="cpu", weights_only=True))
            model.eval()
            return model, True
        except Exception as exc:  # a corrupted entry is retrained, not fatal
            print(f"cache entry {path} is unreadable ({exc}); retraining")
    fit(model)
    folder.mkdir(parents=True, exist_ok=True)
    buffer = _state_bytes(model)
    atomic_write_bytes(path, buffer)
    atomic_write_bytes(path.with_suffix(".json"), json.dumps(config, indent=1, default=str).encode())
    model.eval()
    return model, False


def _state_bytes(model: nn.Module) -> bytes:
    import io

    buf = io.BytesIO()
    torch.save({k: v.detach().cpu() for k, v in model.state_dict().items()}, buf)
    return buf.getvalue()
