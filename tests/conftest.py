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


@pytest.fixture
def repo_root() -> Path:
    return ROOT


@pytest.fixture
def isolated_cache(tmp_path, monkeypatch) -> Path:
    monkeypatch.setenv("DEBIASKIT_CACHE", str(tmp_path / "cache"))
    return tmp_path / "cache"


def pytest_report_header(config):
    return f"DEBIASKIT_DATA={os.environ.get('DEBIASKIT_DATA', '(unset)')}"
