"""RUBi (Cadene et al. 2019, Section 3.2) as wired in ``rubi.fit``: the objective it hands to the training loop against
an independent float64 loop over the paper's equations (f_QM = f(x) * sigmoid(c_b(x)), L = CE(f_QM, y) + CE(c_b(x), y)),
which network each term updates, and the mechanism the method relies on: the main model's gradient on a class's
logit is the fused softmax residual scaled by that class's mask, so a sample the bias branch is sure of teaches f
little about the classes the branch rules out.

That mechanism is also why f alone, used at test time, need not rank the majority's classes as the fused logits do:
nothing in L_QM pushes down a wrong class's logit of f where the mask has closed it (see ``deviations`` on RUBi's
protocol cell)."""

from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as F
from conftest import capture_training, tiny_split

import debiaskit.baselines.rubi as rubi
from debiaskit.core.models import simple_convnet1
from debiaskit.core.training import TrainConfig

pytestmark = pytest.mark.usefixtures("one_thread")


def _sigmoid(v: float) -> float:
    return 1.0 / (1.0 + math.exp(-v))


def _ce(z: list[float], y: int) -> float:
    m = max(z)
    return -(z[y] - m - math.log(sum(math.exp(v - m) for v in z)))


def _slow_loss(main: torch.Tensor, bias: torch.Tensor, y: torch.Tensor) -> float:
    """The paper's L_QM + L_QO, sample by sample in Python floats (means over the batch)."""
    n = len(y)
    qm = qo = 0.0
    for i in range(n):
        f = [float(v) for v in main[i]]
        b = [float(v) for v in bias[i]]
        qm += _ce([fk * _sigmoid(bk) for fk, bk in zip(f, b)], int(y[i]))
        qo += _ce(b, int(y[i]))
    return qm / n + qo / n


def _captured(monkeypatch):
    seen = capture_training(monkeypatch, rubi)
    torch.manual_seed(0)
    rubi.fit(lambda: simple_convnet1(3, 3, dropout=0.0), tiny_split(6), TrainConfig(epochs=1), progress=False)
    return seen["model"].double().eval(), seen["objective"]  # eval: BatchNorm's fixed statistics in every pass


def test_the_objective_fit_trains_is_the_papers_loss(monkeypatch):
    nets, objective = _captured(monkeypatch)
    split = tiny_split(6)
    x, y = split.x.double(), split.y
    loss = objective(nets, x, y, torch.arange(6))
    with torch.no_grad():
        expected = _slow_loss(nets["main"](x), nets["bias"](x), y)
    assert loss.item() == pytest.approx(expected, rel=1e-10)


def test_the_main_model_learns_from_l_qm_only_and_the_bias_branch_from_both(monkeypatch):
    nets, objective = _captured(monkeypatch)
    split = tiny_split(6)
    x, y = split.x.double(), split.y

    def grads(loss):
        nets.zero_grad()
        loss.backward()
        return {k: [p.grad.clone() if p.grad is not None else torch.zeros_like(p) for p in net.parameters()]
                for k, net in nets.items()}

    fitted = grads(objective(nets, x, y, torch.arange(6)))
    main, bias = nets["main"](x), nets["bias"](x)
    separate = grads(F.cross_entropy(main * torch.sigmoid(bias), y))  # L_QM alone
    for a, b in zip(fitted["main"], separate["main"]):
        torch.testing.assert_close(a, b, rtol=1e-10, atol=1e-12)
    both = grads(F.cross_entropy(nets["main"](x) * torch.sigmoid(nets["bias"](x)), y)
                 + F.cross_entropy(nets["bias"](x), y))
    for a, b in zip(fitted["bias"], both["bias"]):
        torch.testing.assert_close(a, b, rtol=1e-10, atol=1e-12)
    assert any(g.abs().sum() > 0 for g in fitted["bias"])


def test_the_main_logits_gradient_is_the_fused_residual_times_the_mask():
    """d L_QM / d f_k = (softmax(f * sigmoid(b))_k - [k = y]) * sigmoid(b_k), checked in float64 on random logits."""
    g = torch.Generator().manual_seed(3)
    f = torch.randn(5, 4, generator=g, dtype=torch.float64, requires_grad=True)
    b = 3 * torch.randn(5, 4, generator=g, dtype=torch.float64)
    y = torch.tensor([0, 1, 2, 3, 1])
    F.cross_entropy(rubi.rubi_logits(f, b), y, reduction="sum").backward()
    for i in range(5):
        fused = [float(f[i, k].detach()) * _sigmoid(float(b[i, k])) for k in range(4)]
        top = max(fused)
        z = sum(math.exp(v - top) for v in fused)
        for k in range(4):
            expected = (math.exp(fused[k] - top) / z - (k == int(y[i]))) * _sigmoid(float(b[i, k]))
            assert float(f.grad[i, k]) == pytest.approx(expected, rel=1e-9, abs=1e-12)


def test_the_mask_turns_a_minority_sample_into_a_vote_against_the_bias_class():
    """The mask at work on the same main logits f, label 0. A majority sample (the bias branch sure of the label):
    f's label logit is pushed up and the others are left alone. A minority sample (the branch sure of class 1):
    f's label logit is left almost alone (its mask is closed) and the bias class's logit is pushed down. So f learns
    from the minority to vote against whatever class the bias predicts, which on a majority test image is the label:
    the majority accuracy f alone gives up (RUBi's protocol cell in ``deviations``)."""
    f = torch.tensor([[1.0, 0.5, 0.8], [1.0, 0.5, 0.8]], dtype=torch.float64, requires_grad=True)
    sure_of_label = [8.0, -8.0, -8.0]
    sure_of_other = [-8.0, 8.0, -8.0]
    b = torch.tensor([sure_of_label, sure_of_other], dtype=torch.float64)
    F.cross_entropy(rubi.rubi_logits(f, b), torch.tensor([0, 0]), reduction="none").sum().backward()
    majority, minority = f.grad[0], f.grad[1]  # descent moves f against the gradient
    assert majority[0] < -0.1 and majority[1:].abs().max() < 1e-3
    assert minority[1] > 0.1 and abs(minority[0]) < 1e-3 and abs(minority[2]) < 1e-3
