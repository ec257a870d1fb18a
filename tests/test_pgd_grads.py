"""Per-sample gradients (vmap, streaming top-k passes, closed form) against a float64 loop of
single-sample backward passes in eval mode, on a model with BatchNorm and dropout."""

from __future__ import annotations

import copy

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from debiaskit.core.models import simple_convnet1
from debiaskit.pgd import (
    gather_coordinates,
    gradient_statistics,
    last_layer_grad_norms,
    last_layer_grads,
    per_sample_grads,
    select_parameters,
    topk_per_sample_grads,
)

pytestmark = pytest.mark.usefixtures("one_thread")  # tests/conftest.py

N = 24


def _model(dtype=torch.float64) -> nn.Module:
    torch.manual_seed(0)
    model = simple_convnet1(in_channels=3, num_classes=5, dropout=0.3)
    model.train()
    with torch.no_grad():  # non-trivial running statistics, different from any batch's own
        for _ in range(3):
            model(torch.rand(32, 3, 12, 12) * 2 + 0.5)
        for m in model.modules():
            if isinstance(m, nn.BatchNorm2d):
                m.weight.uniform_(0.5, 1.5)
                m.bias.uniform_(-0.2, 0.2)
    return model.to(dtype).train()  # left in train mode on purpose: the functions must switch to eval


@pytest.fixture(scope="module")
def setup():
    model = _model()
    gen = torch.Generator().manual_seed(1)
    x = torch.rand(N, 3, 12, 12, generator=gen, dtype=torch.float64)
    y = torch.randint(0, 5, (N,), generator=gen)
    reference = _loop_grads(model, x, y)
    return model, x, y, reference


