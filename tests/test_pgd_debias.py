"""Algorithm 2 end to end on a tiny synthetic colour-biased image set (draft, published, ablations), its public
steps, and the presets."""

from __future__ import annotations

import pytest
import torch

from debiaskit.core.models import simple_convnet1
from debiaskit.core.splits import BiasedSplit
import copy
import dataclasses

from debiaskit.baselines import run_method
from debiaskit.core.training import TrainConfig, train
from debiaskit.experiments.cache import cached_model
from debiaskit.pgd import (
    DRAFT,
    PUBLISHED,
    DebiasResult,
    GradientScore,
    GradNormScore,
    MetricScore,
    PGDScores,
    debias,
    debias_from,
    pgd_settings,
    progress_bars,
    sampling_distribution,
    train_biased,
    train_debiased,
)
from debiaskit.pgd.losses import gce_objective
from debiaskit.pgd.metrics import last_layer_grad_norms, training_error
from debiaskit.pgd.probability import effective_sample_size, sampling_probability
from debiaskit.pgd.samplers import published_sampler, rejection_sampler
from debiaskit.pgd.scores import pgd_scores
from debiaskit.pgd.topk import topk_per_sample_grads

pytestmark = pytest.mark.usefixtures("one_thread", "quiet")  # tests/conftest.py; no progress bars below

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


@pytest.fixture(scope="module")
def quiet():
    with progress_bars(False):
        yield


def _check(out: DebiasResult, n: int) -> None:
    assert out.p_s.shape == (n,) and torch.isfinite(out.p_s).all()
    assert float(out.p_s.max()) == pytest.approx(1.0) and float(out.p_s.min()) >= 0
    assert 1 <= out.info["ess"] <= n
    assert not out.biased.training and not out.debiased.training


def _same_state(a: torch.nn.Module, b: torch.nn.Module) -> bool:
    sa, sb = a.state_dict(), b.state_dict()
    return sa.keys() == sb.keys() and all(torch.equal(sa[k], sb[k]) for k in sa)


def test_draft_pipeline(split):
    torch.manual_seed(0)
    out = debias(_model, split, biased_cfg=CFG, debiased_cfg=TrainConfig(**{**CFG.to_dict(), "augment": True}),
                 preset=pgd_settings("draft", k=20, lam=1.0, params="all"))
    _check(out, len(split))
    assert isinstance(out.scores, PGDScores) and out.info["k"] == 20 and out.info["preset"].startswith("draft")
    assert out.info["ess_literal"] <= out.info["ess"] + 1e-9  # stabilising only flattens
    assert out.info["ess"] >= 2 * 32 - 1e-6  # at least two batches of distinct samples
    assert len(out.biased_history) == 1 and len(out.debiased_history) == 1
    before = {k: v.clone() for k, v in out.biased.state_dict().items()}
    assert any(not torch.equal(before[k], v) for k, v in out.debiased.state_dict().items())


def test_published_preset_starts_from_biased_model(split):
    no_training = TrainConfig(**{**CFG.to_dict(), "epochs": 0})
    out = debias(_model, split, biased_cfg=CFG, debiased_cfg=no_training, preset="published")
    _check(out, len(split))
    assert out.info["score"] == "gradnorm" and out.info["sampler"] == "published" and out.info["preset"] == "published"
    assert _same_state(out.biased, out.debiased)
    out_draft = debias(_model, split, biased_cfg=CFG, debiased_cfg=no_training,
                       preset=pgd_settings("draft", score="gradnorm"))
    assert not _same_state(out_draft.biased, out_draft.debiased)


