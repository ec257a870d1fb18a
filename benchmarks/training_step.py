"""Where a training epoch's time goes: one SGD step of Simple ConvNet-1 (batch 256, 3 x 28 x 28 as
Colored MNIST; ``--channels 1 --size 56 --batch 64`` for Watermarked MNIST) in the variants one would
try to make it faster, timed in one run and reported as ratios to plain eager PyTorch with
``nn.Dropout``, with peak memory.

Variants: ``torch_dropout`` (the reference: eager, ``nn.Dropout``), ``debiaskit`` (as debiaskit trains:
:class:`debiaskit.core.models.Dropout`, a keep mask from four 15-bit lanes per 64-bit ``random_`` draw),
``mask_dropout`` (``x * (rand_like(x) >= p) / (1 - p)``), ``channels_last`` (debiaskit's model in NHWC
memory format) and ``compile`` (debiaskit's model under ``torch.compile`` with the default inductor
backend; its compile time is reported apart). Each variant runs in a fresh process (so peak RSS is its
own); the timed steps are interleaved with a reference step in the same process, and the ratio is to
that reference, so a load change on a shared machine hits both sides. Usage::

    python benchmarks/training_step.py [--threads 2] [--steps 30] [--variants debiaskit,compile,...] [--device cuda]

On ``--device cuda`` each step is timed between two ``torch.cuda.synchronize()`` calls and the memory column is
the GPU's peak allocation instead of the process's peak RSS.
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import platform
import resource
import time

VARIANTS = ("torch_dropout", "debiaskit", "mask_dropout", "channels_last", "compile")


def swap_dropout(model, kind: str):
    """``model`` with its dropout layers replaced by ``nn.Dropout`` (``"torch"``) or a rand_like mask."""
    import torch
    from torch import nn

    from debiaskit.core.models import Dropout

    class MaskDropout(nn.Module):
        def __init__(self, p: float) -> None:
            super().__init__()
            self.p = p

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            if not self.training or self.p == 0:
                return x
            return x * (torch.rand_like(x) >= self.p) * (1.0 / (1.0 - self.p))

    for i, layer in enumerate(model.body):
        if isinstance(layer, Dropout):
            model.body[i] = nn.Dropout(layer.p) if kind == "torch" else MaskDropout(layer.p)
    return model


def _sync(device: str) -> None:
    import torch

    if device.startswith("cuda"):
        torch.cuda.synchronize()


def _stepper(variant: str, x, y, device: str = "cpu"):
    """A ``step()`` closure for ``variant`` and the seconds spent preparing it (compilation)."""
    import torch
    import torch.nn.functional as F

    from debiaskit.core.models import simple_convnet1

    torch.manual_seed(0)
    model = simple_convnet1(x.shape[1], 10).to(device)
    if variant in ("torch_dropout", "mask_dropout"):
        model = swap_dropout(model, "torch" if variant == "torch_dropout" else "mask")
    if variant == "channels_last":
        model = model.to(memory_format=torch.channels_last)
        x = x.contiguous(memory_format=torch.channels_last)
    forward = torch.compile(model) if variant == "compile" else model
    opt = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.8)

    def step() -> None:
        opt.zero_grad(set_to_none=True)
        F.cross_entropy(forward(x), y).backward()
        opt.step()

    start = time.perf_counter()
    for _ in range(3):  # warm-up (and compilation for "compile")
        step()
    _sync(device)
    return step, time.perf_counter() - start


def _run(variant: str, threads: int, steps: int, batch: int, channels: int, size: int, device: str = "cpu") -> dict:
    import torch

    torch.set_num_threads(threads)
    gen = torch.Generator().manual_seed(0)
    x = torch.rand(batch, channels, size, size, generator=gen).to(device)
    y = torch.randint(0, 10, (batch,), generator=gen).to(device)
    step, warmup = _stepper(variant, x, y, device)
    reference, _ = _stepper("torch_dropout", x, y, device)
    timed, ref = 0.0, 0.0
    for _ in range(steps):  # interleaved: variant step, reference step
        _sync(device)
        start = time.perf_counter()
        step()
        _sync(device)
        timed += time.perf_counter() - start
        start = time.perf_counter()
        reference()
        _sync(device)
        ref += time.perf_counter() - start
    if device.startswith("cuda"):
        peak_mib = torch.cuda.max_memory_allocated() / 2**20
    else:
        peak_mib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return {"variant": variant, "ms": 1000 * timed / steps, "ref_ms": 1000 * ref / steps,
            "warmup_s": warmup, "peak_mib": peak_mib}


def _child(queue, *args) -> None:
    queue.put(_run(*args))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--steps", type=int, default=30)
    parser.add_argument("--batch", type=int, default=256)
    parser.add_argument("--channels", type=int, default=3, help="input channels (3: CM, 1: WM)")
    parser.add_argument("--size", type=int, default=28, help="input height and width (28: CM, 56: WM)")
    parser.add_argument("--variants", default=",".join(VARIANTS))
    parser.add_argument("--device", default="cpu", help="cpu or cuda (memory: the GPU's peak allocation)")
    args = parser.parse_args()
    variants = [v.strip() for v in args.variants.split(",") if v.strip()]
    unknown = sorted(set(variants) - set(VARIANTS))
    if unknown:
        parser.error(f"unknown variant(s) {unknown}; choose from {list(VARIANTS)}")
    import torch

    print(f"torch {torch.__version__}, {platform.processor() or platform.machine()}, {args.threads} threads, "
          f"batch {args.batch} x {args.channels} x {args.size} x {args.size}, {args.steps} timed steps per variant")
    ctx = mp.get_context("spawn")
    memory = "peak GPU memory (MiB)" if args.device.startswith("cuda") else "peak RSS (MiB)"
    print(f"device {args.device}")
    print(f"| variant | ms / step | torch_dropout ms / step (same process) | time ratio | warm-up (s) | {memory} |")
    print("|---|---:|---:|---:|---:|---:|")
    for variant in variants:
        queue = ctx.Queue()
        proc = ctx.Process(target=_child, args=(queue, variant, args.threads, args.steps, args.batch,
                                                        args.channels, args.size, args.device))
        proc.start()
        row = queue.get()
        proc.join()
        print(f"| {row['variant']} | {row['ms']:.1f} | {row['ref_ms']:.1f} | {row['ms'] / row['ref_ms']:.2f} | "
              f"{row['warmup_s']:.1f} | {row['peak_mib']:.0f} |", flush=True)


if __name__ == "__main__":
    main()
