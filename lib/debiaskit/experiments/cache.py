"""A cache of trained models keyed by their full configuration, shared between notebooks.

The key is a hash of the configuration *and* of the normalised code that trains the model (the import closure
of the training function, :mod:`debiaskit.experiments.code_closure`), so a change to that code invalidates old
entries while edits elsewhere in the library, and any docstring or comment, keep them. Entries are written atomically: an interrupted run never leaves a
half-written model behind; notebooks running at once (``reproduce --jobs``, nbval ``-n``) wait for
each other through a per-entry file lock instead of training the same model twice.
"""

from __future__ import annotations

import hashlib
import json
from contextlib import contextmanager
from pathlib import Path
from types import ModuleType
from typing import Callable

import torch
from torch import nn

from debiaskit.core.config import cache_root
from debiaskit.core.io import atomic_write_bytes
from debiaskit.experiments.code_closure import dependency_hashes, modules_of, package_modules

DATA = tuple(package_modules("debiaskit.data"))
"""Every data set's loader: a model's key covers the code that built its training set as well as the code that trained it."""


def config_key(config: dict, trains: tuple = ()) -> str:
    """Stable short hash of a JSON-able configuration plus the normalised code that trains the model: the import
    closure of ``trains`` (functions, classes or modules; :mod:`debiaskit.experiments.code_closure`)."""
    code = dependency_hashes(modules_of(*trains)) if trains else {}
    blob = json.dumps({"config": config, "code": code}, sort_keys=True, default=str)
    return hashlib.sha256(blob.encode()).hexdigest()[:20]


def cached_model(config: dict, build: Callable[[], nn.Module], fit: Callable[[nn.Module], object],
                 root: str | Path | None = None, *, trains: Callable | ModuleType | str | tuple = ()
                 ) -> tuple[nn.Module, bool]:
    """Return ``(model, hit)``: the model trained for ``config``, from the cache when present.

    ``build()`` makes an untrained model; ``fit(model)`` trains it in place. On a miss the trained
    ``state_dict`` is stored under ``cache_root()/<key>.pt`` with the configuration beside it.
    ``trains`` is the function (or functions, or modules) that trains the model, e.g. ``run_method``: a change in
    the code it reaches retrains, a docstring or comment edit does not.
    """
    folder = cache_root(root)
    key = config_key(config, trains if isinstance(trains, tuple) else (trains,))
    path = folder / f"{key}.pt"
    model = build()
    folder.mkdir(parents=True, exist_ok=True)
    with _entry_lock(path):  # a notebook running beside this one may be training the same model
        if path.exists():
            try:
                model.load_state_dict(torch.load(path, map_location="cpu", weights_only=True))
                model.eval()
                return model, True
            except Exception as exc:  # a corrupted entry is retrained, not fatal
                print(f"cache entry {path} is unreadable ({exc}); retraining")
        fit(model)
        atomic_write_bytes(path, _state_bytes(model))
        atomic_write_bytes(path.with_suffix(".json"), json.dumps(config, indent=1, default=str).encode())
    model.eval()
    return model, False


def is_cached(config: dict, root: str | Path | None = None, *, trains: Callable | ModuleType | str | tuple = ()) -> bool:
    """Whether :func:`cached_model` would find ``config``'s model without training it."""
    return (cache_root(root) / f"{config_key(config, trains if isinstance(trains, tuple) else (trains,))}.pt").exists()


@contextmanager
def _entry_lock(path: Path):
    """Hold an exclusive advisory lock on ``<entry>.lock`` (POSIX); elsewhere, no lock. The empty lock file
    stays: unlinking it on release would let a process that opened it meanwhile lock a file no one else
    sees, and train the same model beside a newcomer."""
    try:
        import fcntl
    except ImportError:  # Windows: concurrent runs may train the same model twice, nothing worse
        yield
        return
    with open(path.with_suffix(".lock"), "w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _state_bytes(model: nn.Module) -> bytes:
    import io

    buf = io.BytesIO()
    torch.save({k: v.detach().cpu() for k, v in model.state_dict().items()}, buf)
    return buf.getvalue()
