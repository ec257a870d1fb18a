"""The PGD draft's benchmarks by name, in one registry: ``build_benchmark(name, ...)``.

The controlled ones (Section 6.1.1: Colored MNIST, Watermarked MNIST, Cartoon) take a bias ratio; the real-world
ones (Section 6.1.2: BAR, CelebA HeavyMakeup x Male, ImageNet-9 / ImageNet-A) are trained with ResNet-18, which
they record as their network (``meta["network"]``). A new benchmark is one function decorated with
:func:`register_benchmark`; every builder takes the keywords it needs and refuses the others with their names.
"""

from __future__ import annotations

import inspect
from pathlib import Path
from typing import Callable

from debiaskit.core.splits import BiasedBenchmark

BENCHMARKS: dict[str, Callable[..., BiasedBenchmark]] = {}
"""Benchmark name -> its builder, in registration order."""

SHORT = {"colored_mnist": "cm", "watermarked_mnist": "wm", "cartoon": "ct"}
"""The controlled benchmarks' short names, used in value keys (``cm995_pgd_minor``)."""

SOURCES = ("real", "standin")


def register_benchmark(name: str):
    """Decorator: put a builder under ``name`` in :data:`BENCHMARKS`."""

    def add(builder: Callable[..., BiasedBenchmark]) -> Callable[..., BiasedBenchmark]:
        BENCHMARKS[name] = builder
        return builder

    return add


def build_benchmark(name: str, bias_ratio: float | None = None, **settings) -> BiasedBenchmark:
    """The benchmark ``name`` (one of :data:`BENCHMARKS`) built with ``settings``: ``bias_ratio`` (controlled
    ones), ``seed``, ``root``, ``source`` (``"real"`` or ``"standin"``), and the builder's own keywords
    (``difficulty``, ``n_train``, ``n_test``, ``test_minority``, ``label_noise``; ``image_size``, ``pretrained``,
    ``standin``). ``label_noise`` flips that share of the training and validation labels (Appendix B.3)."""
    if name not in BENCHMARKS:
        raise ValueError(f"unknown data set {name!r}; choose one of {', '.join(BENCHMARKS)}")
    source = settings.get("source", "real")
    if source not in SOURCES:
        raise ValueError(f"unknown source {source!r} for {name}; choose one of {SOURCES}")
    label_noise = settings.pop("label_noise", 0.0)
    builder = BENCHMARKS[name]
    accepted = inspect.signature(builder).parameters
    if bias_ratio is not None:
        if "bias_ratio" not in accepted:
            raise ValueError(f"{name} has no bias ratio to set (it is a real-world benchmark); leave bias_ratio out")
        settings["bias_ratio"] = bias_ratio
    elif "bias_ratio" in accepted:
        raise ValueError(f"{name} needs a bias ratio, e.g. build_benchmark({name!r}, 0.99)")
    unknown = sorted(set(settings) - set(accepted))
    if unknown:
        raise TypeError(f"{name} takes no setting {', '.join(map(repr, unknown))}; it takes "
                        f"{', '.join(p for p in accepted)}")
    bench = builder(**settings)
    if label_noise:
        from debiaskit.data.label_noise import with_label_noise

        bench = with_label_noise(bench, label_noise)
    return bench


@register_benchmark("colored_mnist")
def _colored_mnist(bias_ratio: float, seed: int = 0, difficulty: float | None = None, n_train: int | None = None,
                   n_test: int | None = None, test_minority: float | str = 0.5, root: str | None = None,
                   source: str = "real") -> BiasedBenchmark:
    from debiaskit.data.colored_mnist import colored_mnist

    _real_only("colored_mnist", source)
    return colored_mnist(bias_ratio, 1e-4 if difficulty is None else difficulty, seed=seed, n_train=n_train,
                         n_test=n_test, test_minority=test_minority, root=root)


