"""Noisy labels in front of every method: the PGD draft's Algorithm 3 over the shared model cache.

Algorithm 3: (1) train a noise model f_n with CE on the raw (biased, noisy) training set; (2) split it into
D_clean and D_noise by the compensated loss (Eq. 2, :func:`debiaskit.pgd.denoise_split`); (3) run the
de-biasing method on D_clean. Step 1's network is exactly the Vanilla model of that training set (CE,
the same augmentation and schedule), so :func:`denoised_benchmark` takes it from the cache
(:func:`debiaskit.experiments.suite.trained_model`) instead of training a twin, and Section 5's figures,
Table 2 and Table 16 read one noise model per (data set, bias, noise, seed).
"""

from __future__ import annotations

import dataclasses

from debiaskit.core.splits import BiasedBenchmark
from debiaskit.core.training import TrainConfig
from debiaskit.experiments.runs import trained_model
from debiaskit.pgd.denoise import DenoiseSplit, denoise_split

DENOISER = "compensated-loss (PGD Eq. 2), noise model = Vanilla of the same configuration"


def noise_model(bench: BiasedBenchmark, cfg: TrainConfig, progress: bool = False):
    """Algorithm 3, step 1: f_n, the CE (Vanilla) model of ``bench.train`` under ``cfg``, from the cache."""
    return trained_model("vanilla", bench, cfg, progress=progress)


def denoised_benchmark(bench: BiasedBenchmark, cfg: TrainConfig,
                       progress: bool = False) -> tuple[BiasedBenchmark, DenoiseSplit]:
    """Algorithm 3, steps 1-2: ``bench`` with its training split replaced by D_clean, and the split itself.

    Validation and test splits are kept as they are. ``meta`` records the de-noising, so models trained on
    D_clean are cached apart from those of the raw set (D_clean is a function of ``meta`` and ``cfg``)."""
    split = denoise_split(noise_model(bench, cfg, progress), bench.train.x, bench.train.y)
    cleaned = dataclasses.replace(bench, name=f"{bench.name}, de-noised", train=bench.train.subset(split.clean),
                                  meta={**bench.meta, "denoised": DENOISER})
    return cleaned, split


