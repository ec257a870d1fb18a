"""Loss landscapes (Figure 4a/b) against a direct evaluation of the loss at perturbed weights."""

import copy

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from debiaskit.core.models import simple_convnet1
from debiaskit.pgd.analysis import filter_normalise, gradient_direction, gradient_landscape, loss_surface, mean_loss
from debiaskit.pgd.analysis.landscape import model_parameters, random_direction


@pytest.fixture
def model_and_data():
    torch.manual_seed(0)
    model = simple_convnet1(3, 10)
    x = torch.rand(12, 3, 28, 28)
    y = torch.randint(0, 10, (12,))
    model.train()
    for _ in range(3):  # non-trivial BatchNorm running statistics
        model(x)
    model.eval()
    return model, x, y


def direct_loss(model, x, y, theta, d1, d2, a, b):
    """The slow path: copy the model, load the perturbed weights, evaluate CE in eval mode."""
    other = copy.deepcopy(model)
    with torch.no_grad():
        for name, p in other.named_parameters():
            p.copy_(theta[name] + a * d1[name] + b * d2[name])
    other.eval()
    with torch.no_grad():
        return float(F.cross_entropy(other(x), y))


def test_surface_equals_direct_loss_at_grid_points(model_and_data):
    model, x, y = model_and_data
    theta = model_parameters(model)
    gen = torch.Generator().manual_seed(1)
    d1 = filter_normalise(random_direction(theta, gen), theta)
    d2 = filter_normalise(random_direction(theta, gen), theta)
    alphas, betas = np.array([-0.5, 0.0, 0.25]), np.array([-0.3, 0.4])
    surface = loss_surface(model, x, y, d1, d2, alphas, betas, relative=False)
    for bi, b in enumerate(betas):
        for ai, a in enumerate(alphas):
            assert surface[bi, ai] == pytest.approx(direct_loss(model, x, y, theta, d1, d2, a, b), rel=1e-4, abs=1e-5)
    relative = loss_surface(model, x, y, d1, d2, alphas, betas)
    np.testing.assert_allclose(relative, surface - float(mean_loss(model, x, y)), rtol=1e-5, atol=1e-6)


def test_filter_normalisation_matches_filter_norms_and_skips_1d(model_and_data):
    model, _, _ = model_and_data
    theta = model_parameters(model)
    d = filter_normalise(random_direction(theta, torch.Generator().manual_seed(2)), theta)
    for name, t in theta.items():
        if t.dim() <= 1:
            assert torch.count_nonzero(d[name]) == 0
        else:
            torch.testing.assert_close(d[name].flatten(1).norm(dim=1), t.flatten(1).norm(dim=1), rtol=1e-5, atol=1e-6)


def test_gradient_direction_is_the_negative_gradient(model_and_data):
    model, x, y = model_and_data
    direction = gradient_direction(model, x, y)
    other = copy.deepcopy(model).eval()
    F.cross_entropy(other(x), y).backward()
    for name, p in other.named_parameters():
        torch.testing.assert_close(direction[name], -p.grad, rtol=1e-4, atol=1e-6)
    assert model.training is False


def test_loss_decreases_along_the_gradient(model_and_data):
    model, x, y = model_and_data
    land = gradient_landscape(model, x, y, span=0.2, steps=5, seed=0)
    centre = land.surface[2, 2]
    assert centre == pytest.approx(0.0, abs=1e-6)
    assert land.surface[2, 3] < centre  # a small step along -grad lowers the loss
    a, b, value = land.minimum
    assert value <= land.surface.min() + 1e-12 and land.arrow_length == pytest.approx(np.hypot(a, b))
