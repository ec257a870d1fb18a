"""What PreciseBN (``TrainConfig.precise_bn``, :func:`debiaskit.core.training.recalibrate_batchnorm`) costs and
what it changes: Simple ConvNet-1 on Watermarked MNIST (99.5%, 8k training images) trained at a constant
learning rate; after every epoch the test accuracy of the model as trained (BatchNorm's running averages)
beside a copy whose statistics are re-estimated over 4096 training images, and the time of that pass
against the epoch's. Usage::

    python benchmarks/precise_bn.py [--epochs 4] [--lr 0.02] [--threads 2]
"""

from __future__ import annotations

import argparse
import copy
import os
import resource
import time


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=4)
    parser.add_argument("--lr", type=float, default=0.02)
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()

    import torch

    from debiaskit.core.training import PRECISE_BN_SAMPLES, TrainConfig, evaluate, recalibrate_batchnorm, train
    from debiaskit.experiments.benchmarks import build_benchmark
    from debiaskit.experiments.runs import model_factory

    torch.set_num_threads(args.threads)
    bench = build_benchmark("watermarked_mnist", 0.995, seed=0, n_train=8000, n_test=2000)
    cfg = TrainConfig(epochs=args.epochs, batch_size=64, lr=args.lr, momentum=0.9, lr_milestones=(), precise_bn=False,
                      seed=0, device="cpu")
    rows, marks = [], [time.perf_counter()]
    order = torch.randperm(len(bench.train), generator=torch.Generator().manual_seed(0))[:PRECISE_BN_SAMPLES]
    images = bench.train.x[order]

    def after_epoch(epoch: int, model: torch.nn.Module) -> dict:
        epoch_s = time.perf_counter() - marks[-1]
        as_trained = evaluate(model, bench.test)
        precise = copy.deepcopy(model)
        start = time.perf_counter()
        recalibrate_batchnorm(precise, images.split(cfg.batch_size))
        recal_s = time.perf_counter() - start
        rows.append({"epoch": epoch + 1, "running": as_trained, "precise": evaluate(precise, bench.test),
                     "epoch_s": epoch_s, "recal_s": recal_s})
        model.train()
        marks.append(time.perf_counter())
        return {}

    train(model_factory(bench, 0)(), bench.train, cfg, on_epoch_end=after_epoch, progress=False)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"{os.cpu_count()} cores, torch threads {args.threads}, lr {args.lr} constant, momentum 0.9, batch 64; "
          f"peak RSS {peak:.0f} MiB")
    print("| epoch | test acc, running averages | test acc, PreciseBN | majority / minority, running | "
          "majority / minority, PreciseBN | epoch (s) | re-estimation (s) | ratio |")
    print("|---:|---:|---:|---:|---:|---:|---:|---:|")
    for r in rows:
        a, b = r["running"], r["precise"]
        print(f"| {r['epoch']} | {a['acc']:.1f} | {b['acc']:.1f} | {a['major']:.1f} / {a['minor']:.1f} | "
              f"{b['major']:.1f} / {b['minor']:.1f} | {r['epoch_s']:.1f} | {r['recal_s']:.2f} | "
              f"{r['recal_s'] / r['epoch_s']:.3f} |")


if __name__ == "__main__":
    main()
