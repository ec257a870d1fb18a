"""The training loop: learns, is deterministic for a seed, and rejects empty data."""

import copy

import pytest
import torch

from debiaskit.core.models import simple_convnet1
from debiaskit.core.splits import BiasedSplit
from debiaskit.core.training import TrainConfig, evaluate, train
from debiaskit.experiments.cache import cached_model


def toy_split(n=256, seed=0) -> BiasedSplit:
    g = torch.Generator().manual_seed(seed)
    y = torch.randint(0, 2, (n,), generator=g)
    x = torch.rand(n, 3, 12, 12, generator=g) * 0.1
    x[y == 1, 0] += 0.8  # class 1 is red
    return BiasedSplit(x, y, y.clone())


def cfg(**kw):
    return TrainConfig(**{"epochs": 3, "batch_size": 32, "lr": 0.05, "lr_decay": 0.1, "device": "cpu", **kw})


def test_learns_and_is_deterministic():
    data = toy_split()
    torch.manual_seed(0)
    r1 = train(simple_convnet1(3, 2), data, cfg(epochs=6), progress=False)
    torch.manual_seed(0)
    r2 = train(simple_convnet1(3, 2), data, cfg(epochs=6), progress=False)
    assert evaluate(r1.model, data)["acc"] > 95
    for a, b in zip(r1.model.state_dict().values(), r2.model.state_dict().values()):
        assert torch.equal(a, b)
    assert r1.history[-1]["loss"] < r1.history[0]["loss"]


def test_empty_data_is_rejected():
    empty = BiasedSplit(torch.zeros(0, 3, 8, 8), torch.zeros(0, dtype=torch.long), torch.zeros(0, dtype=torch.long))
    with pytest.raises(ValueError, match="empty"):
        train(simple_convnet1(3, 2), empty, cfg(), progress=False)


def test_mismatched_labels_are_rejected():
    with pytest.raises(ValueError, match="one label per image"):
        train(simple_convnet1(3, 2), (torch.zeros(4, 3, 8, 8), torch.zeros(3, dtype=torch.long)), cfg(), progress=False)


def test_uint8_images_train_like_their_float_version():
    split = toy_split(48)
    as_bytes = (split.x * 255).round().byte()
    models = []
    for x in (as_bytes, as_bytes.float() / 255):
        torch.manual_seed(0)
        model = simple_convnet1(3, 2)
        train(model, (x, split.y), cfg(epochs=2), progress=False)
        models.append(torch.cat([p.detach().flatten() for p in model.parameters()]))
    assert torch.equal(models[0], models[1])


def test_the_optimizer_factory_replaces_sgd():
    seen = []

    def adamw(model):
        opt = torch.optim.AdamW(model.parameters(), lr=0.01)
        seen.append(opt)
        return opt, torch.optim.lr_scheduler.ExponentialLR(opt, gamma=0.5)

    r = train(simple_convnet1(3, 2), toy_split(32), cfg(epochs=3), optimizer=adamw, progress=False)
    assert len(seen) == 1 and isinstance(seen[0], torch.optim.AdamW)
    assert [round(h["lr"], 6) for h in r.history] == [0.005, 0.0025, 0.00125]


def test_lr_milestones_are_fractions_of_epochs():
    r = train(simple_convnet1(3, 2), toy_split(64), cfg(epochs=5, lr_milestones=(0.4,)), progress=False)
    assert [round(h["lr"], 5) for h in r.history] == [0.05, 0.005, 0.005, 0.005, 0.005]


def test_cache_hit_returns_the_same_weights(isolated_cache):
    data = toy_split(64)
    calls = []

    def fit(model):
        calls.append(1)
        train(model, data, cfg(epochs=1), progress=False)

    m1, hit1 = cached_model({"k": 1}, lambda: simple_convnet1(3, 2), fit)
    m2, hit2 = cached_model({"k": 1}, lambda: simple_convnet1(3, 2), fit)
    assert (hit1, hit2) == (False, True) and len(calls) == 1
    assert all(torch.equal(a, b) for a, b in zip(m1.state_dict().values(), m2.state_dict().values()))
    # a corrupted entry is retrained instead of crashing
    for f in isolated_cache.glob("*.pt"):
        f.write_bytes(b"garbage")
    _, hit3 = cached_model({"k": 1}, lambda: simple_convnet1(3, 2), fit)
    assert hit3 is False and len(calls) == 2


