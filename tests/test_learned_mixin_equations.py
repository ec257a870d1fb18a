"""LearnedMixin+H (Clark, Yatskar & Zettlemoyer 2019) as wired in ``learned_mixin.fit``, against an independent slow
computation: ensemble softmax(log p_main + g(x) log b) with g = softplus(w . h + b0) >= 0, the entropy penalty
w_H * H(softmax(g log b)) *added* (minimised), no gradient from the ensemble into the bias model, and the bias model
trained by its own cross-entropy only.

The loss formula is covered in test_baselines.py; here the objective ``fit`` hands to the training loop is captured
and differentiated."""

from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as F
from conftest import capture_training, tiny_split

import debiaskit.baselines.learned_mixin as lm
from debiaskit.core.models import simple_convnet1
from debiaskit.core.training import TrainConfig

pytestmark = pytest.mark.usefixtures("one_thread")

W_H = 0.3


def _captured(monkeypatch, split, **options):
    seen = capture_training(monkeypatch, lm)
    torch.manual_seed(0)
    lm.fit(lambda: simple_convnet1(3, 3, dropout=0.0), split, TrainConfig(epochs=1), entropy_weight=W_H,
           progress=False, **options)
    nets = seen["model"]
    torch.manual_seed(1)
    with torch.no_grad():
        if "bias" in nets:
            for p in nets["bias"].parameters():
                p.add_(0.3 * torch.randn_like(p))
        nets["gate"].weight.normal_(0, 0.5)
    return nets.eval(), seen["objective"]


def _slow_loss(logits, log_b, pre_gate, y):
    total = 0.0
    for i in range(len(y)):
        g = math.log1p(math.exp(pre_gate[i]))
        assert g >= 0
        z = [logits[i][k] for k in range(len(logits[i]))]
        lz = math.log(sum(math.exp(v) for v in z))
        s = [z[k] - lz + g * log_b[i][k] for k in range(len(z))]
        nll = -(s[y[i]] - math.log(sum(math.exp(v) for v in s)))
        t = [g * v for v in log_b[i]]
        zt = sum(math.exp(v) for v in t)
        entropy = -sum(math.exp(v) / zt * (v - math.log(zt)) for v in t)
        total += nll + W_H * entropy
    return total / len(y)


def test_joint_objective_value_and_no_ensemble_gradient_into_the_bias_model(monkeypatch):
    split = tiny_split(8)
    nets, objective = _captured(monkeypatch, split, gate_init=-1.0)
    idx = torch.tensor([3, 0, 6, 1])
    x, y = split.x[idx], split.y[idx]
    with torch.no_grad():
        h = nets["main"].features(x)
        logits, pre_gate = nets["main"].fc(h), nets["gate"](h).squeeze(1)
        bias_logits = nets["bias"](x)
        log_b = F.log_softmax(bias_logits, 1)
    expected = _slow_loss(logits.tolist(), log_b.tolist(), pre_gate.tolist(), y.tolist()) + float(
        F.cross_entropy(bias_logits, y))
    loss = objective(nets, x, y, idx)
    assert float(loss.detach()) == pytest.approx(expected, rel=1e-5)
    for p in nets.parameters():
        p.grad = None
    loss.backward()
    got = [p.grad.clone() for p in nets["bias"].parameters()]
    for p in nets.parameters():
        p.grad = None
    F.cross_entropy(nets["bias"](x), y).backward()
    ref = [p.grad.clone() for p in nets["bias"].parameters()]
    assert all(torch.allclose(a, b, atol=1e-7) for a, b in zip(got, ref)), "bias model: its own CE only"


def test_fixed_bias_model_gets_no_gradient_and_is_read_by_index(monkeypatch):
    split = tiny_split(8)
    torch.manual_seed(3)
    bias_net = simple_convnet1(3, 3, dropout=0.0).eval()
    nets, objective = _captured(monkeypatch, split, biased_model=bias_net)
    idx = torch.tensor([7, 2, 4])
    x, y = split.x[idx], split.y[idx]
    with torch.no_grad():
        h = nets["main"].features(x)
        logits, pre_gate = nets["main"].fc(h), nets["gate"](h).squeeze(1)
        log_b = F.log_softmax(bias_net(x), 1)
    loss = objective(nets, x, y, idx)
    assert float(loss.detach()) == pytest.approx(_slow_loss(logits.tolist(), log_b.tolist(), pre_gate.tolist(), y.tolist()),
                                        rel=1e-5)
    loss.backward()
    assert all(p.grad is None for p in bias_net.parameters())


def test_entropy_penalty_is_minimised_and_gate_is_non_negative():
    confident = F.log_softmax(torch.tensor([[4.0, 0.0, 0.0]]), 1)
    zero = torch.zeros(1, 3)
    y = torch.tensor([0])

    def penalty(pre_gate):
        return float(lm.learned_mixin_h_loss(zero, confident, torch.tensor([pre_gate]), y, 1.0)
                     - lm.learned_mixin_h_loss(zero, confident, torch.tensor([pre_gate]), y, 0.0))

    # the H term is the entropy itself (positive, added): a larger gate sharpens softmax(g log b) and lowers it
    assert penalty(-6.0) > penalty(0.0) > penalty(4.0) > 0
    assert penalty(-6.0) == pytest.approx(math.log(3), rel=1e-2)
    # a very negative pre-gate gives g -> 0 (never negative): the ensemble is the main model alone
    logits = torch.tensor([[0.3, -0.2, 1.0]])
    assert float(lm.learned_mixin_h_loss(logits, confident, torch.tensor([-50.0]), y, 0.0)) == pytest.approx(
        float(F.cross_entropy(logits, y)), rel=1e-6)
