"""Shared fixtures: the repo root, whether the offline MNIST copy is available, and a CelebA fixture writer."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def _has_mnist() -> bool:
    from debiaskit.core.config import data_root

    return (data_root() / "MNIST" / "raw" / "train-images-idx3-ubyte.gz").exists()


needs_mnist = pytest.mark.skipif(not _has_mnist(), reason="MNIST not under the data root (set DEBIASKIT_DATA)")


@pytest.fixture(scope="module")
def one_thread():
    """Tiny tensors: one intra-op thread is faster, and robust on a shared, busy CPU (a test module opts in with
    ``pytestmark = pytest.mark.usefixtures("one_thread")``)."""
    import torch

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.fixture
def repo_root() -> Path:
    return ROOT


@pytest.fixture
def isolated_cache(tmp_path, monkeypatch) -> Path:
    monkeypatch.setenv("DEBIASKIT_CACHE", str(tmp_path / "cache"))
    return tmp_path / "cache"


def pytest_report_header(config):
    return f"DEBIASKIT_DATA={os.environ.get('DEBIASKIT_DATA', '(unset)')}"


def write_celeba(root: Path, images: list, attributes: dict[str, list[int]], partitions: list[int]) -> list[str]:
    """A tiny CelebA in torchvision's layout under ``root/celeba``: one JPEG per PIL image of ``images``, the
    +-1 ``attributes`` per image, and ``partitions`` (0 train, 1 valid, 2 test). Returns the file names."""
    folder = root / "celeba"
    (folder / "img_align_celeba").mkdir(parents=True)
    n = len(images)
    names = [f"{i + 1:06d}.jpg" for i in range(n)]
    for image, name in zip(images, names):
        image.save(folder / "img_align_celeba" / name)
    rows = "".join(f"{nm} " + " ".join(f"{attributes[a][i]:2d}" for a in attributes) + "\n" for i, nm in enumerate(names))
    (folder / "list_attr_celeba.txt").write_text(f"{n}\n" + " ".join(attributes) + "\n" + rows)
    (folder / "list_eval_partition.txt").write_text("".join(f"{nm} {p}\n" for nm, p in zip(names, partitions)))
    (folder / "identity_CelebA.txt").write_text("".join(f"{nm} {i}\n" for i, nm in enumerate(names)))
    (folder / "list_bbox_celeba.txt").write_text(
        f"{n}\nimage_id x_1 y_1 width height\n" + "".join(f"{nm} 1 2 3 4\n" for nm in names))
    (folder / "list_landmarks_align_celeba.txt").write_text(
        f"{n}\nlefteye_x lefteye_y righteye_x righteye_y nose_x nose_y leftmouth_x leftmouth_y rightmouth_x rightmouth_y\n"
        + "".join(f"{nm} " + " ".join(["1"] * 10) + "\n" for nm in names))
    return names


def with_notebook_entries(doc: dict) -> dict:
    """Test manifests are written artifact by artifact; ``papers.yaml`` keeps each notebook's profiles and minutes
    once, in the paper's ``notebooks`` list: move them there (in place; returns ``doc``)."""
    for paper in doc["papers"]:
        entries = {n["path"]: n for n in paper.get("notebooks") or []}
        for art in paper.get("artifacts") or []:
            profiles, minutes = art.pop("profiles", None), art.pop("estimated_minutes", None)
            if profiles is not None:
                entry = entries.setdefault(art["notebook"], {"path": art["notebook"]})
                entry["profiles"] = profiles
                if minutes is not None:
                    entry["estimated_minutes"] = minutes
        paper["notebooks"] = list(entries.values())
    return doc


def tiny_split(n: int, classes: int = 3):
    """``n`` random 3 x 12 x 12 images whose labels cycle through ``classes``, bias label = label: the inputs of the
    equation tests, which check a method's objective on a handful of samples."""
    import torch

    from debiaskit.core.splits import BiasedSplit

    g = torch.Generator().manual_seed(0)
    x = torch.rand(n, 3, 12, 12, generator=g)
    y = torch.arange(n) % classes
    return BiasedSplit(x, y, bias=y.clone())


def capture_training(monkeypatch, module) -> dict:
    """Replace ``module.train`` by a stub that trains nothing and records the ``model`` and ``objective`` a
    method's ``fit`` hands it; returns the dict they are recorded in."""
    from debiaskit.core.training import TrainResult

    seen: dict = {}

    def fake_train(model, data, cfg, objective=None, **kw):
        seen["model"], seen["objective"] = model, objective
        return TrainResult(model=model)

    monkeypatch.setattr(module, "train", fake_train)
    return seen
