"""The package's one image reader: folders of JPEG/PNG files decoded once into uint8 tensors and cached (BAR,
ImageNet-9, ImageNet-A, CelebA for PGD, the patch-attribution faces and RR-ClArC).

Resampling (:func:`decode_image`, the same for every data set): torchvision's ``Resize(s)`` then
``CenterCrop(s)`` on the PIL image, i.e. the shorter side resized to ``s`` with bilinear interpolation
(antialiased, PIL's filter), the longer side to ``int(s * long / short)``, then the centre ``s x s`` square.

The images ``[N, 3, s, s]`` are stored under the model cache's ``data/`` folder, keyed by the file list (names
and sizes), the labels (if any), ``s`` and :data:`DECODE_VERSION`; a later call reads the tensor back instead of
decoding again, and a corrupted cache file is decoded again (with a warning). Decoding fills one preallocated
tensor and streams it to a temporary file renamed into place, so the peak memory is about one copy of the data.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
import warnings
from pathlib import Path
from typing import Callable, Sequence

import torch
from PIL import Image

from debiaskit.core.config import cache_root
from debiaskit.data.sources import DataUnavailableError

IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png")
DECODE_VERSION = 2
"""Bumped whenever :func:`decode_image` changes what it produces, so that older cache files are not reused."""


def list_images(folder: Path, hint: str) -> list[Path]:
    """The image files of ``folder`` sorted by name; :class:`DataUnavailableError` (with ``hint``) if none."""
    files = sorted(p for p in folder.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES) if folder.is_dir() else []
    if not files:
        raise DataUnavailableError(f"{folder} holds no images; {hint}")
    return files


def decode_image(path: Path, image_size: int, hint: str = "download the data set again") -> torch.Tensor:
    """One image as uint8 [3, s, s], resampled as the module docstring says."""
    from torchvision.transforms import functional as TF

    try:
        with Image.open(path) as im:
            rgb = im.convert("RGB")
    except OSError as err:
        raise DataUnavailableError(f"cannot read {path} ({err}); the file is corrupted: {hint}") from err
    rgb = TF.center_crop(TF.resize(rgb, image_size, TF.InterpolationMode.BILINEAR, antialias=True), image_size)
    return TF.pil_to_tensor(rgb)


def _cache_file(name: str, files: Sequence[Path], labels: torch.Tensor | None, image_size: int) -> Path:
    digest = hashlib.sha256(f"{image_size}:{DECODE_VERSION}".encode())
    for p in files:
        digest.update(f"{p.parent.name}/{p.name}:{p.stat().st_size}".encode())
    if labels is not None:
        digest.update(labels.numpy().tobytes())
    return cache_root() / "data" / f"{name}-{image_size}-{digest.hexdigest()[:16]}.pt"


def _save_atomically(obj: dict, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    os.close(fd)
    try:
        torch.save(obj, tmp)
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def decode_cached(name: str, files: Sequence[Path], image_size: int, hint: str,
                  labels: Callable[[Path], int] | Sequence[int] | None = None,
                  progress: bool = False) -> tuple[torch.Tensor, torch.Tensor | None]:
    """``(uint8 images [N, 3, s, s], labels [N])`` of ``files``, decoded once and cached (module docstring).
    ``labels`` is a label per file, a function of the path, or ``None`` (then the second item is ``None``)."""
    files = list(files)
    y = None if labels is None else torch.tensor([labels(p) for p in files] if callable(labels) else list(labels),
                                                 dtype=torch.long)
    cache = _cache_file(name, files, y, image_size)
    if cache.exists():
        try:
            stored = torch.load(cache, weights_only=True)
            if len(stored["x"]) == len(files):
                return stored["x"], stored["y"]
            warnings.warn(f"the cache {cache} holds {len(stored['x'])} images, not {len(files)}; decoding again")
        except Exception as err:  # a truncated or foreign file: decode again
            warnings.warn(f"ignoring the unreadable image cache {cache} ({err}); decoding the images again")
    from tqdm.auto import tqdm

    x = torch.empty(len(files), 3, image_size, image_size, dtype=torch.uint8)
    for i, p in enumerate(tqdm(files, desc=name, disable=not progress)):
        x[i] = decode_image(p, image_size, hint)
    _save_atomically({"x": x, "y": y}, cache)
    return x, y
