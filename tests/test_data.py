"""Colored / Watermarked MNIST follow the draft's construction rules; offline errors are precise."""

import gzip

import pytest
import torch
from conftest import needs_mnist

from debiaskit.data import sources
from debiaskit.data.colored_mnist import class_colours, colored_mnist
from debiaskit.data.sources import DataUnavailableError, load_mnist
from debiaskit.data.watermarked_mnist import watermark, watermarked_mnist


@needs_mnist
@pytest.mark.parametrize("ratio", [0.995, 0.95])
def test_colored_mnist_structure(ratio):
    b = colored_mnist(ratio, 1e-4, seed=3, n_train=10000, n_test=2000)
    full = len(b.train) + len(b.val)
    assert len(b.val) == round(0.1 * full)  # biased validation = 10% of the training set
    n_minor = int((~b.train.major).sum() + (~b.val.major).sum())
    assert n_minor == round((1 - ratio) * full)
    assert torch.equal(b.train.major, b.train.bias == b.train.y)
    assert abs(b.test.minority_ratio - 0.5) < 1e-9
    # the digit carries its (jittered) colour: the brightest pixel's RGB is close to the palette colour
    palette = class_colours()
    x = b.train.x[:200]
    flat = x.flatten(2)
    idx = flat.sum(1).argmax(1)
    rgb = flat[torch.arange(len(x)), :, idx]
    gray = rgb.max(1).values / palette[b.train.bias[:200]].max(1).values
    assert torch.allclose(rgb, palette[b.train.bias[:200]] * gray[:, None], atol=0.06)


@needs_mnist
def test_colored_mnist_is_deterministic_and_seed_dependent():
    a = colored_mnist(0.99, seed=1, n_train=3000, n_test=500)
    b = colored_mnist(0.99, seed=1, n_train=3000, n_test=500)
    c = colored_mnist(0.99, seed=2, n_train=3000, n_test=500)
    assert torch.equal(a.train.x, b.train.x) and torch.equal(a.test.bias, b.test.bias)
    assert not torch.equal(a.train.x, c.train.x)


@needs_mnist
def test_random_colour_test_set():
    b = colored_mnist(0.99, seed=0, n_train=2000, n_test=5000, test_minority="random")
    share = float(b.test.major.float().mean())
    assert 0.07 < share < 0.13  # one colour in ten matches the label


def test_palette_is_separated():
    p = class_colours()
    d = torch.cdist(p, p) + 10 * torch.eye(10)
    assert d.min() >= 0.3 and p.shape == (10, 3)


def test_watermark_places_object_at_offset():
    digits = torch.zeros(2, 28, 28, dtype=torch.uint8)
    objects = torch.full((2, 28, 28), 255, dtype=torch.uint8)
    out = watermark(digits, objects, torch.tensor([0, 5]))
    assert out.shape == (2, 1, 56, 56)
    assert out[0, 0, :28, :28].min() == 1 and out[0, 0, 28:, :].max() == 0
    assert out[1, 0, 5:33, 5:33].min() == 1 and out[1, 0, :5].max() == 0 and out[1, 0, 33:].max() == 0


@needs_mnist
def test_watermarked_mnist_structure():
    b = watermarked_mnist(0.99, 16, seed=0, n_train=5000, n_test=1000)
    assert b.train.x.shape[1:] == (1, 56, 56)
    assert torch.equal(b.train.major, b.train.bias == b.train.y)
    n_minor = int((~b.train.major).sum() + (~b.val.major).sum())
    assert n_minor == round(0.01 * 5000)
    # nothing is pasted below row 16 + 28 outside the upscaled digit: the bottom-right corner is the digit's
    assert b.train.x.shape[0] == 4500


def test_missing_data_offline_names_the_setting(tmp_path, monkeypatch):
    def no_network(*args, **kwargs):
        raise OSError("network is unreachable")

    monkeypatch.setattr(sources.datasets.MNIST, "download", no_network)
    sources._load_mnist_like.cache_clear()
    with pytest.raises(DataUnavailableError) as info:
        load_mnist(root=tmp_path)
    msg = str(info.value)
    assert "DEBIASKIT_DATA" in msg and "train-images-idx3-ubyte.gz" in msg and "network is unreachable" in msg


def test_corrupted_file_is_reported(tmp_path, monkeypatch):
    raw = tmp_path / "MNIST" / "raw"
    raw.mkdir(parents=True)
    for name in ("train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz", "t10k-images-idx3-ubyte.gz",
                 "t10k-labels-idx1-ubyte.gz"):
        (raw / name).write_bytes(gzip.compress(b"not an idx file"))
    monkeypatch.setattr(sources.datasets.MNIST, "download", lambda self: (_ for _ in ()).throw(OSError("offline")))
    sources._load_mnist_like.cache_clear()
    with pytest.raises(DataUnavailableError, match="corrupted .*train-images-idx3-ubyte.gz"):
        load_mnist(root=tmp_path)
