"""Per-sample gradients on Simple ConvNet-1 over Colored MNIST: throughput and peak memory.

Every throughput is a ratio to ONE plain batched forward+backward pass over the same data (same
model, eval mode, mean cross-entropy, same batch size), timed right before and right after the
method (their mean is the reference, so load changes on a shared machine hit both sides); every
method is also given relative to one plain forward pass (no_grad). Throughput uses ``--time-n``
samples; the streaming top-k pipeline additionally runs once over all ``--n`` samples for its
peak memory. Methods: a naive loop of single-sample backward passes, torch.func vmap over
all parameters, the streaming top-k pipeline (two passes, k = 100), the closed form for the last
linear layer, and Opacus / BackPACK when importable (optional, skipped otherwise).

Memory: torch's CPU tensors are allocated with malloc/posix_memalign, which ``tracemalloc`` does not
see, so we measure the process's resident set: before each method we release freed heap memory to
the OS (``malloc_trim``), reset the kernel's peak-RSS counter (``/proc/self/clear_refs``, value 5)
and report VmHWM - RSS(before). The script re-executes itself once with
``MALLOC_MMAP_THRESHOLD_=65536`` so that large tensors are mmap-ed and returned to the OS on free
(otherwise glibc may reuse retained memory and the deltas would undercount). Where the reset is not
permitted, a 2 ms RSS polling thread is used instead (it may miss short peaks).

Usage:  python benchmarks/per_sample_grads.py [--n 60000] [--time-n 8192] [--batch 512] [--loop-n 1000]
        [--threads 0]
"""

from __future__ import annotations

import argparse
import ctypes
import gc
import os
import sys
import threading
import time
import warnings
from pathlib import Path
from typing import Callable

if os.environ.get("MALLOC_MMAP_THRESHOLD_") is None and __name__ == "__main__":
    os.environ["MALLOC_MMAP_THRESHOLD_"] = "65536"
    os.execv(sys.executable, [sys.executable, *sys.argv])

import torch
import torch.nn.functional as F

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "lib"))

from debiaskit.core.models import simple_convnet1  # noqa: E402
from debiaskit.pgd import last_layer_grads, per_sample_grads, topk_per_sample_grads  # noqa: E402

MB = 1024 * 1024


# ----------------------------------------------------------------------------------------------- memory
def _status_kb(field: str) -> int:
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    raise KeyError(field)


def _trim() -> None:
    gc.collect()
    try:
        ctypes.CDLL("libc.so.6").malloc_trim(0)
    except OSError:
        pass


class PeakRSS:
    """Peak resident-set growth of this process during a ``with`` block, in bytes."""

    def __enter__(self) -> "PeakRSS":
        _trim()
        self.before = _status_kb("VmRSS") * 1024
        self.exact = True
        try:
            with open("/proc/self/clear_refs", "w") as fh:
                fh.write("5")
        except OSError:
            self.exact = False
            self._peak = self.before
            self._stop = threading.Event()
            self._thread = threading.Thread(target=self._poll, daemon=True)
            self._thread.start()
        return self

    def _poll(self) -> None:
        while not self._stop.is_set():
            self._peak = max(self._peak, _status_kb("VmRSS") * 1024)
            time.sleep(0.002)

    def __exit__(self, *exc) -> None:
        if self.exact:
            peak = _status_kb("VmHWM") * 1024
        else:
            self._stop.set()
            self._thread.join()
            peak = self._peak
        self.delta = max(peak - self.before, 0)


# ----------------------------------------------------------------------------------------------- methods
def plain_forward_backward(model, x, y, batch):
    for xb, yb in zip(x.split(batch), y.split(batch)):
        model.zero_grad(set_to_none=True)
        F.cross_entropy(model(xb), yb).backward()
    model.zero_grad(set_to_none=True)


@torch.no_grad()
def plain_forward(model, x, y, batch):
    for xb in x.split(batch):
        model(xb)


def naive_loop(model, x, y, batch):
    params = list(model.parameters())
    for i in range(len(x)):
        loss = F.cross_entropy(model(x[i:i + 1]), y[i:i + 1])
        grads = torch.autograd.grad(loss, params)
        torch.cat([g.flatten() for g in grads])


