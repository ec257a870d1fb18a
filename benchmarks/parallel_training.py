"""Wall time and peak memory of training several independent cached models: one after another in one
process with every thread (``sequential``), against :func:`debiaskit.parallel.warm_cache` with one
one-thread worker process per core (``workers``), in one run, each into its own empty model cache.

Usage::

    python benchmarks/parallel_training.py [--models 8] [--n-train 10000] [--epochs 1] [--threads 2]
"""

from __future__ import annotations

import argparse
import platform
import resource
import tempfile
import time


def _jobs(n_models: int, n_train: int, epochs: int):
    from debiaskit.baselines.suite import build_benchmark, train_config, trained_model

    bench = build_benchmark("colored_mnist", 0.99, seed=0, n_train=n_train, n_test=500)
    methods = ["vanilla", "lff", "repair", "rubi"]
    calls = []
    for i in range(n_models):
        cfg = train_config({"epochs": epochs, "lr": 0.05, "momentum": 0.9, "batch_size": 128, "lr_milestones": []},
                           seed=i // len(methods))
        calls.append((trained_model, (methods[i % len(methods)], bench, cfg, None), {"progress": False}))
    return calls


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", type=int, default=8)
    parser.add_argument("--n-train", type=int, default=10000)
    parser.add_argument("--epochs", type=int, default=1)
    parser.add_argument("--threads", type=int, default=2, help="threads of the sequential run = workers")
    args = parser.parse_args()

    import os

    import torch

    from debiaskit.parallel import shutdown, warm_cache

    torch.set_num_threads(args.threads)
    calls = _jobs(args.models, args.n_train, args.epochs)
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        os.environ["DEBIASKIT_CACHE"] = f"{tmp}/sequential"
        start = time.perf_counter()
        for fn, a, kw in calls:
            fn(*a, **kw)
        rows.append(("sequential (one process, %d threads)" % args.threads, time.perf_counter() - start,
                     resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024))
        os.environ["DEBIASKIT_CACHE"] = f"{tmp}/workers"
        start = time.perf_counter()
        warm_cache(calls, workers=args.threads, desc="workers")
        seconds = time.perf_counter() - start
        start = time.perf_counter()
        warm_cache(calls, workers=args.threads, desc="again")  # every model cached: the pool's own cost
        overhead = time.perf_counter() - start
        shutdown()  # the workers end; their peak RSS is now counted in RUSAGE_CHILDREN
        rows.append(("workers (%d processes, 1 thread each, incl. start-up)" % args.threads, seconds,
                     resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024))
    base = rows[0][1]
    print(f"{platform.processor() or platform.machine()}, torch {torch.__version__}, {args.models} models "
          f"(Simple ConvNet-1, CM {args.n_train} images, {args.epochs} epoch(s) each)\n")
    print("| run | wall (s) | speed-up | peak RSS (MiB) |\n|---|---:|---:|---:|")
    for name, seconds, rss in rows:
        print(f"| {name} | {seconds:.1f} | {base / seconds:.2f}x | {rss:.0f} |")
    print(f"\nA second warm_cache over the same, now cached, models took {overhead:.1f} s (the pool is kept).")
    print("peak RSS: the sequential row is this process's; the workers row is the largest worker's.")


if __name__ == "__main__":
    main()
