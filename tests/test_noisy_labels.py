"""Noisy labels (PGD Appendix B.3), FINE (Table 16's comparison) and Algorithm 3 through the model cache."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from scipy import stats

from debiaskit.baselines.fine import alignment_scores, class_direction, fine_split_features, gmm_clean_posterior
from debiaskit.core.splits import BiasedBenchmark, BiasedSplit
from debiaskit.core.training import TrainConfig, evaluate
from debiaskit.data.label_noise import flip_labels, noise_groups, with_label_noise
from debiaskit.experiments.denoising import denoised_benchmark, noise_model
from debiaskit.experiments.runs import trained_model
from debiaskit.experiments.suite import warm_models
from debiaskit.pgd.analysis.denoising import auroc, group_means, kept_counts, separation, split_quality
from debiaskit.pgd.denoise import split_by_compensated_loss


def _split(n=2000, classes=10, minority=0.05, seed=0) -> BiasedSplit:
    g = torch.Generator().manual_seed(seed)
    y = torch.randint(0, classes, (n,), generator=g)
    minor = torch.rand(n, generator=g) < minority
    bias = torch.where(minor, (y + torch.randint(1, classes, (n,), generator=g)) % classes, y)
    return BiasedSplit(torch.rand(n, 3, 4, 4, generator=g), y, bias)


def test_flip_rule_rate_other_class_and_seeded():
    clean = _split()
    noisy = flip_labels(clean, 0.1, 10, torch.Generator().manual_seed(3))
    assert int(noisy.noisy.sum()) == 200  # exactly round(0.1 N)
    assert torch.equal(noisy.noisy, noisy.y != clean.y)  # every flip changes the label ...
    assert torch.equal(noisy.clean_y, clean.y) and torch.equal(noisy.major, clean.major)  # ... truth is kept
    again = flip_labels(clean, 0.1, 10, torch.Generator().manual_seed(3))
    other = flip_labels(clean, 0.1, 10, torch.Generator().manual_seed(4))
    assert torch.equal(again.y, noisy.y) and not torch.equal(other.y, noisy.y)
    assert int(flip_labels(clean, 0.0, 10, torch.Generator()).noisy.sum()) == 0


def test_flipped_labels_are_uniform_over_the_other_classes_and_blind_to_the_bias():
    clean = _split(n=20000, minority=0.2)
    noisy = flip_labels(clean, 0.3, 10, torch.Generator().manual_seed(0))
    shift = ((noisy.y - clean.y) % 10)[noisy.noisy]
    counts = torch.bincount(shift, minlength=10).numpy()
    assert counts[0] == 0
    assert stats.chisquare(counts[1:]).pvalue > 1e-3  # the nine other classes equally likely
    # candidates are drawn regardless of majority/minority: both groups flipped at the same rate
    table = [[int((noisy.noisy & m).sum()), int((~noisy.noisy & m).sum())] for m in (clean.major, ~clean.major)]
    assert stats.chi2_contingency(table).pvalue > 1e-3
    assert noise_groups(noisy) == {"clean_major": table[0][1], "clean_minor": table[1][1],
                                   "noisy_major": table[0][0], "noisy_minor": table[1][0]}


def test_bad_noise_input_is_refused():
    clean = _split(n=50)
    with pytest.raises(ValueError, match=r"\[0, 1\)"):
        flip_labels(clean, 1.0, 10, torch.Generator())
    with pytest.raises(ValueError, match="two classes"):
        flip_labels(clean, 0.1, 1, torch.Generator())
    noisy = flip_labels(clean, 0.1, 10, torch.Generator())
    with pytest.raises(ValueError, match="already"):
        flip_labels(noisy, 0.1, 10, torch.Generator())


def test_benchmark_noise_flips_train_and_val_not_test_and_subsets_keep_the_flags():
    bench = BiasedBenchmark("toy", _split(seed=0), _split(n=300, seed=1), _split(n=300, seed=2), 10, {"seed": 5})
    assert with_label_noise(bench, 0.0) is bench  # clean models are shared with the clean benchmark
    noisy = with_label_noise(bench, 0.05)
    assert noisy.meta["label_noise"] == 0.05 and "label_noise" not in bench.meta
    assert int(noisy.train.noisy.sum()) == 100 and int(noisy.val.noisy.sum()) == 15
    assert noisy.test is bench.test and noisy.test.noisy is None
    assert torch.equal(with_label_noise(bench, 0.05).train.y, noisy.train.y)  # seeded by the benchmark's seed
    part = noisy.train.subset(torch.arange(0, 2000, 2))
    assert torch.equal(part.noisy, noisy.train.noisy[::2]) and torch.equal(part.clean_y, noisy.train.clean_y[::2])


def test_split_and_quality_on_hand_made_logits():
    # three confident-and-right, one confident-but-contradicted (noisy), one uncertain rare sample
    logits = torch.tensor([[6.0, 0, 0], [0, 6.0, 0], [0, 0, 6.0], [6.0, 0, 0], [0.4, 0.2, 0.0]], dtype=torch.float64)
    y = torch.tensor([0, 1, 2, 2, 1])
    split = split_by_compensated_loss(logits, y)
    logp = F.log_softmax(logits, 1)
    loss = -logp[torch.arange(5), y]
    entropy = -(logp.exp() * logp).sum(1)
    assert split.threshold == pytest.approx(float(loss.sum() / entropy.sum()))
    assert split.noisy.tolist() == [False, False, False, True, False]
    data = BiasedSplit(torch.zeros(5, 1, 1, 1), y, torch.tensor([0, 1, 2, 0, 0]),
                       torch.tensor([True, True, True, True, False]), noisy=torch.tensor([False, False, False, True, False]))
    q = split_quality(data, split.clean)
    assert q["noise_precision"] == 100.0 and q["noise_recall"] == 100.0 and q["kept_clean_minor"] == 100.0
    assert q["kept_noisy_minor"] is None
    assert kept_counts(data, split.clean) == {"clean_major": 3, "clean_minor": 1, "noisy_major": 0, "noisy_minor": 0}
    sep = separation(data, split)
    assert sep["auroc_compensated_noisy_vs_clean"] == 1.0 and sep["auroc_loss_noisy_vs_clean_minor"] == 1.0
    means = group_means(data, split)
    assert means["mean_loss_noisy_major"] == pytest.approx(1.0)  # the largest loss, normalised by itself
    assert means["mean_entropy_clean_minor"] == pytest.approx(1.0)  # the most uncertain sample
    assert means["mean_loss_clean_major"] == pytest.approx(float(loss[:3].mean() / loss.max()))
    assert means["mean_loss_noisy_minor"] is None


def test_auroc_is_the_mann_whitney_statistic_with_infinite_scores():
    pos, neg = torch.tensor([3.0, 1.0, float("inf")]), torch.tensor([0.5, 1.0, 2.0, 4.0])
    pairs = [(p > n) + 0.5 * (p == n) for p in pos.tolist() for n in neg.tolist()]
    assert auroc(pos, neg) == pytest.approx(float(np.mean(pairs)))
    assert auroc(pos, neg[:0]) is None


def test_fine_direction_is_the_top_singular_vector():
    z = torch.randn(200, 16, generator=torch.Generator().manual_seed(0)) + torch.linspace(0, 3, 16)
    v = class_direction(z)
    _, _, vh = torch.linalg.svd(z.double(), full_matrices=False)
    assert torch.allclose(v.abs(), vh[0].abs(), atol=1e-10)
    loop = torch.tensor([abs(float(v @ row.double())) / float(row.double().norm()) for row in z], dtype=torch.float64)
    assert torch.allclose(alignment_scores(z, v), loop)


def test_fine_posterior_picks_the_higher_mean_component():
    g = torch.Generator().manual_seed(1)
    scores = torch.cat([0.9 + 0.02 * torch.randn(300, generator=g), 0.2 + 0.05 * torch.randn(30, generator=g)])
    post = gmm_clean_posterior(scores)
    assert (post[:300] > 0.5).all() and (post[300:] < 0.5).all()
    assert torch.equal(gmm_clean_posterior(torch.full((5,), 0.3)), torch.ones(5, dtype=torch.float64))


def test_fine_drops_mislabelled_samples_and_rare_clean_ones_on_a_constructed_case():
    """Features follow the true class (an orthogonal direction each); a rare sub-population of every class
    lies off its class's direction (a bias-conflicting look). FINE drops the flipped labels (they align with
    another class) and, being blind to why a sample is off-direction, the rare clean ones too."""
    g = torch.Generator().manual_seed(0)
    classes, d, n = 4, 12, 1200
    y = torch.randint(0, classes, (n,), generator=g)
    rare = torch.rand(n, generator=g) < 0.03
    basis = torch.eye(d)
    z = basis[y] * 5 + torch.where(rare[:, None], basis[8 + y] * 15, torch.zeros(n, d)) + 0.3 * torch.randn(n, d, generator=g)
    flip = torch.rand(n, generator=g) < 0.1
    label = torch.where(flip, (y + torch.randint(1, classes, (n,), generator=g)) % classes, y)
    out = fine_split_features(z, label)
    assert out.noisy[flip].float().mean() > 0.95
    assert out.clean[~flip & ~rare].float().mean() > 0.95
    assert out.clean[~flip & rare].float().mean() < 0.2
    with pytest.raises(ValueError, match="differ"):
        fine_split_features(z, label[:-1])


def _tiny_bench(noise: float) -> BiasedBenchmark:
    """A 4-class toy whose 'colour' (the bias) is a bright corner patch and whose 'shape' is a bar position."""
    def make(n, minority, seed):
        g = torch.Generator().manual_seed(seed)
        y = torch.randint(0, 4, (n,), generator=g)
        minor = torch.rand(n, generator=g) < minority
        bias = torch.where(minor, (y + torch.randint(1, 4, (n,), generator=g)) % 4, y)
        x = 0.1 * torch.rand(n, 3, 8, 8, generator=g)
        for c in range(4):
            x[y == c, :, 2 * c:2 * c + 2, :] += 0.8
            x[bias == c, c % 3, 0, 0] = 1.0
        return BiasedSplit(x, y, bias)
    bench = BiasedBenchmark("tiny", make(600, 0.05, 0), make(100, 0.05, 1), make(200, 0.5, 2), 4,
                            {"dataset": "tiny", "seed": 0})
    return with_label_noise(bench, noise)


def test_denoise_then_debias_end_to_end_through_the_cache(isolated_cache):
    bench = _tiny_bench(0.1)
    cfg = TrainConfig(epochs=4, batch_size=32, lr=0.05, momentum=0.9, lr_milestones=(), augment=False, device="cpu")
    cleaned, split = denoised_benchmark(bench, cfg)
    assert len(cleaned.train) == int(split.clean.sum()) < len(bench.train)
    assert cleaned.meta["denoised"] and cleaned.meta["label_noise"] == 0.1
    q = split_quality(bench.train, split.clean)
    assert q["noise_recall"] > 50 and q["kept_clean_major"] > 80  # the split finds noise on a toy, too
    assert noise_groups(cleaned.train)["noisy_major"] < noise_groups(bench.train)["noisy_major"]
    # the noise model *is* the cached Vanilla model: a second call trains nothing
    files = sorted(p.name for p in isolated_cache.glob("*.pt"))
    assert noise_model(bench, cfg) is not None and sorted(p.name for p in isolated_cache.glob("*.pt")) == files
    assert warm_models([("pgd", cleaned)], cfg, {"pgd": {"preset": "published"}}, workers=1) == 0
    debiased = trained_model("pgd", cleaned, cfg, {"preset": "published"}, progress=False)
    assert len(list(isolated_cache.glob("*.pt"))) == len(files) + 1  # cached apart from the raw set's models
    acc = evaluate(debiased, cleaned.test)
    assert set(acc) >= {"major", "minor"} and 0 <= acc["minor"] <= 100
