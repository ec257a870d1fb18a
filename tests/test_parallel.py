"""warm_cache: models trained in worker processes are the models a one-thread run in this process trains."""

from __future__ import annotations

import pytest
import torch

from debiaskit.core.splits import BiasedBenchmark, BiasedSplit
from debiaskit.experiments.parallel import default_workers, warm_cache
from debiaskit.experiments.runs import train_config, trained_model


def _split(n: int, seed: int) -> BiasedSplit:
    g = torch.Generator().manual_seed(seed)
    y = torch.randint(0, 3, (n,), generator=g)
    bias = torch.where(torch.rand(n, generator=g) < 0.9, y, (y + 1) % 3)
    x = torch.rand(n, 3, 12, 12, generator=g) * 0.3
    x[torch.arange(n), bias] += 0.5  # the bias attribute is a colour channel
    return BiasedSplit(x.clamp(0, 1), y, bias)


def _bench() -> BiasedBenchmark:
    return BiasedBenchmark("toy", _split(96, 0), _split(32, 1), _split(32, 2), num_classes=3,
                           meta={"dataset": "toy-parallel", "seed": 0})


CFG = train_config({"epochs": 1, "lr": 0.05, "batch_size": 32, "lr_milestones": []}, seed=0)
METHODS = ["vanilla", "lff"]


def _trained_here(bench, method):
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # the workers' setting
    try:
        return trained_model(method, bench, CFG, None, progress=False)
    finally:
        torch.set_num_threads(threads)


def test_models_from_workers_equal_one_thread_models_trained_here(tmp_path, monkeypatch):
    bench = _bench()
    monkeypatch.setenv("DEBIASKIT_CACHE", str(tmp_path / "here"))
    here = {m: _trained_here(bench, m) for m in METHODS}
    monkeypatch.setenv("DEBIASKIT_CACHE", str(tmp_path / "workers"))
    started = warm_cache([(trained_model, (m, bench, CFG, None), {"progress": False}) for m in METHODS], workers=2)
    assert started == 2
    assert len(list((tmp_path / "workers").glob("*.pt"))) == len(METHODS)
    for m in METHODS:
        there = trained_model(m, bench, CFG, None, progress=False).state_dict()  # a cache hit
        for name, value in here[m].state_dict().items():
            assert torch.equal(value, there[name]), (m, name)


def test_a_failing_call_raises_in_the_caller(tmp_path, monkeypatch):
    monkeypatch.setenv("DEBIASKIT_CACHE", str(tmp_path))
    bench = _bench()
    with pytest.raises(Exception, match="no-such-method"):
        warm_cache([(trained_model, (m, bench, CFG, None), {"progress": False}) for m in ("vanilla", "no-such-method")],
                   workers=2)
    # the workers (started by the previous test, if it ran first) write to this test's cache
    assert len(list(tmp_path.glob("*.pt"))) == 1


def test_one_worker_starts_nothing_and_bad_counts_are_rejected(tmp_path, monkeypatch):
    monkeypatch.setenv("DEBIASKIT_CACHE", str(tmp_path))
    assert warm_cache([(trained_model, ("vanilla", _bench(), CFG, None), {})], workers=2) == 0  # one call
    assert warm_cache([], workers="auto") == 0
    assert not list(tmp_path.glob("*.pt"))
    with pytest.raises(ValueError, match="workers"):
        warm_cache([(trained_model, ("vanilla", _bench(), CFG, None), {})] * 2, workers=0)
    assert 1 <= default_workers() <= 8