def vmap_all(model, x, y, batch):
    for xb, yb in zip(x.split(batch), y.split(batch)):
        per_sample_grads(model, xb, yb, "all", flatten=False)  # B x d values, one tensor per parameter


def vmap_all_flat(model, x, y, batch):
    for xb, yb in zip(x.split(batch), y.split(batch)):
        per_sample_grads(model, xb, yb, "all")  # plus the copy into one [B, d] matrix


def topk_pipeline(model, x, y, batch):
    topk_per_sample_grads(model, x, y, k=100, params="all", batch_size=batch)


def closed_form(model, x, y, batch):
    with torch.no_grad():
        for xb, yb in zip(x.split(batch), y.split(batch)):
            last_layer_grads(model, xb, yb)


def make_opacus(model):
    from opacus import GradSampleModule

    wrapped = GradSampleModule(model, batch_first=True, loss_reduction="mean", strict=False)

    def run(_, x, y, batch):
        for xb, yb in zip(x.split(batch), y.split(batch)):
            wrapped.zero_grad(set_to_none=True)
            F.cross_entropy(wrapped(xb), yb).backward()
            torch.cat([p.grad_sample.flatten(1) for p in wrapped.parameters()], 1)
        wrapped.zero_grad(set_to_none=True)

    return run, wrapped


def make_backpack(model):
    import copy

    from backpack import backpack, extend
    from backpack.extensions import BatchGrad

    net = copy.deepcopy(model).eval()
    for module in net.modules():  # BackPACK's hooks cannot see through in-place activations
        if isinstance(module, torch.nn.ReLU):
            module.inplace = False
    net = extend(net)
    lossfunc = extend(torch.nn.CrossEntropyLoss())

    def run(_, x, y, batch):
        for xb, yb in zip(x.split(batch), y.split(batch)):
            net.zero_grad(set_to_none=True)
            with backpack(BatchGrad()), warnings.catch_warnings():
                warnings.simplefilter("ignore", UserWarning)  # hook notices about the container module
                lossfunc(net(xb), yb).backward()
            torch.cat([p.grad_batch.flatten(1) for p in net.parameters()], 1)

    return run, net


# ----------------------------------------------------------------------------------------------- driver
def timed(fn: Callable, model, x, y, batch: int) -> tuple[float, int]:
    """Seconds and peak RSS growth of one run of ``fn`` over ``x``."""
    with PeakRSS() as mem:
        start = time.perf_counter()
        fn(model, x, y, batch)
        seconds = time.perf_counter() - start
    return seconds, mem.delta


