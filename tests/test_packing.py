"""Packed training (several models in one vmapped step) against one-at-a-time training, and the device staging
of the training loop."""

from __future__ import annotations

import dataclasses

import pytest
import torch

from debiaskit.core.models import Dropout, draw_keep_mask, dropout_masks, simple_convnet1, simple_convnet2
from debiaskit.core.packing import PackingError, train_packed
from debiaskit.core.training import TrainConfig, gather_batch, predict, stage_on_device, train

pytestmark = pytest.mark.usefixtures("one_thread")  # tests/conftest.py


def _data(n=96, seed=0):
    g = torch.Generator().manual_seed(seed)
    y = torch.arange(n) % 10
    x = (torch.rand(n, 3, 28, 28, generator=g) * 80).to(torch.uint8)
    x[:, 0] += (y * 17).to(torch.uint8).view(-1, 1, 1)
    return x, y


def _fresh(seed: int, build=simple_convnet1):
    torch.manual_seed(100 + seed)
    return build(3, 10)


def _configs():
    """Two seeds of one setting and a third model with its own learning rate, momentum and weight decay."""
    base = dict(epochs=3, batch_size=32, device="cpu", lr_milestones=(0.34, 0.67), lr_decay=0.1)
    return [TrainConfig(seed=0, **base), TrainConfig(seed=1, **base),
            TrainConfig(seed=2, lr=0.03, momentum=0.5, weight_decay=1e-2, **base)]


def test_packed_models_equal_one_at_a_time_training():
    data, cfgs = _data(), _configs()
    alone = [train(_fresh(k), data, c, progress=False) for k, c in enumerate(cfgs)]
    packed = train_packed([_fresh(k) for k in range(len(cfgs))], data, cfgs, progress=False)
    x_eval = data[0][:64]
    for a, p in zip(alone, packed):
        sa, sp = a.model.state_dict(), p.model.state_dict()
        assert sa.keys() == sp.keys()
        for name in sa:  # fp32 reduction order only (a vmapped convolution is a grouped one)
            torch.testing.assert_close(sp[name].float(), sa[name].float(), rtol=1e-5, atol=1e-5, msg=name)
        for ha, hp in zip(a.history, p.history):
            assert ha["lr"] == pytest.approx(hp["lr"], rel=1e-12)
            assert ha["loss"] == pytest.approx(hp["loss"], rel=1e-4)
        assert torch.equal(predict(a.model, x_eval).argmax(1), predict(p.model, x_eval).argmax(1))
    # the three models really differ (their own shuffles, augmentation and dropout)
    assert not torch.allclose(packed[0].model.fc.weight, packed[1].model.fc.weight, atol=1e-3)


def test_packed_training_is_one_at_a_time_training_in_float64():
    """In float64 the reduction order no longer shows: packed and one-at-a-time models agree to 1e-12 (measured
    1e-16), so whatever separates them in float32 is rounding, not a different computation. (The augmentation
    is float32 only; it runs outside the vmapped step, on each model's own batch, identically in both paths.)"""
    x, y = _data()
    x = x.double() / 255
    cfgs = [dataclasses.replace(c, augment=False) for c in _configs()]
    alone = [train(_fresh(k).double(), (x, y), c, progress=False) for k, c in enumerate(cfgs)]
    packed = train_packed([_fresh(k).double() for k in range(len(cfgs))], (x, y), cfgs, progress=False)
    for a, p in zip(alone, packed):
        for name, value in a.model.state_dict().items():
            torch.testing.assert_close(p.model.state_dict()[name], value, rtol=1e-12, atol=1e-12, msg=name)


def test_packing_draws_each_models_own_dropout_masks():
    """A wrong dropout stream (model k's masks from model 0's generator) is far outside the tolerance above, so
    the equality test can fail."""
    data, cfgs = _data(), _configs()[:2]
    alone = train(_fresh(1), data, cfgs[1], progress=False)
    swapped = train_packed([_fresh(1), _fresh(1)], data, [cfgs[1], cfgs[0]], progress=False)[1]
    assert (alone.model.fc.weight - swapped.model.fc.weight).abs().max() > 1e-3


def test_packed_deeper_network_and_odd_last_batch():
    x, y = _data(n=70)  # 70 = 2 x 32 + 6: a smaller last batch, dropout shapes re-probed
    x = torch.nn.functional.interpolate(x.float(), size=32).to(torch.uint8)
    cfgs = [TrainConfig(epochs=1, batch_size=32, device="cpu", seed=s) for s in (3, 4)]
    alone = [train(_fresh(s, simple_convnet2), (x, y % 4), c, progress=False) for s, c in zip((3, 4), cfgs)]
    packed = train_packed([_fresh(s, simple_convnet2) for s in (3, 4)], (x, y % 4), cfgs, progress=False)
    for a, p in zip(alone, packed):
        for name, value in a.model.state_dict().items():
            torch.testing.assert_close(p.model.state_dict()[name].float(), value.float(), rtol=1e-5, atol=1e-5)


