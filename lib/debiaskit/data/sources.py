"""Raw image sources in torchvision's layout under the data root, loaded as uint8 tensors.

Online, missing files are downloaded through torchvision (which verifies their MD5).
Offline, a missing or corrupted file raises :class:`DataUnavailableError` naming the
data-root setting and the exact files needed.
"""

from __future__ import annotations

import gzip
import hashlib
from functools import lru_cache
from pathlib import Path

import numpy as np
import torch
from torchvision import datasets

from debiaskit.core.config import DATA_ENV, data_root


class DataUnavailableError(RuntimeError):
    """A data set is not under the data root and could not be downloaded."""


def _md5(path: Path) -> str:
    digest = hashlib.md5()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def check_files(root: Path, folder: str, resources: list[tuple[str, str | None]]) -> list[str]:
    """Return the problems (missing or bad-checksum files) of ``resources`` under ``root/folder/raw``."""
    problems = []
    for name, md5 in resources:
        path = root / folder / "raw" / name
        if not path.exists():
            problems.append(f"missing {path}")
        elif md5 is not None and _md5(path) != md5:
            problems.append(f"corrupted {path} (MD5 differs from {md5}); delete it and re-run")
    return problems


def unavailable(name: str, root: Path, problems: list[str], cause: Exception | None = None) -> DataUnavailableError:
    """Build the error that tells the user where to put ``name`` and what is wrong."""
    lines = "\n  ".join(problems)
    hint = (
        f"{name} is not available under the data root {root}.\n  {lines}\n"
        f"Set {DATA_ENV} (or the notebook's `data_root` parameter) to a folder holding "
        f"{name} in torchvision's layout, or run once with internet access so torchvision can download it."
    )
    if cause is not None:
        hint += f"\n(download failed: {type(cause).__name__}: {cause})"
    return DataUnavailableError(hint)


def _resource_names(cls) -> list[tuple[str, str]]:
    return [(url.rsplit("/", 1)[-1], md5) for url, md5 in cls.resources]


def read_idx_gz(path: Path) -> torch.Tensor:
    """Parse a gzipped IDX file (the MNIST format) into a tensor; read-only folders are fine."""
    try:
        raw = gzip.decompress(path.read_bytes())
        ndim = raw[3]
        shape = np.frombuffer(raw, dtype=">i4", count=ndim, offset=4)
        data = np.frombuffer(raw, dtype=np.uint8, offset=4 + 4 * ndim).reshape(shape)
    except (OSError, ValueError, IndexError, EOFError) as exc:
        raise DataUnavailableError(f"{path} is not a readable gzipped IDX file ({exc}); delete it and re-run") from None
    return torch.from_numpy(data.copy())


@lru_cache(maxsize=8)
def _load_mnist_like(cls_name: str, root_str: str, train: bool) -> tuple[torch.Tensor, torch.Tensor]:
    cls = getattr(datasets, cls_name)
    root = Path(root_str)
    problems = check_files(root, cls_name, _resource_names(cls))
    if problems:
        try:
            cls(root, train=train, download=True)
        except Exception as exc:  # network errors come in many types
            raise unavailable(cls_name, root, problems, exc) from None
        problems = check_files(root, cls_name, _resource_names(cls))
        if problems:
            raise unavailable(cls_name, root, problems)
    prefix = "train" if train else "t10k"
    raw = root / cls_name / "raw"
    images = read_idx_gz(raw / f"{prefix}-images-idx3-ubyte.gz")
    labels = read_idx_gz(raw / f"{prefix}-labels-idx1-ubyte.gz").long()
    return images, labels


def subsample(x: torch.Tensor, y: torch.Tensor, n: int | None, gen: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
    """The first ``n`` rows of a random permutation (drawn from ``gen``) of ``(x, y)``; ``(x, y)`` as they are,
    drawing nothing, when ``n`` is None: the ``n_train``/``n_test`` of the MNIST-based benchmarks."""
    if n is None:
        return x, y
    keep = torch.randperm(len(x), generator=gen)[:n]
    return x[keep], y[keep]


def load_mnist(train: bool = True, root: str | Path | None = None) -> tuple[torch.Tensor, torch.Tensor]:
    """MNIST as ``(images uint8 [N, 28, 28], labels int64 [N])``."""
    return _load_mnist_like("MNIST", str(data_root(root)), train)


def load_fashion_mnist(train: bool = True, root: str | Path | None = None) -> tuple[torch.Tensor, torch.Tensor]:
    """Fashion-MNIST as ``(images uint8 [N, 28, 28], labels int64 [N])``."""
    return _load_mnist_like("FashionMNIST", str(data_root(root)), train)