def load_data(n: int) -> tuple[torch.Tensor, torch.Tensor]:
    from debiaskit.data.colored_mnist import colored_mnist

    bench = colored_mnist(bias_ratio=0.99, seed=0)
    x = torch.cat([bench.train.x, bench.val.x])[:n].contiguous()
    y = torch.cat([bench.train.y, bench.val.y])[:n].contiguous()
    return x, y


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--n", type=int, default=60000, help="Colored MNIST samples (max 60000); the full top-k "
                    "pipeline runs over all of them")
    ap.add_argument("--time-n", type=int, default=8192, help="samples per throughput measurement")
    ap.add_argument("--batch", type=int, default=512, help="batch / chunk size of every batched method")
    ap.add_argument("--loop-n", type=int, default=1000, help="samples for the naive loop")
    ap.add_argument("--threads", type=int, default=0, help="torch intra-op threads (0: torch's default)")
    args = ap.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    x, y = load_data(args.n)
    n = len(x)
    m = min(args.time_n, n)
    model = simple_convnet1().eval()
    d = sum(p.numel() for p in model.parameters())
    print(f"Simple ConvNet-1 ({d} parameters), {n} Colored MNIST samples, throughput on {m}, batch {args.batch}, "
          f"{torch.get_num_threads()} threads, torch {torch.__version__}", flush=True)
    rows: list[tuple] = []

    def compare(name: str, fn: Callable, samples: int, target=model, note: str = "") -> None:
        """Method between two baseline runs on the same samples: the ratio uses their mean, so a load
        change on the shared machine during the run affects both sides."""
        xs, ys = x[:samples], y[:samples]
        try:
            fn(target, xs[:args.batch], ys[:args.batch], args.batch)  # warm-up
            plain_forward_backward(model, xs[:args.batch], ys[:args.batch], args.batch)
            b1, _ = timed(plain_forward_backward, model, xs, ys, args.batch)
            f1, _ = timed(plain_forward, model, xs, ys, args.batch)
            t, peak = timed(fn, target, xs, ys, args.batch)
            b2, _ = timed(plain_forward_backward, model, xs, ys, args.batch)
            f2, _ = timed(plain_forward, model, xs, ys, args.batch)
        except Exception as exc:  # an optional library may not support a layer of the model
            reason = f"{type(exc).__name__}: {str(exc).splitlines()[0][:100]}"
            print(f"{name}: skipped ({reason})", flush=True)
            rows.append((name, samples, None, None, None, 0, f"skipped ({reason})"))
            return
        rate = samples / t
        vs_fb = rate / (samples / b1 + samples / b2) * 2
        vs_f = rate / (samples / f1 + samples / f2) * 2
        rows.append((name, samples, rate, vs_fb, vs_f, peak, note))
        print(f"{name:42s} {samples:6d} samples {rate:9.0f}/s  x{vs_fb:.2f} fwd+bwd  x{vs_f:.2f} fwd  "
              f"peak +{peak / MB:.0f} MB  (baseline fwd+bwd {samples / b1:.0f}/s, {samples / b2:.0f}/s)", flush=True)

    compare("plain forward+backward (batched)", plain_forward_backward, m)
    compare("naive loop (1-sample backward)", naive_loop, min(args.loop_n, n))
    compare("vmap(grad), all parameters", vmap_all, m, note="per-parameter [B, ...] tensors")
    compare("vmap(grad), all parameters, flattened", vmap_all_flat, m, note="plus one [B, d] concatenation")
    compare("streaming top-k pipeline (k=100, all)", topk_pipeline, m, note="two passes, keeps N x 100")
    compare("closed form, last linear layer", closed_form, m, note="no backward")
    for name, factory in (("Opacus GradSampleModule", make_opacus), ("BackPACK BatchGrad", make_backpack)):
        try:
            fn, target = factory(simple_convnet1().eval())
        except ImportError:
            print(f"{name}: not installed, skipped", flush=True)
            rows.append((name, m, None, None, None, 0, "not installed"))
            continue
        except Exception as exc:  # e.g. Opacus refuses BatchNorm (a layer with buffers)
            reason = f"{type(exc).__name__}: {str(exc).splitlines()[0][:100]}"
            print(f"{name}: skipped ({reason})", flush=True)
            rows.append((name, m, None, None, None, 0, f"skipped ({reason})"))
            continue
        compare(name, fn, m, target)

    print(f"\nstreaming top-k pipeline over all {n} samples ...", flush=True)
    t, peak = timed(topk_pipeline, model, x, y, args.batch)
    print(f"top-k pipeline, {n} samples: {t:.1f} s ({n / t:.0f}/s), peak RSS growth {peak / MB:.0f} MB", flush=True)

    print("\n| method | samples | samples/s | x plain fwd+bwd | x plain fwd | peak RSS growth | note |")
    print("|---|---:|---:|---:|---:|---:|---|")
    for name, samples, rate, vs_fb, vs_f, pk, note in rows:
        if rate is None:
            print(f"| {name} | {samples} | - | - | - | - | {note} |")
        else:
            print(f"| {name} | {samples} | {rate:,.0f} | {vs_fb:.2f} | {vs_f:.2f} | {pk / MB:,.0f} MB | {note} |")
    print(f"| streaming top-k pipeline, whole set | {n} | {n / t:,.0f} | | | {peak / MB:,.0f} MB | one run |")


if __name__ == "__main__":
    main()
