"""The experiments behind the notebooks: the biased model (cached), CAV alignment against the number
of labelled samples, and the correction sweep (Vanilla, RR-ClArC, A-ClArC, P-ClArC, RRR).

Only the linear head is fine-tuned (as in the authors' code). For the package's models the layer is
their last convolutional output, so the head is "global average pool + fc": its feature maps are
computed once and every head-only method trains on them (RRR, which needs input gradients, trains on
images). Other layers fall back to training on images with hooks.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable

import pandas as pd
import torch
from torch import nn
from tqdm.auto import tqdm

from debiaskit.core.models import build_model
from debiaskit.core.splits import BiasedSplit
from debiaskit.core.training import TrainConfig, train
from debiaskit.experiments.cache import cached_model
from debiaskit.rrclarc.cav import CAV_TYPES, CavError, cav_alignment, fit_cav
from debiaskit.rrclarc.correction import (
    LatentEdit,
    a_clarc_objective,
    concept_level,
    finetune,
    p_clarc,
    rr_clarc_objective,
    rrr_objective,
    vanilla_objective,
)
from debiaskit.rrclarc.data import ArtifactBenchmark, artifact_benchmark
from debiaskit.rrclarc.latent import latent_activations, latent_head, pool_space
from debiaskit.rrclarc.metrics import accuracy, tcav

SPLITS = ("train", "clean", "as_trained", "attacked")
#: The corrections :func:`fit_correction` fits: RR-ClArC and the baselines it is compared with.
CORRECTIONS = ("Vanilla", "RR-ClArC", "RR-ClArC (class)", "A-ClArC", "P-ClArC", "RRR")


def load_benchmark(dataset: str = "fashion_mnist", biased_class: int = 6, artifact_share: float = 0.9,
                   artifact_size: int = 3, n_train: int | None = 6000, n_test: int | None = 2000,
                   image_size: int = 128, seed: int = 0, root: str | None = None) -> ArtifactBenchmark:
    """The controlled benchmark (``mnist``/``fashion_mnist`` with a pasted square) or ``celeba``."""
    if dataset == "celeba":
        from debiaskit.rrclarc.celeba import celeba_benchmark

        return celeba_benchmark(image_size=image_size, n_train=n_train, n_test=n_test, seed=seed, root=root)
    return artifact_benchmark(dataset, biased_class, artifact_share, artifact_size, n_train=n_train,
                              n_test=n_test, seed=seed, root=root)


def make_model(name: str, bench: ArtifactBenchmark, pretrained: bool = False) -> nn.Module:
    """An untrained ``simple_convnet1`` / ``simple_convnet2`` or a ``resnet18`` (optionally ImageNet-pretrained)."""
    if name == "resnet18":
        return build_model(name, num_classes=bench.num_classes, pretrained=pretrained)
    return build_model(name, in_channels=bench.in_channels, num_classes=bench.num_classes)


def biased_model(bench: ArtifactBenchmark, model_name: str = "simple_convnet1", epochs: int = 3,
                 lr: float = 0.05, batch_size: int = 128, seed: int = 0, pretrained: bool = False,
                 device: str = "auto") -> tuple[nn.Module, bool]:
    """The model trained (plain cross-entropy, SGD with momentum 0.9) on the artifact-laden training
    set: the model to correct. Cached by configuration: ``(model, cache_hit)``."""
    cfg = TrainConfig(epochs=epochs, batch_size=batch_size, lr=lr, momentum=0.9, weight_decay=1e-4,
                      lr_milestones=(), augment=False, seed=seed, device=device)
    config = {"purpose": "rrclarc biased model", "benchmark": bench.meta, "model": model_name,
              "pretrained": pretrained, "train": cfg.to_dict()}
    def build() -> nn.Module:
        torch.manual_seed(seed)  # the initial weights do not depend on what ran before
        return make_model(model_name, bench, pretrained)

    model, hit = cached_model(config, build,
                              lambda m: train(m, bench.train, cfg, augment=None, desc="biased model"),
                              trains=(train, make_model, "debiaskit.rrclarc.data", "debiaskit.rrclarc.celeba"))
    return model.eval(), hit


def compute_latents(model: nn.Module, bench: ArtifactBenchmark, layer: str, batch_size: int = 512) -> dict[str, torch.Tensor]:
    """Unpooled activations of ``layer`` for every split (on the CPU)."""
    return {s: latent_activations(model, getattr(bench, s).x, layer, pool="none", batch_size=batch_size,
                                  progress=True) for s in SPLITS}


def concept_data(bench: ArtifactBenchmark, latents: dict[str, torch.Tensor], pool: str = "max") -> tuple[torch.Tensor, torch.Tensor]:
    """Pooled activations and artifact labels (1 with, 0 without) of the biased class's training
    samples: the data the authors fit CAVs on."""
    in_class = bench.train.y == bench.biased_class
    return pool_space(latents["train"][in_class], pool), bench.train.bias[in_class]


def artifact_shift(bench: ArtifactBenchmark, latents: dict[str, torch.Tensor], pool: str = "max") -> torch.Tensor:
    """The true artifact direction per sample: pooled activation with the artifact pasted minus without,
    for the biased class's test images [N, C]."""
    if bench.mask is None or len(bench.attacked) != len(bench.clean):
        raise ValueError(f"{bench.name}: the artifact is not pasted, so its true direction is unknown")
    sel = bench.clean.y == bench.biased_class
    return pool_space(latents["attacked"][sel], pool) - pool_space(latents["clean"][sel], pool)


