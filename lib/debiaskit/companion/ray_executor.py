"""Run the notebooks as Ray tasks; their kernels send model trainings to the same cluster
(:mod:`debiaskit.experiments.ray_models`)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Callable, Sequence

from debiaskit.experiments.ray_models import (
    EXECUTOR_ENV,
    GPU_FRACTION_ENV,
    MAX_RETRIES,
    NOTEBOOK_CPUS,
    RAY_MISSING,
    available,
    cluster_address,
    connect,
)

__all__ = ["RAY_MISSING", "available", "execute_runs"]


def _execute_notebook(root: str, run, build: str, env: dict[str, str]) -> float:
    """A task: execute one notebook run of the checkout at ``root`` (a path every node sees)."""
    os.environ.update(env)
    from debiaskit.companion.manifest import load_manifest
    from debiaskit.companion.reproduce import execute

    return execute(run, load_manifest(Path(root) / "papers.yaml"), Path(build))


def execute_runs(runs: Sequence, manifest, build: Path, jobs: int, on_done: Callable[[Any, float | None, str | None], None],
                 address: str | None = None) -> None:
    """Execute notebook ``runs`` as Ray tasks, at most ``jobs`` at once; ``on_done(run, seconds, error)`` after each.
    Their kernels send model trainings to the same cluster."""
    ray = connect(address)
    env = {EXECUTOR_ENV: "ray", "RAY_ADDRESS": cluster_address()}
    for name in ("DEBIASKIT_DATA", "DEBIASKIT_CACHE", GPU_FRACTION_ENV):
        if os.environ.get(name):
            env[name] = os.environ[name]
    if jobs > 1:
        env.setdefault("OMP_NUM_THREADS", "1")
    os.environ.update(env)  # this process's own warm_cache calls, if any, go there too
    task = ray.remote(_execute_notebook).options(num_cpus=NOTEBOOK_CPUS, max_retries=MAX_RETRIES)
    queue, running = list(runs), {}
    while queue or running:
        while queue and len(running) < max(1, jobs):
            run = queue.pop(0)
            running[task.remote(str(manifest.root), run, str(build), env)] = run
        done, _ = ray.wait(list(running), num_returns=1)
        run = running.pop(done[0])
        try:
            on_done(run, ray.get(done[0]), None)
        except Exception as exc:  # a failed notebook (ReproduceError) is reported, the others go on
            cause = getattr(exc, "cause", None) or exc
            on_done(run, None, str(cause))
