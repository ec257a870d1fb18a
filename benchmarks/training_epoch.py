"""Wall time and peak memory of one training epoch of Simple ConvNet-1 on the 60k Colored MNIST set:
debiaskit's pipeline (in-memory tensors, batched augmentation) against a torchvision DataLoader applying
the same augmentation per sample with PIL transforms (PGD draft, Appendix A.1), with the same network
(``torchvision``) and, the usual way end to end, with torch's ``nn.Dropout`` in it (``torchvision+nn.Dropout``;
debiaskit's network draws its dropout masks more cheaply, see :class:`debiaskit.core.models.Dropout`).

Each pipeline runs in its own fresh process (so peak RSS is its own). Usage::

    python benchmarks/training_epoch.py [--threads 2] [--limit N] [--workers 0]
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import platform
import resource
import time

PIPELINES = ("debiaskit", "torchvision", "torchvision+nn.Dropout")


def _build_data(limit: int | None):
    from debiaskit.data.colored_mnist import colored_mnist

    bench = colored_mnist(0.99, 1e-4, seed=0, n_train=limit, n_test=10, val_fraction=0.0)
    return bench.train


def _debiaskit_epoch(limit, threads, workers):
    import torch

    from debiaskit.core.models import simple_convnet1
    from debiaskit.core.training import TrainConfig, train

    torch.set_num_threads(threads)
    split = _build_data(limit)
    model = simple_convnet1(3, 10)
    start = time.perf_counter()
    # precise_bn off: the DataLoader loop below does not re-estimate BatchNorm after its epoch either
    train(model, split, TrainConfig(epochs=1, batch_size=256, lr=0.01, momentum=0.8, precise_bn=False, device="cpu"),
          progress=False)
    return time.perf_counter() - start, len(split)


class _PILColoredMNIST:
    """A map-style data set of PIL images built from the same tensors (uint8 HWC)."""

    def __init__(self, x, y, transform):
        self.images = (x.permute(0, 2, 3, 1).mul(255).round().byte().numpy())
        self.labels = y.numpy()
        self.transform = transform

    def __len__(self):
        return len(self.labels)

    def __getitem__(self, i):
        from PIL import Image

        return self.transform(Image.fromarray(self.images[i])), int(self.labels[i])


def _torchvision_epoch(limit, threads, workers, torch_dropout: bool = False):
    import torch
    import torch.nn.functional as F
    from torch.utils.data import DataLoader
    from torchvision import transforms as T

    from debiaskit.core.models import simple_convnet1

    torch.set_num_threads(threads)
    split = _build_data(limit)
    tf = T.Compose([T.RandomResizedCrop(28, scale=(0.9, 1.1)), T.ColorJitter(hue=0.05, saturation=0.05),
                    T.RandomRotation(10, interpolation=T.InterpolationMode.NEAREST), T.ToTensor()])
    loader = DataLoader(_PILColoredMNIST(split.x, split.y, tf), batch_size=256, shuffle=True, num_workers=workers)
    model = simple_convnet1(3, 10)
    if torch_dropout:
        from training_step import swap_dropout  # this folder's step benchmark

        model = swap_dropout(model, "torch")
    opt = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.8, weight_decay=1e-3)
    start = time.perf_counter()
    model.train()
    for x, y in loader:
        loss = F.cross_entropy(model(x), y)
        opt.zero_grad()
        loss.backward()
        opt.step()
    return time.perf_counter() - start, len(split)


def _child(fn_name, limit, threads, workers, queue):
    fn = {"debiaskit": _debiaskit_epoch, "torchvision": _torchvision_epoch,
          "torchvision+nn.Dropout": lambda *a: _torchvision_epoch(*a, torch_dropout=True)}[fn_name]
    seconds, n = fn(limit, threads, workers)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB -> MiB on Linux
    children = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    queue.put({"pipeline": fn_name, "seconds": seconds, "n": n, "peak_mib": max(peak, children)})


def measure(name: str, limit, threads, workers) -> dict:
    ctx = mp.get_context("spawn")
    queue = ctx.Queue()
    proc = ctx.Process(target=_child, args=(name, limit, threads, workers, queue))
    proc.start()
    out = queue.get()
    proc.join()
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=2, help="torch threads per pipeline")
    parser.add_argument("--limit", type=int, default=None, help="use only the first N training images")
    parser.add_argument("--workers", type=int, default=0, help="DataLoader workers for the torchvision pipeline")
    args = parser.parse_args()
    import os

    load = os.getloadavg()
    rows = [measure(name, args.limit, args.threads, args.workers) for name in PIPELINES]
    print(f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores, torch threads "
          f"{args.threads}, DataLoader workers {args.workers}, load average before {load[0]:.1f}")
    print("| pipeline | images | epoch (s) | images/s | peak RSS (MiB) |")
    print("|---|---:|---:|---:|---:|")
    for r in rows:
        print(f"| {r['pipeline']} | {r['n']} | {r['seconds']:.1f} | {r['n'] / r['seconds']:.0f} | {r['peak_mib']:.0f} |")
    for r in rows[1:]:
        print(f"speed-up of debiaskit over {r['pipeline']}: {r['seconds'] / rows[0]['seconds']:.2f}x")


if __name__ == "__main__":
    main()