def test_the_chain_is_the_papers_loop_written_out(split):
    """debias() against Algorithm 2 written out with the primitives: GCE training, the draft's scores S from the
    k-dominant gradients (Eq. 1), the stabilised p_s (Section 4.2), Algorithm 1's batches; and the published
    version: the gradient p-norm, draws with replacement, f_d from f_b. Bit for bit."""
    dcfg = TrainConfig(**{**CFG.to_dict(), "augment": True})
    # the draft, written out (networks from the global generator: seeded the same before each run)
    torch.manual_seed(1)
    f_b = _model()
    train(f_b, split, CFG, objective=gce_objective(0.7), progress=False)
    top = topk_per_sample_grads(f_b, split.x, split.y, 20, "last_linear", 512)
    s = pgd_scores(top.grads, split.y, 1.0)
    p_s, _ = sampling_probability(s.log_s, "balanced", "auto", None, 2 * dcfg.batch_size,
                                  training_error(f_b, split.x, split.y, 512))
    f_d = train(_model(), split, dcfg, sampler=rejection_sampler(p_s, dcfg.batch_size, seed=dcfg.seed),
                progress=False).model
    torch.manual_seed(1)
    out = debias(_model, split, biased_cfg=CFG, debiased_cfg=dcfg, preset=pgd_settings("draft", k=20))
    assert torch.equal(out.p_s, p_s) and _same_state(out.biased, f_b) and _same_state(out.debiased, f_d)
    assert out.info["ess"] == pytest.approx(effective_sample_size(p_s))
    # the published version, written out
    torch.manual_seed(2)
    f_b = _model()
    train(f_b, split, CFG, objective=gce_objective(0.7), progress=False)
    norms = last_layer_grad_norms(f_b, split.x, split.y, p=0.7)
    p_pub = norms.double() / norms.double().max()
    f_d = train(copy.deepcopy(f_b).train(), split, dcfg, sampler=published_sampler(p_pub, dcfg.batch_size, seed=dcfg.seed),
                progress=False).model
    torch.manual_seed(2)
    out = debias(_model, split, biased_cfg=CFG, debiased_cfg=dcfg, preset=PUBLISHED)
    assert torch.equal(out.p_s, p_pub) and _same_state(out.debiased, f_d)


def test_steps_compose_to_debias(split):
    """The public steps, called one by one, give debias()'s models and p_s."""
    torch.manual_seed(3)
    f_b = _model()
    assert len(train_biased(f_b, split, cfg=CFG).history) == 1
    scores = GradientScore(k=20)(f_b, split)
    p_s, info = sampling_distribution(scores, min_ess=2 * CFG.batch_size,
                                      error_rate=training_error(f_b, split.x, split.y, 512))
    f_d = train_debiased(_model(), split, p_s, cfg=CFG).model
    torch.manual_seed(3)
    out = debias(_model, split, biased_cfg=CFG, debiased_cfg=CFG, preset=pgd_settings(DRAFT, k=20))
    assert torch.equal(out.p_s, p_s) and _same_state(out.debiased, f_d) and info["ess"] == out.info["ess"]
    again = debias_from(out.biased, _model, split, debiased_cfg=CFG, preset=pgd_settings(DRAFT, k=20))
    assert torch.equal(again.p_s, p_s) and again.biased_history == []


@pytest.mark.parametrize("changes", [
    {"score": "pgd", "sampler": "multinomial", "params": "last_linear", "k": 10},
    {"score": "pgd", "objective": "reweight", "params": "last_linear", "stabilise": "rank", "target_ess": 0.5},
    {"score": "loss"},
    {"score": "softmax", "sampler": "published"},
])
def test_settings(split, changes):
    out = debias(_model, split, biased_cfg=CFG, debiased_cfg=CFG, preset=pgd_settings("draft", **changes))
    _check(out, len(split))


def test_denoising_first(split):
    noisy = BiasedSplit(split.x, split.y.clone(), split.bias)
    noisy.y[:12] = (noisy.y[:12] + 1) % K
    out = debias(_model, noisy, biased_cfg=CFG, debiased_cfg=CFG, preset=pgd_settings("draft", score="loss"),
                 denoise_cfg=CFG)
    assert out.denoise is not None
    n_clean = int(out.denoise.clean.sum())
    assert out.info["n_clean"] == n_clean and out.p_s.shape == (n_clean,)


