"""vMF in log space against SciPy, the draft's M/D/S scores, p_s and its stabilisation, the ESS,
the Appendix H metrics, and the safe values for degenerate input."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from scipy import stats

from debiaskit.pgd import (
    aggregate_log_scores,
    direction_log_scores,
    effective_sample_size,
    log_bessel_iv,
    logit_scores,
    loss_scores,
    magnitude_log_scores,
    pgd_scores,
    sampling_probability,
    softmax_scores,
    temperature_for_ess,
    training_error,
    vmf_fit,
    vmf_log_density,
    vmf_log_normaliser,
)

pytestmark = pytest.mark.usefixtures("one_thread")  # tests/conftest.py


def _vmf_sample(d: int, kappa: float, n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    mu = rng.normal(size=d)
    mu /= np.linalg.norm(mu)
    return mu, stats.vonmises_fisher(mu, kappa).rvs(n, random_state=rng)


@pytest.mark.parametrize("d,kappa", [(3, 2.0), (10, 20.0), (50, 5.0), (50, 40.0)])
def test_vmf_fit_agrees_with_scipy(d, kappa):
    _, v = _vmf_sample(d, kappa, 400, seed=d)
    mu_ref, kappa_ref = stats.vonmises_fisher.fit(v)
    vt = torch.from_numpy(v)
    mu, k_exact, _ = vmf_fit(vt, "exact")
    assert float(torch.dot(mu, torch.from_numpy(mu_ref))) > 1 - 1e-10
    assert k_exact == pytest.approx(kappa_ref, rel=1e-6)
    mu_b, k_banerjee, _ = vmf_fit(vt, "banerjee")
    assert torch.allclose(mu_b, mu)
    assert k_banerjee == pytest.approx(kappa_ref, rel=0.05)  # Banerjee's approximation, Appendix G
    # the same ranking of the samples as SciPy's fitted density
    ours = vmf_log_density(vt, mu_b, k_banerjee).numpy()
    theirs = stats.vonmises_fisher(mu_ref, kappa_ref).logpdf(v)
    assert np.array_equal(np.argsort(ours, kind="stable"), np.argsort(theirs, kind="stable"))


@pytest.mark.filterwarnings("ignore:invalid value encountered:RuntimeWarning")  # inside SciPy's fit
@pytest.mark.parametrize("d,kappa", [(100, 900.0), (500, 1400.0)])
def test_vmf_fit_in_high_dimension(d, kappa):
    """SciPy 1.17's fit returns kappa = 1e-8 here (its Bessel ratio under/overflows); the direction it
    returns is still right, so compare that, and check our exact kappa solves A_d(kappa) = r with mpmath."""
    mpmath = pytest.importorskip("mpmath")
    _, v = _vmf_sample(d, kappa, 400, seed=d)
    mu_ref, _ = stats.vonmises_fisher.fit(v)
    vt = torch.from_numpy(v)
    mu, k_exact, r = vmf_fit(vt, "exact")
    assert float(torch.dot(mu, torch.from_numpy(mu_ref))) > 1 - 1e-10
    mpmath.mp.dps = 30
    ratio = mpmath.besseli(d / 2, k_exact) / mpmath.besseli(d / 2 - 1, k_exact)
    assert float(ratio) == pytest.approx(r, rel=1e-9)
    assert k_exact == pytest.approx(kappa, rel=0.15)  # 400 samples estimate the true kappa
    _, k_banerjee, _ = vmf_fit(vt, "banerjee")
    assert k_banerjee == pytest.approx(k_exact, rel=0.05)
    ours = vmf_log_density(vt, mu, k_banerjee).numpy()
    theirs = stats.vonmises_fisher(mu_ref, k_exact).logpdf(v)
    assert np.isfinite(ours).all()
    assert np.array_equal(np.argsort(ours, kind="stable"), np.argsort(theirs, kind="stable"))


@pytest.mark.parametrize("d,kappa", [(3, 1e-3), (3, 5.0), (100, 0.5), (100, 1400.0), (500, 1400.0), (500, 1e5)])
def test_vmf_log_density_matches_scipy(d, kappa):
    mu, v = _vmf_sample(d, max(kappa, 1.0), 20, seed=3)
    ours = vmf_log_density(torch.from_numpy(v), torch.from_numpy(mu), kappa).numpy()
    theirs = stats.vonmises_fisher(mu, kappa).logpdf(v)
    assert np.isfinite(ours).all()
    np.testing.assert_allclose(ours, theirs, rtol=1e-9, atol=1e-8)


@pytest.mark.parametrize("d,kappa", [(500, 1.0), (500, 1e-6), (300, 50.0)])
def test_vmf_log_normaliser_where_scipy_underflows(d, kappa):
    mpmath = pytest.importorskip("mpmath")
    mpmath.mp.dps = 40
    nu = d / 2 - 1
    exact = nu * mpmath.log(kappa) - (d / 2) * mpmath.log(2 * mpmath.pi) - mpmath.log(mpmath.besseli(nu, kappa))
    assert vmf_log_normaliser(d, kappa) == pytest.approx(float(exact), rel=1e-10)


def test_log_bessel_where_scipy_underflows():
    mpmath = pytest.importorskip("mpmath")
    mpmath.mp.dps = 40
    for nu, x in [(249.0, 1.0), (249.0, 1e-5), (4.0, 1e-200), (249.0, 1400.0), (0.5, 1e-3), (49.0, 100.0)]:
        assert float(log_bessel_iv(nu, x)) == pytest.approx(float(mpmath.log(mpmath.besseli(nu, x))), rel=1e-10)
    assert float(log_bessel_iv(0.0, 0.0)) == 0.0 and float(log_bessel_iv(2.0, 0.0)) == -math.inf
    # kappa -> 0: minus the log area of the unit sphere
    area = math.log(2) + 50 * math.log(math.pi) - math.lgamma(50)
    assert vmf_log_normaliser(100, 0.0) == pytest.approx(-area)
    assert vmf_log_normaliser(100, 1e-9) == pytest.approx(-area, rel=1e-9)


def _toy(seed=0, n=60, d=8, classes=3):
    gen = torch.Generator().manual_seed(seed)
    y = torch.arange(n) % classes
    centre = torch.randn(classes, d, generator=gen) * 3
    g = centre[y] + torch.randn(n, d, generator=gen)
    g *= torch.rand(n, 1, generator=gen) * 5 + 0.1
    return g.double(), y


def test_magnitude_and_direction_follow_eq1():
    g, y = _toy()
    log_m = magnitude_log_scores(g.norm(dim=1), y)
    log_d, log_density, fits = direction_log_scores(g, y)
    for c in range(3):
        rows = y == c
        inv = 1 / g[rows].norm(dim=1)
        assert torch.allclose(log_m[rows].exp(), inv / inv.sum())
        v = g[rows] / g[rows].norm(dim=1, keepdim=True)
        mu = v.sum(0) / v.sum(0).norm()
        r = float(v.sum(0).norm()) / rows.sum()
        kappa = r * (8 - r * r) / (1 - r * r)
        assert fits[c][1] == pytest.approx(float(kappa))
        dens = torch.exp(kappa * (v @ mu))
        assert torch.allclose(log_d[rows].exp(), dens / dens.sum())
        assert torch.allclose(log_density[rows], vmf_log_normaliser(8, float(kappa)) + kappa * (v @ mu))
        assert torch.allclose(log_d[rows].exp().sum(), torch.tensor(1.0, dtype=torch.float64))


def test_aggregate_is_weighted_harmonic_mean():
    m = torch.tensor([0.1, 0.2, 0.3], dtype=torch.float64)
    d = torch.tensor([0.3, 0.05, 0.3], dtype=torch.float64)
    for lam in (0.0, 1.0, 10.0):
        s = aggregate_log_scores(m.log(), d.log(), lam).exp()
        expected = 1 / (1 / (1 + lam) / m + lam / (1 + lam) / d)
        assert torch.allclose(s, expected)
    assert torch.allclose(aggregate_log_scores(m.log(), d.log(), 1.0).exp(), 2 * m * d / (m + d))
    with pytest.raises(ValueError):
        aggregate_log_scores(m.log(), d.log(), -1.0)


def test_literal_p_s_is_min_over_s_and_collapses_with_large_kappa():
    g, y = _toy()
    s = pgd_scores(g, y, lam=1.0)
    p, tau = sampling_probability(s.log_s, "literal")
    expected = s.log_s.exp().min() / s.log_s.exp()
    assert tau == 1.0 and torch.allclose(p, expected)
    assert float(p.max()) == 1.0
    # very concentrated directions (large kappa) make the literal form collapse, as REFERENCE.md measured
    gen = torch.Generator().manual_seed(0)
    tight = torch.tensor([1.0] + [0.0] * 99).repeat(3000, 1) + 0.02 * torch.randn(3000, 100, generator=gen)
    tight = tight.double()
    yy = torch.zeros(3000, dtype=torch.long)
    s2 = pgd_scores(tight, yy, lam=1.0)
    assert s2.kappa[0] > 1000 and torch.isfinite(s2.log_s).all()
    literal, _ = sampling_probability(s2.log_s, "literal")
    tempered, tau = sampling_probability(s2.log_s, "tempered", target_ess=0.1)
    assert effective_sample_size(literal) < 100
    assert effective_sample_size(tempered) == pytest.approx(300, rel=1e-3) and 0 < tau < 1
    # both keep the draft's order
    assert torch.equal(torch.argsort(literal, stable=True), torch.argsort(tempered, stable=True))
    assert torch.equal(torch.argsort(-s2.log_s, stable=True), torch.argsort(tempered, stable=True))


@pytest.mark.parametrize("method, n, seed, targets", [("tempered", 5000, 1, (0.01, 0.2, 0.7)),
                                                      ("rank", 4000, 2, (0.01, 0.05, 0.3))])
def test_stabilisation_preserves_order_and_hits_target(method, n, seed, targets):
    gen = torch.Generator().manual_seed(seed)
    log_s = torch.randn(n, generator=gen, dtype=torch.float64) * 30
    for target in targets:
        p, tau = sampling_probability(log_s, method, target_ess=target)
        assert effective_sample_size(p) == pytest.approx(target * n, rel=1e-4)
        assert float(p.max()) == 1.0
        assert torch.equal(torch.argsort(p), torch.argsort(-log_s))
        assert (0 < tau <= 1) if method == "tempered" else tau > 1


def test_tempering_with_a_given_temperature_and_a_flat_score():
    gen = torch.Generator().manual_seed(1)
    log_s = torch.randn(5000, generator=gen, dtype=torch.float64) * 30
    p, tau = sampling_probability(log_s, "tempered", temperature=0.25)
    assert tau == 0.25 and torch.allclose(p, torch.exp(0.25 * (log_s.min() - log_s)))
    # a flat literal p_s is never sharpened: tau stays 1
    assert temperature_for_ess(torch.zeros(10, dtype=torch.float64), 0.5) == 1.0


def test_rank_form_matches_its_definition_and_ignores_the_tails():
    gen = torch.Generator().manual_seed(2)
    log_s = torch.randn(4000, generator=gen, dtype=torch.float64) * 30
    for target in (0.01, 0.05, 0.3):  # (its ESS, maximum and order: test_stabilisation_preserves_...)
        p, tau = sampling_probability(log_s, "rank", target_ess=target)
        # slow path: rank every sample by its place in a sorted list
        order = sorted(range(4000), key=lambda i: float(log_s[i]))
        expected = torch.empty(4000, dtype=torch.float64)
        for r, i in enumerate(order):
            expected[i] = math.exp(-tau * r / 4000)
        assert torch.allclose(p, expected, rtol=1e-12, atol=0)
    # any increasing map of log S (a heavier tail, a shift) gives the same p_s
    p, _ = sampling_probability(log_s, "rank", target_ess=0.05)
    heavy, _ = sampling_probability(torch.sinh(log_s / 10) * 1e3 - 7, "rank", target_ess=0.05)
    assert torch.allclose(p, heavy, rtol=1e-10)
    # an exponential rank profile with ESS = eta N puts 1 - exp(-2 rho / eta) of the mass on the rho N
    # lowest scores (a continuum approximation, so up to O(1/N))
    n, rho, eta = 20000, 0.01, 0.02
    minority = torch.arange(n) < rho * n
    scores = torch.where(minority, -10.0, 0.0).double() + torch.rand(n, generator=gen, dtype=torch.float64)
    p, _ = sampling_probability(scores, "rank", target_ess=eta)
    assert float(p[minority].sum() / p.sum()) == pytest.approx(1 - math.exp(-2 * rho / eta), abs=0.01)
    tied, _ = sampling_probability(torch.tensor([1.0, 1.0, 0.0]), "rank", temperature=3.0)
    assert torch.allclose(tied, torch.exp(-3.0 * torch.tensor([1.5, 1.5, 0.0], dtype=torch.float64) / 3))
    top_tie, _ = sampling_probability(torch.tensor([0.0, 0.0, 1.0]), "rank", temperature=3.0)
    assert float(top_tie.max()) == 1.0 and top_tie[0] == top_tie[1]
    with pytest.raises(ValueError, match="temperature"):
        sampling_probability(log_s, "rank", temperature=0.0)


@pytest.mark.parametrize("method", ["rank", "tempered"])
def test_auto_target_gives_the_misclassified_share_half_of_the_mass(method):
    gen = torch.Generator().manual_seed(4)
    n = 3000
    log_s = torch.randn(n, generator=gen, dtype=torch.float64) * 5
    for rho in (0.004, 0.01, 0.1, 0.3):
        p, tau = sampling_probability(log_s, method, "auto", error_rate=rho)
        # slow path: the ceil(rho N) smallest scores, found by sorting a Python list, hold half of the mass
        top = sorted(range(n), key=lambda i: float(log_s[i]))[:math.ceil(rho * n)]
        assert sum(float(p[i]) for i in top) / float(p.sum()) == pytest.approx(0.5, abs=1e-6)
        assert float(p.max()) == 1.0 and torch.equal(torch.argsort(p), torch.argsort(-log_s))
    # a biased model that is wrong on half of the set or more found nothing to balance: uniform p_s
    for rho in (0.5, 0.8):
        p, tau = sampling_probability(log_s, method, "auto", error_rate=rho)
        assert tau == 0.0 and torch.equal(p, torch.ones(n, dtype=torch.float64))
    # the ESS floor caps the concentration
    p, _ = sampling_probability(log_s, method, "auto", error_rate=0.001, min_ess=300)
    assert effective_sample_size(p) == pytest.approx(300, rel=1e-4)
    with pytest.raises(ValueError, match="error_rate"):
        sampling_probability(log_s, method)  # "auto" is the default and needs the error rate
    with pytest.raises(ValueError, match="target_ess"):
        sampling_probability(log_s, method, "balanced", error_rate=0.1)
    with pytest.raises(ValueError, match="error_rate"):
        sampling_probability(log_s, method, error_rate=1.5)


def test_balanced_default_gives_the_misclassified_share_half_of_the_mass_in_two_flat_groups():
    gen = torch.Generator().manual_seed(6)
    n = 3000
    log_s = torch.randn(n, generator=gen, dtype=torch.float64) * 5
    for rho in (0.004, 0.01, 0.1, 0.3):
        p, w = sampling_probability(log_s, error_rate=rho)  # the default: "balanced", "auto"
        # slow path: sort a Python list; the ceil(rho N) smallest scores get 1, the others one equal weight
        order = sorted(range(n), key=lambda i: float(log_s[i]))
        top, rest = order[:math.ceil(rho * n)], order[math.ceil(rho * n):]
        assert all(float(p[i]) == 1.0 for i in top) and all(float(p[i]) == pytest.approx(w) for i in rest)
        assert sum(float(p[i]) for i in top) / float(p.sum()) == pytest.approx(0.5, abs=1e-9)
        assert w == pytest.approx(len(top) / len(rest))
    # uniform when f_b is wrong on half of the set or more
    for rho in (0.5, 0.9):
        p, w = sampling_probability(log_s, error_rate=rho)
        assert w == 1.0 and torch.equal(p, torch.ones(n, dtype=torch.float64))
    # equal scores get equal p_s: a tie at the group's boundary joins the group
    p, _ = sampling_probability(torch.tensor([0.0, 1.0, 1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0]), error_rate=0.2)
    assert p[1] == p[2] == 1.0 and p[0] == 1.0 and p[3] < 1.0
    # the ESS floor flattens the second group's weight until the floor is met
    p, w = sampling_probability(log_s, error_rate=0.001, min_ess=300)
    assert effective_sample_size(p) == pytest.approx(300, rel=1e-6) and float(p.max()) == 1.0
    with pytest.raises(ValueError, match="balanced"):
        sampling_probability(log_s, "balanced", 0.05, error_rate=0.1)
    with pytest.raises(ValueError, match="balanced"):
        sampling_probability(log_s, "balanced", temperature=2.0, error_rate=0.1)
    with pytest.raises(ValueError, match="error_rate"):
        sampling_probability(log_s)


def test_training_error_counts_misclassified_samples():
    gen = torch.Generator().manual_seed(5)
    model = torch.nn.Linear(4, 3).double()
    x = torch.randn(50, 4, generator=gen, dtype=torch.float64)
    y = torch.randint(0, 3, (50,), generator=gen)
    wrong = 0
    with torch.no_grad():
        for xi, yi in zip(x, y):  # slow path: one sample at a time
            wrong += int(int(model(xi[None]).argmax()) != int(yi))
    assert training_error(model, x, y, batch_size=7) == pytest.approx(wrong / 50)
    with pytest.raises(ValueError, match="length"):
        training_error(model, x, y[:3])


def test_effective_sample_size():
    assert effective_sample_size(torch.ones(10)) == pytest.approx(10)
    assert effective_sample_size(torch.tensor([0.0, 0.0, 3.0])) == pytest.approx(1)
    assert effective_sample_size(torch.tensor([1.0, 1.0, 0.0, 0.0], dtype=torch.float64) * 1e-300) == pytest.approx(2)
    for bad in (torch.tensor([]), torch.tensor([1.0, float("nan")]), torch.zeros(3), torch.tensor([-1.0, 2.0])):
        with pytest.raises(ValueError):
            effective_sample_size(bad)


def test_single_sample_class_zero_gradient_and_nan_inputs():
    g, y = _toy(n=30)
    y = y.clone()
    y[0] = 7  # a class with a single sample: D = M = S = 1 (documented safe value)
    g[5] = 0.0  # a zero gradient: finite scores, the largest M of its class, so the smallest p_s
    s = pgd_scores(g, y)
    assert torch.isfinite(s.log_s).all()
    assert s.log_m[0] == 0 and s.log_d[0] == 0 and s.log_s[0] == 0
    p, _ = sampling_probability(s.log_s, "literal")
    assert torch.isfinite(p).all() and (p > 0).all()
    same_class = (y == y[5]).nonzero().flatten()
    assert int(same_class[torch.argmin(p[same_class])]) == 5
    assert int(torch.argmax(s.log_m[same_class].exp())) == int((same_class == 5).nonzero())
    # a class whose gradients are all zero: uniform direction score
    g2 = g.clone()
    g2[y == 1] = 0
    s2 = pgd_scores(g2, y)
    assert torch.allclose(s2.log_d[y == 1].exp(), torch.full(((y == 1).sum(),), 1 / float((y == 1).sum()),
                                                             dtype=torch.float64))
    bad = g.clone()
    bad[3, 2] = float("nan")
    with pytest.raises(ValueError, match="NaN"):
        pgd_scores(bad, y)
    with pytest.raises(ValueError, match="empty"):
        pgd_scores(g[:0], y[:0])
    with pytest.raises(ValueError, match="NaN"):
        sampling_probability(torch.tensor([0.0, float("nan")]))


def test_appendix_h_metrics():
    logits = torch.tensor([[4.0, 0.0], [0.0, 1.0], [2.0, 2.0]], dtype=torch.float64)
    y = torch.tensor([0, 0, 1])
    sm = torch.softmax(logits, 1)[torch.arange(3), y]
    assert torch.allclose(softmax_scores(logits, y), (1 - sm) / (1 - sm).sum())
    f = logits[torch.arange(3), y]
    assert torch.allclose(logit_scores(logits, y), (f.max() - f) / (f.max() - f).sum())
    ce = -torch.log(sm)
    assert torch.allclose(loss_scores(logits, y), ce / ce.sum())
    # unfamiliar samples score higher
    assert int(torch.argmax(softmax_scores(logits, y))) == 1
