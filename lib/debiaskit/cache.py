"""A cache of trained models keyed by their full configuration, shared between notebooks.

The key is a hash of the configuration *and* of the source of the code that trains the model (the
core modules below plus any modules the caller names), so a change to that code invalidates old
entries while unrelated edits elsewhere in the library keep them. Entries are written atomically: an interrupted run never leaves a
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

from debiaskit.config import cache_root
from debiaskit.io import atomic_write_bytes

_PACKAGE = Path(__file__).resolve().parent
CORE = ("training.py", "models.py", "augment.py", "cache.py", "runs.py", "data")


def _hash_paths(paths: list[Path]) -> str:
    digest = hashlib.sha256()
    for path in sorted(paths):
        digest.update(path.relative_to(_PACKAGE).as_posix().encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()[:16]


BOOKKEEPING = ("cli.py", "report.py", "reproduce.py", "nbval_prep.py", "claims.py", "manifest.py")
"""Modules that plan, run and report artifacts but compute none of their numbers."""


PAPER_PACKAGES = {"pgd": ("pgd", "baselines", "analysis"), "rrclarc": ("rrclarc",), "patchattr": ("patchattr",)}
"""The subpackages only one paper's notebooks use; another paper's artifacts ignore changes to them."""


def library_fingerprint(paper: str | None = None) -> str:
    """Hash of every ``.py`` file of the installed debiaskit package that can change an artifact's numbers:
    all but the :data:`BOOKKEEPING` modules (so that editing the report or the command line does not make
    every committed result look stale) and, for a ``paper`` of :data:`PAPER_PACKAGES`, all but the other
    papers' subpackages."""
    foreign = {pkg for other, pkgs in PAPER_PACKAGES.items() if other != paper for pkg in pkgs} if paper in PAPER_PACKAGES else set()
    foreign -= set(PAPER_PACKAGES.get(paper, ()))
    paths = []
    for path in _PACKAGE.rglob("*.py"):
        rel = path.relative_to(_PACKAGE)
        if rel.as_posix() not in BOOKKEEPING and not (len(rel.parts) > 1 and rel.parts[0] in foreign):
            paths.append(path)
    return _hash_paths(paths)


def code_fingerprint(modules: tuple[ModuleType | str | Path, ...] = ()) -> str:
    """Hash of the core training code plus ``modules`` (modules, or files/folders of the package)."""
    paths: list[Path] = []
    for item in (*CORE, *modules):
        if isinstance(item, ModuleType):
            item = Path(item.__file__)
            if item.name == "__init__.py":
                item = item.parent
        path = item if Path(item).is_absolute() else _PACKAGE / item
        paths += list(path.rglob("*.py")) if path.is_dir() else [path]
    return _hash_paths(paths)


def config_key(config: dict, code: tuple = ()) -> str:
    """Stable short hash of a JSON-able configuration plus the fingerprint of the code that trains."""
    blob = json.dumps({"config": config, "code": code_fingerprint(code)}, sort_keys=True, default=str)
    return hashlib.sha256(blob.encode()).hexdigest()[:20]


def cached_model(config: dict, build: Callable[[], nn.Module], fit: Callable[[nn.Module], object],
                 root: str | Path | None = None, code: tuple = ()) -> tuple[nn.Module, bool]:
    """Return ``(model, hit)``: the model trained for ``config``, from the cache when present.

    ``build()`` makes an untrained model; ``fit(model)`` trains it in place. On a miss the trained
    ``state_dict`` is stored under ``cache_root()/<key>.pt`` with the configuration beside it.
    ``code`` names the modules (beyond the core training code) whose changes must invalidate the
    entry, e.g. ``(debiaskit.pgd,)`` for a model trained by PGD.
    """
    folder = cache_root(root)
    key = config_key(config, code)
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


def is_cached(config: dict, root: str | Path | None = None, code: tuple = ()) -> bool:
    """Whether :func:`cached_model` would find ``config``'s model without training it."""
    return (cache_root(root) / f"{config_key(config, code)}.pt").exists()


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