def balanced_draw(concept: torch.Tensor, per_group: int, generator: torch.Generator) -> torch.Tensor:
    """Indices of ``per_group`` random samples with the concept and ``per_group`` without."""
    groups = [(concept == v).nonzero(as_tuple=True)[0] for v in (1, 0)]
    smallest = min(len(g) for g in groups)
    if per_group > smallest:
        raise ValueError(f"asked for {per_group} labelled samples per group but the smaller group holds {smallest}")
    return torch.cat([g[torch.randperm(len(g), generator=generator)[:per_group]] for g in groups])


def alignment_sweep(acts: torch.Tensor, concept: torch.Tensor, delta: torch.Tensor, sizes: list[int],
                    seeds: list[int], kinds: tuple[str, ...] = CAV_TYPES, fit_intercept: bool = True) -> pd.DataFrame:
    """CAV alignment (cosine with the mean and the per-sample true artifact direction) for every CAV
    type, number of labelled samples per group and seed; failed fits give NaN."""
    rows = []
    for n in tqdm(sizes, desc="sample sizes", leave=False):
        for seed in seeds:
            idx = balanced_draw(concept, n, torch.Generator().manual_seed(seed))
            for kind in kinds:
                try:
                    h = fit_cav(acts[idx], concept[idx], kind, seed=seed, fit_intercept=fit_intercept)
                    al = cav_alignment(h, delta)
                except CavError:
                    al = {"mean": float("nan"), "per_sample": float("nan")}
                rows.append({"cav": kind, "n_per_group": n, "n_labelled": 2 * n, "seed": seed,
                             "alignment": al["mean"], "alignment_per_sample": al["per_sample"]})
    return pd.DataFrame(rows)


@dataclass
class CorrectionSetup:
    """Everything the correction methods share: the biased model, data, layer, CAV and optimiser."""

    model: nn.Module
    bench: ArtifactBenchmark
    latents: dict[str, torch.Tensor]
    layer: str
    cav: torch.Tensor
    finetune_cfg: TrainConfig
    rrr_cfg: TrainConfig
    rrr_subset: int | None = 2000
    seed: int = 0
    z_artifact: float = field(init=False)
    z_clean: float = field(init=False)

    def __post_init__(self) -> None:
        train = self.bench.train
        maps = self.latents["train"]
        self.z_artifact = concept_level(maps[train.bias == 1], self.cav)
        self.z_clean = concept_level(maps[train.bias == 0], self.cav)

    @property
    def on_latents(self) -> bool:
        return latent_head(self.model, self.layer) is not None

    def latent_split(self) -> BiasedSplit:
        t = self.bench.train
        return BiasedSplit(self.latents["train"], t.y, t.bias, t.major)


