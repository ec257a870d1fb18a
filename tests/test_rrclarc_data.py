"""The pasted-artifact benchmark and the CelebA loader (on a fixture folder made here)."""

import os
from pathlib import Path

import pytest
import torch
from conftest import needs_mnist, write_celeba
from PIL import Image

from debiaskit.data.sources import DataUnavailableError
from debiaskit.rrclarc.celeba import celeba_benchmark
from debiaskit.rrclarc.data import artifact_benchmark, artifact_mask, paste_artifact


def test_mask_and_paste():
    mask = artifact_mask((6, 5), size=2, corner="bottom_right", margin=1)
    assert mask.sum() == 4 and mask[3:5, 2:4].all()
    x = torch.zeros(3, 1, 6, 5)
    out = paste_artifact(x, mask, 0.8, where=torch.tensor([True, False, True]))
    assert out[0, 0][mask].eq(0.8).all() and out[1].eq(0).all() and out[0, 0][~mask].eq(0).all()
    assert x.eq(0).all(), "the input must not change"
    with pytest.raises(ValueError, match="corner"):
        artifact_mask((6, 6), corner="middle")
    with pytest.raises(ValueError, match="does not fit"):
        artifact_mask((4, 4), size=4)


@needs_mnist
def test_artifact_benchmark_places_the_artifact_as_promised():
    root = os.environ.get("DEBIASKIT_DATA", "/work/shared/data")
    b = artifact_benchmark("mnist", biased_class=3, artifact_share=0.75, n_train=2000, n_test=500, root=root)
    t = b.train
    in_class = t.y == 3
    assert abs(float(t.bias[in_class].float().mean()) - 0.75) < 0.01
    assert t.bias[~in_class].sum() == 0
    assert t.x[t.bias == 1][:, 0][:, b.mask].eq(1).all()
    assert b.clean.bias.sum() == 0 and b.attacked.bias.eq(1).all()
    assert torch.equal(b.attacked.x, b.with_artifact(b.clean.x))
    assert b.as_trained.bias[b.as_trained.y != 3].sum() == 0
    with pytest.raises(ValueError, match="artifact_share"):
        artifact_benchmark("mnist", artifact_share=0.0, root=root)


def _fixture(root: Path, n: int = 8) -> Path:
    """Eight CelebA images: 5 train, 1 valid, 2 test, with Blond_Hair (the target), Smiling and Wearing_Necktie."""
    images = [Image.new("RGB", (178, 218), (30 * i, 100, 200)) for i in range(n)]
    attributes = {"Blond_Hair": [1, -1, 1, -1, -1, 1, 1, -1], "Smiling": [1] * n, "Wearing_Necktie": [1, -1, -1, 1, -1, -1, 1, -1]}
    write_celeba(root, images, attributes, partitions=[0, 0, 0, 0, 0, 1, 2, 2])
    return root


def test_celeba_loader_on_a_fixture(tmp_path, isolated_cache):
    root = _fixture(tmp_path)
    b = celeba_benchmark(image_size=32, n_train=None, n_test=None, root=str(root), verify=False)
    assert b.train.x.shape == (5, 3, 32, 32) and b.train.x.dtype == torch.float32
    assert sorted(b.train.y.tolist()) == [0, 0, 0, 1, 1]
    # train images 1..5: blond [1,0,1,0,0], necktie [1,0,0,1,0]; the order is a random permutation
    pairs = sorted(zip(b.train.y.tolist(), b.train.bias.tolist()))
    assert pairs == [(0, 0), (0, 0), (0, 1), (1, 0), (1, 1)]
    assert len(b.as_trained) == 2 and len(b.attacked) == 1 and len(b.clean) == 1
    assert b.attacked.y.tolist() == [1] and b.mask is None and b.num_classes == 2
    with pytest.raises(ValueError, match="cannot be pasted"):
        b.with_artifact(b.clean.x)
    with pytest.raises(ValueError, match="no attribute 'Eyeglasses'"):
        celeba_benchmark(artifact="Eyeglasses", image_size=32, root=str(root), verify=False)


def test_missing_celeba_gives_a_clear_error(tmp_path):
    with pytest.raises(DataUnavailableError, match="(?s)CelebA is not available.*missing .*list_attr_celeba.txt.*DEBIASKIT_DATA"):
        celeba_benchmark(root=str(tmp_path))
    with pytest.raises(DataUnavailableError, match="MD5"):
        celeba_benchmark(root=str(_fixture(tmp_path)), verify=True)


@needs_mnist
def test_correction_setup_is_the_cached_biased_model_its_latents_and_the_signal_cav(isolated_cache):
    """``correction_setup`` assembles what the trade-off and heatmap notebooks share: the biased model (trained
    once, then a cache hit), its latents, the CAV fitted on the biased class with vs without the artifact and
    the two fine-tuning optimisers."""
    from debiaskit.experiments.rrclarc import compute_latents, concept_data, correction_setup
    from debiaskit.rrclarc.cav import fit_cav

    root = os.environ.get("DEBIASKIT_DATA", "/work/shared/data")
    bench = artifact_benchmark("mnist", biased_class=3, artifact_share=0.75, n_train=512, n_test=128, root=root)
    args = (bench, "simple_convnet1", 1, 0.05, "body", "signal", "max", 3, 2, 64, 0.01, 100, 0)
    setup, hit = correction_setup(*args)
    again, hit_again = correction_setup(*args)
    assert (hit, hit_again) == (False, True)
    latents = compute_latents(setup.model, bench, "body")
    assert torch.allclose(setup.cav, fit_cav(*concept_data(bench, latents, "max"), "signal", seed=0))
    assert torch.allclose(again.cav, setup.cav) and torch.allclose(again.latents["train"], setup.latents["train"])
    assert (setup.finetune_cfg.epochs, setup.rrr_cfg.epochs, setup.finetune_cfg.batch_size) == (3, 2, 64)
    assert setup.finetune_cfg.weight_decay == 0.0 and setup.finetune_cfg.lr_milestones == ()
    assert setup.rrr_subset == 100 and not setup.model.training  # the biased model comes back in eval mode
