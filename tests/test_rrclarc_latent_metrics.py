"""Latent activations of named layers, TCAV, R_bias and accuracy."""

import pytest
import torch

from debiaskit.core.models import resnet18, simple_convnet1
from debiaskit.rrclarc.latent import feature_maps_layer, find_layer, latent_activations, latent_head, pool_space
from debiaskit.rrclarc.metrics import accuracy, attributions, r_bias, tcav


def test_activations_of_a_named_layer_pooled_over_space():
    torch.manual_seed(0)
    model = simple_convnet1(1, 10).eval()
    x = torch.rand(6, 1, 28, 28)
    maps = latent_activations(model, x, "body", pool="none", batch_size=4)
    torch.testing.assert_close(maps, model.feature_maps(x))
    torch.testing.assert_close(latent_activations(model, x, "body", pool="max"), maps.amax((2, 3)))
    torch.testing.assert_close(latent_activations(model, x, "body.4", pool="mean").shape, torch.Size([6, 8]))
    torch.testing.assert_close(pool_space(maps, "mean"), model.features(x))


def test_unknown_layer_gives_a_clear_error():
    model = simple_convnet1(1, 10)
    with pytest.raises(ValueError, match="no layer 'layer4'.*body.*named_modules"):
        latent_activations(model, torch.rand(2, 1, 28, 28), "layer4")
    with pytest.raises(ValueError, match="no layer"):
        find_layer(model, "")
    with pytest.raises(ValueError, match="pool must be one of"):
        pool_space(torch.rand(2, 3, 4, 4), "median")


def test_resnet_head_is_average_pool_and_fc():
    torch.manual_seed(0)
    model = resnet18(num_classes=2).eval()
    x = torch.rand(2, 3, 64, 64)
    layer = feature_maps_layer(model)
    maps = latent_activations(model, x, layer, pool="none")
    with torch.no_grad():
        torch.testing.assert_close(latent_head(model, layer)(maps), model(x), rtol=1e-4, atol=1e-5)


def test_tcav_of_a_linear_head_is_the_projection_of_its_row():
    head = torch.nn.Linear(3, 2, bias=False)
    with torch.no_grad():
        head.weight.copy_(torch.tensor([[1.0, -2.0, 0.0], [0.5, 0.5, 0.5]]))
    cav = torch.tensor([0.0, 1.0, 0.0])
    out = tcav(head, torch.randn(5, 3), cav, class_index=0)
    assert out == {"score": 0.0, "sensitivity": pytest.approx(2.0)}
    assert tcav(head, torch.randn(5, 3), cav, class_index=1) == {"score": 100.0, "sensitivity": pytest.approx(0.5)}


def test_r_bias_is_the_share_of_attribution_inside_the_mask():
    attr = torch.zeros(2, 4, 4)
    attr[0, 0, 0], attr[0, 3, 3] = 3.0, -1.0  # 75% inside
    attr[1, 3, 3] = 2.0  # 0% inside
    mask = torch.zeros(4, 4, dtype=torch.bool)
    mask[:2, :2] = True
    assert r_bias(attr, mask) == pytest.approx(37.5)
    with pytest.raises(ValueError, match="does not match"):
        r_bias(attr, torch.zeros(3, 3, dtype=torch.bool))


def test_input_x_gradient_and_accuracy():
    model = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(4, 2, bias=False))
    with torch.no_grad():
        model[1].weight.copy_(torch.tensor([[1.0, 0.0, 0.0, 2.0], [0.0, 1.0, 0.0, 0.0]]))
    x = torch.tensor([[[[1.0, 2.0], [3.0, 4.0]]]])
    torch.testing.assert_close(attributions(model, x, 0), torch.tensor([[[1.0, 0.0], [0.0, 8.0]]]))
    assert accuracy(model, torch.cat([x, -x]), torch.tensor([0, 1])) == 100.0
    with pytest.raises(ValueError, match="attribution method"):
        attributions(model, x, 0, "lrp")
