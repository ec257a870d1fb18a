"""Algorithm 1 and its equivalents: frequencies proportional to p_s (chi-square, fixed seeds), the exact
distribution of the set semantics, batch structure, determinism and the guards."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
import torch
from scipy import stats

from debiaskit.pgd import effective_sample_size, multinomial_sampler, published_sampler, rejection_sampler

pytestmark = pytest.mark.usefixtures("one_thread")  # tests/conftest.py

P = torch.tensor([1.0, 0.5, 0.25, 0.1, 0.05, 0.8, 0.3, 0.02, 0.6, 0.15], dtype=torch.float64)


def _counts(sampler, epochs: int, n: int) -> np.ndarray:
    counts = np.zeros(n)
    for epoch in range(epochs):
        for batch in sampler(epoch):
            counts += np.bincount(batch.numpy(), minlength=n)
    return counts


def _chi2_p(counts: np.ndarray, weights: torch.Tensor) -> float:
    expected = weights.numpy() / weights.numpy().sum() * counts.sum()
    return float(stats.chisquare(counts, expected).pvalue)


@pytest.mark.parametrize("make,epochs", [
    (lambda: rejection_sampler(P, batch_size=16, num_batches=50, unique=False, seed=3), 40),
    (lambda: multinomial_sampler(P, batch_size=16, num_batches=50, replacement=True, seed=3), 40),
    (lambda: published_sampler(P, batch_size=16, seed=3), 800),
])
def test_frequencies_proportional_to_p(make, epochs):
    sampler = make()
    counts = _counts(sampler, epochs=epochs, n=len(P))
    assert counts.sum() > 5000
    assert _chi2_p(counts, P) > 1e-3
    assert _chi2_p(counts, torch.ones(len(P))) < 1e-12  # the test has power: uniform is rejected


def _pair_counts(sampler, epochs: int) -> dict:
    counts: dict = {}
    for epoch in range(epochs):
        for batch in sampler(epoch):
            key = tuple(batch.tolist())
            counts[key] = counts.get(key, 0) + 1
    return counts


def test_set_semantics_exact_distribution():
    """Algorithm 1 adds indices to a set: with N = 3 and batches of 2, the ordered pair (i, j) has
    probability w_i * w_j / (1 - w_i), w = p / sum p (successive sampling without replacement)."""
    p = torch.tensor([1.0, 0.5, 0.2], dtype=torch.float64)
    w = (p / p.sum()).numpy()
    pairs = list(itertools.permutations(range(3), 2))
    expected = np.array([w[i] * w[j] / (1 - w[i]) for i, j in pairs])
    for sampler in (rejection_sampler(p, 2, num_batches=400, unique=True, seed=5, block_size=64),
                    multinomial_sampler(p, 2, num_batches=400, replacement=False, seed=5)):
        counts = _pair_counts(sampler, epochs=10)
        assert set(counts) <= set(pairs)  # never a repeat inside a batch
        observed = np.array([counts.get(pair, 0) for pair in pairs])
        assert stats.chisquare(observed, expected * observed.sum()).pvalue > 1e-3
        iid = np.array([w[i] * w[j] for i, j in pairs])  # what ignoring the set semantics would give
        assert stats.chisquare(observed, iid / iid.sum() * observed.sum()).pvalue < 1e-6


def test_rejection_and_multinomial_agree_on_inclusion_frequencies():
    gen = torch.Generator().manual_seed(0)
    p = torch.rand(200, generator=gen, dtype=torch.float64) ** 3
    a = _counts(rejection_sampler(p, 32, num_batches=30, unique=True, seed=1), 20, 200)
    b = _counts(multinomial_sampler(p, 32, num_batches=30, replacement=False, seed=2), 20, 200)
    table = np.vstack([a, b])
    table = table[:, table.sum(0) > 0]
    assert stats.chi2_contingency(table).pvalue > 1e-3


def test_vectorised_blocks_do_not_change_the_distribution():
    """Tiny and large proposal blocks (many carry-overs vs. one block per batch) agree."""
    small = _counts(rejection_sampler(P, 8, num_batches=40, unique=True, seed=11, block_size=3), 30, len(P))
    large = _counts(rejection_sampler(P, 8, num_batches=40, unique=True, seed=12, block_size=100_000), 30, len(P))
    assert stats.chi2_contingency(np.vstack([small, large])).pvalue > 1e-3


def test_batches_structure_and_determinism():
    sampler = rejection_sampler(P, batch_size=4, seed=7)
    batches = list(sampler(0))
    assert len(batches) == 3  # ceil(10 / 4): as many steps as a plain epoch
    assert all(len(b) == 4 and len(set(b.tolist())) == 4 for b in batches)
    assert all(b.dtype == torch.long for b in batches)
    again = list(sampler(0))
    assert all(torch.equal(a, b) for a, b in zip(batches, again))
    other = list(sampler(1))
    assert not all(torch.equal(a, b) for a, b in zip(batches, other))
    pub = list(published_sampler(P, batch_size=4, seed=0)(0))
    assert [len(b) for b in pub] == [4, 4, 2]
    zero_weight = torch.tensor([0.0, 1.0, 1.0, 0.5], dtype=torch.float64)
    for s in (rejection_sampler(zero_weight, 3, num_batches=50), multinomial_sampler(zero_weight, 3, num_batches=50)):
        assert all(0 not in b.tolist() for b in s(0))


def test_guards():
    for bad in (torch.zeros(5), torch.tensor([0.5, float("nan")]), torch.tensor([])):
        with pytest.raises(ValueError):
            rejection_sampler(bad, 2)
        with pytest.raises(ValueError):
            multinomial_sampler(bad, 2)
    with pytest.raises(ValueError, match="<= 1"):
        rejection_sampler(torch.tensor([2.0, 1.0]), 1)
    with pytest.raises(ValueError, match="exceeds"):
        rejection_sampler(torch.tensor([1.0, 0.5, 0.0]), 3)
    with pytest.raises(ValueError, match="exceeds"):
        multinomial_sampler(torch.tensor([1.0, 0.5, 0.0]), 3)
    with pytest.raises(ValueError, match="positive"):
        rejection_sampler(P, 0)
    # a p_s concentrated on one sample (ESS ~ 1) cannot fill a batch of distinct indices: a clear error
    # up front, not an endless loop
    collapsed = torch.tensor([1.0] + [1e-300] * 19_999, dtype=torch.float64)
    with pytest.raises(ValueError, match="exceeds the 1 samples with p_s >= 0.0001 .20000 have p_s > 0."):
        rejection_sampler(collapsed, 2)
    with pytest.warns(UserWarning, match="acceptance rate"):
        rejection_sampler(collapsed, 2, unique=False)
    # and a batch that takes more proposals than allowed stops with an error
    slow = torch.tensor([1.0, 1.0] + [1e-4] * 19_998, dtype=torch.float64)
    sampler = rejection_sampler(slow, 3, max_proposals=16, block_size=4)
    with pytest.raises(RuntimeError, match="proposals"):
        next(iter(sampler(0)))


def test_rejection_sampler_refuses_a_p_too_concentrated_for_distinct_batches():
    from debiaskit.pgd import sampling_probability

    log_s = torch.linspace(0, 1, 240, dtype=torch.float64)
    tight, _ = sampling_probability(log_s, "rank", target_ess=0.02)  # ~5 effective samples
    with pytest.raises(ValueError, match="batch_size 32 exceeds"):
        rejection_sampler(tight, 32)
    spread, _ = sampling_probability(log_s, "rank", target_ess=0.02, min_ess=64)
    assert effective_sample_size(spread) == pytest.approx(64, rel=1e-4)
    batches = list(rejection_sampler(spread, 32, num_batches=3)(0))
    assert all(len(set(b.tolist())) == 32 for b in batches)