def test_a_store_reuses_the_biased_model_and_changes_nothing_else(split, tmp_path, monkeypatch):
    monkeypatch.setenv("DEBIASKIT_CACHE", str(tmp_path))
    options = {"preset": "draft", "score": "loss"}

    def _seeded():  # as the notebooks' factories: the same initial weights on every call
        torch.manual_seed(4)
        return _model()

    first = run_method("pgd", _seeded, split, CFG, biased_cfg=CFG, store=cached_model, progress=False, **options)
    second = run_method("pgd", _seeded, split, CFG, biased_cfg=CFG, store=cached_model, progress=False, **options)
    plain = run_method("pgd", _seeded, split, CFG, biased_cfg=CFG, progress=False, **options)
    assert len(first.history) == 2 and len(second.history) == 1  # the second run is a cache hit
    assert _same_state(first.extras["biased"], second.extras["biased"])
    assert torch.equal(first.extras["p_s"], second.extras["p_s"]) and torch.equal(first.extras["p_s"], plain.extras["p_s"])
    assert _same_state(first.model, plain.model)


def test_presets_are_values_and_changes_are_checked():
    assert PUBLISHED.score == GradNormScore(p_norm=0.7) and PUBLISHED.init_from_biased and DRAFT.score == GradientScore()
    assert pgd_settings("draft") is DRAFT and pgd_settings(PUBLISHED) is PUBLISHED
    changed = pgd_settings("draft", k=20, lam=0.0)
    assert changed.score == GradientScore(k=20, lam=0.0) and DRAFT.score.k == 100  # the preset itself is untouched
    assert pgd_settings("published", p_norm=2.0).score == GradNormScore(p_norm=2.0)
    assert pgd_settings("draft", score="logit").score == MetricScore("logit")
    with pytest.raises(ValueError, match=r"unknown PGD settings \['kk'\].*GradientScore has"):
        pgd_settings("draft", kk=3)
    with pytest.raises(ValueError, match="preset must be one of"):
        pgd_settings("nope")
    with pytest.raises(ValueError, match="score must be one of"):
        pgd_settings("draft", score="nope")
    with pytest.raises(ValueError, match="sampler must be one of"):
        pgd_settings("draft", sampler="nope")
    with pytest.raises(ValueError, match=r"q \(GCE's exponent\) must be in \(0, 1\]"):
        pgd_settings("draft", q=0)
    with pytest.raises(ValueError, match="k .* must be a positive integer"):
        GradientScore(k=0)
    with pytest.raises(TypeError, match="score must be a scorer object"):
        dataclasses.replace(DRAFT, score="pgd")
    with pytest.raises(TypeError, match="takes 2 positional arguments|positional"):
        debias(_model, None, CFG, CFG)  # settings are keyword-only


def test_steps_and_bad_input(split):
    model = _model().eval()
    scores = GradientScore(k=15)(model, split)
    assert len(scores.coordinates) == 15 and set(scores.kappa) == set(range(K))
    with pytest.raises(ValueError, match="empty"):
        debias(_model, split.subset(torch.zeros(len(split), dtype=torch.bool)), biased_cfg=CFG, debiased_cfg=CFG)
    with pytest.raises(ValueError, match="one probability per training sample"):
        train_debiased(_model(), split, torch.ones(3), cfg=CFG)
    with pytest.raises(TypeError, match="scores must be PGDScores"):
        sampling_distribution([0.1, 0.2])
    with pytest.raises(TypeError, match="biased must be the trained biased model"):
        debias_from(_model, _model, split, debiased_cfg=CFG)


def test_the_analyses_debiased_model_takes_the_steps_choices_and_checks_them_at_the_door():
    from debiaskit.experiments.analysis_runs import debiased_model

    with pytest.raises(ValueError, match=r"mode must be one of \('resample', 'reweight'\), got 'nope'"):
        debiased_model(None, TrainConfig(), torch.ones(3), mode="nope")  # before the data or a cache key is read
    with pytest.raises(ValueError, match=r"sampler must be one of \('rejection', 'multinomial', 'published'\), got 'x'"):
        debiased_model(None, TrainConfig(), torch.ones(3), sampler="x")
