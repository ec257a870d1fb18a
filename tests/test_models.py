"""The networks' own layers: the fast dropout against nn.Dropout's definition."""

import math

import pytest
import torch

from debiaskit.core.models import Dropout, simple_convnet1


def test_dropout_zeroes_with_probability_p_and_scales_the_rest():
    torch.manual_seed(0)
    layer = Dropout(0.1).train()
    x = torch.rand(250_003) + 0.5  # an odd size: the last 64-bit draw is only partly used
    y = layer(x)
    dropped = y == 0
    n = len(x)
    assert abs(float(dropped.float().mean()) - layer.p) < 5 * math.sqrt(layer.p * (1 - layer.p) / n)
    assert torch.allclose(y[~dropped], x[~dropped] / (1 - layer.p))
    # every 16-bit lane of the 64-bit draws drops at rate p (the top bit of each draw is always 0)
    lanes = dropped[: n // 4 * 4].view(-1, 4).float().mean(0)
    assert (lanes - layer.p).abs().max() < 5 * math.sqrt(layer.p * (1 - layer.p) / (n // 4))
    assert layer.p == pytest.approx(0.1, abs=2 ** -15)


def test_dropout_backward_eval_mode_and_seeding():
    layer = Dropout(0.3)
    x = torch.randn(4, 8, 5, 5, requires_grad=True)
    torch.manual_seed(1)
    y = layer(x)
    y.sum().backward()
    keep = y.detach() != 0
    assert torch.allclose(x.grad, keep / (1 - layer.p))  # d/dx of x * mask / (1 - p)
    torch.manual_seed(1)
    assert torch.equal(layer(x), y)  # the mask comes from torch's seeded generator
    assert layer.eval()(x) is x and Dropout(0.0).train()(x) is x
    with pytest.raises(ValueError, match="dropout"):
        Dropout(1.0)


def test_simple_convnet_uses_it():
    net = simple_convnet1(dropout=0.1)
    assert sum(isinstance(m, Dropout) for m in net.modules()) == 3
