"""Shared fixtures: the repo root, and whether the offline MNIST copy is available."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def _has_mnist() -> bool:
    from debiaskit.config import data_root

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
