"""LfF (Nam et al. 2020) as wired in ``lff.fit``: the gradients each network receives from the training objective,
against an independent slow computation of the paper's equations (GCE for f_B, Eq. 2; W(x)-weighted CE for f_D,
Eq. 3, W a constant) and of the authors' per-sample EMA with class-max normalisation.

The loss-level formulas are covered in test_baselines.py; here the objective ``fit`` actually hands to the training
loop is captured and differentiated, so a mis-wired index, EMA or detach would show."""

from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as F
from conftest import capture_training, tiny_split

import debiaskit.baselines.lff as lff
from debiaskit.core.models import simple_convnet1
from debiaskit.core.training import TrainConfig

pytestmark = pytest.mark.usefixtures("one_thread")

Q = 0.7
DECAY = 0.7


def _captured_objective(monkeypatch, split, ema):
    seen = capture_training(monkeypatch, lff)
    torch.manual_seed(0)
    lff.fit(lambda: simple_convnet1(3, 3, dropout=0.0), split, TrainConfig(epochs=1), q=Q, ema=ema, progress=False)
    nets = seen["model"]
    torch.manual_seed(1)  # f_B and f_D as two different networks, as in the authors' code
    for p in nets["biased"].parameters():
        p.data.add_(0.05 * torch.randn_like(p))
    return nets.eval(), seen["objective"]  # eval: BatchNorm uses fixed statistics, so slow and fast passes agree


def _ce(logits_row, y):
    z = [float(v) for v in logits_row]
    m = max(z)
    return -(z[y] - m - math.log(sum(math.exp(v - m) for v in z)))


def _grads(net):
    return [p.grad.clone() if p.grad is not None else torch.zeros_like(p) for p in net.parameters()]


def _reference_grads(nets, x, y, w):
    """Gradients of GCE(f_B) and mean(w * CE(f_D)) with w a constant, taken separately."""
    for p in nets.parameters():
        p.grad = None
    lb = nets["biased"](x)
    py = F.softmax(lb, 1).gather(1, y[:, None]).squeeze(1)
    ((1 - py ** Q) / Q).mean().backward()
    ld = nets["debiased"](x)
    (torch.tensor(w, dtype=ld.dtype) * F.cross_entropy(ld, y, reduction="none")).mean().backward()
    return _grads(nets["biased"]), _grads(nets["debiased"])


def _objective_grads(nets, objective, x, y, idx):
    for p in nets.parameters():
        p.grad = None
    objective(nets, x, y, idx).backward()
    return _grads(nets["biased"]), _grads(nets["debiased"])


def _close(a, b):
    return all(torch.allclose(u, v, atol=1e-6, rtol=1e-4) for u, v in zip(a, b))


def test_per_batch_weights_drive_only_the_debiased_model(monkeypatch):
    split = tiny_split(12)
    nets, objective = _captured_objective(monkeypatch, split, ema=None)
    idx = torch.tensor([5, 0, 7, 2])
    x, y = split.x[idx], split.y[idx]
    with torch.no_grad():
        lb, ld = nets["biased"](x), nets["debiased"](x)
    w = [_ce(lb[i], int(y[i])) / (_ce(lb[i], int(y[i])) + _ce(ld[i], int(y[i]))) for i in range(len(idx))]
    ref_b, ref_d = _reference_grads(nets, x, y, w)
    got_b, got_d = _objective_grads(nets, objective, x, y, idx)
    assert _close(got_b, ref_b), "f_B must get the GCE gradient only (W detached)"
    assert _close(got_d, ref_d), "f_D must get the W-weighted CE gradient with W a constant"


def test_ema_weights_follow_the_authors_class_normalised_average(monkeypatch):
    split = tiny_split(12)
    nets, objective = _captured_objective(monkeypatch, split, ema=DECAY)
    n = len(split.y)
    par_b, par_d, updated = [0.0] * n, [0.0] * n, [0] * n
    for step, idx in enumerate([torch.tensor([5, 0, 7, 2]), torch.tensor([0, 11, 5, 3]), torch.tensor([7, 3, 2, 9])]):
        x, y = split.x[idx], split.y[idx]
        with torch.no_grad():
            lb, ld = nets["biased"](x), nets["debiased"](x)
        for k, i in enumerate(idx.tolist()):  # authors' EMA: the first update sets the average to the loss
            par_b[i] = DECAY * par_b[i] + (1 - DECAY * updated[i]) * _ce(lb[k], int(y[k]))
            par_d[i] = DECAY * par_d[i] + (1 - DECAY * updated[i]) * _ce(ld[k], int(y[k]))
            updated[i] = 1
        labels = split.y.tolist()
        w = []
        for i in idx.tolist():
            same = [j for j in range(n) if labels[j] == labels[i]]
            nb = par_b[i] / max(par_b[j] for j in same)
            nd = par_d[i] / max(par_d[j] for j in same)
            w.append(nb / (nb + nd))
        ref_b, ref_d = _reference_grads(nets, x, y, w)
        got_b, got_d = _objective_grads(nets, objective, x, y, idx)
        assert _close(got_b, ref_b), f"step {step}: f_B gradient"
        assert _close(got_d, ref_d), f"step {step}: f_D gradient with the EMA weights"
