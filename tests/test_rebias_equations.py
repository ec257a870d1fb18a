"""ReBias (Bahng et al. 2020, Section 3) as wired in ``rebias.fit``: the gradient each network receives from the
objective ``fit`` hands to the training loop, against the two players' objectives written out independently:

    f:  min  CE(f(x), y) + lambda   * HSIC_1(h_f, h_g),     h_g a constant for f,
    g:  min  CE(g(x), y) - lambda_g * HSIC_1(h_f, h_g),     h_f a constant for g,

with HSIC_1 the unbiased estimator as a U-statistic over every ordered 4-tuple of distinct samples (Song et al.
2012, Eq. 5's definition, not its closed form) and Gaussian kernels of median bandwidth (the bandwidth a constant,
as the library takes it). So a swapped detach, a sign of lambda_g or a wrong network would show."""

from __future__ import annotations

import itertools

import pytest
import torch
import torch.nn.functional as F
from conftest import capture_training, tiny_split

import debiaskit.baselines.rebias as rebias
from debiaskit.baselines.hsic import hsic
from debiaskit.core.models import simple_convnet1
from debiaskit.core.training import TrainConfig

pytestmark = pytest.mark.usefixtures("one_thread")

LAM, LAM_G = 0.7, 1.3


def _kernel(z: torch.Tensor) -> torch.Tensor:
    """Gaussian kernel, entry by entry, bandwidth the median off-diagonal distance (held constant)."""
    m = len(z)
    with torch.no_grad():
        dist = sorted(float((z[i] - z[j]).norm()) for i in range(m) for j in range(m) if i != j)
        sigma = dist[(len(dist) - 1) // 2]  # torch's median: the lower middle value
    return torch.stack([torch.stack([torch.exp(-(z[i] - z[j]).pow(2).sum() / (2 * sigma ** 2)) for j in range(m)])
                        for i in range(m)])


def _hsic_u(k: torch.Tensor, l: torch.Tensor) -> torch.Tensor:
    """HSIC_1 as the U-statistic: the mean over ordered 4-tuples (i, j, q, r) of distinct samples of
    k_ij l_ij + k_ij l_qr - 2 k_ij l_iq."""
    m = len(k)
    terms = [k[i, j] * l[i, j] + k[i, j] * l[q, r] - 2 * k[i, j] * l[i, q]
             for i, j, q, r in itertools.permutations(range(m), 4)]
    return torch.stack(terms).mean()


def _captured(monkeypatch):
    seen = capture_training(monkeypatch, rebias)
    torch.manual_seed(0)
    rebias.fit(lambda: simple_convnet1(3, 3, dropout=0.0), tiny_split(6), TrainConfig(epochs=1), lam=LAM, lam_g=LAM_G,
               progress=False)
    return seen["model"].double().eval(), seen["objective"]


def _grads(nets) -> dict[str, list[torch.Tensor]]:
    return {k: [p.grad.clone() if p.grad is not None else torch.zeros_like(p) for p in net.parameters()]
            for k, net in nets.items()}


def test_each_player_gets_its_own_objectives_gradient(monkeypatch):
    nets, objective = _captured(monkeypatch)
    split = tiny_split(6)
    x, y = split.x.double(), split.y
    nets.zero_grad()
    objective(nets, x, y, torch.arange(6)).backward()
    fitted = _grads(nets)

    f, g = nets["debiased"], nets["biased"]
    nets.zero_grad()
    h_f, h_g = f.features(x), g.features(x).detach()
    (F.cross_entropy(f.fc(h_f), y) + LAM * _hsic_u(_kernel(h_f), _kernel(h_g))).backward()
    expected_f = _grads(nets)["debiased"]
    nets.zero_grad()
    h_f, h_g = f.features(x).detach(), g.features(x)
    (F.cross_entropy(g.fc(h_g), y) - LAM_G * _hsic_u(_kernel(h_f), _kernel(h_g))).backward()
    expected_g = _grads(nets)["biased"]

    for got, want in zip(fitted["debiased"], expected_f):
        torch.testing.assert_close(got, want, rtol=1e-7, atol=1e-10)
    for got, want in zip(fitted["biased"], expected_g):
        torch.testing.assert_close(got, want, rtol=1e-7, atol=1e-10)
    assert any(float(g_.abs().sum()) > 0 for g_ in fitted["biased"])


def test_the_hsic_terms_pull_the_players_apart(monkeypatch):
    """Moving f a small step along its gradient lowers HSIC(h_f, h_g); moving g along its gradient of the HSIC
    term alone raises it (the min-max game's two directions)."""
    nets, _ = _captured(monkeypatch)
    split = tiny_split(6)
    x = split.x.double()
    f, g = nets["debiased"], nets["biased"]

    def dependence() -> float:
        with torch.no_grad():
            return float(hsic(f.features(x), g.features(x)))

    before = dependence()
    for net, sign in ((f, 1.0), (g, -1.0)):
        nets.zero_grad()
        (sign * hsic(f.features(x) if net is f else f.features(x).detach(),
                            g.features(x) if net is g else g.features(x).detach())).backward()
        with torch.no_grad():
            for p in net.parameters():
                if p.grad is not None:
                    p -= 1e-3 * p.grad
        after = dependence()
        assert (after < before) if net is f else (after > before)
        before = after