def _loop_grads(model: nn.Module, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """The ground truth: one backward pass per sample, eval mode, float64."""
    was = model.training
    model.eval()
    rows = []
    for i in range(len(x)):
        model.zero_grad(set_to_none=True)
        F.cross_entropy(model(x[i:i + 1]), y[i:i + 1]).backward()
        rows.append(torch.cat([p.grad.flatten() for p in model.parameters()]))
    model.zero_grad(set_to_none=True)
    model.train(was)
    return torch.stack(rows)


def _rel(a: torch.Tensor, b: torch.Tensor) -> float:
    return float((a - b).norm() / b.norm())


def _columns(model: nn.Module, names: list[str]) -> torch.Tensor:
    """Flat columns of the full gradient that belong to ``names``."""
    cols, start = [], 0
    for n, p in model.named_parameters():
        if n in names:
            cols.append(torch.arange(start, start + p.numel()))
        start += p.numel()
    return torch.cat(cols)


def test_all_parameters_match_loop_and_mode_is_restored(setup):
    model, x, y, ref = setup
    g = per_sample_grads(model, x, y)
    assert g.shape == ref.shape
    assert _rel(g, ref) < 1e-5
    assert model.training and all(m.training for m in model.modules())


def test_train_mode_gradients_would_differ(setup):
    """Guards the test above: batch statistics (train mode) give different gradients."""
    model, x, y, ref = setup
    model = copy.deepcopy(model).train()  # a train-mode forward updates the running statistics
    torch.manual_seed(0)
    F.cross_entropy(model(x[:2]), y[:2]).backward()
    g_train = torch.cat([p.grad.flatten() for p in model.parameters()])
    model.zero_grad(set_to_none=True)
    assert _rel(g_train, ref[:2].mean(0)) > 1e-3


def test_parameter_subsets(setup):
    model, x, y, ref = setup
    names = ["body.5.weight", "fc.bias"]
    g = per_sample_grads(model, x, y, params=names)
    assert _rel(g, ref[:, _columns(model, names)]) < 1e-5
    last = select_parameters(model, "last_linear")
    assert last == ["fc.weight", "fc.bias"]
    g = per_sample_grads(model, x, y, params="last_linear")
    assert _rel(g, ref[:, _columns(model, last)]) < 1e-5
    d = per_sample_grads(model, x, y, params="last_linear", flatten=False)
    assert d["fc.weight"].shape == (N, 5, 64)


def test_streaming_passes_match_loop(setup):
    model, x, y, ref = setup
    stats = gradient_statistics(model, x, y, batch_size=7)  # chunks of unequal size
    assert _rel(stats.abs_sum, ref.abs().sum(0)) < 1e-5
    assert _rel(stats.norms, ref.norm(dim=1)) < 1e-5
    top = topk_per_sample_grads(model, x, y, k=60, batch_size=5)
    expected_index = torch.topk(ref.abs().sum(0), 60).indices.sort().values
    assert torch.equal(top.index, expected_index)
    assert _rel(top.grads, ref[:, expected_index]) < 1e-5
    # pass 2 alone, for coordinates spread over several parameters
    index = torch.tensor([0, 391, 5000, 38209 - 325 - 2, len(ref[0]) - 1])
    sub = gather_coordinates(model, x, y, index, batch_size=10)
    assert _rel(sub, ref[:, index]) < 1e-5


def test_closed_form_matches_loop(setup):
    model, x, y, ref = setup
    cols = _columns(model, ["fc.weight", "fc.bias"])
    assert _rel(last_layer_grads(model, x, y), ref[:, cols]) < 1e-5
    assert model.training
    top = topk_per_sample_grads(model, x, y, k=40, params="last_linear", batch_size=5, method="closed_form")
    sub_ref = ref[:, cols]
    expected = torch.topk(sub_ref.abs().sum(0), 40).indices.sort().values
    assert torch.equal(top.index, expected)
    assert _rel(top.grads, sub_ref[:, expected]) < 1e-5
    assert _rel(top.norms, sub_ref.norm(dim=1)) < 1e-5


@pytest.mark.parametrize("p", [0.7, 1.0, 2.0, float("inf")])
@pytest.mark.parametrize("include_bias", [False, True])
def test_gradient_p_norm_closed_form(setup, p, include_bias):
    model, x, y, ref = setup
    names = ["fc.weight", "fc.bias"] if include_bias else ["fc.weight"]
    g = ref[:, _columns(model, names)]
    expected = torch.linalg.vector_norm(g, ord=p, dim=1)
    got = last_layer_grad_norms(model, x, y, p=p, include_bias=include_bias, batch_size=5)
    assert _rel(got, expected) < 1e-5


def test_float32_is_close_to_float64_loop(setup):
    model, x, y, ref = setup
    g = per_sample_grads(copy.deepcopy(model).float(), x.float(), y)
    assert _rel(g.double(), ref) < 1e-4


def test_closed_form_rejects_models_that_transform_logits():
    class Scaled(nn.Module):
        def __init__(self):
            super().__init__()
            self.fc = nn.Linear(4, 3)

        def forward(self, x):
            return 2 * self.fc(x)

    model = Scaled()
    with pytest.raises(ValueError, match="not the last linear layer's output"):
        last_layer_grads(model, torch.rand(2, 4), torch.tensor([0, 1]))
    with pytest.raises(ValueError, match="closed form"):
        topk_per_sample_grads(model, torch.rand(2, 4), torch.tensor([0, 1]), k=2, params="last_linear",
                              method="closed_form")
    # the vmap path still works for it
    g = per_sample_grads(model, torch.rand(2, 4), torch.tensor([0, 1]), params="last_linear")
    assert g.shape == (2, 15)


def test_bad_inputs(setup):
    model, x, y, _ = setup
    with pytest.raises(ValueError, match="empty"):
        per_sample_grads(model, x[:0], y[:0])
    with pytest.raises(ValueError, match="empty"):
        topk_per_sample_grads(model, x[:0], y[:0], k=3)
    with pytest.raises(ValueError, match="length"):
        per_sample_grads(model, x, y[:3])
    with pytest.raises(ValueError, match="k must be"):
        topk_per_sample_grads(model, x, y, k=0)
    with pytest.raises(ValueError, match="no parameters named"):
        per_sample_grads(model, x, y, params=["nope"])
    with pytest.raises(ValueError, match="no nn.Linear"):
        per_sample_grads(nn.Sequential(nn.Conv2d(3, 2, 3), nn.Flatten()), x.float(), y, params="last_linear")


@pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA device")
def test_cuda_matches_cpu(setup):
    model, x, y, ref = setup
    gpu = _model().cuda()
    g = per_sample_grads(gpu, x.cuda(), y.cuda())
    assert _rel(g.cpu(), ref) < 1e-5
    top = topk_per_sample_grads(gpu, x, y, k=30, batch_size=8)  # data on the CPU, streamed to the GPU
    assert _rel(top.grads, ref[:, top.index]) < 1e-5
