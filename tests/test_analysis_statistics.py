"""The analysis statistics: uniformity of sampling matrices, histogram shares, AUROC, timing ratios."""

import numpy as np
import pytest
import torch

from debiaskit.pgd.analysis import (
    bin_shares,
    cell_mass,
    parse_minutes,
    quantile_bins,
    ratios_to,
    sampling_matrix,
    separation_auc,
    uniformity,
)


def test_uniformity_is_best_for_the_uniform_matrix():
    uniform = np.full((10, 10), 0.1)
    diagonal = np.eye(10)
    mixed = 0.5 * np.eye(10) + 0.05
    assert uniformity(uniform) == pytest.approx(1.0)
    assert uniformity(diagonal) == pytest.approx(0.0)
    assert 0.0 < uniformity(mixed) < 1.0
    rng = np.random.default_rng(0)
    for _ in range(20):  # no matrix beats the uniform one
        assert uniformity(rng.random((10, 10))) < uniformity(uniform)


def test_uniformity_orders_by_how_spread_the_rows_are():
    def row(p_diag):
        m = np.full((4, 4), (1 - p_diag) / 3)
        np.fill_diagonal(m, p_diag)
        return m

    values = [uniformity(row(p)) for p in (0.25, 0.5, 0.9, 1.0)]
    assert values == sorted(values, reverse=True)
    assert uniformity(row(0.25)) == pytest.approx(1.0)


def test_uniformity_matches_an_explicit_entropy_and_skips_empty_rows():
    m = np.array([[1.0, 3.0, 0.0], [0.0, 0.0, 0.0], [2.0, 2.0, 2.0]])
    q = np.array([0.25, 0.75])
    h0 = -(q * np.log(q)).sum() / np.log(3)
    assert uniformity(m) == pytest.approx((h0 + 1.0) / 2)
    with pytest.raises(ValueError, match="non-negative"):
        uniformity(-m)
    with pytest.raises(ValueError, match="empty"):
        uniformity(np.zeros((2, 2)))


def test_sampling_matrix_sums_weights_per_cell_and_normalises_rows():
    y = torch.tensor([0, 0, 0, 1, 1, 1])
    bias = torch.tensor([0, 0, 1, 1, 1, 0])
    w = torch.tensor([1.0, 1.0, 2.0, 3.0, 1.0, 4.0])
    np.testing.assert_allclose(cell_mass(w, y, bias, 2), [[2.0, 2.0], [4.0, 4.0]])
    np.testing.assert_allclose(sampling_matrix(w, y, bias, 2), [[0.5, 0.5], [0.5, 0.5]])
    raw = sampling_matrix(torch.ones(6), y, bias, 2)
    np.testing.assert_allclose(raw, [[2 / 3, 1 / 3], [1 / 3, 2 / 3]])
    assert uniformity(sampling_matrix(w, y, bias, 2)) > uniformity(raw)
    with pytest.raises(ValueError, match="length"):
        cell_mass(w[:3], y, bias, 2)


def test_histogram_shares_sum_to_one_per_group():
    gen = torch.Generator().manual_seed(0)
    values = torch.randn(1000, generator=gen, dtype=torch.float64)
    major = torch.rand(1000, generator=gen) < 0.9
    shares = bin_shares(quantile_bins(values, 10), major, 10)
    for name in ("majority", "minority"):
        assert shares[name].shape == (10,)
        assert shares[name].sum() == pytest.approx(1.0)
        assert (shares[name] >= 0).all()


def test_quantile_bins_are_deciles_and_separate_shifted_groups():
    values = torch.arange(100, dtype=torch.float64)
    bins = quantile_bins(values, 10)
    assert torch.equal(torch.bincount(bins, minlength=10), torch.full((10,), 10))
    assert bool((bins[1:] >= bins[:-1]).all())
    major = torch.ones(100, dtype=torch.bool)
    major[95:] = False  # the largest values are the minority
    shares = bin_shares(bins, major, 10)
    assert shares["minority"][-1] == pytest.approx(1.0)
    assert separation_auc(values, major) == pytest.approx(100.0)
    assert separation_auc(-values, major) == pytest.approx(0.0)
    with pytest.raises(ValueError, match="minority"):
        bin_shares(bins, torch.ones(100, dtype=torch.bool), 10)


def test_ratios_to_vanilla():
    times = {"vanilla": 746.0, "rubi": 1573.0, "pgd": 2280.0}
    r = ratios_to(times)
    assert r["vanilla"] == 1.0
    assert r["rubi"] == pytest.approx(1573 / 746)
    assert r["pgd"] == pytest.approx(2280 / 746)
    assert ratios_to(times, "rubi")["pgd"] == pytest.approx(2280 / 1573)
    with pytest.raises(KeyError, match="reference"):
        ratios_to({"rubi": 1.0})
    with pytest.raises(ValueError, match="positive"):
        ratios_to({"vanilla": 0.0, "rubi": 1.0})


def test_parse_table14_durations():
    assert parse_minutes("12' 26\"") == 746.0
    assert parse_minutes("38’00”") == 2280.0
    with pytest.raises(ValueError):
        parse_minutes("12:26")