def finetune_config(epochs: int, batch_size: int, lr: float, seed: int = 0) -> TrainConfig:
    """The optimiser of every correction's fine-tuning: SGD with momentum 0.9, no weight decay, a constant
    learning rate and no augmentation (as in the authors' code)."""
    return TrainConfig(epochs=epochs, batch_size=batch_size, lr=lr, momentum=0.9, weight_decay=0.0,
                       lr_milestones=(), augment=False, seed=seed)


def correction_setup(bench: ArtifactBenchmark, model_name: str, train_epochs: int, train_lr: float, layer: str,
                     cav_type: str, cav_pool: str, finetune_epochs: int, rrr_epochs: int, finetune_batch_size: int,
                     finetune_lr: float, rrr_subset: int | None = 2000, seed: int = 0,
                     pretrained: bool = False) -> tuple[CorrectionSetup, bool]:
    """The biased model (cached), its latent activations at ``layer`` and the artifact's CAV, fitted on the
    ``cav_pool``-pooled activations of the biased class's training images with vs without the artifact
    (Sec. 2 of the abstract): what :func:`fit_correction` and :func:`correction_sweep` start from.
    Returns ``(setup, cache_hit)``."""
    model, hit = biased_model(bench, model_name, epochs=train_epochs, lr=train_lr, seed=seed, pretrained=pretrained)
    latents = compute_latents(model, bench, layer)
    acts, concept = concept_data(bench, latents, cav_pool)
    cav = fit_cav(acts, concept, cav_type, seed=seed)
    setup = CorrectionSetup(model, bench, latents, layer, cav,
                            finetune_config(finetune_epochs, finetune_batch_size, finetune_lr, seed),
                            finetune_config(rrr_epochs, finetune_batch_size, finetune_lr, seed), rrr_subset, seed)
    return setup, hit


def fit_correction(setup: CorrectionSetup, method: str, lam: float | None = None) -> nn.Module:
    """The corrected model of ``method`` (one of :data:`CORRECTIONS`; ``lam`` for RR-ClArC and RRR)."""
    s = setup
    layer = None if s.on_latents else s.layer
    data = s.latent_split() if s.on_latents else s.bench.train
    if method == "P-ClArC":
        return p_clarc(s.model, s.layer, s.cav, s.z_clean)
    if method == "RRR":
        if s.bench.mask is None:
            raise ValueError(f"{s.bench.name} has no artifact mask, which RRR needs")
        train = s.bench.train
        keep = torch.randperm(len(train), generator=torch.Generator().manual_seed(s.seed))[: s.rrr_subset]
        sub = train.subset(keep)
        masks = s.bench.mask[None] & (sub.bias == 1)[:, None, None]
        return finetune(s.model, sub, rrr_objective(masks, lam), s.rrr_cfg, desc=f"RRR {lam:g}")
    objectives: dict[str, Callable[[], Callable]] = {
        "Vanilla": lambda: vanilla_objective(),
        "RR-ClArC": lambda: rr_clarc_objective(s.cav, lam, "random_signs", layer=layer, seed=s.seed),
        "RR-ClArC (class)": lambda: rr_clarc_objective(s.cav, lam, "class", s.bench.biased_class, layer, s.seed),
        "A-ClArC": lambda: a_clarc_objective(s.cav, s.z_artifact, layer),
    }
    if method not in objectives:
        raise ValueError(f"unknown method {method!r}; choose one of {CORRECTIONS}")
    return finetune(s.model, data, objectives[method](), s.finetune_cfg, on_latents=s.on_latents, desc=method)


