"""The public entry points take what PyTorch users have and check it at the door (issue 28): one test per trap a
new user hit, each showing the new behaviour or the message that says what was given and what to do."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
import torch
from torch import nn

from debiaskit.baselines import run_method
from debiaskit.core.inputs import InputError, as_images, as_labels, as_split
from debiaskit.core.splits import BiasedSplit
from debiaskit.core.training import TrainConfig, evaluate, low_step_share, predict, train
from debiaskit.pgd import debias, pgd_settings, progress_bars

N = 24


def _net() -> nn.Module:
    torch.manual_seed(0)
    return nn.Sequential(nn.Flatten(), nn.Linear(64, 2))


def _data():
    gen = torch.Generator().manual_seed(0)
    return torch.rand(N, 1, 8, 8, generator=gen), torch.randint(0, 2, (N,), generator=gen)


CFG = TrainConfig(epochs=1, batch_size=8, precise_bn=False)


def test_labels_as_a_list_and_numpy_arrays_are_converted_once():
    x, y = _data()
    a = train(_net(), (x, y.tolist()), CFG, progress=False).model
    b = train(_net(), (x.numpy(), y.numpy()), CFG, progress=False).model
    c = train(_net(), (x, y), CFG, progress=False).model
    for other in (a, b):
        for p, q in zip(other.parameters(), c.parameters()):
            torch.testing.assert_close(p, q, rtol=0, atol=0)


def test_int32_labels_and_float64_images_train_a_float32_network():
    x, y = _data()
    ref = train(_net(), (x, y), CFG, progress=False).model
    got = train(_net(), (x.double(), y.int()), CFG, progress=False).model
    for p, q in zip(got.parameters(), ref.parameters()):
        assert p.dtype == torch.float32
        torch.testing.assert_close(p, q)


def test_images_without_a_channel_axis_get_one():
    x, y = _data()
    assert as_images(x[:, 0]).shape == (N, 1, 8, 8)
    train(_net(), (x[:, 0], y), CFG, progress=False)  # augmentation on: the [N, H, W] set is given a channel


def test_images_of_the_wrong_shape_or_dtype_are_refused_with_the_shape_to_use():
    with pytest.raises(InputError, match=r"\[N, C, H, W\].*got \[24, 64\]"):
        as_images(torch.rand(N, 64))
    with pytest.raises(InputError, match="uint8 .* or floating point"):
        as_images(torch.ones(N, 1, 8, 8, dtype=torch.int32))


def test_float_images_above_one_draw_a_warning():
    x, y = _data()
    with pytest.warns(UserWarning, match="divide by 255"):
        train(_net(), (255 * x, y), CFG, progress=False)


def test_labels_of_the_wrong_dtype_length_or_range_are_refused():
    with pytest.raises(InputError, match="integer class indices, got dtype torch.float32"):
        as_labels(torch.zeros(3))
    with pytest.raises(InputError, match="need one label per image: got 4 images and 3 labels"):
        as_labels([0, 1, 0], n=4)
    with pytest.raises(InputError, match="class indices 0..C-1, got -1"):
        as_labels([0, -1])
    with pytest.raises(InputError, match=r"below the number of classes \(2\), got 5"):
        as_labels([0, 5], num_classes=2)


def test_a_model_returning_a_tuple_is_named():
    class TwoOutputs(nn.Module):
        def __init__(self):
            super().__init__()
            self.fc = nn.Linear(64, 2)

        def forward(self, x):
            return self.fc(x.flatten(1)), x

    x, y = _data()
    with pytest.raises(InputError, match="must return a \\[batch, classes\\] tensor of logits, got tuple"):
        train(TwoOutputs(), (x, y), CFG, progress=False)


def test_a_model_instance_instead_of_a_factory_is_named():
    x, y = _data()
    with pytest.raises(InputError, match="must build a fresh network on each call .* got the network instance"):
        run_method("vanilla", _net(), (x, y), CFG)
    with pytest.raises(InputError, match="must build a fresh network"):
        debias(_net(), (x, y), biased_cfg=CFG, debiased_cfg=CFG)


def test_config_values_of_the_wrong_type_are_refused_in_trainconfig_itself():
    with pytest.raises(TypeError, match="TrainConfig.epochs must be an integer, got '3'"):
        TrainConfig(epochs="3")
    with pytest.raises(TypeError, match="TrainConfig.lr must be a number"):
        TrainConfig(lr="0.1")
    with pytest.raises(TypeError, match="TrainConfig.lr_milestones must be a list"):
        TrainConfig(lr_milestones=0.5)
    with pytest.raises(ValueError, match="lr > 0"):
        TrainConfig(lr=0)


def test_a_dict_config_is_accepted_and_unknown_settings_are_named():
    x, y = _data()
    a = train(_net(), (x, y), {"epochs": 1, "batch_size": 8, "precise_bn": False}, progress=False).model
    b = train(_net(), (x, y), CFG, progress=False).model
    for p, q in zip(a.parameters(), b.parameters()):
        torch.testing.assert_close(p, q, rtol=0, atol=0)
    with pytest.raises(TypeError, match=r"unknown training settings \['epoch'\]"):
        train(_net(), (x, y), {"epoch": 1}, progress=False)
    with pytest.raises(InputError, match="got a dict with keys"):
        as_split({"x": x, "y": y})


def test_bias_labels_are_optional_except_for_the_accuracy_by_group():
    x, y = _data()
    split = BiasedSplit(x, y)  # no bias labels
    assert split.major is None and np.isnan(split.minority_ratio)
    out = run_method("vanilla", _net, split, CFG, progress=False)
    acc = evaluate(out.model, (x, y))
    assert 0 <= acc["acc"] <= 100 and np.isnan(acc["major"]) and np.isnan(acc["minor"])
    assert len(split.subset(torch.arange(5))) == 5
    assert predict(out.model, x.numpy()).shape == (N, 2)


def test_debias_takes_a_pair_and_dict_configs():
    x, y = _data()
    cfg = {"epochs": 1, "batch_size": 8, "precise_bn": False, "augment": False}
    with progress_bars(False):
        out = debias(_net, (x, y), biased_cfg=cfg, debiased_cfg=cfg, preset=pgd_settings("draft", score="loss"))
    assert out.p_s.shape == (N,)


def test_the_closed_form_advice_names_the_switch_that_exists():
    class LogSoftmaxNet(nn.Module):
        def __init__(self):
            super().__init__()
            self.fc = nn.Linear(64, 2)

        def forward(self, x):
            return torch.log_softmax(self.fc(x.flatten(1)), dim=1)

    x, y = _data()
    cfg = dict(epochs=1, batch_size=8, precise_bn=False)
    with pytest.raises(ValueError, match=r"score with GradientScore\(method='vmap'\) .*pgd_settings\('draft', method='vmap'\)"), \
            progress_bars(False):
        debias(LogSoftmaxNet, (x, y), biased_cfg=cfg, debiased_cfg=CFG)
    with progress_bars(False):  # the advice works
        out = debias(LogSoftmaxNet, (x, y), biased_cfg=cfg, debiased_cfg=CFG, preset=pgd_settings("draft", method="vmap"))
    assert out.p_s.shape == (N,)


def test_default_schedule_keeps_learning_and_a_step_that_collapses_is_warned():
    for epochs in (1, 3, 5, 100):
        assert low_step_share(TrainConfig(epochs=epochs)) <= 0.5
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        TrainConfig(epochs=5)  # the docstring example of debiaskit.pgd: no warning, lr 0.01 -> 0.001 -> 0.0001
    with pytest.warns(UserWarning, match="keeps the step below 1% of lr=0.01 for 80% of the run"):
        TrainConfig(epochs=100, lr_decay=0.001, lr_milestones=(0.2, 0.4, 0.6, 0.8))  # Table 4 read literally
    with pytest.warns(UserWarning, match="below 1%"):
        TrainConfig(epochs=5, lr_decay=0.001, lr_milestones=(0.2, 0.4, 0.6, 0.8))  # the old default
