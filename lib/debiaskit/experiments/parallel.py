"""Fill the model cache from worker processes, one intra-op thread each, so a notebook uses every core.

On the 2-core CPU two threads make one Simple ConvNet-1 training step only ~1.65x faster than one (141 vs
233 ms at batch 256), so two one-thread workers can train at most ~20% more models per minute than one
two-thread kernel. Measured with the pools' start-up, they trained 8 small models 0.88-0.99x as fast
(``benchmarks/parallel_training.py``) and PGD Table 1 in 15.0 min against 16.1 in one kernel (two runs
hours apart on a shared machine): the sure gain is the bit-identical one-thread models, not speed.
:func:`warm_cache` runs the notebook's own cache-filling calls (:func:`debiaskit.experiments.suite.trained_model`,
:func:`debiaskit.experiments.runs.trained_model`, ...) in ``spawn``-ed workers; the notebook then makes the same
calls in its usual order and reads every model from the cache (:func:`debiaskit.experiments.cache.cached_model`). A
model is a function of its configuration and of the thread count, so a worker's model is bit for bit the
one-thread model of ``debiaskit reproduce --jobs N`` (one thread per kernel): run alone, such a notebook
gives the committed numbers."""

from __future__ import annotations

import atexit
import os
import signal
from concurrent.futures import FIRST_EXCEPTION, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from typing import Any, Callable, Sequence

import torch
import torch.multiprocessing as torch_mp  # registers the reductions that hand tensors over in shared memory
from tqdm.auto import tqdm

from debiaskit.experiments.worker import caller_settings as _settings
from debiaskit.experiments.worker import run_call as _run

Call = tuple[Callable[..., Any], tuple, dict]
"""``(function, args, kwargs)``: a picklable, module-level function that fills the cache."""

#: The most worker processes :func:`default_workers` chooses.
MAX_WORKERS = 8


def default_workers() -> int:
    """Workers :func:`warm_cache` starts for ``workers="auto"``: torch's intra-op thread count (the
    cores it would use; 1 when ``OMP_NUM_THREADS=1``, as in each kernel of ``reproduce --jobs N`` and in
    CI), at most :data:`MAX_WORKERS`, and 1 when a GPU is present (models then train on it, in turn)."""
    if torch.cuda.is_available():
        return 1
    return max(1, min(MAX_WORKERS, torch.get_num_threads()))


def _worker_init() -> None:
    """One intra-op thread; Ctrl-C (or a kernel interrupt) is the parent's to handle, not the workers'."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    os.environ["OMP_NUM_THREADS"] = "1"
    torch.set_num_threads(1)


_POOLS: dict[int, ProcessPoolExecutor] = {}


def worker_pool(n: int) -> ProcessPoolExecutor:
    """The ``n``-worker pool of this process, started on first use and kept (each worker imports torch
    once, ~5 s), so that a notebook's successive :func:`warm_cache` calls reuse it. Its workers run one
    intra-op thread each; submit to it directly to run something else in the same processes (e.g. to read
    their memory, as ``benchmarks/parallel_training.py`` does)."""
    if n not in _POOLS:
        context = torch_mp.get_context("spawn")  # fork is unsafe once torch's thread pool exists
        _POOLS[n] = ProcessPoolExecutor(n, mp_context=context, initializer=_worker_init)
    return _POOLS[n]


def shutdown() -> None:
    """Stop the worker processes (they also end with this process)."""
    while _POOLS:
        _POOLS.popitem()[1].shutdown(cancel_futures=True)


atexit.register(shutdown)


def warm_cache(calls: Sequence[Call], workers: int | str = "auto", desc: str = "models") -> int:
    """Run ``calls`` in ``workers`` processes and return how many workers ran them (0: none started).

    Under ``debiaskit reproduce --executor ray`` (:mod:`debiaskit.companion.ray_executor`) the calls are Ray tasks of
    the cluster instead, unless ``workers`` is 1.

    Each call trains (or finds) one cached model; calls that need another model (AFLite on Vanilla's
    features) wait for it through the cache's per-entry lock. With one worker, or one call, nothing is
    started and the caller's own loop trains the models in its process. A failing call cancels the
    others and re-raises its error here.
    """
    n = default_workers() if workers == "auto" else int(workers)
    if n < 1:
        raise ValueError(f"workers must be 'auto' or a positive integer, got {workers!r}")
    from debiaskit.experiments import ray_models as ray_executor

    if ray_executor.enabled() and calls and (workers == "auto" or n > 1):  # `reproduce --executor ray`
        return ray_executor.warm_cache(calls, _settings(), desc)
    n = min(n, len(calls))
    if n <= 1:
        return 0
    settings = _settings()

    def submit_all() -> list:
        return [worker_pool(n).submit(_run, fn, tuple(args), dict(kwargs), settings) for fn, args, kwargs in calls]

    try:
        futures = submit_all()
    except BrokenProcessPool:  # a worker died earlier (e.g. out of memory): start afresh
        _POOLS.pop(n).shutdown(cancel_futures=True)
        futures = submit_all()
    with tqdm(total=len(futures), desc=f"{desc} ({n} processes)", unit="model") as bar:
        for future in futures:
            future.add_done_callback(lambda _: bar.update(1))
        try:
            done, pending = wait(futures, return_when=FIRST_EXCEPTION)
        except BaseException:  # interrupted: queued models are dropped, running ones finish into the cache
            for future in futures:
                future.cancel()
            raise
        for future in pending:
            future.cancel()
        wait(pending)  # those already running finish; their models stay in the cache
        for future in done:
            future.result()  # re-raises a worker's error
    return n