def evaluate_correction(setup: CorrectionSetup, model: nn.Module) -> dict[str, float]:
    """Clean / as-trained / attacked accuracy (percent) and TCAV score / sensitivity of the biased
    class on its as-trained test images."""
    s = setup
    c = s.bench.biased_class
    out: dict[str, float] = {}
    if s.on_latents:
        base = model.model if isinstance(model, LatentEdit) else model
        head = latent_head(base, s.layer)
        edit = model.edit if isinstance(model, LatentEdit) else (lambda a: a)
        fn = lambda a: head(edit(a))  # noqa: E731
        for split in ("clean", "as_trained", "attacked"):
            out[split] = accuracy(fn, s.latents[split], getattr(s.bench, split).y)
        sel = s.bench.as_trained.y == c
        out.update({f"tcav_{k}": v for k, v in tcav(fn, s.latents["as_trained"][sel], s.cav, c).items()})
        return out
    for split in ("clean", "as_trained", "attacked"):
        sp = getattr(s.bench, split)
        out[split] = accuracy(model, sp.x, sp.y)
    sel = s.bench.as_trained.y == c
    inner = model.model if isinstance(model, LatentEdit) else model
    out.update({f"tcav_{k}": v for k, v in tcav(inner, s.bench.as_trained.x[sel], s.cav, c, layer=s.layer).items()})
    return out


def correction_sweep(setup: CorrectionSetup, lambdas: list[float], rrr_lambdas: list[float]) -> pd.DataFrame:
    """One row per (method, lambda): the biased model itself, Vanilla, A-ClArC, P-ClArC, RR-ClArC
    (all logits with random signs, and class-specific) over ``lambdas``, RRR over ``rrr_lambdas``."""
    runs: list[tuple[str, float | None]] = [("Vanilla", None), ("A-ClArC", None), ("P-ClArC", None)]
    runs += [(m, lam) for m in ("RR-ClArC", "RR-ClArC (class)") for lam in lambdas]
    if setup.bench.mask is not None:
        runs += [("RRR", lam) for lam in rrr_lambdas]
    rows = [{"method": "biased model", "lambda": float("nan"), **evaluate_correction(setup, setup.model)}]
    for method, lam in tqdm(runs, desc="corrections", leave=False):
        model = fit_correction(setup, method, lam)
        rows.append({"method": method, "lambda": float("nan") if lam is None else lam,
                     **evaluate_correction(setup, model)})
    return pd.DataFrame(rows)


VALUE_NAMES = {"biased model": "biased", "Vanilla": "vanilla", "RR-ClArC": "rrclarc", "RR-ClArC (class)": "rrclarc_class",
               "A-ClArC": "aclarc", "P-ClArC": "pclarc", "RRR": "rrr"}


def tradeoff_values(sweep: pd.DataFrame, chosen_lambda: float, chosen_rrr_lambda: float) -> dict[str, float]:
    """Flat ``{method_metric: value}`` at the chosen lambdas: accuracies in percent, TCAV sensitivity
    in percent of the biased model's, TCAV score in percent."""
    base = float(sweep.loc[sweep.method == "biased model", "tcav_sensitivity"].iloc[0])
    out: dict[str, float] = {}
    for method, short in VALUE_NAMES.items():
        rows = sweep[sweep.method == method]
        if method.startswith("RR-ClArC"):
            rows = rows[rows["lambda"] == chosen_lambda]
        elif method == "RRR":
            rows = rows[rows["lambda"] == chosen_rrr_lambda]
        if rows.empty:
            continue
        r = rows.iloc[0]
        out.update({f"{short}_clean": r.clean, f"{short}_attacked": r.attacked, f"{short}_as_trained": r.as_trained,
                    f"{short}_tcav_sens": 100 * r.tcav_sensitivity / base if base > 0 else float("nan")})
    return {k: float(v) for k, v in out.items()}


def alignment_values(table: pd.DataFrame) -> dict[str, float]:
    """Mean alignment (cosine x 100) per CAV type at the smallest and largest number of labelled samples."""
    means = table.groupby(["cav", "n_labelled"])["alignment"].mean()
    sizes = sorted(table.n_labelled.unique())
    out = {}
    for kind in table.cav.unique():
        out[f"{kind}_smallest"] = 100 * float(means[(kind, sizes[0])])
        out[f"{kind}_largest"] = 100 * float(means[(kind, sizes[-1])])
    return out


def explain(models: dict[str, nn.Module], x: torch.Tensor, target: int, method: str = "input_x_gradient") -> dict[str, torch.Tensor]:
    """Input attributions [N, H, W] of logit ``target`` for each named model."""
    from debiaskit.rrclarc.metrics import attributions

    return {name: attributions(m, x, target, method) for name, m in models.items()}
