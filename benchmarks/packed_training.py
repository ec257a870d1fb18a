"""Models per second of packed training (:func:`debiaskit.core.packing.train_packed`: K Simple ConvNet-1 models in one
vmapped step) against the same K models trained one after another with :func:`debiaskit.core.training.train`, in one
run, for several K. Each (mode, K) runs in a fresh process, so its peak memory is its own: RSS on the CPU, the
device's peak allocation on a GPU.

The workload is Table 4's Colored MNIST step (3 x 28 x 28 images, batch 256, augmentation, dropout 0.1, SGD with
momentum) on random images of that shape: a step's time does not depend on what the pixels show.

Usage::

    python benchmarks/packed_training.py [--device cpu|cuda] [--packs 1 2 4 8] [--n-train 4096] [--epochs 1]
                                         [--threads 2]
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import platform
import time


def _run(mode: str, k: int, n_train: int, epochs: int, device: str, threads: int) -> dict:
    import torch

    from debiaskit.core.models import simple_convnet1
    from debiaskit.core.packing import train_packed
    from debiaskit.core.training import TrainConfig, train

    torch.set_num_threads(threads)
    g = torch.Generator().manual_seed(0)
    x = (torch.rand(n_train, 3, 28, 28, generator=g) * 255).to(torch.uint8)
    y = torch.randint(0, 10, (n_train,), generator=g)
    cfgs = [TrainConfig(epochs=epochs, batch_size=256, device=device, seed=s) for s in range(k)]
    models = [simple_convnet1(3, 10) for _ in range(k)]
    # warm-up (kernel selection, allocator), not timed
    train(simple_convnet1(3, 10), (x[:512], y[:512]), TrainConfig(epochs=1, batch_size=256, device=device), progress=False)
    if device == "cuda":
        torch.cuda.synchronize()
        torch.cuda.reset_peak_memory_stats()
    start = time.perf_counter()
    if mode == "packed":
        train_packed(models, (x, y), cfgs, progress=False)
    else:
        for model, cfg in zip(models, cfgs):
            train(model, (x, y), cfg, progress=False)
    if device == "cuda":
        torch.cuda.synchronize()
    seconds = time.perf_counter() - start
    if device == "cuda":
        peak = torch.cuda.max_memory_allocated() / 2 ** 20
    else:
        peak = next(int(line.split()[1]) / 1024 for line in open("/proc/self/status") if line.startswith("VmHWM:"))
    return {"mode": mode, "k": k, "seconds": seconds, "peak_mib": peak}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--packs", type=int, nargs="+", default=[1, 2, 4, 8])
    ap.add_argument("--n-train", type=int, default=4096)
    ap.add_argument("--epochs", type=int, default=1)
    ap.add_argument("--threads", type=int, default=2)
    args = ap.parse_args()
    import torch

    name = torch.cuda.get_device_name() if args.device == "cuda" else platform.processor() or platform.machine()
    print(f"# packed vs one-at-a-time training on {args.device} ({name}), torch {torch.__version__}, "
          f"{args.threads} threads, {args.n_train} images x {args.epochs} epoch(s), batch 256")
    memory = "GPU peak MiB" if args.device == "cuda" else "peak RSS MiB"
    print(f"| models | one at a time s | packed s | models/s one at a time | models/s packed | packed / one at a time "
          f"| {memory} one at a time | {memory} packed |")
    print("|---|---|---|---|---|---|---|---|")
    ctx = mp.get_context("spawn")
    for k in args.packs:
        rows = {}
        for mode in ("sequential", "packed"):
            with ctx.Pool(1) as pool:
                rows[mode] = pool.apply(_run, (mode, k, args.n_train, args.epochs, args.device, args.threads))
        s, p = rows["sequential"], rows["packed"]
        print(f"| {k} | {s['seconds']:.2f} | {p['seconds']:.2f} | {k / s['seconds']:.3f} | {k / p['seconds']:.3f} "
              f"| {s['seconds'] / p['seconds']:.2f}x | {s['peak_mib']:.0f} | {p['peak_mib']:.0f} |", flush=True)


if __name__ == "__main__":
    main()
