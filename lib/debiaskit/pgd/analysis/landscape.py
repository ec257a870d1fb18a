"""Loss landscapes around the biased model, along the gradient direction (PGD draft, Figure 4a/b,
Appendix A.2), plotted as Li et al. (2018, "Visualizing the loss landscape of neural nets") do.

For a set S (one sample for Figure 4a, all majority or all minority samples for 4b) the surface is

    L_S(alpha, beta) = mean_{i in S} L_CE(x_i, y_i; theta + alpha d_1 + beta d_2) - L_S(0, 0),

with d_1 the negative gradient of L_S at theta and d_2 a random Gaussian direction, both
*filter-normalised* (Li et al., Section 4: every filter of d is rescaled to the norm of the same
filter of theta; 1-D parameters -- biases and BatchNorm -- are not perturbed), so that panels of
different samples share one scale. The model is evaluated in eval mode (running BatchNorm statistics,
no dropout). The draft's red arrow runs from the centre (the converged biased model) to the lowest
point of the grid: short for majority samples, whose minimum the model already sits near, long for
the minority.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn
from torch.func import functional_call

from debiaskit.core.training import as_float_images
from debiaskit.pgd.params import eval_mode, model_device

Direction = dict[str, torch.Tensor]


def model_parameters(model: nn.Module) -> Direction:
    """The model's parameters by name, detached."""
    return {n: p.detach() for n, p in model.named_parameters()}


def filter_normalise(direction: Direction, params: Direction) -> Direction:
    """Li et al.'s filter normalisation: each filter d_f (a slice along the first axis of a weight
    with >= 2 dims) becomes d_f / ||d_f|| * ||theta_f||; 1-D parameters get a zero direction."""
    out = {}
    for name, d in direction.items():
        theta = params[name]
        if d.shape != theta.shape:
            raise ValueError(f"direction {name!r} has shape {tuple(d.shape)}, the parameter {tuple(theta.shape)}")
        if d.dim() <= 1:
            out[name] = torch.zeros_like(d)
            continue
        d_norm = d.flatten(1).norm(dim=1).clamp(min=1e-12)
        t_norm = theta.flatten(1).norm(dim=1)
        out[name] = d * (t_norm / d_norm).view(-1, *([1] * (d.dim() - 1)))
    return out


def random_direction(params: Direction, generator: torch.Generator) -> Direction:
    """A Gaussian direction with the parameters' shapes (drawn on the CPU, reproducible)."""
    return {n: torch.randn(p.shape, generator=generator, dtype=p.dtype).to(p.device) for n, p in params.items()}


def mean_loss(model: nn.Module, x: torch.Tensor, y: torch.Tensor, params: Direction | None = None,
              batch_size: int = 1024) -> torch.Tensor:
    """Mean CE of ``(x, y)`` under ``model`` in eval mode, with ``params`` substituted when given
    (differentiable w.r.t. ``params``)."""
    dev = model_device(model)
    buffers = {n: b for n, b in model.named_buffers()}
    total = torch.zeros((), device=dev)
    with eval_mode(model), torch.set_grad_enabled(params is not None and torch.is_grad_enabled()):
        for start in range(0, len(x), batch_size):
            xb, yb = as_float_images(x[start:start + batch_size].to(dev)), y[start:start + batch_size].to(dev)
            logits = model(xb) if params is None else functional_call(model, ({**params, **buffers}), (xb,))
            total = total + F.cross_entropy(logits, yb, reduction="sum")
    return total / len(x)


def gradient_direction(model: nn.Module, x: torch.Tensor, y: torch.Tensor) -> Direction:
    """The negative gradient of the mean CE of ``(x, y)`` at the model's parameters (eval mode)."""
    if len(x) == 0:
        raise ValueError("cannot take the gradient of an empty set")
    params = {n: p.detach().clone().requires_grad_(True) for n, p in model.named_parameters()}
    loss = mean_loss(model, x, y, params)
    grads = torch.autograd.grad(loss, list(params.values()))
    return {n: -g.detach() for n, g in zip(params, grads)}


def direction_norm(direction: Direction) -> float:
    """Euclidean norm of a direction over all parameters."""
    return float(torch.sqrt(sum((d.double() ** 2).sum() for d in direction.values())))


@torch.no_grad()
def loss_surface(model: nn.Module, x: torch.Tensor, y: torch.Tensor, d1: Direction, d2: Direction,
                 alphas: np.ndarray, betas: np.ndarray, relative: bool = True) -> np.ndarray:
    """``[len(betas), len(alphas)]`` mean CE at theta + alpha d1 + beta d2 (minus the value at theta
    when ``relative``)."""
    theta = model_parameters(model)
    if set(d1) != set(theta) or set(d2) != set(theta):
        raise ValueError("directions must name exactly the model's parameters")
    surface = np.empty((len(betas), len(alphas)))
    for bi, b in enumerate(betas):
        for ai, a in enumerate(alphas):
            point = {n: theta[n] + float(a) * d1[n] + float(b) * d2[n] for n in theta}
            surface[bi, ai] = float(mean_loss(model, x, y, point))
    if relative:
        surface = surface - float(mean_loss(model, x, y))
    return surface


@dataclass
class Landscape:
    """One panel of Figure 4a/b: the surface on the grid, the gradient norm and the arrow to the minimum."""

    alphas: np.ndarray
    betas: np.ndarray
    surface: np.ndarray
    grad_norm: float
    loss: float

    @property
    def minimum(self) -> tuple[float, float, float]:
        """``(alpha, beta, loss difference)`` of the lowest grid point."""
        bi, ai = np.unravel_index(np.argmin(self.surface), self.surface.shape)
        return float(self.alphas[ai]), float(self.betas[bi]), float(self.surface[bi, ai])

    @property
    def arrow_length(self) -> float:
        """Distance (in grid units) from the centre to the lowest grid point."""
        a, b, _ = self.minimum
        return float(np.hypot(a, b))


def gradient_landscape(model: nn.Module, x: torch.Tensor, y: torch.Tensor, span: float = 1.0, steps: int = 15,
                       seed: int = 0) -> Landscape:
    """Figure 4a (one sample) or 4b (a set): the surface along the filter-normalised negative gradient
    (x axis) and a filter-normalised random direction (y axis), on a ``steps`` x ``steps`` grid over
    [-span, span]^2."""
    theta = model_parameters(model)
    grad = gradient_direction(model, x, y)
    d1 = filter_normalise(grad, theta)
    d2 = filter_normalise(random_direction(theta, torch.Generator().manual_seed(seed)), theta)
    grid = np.linspace(-span, span, steps)
    surface = loss_surface(model, x, y, d1, d2, grid, grid)
    return Landscape(grid, grid, surface, direction_norm(grad), float(mean_loss(model, x, y)))
