"""ReBias's HSIC term: the former Gaussian kernel (broadcast differences) against the library's Gram-matrix form.

Both compute K_ij = exp(-||z_i - z_j||^2 / (2 sigma^2)) for a batch of representations z [m, D]; broadcasting builds
(and keeps for the backward pass) an m x m x D tensor of differences, the Gram form ``|z_i|^2 + |z_j|^2 - 2 z_i.z_j``
one m x m matrix. Times the unbiased HSIC of two such batches, forward and backward (what a ReBias step pays twice),
on one thread, with the memory the CPU allocator handed out during one call (torch's profiler), and the largest
difference between the two kernels::

    python benchmarks/hsic_kernel.py [--sizes 128x64 256x64 128x512] [--repeats 50] [--threads 1]
"""

from __future__ import annotations

import argparse
import os
import time
from contextlib import contextmanager

import torch
from torch.profiler import ProfilerActivity, profile

from debiaskit.baselines.hsic import gaussian_kernel, hsic_unbiased, median_bandwidth


def broadcast_kernel(z: torch.Tensor, sigma: torch.Tensor) -> torch.Tensor:
    """The library's form before 2026-12-07: differences by broadcasting, m x m x D."""
    return torch.exp(-(z.unsqueeze(1) - z.unsqueeze(0)).pow(2).sum(-1) / (2 * sigma**2))


def gram_kernel(z: torch.Tensor, sigma: torch.Tensor) -> torch.Tensor:
    """The library's kernel (:func:`debiaskit.baselines.hsic.gaussian_kernel`): squared distances from the Gram matrix."""
    return gaussian_kernel(z, sigma)


def one_call(kernel, u: torch.Tensor, v: torch.Tensor) -> None:
    hsic_unbiased(kernel(u, median_bandwidth(u)), kernel(v, median_bandwidth(v))).backward()


def seconds_per_call(kernel, u, v, repeats: int) -> float:
    for _ in range(3):
        one_call(kernel, u, v)
    start = time.perf_counter()
    for _ in range(repeats):
        one_call(kernel, u, v)
    return (time.perf_counter() - start) / repeats


@contextmanager
def _silent_stderr():
    """The profiler's start and stop lines go to file descriptor 2 from C++; keep them out of the table."""
    saved, devnull = os.dup(2), os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, 2)
    try:
        yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)
        os.close(devnull)


def allocated_bytes(kernel, u, v) -> int:
    with _silent_stderr(), profile(activities=[ProfilerActivity.CPU], profile_memory=True) as prof:
        one_call(kernel, u, v)
    return sum(max(e.self_cpu_memory_usage, 0) for e in prof.key_averages())


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", nargs="+", default=["128x64", "256x64", "128x512"], help="batch x feature sizes")
    parser.add_argument("--repeats", type=int, default=50)
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    gen = torch.Generator().manual_seed(0)
    print(f"| m x D | broadcast ms | Gram ms | speed-up | broadcast MB | Gram MB | max abs K diff |")
    print("|---|---:|---:|---:|---:|---:|---:|")
    for size in args.sizes:
        m, d = (int(s) for s in size.split("x"))
        u = torch.randn(m, d, generator=gen, requires_grad=True)
        v = (u.detach()[:, :d] ** 2 + torch.randn(m, d, generator=gen)).requires_grad_()
        sigma = median_bandwidth(u)
        with torch.no_grad():
            diff = float((broadcast_kernel(u, sigma) - gram_kernel(u, sigma)).abs().max())
        t_b, t_g = (seconds_per_call(k, u, v, args.repeats) for k in (broadcast_kernel, gram_kernel))
        m_b, m_g = (allocated_bytes(k, u, v) / 2**20 for k in (broadcast_kernel, gram_kernel))
        print(f"| {m} x {d} | {1e3 * t_b:.2f} | {1e3 * t_g:.2f} | {t_b / t_g:.1f}x | {m_b:.1f} | {m_g:.1f} | {diff:.1e} |")


if __name__ == "__main__":
    main()
