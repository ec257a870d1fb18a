"""Wall time and peak memory of training several independent cached models: one after another in one
process with every thread (``sequential``), against :func:`debiaskit.experiments.parallel.warm_cache` with one
one-thread worker process per core (``workers``) and, with ``--ray``, the same calls as tasks of a local Ray
instance with one CPU per core (``reproduce --executor ray``), in one run, each into its own empty model cache.

Usage::

    python benchmarks/parallel_training.py [--models 8] [--n-train 10000] [--epochs 1] [--threads 2] [--ray]
"""

from __future__ import annotations

import argparse
import platform
import resource
import tempfile
import time


def _jobs(n_models: int, n_train: int, epochs: int):
    from debiaskit.experiments.benchmarks import build_benchmark
    from debiaskit.experiments.runs import train_config, trained_model

    bench = build_benchmark("colored_mnist", 0.99, seed=0, n_train=n_train, n_test=500)
    methods = ["vanilla", "lff", "repair", "rubi"]
    calls = []
    for i in range(n_models):
        cfg = train_config({"epochs": epochs, "lr": 0.05, "momentum": 0.9, "batch_size": 128, "lr_milestones": []},
                           seed=i // len(methods))
        calls.append((trained_model, (methods[i % len(methods)], bench, cfg, None), {"progress": False}))
    return calls


def _worker_peak_rss() -> tuple[int, float]:
    """(pid, peak RSS in MiB) of the calling process, from /proc (VmHWM starts afresh at exec, unlike
    ``RUSAGE_CHILDREN``'s ru_maxrss, which inherits the parent's peak at fork)."""
    import os

    time.sleep(0.3)  # so that each worker takes one of these
    for line in open("/proc/self/status"):
        if line.startswith("VmHWM:"):
            return os.getpid(), int(line.split()[1]) / 1024
    return os.getpid(), float("nan")


def _ray_row(calls, cpus: int, cache: str) -> tuple[str, float, float]:
    """Time the calls as Ray tasks (a local instance with ``cpus`` CPUs, its start-up included) and read the
    largest peak RSS of its workers."""
    import os

    import ray

    from debiaskit.experiments import parallel
    from debiaskit.experiments import ray_models as ray_executor

    os.environ["DEBIASKIT_CACHE"] = cache
    start = time.perf_counter()
    ray_executor.connect(num_cpus=cpus)
    ray_executor.warm_cache(calls, parallel._settings(), desc="ray")
    seconds = time.perf_counter() - start
    peak = ray.remote(_worker_peak_rss).options(num_cpus=1)
    peaks = dict(ray.get([peak.remote() for _ in range(cpus)]))
    ray.shutdown()
    return f"Ray ({cpus} CPUs, 1 thread per task, incl. start-up)", seconds, max(peaks.values())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", type=int, default=8)
    parser.add_argument("--n-train", type=int, default=10000)
    parser.add_argument("--epochs", type=int, default=1)
    parser.add_argument("--threads", type=int, default=2, help="threads of the sequential run = workers")
    parser.add_argument("--ray", action="store_true", help="add a row for the Ray executor (needs debiaskit[ray])")
    args = parser.parse_args()

    import os

    import torch

    from debiaskit.experiments.parallel import shutdown, warm_cache, worker_pool

    torch.set_num_threads(args.threads)
    calls = _jobs(args.models, args.n_train, args.epochs)
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        os.environ["DEBIASKIT_CACHE"] = f"{tmp}/sequential"
        start = time.perf_counter()
        for fn, a, kw in calls:
            fn(*a, **kw)
        rows.append((f"sequential (one process, {args.threads} threads)", time.perf_counter() - start,
                     resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024))
        os.environ["DEBIASKIT_CACHE"] = f"{tmp}/workers"
        start = time.perf_counter()
        warm_cache(calls, workers=args.threads, desc="workers")
        seconds = time.perf_counter() - start
        start = time.perf_counter()
        warm_cache(calls, workers=args.threads, desc="again")  # every model cached: the pool's own cost
        overhead = time.perf_counter() - start
        peaks = dict(f.result() for f in [worker_pool(args.threads).submit(_worker_peak_rss) for _ in range(args.threads)])
        shutdown()
        rows.append((f"workers ({args.threads} processes, 1 thread each, incl. start-up)", seconds,
                     max(peaks.values())))
        if args.ray:
            rows.append(_ray_row(calls, args.threads, f"{tmp}/ray"))
    base = rows[0][1]
    print(f"{platform.processor() or platform.machine()}, torch {torch.__version__}, {args.models} models "
          f"(Simple ConvNet-1, CM {args.n_train} images, {args.epochs} epoch(s) each)\n")
    print("| run | wall (s) | speed-up | peak RSS (MiB) |\n|---|---:|---:|---:|")
    for name, seconds, rss in rows:
        print(f"| {name} | {seconds:.1f} | {base / seconds:.2f}x | {rss:.0f} |")
    print(f"\nA second warm_cache over the same, now cached, models took {overhead:.1f} s (the pool is kept).")
    print(f"peak RSS: the sequential row is this process's; the workers row is the largest of {len(peaks)} "
          "workers' (each also maps the data set, handed over in shared memory).")


if __name__ == "__main__":
    main()
