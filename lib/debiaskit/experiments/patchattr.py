"""The notebooks' shared steps: load a data set by name and train (or fetch) its region classifiers.

Both the attribution notebook and the noise notebook call :func:`region_classifier_for` with the same
arguments, so the second finds the first's models in the model cache (:mod:`debiaskit.experiments.cache`).

Data set names: ``standin`` (offline, :mod:`~debiaskit.patchattr.standin`), ``celeba`` and ``fairface``
(:mod:`~debiaskit.data.faces`). Splits: ``train`` and ``val`` (CelebA's ``valid``, FairFace's
``val``, the stand-in's Fashion-MNIST test images).
"""

from __future__ import annotations

import torch

from debiaskit.data.faces import AttributeImages, load_celeba, load_fairface, open_celeba
from debiaskit.experiments.cache import cached_model
from debiaskit.patchattr.fitting import FitConfig
from debiaskit.patchattr.grid import PatchGrid
from debiaskit.patchattr.region_model import RegionClassifier
from debiaskit.patchattr.region_training import train_region_classifier
from debiaskit.patchattr.standin import standin_faces

DATASETS = ("standin", "celeba", "fairface")
#: Each data set's target attribute (the label the gender CNN and region classifiers predict).
TARGETS = {"standin": "target", "celeba": "Male", "fairface": "gender"}


def _random_rows(n_total: int, limit: int | None, seed: int) -> torch.Tensor | None:
    if limit is None or limit >= n_total:
        return None
    return torch.randperm(n_total, generator=torch.Generator().manual_seed(seed))[:limit].sort().values


def load_split(dataset: str, split: str, attributes: list[str], image_size: int, limit: int | None = None,
               seed: int = 0, root: str | None = None) -> AttributeImages:
    """``limit`` random images (all when ``None``) of ``split`` of ``dataset`` with the target and ``attributes``."""
    if dataset not in DATASETS:
        raise ValueError(f"unknown data set {dataset!r}; choose one of {DATASETS}")
    if split not in ("train", "val"):
        raise ValueError(f"split must be 'train' or 'val', got {split!r}")
    if dataset == "standin":
        if image_size != 32:
            raise ValueError("the stand-in images are 32 x 32: set image_size = 32")
        return standin_faces("train" if split == "train" else "test", seed=seed, limit=limit, root=root)
    if dataset == "celeba":
        names = sorted({TARGETS["celeba"], *attributes})
        ds = open_celeba("train" if split == "train" else "valid", root)
        rows = _random_rows(len(ds.filename), limit, seed)
        return load_celeba("train" if split == "train" else "valid", names, image_size, rows, root)
    from debiaskit.data.faces import read_fairface_labels

    paths, _ = read_fairface_labels(split, root)
    return load_fairface(split, image_size, _random_rows(len(paths), limit, seed), root)


def region_classifier_for(data: AttributeImages, attribute: str, grid: PatchGrid, cfg: FitConfig, backbone: str,
                          data_key: dict, progress: bool = True) -> tuple[RegionClassifier, bool]:
    """The region classifier of ``attribute`` trained on ``data`` (cached under ``data_key`` + settings)."""
    return cached_region_classifier(data.images, data.labels[attribute], grid, data.num_classes(attribute), cfg,
                                    backbone, cache_config={**data_key, "attribute": attribute}, progress=progress)


def cached_region_classifier(images: torch.Tensor, labels: torch.Tensor, grid: PatchGrid, num_classes: int,
                             cfg: FitConfig, backbone: str = "resnet18", label_smoothing: float = 0.1, *,
                             cache_config: dict, progress: bool = True) -> tuple[RegionClassifier, bool]:
    """:func:`~debiaskit.patchattr.region_training.train_region_classifier`, trained once and then fetched from the
    model cache. ``cache_config`` must describe the data (e.g. data set, attribute, sizes, seed); the grid, backbone
    and optimisation settings are added to it. Returns ``(model, cache_hit)``."""
    grid.check_images(images)
    config = {"kind": "patchattr.region_classifier", "data": cache_config, "grid": vars(grid).copy(),
              "num_classes": num_classes, "backbone": backbone, "label_smoothing": label_smoothing,
              "fit": cfg.to_dict(), "in_channels": int(images.shape[1])}

    def train_fn(model: RegionClassifier) -> None:
        trained = train_region_classifier(images, labels, grid, num_classes, cfg, backbone, label_smoothing, progress)
        model.load_state_dict(trained.state_dict())

    def build() -> RegionClassifier:
        return RegionClassifier(grid, num_classes, int(images.shape[1]), backbone)

    return cached_model(config, build, train_fn, trains=train_region_classifier)


def _population_labels(dataset: str, split: str, attributes: list[str], root: str | None) -> dict[str, torch.Tensor]:
    if dataset == "celeba":
        from debiaskit.data.faces import celeba_labels

        ds = open_celeba("train" if split == "train" else "valid", root)
        return celeba_labels(ds, sorted({TARGETS["celeba"], *attributes}))
    if dataset == "fairface":
        from debiaskit.data.faces import read_fairface_labels

        return read_fairface_labels(split, root)[1]
    return load_split(dataset, split, attributes, 32, None, 0, root).labels


def _load_rows(dataset: str, split: str, attributes: list[str], image_size: int, rows: torch.Tensor,
               root: str | None) -> AttributeImages:
    if dataset == "celeba":
        return load_celeba("train" if split == "train" else "valid", sorted({TARGETS["celeba"], *attributes}),
                           image_size, rows, root)
    if dataset == "fairface":
        return load_fairface(split, image_size, rows, root)
    return load_split(dataset, split, attributes, image_size, None, 0, root).subset(rows)


def confounder_splits(dataset: str, attribute: str, counts: dict[tuple[int, int], int], test_per_cell: int,
                      image_size: int, seed: int = 0, root: str | None = None
                      ) -> tuple[AttributeImages, AttributeImages, AttributeImages]:
    """The biased training set, the balanced one of the same size and the balanced test set of Section 4.1.

    Training sets come from the ``train`` split, the test set from ``val`` (CelebA's validation split);
    the target is :data:`TARGETS` [dataset] (1 = men).
    """
    from debiaskit.patchattr.subsets import balanced_indices, balanced_test_indices, biased_indices

    gen = torch.Generator().manual_seed(seed)
    target = TARGETS[dataset]
    train_labels = _population_labels(dataset, "train", [attribute], root)
    biased = biased_indices(train_labels[target], train_labels[attribute], counts, gen)
    per_target = sum(n for (t, _), n in counts.items() if t == 1)
    balanced = balanced_indices(train_labels[target], train_labels[attribute], per_target, gen)
    val_labels = _population_labels(dataset, "val", [attribute], root)
    test = balanced_test_indices(val_labels[target], val_labels[attribute], test_per_cell, gen)
    return (_load_rows(dataset, "train", [attribute], image_size, biased, root),
            _load_rows(dataset, "train", [attribute], image_size, balanced, root),
            _load_rows(dataset, "val", [attribute], image_size, test, root))
