"""Run the model cache's trainings as Ray tasks: one machine or a cluster (the notebooks' side is
:mod:`debiaskit.companion.ray_executor`).

``debiaskit reproduce --executor ray [--address ADDR]`` connects to a Ray cluster (``ADDR``; none starts a
local one), runs each notebook as a Ray task, and tells its kernel (through :data:`EXECUTOR_ENV` and
``RAY_ADDRESS``) to send every :func:`debiaskit.experiments.parallel.warm_cache` call there too. Each such call trains one
cache-keyed model (:func:`debiaskit.experiments.cache.cached_model`) as a task that asks for one CPU and, on a GPU
cluster, a fraction of a GPU (:data:`GPU_FRACTION_ENV`, default 0.25), so that several small models share
a device. A task whose worker dies is retried by Ray (:data:`MAX_RETRIES`). Models are written to the cache
atomically, so nothing finished is lost, and a retried task finds its model if it was already stored.

On a cluster, the checkout and ``$DEBIASKIT_CACHE`` (and ``$DEBIASKIT_DATA``) must be on a path that every
node sees (NFS, a mounted bucket): the tasks read the data, write models and write the notebooks' results
there. On one machine the process pool (:mod:`debiaskit.experiments.parallel`) is the default, and it is simpler.
Ray is an optional extra: ``pip install 'debiaskit[ray]'``.
"""

from __future__ import annotations

import os
from typing import Any, Callable, Sequence

EXECUTOR_ENV = "DEBIASKIT_EXECUTOR"
"""``ray`` makes :func:`debiaskit.experiments.parallel.warm_cache` submit its calls to the Ray cluster at ``RAY_ADDRESS``."""

GPU_FRACTION_ENV = "DEBIASKIT_RAY_GPUS"
"""GPUs one model-training task asks for (default 0.25 on a cluster with GPUs, 0 without)."""

NOTEBOOK_CPUS = 0.25
"""CPUs a notebook task asks for: a notebook mostly waits on its model tasks, and holding a whole CPU each
would let a few notebooks starve their own models of the cluster's CPUs (a deadlock on a small machine)."""

MAX_RETRIES = 3
"""Times Ray reruns a task whose worker process died (killed, out of memory, node lost)."""


def enabled() -> bool:
    """Whether this process's :func:`debiaskit.experiments.parallel.warm_cache` calls go to Ray."""
    return os.environ.get(EXECUTOR_ENV, "").lower() == "ray"


RAY_MISSING = "the Ray executor needs Ray: pip install 'debiaskit[ray]' (or pip install ray)"


def available() -> bool:
    """Whether Ray can be imported here."""
    import importlib.util

    return importlib.util.find_spec("ray") is not None


def _ray():
    try:
        import ray
    except ImportError:
        raise RuntimeError(RAY_MISSING) from None
    return ray


def connect(address: str | None = None, num_cpus: int | None = None):
    """Join the Ray cluster at ``address`` (else ``$RAY_ADDRESS``; with neither, start a local one with
    ``num_cpus`` CPUs) and return the ``ray`` module. Reuses an existing connection."""
    ray = _ray()
    if not ray.is_initialized():
        address = address or os.environ.get("RAY_ADDRESS") or None
        ray.init(address=address, num_cpus=None if address else num_cpus, include_dashboard=False,
                 log_to_driver=False, configure_logging=False)
    return ray


def cluster_address() -> str:
    """The address a kernel started by this process passes to :func:`connect` to join the same cluster."""
    return _ray().get_runtime_context().gcs_address


def model_resources() -> dict[str, float]:
    """Resources of one model-training task: one CPU, and a share of a GPU when the cluster has GPUs."""
    ray = _ray()
    default = 0.25 if ray.cluster_resources().get("GPU", 0) > 0 else 0.0
    return {"num_cpus": 1.0, "num_gpus": float(os.environ.get(GPU_FRACTION_ENV, default))}


def _train_one(fn: Callable[..., Any], args: tuple, kwargs: dict, settings: dict[str, str | None]) -> None:
    """A task: one intra-op thread (as a process-pool worker has), the caller's data and cache roots, one call."""
    import torch

    from debiaskit.experiments.worker import run_call as _run

    torch.set_num_threads(1)
    _run(fn, args, kwargs, settings)  # the model is in the cache; nothing is sent back


def warm_cache(calls: Sequence[tuple[Callable[..., Any], tuple, dict]], settings: dict[str, str | None],
               desc: str = "models") -> int:
    """Run ``calls`` as Ray tasks and wait for all of them; re-raise the first failure after cancelling the rest.
    Returns the number of CPUs of the cluster (the most tasks that run at once)."""
    from tqdm.auto import tqdm

    ray = connect()
    remote = ray.remote(_train_one).options(**model_resources(), max_retries=MAX_RETRIES)
    pending = [remote.remote(fn, tuple(args), dict(kwargs), settings) for fn, args, kwargs in calls]
    cpus = int(ray.cluster_resources().get("CPU", 1))
    with tqdm(total=len(pending), desc=f"{desc} (Ray, {cpus} CPUs)", unit="model") as bar:
        try:
            while pending:
                done, pending = ray.wait(pending, num_returns=1)
                ray.get(done)  # re-raises a task's error
                bar.update(len(done))
        except BaseException:
            for ref in pending:
                ray.cancel(ref)
            raise
    return cpus