@register_benchmark("watermarked_mnist")
def _watermarked_mnist(bias_ratio: float, seed: int = 0, difficulty: float | None = None, n_train: int | None = None,
                       n_test: int | None = None, test_minority: float | str = 0.5, root: str | None = None,
                       source: str = "real") -> BiasedBenchmark:
    from debiaskit.data.watermarked_mnist import watermarked_mnist

    _real_only("watermarked_mnist", source)
    return watermarked_mnist(bias_ratio, 8 if difficulty is None else int(difficulty), seed=seed, n_train=n_train,
                             n_test=n_test, root=root)


@register_benchmark("cartoon")
def _cartoon(bias_ratio: float, seed: int = 0, difficulty: float | None = None, n_train: int | None = None,
             n_test: int | None = None, test_minority: float | str = 0.5, root: str | None = None,
             source: str = "real") -> BiasedBenchmark:
    """``n_train`` subsamples the avatar pool that train, validation and test come from; ``n_test`` is ignored
    (the test split is 20% of the pool)."""
    from debiaskit.data.cartoon import cartoon

    pool = {} if n_train is None else ({"n_avatars": n_train} if source == "standin" else {"limit": n_train})
    return cartoon(bias_ratio, seed=seed, root=root, source=source, **pool)


def _real_only(name: str, source: str) -> None:
    if source != "real":
        raise ValueError(f"{name} has no stand-in (source={source!r}); it is generated from MNIST, use 'real'")


def resolve_pretrained(pretrained: bool | str) -> bool:
    """``True``/``False`` as given; ``"auto"``: ImageNet weights exactly when torch's cache already holds them
    (so an offline machine trains from scratch instead of failing, and says so)."""
    if pretrained == "auto":
        import warnings

        from debiaskit.core.models import resnet18_weights_cached

        if resnet18_weights_cached():
            return True
        warnings.warn("pretrained='auto': torch's cache has no ImageNet ResNet-18 weights, so ResNet-18 trains from "
                      "scratch (not the draft's protocol); pass pretrained=True online to download them")
        return False
    if not isinstance(pretrained, bool):
        raise ValueError(f"pretrained must be True, False or 'auto', got {pretrained!r}")
    return pretrained


def _with_resnet(bench: BiasedBenchmark, source: str, pretrained: bool | str) -> BiasedBenchmark:
    bench.meta = dict(bench.meta, source=source, network={"arch": "resnet18", "pretrained": resolve_pretrained(pretrained)})
    return bench


@register_benchmark("bar")
def _bar(seed: int = 0, source: str = "real", image_size: int | None = None, pretrained: bool | str = False,
         root: str | Path | None = None) -> BiasedBenchmark:
    from debiaskit.data.bar import bar

    if source != "real":
        raise ValueError("BAR has no stand-in: it is on this machine (set DEBIASKIT_DATA), use source='real'")
    size = {} if image_size is None else {"image_size": image_size}
    return _with_resnet(bar(seed=seed, root=root, **size), source, pretrained)


@register_benchmark("celeba")
def _celeba(seed: int = 0, source: str = "real", image_size: int | None = None, pretrained: bool | str = False,
            root: str | Path | None = None, standin: dict | None = None) -> BiasedBenchmark:
    """``standin``: keyword arguments of the stand-in (e.g. sizes)."""
    from debiaskit.data import celeba

    size = {} if image_size is None else {"image_size": image_size}
    bench = (celeba.celeba_makeup(seed=seed, root=root, **size) if source == "real"
             else celeba.celeba_makeup_standin(seed=seed, **size, **(standin or {})))
    return _with_resnet(bench, source, pretrained)


@register_benchmark("imagenet9")
def _imagenet9(seed: int = 0, source: str = "real", image_size: int | None = None, pretrained: bool | str = False,
               root: str | Path | None = None, standin: dict | None = None) -> BiasedBenchmark:
    """``standin``: keyword arguments of the stand-in (e.g. sizes)."""
    from debiaskit.data import imagenet9

    size = {} if image_size is None else {"image_size": image_size}
    bench = (imagenet9.imagenet9(seed=seed, root=root, **size) if source == "real"
             else imagenet9.imagenet9_standin(seed=seed, root=root, **size, **(standin or {})))
    return _with_resnet(bench, source, pretrained)
