"""GCE in both forms, the adjusting-objective weights, and their use with debiaskit.core.training.train."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from debiaskit.core.splits import BiasedSplit
from debiaskit.core.training import TrainConfig, train
from debiaskit.pgd import adjusting_objective, adjusting_weights, gce_loss, gce_objective, weighted_ce_objective

pytestmark = pytest.mark.usefixtures("one_thread")  # tests/conftest.py


def _batch():
    gen = torch.Generator().manual_seed(0)
    return torch.randn(16, 5, generator=gen, dtype=torch.float64) * 3, torch.randint(0, 5, (16,), generator=gen)


def test_gce_true_form_value():
    logits, y = _batch()
    p_y = torch.softmax(logits, 1)[torch.arange(16), y]
    for q in (0.3, 0.7, 1.0):
        assert torch.allclose(gce_loss(logits, y, q), ((1 - p_y**q) / q).mean())
    # q -> 0 approaches cross-entropy
    assert float(gce_loss(logits, y, 1e-6)) == pytest.approx(float(F.cross_entropy(logits, y)), rel=1e-4)


def test_lff_form_scales_the_gradient_by_q():
    logits, y = _batch()
    q = 0.7
    a = logits.clone().requires_grad_(True)
    gce_loss(a, y, q, "true").backward()
    b = logits.clone().requires_grad_(True)
    gce_loss(b, y, q, "lff").backward()
    assert torch.allclose(b.grad, q * a.grad)
    p_y = torch.softmax(logits, 1)[torch.arange(16), y]
    ce = F.cross_entropy(logits, y, reduction="none")
    assert torch.allclose(gce_loss(logits, y, q, "lff"), (ce * p_y**q * q).mean())


def test_gce_validation():
    logits, y = _batch()
    with pytest.raises(ValueError):
        gce_loss(logits, y, 0.0)
    with pytest.raises(ValueError):
        gce_objective(0.7, "other")


def test_adjusting_weights_and_objective():
    p = torch.tensor([1.0, 0.5, 0.25, 0.25])
    w = adjusting_weights(p)
    assert torch.allclose(w, p / p.mean()) and float(w.mean()) == pytest.approx(1.0)
    for bad in (torch.tensor([]), torch.tensor([float("nan"), 1.0]), torch.zeros(3)):
        with pytest.raises(ValueError):
            adjusting_weights(bad)
    model = nn.Linear(3, 2)
    x = torch.randn(4, 3)
    y = torch.tensor([0, 1, 1, 0])
    idx = torch.tensor([3, 0, 1, 2])
    got = adjusting_objective(p)(model, x, y, idx)
    ce = F.cross_entropy(model(x), y, reduction="none")
    assert torch.allclose(got, (w[idx] * ce).mean())
    with pytest.raises(ValueError):
        weighted_ce_objective(torch.tensor([-1.0]))


def test_objectives_train_with_the_training_loop():
    gen = torch.Generator().manual_seed(0)
    y = torch.randint(0, 2, (64,), generator=gen)
    x = torch.randn(64, 4, generator=gen) + y[:, None].float() * 3
    split = BiasedSplit(x, y, y.clone())
    cfg = TrainConfig(epochs=8, batch_size=16, lr=0.1, lr_milestones=(), augment=False, device="cpu")
    for objective in (gce_objective(0.7), gce_objective(0.7, "lff"), adjusting_objective(torch.rand(64) + 0.1)):
        torch.manual_seed(0)
        result = train(nn.Linear(4, 2), split, cfg, objective=objective, progress=False)
        assert result.history[-1]["loss"] < result.history[0]["loss"]
        assert (result.model(x).argmax(1) == y).float().mean() > 0.9
