"""Algorithm 2 end to end on a tiny synthetic colour-biased image set (draft, published, ablations)."""

from __future__ import annotations

import pytest
import torch

from debiaskit.core.models import simple_convnet1
from debiaskit.core.splits import BiasedSplit
from debiaskit.core.training import TrainConfig
from debiaskit.experiments.cache import cached_model
from debiaskit.pgd import DebiasResult, PGDScores, debias, score_samples

pytestmark = pytest.mark.usefixtures("one_thread")  # tests/conftest.py

K = 3


def _split(n=240, seed=0) -> BiasedSplit:
    """Class = a bright square's position; bias = the square's colour (agreeing for 90%)."""
    g = torch.Generator().manual_seed(seed)
    y = torch.randint(0, K, (n,), generator=g)
    minor = torch.rand(n, generator=g) < 0.1
    bias = torch.where(minor, (y + torch.randint(1, K, (n,), generator=g)) % K, y)
    x = torch.rand(n, 3, 8, 8, generator=g) * 0.1
    for i in range(n):
        r = 2 * int(y[i])
        x[i, int(bias[i]), r:r + 2, 1:7] = 1.0
    return BiasedSplit(x, y, bias)


def _model():
    return simple_convnet1(in_channels=3, num_classes=K)


CFG = TrainConfig(epochs=1, batch_size=32, lr=0.05, lr_milestones=(), augment=False, device="cpu")


@pytest.fixture(scope="module")
def split():
    return _split()


def _check(out: DebiasResult, n: int) -> None:
    assert out.p_s.shape == (n,) and torch.isfinite(out.p_s).all()
    assert float(out.p_s.max()) == pytest.approx(1.0) and float(out.p_s.min()) >= 0
    assert 1 <= out.info["ess"] <= n
    assert not out.biased.training and not out.debiased.training


def test_draft_pipeline(split):
    torch.manual_seed(0)
    out = debias(_model, split, CFG, TrainConfig(**{**CFG.to_dict(), "augment": True, "lr_milestones": ()}),
                 score="pgd", k=20, lam=1.0, params="all", progress=False)
    _check(out, len(split))
    assert isinstance(out.scores, PGDScores) and out.info["k"] == 20
    assert out.info["ess_literal"] <= out.info["ess"] + 1e-9  # stabilising only flattens
    assert out.info["ess"] >= 2 * 32 - 1e-6  # at least two batches of distinct samples
    assert len(out.biased_history) == 1 and len(out.debiased_history) == 1
    before = {k: v.clone() for k, v in out.biased.state_dict().items()}
    assert any(not torch.equal(before[k], v) for k, v in out.debiased.state_dict().items())


def test_published_variant_starts_from_biased_model(split):
    no_training = TrainConfig(**{**CFG.to_dict(), "epochs": 0, "lr_milestones": ()})
    out = debias(_model, split, CFG, no_training, variant="published", progress=False)
    _check(out, len(split))
    assert out.info["score"] == "gradnorm" and out.info["sampler"] == "published"
    for key, value in out.biased.state_dict().items():
        assert torch.equal(value, out.debiased.state_dict()[key])
    out_draft = debias(_model, split, CFG, no_training, score="gradnorm", progress=False)
    assert any(not torch.equal(v, out_draft.debiased.state_dict()[k]) for k, v in out_draft.biased.state_dict().items())


@pytest.mark.parametrize("kwargs", [
    {"score": "pgd", "sampler": "multinomial", "params": "last_linear", "k": 10},
    {"score": "pgd", "objective": "reweight", "params": "last_linear", "stabilise": "rank"},
    {"score": "loss"},
    {"score": "softmax", "sampler": "published"},
])
def test_options(split, kwargs):
    out = debias(_model, split, CFG, CFG, progress=False, **kwargs)
    _check(out, len(split))


def test_denoising_first(split):
    noisy = BiasedSplit(split.x, split.y.clone(), split.bias)
    noisy.y[:12] = (noisy.y[:12] + 1) % K
    out = debias(_model, noisy, CFG, CFG, score="loss", denoise_cfg=CFG, progress=False)
    assert out.denoise is not None
    n_clean = int(out.denoise.clean.sum())
    assert out.info["n_clean"] == n_clean and out.p_s.shape == (n_clean,)


def test_cache_reuses_biased_model(split, tmp_path, monkeypatch):
    monkeypatch.setenv("DEBIASKIT_CACHE", str(tmp_path))
    first = debias(_model, split, CFG, CFG, score="loss", store=cached_model, progress=False)
    second = debias(_model, split, CFG, CFG, score="loss", store=cached_model, progress=False)
    assert len(first.biased_history) == 1 and second.biased_history == []  # the second run is a cache hit
    for key, value in first.biased.state_dict().items():
        assert torch.equal(value, second.biased.state_dict()[key])
    assert torch.allclose(first.p_s, second.p_s)


def test_score_samples_and_bad_input(split):
    model = _model().eval()
    p, scores, info = score_samples(model, split.x, split.y, "pgd", k=15, params="last_linear")
    assert p.shape == (len(split),) and info["k"] == 15 and set(info["kappa"]) == set(range(K))
    with pytest.raises(ValueError, match="empty"):
        debias(_model, split.subset(torch.zeros(len(split), dtype=torch.bool)), CFG, CFG, progress=False)
    with pytest.raises(ValueError, match="score"):
        score_samples(model, split.x, split.y, "nope")
    with pytest.raises(ValueError, match="variant"):
        debias(_model, split, CFG, CFG, variant="nope", progress=False)
