"""The de-noising module (Section 5, Eq. 2): separates injected label noise from clean minority samples."""

from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from debiaskit.core.splits import BiasedSplit
from debiaskit.core.training import TrainConfig
from debiaskit.pgd import compensated_loss, denoise, denoise_split, split_by_compensated_loss

pytestmark = pytest.mark.usefixtures("one_thread")  # tests/conftest.py

C = 4


def _synthetic(seed=0, n=2000, minority=0.07, noise=0.07):
    """Two feature groups: a weak 'shape' signal of the true class and a strong 'colour' (bias) signal
    that agrees with the class for the majority; 5% minority samples, then 5% labels flipped."""
    g = torch.Generator().manual_seed(seed)
    y = torch.randint(0, C, (n,), generator=g)
    is_minor = torch.rand(n, generator=g) < minority
    bias = torch.where(is_minor, (y + torch.randint(1, C, (n,), generator=g)) % C, y)
    shape = F.one_hot(y, C).float() * 2.0 + torch.randn(n, C, generator=g) * 0.7
    colour = F.one_hot(bias, C).float() * 3.0 + torch.randn(n, C, generator=g) * 0.3
    flip = torch.rand(n, generator=g) < noise
    label = torch.where(flip, (y + torch.randint(1, C, (n,), generator=g)) % C, y)
    return torch.cat([shape, colour], 1), label, bias, flip, is_minor


def _mlp() -> nn.Module:
    return nn.Sequential(nn.Linear(2 * C, 32), nn.ReLU(), nn.Linear(32, C))


@pytest.fixture(scope="module")
def trained():
    x, label, bias, flip, is_minor = _synthetic()
    torch.manual_seed(0)
    model = _mlp()
    opt = torch.optim.Adam(model.parameters(), 1e-2)
    for _ in range(200):
        opt.zero_grad()
        F.cross_entropy(model(x), label).backward()
        opt.step()
    return model, x, label, flip, is_minor


def test_separates_noise_from_clean_minority(trained):
    model, x, label, flip, is_minor = trained
    split = denoise_split(model, x, label)
    clean_minor = is_minor & ~flip
    clean_major = ~is_minor & ~flip
    assert flip.sum() > 100 and clean_minor.sum() > 100
    assert (split.noisy & flip).sum() / flip.sum() > 0.9          # noise found
    assert (split.clean & clean_minor).sum() / clean_minor.sum() > 0.8  # clean minority kept
    assert (split.clean & clean_major).sum() / clean_major.sum() > 0.98
    assert torch.equal(split.clean, ~split.noisy)


def test_threshold_is_eq2(trained):
    model, x, label, _, _ = trained
    with torch.no_grad():
        logits = model(x).double()
    split = split_by_compensated_loss(logits, label)
    logp = F.log_softmax(logits, 1)
    loss = -logp[torch.arange(len(x)), label]
    entropy = -(logp.exp() * logp).sum(1)
    assert split.threshold == pytest.approx(float(loss.sum() / entropy.sum()))
    assert torch.allclose(split.compensated, loss / entropy)
    assert torch.equal(split.noisy, loss / entropy >= split.threshold)


def test_safe_values_and_errors():
    loss = torch.tensor([0.0, 2.0, 1.0], dtype=torch.float64)
    entropy = torch.tensor([0.0, 0.0, 0.5], dtype=torch.float64)
    assert compensated_loss(loss, entropy).tolist() == [0.0, math.inf, 2.0]
    # a one-hot prediction contradicted by its label is noisy; one that agrees is clean
    logits = torch.tensor([[1000.0, 0.0], [1000.0, 0.0], [0.0, 0.3]], dtype=torch.float64)
    split = split_by_compensated_loss(logits, torch.tensor([0, 1, 1]))
    assert split.clean.tolist() == [True, False, True]
    with pytest.raises(ValueError, match="empty"):
        split_by_compensated_loss(logits[:0], torch.tensor([], dtype=torch.long))
    with pytest.raises(ValueError, match="NaN"):
        split_by_compensated_loss(torch.tensor([[float("nan"), 0.0]]), torch.tensor([0]))


def test_algorithm3_wrapper_returns_clean_subset():
    x, label, bias, flip, _ = _synthetic(n=600)
    data = BiasedSplit(x, label, bias)
    cfg = TrainConfig(epochs=12, batch_size=100, lr=0.1, lr_milestones=(), augment=False, device="cpu")
    torch.manual_seed(0)
    clean, split, model = denoise(_mlp, data, cfg)
    assert len(clean) == int(split.clean.sum()) < len(data)
    assert (split.noisy & flip).sum() / flip.sum() > 0.7