def test_packing_refuses_what_it_cannot_train_together():
    data = _data()
    cfg = TrainConfig(epochs=1, batch_size=32, device="cpu")
    with pytest.raises(PackingError, match="one architecture"):
        train_packed([simple_convnet1(3, 10), simple_convnet2(3, 10)], data, [cfg, cfg], progress=False)
    with pytest.raises(PackingError, match="share 'epochs'"):
        train_packed([simple_convnet1(3, 10)] * 2, data, [cfg, TrainConfig(epochs=2, device="cpu")], progress=False)
    with pytest.raises(PackingError, match="equal batch sizes|same number of steps"):
        train_packed([simple_convnet1(3, 10), simple_convnet1(3, 10)], data,
                     [cfg, TrainConfig(epochs=1, batch_size=48, device="cpu")], progress=False)
    with pytest.raises(PackingError, match="precise_bn"):
        train_packed([simple_convnet1(3, 10)], data, [TrainConfig(epochs=1, precise_bn=False, device="cpu")],
                     progress=False)


def test_dropout_mask_source_and_default_draw_agree():
    drop = Dropout(0.25).train()
    x = torch.ones(4, 5, 6)
    torch.manual_seed(7)
    default = drop(x)
    g = torch.Generator().manual_seed(7)
    with dropout_masks(lambda shape, threshold, device: draw_keep_mask(shape, threshold, device, g)):
        supplied = drop(x)
    assert torch.equal(default, supplied)
    assert 0.15 < float((default == 0).float().mean()) < 0.35


def test_cpu_training_set_stays_where_it_is():
    x = torch.arange(12).view(6, 2)
    cpu = torch.device("cpu")
    assert stage_on_device(x, cpu) is x
    idx = torch.tensor([4, 0, 2])
    assert torch.equal(gather_batch(x, idx, cpu), x[idx])


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
def test_training_set_is_copied_to_the_gpu_once():  # pragma: no cover - GPU only
    x = torch.arange(12).view(6, 2)
    cuda = torch.device("cuda")
    staged = stage_on_device(x, cuda)
    assert staged.device.type == "cuda"
    assert torch.equal(gather_batch(staged, torch.tensor([1, 3]), cuda).cpu(), x[[1, 3]])


def test_warm_trained_models_packs_vanilla_into_the_cache(isolated_cache):
    """``pack=True`` trains the Vanilla models of several seeds in one packed loop and stores each under the key
    ``trained_model`` reads, so that reading them trains nothing; the models are those trained one at a time."""
    from test_parallel import _bench

    from debiaskit.experiments.runs import train_config, trained_model
    from debiaskit.experiments.suite import warm_trained_models

    bench = _bench()
    cfgs = [train_config({"epochs": 2, "lr": 0.05, "batch_size": 32, "lr_milestones": [0.5], "augment": False}, seed=s)
            for s in (0, 1)]  # without augmentation: this 12 x 12 toy amplifies fp32 order noise to 1e-3 with it
    warm_trained_models(["vanilla"], bench, cfgs, workers=1, pack=True)
    assert len(list(isolated_cache.glob("*.pt"))) == 2
    packed = [trained_model("vanilla", bench, c, progress=False) for c in cfgs]  # cache hits
    assert len(list(isolated_cache.glob("*.pt"))) == 2
    for c, p in zip(cfgs, packed):
        for entry in isolated_cache.glob("*.pt"):
            entry.unlink()
        alone = trained_model("vanilla", bench, c, progress=False)  # trained here, one at a time
        for name, value in alone.state_dict().items():  # measured: 6e-8
            torch.testing.assert_close(p.state_dict()[name].float(), value.float(), rtol=1e-5, atol=1e-5, msg=name)
    # on a CPU "auto" does not pack: the process pool and sequential numbers stay as they are
    for entry in isolated_cache.glob("*.pt"):
        entry.unlink()
    import debiaskit.core.packing as packing

    calls = []
    real = packing.train_packed
    packing.train_packed = lambda *a, **k: calls.append(1) or real(*a, **k)
    try:
        warm_trained_models(["vanilla"], bench, cfgs, workers=1, pack="auto")
    finally:
        packing.train_packed = real
    assert calls == []
