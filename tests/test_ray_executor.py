"""The Ray executor: the same models as the process pool, retried tasks, and notebooks run as Ray tasks."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from test_cli import project  # noqa: F401  (the command-line tests' tiny project, a fixture)

from debiaskit.core.splits import BiasedSplit
from debiaskit.core.training import TrainConfig, train
from debiaskit.experiments import parallel
from debiaskit.experiments import ray_models as ray_executor
from debiaskit.experiments.cache import cached_model

ray = pytest.importorskip("ray")


def train_tiny(seed: int, crash_marker: str | None = None) -> None:
    """Train (or find) one small cached model; with ``crash_marker``, the first attempt kills its own process
    (a worker lost mid-task) and leaves the marker behind, so only a retry can finish."""
    if crash_marker and not os.path.exists(crash_marker):
        Path(crash_marker).touch()
        os._exit(1)
    g = torch.Generator().manual_seed(seed)
    data = BiasedSplit(torch.rand(64, 1, 6, 6, generator=g), torch.randint(0, 3, (64,), generator=g),
                       torch.zeros(64, dtype=torch.long))
    cfg = TrainConfig(epochs=2, batch_size=16, lr=0.1, lr_milestones=(), augment=False, device="cpu", seed=seed)

    def build():
        torch.manual_seed(seed)
        return torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(36, 16), torch.nn.ReLU(), torch.nn.Linear(16, 3))

    cached_model({"tiny-ray-test": seed}, build, lambda m: m.load_state_dict(train(m, data, cfg, progress=False)
                                                                        .model.state_dict()))


def _states(cache: Path) -> dict[str, dict]:
    return {p.name: torch.load(p, weights_only=True) for p in sorted(cache.glob("*.pt"))}


@pytest.fixture(scope="module")
def local_ray():
    from ray import cloudpickle

    cloudpickle.register_pickle_by_value(sys.modules[__name__])  # Ray workers cannot import this test module
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False, configure_logging=False)
    yield ray
    ray.shutdown()


def test_ray_tasks_train_the_same_models_as_the_process_pool(local_ray, tmp_path, monkeypatch):
    calls = [(train_tiny, (seed,), {}) for seed in range(3)]
    monkeypatch.setenv("DEBIASKIT_CACHE", str(tmp_path / "pool"))
    assert parallel.warm_cache(calls, workers=2) == 2
    monkeypatch.setenv("DEBIASKIT_CACHE", str(tmp_path / "ray"))
    monkeypatch.setenv(ray_executor.EXECUTOR_ENV, "ray")
    assert parallel.warm_cache(calls, workers="auto") == 2  # the cluster's CPUs
    pool, on_ray = _states(tmp_path / "pool"), _states(tmp_path / "ray")
    assert len(pool) == 3 and pool.keys() == on_ray.keys()
    for name in pool:  # one intra-op thread each way: bit for bit the same models
        assert all(torch.equal(pool[name][k], on_ray[name][k]) for k in pool[name])
    monkeypatch.setenv("DEBIASKIT_CACHE", str(tmp_path / "kernel"))
    assert parallel.warm_cache(calls, workers=1) == 0  # workers=1 still means: train in this process


def test_a_killed_worker_task_is_retried_and_its_model_cached(local_ray, tmp_path, monkeypatch):
    monkeypatch.setenv("DEBIASKIT_CACHE", str(tmp_path / "cache"))
    marker = tmp_path / "crashed-once"
    ray_executor.warm_cache([(train_tiny, (7, str(marker)), {})], parallel._settings())
    assert marker.exists() and len(list((tmp_path / "cache").glob("*.pt"))) == 1


def test_reproduce_runs_notebooks_as_ray_tasks(project, tmp_path):
    env = dict(os.environ, DEBIASKIT_CACHE=str(tmp_path / "cache"), RAY_ADDRESS="")
    out = subprocess.run([sys.executable, "-m", "debiaskit.companion.cli", "reproduce", "--executor", "ray"], cwd=project,
                         env=env, capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr[-2000:]
    assert "(Ray)" in out.stderr + out.stdout
    result = json.loads((project / "figures" / "p" / "a.json").read_text())
    assert result["values"] == {"x": 3.0} and result["fingerprint"]
    again = subprocess.run([sys.executable, "-m", "debiaskit.companion.cli", "reproduce", "--executor", "ray"], cwd=project,
                           env=env, capture_output=True, text=True, timeout=300)
    assert again.returncode == 0 and "0 to run" in again.stdout


def test_address_without_ray_executor_is_refused(tmp_path, capsys):
    from debiaskit.companion.cli import main

    with pytest.raises(SystemExit, match="--executor ray"):
        main(["--manifest", str(Path(__file__).resolve().parents[1] / "papers.yaml"), "reproduce", "--address",
              "auto", "--dry-run"])
