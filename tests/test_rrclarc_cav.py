"""CAVs: the signal CAV's closed form, recovery of a known direction, divergence of regression CAVs
under a distractor, alignment, and clear errors for bad concept labels."""

import pytest
import torch

from debiaskit.rrclarc.cav import CAV_TYPES, CavError, cav_alignment, cosine, fit_cav, signal_cav


def _unit(v):
    return v / v.norm()


def test_signal_cav_is_the_class_mean_difference():
    gen = torch.Generator().manual_seed(0)
    acts = torch.randn(40, 7, generator=gen, dtype=torch.float64) + 3.0
    concept = torch.tensor([0, 1] * 20)
    concept[:5] = 1  # unbalanced on purpose
    expected = _unit(acts[concept == 1].mean(0) - acts[concept == 0].mean(0))
    torch.testing.assert_close(signal_cav(acts, concept), expected)
    torch.testing.assert_close(fit_cav(acts, concept, "signal"), expected)


@pytest.mark.parametrize("kind", CAV_TYPES)
def test_cav_recovers_a_known_direction_on_separable_data(kind):
    gen = torch.Generator().manual_seed(1)
    d = 12
    direction = _unit(torch.randn(d, generator=gen))
    concept = torch.tensor([0, 1] * 30)
    acts = 0.05 * torch.randn(60, d, generator=gen) + 2.0 * concept[:, None] * direction + 1.0
    h = fit_cav(acts, concept, kind)
    assert h.shape == (d,)
    assert abs(float(h.norm()) - 1) < 1e-5
    assert float(cosine(h, direction)) > 0.9


def test_regression_cav_diverges_from_the_signal_under_a_distractor():
    # Haufe et al. (2014): a = t * s + n * d with a distractor d overlapping s. The best filter
    # cancels d and so leaves s; the signal (pattern) CAV stays on s.
    gen = torch.Generator().manual_seed(2)
    s = torch.tensor([1.0, 0.0, 0.0])
    dist = _unit(torch.tensor([1.0, 1.0, 0.0]))
    t = torch.tensor([0, 1] * 200)
    acts = t[:, None] * s + 2.0 * torch.randn(400, 1, generator=gen) * dist + 0.05 * torch.randn(400, 3, generator=gen)
    sig = float(cosine(fit_cav(acts, t, "signal"), s))
    ridge = float(cosine(fit_cav(acts, t, "ridge"), s))
    assert sig > 0.95
    assert ridge < sig - 0.15


def test_alignment_is_one_for_the_true_direction_and_uses_both_averages():
    u = _unit(torch.tensor([1.0, 2.0, 2.0]))
    delta = torch.stack([u * 3, u * 0.5, -u])
    al = cav_alignment(u, delta)
    assert al["per_sample"] == pytest.approx((1 + 1 - 1) / 3)
    assert al["mean"] == pytest.approx(1.0)


def test_single_class_concept_labels_give_a_clear_error():
    acts = torch.randn(10, 4)
    with pytest.raises(CavError, match="one class only.*with \\(1\\) and without \\(0\\)"):
        fit_cav(acts, torch.ones(10, dtype=torch.long), "svm")
    with pytest.raises(CavError, match="one class only"):
        signal_cav(acts, torch.zeros(10, dtype=torch.long))


def test_bad_labels_shapes_and_types_are_refused():
    acts = torch.randn(6, 4)
    with pytest.raises(CavError, match="0 .* or 1"):
        fit_cav(acts, torch.tensor([0, 1, 2, 0, 1, 2]))
    with pytest.raises(CavError, match="pool them over space"):
        fit_cav(torch.randn(6, 4, 2, 2), torch.tensor([0, 1] * 3))
    with pytest.raises(CavError, match="unknown CAV type"):
        fit_cav(acts, torch.tensor([0, 1] * 3), "pca")