def test_concurrent_processes_train_a_cached_model_once(isolated_cache, tmp_path):
    """Two processes asking for the same entry at once: one trains, the other waits and loads it."""
    import subprocess
    import sys

    script = f'''
import time
from pathlib import Path
from debiaskit.experiments.cache import cached_model
from debiaskit.core.models import simple_convnet1

def fit(model):
    with open({str(tmp_path / "fits.log")!r}, "a") as log:
        log.write("fit\\n")
    time.sleep(2)

_, hit = cached_model({{"k": "concurrent"}}, lambda: simple_convnet1(3, 2), fit)
print("hit" if hit else "trained")
'''
    procs = [subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True) for _ in range(2)]
    outs = sorted(p.communicate(timeout=120)[0].strip() for p in procs)
    assert outs == ["hit", "trained"]
    assert (tmp_path / "fits.log").read_text().count("fit") == 1


def _inputs_of_batchnorms(net, batches):
    """Slow path: every BatchNorm layer's input over all batches (dropout off, each layer normalising its
    batch by the batch's own statistics), collected by hooks in float64 from a copy of ``net``."""
    net = copy.deepcopy(net).eval()
    layers = [m for m in net.modules() if isinstance(m, torch.nn.BatchNorm2d)]
    seen = {id(bn): [] for bn in layers}
    hooks = [bn.register_forward_hook(lambda m, inp, out: seen[id(m)].append(inp[0].detach().double()))
             for bn in layers]
    for bn in layers:
        bn.train()
    with torch.no_grad():
        for x in batches:
            net(x)
    for h in hooks:
        h.remove()
    return [torch.cat(seen[id(bn)]) for bn in layers]


def test_recalibrated_batchnorm_holds_the_mean_and_variance_of_its_inputs():
    from debiaskit.core.training import recalibrate_batchnorm

    torch.manual_seed(0)
    net = simple_convnet1(3, 2)
    net.train()
    net(torch.rand(8, 3, 12, 12) * 5)  # stale running statistics from another distribution
    batches = list(toy_split(96).x.split(32))
    inputs = _inputs_of_batchnorms(net, batches)
    layers = [m for m in net.modules() if isinstance(m, torch.nn.BatchNorm2d)]
    momenta = [bn.momentum for bn in layers]
    assert recalibrate_batchnorm(net, batches) == 96
    assert net.training and [bn.momentum for bn in layers] == momenta  # state restored
    for bn, act in zip(layers, inputs):
        per_batch = act.split(32)  # equal batches: the average of batch statistics (unbiased variances)
        mean = torch.stack([b.mean((0, 2, 3)) for b in per_batch]).mean(0)
        var = torch.stack([b.var((0, 2, 3), unbiased=True) for b in per_batch]).mean(0)
        torch.testing.assert_close(bn.running_mean.double(), mean, rtol=1e-5, atol=1e-6)
        torch.testing.assert_close(bn.running_var.double(), var, rtol=1e-5, atol=1e-6)


def test_recalibration_restores_each_module_s_own_training_mode():
    from debiaskit.core.training import recalibrate_batchnorm

    torch.manual_seed(0)
    net = simple_convnet1(3, 2)
    net.train()
    frozen = [m for m in net.modules() if isinstance(m, torch.nn.BatchNorm2d)][0]
    frozen.eval()  # a caller's frozen part: it must stay in eval mode
    before = {name: m.training for name, m in net.named_modules()}
    recalibrate_batchnorm(net, [toy_split(32).x])
    assert {name: m.training for name, m in net.named_modules()} == before
    assert not frozen.training and net.training


def test_recalibration_covers_every_network_of_a_module_dict_and_skips_the_rest():
    from debiaskit.core.training import batchnorm_networks, recalibrate_batchnorm

    torch.manual_seed(0)
    nets = torch.nn.ModuleDict({"main": simple_convnet1(3, 2), "bias": simple_convnet1(3, 2),
                                "gate": torch.nn.Linear(64, 1)})
    assert batchnorm_networks(nets) == [nets["main"], nets["bias"]]
    x = toy_split(64).x
    assert recalibrate_batchnorm(nets, [x]) == 64
    for name in ("main", "bias"):
        first_bn = next(m for m in nets[name].modules() if isinstance(m, torch.nn.BatchNorm2d))
        torch.testing.assert_close(first_bn.running_mean, nets[name].body[0](x).mean((0, 2, 3)).detach())
    assert recalibrate_batchnorm(torch.nn.Linear(3, 2), [x]) == 0


def test_precise_bn_changes_only_the_statistics_and_can_be_turned_off():
    data = toy_split()
    models = {}
    for precise in (False, True):
        torch.manual_seed(0)
        models[precise] = train(simple_convnet1(3, 2), data, cfg(precise_bn=precise), progress=False).model
    on, off = models[True].state_dict(), models[False].state_dict()
    for key in on:
        same = torch.equal(on[key], off[key])
        assert same == ("running" not in key and "num_batches" not in key), key
    assert not models[True].training
