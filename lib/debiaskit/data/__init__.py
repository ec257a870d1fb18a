"""Data sets as in-memory tensors: sources (MNIST, Fashion-MNIST, ...) and biased benchmarks."""

from debiaskit.core.splits import BiasedBenchmark, BiasedSplit
from debiaskit.data.sources import DataUnavailableError, load_fashion_mnist, load_mnist

__all__ = [
    "BiasedBenchmark",
    "BiasedSplit",
    "DataUnavailableError",
    "load_fashion_mnist",
    "load_mnist",
]
